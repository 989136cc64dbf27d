"""Peer comparison: myogait's spatiotemporal parameters on the same real-walking keypoints.

Usage (the myogait venv is separate from the project venv, see below)::

    /tmp/myo-venv/bin/python benchmarks/peer_myogait.py --data /tmp/gaitdata/mea-lab_GaitValidation

    # or in two steps
    .venv/bin/python benchmarks/peer_myogait.py --export /tmp/work/side_view.npz [--data DIR] [--fps 30]
    /tmp/myo-venv/bin/python benchmarks/peer_myogait.py --myogait /tmp/work/side_view.npz [--csv out.csv]

Two interpreters. ``myogait`` (PyPI, MIT) lives in its own venv, which lacks
this project's dependencies (numba, torch, ...), so ``gaitfeat`` cannot be
imported there; and myogait must not be installed into the project venv. The
script therefore runs in two halves that share only an ``.npz`` file:

* ``--export OUT.npz`` (project venv): reads the trials with
  :func:`benchmarks.real_walking.trials` -- exactly the keypoints
  ``real_walking.py`` measures: the mea-lab GaitValidation 3-D poses seen by
  an orthographic virtual side camera, COCO-17, mm, image y down, 60 -> 30
  fps -- and stores each trial's ``(T, 17, 3)`` array, fps, and sensor
  reference (Noraxon MyoMotion report).
* ``--myogait IN.npz`` (myogait venv): turns each trial into myogait's pivot
  dict and runs myogait's own validated pipeline on it (``run_pipeline``,
  which accepts a pivot dict: Butterworth 4 Hz, angles, Zeni events, cycle
  segmentation 0.8-1.6 s, direction filter, ``analyze_gait``).
* ``--data DIR`` alone (myogait venv) does both: it runs the export with the
  project interpreter (``--project-python``, default ``<repo>/.venv/bin/python``)
  into a temporary file, then the myogait half.

How the pivot is built (mirroring what ``myogait.extract`` does after pose
estimation with a COCO-17 model, e.g. YOLO/ViTPose):

* the 17 COCO joints are mapped to MediaPipe-33 names with
  ``myogait.extract._coco_to_mediapipe`` (the 16 MediaPipe-only points, and
  here the face points our lifter lacks, stay NaN, visibility 0);
* coordinates are normalised to a virtual square image (1 px = 1 mm) that holds
  the whole walk with a 10 % margin: ``x_n = (x - x0) / S``, ``y_n = (y - y0) / S``,
  ``meta.width = meta.height = S``. The image is square, so myogait's
  per-axis de-normalisation is isotropic, and its metre scale does not depend
  on ``S``;
* as in ``extract``: the direction check (``_detect_direction``; no nose/ears
  here, so it keeps the default and flips nothing), the left/right
  label-inversion correction (``_correct_label_inversions``), and the
  geometric HEEL / FOOT_INDEX estimates for COCO models
  (``_estimate_missing_foot_landmarks``);
* the subject's height from the sensor report is stored with
  ``myogait.set_subject(height_m=...)``: myogait's only metric calibration
  without measured femur/foot lengths is femur = 0.245 x height against the
  median image length of the LEFT hip-knee segment. Our ``walk`` rows are
  given the same height, so both toolkits get the same information.

A second, diagnostic set of rows (``exact mm scale``; ``--no-diagnostic``
drops them) re-runs ``analyze_gait`` on the same cycles with the virtual
image's true scale -- the height withheld and a "measured" femur equal to
myogait's own median image femur, i.e. exactly 1 px = 1 mm. No real video
has this; it separates myogait's height calibration from its step-length
method.

Printed, like ``real_walking.py``: median absolute % error, median signed %
error (bias), Pearson r and the number of trials myogait could measure, for
cadence, stride length, step length (mean of left/right), speed and stance %
(mean of left/right) against the sensor reference.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
QUANTITIES = ("cadence", "stride_length_m", "step_length_m", "walking_speed_m", "stance_percent")
#: COCO-17 joint order (as gaitfeat.layouts.COCO17 and myogait.constants.COCO_LANDMARK_NAMES).
COCO17_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
                "left_knee", "right_knee", "left_ankle", "right_ankle")


# --------------------------------------------------------------------------- export (project venv)

def export(data: Path | None, fps: float, out: Path) -> int:
    """Write every trial's side-view COCO-17 keypoints and reference to ``out`` (.npz); the trial count."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import real_walking
    from gaitfeat.layouts import COCO17

    if tuple(COCO17.joints) != COCO17_NAMES:
        raise SystemExit(f"error: unexpected COCO-17 joint order {COCO17.joints}")
    data = data or real_walking.default_data_dir()
    if data is None:
        raise SystemExit("error: GaitValidation data not found; pass --data")
    arrays, meta = {}, []
    for i, (seq, ref) in enumerate(real_walking.trials(Path(data), fps)):
        arrays[f"kp_{i}"] = np.asarray(seq.keypoints, dtype=np.float64)
        meta.append({"trial": seq.video_id, "patient_id": seq.patient_id, "fps": float(seq.fps), "ref": ref})
    np.savez_compressed(out, meta=np.array(json.dumps(meta)), **arrays)
    return len(meta)


