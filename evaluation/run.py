"""Command line: ``python -m evaluation.run --suite gmfcs``.

Evaluates every model of a suite on the same patient-level folds and writes
``<out>/<suite>/index.html``, ``metrics.json`` and ``predictions.csv``.
Exit codes: 0 success, 2 bad arguments or unusable data.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from evaluation.sources import FILE_SCHEMES
from gaitfeat.parallel import SCHEDULER_HELP, parse_scheduler

__all__ = ["main", "PROFILES", "build_parser"]

#: Run sizes. ``quick``: a tiny simulated cohort, 3 folds, token network training (about a
#: minute; used by the tests). ``default``: the full suite, with the compact ST-GCN, in under
#: 6 minutes on 2 CPU cores (docs/performance.md). ``paper``: as ``default`` but the deep models are the original
#: ST-GCN trained with Yang, Chen & He's full schedule (meant for a GPU: ``--device cuda``).
PROFILES: dict[str, dict] = {
    "quick": {"n_patients": 40, "n_splits": 3, "n_bootstrap": 200, "deep": "quick",
              "importance": {"backward": True, "sfs_thin": 1, "shap_rows": 400, "n_permutation": 3}},
    "default": {"n_patients": 200, "n_splits": 5, "n_bootstrap": 1000, "deep": "compact",
                "importance": {"backward": True, "sfs_thin": 1, "shap_rows": 1500, "n_permutation": 5}},
    "paper": {"n_patients": 200, "n_splits": 5, "n_bootstrap": 1000, "deep": "paper",
              "importance": {"backward": True, "sfs_thin": 1, "shap_rows": 1500, "n_permutation": 5}},
}
#: Skeleton layout per suite when --layout is not given: the taxonomy needs the feet (toe walking, heel strikes),
#: which COCO-17 lacks.
DEFAULT_LAYOUT = {"taxonomy": "body25"}
#: ``--suite features`` runs the study alone, so it can afford more SHAP rows and permutation repeats.
FEATURES_SUITE_OPTIONS = {"shap_rows": 4000, "n_permutation": 10}
#: Command-line suites: the harness's suites, ``features`` — the GMFCS feature-importance study alone
#: (``cross_validate(..., importance="only")``), written to OUT/features/ — and ``explain``, the explanation study
#: of the skeleton models (:func:`evaluation.explain_run.explain_study`), written to OUT/explain/. ``params`` regresses
#: several gait parameters on the same folds (:func:`evaluation.multitarget.cross_validate_targets`).
CLI_SUITES = ("gdi", "gmfcs", "params", "features", "explain", "taxonomy")

#: Sources that read a label table (--labels).
LABELLED_SOURCES = ("openpose", *FILE_SCHEMES)

_EPILOG = """\
data sources:
  synthetic            a fixed-seed simulated cohort (default; size from --profile or --patients)
  kidzinski:PATH       the Kidzinski et al. (2020) Gillette release folder (video_csvs/, alldata_processed.csv)
  openpose:PATH        a folder of OpenPose JSON folders, one per video; needs --labels (video_id, patient_id,
                       gmfcs, gdi or gdi_left/gdi_right, optional fps) and --fps if the table has no fps column
  npz:PATH             clips written by gaitfeat.write_clips_npz (preprocessed, with patient_id, video_id, labels)
  synthetic3d[:CAMERA] the simulated cohort as 3-D lifter output (camera coordinates, m) from a mixed (default),
                       side, front, back or oblique camera, projected onto each walk's sagittal plane
  pose files, one file per video in PATH (a folder, or one file), with --labels (video_id = file name without
  extension, patient_id, labels, optional fps; --fps when the format stores no frame rate):
  trc:PATH             OpenSim / OpenCap / Pose2Sim .trc marker trajectories (3-D)
  array:PATH           NumPy .npy/.npz 3-D pose arrays (T, V, 3); .npy needs layout (and units, fps) columns
  mediapipe:PATH       MediaPipe Pose image landmarks, .csv or .json (2-D)
  mediapipe3d:PATH     MediaPipe Pose world landmarks, .csv or .json (3-D, hip-centred)
  alphapose:PATH       AlphaPose results .json (COCO-17 or Halpe-26; several people: the tracked walker)
  mmpose:PATH          MMPose / RTMPose prediction .json (COCO-17, Halpe-26, COCO-WholeBody)
  3-D data from any camera angle are projected onto the walking plane; 2-D video filmed from the front, back
  or an oblique angle is refused (skipped and reported). Formats and examples: docs/data.md

