"""Command line: assess one patient's walk(s) with a trained model bundle and write a clinician's report.

    python -m evaluation.assess --model model/ --data openpose:DIR --fps 29.97 --out visit/
    python -m evaluation.assess --model model/ --data openpose:VISITS_DIR --fps 30 --height-m 1.32 --age 9 \\
        --patient-id P17 --out visit/ --pdf

``--data openpose:DIR``: one folder of ``*_keypoints.json`` files (one walk), or a folder of such folders, one
per visit in name order (one report with a longitudinal table); ``npz:FILE`` reads sequences written by
``gaitfeat.write_npz``. The bundle is verified (SHA-256 of every file) before any model is loaded. Writes
``OUT/assessment.json``, ``OUT/features.csv``, ``OUT/report.html`` and, with ``--pdf``, ``OUT/report.pdf``.

exit status: 0 on success (also when a walk could not be assessed: the report says why), 2 for bad arguments,
an unusable source or a bundle that fails verification.

As a Python API, ``evaluation.assess(bundle, data, ...)`` is :func:`evaluation.assessment.assess`; importing
this module keeps that call working (the module is callable and forwards to the function).
"""

from __future__ import annotations

import argparse
import sys
import types

from evaluation.assessment import assess as _assess

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluation.assess", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="bundle folder written by python -m evaluation.train")
    p.add_argument("--data", required=True, help="openpose:DIR or npz:FILE")
    p.add_argument("--fps", type=float, help="frame rate of OpenPose input (its files do not record it)")
    p.add_argument("--height-m", type=float, help="standing height in metres (adds step length and speed in m)")
    p.add_argument("--age", type=float, help="age in years (shown in the report)")
    p.add_argument("--patient-id", help="shown in the report")
    p.add_argument("--out", required=True, help="folder for report.html, assessment.json, features.csv")
    p.add_argument("--pdf", action="store_true", help="also write report.pdf (A4) through headless Chromium")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from gaitfeat.errors import GaitError
    from models.errors import ModelFileError

    try:
        result = _assess(args.model, args.data, fps=args.fps, height_m=args.height_m, age=args.age,
                         patient_id=args.patient_id)
        out = result.write(args.out, pdf=args.pdf)
    except (ModelFileError, GaitError, ValueError, TypeError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        for v in result.record["visits"]:
            line = f"{v['label']}: {v['status']}"
            if v["status"] != "ok":
                line += f" ({v['message']})"
            else:
                for suite, pred in v["predictions"].items():
                    row = pred["models"][pred["primary"]]
                    line += (f"; {suite}: {row['predicted_name']} (p = {max(row['proba']):.2f})" if "proba" in row
                             else f"; {suite}: {row['value']:.1f}")
            print(line)
        print(f"report: {out / 'report.html'}")
    return 0


class _CallableModule(types.ModuleType):
    """``evaluation.assess`` is both this command-line module and the API function: calling it calls the function."""

    def __call__(self, *args, **kwargs):
        return _assess(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    sys.exit(main())
