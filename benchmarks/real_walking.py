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

Each trial's lifter output becomes a ``gaitfeat.PoseSequence3D`` (layout
``mpi_inf_3dhp_17``, mm, the vertical unknown), resampled to ``--fps``
(default 30, as in a clinic video), projected onto its walking plane by
``gaitfeat.project_to_walking_plane`` (vertical from the skeleton, walking
direction from the pelvis path; the lifter has no face or foot points, so
the 2-D sequence is COCO-17 with the face absent) and measured four ways:

* ``clips``: ``make_clips`` + ``extract_features`` (with the clips' pelvis
  paths), per-trial median over clips (trials shorter than one clip give none);
* ``walk``: ``walk_features`` on the whole sequence;
* ``walk, foot contact``: ``walk_features(camera="moving")``, the fallback
  a panning camera would get;
* ``3-D, lifter metres``: ``walk_features_3d``, metres from the lifter
  itself (no height), and step width;
* ``3-D, height``: the same with metres from the subject's height.

The first three use the subject's height (``height_m``) for metres. The
table prints, for each quantity, the median absolute % error, the median
signed % error (bias), Pearson's r and the number of trials measured.
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
    "step_width_m": ("Step Width [cm]", 0.01),
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


def lifter_sequence(joints: np.ndarray, step: int, name: str):
    """The lifter's 3-D joints ``(T, 17, 3)`` (mm, camera coordinates) as a ``PoseSequence3D``, every ``step``-th frame."""
    import gaitfeat

    return gaitfeat.PoseSequence3D(joints.astype(np.float64)[::step], SOURCE_FPS / step, "mpi_inf_3dhp_17",
                                   units="mm", patient_id=name.rsplit("_", 1)[0], video_id=name)


def reference(path: Path) -> dict | None:
    """The sensor report's values (None when a column is missing or not a number)."""
    row = pd.read_csv(path).iloc[0]
    out = {}
    for key, (column, factor) in _REFERENCE.items():
        value = pd.to_numeric(row.get(column), errors="coerce")
        if not np.isfinite(value):
            if key == "step_width_m":  # optional: trials without it still count for the rest
                out[key] = np.nan
                continue
            return None
        out[key] = float(value) * factor
    out["step_length_m"] = 0.5 * (out.pop("step_length_left_m") + out.pop("step_length_right_m"))
    out["stance_percent"] = 0.5 * (out.pop("stance_left") + out.pop("stance_right"))
    out["knee_rom"] = 0.5 * (out.pop("knee_left") + out.pop("knee_right"))
    return out


def trials(data: Path, fps: float = 30.0, *, dims: int = 2) -> Iterator[tuple[object, dict]]:
    """(sequence, sensor reference) of every trial that has both.

    ``dims=2``: the COCO-17 side view (``gaitfeat.PoseSequence``, m) from
    ``gaitfeat.project_to_walking_plane``; ``dims=3``: the lifter's
    ``gaitfeat.PoseSequence3D``.
    """
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
        seq = lifter_sequence(np.load(path, allow_pickle=False), step, name)
        yield (seq if dims == 3 else gaitfeat.project_to_walking_plane(seq)), ref


def _stance_percent(table: pd.DataFrame) -> np.ndarray:
    ratio = table[["stance_swing_ratio_left", "stance_swing_ratio_right"]].mean(axis=1, skipna=True).to_numpy(float)
    return 100.0 * ratio / (1.0 + ratio)


def measure(data: Path, fps: float = 30.0) -> pd.DataFrame:
    """One row per trial and method: reference and measured values."""
    import gaitfeat

    rows = []
    for seq3d, ref in trials(data, fps, dims=3):
        seq = gaitfeat.project_to_walking_plane(seq3d)
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
        tables["3-D, lifter metres"] = gaitfeat.walk_features_3d(seq3d)
        tables["3-D, height"] = gaitfeat.walk_features_3d(seq3d, height_m=ref["height_m"])
        for method, table in tables.items():
            stance = _stance_percent(table)
            med = table.median(numeric_only=True)
            rows.append({**base, "method": method, "n_clips": len(table),
                         "spatial_method": table["spatial_method"].mode().iloc[0],
                         "cadence": med["cadence"], "stride_length_m": med["stride_length_m"],
                         "step_length_m": med["step_length_m"], "walking_speed_m": med["walking_speed_m"],
                         "stance_percent": float(np.nanmedian(stance)) if np.isfinite(stance).any() else np.nan,
                         "knee_rom": float(np.nanmedian(table[["knee_rom_left", "knee_rom_right"]].mean(axis=1))),
                         "step_width_m": med.get("step_width_m", np.nan)})
    return pd.DataFrame(rows)


QUANTITIES = ("cadence", "stride_length_m", "step_length_m", "walking_speed_m", "stance_percent", "knee_rom",
              "step_width_m")


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
