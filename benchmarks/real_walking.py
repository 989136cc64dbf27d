"""Spatiotemporal parameters on real walking against a wearable reference (mea-lab GaitValidation).

Usage: python benchmarks/real_walking.py [--data DIR] [--fps 30] [--csv out.csv]

The data are NOT part of this repository (the source publishes no licence,
so it may be read for validation but not redistributed). Get them with::

    git clone https://github.com/mea-lab/GaitValidation DIR

or point ``--data`` / ``GAITFEAT_GAITVALIDATION`` at an existing copy.
What the folder holds (see docs/validation.md): 327 walking trials of 36
adults (``Diz_*`` patients, ``Val_*`` controls), filmed from the front while
walking away from the camera at 60 fps; each trial's 3-D poses from a
monocular lifter (MeTRAbs, skeleton ``mpi_inf_3dhp_17``, camera coordinates
in mm) in ``video analysis/large model data/ori_keypoints/<trial>.npy``, and
the report of a wearable inertial system (Noraxon MyoMotion) for the same
walk in ``sensor data/SENSOR REPORT/<trial>.csv``: cadence, stride and step
length, speed, stance phase, the knee's flexion range per gait cycle (mean
over cycles; ours is the range over the whole walk or clip, which includes
every cycle's extremes), and the subject's height.

Each trial is viewed from a virtual side camera (orthographic, horizontal
axis along the walk, image y down), mapped to COCO-17 (eyes, ears and nose
missing: the lifter's skeleton has no face points), resampled to ``--fps``
(default 30, as in a clinic video), and measured three ways:

* ``clips``: ``make_clips`` + ``extract_features`` (with the clips' pelvis
  paths), per-trial median over clips (trials shorter than one clip give none);
* ``walk``: ``walk_features`` on the whole sequence;
* ``walk, foot contact``: ``walk_features(camera="moving")``, the fallback
  a panning camera would get.

Metres use the subject's height (``height_m``). The table prints, for each
quantity, the median absolute % error, the median signed % error (bias),
Pearson's r and the number of trials measured.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

# gaitfeat is imported where it is used: benchmarks/peer_myogait.py reuses error_table from
# another environment (myogait's), where gaitfeat is not installed.

#: The lifter's joint order (MeTRAbs ``mpi_inf_3dhp_17``), as the source's pipeline documents it.
MPI_INF_3DHP_17 = ("htop", "neck", "rsho", "relb", "rwri", "lsho", "lelb", "lwri", "rhip", "rkne", "rank",
                   "lhip", "lkne", "lank", "pelv", "spin", "head")
_TO_COCO17 = {
    "left_shoulder": "lsho", "right_shoulder": "rsho", "left_elbow": "lelb", "right_elbow": "relb",
    "left_wrist": "lwri", "right_wrist": "rwri", "left_hip": "lhip", "right_hip": "rhip",
    "left_knee": "lkne", "right_knee": "rkne", "left_ankle": "lank", "right_ankle": "rank",
}
_POSES = Path("video analysis") / "large model data" / "ori_keypoints"
_SENSOR = Path("sensor data") / "SENSOR REPORT"
#: Reference columns of the sensor report (the "Height [cm]" column holds metres).
_REFERENCE = {
    "height_m": ("Height [cm]", 1.0), "stride_length_m": ("Stride Length [cm]", 0.01),
    "walking_speed_m": ("Velocity [km/h]", 1 / 3.6), "cadence": ("Cadence [step/min]", 1.0),
    "step_length_left_m": ("Step Length left [cm]", 0.01), "step_length_right_m": ("Step Length right [cm]", 0.01),
    "stance_left": ("Stance Phase left [%]", 1.0), "stance_right": ("Stance Phase right [%]", 1.0),
    "knee_left": ("Average Period-Range-Total-Knee Flexion LT [deg]", 1.0),
    "knee_right": ("Average Period-Range-Total-Knee Flexion RT [deg]", 1.0),
}
#: Source's frame rate (frames/s).
SOURCE_FPS = 60.0


def default_data_dir() -> Path | None:
    """``GAITFEAT_GAITVALIDATION``, else a few usual places; None when no copy is found."""
    candidates = [os.environ.get("GAITFEAT_GAITVALIDATION"), "/tmp/gaitdata/mea-lab_GaitValidation",
                  str(Path.home() / "gaitdata" / "GaitValidation")]
    for c in candidates:
        if c and (Path(c) / _POSES).is_dir():
            return Path(c)
    return None


def side_view(joints: np.ndarray, step: int) -> np.ndarray:
    """COCO-17 image keypoints ``(T', 17, 3)`` of 3-D joints ``(T, 17, 3)`` (mm) seen from the side.

    The horizontal image axis is the principal direction of the pelvis path
    on the camera's x-z plane (the walk), the vertical is the camera's y
    (which points down, as image y does); every ``step``-th frame is kept.
    """
    from gaitfeat.layouts import COCO17

    a = joints.astype(np.float64)[::step]
    pelvis = a[:, MPI_INF_3DHP_17.index("pelv")][:, [0, 2]]
    known = np.isfinite(pelvis).all(axis=1)
    centred = pelvis[known] - pelvis[known].mean(axis=0)
    direction = np.linalg.svd(centred, full_matrices=False)[2][0]
    u = a[..., 0] * direction[0] + a[..., 2] * direction[1]
    kp = np.full((a.shape[0], len(COCO17.joints), 3), np.nan)
    for j, name in enumerate(COCO17.joints):
        if name in _TO_COCO17:
            k = MPI_INF_3DHP_17.index(_TO_COCO17[name])
            kp[:, j] = np.stack([u[:, k], a[:, k, 1], np.ones(a.shape[0])], axis=-1)
    return kp


def reference(path: Path) -> dict | None:
    """The sensor report's values (None when a column is missing or not a number)."""
    row = pd.read_csv(path).iloc[0]
    out = {}
    for key, (column, factor) in _REFERENCE.items():
        value = pd.to_numeric(row.get(column), errors="coerce")
        if not np.isfinite(value):
            return None
        out[key] = float(value) * factor
    out["step_length_m"] = 0.5 * (out.pop("step_length_left_m") + out.pop("step_length_right_m"))
    out["stance_percent"] = 0.5 * (out.pop("stance_left") + out.pop("stance_right"))
    out["knee_rom"] = 0.5 * (out.pop("knee_left") + out.pop("knee_right"))
    return out


def trials(data: Path, fps: float = 30.0) -> Iterator[tuple[object, dict]]:
    """(side-view COCO-17 ``gaitfeat.PoseSequence`` in mm, sensor reference) of every trial that has both."""
    import gaitfeat

    step = max(1, int(round(SOURCE_FPS / fps)))
    for path in sorted((data / _POSES).glob("*.npy")):
        name = path.stem
        sensor = data / _SENSOR / f"{name}.csv"
        if not sensor.is_file():
            continue
        ref = reference(sensor)
        if ref is None:
            continue
        kp = side_view(np.load(path, allow_pickle=False), step)
        yield gaitfeat.PoseSequence(kp, SOURCE_FPS / step, "coco17", patient_id=name.rsplit("_", 1)[0],
                                    video_id=name), ref


def _stance_percent(table: pd.DataFrame) -> np.ndarray:
    ratio = table[["stance_swing_ratio_left", "stance_swing_ratio_right"]].mean(axis=1, skipna=True).to_numpy(float)
    return 100.0 * ratio / (1.0 + ratio)


def measure(data: Path, fps: float = 30.0) -> pd.DataFrame:
    """One row per trial and method: reference and measured values."""
    import gaitfeat

    rows = []
    for seq, ref in trials(data, fps):
        processed = gaitfeat.preprocess(seq)
        base = {"trial": seq.video_id, "patient_id": seq.patient_id, "n_frames": seq.n_frames,
                **{f"ref_{k}": v for k, v in ref.items()}}
        tables = {}
        if processed.n_frames >= 124:
            clips = gaitfeat.make_clips(processed, min_valid=0.5)
            if len(clips.clips):
                tables["clips"] = gaitfeat.extract_features(clips, height_m=ref["height_m"])
        tables["walk"] = gaitfeat.walk_features(processed, height_m=ref["height_m"])
        tables["walk, foot contact"] = gaitfeat.walk_features(processed, height_m=ref["height_m"], camera="moving")
        for method, table in tables.items():
            stance = _stance_percent(table)
            med = table.median(numeric_only=True)
            rows.append({**base, "method": method, "n_clips": len(table),
                         "spatial_method": table["spatial_method"].mode().iloc[0],
                         "cadence": med["cadence"], "stride_length_m": med["stride_length_m"],
                         "step_length_m": med["step_length_m"], "walking_speed_m": med["walking_speed_m"],
                         "stance_percent": float(np.nanmedian(stance)) if np.isfinite(stance).any() else np.nan,
                         "knee_rom": float(np.nanmedian(table[["knee_rom_left", "knee_rom_right"]].mean(axis=1)))})
    return pd.DataFrame(rows)


QUANTITIES = ("cadence", "stride_length_m", "step_length_m", "walking_speed_m", "stance_percent", "knee_rom")


def error_table(results: pd.DataFrame, quantities: tuple[str, ...] = QUANTITIES) -> pd.DataFrame:
    """Median absolute and signed % error, median absolute error in the quantity's unit, Pearson r, trials.

    One row per method and quantity; ``results`` holds the measured column and ``ref_<quantity>``.
    """
    rows = []
    for method, group in results.groupby("method", sort=False):
        for q in quantities:
            ok = group[q].notna() if q in group else pd.Series(False, index=group.index)
            measured, ref = group.loc[ok, q].to_numpy(float), group.loc[ok, f"ref_{q}"].to_numpy(float)
            err = (measured - ref) / ref * 100.0
            some = bool(ok.any())
            rows.append({"method": method, "quantity": q,
                         "median_abs_error_pct": np.median(np.abs(err)) if some else np.nan,
                         "bias_pct": np.median(err) if some else np.nan,
                         "median_abs_error": np.median(np.abs(measured - ref)) if some else np.nan,
                         "r": np.corrcoef(measured, ref)[0, 1] if ok.sum() > 2 else np.nan,
                         "trials": int(ok.sum()), "of": len(group)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="the GaitValidation folder")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate to resample to (source: 60)")
    parser.add_argument("--csv", type=Path, default=None, help="write the per-trial results here")
    args = parser.parse_args()
    data = args.data or default_data_dir()
    if data is None or not (data / _POSES).is_dir():
        raise SystemExit("error: GaitValidation data not found; pass --data or set GAITFEAT_GAITVALIDATION "
                         "(git clone https://github.com/mea-lab/GaitValidation)")
    start = time.perf_counter()
    results = measure(data, args.fps)
    if args.csv:
        results.to_csv(args.csv, index=False)
    table = error_table(results)
    with pd.option_context("display.width", 140, "display.float_format", "{:.2f}".format):
        print(table.to_string(index=False))
    print(f"{results['trial'].nunique()} trials, {results['patient_id'].nunique()} subjects, "
          f"{args.fps:g} fps, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