outputs (in OUT/SUITE/):
  index.html           self-contained report: data summary, metrics with 95 % patient-bootstrap CIs at clip,
                       video and patient level, per-class recall, paired comparisons, confusion matrices, ROC
                       curves (gmfcs) or scatter and Bland-Altman plots (gdi), configuration
  params/index.html    --suite params: GDI (mean and per side), walking speed, cadence and knee flexion at maximum
                       extension, every model per target at video level, whether sequence models beat the best
                       feature model, Kidzinski et al.'s published correlations as context; params/TARGET/ holds
                       each target's full report (as the gdi suite's)
  features.html        feature importance: SHAP, permutation, gain and sequential selection side by side, their
                       agreement and stability, body regions, evidence statements per patient
                       (--suite features, the study alone, writes it as index.html)
  explain.html         --suite explain: CAM, Grad-CAM, IG, DeepLift, LIME and occlusion on the ST-GCN, a
                       dual-stream model and a per-cycle joint-angle CNN in the gmfcs folds: faithfulness (PGI/PGU,
                       deletion/insertion), stability, agreement, joint significance (kneedle + 2-means top-k),
                       kinematic perturbation responses; metrics.json holds its numbers under "explain"
  metrics.json         the same numbers, versioned schema (docs/evaluation.md)
  figures.npz          the arrays behind the figures (ROC points, measured/predicted pairs, SHAP samples)
  rationales.json      --suite taxonomy: per subject, the measured tokens supporting the predicted class (ranked
                       by SHAP, with typical ranges per age group) and three rationale variants, for
                       python -m evaluation.rating_kit; rationale_features.csv holds the feature rows they quote
  predictions.csv      out-of-fold prediction of every model for every clip, with fold and repeat
  The pages are rendered from metrics.json and figures.npz alone: python -m evaluation.report OUT/SUITE/
  re-creates them.

examples:
  python -m evaluation.run --suite gmfcs
  python -m evaluation.run --suite gdi --profile quick --out /tmp/reports
  python -m evaluation.run --suite params --pooling median
  python -m evaluation.run --suite features
  python -m evaluation.run --suite explain --profile quick
  python -m evaluation.run --suite taxonomy
  python -m evaluation.run --suite gmfcs --data kidzinski:/data/gillette --protocol holdout
  python -m evaluation.run --suite gmfcs --scheduler local:2 --threads 1
  python -m evaluation.run --suite gmfcs --data openpose:videos/ --labels labels.csv --fps 29.97

