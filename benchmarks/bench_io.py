"""Throughput of the foundation: OpenPose reading, preprocessing, windowing.

Usage: python benchmarks/bench_io.py [--videos 20] [--frames 400]

Prints frames per second for each stage and the process's peak RSS. The
input is the toy stick walker with detector-like noise and gaps, written as
OpenPose JSON folders in a temporary directory.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

import gaitfeat
from gaitfeat.testing import stick_walker


def _noisy_walker(i: int, frames: int, rng: np.random.Generator) -> gaitfeat.PoseSequence:
    seq = stick_walker(frames, fps=29.97, turn_at=frames // 2, turn_frames=25, video_id=f"v{i:03d}", patient_id=f"p{i:03d}")
    kp = seq.keypoints.copy()
    kp[..., :2] += rng.normal(0, 2.0, size=kp[..., :2].shape)
    kp[..., 2] = rng.uniform(0.1, 0.95, size=kp.shape[:2])
    return seq.replace(keypoints=kp)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=20)
    ap.add_argument("--frames", type=int, default=400)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    seqs = [_noisy_walker(i, args.frames, rng) for i in range(args.videos)]
    total = args.videos * args.frames
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for s in seqs:
            folders.append(Path(tmp) / s.video_id)
            gaitfeat.write_openpose(s, folders[-1])
        t0 = time.perf_counter()
        read = [gaitfeat.read_openpose(f, fps=29.97) for f in folders]
        t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    clean = [gaitfeat.preprocess(s, layout="coco17") for s in read]
    t_pre = time.perf_counter() - t0
    t0 = time.perf_counter()
    clips, meta, report = gaitfeat.make_clips(clean)
    t_clip = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"videos: {args.videos} x {args.frames} frames (BODY_25 OpenPose JSON -> COCO-17 clips)")
    print(f"read_openpose : {total / t_read:10.0f} frames/s  ({t_read:.2f} s)")
    print(f"preprocess    : {total / t_pre:10.0f} frames/s  ({t_pre:.2f} s)")
    print(f"make_clips    : {len(meta) / t_clip:10.0f} clips/s   ({t_clip:.3f} s, {len(meta)} clips)")
    print(f"peak RSS      : {peak_mb:10.0f} MB")


if __name__ == "__main__":
    main()