# --------------------------------------------------------------------------- myogait (myogait venv)

def to_pivot(kp: np.ndarray, fps: float, height_m: float, name: str) -> dict:
    """myogait's pivot dict of COCO-17 keypoints ``(T, 17, 3)`` in mm (image y down), as ``extract`` builds it."""
    import importlib

    import myogait
    from myogait.constants import MP_LANDMARK_NAMES

    mx = importlib.import_module("myogait.extract")           # the package re-exports a function of that name
    xy = kp[..., :2]
    lo, hi = np.nanmin(xy, axis=(0, 1)), np.nanmax(xy, axis=(0, 1))
    side = float(np.ceil(np.max(hi - lo) * 1.2))            # square virtual image, 10 % margin each side, 1 px = 1 mm
    origin = 0.5 * (lo + hi) - 0.5 * side
    norm = kp.copy()
    norm[..., :2] = (xy - origin) / side
    norm[~np.isfinite(norm[..., :2]).all(axis=-1), 2] = np.nan
    raw = [mx._coco_to_mediapipe(norm[t]) for t in range(len(norm))]   # (33, 3) per frame, NaN where absent
    direction = mx._detect_direction(raw)
    if direction == "right":                                  # extract's flip_if_right (needs nose and ears)
        raw = [mx._flip_landmarks(lm) for lm in raw]
    raw, _ = mx._correct_label_inversions(raw)                # extract's correct_inversions=True

    size = int(side)
    data = myogait.schema.create_empty(video_path=f"{name}.virtual", fps=fps, width=size, height=size,
                                       n_frames=len(raw))
    frames = []
    for idx, lm in enumerate(raw):
        vis = lm[:, 2][~np.isnan(lm[:, 2])]
        frame = {"frame_idx": idx, "time_s": round(idx / fps, 4), "landmarks": {},
                 "confidence": float(np.mean(vis)) if len(vis) else 0.0}
        for i, lname in enumerate(MP_LANDMARK_NAMES):
            frame["landmarks"][lname] = {"x": float(lm[i, 0]), "y": float(lm[i, 1]),
                                         "visibility": 0.0 if np.isnan(lm[i, 2]) else float(lm[i, 2])}
        mx._estimate_missing_foot_landmarks(frame)
        frames.append(frame)
    data["frames"] = frames
    data["extraction"] = {"model": "gaitfeat side-view COCO-17 (mea-lab GaitValidation)",
                          "keypoint_format": "mediapipe33", "n_landmarks": 33,
                          "landmark_names": MP_LANDMARK_NAMES, "direction_detected": direction,
                          "was_flipped": direction == "right", "inversions_corrected": True}
    myogait.set_subject(data, height_m=height_m)
    return data


