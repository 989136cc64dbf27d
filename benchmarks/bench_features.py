"""Throughput and memory of the feature engine.

Usage: python benchmarks/bench_features.py [--sizes 1000 10000 100000] [--stream 1000000] [--reference 200]

Prints, for COCO-17 clips of 124 frames (simulated, default detector noise):

* the first call's compile time (numba's cache is pointed at an empty
  temporary folder, so the kernels really compile);
* clips per second of ``extract_features`` (the whole public call: checks,
  kernels, DataFrame) for each N with one thread and with all threads;
* clips per second of the plain-NumPy reference (``tests/naive.py``) and
  the speed-up;
* the streaming path (``iter_features``) over ``--stream`` clips in a child
  process: clips per second and that process's peak RSS.

The clips are drawn with replacement from a bank of simulated clips, so any N
costs no simulation time.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Compile from scratch: an empty cache folder before numba is imported.
if "--stream-child" not in sys.argv:
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="gaitfeat-numba-")

import numba  # noqa: E402
import numpy as np  # noqa: E402

import gaitfeat  # noqa: E402
from gaitfeat.features import extract_features, iter_features  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def bank(seed: int = 0) -> tuple[np.ndarray, float]:
    cohort = gaitfeat.simulate_cohort(40, noise="default", random_state=seed)
    return cohort.clips, 30.0


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike getrusage, not inherited from the parent)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def stream_child(n: int, chunk: int) -> None:
    """Stream n clips through iter_features and keep every feature row (float32), as a caller would."""
    clips, fps = bank()
    rng = np.random.default_rng(1)
    n_features = len(gaitfeat.FEATURES)
    kept = np.empty((n, n_features), dtype=np.float32)

    def chunks():
        for start in range(0, n, chunk):
            yield clips[rng.integers(0, len(clips), min(chunk, n - start))]

    extract_features(clips[:4], fps)  # load the kernels
    t0 = time.perf_counter()
    done = 0
    for table in iter_features(chunks(), fps, "coco17"):
        kept[done : done + len(table)] = table[list(gaitfeat.FEATURES)].to_numpy(np.float32)
        done += len(table)
    dt = time.perf_counter() - t0
    print(f"{done} {dt:.3f} {peak_rss_mb():.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--stream", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=8192)
    ap.add_argument("--reference", type=int, default=200, help="clips for the NumPy reference")
    ap.add_argument("--stream-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stream_child:
        stream_child(args.stream, args.chunk)
        return

    clips, fps = bank()
    rng = np.random.default_rng(0)
    threads = numba.config.NUMBA_NUM_THREADS
    print(f"machine: {os.cpu_count()} CPUs, numba {numba.__version__}, {threads} threads; clips (N, 124, 17, 3) float32")

    t0 = time.perf_counter()
    extract_features(clips[:2], fps, "coco17")
    print(f"first call (compile): {time.perf_counter() - t0:.2f} s")

    rates = {}
    for n in args.sizes:
        X = clips[rng.integers(0, len(clips), n)]
        for th in sorted({1, threads}):
            numba.set_num_threads(th)
            extract_features(X[:64], fps, "coco17")
            t0 = time.perf_counter()
            extract_features(X, fps, "coco17")
            dt = time.perf_counter() - t0
            rates[(n, th)] = n / dt
            print(f"N = {n:>7,}  threads = {th}: {n / dt:>9,.0f} clips/s  ({dt:.3f} s)")
        del X
    numba.set_num_threads(threads)

    sys.path.insert(0, str(ROOT / "tests"))
    import naive

    X = clips[rng.integers(0, len(clips), args.reference)]
    t0 = time.perf_counter()
    naive.extract_features(X, fps, "coco17")
    ref_rate = args.reference / (time.perf_counter() - t0)
    n_mid = args.sizes[len(args.sizes) // 2]
    print(f"NumPy reference: {ref_rate:,.0f} clips/s; numba is {rates[(n_mid, 1)] / ref_rate:,.0f}x faster on one thread, "
          f"{rates[(n_mid, threads)] / ref_rate:,.0f}x on {threads} (N = {n_mid:,})")
    print(f"peak RSS of this process: {peak_rss_mb():.0f} MB (the largest input alone: {args.sizes[-1] * 124 * 17 * 3 * 4 / 2**20:,.0f} MB)")

    if args.stream:
        out = subprocess.run([sys.executable, __file__, "--stream-child", "--stream", str(args.stream),
                              "--chunk", str(args.chunk)], capture_output=True, text=True, check=True,
                             env={**os.environ, "NUMBA_CACHE_DIR": os.environ["NUMBA_CACHE_DIR"]})
        done, dt, rss = out.stdout.split()[-3:]
        print(f"streaming {int(done):,} clips in chunks of {args.chunk}: {int(done) / float(dt):,.0f} clips/s "
              f"({float(dt):.1f} s), peak RSS {float(rss):.0f} MB (features kept as float32)")


if __name__ == "__main__":
    main()
