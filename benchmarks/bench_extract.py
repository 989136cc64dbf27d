"""Throughput and memory of archive-scale extraction (``python -m gaitfeat.extract``).

Usage: python benchmarks/bench_extract.py [--n 1000] [--distinct 25] [--schedulers serial local:1 local:2]
                                          [--dir DIR] [--keep]

Writes an archive of ``--n`` simulated OpenPose videos (BODY_25 JSON, one
folder per video, simulator defaults: 8-20 s at 25-30 fps, default detector
noise), then extracts it once per scheduler, each in a fresh process, and
prints per scheduler:

* videos/s over the whole call of ``extract_archive`` (planning, cluster
  start, extraction, writing the Parquet files) and without the cluster start;
* the client process's peak RSS and, for Dask, each worker's peak RSS
  (``VmHWM`` read on the workers with ``client.run`` before they stop);
* the cluster's start-up time;
* CPU seconds per video (the run's processes, Dask workers included) and
  the CPU other jobs on the machine used meanwhile ("other load", in
  cores): on a shared machine that load, not the scheduler, can explain a
  slow run.

Simulating 1,000 walks would take longer than extracting them, so
``--distinct`` walks are simulated and each video's folder is made of hard
links to one of them (a copy where links are not possible): the frame files
are distinct paths with the same content. They were just written, so they are
read from the page cache: the figures are CPU-bound; an archive on a network
file system reads slower.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    """This process's peak resident memory, MB (VmHWM: unlike getrusage, not inherited from the parent)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def write_archive(folder: Path, n: int, distinct: int) -> float:
    """``n`` video folders made of ``distinct`` simulated walks; returns the seconds it took."""
    import gaitfeat

    start = time.perf_counter()
    pool = folder / ".pool"
    for k in range(distinct):
        walk = gaitfeat.simulate_walk(1 + k % 4, random_state=k, video_id=f"walk{k}")
        gaitfeat.write_openpose(walk.sequence, pool / f"walk{k}")
        (pool / f"walk{k}.fps").write_text(repr(walk.sequence.fps))
    rows = ["video_id,patient_id,fps"]
    for i in range(n):
        source = pool / f"walk{i % distinct}"
        target = folder / f"video{i:05d}"
        target.mkdir()
        for frame in os.scandir(source):
            try:
                os.link(frame.path, target / frame.name)
            except OSError:
                shutil.copyfile(frame.path, target / frame.name)
        rows.append(f"video{i:05d},patient{i // 3:05d},{(pool / f'walk{i % distinct}.fps').read_text()}")
    (folder.parent / "labels.csv").write_text("\n".join(rows) + "\n")
    return time.perf_counter() - start


def _busy_cpu_s() -> float:
    """CPU seconds every process on this machine has used since boot (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def wait_quiet(limit_s: float, window_s: float = 5.0, threshold: float = 0.15) -> float:
    """Wait (at most ``limit_s``) until other jobs use under ``threshold`` cores for ``window_s``; returns the wait."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit_s:
        busy = _busy_cpu_s()
        time.sleep(window_s)
        if (_busy_cpu_s() - busy) / window_s < threshold:
            break
    return time.perf_counter() - start


def _worker_peak_mb() -> float:
    return peak_rss_mb()


def child(scheduler: str, archive: Path, out: Path) -> None:
    """One extraction in this (fresh) process; prints a JSON line of figures."""
    from gaitfeat.extract import runner

    figures: dict = {"scheduler": scheduler}
    original = runner.dask_client

    @contextlib.contextmanager
    def measured(spec):
        start = time.perf_counter()
        with original(spec) as client:
            figures["startup_s"] = time.perf_counter() - start
            try:
                yield client
            finally:
                if client is not None:   # the workers' peaks, read before the cluster stops
                    figures["worker_peak_mb"] = sorted(client.run(_worker_peak_mb).values())

    runner.dask_client = measured
    start = time.perf_counter()
    summary = runner.extract_archive(archive, out, labels=archive.parent / "labels.csv", scheduler=scheduler,
                                     overwrite=True)
    figures.update(total_s=time.perf_counter() - start, videos=summary.done, skipped=len(summary.skipped),
                   clips=summary.clips, client_peak_mb=peak_rss_mb())
    print(json.dumps(figures))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="videos in the archive (default 1000)")
    p.add_argument("--distinct", type=int, default=25, help="simulated walks the videos are made of (default 25)")
    p.add_argument("--schedulers", nargs="+", default=["serial", "local:1", "local:2"])
    p.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the archive and outputs")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                   help="on a shared machine: before each run wait up to S seconds for other jobs to go quiet")
    p.add_argument("--child", nargs=3, metavar=("SCHEDULER", "ARCHIVE", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    work = args.dir or Path(tempfile.mkdtemp(prefix="gaitfeat-bench-extract-"))
    archive = work / "videos"
    archive.mkdir(parents=True, exist_ok=False)
    try:
        took = write_archive(archive, args.n, args.distinct)
        frames = sum(1 for _ in os.scandir(archive / "video00000"))
        print(f"archive: {args.n} videos from {args.distinct} simulated walks in {took:.0f} s "
              f"(video00000: {frames} frame files); {os.cpu_count()} CPUs")
        print("| scheduler | videos/s (whole call) | videos/s (without cluster start) | wall s | cluster start s "
              "| CPU s per video | client peak RSS MB | worker peak RSS MB | other load (cores) |")
        print("|---|---|---|---|---|---|---|---|---|")
        results = []
        for scheduler in args.schedulers:
            out = work / f"features-{scheduler.replace(':', '')}.parquet"
            if args.wait_quiet:
                wait_quiet(args.wait_quiet)
            # CPU time of the run's processes (workers included, once reaped) and of the whole machine:
            # the difference is what other jobs took while it ran, which slows the run down.
            mine, busy, wall = resource.getrusage(resource.RUSAGE_CHILDREN), _busy_cpu_s(), time.perf_counter()
            line = subprocess.run([sys.executable, __file__, "--child", scheduler, str(archive), str(out)],
                                  check=True, capture_output=True, text=True, cwd=ROOT).stdout.strip().splitlines()[-1]
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - mine.ru_utime) + (after.ru_stime - mine.ru_stime)
            other = max(0.0, (_busy_cpu_s() - busy) - cpu) / (time.perf_counter() - wall)
            r = json.loads(line)
            results.append(r)
            start = r.get("startup_s", 0.0)
            workers = ", ".join(f"{m:.0f}" for m in r.get("worker_peak_mb", [])) or "—"
            print(f"| {scheduler} | {r['videos'] / r['total_s']:.1f} | {r['videos'] / (r['total_s'] - start):.1f} "
                  f"| {r['total_s']:.1f} | {start:.1f} | {cpu / r['videos']:.3f} | {r['client_peak_mb']:.0f} "
                  f"| {workers} | {other:.2f} |", flush=True)
        import pandas as pd

        print(f"clips: {r['clips']}, videos skipped: {r['skipped']}")

        tables = [pd.read_parquet(work / f"features-{s.replace(':', '')}.parquet") for s in args.schedulers]
        same = all(t.equals(tables[0]) for t in tables[1:])
        print(f"identical per-clip tables across schedulers: {same}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
