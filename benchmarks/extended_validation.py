"""Extended features (per-side step time, heel-first contact, ankle angle) on real walks, against references.

Usage: python benchmarks/extended_validation.py [--data /tmp/gaitdata] [--gaitvalidation DIR] [--max-trials N]

Two sources, loaded with the code of the existing benchmarks (imported, not copied):

* Motion capture (``benchmarks/mocap_walking.py``: walk.c3d, BTS.c3d, and
  Qualisys.c3d when it has two strides): the joint centres and foot markers
  seen by the virtual orthographic side camera (BODY_25; heel = heel marker,
  big toe = toe/metatarsal marker), static and panning, through
  ``gaitfeat.preprocess`` + ``gaitfeat.walk_features``. References:

  - ``step_time_left/right``: the file's heel-strike events (walk.c3d, Vicon
    "Foot Strike"), else heel strikes detected from marker speeds
    (``mocap_walking.detect_events``); median duration of the steps that end
    with that foot's strike (the engine's walk-level statistic);
  - ``heel_strike_fraction``: at each reference strike, the heel marker lower
    than the toe marker, heights above each marker's own floor level (its 5th
    percentile height: the two markers sit at different heights on a flat
    foot);
  - ``ankle_angle_ic`` / ``ankle_dorsiflexion_max_stance``: where the file
    holds the model's output (walk.c3d: pyCGM2 ``LAnkleAngles``/``RAnkleAngles``,
    first component = dorsiflexion +), the model angle at the reference
    strikes (mean) and its largest value from each strike to that foot's next
    toe-off (mean over strides). For every trial also a marker-based 3-D
    angle (shank knee -> ankle joint centre, foot heel -> toe marker, less
    90 deg, the feature's convention). That one shares its points with the
    engine's input: it checks the engine's 2-D geometry and event timing, not
    where keypoints are placed.

* mea-lab GaitValidation (``benchmarks/real_walking.py``): the monocular
  lifter's 3-D poses projected to a side view (COCO-17, 30 fps),
  ``walk_features`` with the subject's height, against the wearable
  report's "Step Time left/right [ms]". The lifter skeleton
  (``mpi_inf_3dhp_17``) has no heel or toe points, so the heel-first and
  ankle features are NaN there and are not validated on these walks.

Prints, per feature, the median absolute error, the median signed error
(bias) and n (per-walk, per-side values pooled).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mocap_walking as mw  # noqa: E402  (sibling benchmark: loaders, virtual camera, events)
import real_walking as rw  # noqa: E402

SIDES = ("left", "right")
#: Model ankle-angle labels (pyCGM2 / Vicon Plug-in Gait outputs), per side.
MODEL_ANKLE = {"left": "LAnkleAngles", "right": "RAnkleAngles"}


# --- motion capture: references ---------------------------------------------------------------------


def model_ankle(trial: mw.Trial, data: Path) -> dict[str, np.ndarray] | None:
    """The file's model ankle dorsiflexion (deg, T) per side, aligned with the trial's frames; None if absent."""
    rel = mw.TRIALS[trial.name][0]
    c = mw.read_c3d(data / rel)
    if not all(lab in c.points for lab in MODEL_ANKLE.values()):
        return None
    # The trial keeps the span of frames with both hips; find where it starts in the file by its heel marker.
    heel = c.points["LHEE" if "LHEE" in c.points else next(iter(c.points))] / 1000.0
    first = trial.heel["left"]
    T = len(first)
    for lo in range(len(heel) - T + 1):
        if np.allclose(heel[lo:lo + T], first, equal_nan=True):
            return {s: c.points[MODEL_ANKLE[s]][lo:lo + T, 0] for s in SIDES}
    raise ValueError(f"{trial.name}: cannot align the model angles with the trial's frames")


def marker_ankle(trial: mw.Trial) -> dict[str, np.ndarray]:
    """3-D angle (deg, T) between shank (knee -> ankle JC) and foot (heel -> toe marker), less 90 deg."""
    out = {}
    for s in SIDES:
        shank = trial.joints[f"{s}_ankle"] - trial.joints[f"{s}_knee"]
        foot = trial.toe[s] - trial.heel[s]
        cos = np.sum(shank * foot, 1) / (np.linalg.norm(shank, axis=1) * np.linalg.norm(foot, axis=1))
        out[s] = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))) - 90.0
    return out


def _ankle_reference(angle: dict[str, np.ndarray], events: dict) -> dict[str, float]:
    """Mean angle at the strikes and mean over strides of the stance maximum (strike to next toe-off), per side."""
    out = {}
    for s in SIDES:
        at = [float(mw._at(angle[s], t)) for t in events[s]["strike"]]
        maxima = []
        for hs in events[s]["strike"]:
            later = [o for o in events[s]["off"] if o > hs]
            if later:
                seg = angle[s][int(np.ceil(hs)):int(np.floor(later[0])) + 1]
                if np.isfinite(seg).any():
                    maxima.append(float(np.nanmax(seg)))
        at = [a for a in at if np.isfinite(a)]
        out[f"ankle_angle_ic_{s}"] = float(np.mean(at)) if at else np.nan
        out[f"ankle_dorsiflexion_max_stance_{s}"] = float(np.mean(maxima)) if maxima else np.nan
    return out


def mocap_reference(trial: mw.Trial, data: Path) -> dict:
    """Reference values of one trial: step times, heel-first share, ankle angles (model and markers)."""
    events = trial.events or mw.detect_events(trial)
    strikes = sorted((t, s) for s in SIDES for t in events[s]["strike"])
    steps = {s: [] for s in SIDES}
    for (ta, sa), (tb, sb) in zip(strikes[:-1], strikes[1:]):
        if sa != sb:
            steps[sb].append((tb - ta) / trial.fps)
    ref = {"events": "file (Vicon)" if trial.events else "detected (marker speeds)", "steps": steps}
    for s in SIDES:
        ref[f"step_time_{s}"] = float(np.median(steps[s])) if steps[s] else np.nan
        hh = trial.heel[s] @ trial.up
        th = trial.toe[s] @ trial.up
        rel = (hh - np.nanpercentile(hh, 5)) - (th - np.nanpercentile(th, 5))
        diffs = [float(mw._at(rel, t)) for t in events[s]["strike"]]
        diffs = [d for d in diffs if np.isfinite(d)]
        ref[f"heel_minus_toe_mm_{s}"] = ", ".join(f"{1000.0 * d:.0f}" for d in diffs)
        ref[f"heel_strike_fraction_{s}"] = float(np.mean([d < 0 for d in diffs])) if diffs else np.nan
    ref["markers"] = _ankle_reference(marker_ankle(trial), events)
    model = model_ankle(trial, data)
    ref["model"] = _ankle_reference(model, events) if model is not None else None
    return ref


# --- motion capture: comparison --------------------------------------------------------------------------

STEP = ("step_time",)
HEEL = ("heel_strike_fraction",)
ANKLE = ("ankle_angle_ic", "ankle_dorsiflexion_max_stance")


def mocap_rows(data: Path) -> tuple[list[dict], dict[str, str], list[str]]:
    """One row per trial x camera x feature x side (reference, measured, error); skipped trials; notes."""
    import gaitfeat

    trials, skipped = mw.load_trials(data)
    rows, notes = [], []
    for trial in trials:
        ref = mocap_reference(trial, data)
        if min(len(v) for v in ref["steps"].values()) < 1:
            skipped[trial.name] = f"reference has no step for one foot ({ref['steps']})"
            continue
        notes.append(f"{trial.name}: events {ref['events']}; reference steps L {len(ref['steps']['left'])}, "
                     f"R {len(ref['steps']['right'])}; heel minus toe at strikes (mm, above own floor level) "
                     f"L {ref['heel_minus_toe_mm_left']}, R {ref['heel_minus_toe_mm_right']}".replace("'", ""))
        leg = mw.leg_length_m(trial)
        for camera in mw.CAMERAS:
            seq = gaitfeat.preprocess(mw.pose_sequence(trial, "body25", camera))
            got = gaitfeat.walk_features(seq, leg_length_m=leg).iloc[0]
            for s in SIDES:
                cases = [(f, "events", ref[f"{f}_{s}"]) for f in STEP + HEEL]
                cases += [(f, "markers (shared points)", ref["markers"][f"{f}_{s}"]) for f in ANKLE]
                if ref["model"] is not None:
                    cases += [(f, "pyCGM2 model", ref["model"][f"{f}_{s}"]) for f in ANKLE]
                for feature, source, value in cases:
                    m = float(got[f"{feature}_{s}"])
                    rows.append({"trial": trial.name, "camera": camera, "feature": feature, "reference": source,
                                 "side": s, "ref": value, "measured": m, "error": m - value,
                                 "nan_reason": _reason(got["nan_reason"], f"{feature}_{s}") if not np.isfinite(m) else ""})
    return rows, skipped, notes


def _reason(text: str, feature: str) -> str:
    """The part of a walk's ``nan_reason`` ("reason: feature, feature; ...") that names ``feature``."""
    return "; ".join(p.split(":")[0] for p in str(text).split("; ") if feature in p) or str(text)