exit status: 0 on success, 2 for bad arguments or unusable data.
"""


def build_parser() -> argparse.ArgumentParser:
    from evaluation.zoo import MODELS

    p = argparse.ArgumentParser(
        prog="python -m evaluation.run",
        description="Evaluate GMFCS classifiers or GDI regressors with patient-level cross-validation and write an HTML report.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--suite", choices=CLI_SUITES, default="gmfcs",
                   help="gmfcs: 4-class GMFCS level classification; gdi: Gait Deviation Index regression; params: GDI, "
                        "walking speed, cadence and knee flexion at maximum extension regressed on the same folds; "
                        "features: the "
                        "feature-importance comparison alone (SHAP, permutation, gain, forward/backward selection, "
                        "evidence statements) for GMFCS; explain: the explanation study of the skeleton models "
                        "(attribution methods compared on faithfulness and stability, kinematic perturbations); "
                        "taxonomy: nine gait classes (typical, antalgic, CP hemiplegic and diplegic, idiopathic toe "
                        "walking, myopathic, ataxic, cervical myelopathy, Parkinsonian) on a simulated cohort of "
                        "children and adults, with per-subject rationales (rationales.json) for the blinded rating "
                        "kit (default: gmfcs)")
    p.add_argument("--data", default="synthetic", metavar="SOURCE",
                   help="synthetic | synthetic3d[:CAMERA] | kidzinski:PATH | openpose:PATH | npz:PATH | trc:PATH | "
                        "array:PATH | mediapipe:PATH | mediapipe3d:PATH | alphapose:PATH | mmpose:PATH "
                        "(default: synthetic; see 'data sources' below)")
    p.add_argument("--labels", metavar="CSV", help="label table for openpose data and pose files (video_id, patient_id, "
                                                   "gmfcs, gdi, ..., optional fps, layout, units)")
    p.add_argument("--fps", type=float, help="frame rate of videos whose label row has no fps (OpenPose, MediaPipe, "
                                             "AlphaPose, MMPose and .npy files do not store it)")
    p.add_argument("--out", default="reports", help="output folder; the report goes to OUT/SUITE/ (default: reports)")
    p.add_argument("--profile", choices=sorted(PROFILES), default="default",
                   help="quick: 40 simulated patients, 3 folds, 200 bootstrap resamples, token network training "
                        "(about 1 min); default: 200 patients, 5 folds, 1000 resamples, compact ST-GCN (about 5-6 min on "
                        "2 cores); paper: as default with the original ST-GCN and Yang, Chen & He's schedule (use a GPU)")
    p.add_argument("--device", default="auto",
                   help="where the ST-GCN and dual-stream models train: auto (CUDA when available), cpu, cuda, "
                        "cuda:1 ... (default auto)")
    p.add_argument("--scheduler", default="serial",
                   help="where the fits run: serial (this process, default) | local:N (a local Dask cluster of N "
                        "worker processes) | tcp://HOST:PORT (a running Dask scheduler); the numbers are the same")
    p.add_argument("--threads", type=int, default=2,
                   help="threads per fit for torch and BLAS (default 2); part of the run's reproducibility: the same "
                        "--seed and --threads give the same numbers on any scheduler (CPU training, same machine "
                        "type and library versions)")
    p.add_argument("--protocol", choices=("cv", "holdout"), default="cv",
                   help="cv: stratified patient-level K-fold; holdout: Yang, Chen & He's single stratified patient split")
    p.add_argument("--folds", type=int, metavar="K", help="number of folds (default from --profile)")
    p.add_argument("--repeats", type=int, default=1, metavar="R", help="repeat the K-fold split with R different shuffles (default 1)")
    p.add_argument("--val-fraction", type=float, default=0.2,
                   help="share of each training fold's patients used for model selection and early stopping (default 0.2)")
    p.add_argument("--test-fraction", type=float, default=0.3, help="share of patients in the holdout test set (default 0.3)")
    models = ", ".join(f"{s}: {', '.join(m)}" for s, m in MODELS.items())
    p.add_argument("--models", metavar="NAMES", help=f"comma-separated subset of the suite's models ({models}); default: all")
    p.add_argument("--class-weight", choices=("none", "balanced"), default="none",
                   help="weight training clips inversely to class frequency (for the rare GMFCS IV; default none)")
    p.add_argument("--pooling", choices=("mean", "median"), default="mean",
                   help="how regression predictions of a video's clips (and a patient's) are pooled (default mean)")
    p.add_argument("--bootstrap", type=int, metavar="B", help="patient resamples for confidence intervals (default from --profile)")
    p.add_argument("--seed", type=int, default=0, help="seed for the cohort, folds, models and bootstrap (default 0)")
    p.add_argument("--patients", type=int, help="size of the simulated cohort (default from --profile)")
    p.add_argument("--noise", choices=("none", "default", "heavy"), default="default", help="simulated detector noise (default: default)")
    p.add_argument("--layout", choices=("coco17", "body25"),
                   help="skeleton layout of the clips (default coco17; body25 for --suite taxonomy)")
    p.add_argument("--window", type=int, default=124, help="clip length in frames (default 124)")
    p.add_argument("--stride", type=int, default=12, help="step between clips in frames (default 12)")
    p.add_argument("--min-valid", type=float, default=0.8,
                   help="keep a clip when at least this share of its keypoints is detected (default 0.8)")
    p.add_argument("--conf", type=float, default=0.2, help="confidence a keypoint needs to count as detected (default 0.2)")
    p.add_argument("--video-as-patient", action="store_true",
                   help="data without patient IDs: treat each video as its own patient (the report warns about leakage)")
    p.add_argument("--no-importance", action="store_true",
                   help="skip the feature-importance study (features.html) in the gmfcs and gdi suites")
    p.add_argument("--no-html", action="store_true", help="write metrics.json and predictions.csv only")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--strict", action="store_true",
                   help="stop (exit 2) at the first video that cannot be read, is mislabelled or cannot be "
                        "preprocessed; by default such videos are skipped and listed in the report")
    return p


def _scheduler_ok(spec: str) -> bool:
    try:
        parse_scheduler(spec)
    except ValueError:
        return False
    return True


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    n_splits = args.folds if args.folds is not None else profile["n_splits"]
    n_boot = args.bootstrap if args.bootstrap is not None else profile["n_bootstrap"]
    n_patients = args.patients if args.patients is not None else profile["n_patients"]
    checks = [(n_splits >= 2, "--folds must be at least 2"), (args.repeats >= 1, "--repeats must be at least 1"),
              (n_boot >= 1, "--bootstrap must be at least 1"), (n_patients >= 1, "--patients must be at least 1"),
              (0 < args.val_fraction < 1, "--val-fraction must be between 0 and 1"),
              (0 < args.test_fraction < 1, "--test-fraction must be between 0 and 1"),
              (args.window >= 1 and args.stride >= 1, "--window and --stride must be positive"),
              (0 <= args.min_valid <= 1, "--min-valid must be between 0 and 1"),
              (0 <= args.conf <= 1, "--conf must be between 0 and 1"),
              (args.repeats == 1 or args.protocol == "cv", "--repeats applies to --protocol cv only"),
              (args.folds is None or args.protocol == "cv", "--folds applies to --protocol cv only"),
              (args.fps is None or args.fps > 0, "--fps must be positive"),
              (args.device == "auto" or args.device == "cpu" or args.device.startswith("cuda"),
               "--device must be auto, cpu or cuda[:N]"),
              (args.labels is None or args.data.split(":")[0].strip().lower() in LABELLED_SOURCES,
               "--labels is only used with openpose:PATH data and pose files (trc:, array:, mediapipe:, ...)"),
              (1 <= args.threads <= 256, "--threads must be between 1 and 256"),
              (_scheduler_ok(args.scheduler), f"--scheduler must be {SCHEDULER_HELP}")]
    for ok, message in checks:
        if not ok:
            parser.print_usage(sys.stderr)
            return _fail(message)

    import evaluation
    from gaitfeat.errors import GaitError
    from gaitfeat.parallel import single_caller_numba

    single_caller_numba()            # numba is called from this thread only; see docs/performance.md

    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    if args.suite == "explain":
        from evaluation.explain_study import MODEL_METHODS

        unknown = sorted(set(models or ()) - set(MODEL_METHODS))
        problem = (f"--suite explain takes --models from {', '.join(MODEL_METHODS)} (got {', '.join(unknown)})"
                   if unknown else "--suite explain runs in this process (--scheduler serial)"
                   if args.scheduler != "serial" else
                   "--suite explain uses the gmfcs suite's cross-validation folds (--protocol cv, --repeats 1)"
                   if args.protocol != "cv" or args.repeats != 1 else None)
        if problem:
            parser.print_usage(sys.stderr)
            return _fail(problem)
    folder = Path(args.out) / args.suite
    try:  # find out now, not after the run, that the report cannot be written
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        return _fail(f"cannot write the report to {folder}: {exc}")
    started = time.perf_counter()
    try:
        source = "taxonomy" if args.suite == "taxonomy" and args.data.strip().lower() == "synthetic" else args.data
        print(f"loading data: {source}", file=sys.stderr)
        data = evaluation.load_data(
            source, labels=args.labels, fps=args.fps, window=args.window, stride=args.stride, min_valid=args.min_valid,
            conf=args.conf, layout=args.layout or DEFAULT_LAYOUT.get(args.suite, "coco17"), n_patients=n_patients, noise=args.noise,
            video_as_patient=args.video_as_patient, random_state=args.seed, strict=args.strict,
        )
        load_s = time.perf_counter() - started
        print(f"{data.description}: {len(data)} clips, {data.meta['video_id'].nunique()} videos, "
              f"{data.meta['patient_id'].nunique()} patients", file=sys.stderr)
        for key in ("videos_unreadable", "videos_mislabelled", "videos_not_preprocessed"):
            skipped = data.report.get(key) or {}
            if skipped:
                print(f"skipped {len(skipped)} {key.replace('_', ' ')}: "
                      + "; ".join(f"{k}: {v}" for k, v in list(skipped.items())[:5]), file=sys.stderr)
        if args.suite == "explain":
            return _explain(args, data, models, n_splits, n_boot, started, argv)
        study_only = args.suite == "features"
        results = evaluation.cross_validate(
            models, data, "gmfcs" if study_only else args.suite, protocol=args.protocol, n_splits=n_splits, n_repeats=args.repeats,
            val_fraction=args.val_fraction, test_fraction=args.test_fraction, class_weight=args.class_weight,
            n_bootstrap=n_boot, random_state=args.seed, progress=not args.no_progress,
            importance="only" if study_only else ("off" if args.no_importance or args.suite in ("params", "taxonomy")
                                                  else "on"),
            importance_options={**profile["importance"], **(FEATURES_SUITE_OPTIONS if study_only else {})},
            deep_profile=profile["deep"], device=args.device, scheduler=args.scheduler, threads=args.threads,
            pooling=args.pooling,
        )
        results.started = started          # the run time in the report includes loading the data
        results.timings["load_s"] = load_s
        results.config["profile"] = args.profile
        results.config["command"] = "python -m evaluation.run " + " ".join(sys.argv[1:] if argv is None else argv)
        folder = results.write(args.out, html=not args.no_html)
    except (GaitError, ValueError, OSError, RuntimeError) as exc:
        return _fail(str(exc))
    print()
    print(results.format_summary())
    print(f"report: {folder / ('index.html' if not args.no_html else 'metrics.json')}  "
          f"({time.perf_counter() - started:.0f} s)")
    return 0


def _explain(args, data, models, n_splits: int, n_boot: int, started: float, argv) -> int:
    """``--suite explain``: the explanation study, written to OUT/explain/."""
    from dataclasses import replace

    from evaluation.explain_record import build_explain_record, format_explain_summary, write_explain_record
    from evaluation.explain_run import explain_study
    from evaluation.explain_study import EXPLAIN_PROFILES

    settings = EXPLAIN_PROFILES[args.profile]
    if models:
        settings = replace(settings, models=tuple(models))
    result = explain_study(data, n_splits=n_splits, val_fraction=args.val_fraction, profile=args.profile,
                           settings=settings, n_bootstrap=n_boot, device=args.device, threads=args.threads,
                           random_state=args.seed, progress=not args.no_progress)
    command = "python -m evaluation.run " + " ".join(sys.argv[1:] if argv is None else argv)
    folder = write_explain_record(result, Path(args.out) / "explain", html=not args.no_html, command=command,
                                  started=started)
    print()
    print(format_explain_summary(build_explain_record(result)))
    print(f"report: {folder / ('explain.html' if not args.no_html else 'metrics.json')}  "
          f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
