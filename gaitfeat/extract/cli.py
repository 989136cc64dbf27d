"""Command line: ``python -m gaitfeat.extract --data openpose:ROOT --out features.parquet``.

Exit codes: 0 success (also when some videos were skipped: they are listed
in ``NAME.skipped.csv``), 1 with ``--strict`` when a video was skipped, 2 for
bad arguments or unusable input (no videos, an unusable label table, an
existing output, a resume with other settings, a bad scheduler), 130 when
interrupted (what was finished is kept: run again with ``--resume``).
"""

from __future__ import annotations

import argparse
import shlex
import sys

from gaitfeat.parallel import SCHEDULER_HELP

__all__ = ["main", "build_parser"]

_EPILOG = """\
input:
  ROOT holds one OpenPose --write_json folder per video; the folder name is the video_id. Without
  --labels every subfolder is a video (hidden ones, .name, are left out) and --fps is required. With
  --labels CSV (columns video_id, optional patient_id, fps, leg_length_m or height_m, and any labels)
  only the table's videos are extracted and its label columns are joined to their rows.

outputs (for --out NAME.parquet):
  NAME.parquet           one row per clip: video_id, patient_id, clip_start, clip_stop, fps, valid_fraction,
                         the 32 clinical features (metre columns with leg_length_m/height_m labels), quality
                         columns (events, strides, usable fraction, spatial_method, nan_reason), labels
  NAME.walks.parquet     one row per video: the whole walk's spatiotemporal parameters (medians over its
                         strides), stride/step counts and spreads, the reader's and clipping counts
  NAME.skipped.csv       video_id, stage, error, reason, unexpected: every video that was not extracted
  NAME.parts/            while running, and after an interruption: committed batches (--resume continues)
  Provenance (settings, source, versions, command, dates, counts) is JSON in the Parquet files' metadata
  under the key "gaitfeat": gaitfeat.extract.read_provenance(path).

examples:
  python -m gaitfeat.extract --data openpose:videos/ --fps 29.97 --out features.parquet
  python -m gaitfeat.extract --data openpose:videos/ --labels labels.csv --out features.parquet --scheduler local:2
  python -m gaitfeat.extract --data openpose:videos/ --labels labels.csv --out features.parquet --resume

exit status: 0 on success (skipped videos are listed, not fatal), 1 with --strict when a video was skipped,
2 for bad arguments or unusable input, 130 when interrupted.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m gaitfeat.extract",
        description="Extract clinical gait features from every video of an OpenPose archive into Parquet: one row "
                    "per clip and one per walk, each video a task, resumable, on one machine or a Dask cluster.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, metavar="openpose:ROOT", help="folder of OpenPose JSON folders, one per video")
    p.add_argument("--labels", metavar="CSV", help="per-video table: video_id, optional patient_id, fps, "
                                                   "leg_length_m or height_m, labels")
    p.add_argument("--fps", type=float, help="frame rate (frames/s) of videos without an fps label")
    p.add_argument("--out", required=True, metavar="NAME.parquet", help="the per-clip table; sidecars go beside it")
    p.add_argument("--scheduler", default="serial", help=SCHEDULER_HELP)
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue an interrupted run into the same --out: committed videos are not redone, "
                            "nor skipped ones (unless --retry-skipped)")
    again.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--retry-skipped", action="store_true", help="with --resume: try the skipped videos again")
    p.add_argument("--layout", choices=("coco17", "body25"), default="coco17",
                   help="layout the features are measured on (default coco17, as evaluation.run; body25 uses the "
                        "heels and toes)")
    p.add_argument("--window", type=int, default=124, help="clip length in frames (default 124)")
    p.add_argument("--stride", type=int, default=12, help="step between clips in frames (default 12)")
    p.add_argument("--min-valid", type=float, default=0.8,
                   help="keep a clip when at least this share of its keypoints is detected (default 0.8)")
    p.add_argument("--conf", type=float, default=0.2, help="confidence a keypoint needs to count as detected (default 0.2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--strict", action="store_true", help="exit with status 1 when any video was skipped (the run "
                                                          "still extracts every other video)")
    return p


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    kind, _, root = args.data.partition(":")
    checks = [(kind.strip().lower() == "openpose" and bool(root), "--data must be openpose:ROOT"),
              (args.fps is None or args.fps > 0, "--fps must be positive"),
              (not args.retry_skipped or args.resume, "--retry-skipped needs --resume")]
    for ok, message in checks:
        if not ok:
            parser.print_usage(sys.stderr)
            return _fail(message)

    from gaitfeat.errors import GaitError
    from gaitfeat.extract.runner import extract_archive

    command = "python -m gaitfeat.extract " + shlex.join(sys.argv[1:] if argv is None else argv)
    try:
        summary = extract_archive(root, args.out, labels=args.labels, fps=args.fps, scheduler=args.scheduler,
                                  resume=args.resume, retry_skipped=args.retry_skipped, overwrite=args.overwrite,
                                  layout=args.layout, window=args.window, stride=args.stride,
                                  min_valid=args.min_valid, conf=args.conf, progress=not args.no_progress,
                                  command=command)
    except KeyboardInterrupt:
        print("\ninterrupted: the videos finished so far are kept; run the same command with --resume to go on",
              file=sys.stderr)
        return 130
    except (GaitError, ValueError, OSError, TimeoutError) as exc:   # OSError: FileExistsError, an unreachable scheduler
        return _fail(str(exc))
    print(summary.format())
    if args.strict and len(summary.skipped):
        print(f"error: {len(summary.skipped)} videos were skipped (--strict); see {summary.skipped_path}",
              file=sys.stderr)
        return 1
    return 0