def summary(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Median |error|, median signed error (bias), max |error| and n (finite pairs) per group of ``keys``."""
    out = []
    for key, g in rows.groupby(keys, sort=False):
        e = g["error"].to_numpy(float)
        ok = np.isfinite(e)
        out.append({**dict(zip(keys, key if isinstance(key, tuple) else (key,))),
                    "median_abs_error": float(np.median(np.abs(e[ok]))) if ok.any() else np.nan,
                    "bias": float(np.median(e[ok])) if ok.any() else np.nan,
                    "max_abs_error": float(np.max(np.abs(e[ok]))) if ok.any() else np.nan,
                    "n": int(ok.sum()), "of": len(g)})
    return pd.DataFrame(out)


# --- GaitValidation ----------------------------------------------------------------------------------------

_STEP_TIME = {"left": "Step Time left [ms]", "right": "Step Time right [ms]"}


def gaitvalidation_rows(data: Path, fps: float = 30.0, max_trials: int | None = None) -> pd.DataFrame:
    """Per trial and side: the wearable report's step time (s) against ``walk_features``' (COCO-17 side view)."""
    import gaitfeat

    rows = []
    for i, (seq, ref) in enumerate(rw.trials(data, fps)):
        if max_trials is not None and i >= max_trials:
            break
        report = pd.read_csv(data / rw._SENSOR / f"{seq.video_id}.csv").iloc[0]
        got = gaitfeat.walk_features(gaitfeat.preprocess(seq), height_m=ref["height_m"]).iloc[0]
        for s in SIDES:
            r = pd.to_numeric(report.get(_STEP_TIME[s]), errors="coerce") / 1000.0
            m = float(got[f"step_time_{s}"])
            rows.append({"trial": seq.video_id, "patient_id": seq.patient_id, "side": s, "ref": float(r),
                         "measured": m, "error": m - r, "heel_first": float(got[f"heel_strike_fraction_{s}"])})
    return pd.DataFrame(rows)


# --- report ------------------------------------------------------------------------------------------------


def _fmt(table: pd.DataFrame) -> str:
    with pd.option_context("display.width", 160, "display.float_format", "{:.3f}".format):
        return table.to_string(index=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=mw.DEFAULT_DATA, help="folder holding kineticstoolkit/*.c3d")
    ap.add_argument("--gaitvalidation", type=Path, default=None,
                    help="the GaitValidation folder (default: GAITFEAT_GAITVALIDATION or usual places)")
    ap.add_argument("--max-trials", type=int, default=None, help="GaitValidation: first N trials only")
    ap.add_argument("--fps", type=float, default=30.0, help="GaitValidation: frame rate to resample to")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    rows, skipped, notes = mocap_rows(args.data)
    if rows:
        table = pd.DataFrame(rows)
        print("## Motion capture (BODY_25 virtual side camera): per trial, camera, feature, side\n")
        print(_fmt(table[["trial", "camera", "feature", "reference", "side", "ref", "measured", "error"]]))
        print("\n## Motion capture summary (errors in s, share, deg)\n")
        print(_fmt(summary(table, ["feature", "reference", "camera"])))
        for n in notes:
            print("*", n)
        missing = table[~np.isfinite(table["measured"])].drop_duplicates(["trial", "camera", "feature", "side"])
        for r in missing.itertuples():
            print(f"* NaN: {r.trial} {r.camera} {r.feature}_{r.side}: {r.nan_reason}")
    for k, v in skipped.items():
        print(f"* not used: {k}: {v}")
    gv = args.gaitvalidation or rw.default_data_dir()
    if gv is None or not (gv / rw._POSES).is_dir():
        print("\nGaitValidation not found (--gaitvalidation or GAITFEAT_GAITVALIDATION): not measured")
    else:
        res = gaitvalidation_rows(gv, args.fps, args.max_trials)
        res["feature"] = "step_time"
        print(f"\n## GaitValidation: step time (s) against the wearable report ({res['trial'].nunique()} trials, "
              f"{res['patient_id'].nunique()} subjects, {args.fps:g} fps)\n")
        tab = summary(res, ["feature", "side"])
        ok = np.isfinite(res["error"])
        rel = (res.loc[ok, "error"] / res.loc[ok, "ref"] * 100.0).abs()
        r = np.corrcoef(res.loc[ok, "measured"], res.loc[ok, "ref"])[0, 1] if ok.sum() > 2 else np.nan
        print(_fmt(tab))
        print(f"pooled: median |error| {rel.median():.1f} %, Pearson r {r:.2f}, "
              f"heel_strike_fraction finite in {int(np.isfinite(res['heel_first']).sum())} of {len(res)} "
              "(no foot points in the lifter skeleton)")
    print(f"\n{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
