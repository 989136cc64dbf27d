"""Command line: train models and save them as a verified bundle for single-visit assessment.

    python -m evaluation.train --suite gmfcs --suite gdi --out model/
    python -m evaluation.train --suite gmfcs --models logreg_all xgb_all stgcn --profile quick --out /tmp/model

It cross-validates the chosen models by patient (the metrics go into the manifest and ``cv/<suite>/``),
keeps the K fold models as an ensemble, fits each model on all patients and writes the bundle folder
(:func:`evaluation.bundle.train_bundle`). Then: ``python -m evaluation.assess --model OUT --data ...``.

exit status: 0 on success, 2 for bad arguments or unusable data.
"""

from __future__ import annotations

import argparse
import sys
import time

from evaluation.bundle.training import DEFAULT_MODELS

__all__ = ["main", "build_parser"]

#: Sizes: ``quick`` is for tests and a first look (40 simulated patients, 3 folds, token network training).
PROFILES = {"quick": {"n_patients": 40, "n_splits": 3, "n_bootstrap": 200, "deep": "quick"},
            "default": {"n_patients": 200, "n_splits": 5, "n_bootstrap": 1000, "deep": "compact"}}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluation.train", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", action="append", choices=tuple(DEFAULT_MODELS),
                   help="what the bundle predicts; repeat for several (default: gmfcs)")
    p.add_argument("--models", nargs="+", metavar="NAME",
                   help="model names of evaluation.zoo.MODELS; each suite takes the names it has (default: "
                        + "; ".join(f"{s}: {' '.join(m)}" for s, m in DEFAULT_MODELS.items()) + ")")
    p.add_argument("--data", default="synthetic", metavar="SOURCE",
                   help="training data, as for python -m evaluation.run (default: the simulated cohort)")
    p.add_argument("--labels", metavar="CSV", help="label table for openpose data and pose files")
    p.add_argument("--fps", type=float, help="frame rate of videos whose label row has no fps")
    p.add_argument("--layout", choices=("coco17", "body25"), default="coco17",
                   help="skeleton layout the models read (default coco17; body25 keeps the feet)")
    p.add_argument("--profile", choices=sorted(PROFILES), default="default")
    p.add_argument("--no-ensemble", action="store_true", help="do not keep the K fold models")
    p.add_argument("--device", default="cpu", help="where the networks train (cpu, cuda, auto)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", required=True, help="bundle folder to create")
    p.add_argument("--overwrite", action="store_true", help="replace an existing bundle at --out")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from evaluation.bundle import train_bundle
    from gaitfeat.errors import GaitError

    prof = PROFILES[args.profile]
    options = {"layout": args.layout}
    if args.data.strip().lower() in ("synthetic", "taxonomy"):
        options["n_patients"] = prof["n_patients"]
    if args.labels:
        options["labels"] = args.labels
    if args.fps:
        options["fps"] = args.fps
    started = time.perf_counter()
    try:
        out = train_bundle(args.out, suites=args.suite or ["gmfcs"], models=args.models, data=args.data,
                           data_options=options, ensemble=not args.no_ensemble, n_splits=prof["n_splits"],
                           deep_profile=prof["deep"], device=args.device, n_bootstrap=prof["n_bootstrap"],
                           random_state=args.seed, threads=args.threads, progress=not args.quiet,
                           overwrite=args.overwrite)
    except (ValueError, GaitError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"bundle written to {out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