def _num(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return np.nan
    return v if np.isfinite(v) else np.nan


def _mean(*values) -> float:
    v = [x for x in map(_num, values) if np.isfinite(x)]
    return float(np.mean(v)) if v else np.nan


def _median_left_femur_px(frames: list, width: float, height: float) -> float:
    """Median LEFT hip-knee image length (px), as myogait's ``_estimate_pixel_to_meter_scale`` measures it."""
    lengths = [np.hypot((f["landmarks"]["LEFT_HIP"]["x"] - f["landmarks"]["LEFT_KNEE"]["x"]) * width,
                        (f["landmarks"]["LEFT_HIP"]["y"] - f["landmarks"]["LEFT_KNEE"]["y"]) * height) for f in frames]
    return float(np.nanmedian(lengths))


def _values(stats: dict | None) -> dict:
    """Cadence, stride/step length, speed, stance % of an ``analyze_gait`` result (NaN where none)."""
    stats = stats or {}
    st, sl, ws = stats.get("spatiotemporal", {}), stats.get("step_length", {}), stats.get("walking_speed", {})
    cadence = _num(st.get("cadence_steps_per_min"))
    out = {"unit": sl.get("unit"),
           "cadence": cadence if cadence > 0 else np.nan,
           "stride_length_m": _mean(sl.get("stride_length_left"), sl.get("stride_length_right")),
           "step_length_m": _mean(sl.get("step_length_left"), sl.get("step_length_right")),
           "walking_speed_m": _num(ws.get("speed_mean")),
           "stance_percent": _mean(st.get("stance_pct_left"), st.get("stance_pct_right"))}
    if sl.get("unit") not in (None, "m"):           # uncalibrated output is not in metres: not comparable
        out.update(stride_length_m=np.nan, step_length_m=np.nan, walking_speed_m=np.nan)
    return out


def measure_myogait(path: Path, exact_scale: bool = False) -> pd.DataFrame:
    """One row per trial: reference and myogait's values (NaN where it gives none)."""
    import myogait

    archive = np.load(path, allow_pickle=False)
    meta = json.loads(str(archive["meta"]))
    rows = []
    for i, m in enumerate(meta):
        ref = m["ref"]
        row = {"trial": m["trial"], "patient_id": m["patient_id"], "method": f"myogait {myogait.__version__}",
               **{f"ref_{k}": v for k, v in ref.items()}}
        kp = archive[f"kp_{i}"]
        row["n_frames"] = len(kp)
        try:
            data = to_pivot(kp, m["fps"], ref["height_m"], m["trial"])
            result = myogait.run_pipeline(data, show_progress=False)
        except Exception as exc:  # noqa: BLE001 -- a peer's failure on one trial is a result, not a crash
            row["error"] = f"{type(exc).__name__}: {exc}"
            rows.append(row)
            continue
        row["n_cycles"] = len(result["cycles"].get("cycles", []))
        row["n_cycles_dropped_direction"] = result["quality"].get("n_cycles_dropped_direction")
        row["direction"] = data["extraction"]["direction_detected"]
        row["warnings"] = "; ".join(result["quality"].get("warnings", []))
        rows.append({**row, **_values(result["stats"])})
        if exact_scale:
            # Diagnostic: the virtual image's true scale (1 px = 1 mm), handed to myogait as a "measured"
            # femur equal to its own image femur, with the height withheld (it would be averaged in).
            stats = None
            if result["cycles"].get("cycles"):
                data["subject"] = None
                stats = myogait.analyze_gait(data, result["cycles"],
                                             femur_mm=_median_left_femur_px(data["frames"], data["meta"]["width"],
                                                                            data["meta"]["height"]))
            rows.append({**row, "method": row["method"] + ", exact mm scale (diagnostic)", **_values(stats)})
    out = pd.DataFrame(rows)
    for q in QUANTITIES:
        if q not in out:
            out[q] = np.nan
    return out


def error_table(results: pd.DataFrame) -> pd.DataFrame:
    """``real_walking.error_table`` over this script's quantities (importable here: it needs no gaitfeat)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import real_walking

    return real_walking.error_table(results, QUANTITIES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="the GaitValidation folder")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate to resample to (source: 60)")
    parser.add_argument("--export", type=Path, default=None, metavar="OUT.npz",
                        help="project venv: write the side-view keypoints and references here, then stop")
    parser.add_argument("--myogait", type=Path, default=None, metavar="IN.npz",
                        help="myogait venv: run myogait on a file written by --export")
    parser.add_argument("--project-python", type=Path, default=REPO / ".venv" / "bin" / "python",
                        help="the project's interpreter, used for the export when neither --export nor --myogait")
    parser.add_argument("--csv", type=Path, default=None, help="write myogait's per-trial results here")
    parser.add_argument("--no-diagnostic", action="store_true",
                        help="skip the 'exact mm scale' diagnostic rows (myogait given the true image scale)")
    args = parser.parse_args()

    if args.export is not None:
        start = time.perf_counter()
        n = export(args.data, args.fps, args.export)
        print(f"wrote {n} trials to {args.export} ({time.perf_counter() - start:.1f} s)")
        return

    logging.disable(logging.WARNING)          # myogait logs a warning per odd cycle; results carry them
    warnings.filterwarnings("ignore")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        source = args.myogait
        if source is None:
            source = Path(tmp) / "side_view.npz"
            command = [str(args.project_python), str(Path(__file__).resolve()), "--export", str(source),
                       "--fps", str(args.fps)] + (["--data", str(args.data)] if args.data else [])
            subprocess.run(command, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        results = measure_myogait(source, exact_scale=not args.no_diagnostic)
    if args.csv:
        results.to_csv(args.csv, index=False)
    table = error_table(results)
    with pd.option_context("display.width", 140, "display.float_format", "{:.2f}".format):
        print(table.to_string(index=False))
    failed = results.loc[results["error"].notna(), "trial"].nunique() if "error" in results else 0
    print(f"{results['trial'].nunique()} trials, {results['patient_id'].nunique()} subjects, {failed} raised; "
          f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
