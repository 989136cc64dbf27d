"""Sagittal joint-angle curves per gait cycle (gaitfeat.features.angle_curves) against real motion capture.

Usage: python benchmarks/angle_validation.py [--data /tmp/gaitdata]

The walks of ``benchmarks/mocap_walking.py`` (its ``TRIALS``: open c3d
files, joint centres in the lab frame, a static virtual orthographic side
camera, :func:`gaitfeat.preprocess`) are measured by our 2-D angle code and
compared, gait cycle by gait cycle, with two references:

* ``CGM``: the kinematics that the Conventional Gait Model (Vicon CGM2.1 via
  pyCGM2) stored in walk.c3d itself (points ``LKneeAngles``, ``LHipAngles``,
  ``LAnkleAngles``, ``LPelvisAngles``, ...; x component = sagittal,
  degrees): 3-D Cardan angles between anatomical segment frames, computed
  by other software from the markers. Independent of our code; the only
  shared inputs are the markers (and the knee and ankle joint centres, which
  we take from the same file). CGM2.1 is a lower-body model: no trunk or
  arm angles.
* ``3-D JC``: the same angles as ours, but from the 3-D joint centres
  (angle between the 3-D segment vectors, signed by the walker's lateral
  axis). A weaker reference: it shares our joint centres and definitions and
  isolates what the 2-D projection, the preprocessing and the event
  detection cost. Available for every trial (BTS and Qualisys have no model
  outputs).

Hip flexion in gaitfeat is the thigh against the trunk line, and walk.c3d
has no upper-body markers, so for walk.c3d it is undefined; the row
``thigh`` (the engine's thigh angle from the downward vertical, the term
our hip is built from: hip = thigh + trunk) is compared with the CGM's hip
flexion minus its pelvic tilt, the thigh's inclination in the lab.

Three ways of cutting cycles:

* ``file cycles``: our per-frame angles (:func:`frame_angles`) and the
  reference cut at the same heel strikes -- the file's own Vicon events
  (walk.c3d) or the marker-speed events of mocap_walking (Ghoussayni et al.
  2004) -- each cycle resampled to 101 points. Measures the angle
  definitions and the projection alone.
* ``angle_curves``: :func:`angle_curves` end to end (its own heel strikes
  from the 2-D clip, its stride pairing, its per-side mean) against the
  mean of the reference's cycles of that side.
* ``engine cycles``: the same angle_curves curve against the reference cut
  at the engine's heel strikes (:func:`gaitfeat.detect_events` on the same
  clip): the angle_curves error once the event timing is shared.

Per comparison: Pearson r of the two 101-point curves, RMS difference,
offset (mean of ours - reference), RMS after removing the offset, and the
range-of-motion difference (max - min, ours - reference). Nothing here is
tuned to the references.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = Path("/tmp/gaitdata")
POINTS = 101
LAYOUTS = ("coco17", "body25")
#: Our angles compared, in table order ("thigh" = hip - trunk, the engine's thigh signal).
ANGLES = ("trunk", "hip", "thigh", "knee", "ankle", "shoulder", "elbow")
#: CGM outputs used: our angle -> (c3d point per side, its component, minus this point's component or None).
CGM_POINTS = {
    "hip": ("{S}HipAngles", None),
    "thigh": ("{S}HipAngles", "{S}PelvisAngles"),   # thigh in the lab = hip flexion - anterior pelvic tilt
    "knee": ("{S}KneeAngles", None),
    "ankle": ("{S}AnkleAngles", None),
}
#: Qualisys arm markers (elbow = mid epicondyles, wrist = mid styloids); the mocap module has shoulders only.
QUALISYS_ARMS = {"elbow": ("HLE", "HME"), "wrist": ("RSP", "UHE")}
TRIAL_ORDER = ("walk", "BTS", "Qualisys")
#: Angles left out, and why (checked on the data, not assumed).
UNRELIABLE = {
    "BTS": {
        "knee": "mocap_walking estimates the ankle on the line from the lateral knee marker through the shank-wand "
                "marker; it lands a median 18 cm ahead of the heel marker at heel height (the malleolar ankles of "
                "walk and Qualisys: 6 cm ahead, 3.5-4 cm above), over the metatarsal heads, so this 'knee angle' "
                "runs from about -28 to +31 deg: not a knee angle. Ours and the 3-D one still agree (r 0.999): "
                "that checks the projection only",
        "ankle": "the same estimated ankle (see knee)",
    },
}


def _mocap():
    """benchmarks/mocap_walking.py as a module (trials, virtual camera, events)."""
    if "mocap_walking" in sys.modules:
        return sys.modules["mocap_walking"]
    spec = importlib.util.spec_from_file_location("mocap_walking", HERE / "mocap_walking.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


# --- reading: the trials, the file's model outputs -------------------------------------------------


def _row_offset(trial, points: dict[str, np.ndarray], heel_label: str) -> int:
    """Row of the c3d file at which the trial's frame 0 lies (mocap_walking cuts frames without both hips)."""
    heel = trial.heel["left"]
    first = int(np.flatnonzero(np.isfinite(heel).all(1))[0])
    raw = points[heel_label] / 1000.0
    hits = np.flatnonzero(np.all(np.abs(raw - heel[first]) < 1e-9, axis=1))
    if not len(hits):
        raise ValueError(f"{trial.name}: cannot align the c3d rows with the trial's frames")
    return int(hits[0]) - first


def load(data: Path) -> tuple[list[dict], dict[str, str]]:
    """Trials of mocap_walking with their c3d model outputs (``cgm``, per frame) and, for Qualisys, arm joints."""
    mod = _mocap()
    trials, skipped = mod.load_trials(data)
    out = []
    for trial in trials:
        rel = mod.TRIALS[trial.name][0]
        points = mod.read_c3d(data / rel).points
        heel = {"walk": "LHEE", "BTS": "l heel", "Qualisys": "L_FCC"}[trial.name]
        lo = _row_offset(trial, points, heel)
        T = len(trial.heel["left"])
        cgm = {}
        for side, S in (("left", "L"), ("right", "R")):
            for angle, (name, minus) in CGM_POINTS.items():
                if name.format(S=S) in points and (minus is None or minus.format(S=S) in points):
                    v = points[name.format(S=S)][lo:lo + T, 0]
                    if minus is not None:
                        v = v - points[minus.format(S=S)][lo:lo + T, 0]
                    cgm[f"{side}_{angle}"] = v
        if trial.name == "Qualisys":
            joints = dict(trial.joints)
            for side, S in (("left", "L"), ("right", "R")):
                for joint, (a, b) in QUALISYS_ARMS.items():
                    joints[f"{side}_{joint}"] = 0.5 * (points[f"{S}_{a}"] + points[f"{S}_{b}"])[lo:lo + T] / 1000.0
            trial = replace(trial, joints=joints)
        events = trial.events or mod.detect_events(trial)
        out.append({"trial": trial, "cgm": cgm, "events": events,
                    "event_source": "file (Vicon)" if trial.events else "marker speeds"})
    return out, skipped


# --- angles -------------------------------------------------------------------------------------


def _angle3(a: np.ndarray, b: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """3-D angle (deg) from vectors ``a`` to ``b`` (T, 3); positive when the turn is about +``axis`` (3,) or (T, 3)."""
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ang = np.degrees(np.arccos(np.clip(np.sum(a * b, axis=1) / (na * nb), -1.0, 1.0)))
    return np.where(np.sum(np.cross(a, b) * axis, axis=-1) < 0, -ang, ang)


def _in_plane(a: np.ndarray, b: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Signed angle (deg) from ``a`` to ``b`` (T, 3), both projected onto the plane normal to ``normal`` (T, 3)."""
    n = normal / np.linalg.norm(normal, axis=1, keepdims=True)
    pa = a - np.sum(a * n, axis=1, keepdims=True) * n
    pb = b - np.sum(b * n, axis=1, keepdims=True) * n
    return _angle3(pa, pb, n)


def _body_axis(left: np.ndarray, right: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The body's mediolateral axis (T, 3) from a right-left point pair, oriented like the lab axis ``lat``."""
    m = left - right
    return m if np.nanmean(m @ lat) > 0 else -m


def reference_3d(trial) -> dict[str, np.ndarray]:
    """Per-frame angles (deg) from the 3-D joint centres, seen in the body's own sagittal plane.

    Our definitions (CHANNEL_INFO) and signs, but both vectors of each angle
    projected onto the plane normal to the body's mediolateral axis instead
    of the camera's image plane: the hip-joint-centre line for the trunk and
    the legs, the acromion line for the arms (where the trial has them) --
    the flexion component that a 3-D model reports as its first rotation.
    (The plain 3-D angle between two segment vectors is no flexion angle for
    a ball joint: the trunk's side line slopes inwards and the hanging arm
    outwards, so the shoulder's never reaches 0 and flips sign as the arm
    swings through; see docs/validation.md.)
    """
    fwd, up = _mocap().walking_frame(trial)
    lat = np.cross(fwd, up)            # a forward turn (flexion) is positive about this axis
    J = trial.joints
    T = len(J["left_hip"])
    down = np.tile(-up, (T, 1))
    pelvis = _body_axis(J["left_hip"], J["right_hip"], lat)
    hip_mid = 0.5 * (J["left_hip"] + J["right_hip"])
    out = {}
    if "left_shoulder" in J:
        trunk = 0.5 * (J["left_shoulder"] + J["right_shoulder"]) - hip_mid
        thorax = _body_axis(J["left_shoulder"], J["right_shoulder"], lat)
        out["trunk"] = -_in_plane(-down, trunk, pelvis)
    for s in ("left", "right"):
        thigh = J[f"{s}_knee"] - J[f"{s}_hip"]
        shank = J[f"{s}_ankle"] - J[f"{s}_knee"]
        out[f"{s}_thigh"] = _in_plane(down, thigh, pelvis)
        out[f"{s}_knee"] = -_in_plane(thigh, shank, pelvis)
        if "trunk" in out:
            out[f"{s}_hip"] = _in_plane(-trunk, thigh, pelvis)
        out[f"{s}_ankle"] = _in_plane(shank, J[f"{s}_big_toe"] - J[f"{s}_heel"], pelvis) - 90.0
        if f"{s}_shoulder" in J and f"{s}_elbow" in J:
            upper = J[f"{s}_elbow"] - J[f"{s}_shoulder"]
            out[f"{s}_shoulder"] = _in_plane(J[f"{s}_hip"] - J[f"{s}_shoulder"], upper, thorax)
            if f"{s}_wrist" in J:
                out[f"{s}_elbow"] = _in_plane(upper, J[f"{s}_wrist"] - J[f"{s}_elbow"], thorax)
    return out


def ours(trial, layout: str, cutoff_hz: float | None = 6.0):
    """Our per-frame angles (name -> (T,) deg, thigh included), the AngleCurves and the heel strikes of the walk.

    ``cutoff_hz`` is :func:`gaitfeat.preprocess`'s low-pass (its default, 6 Hz);
    ``None`` only to measure what that filter costs.
    """
    import gaitfeat
    from gaitfeat.features import _kernels as K
    from gaitfeat.features._kernels.signals import frame_signals
    from gaitfeat.features.angle_curves import _prepare, angle_curves, frame_angles

    seq = gaitfeat.preprocess(_mocap().pose_sequence(trial, layout, "static"), cutoff_hz=cutoff_hz)
    clip = seq.keypoints[None]
    angles, channels = frame_angles(clip, trial.fps, layout)
    per_frame = {c: angles[0, i] for i, c in enumerate(channels) if np.isfinite(angles[0, i]).any()}
    # The thigh is not an angle_curves channel but the engine signal our hip is built from (hip = thigh + trunk):
    # the kernel called exactly as angle_curves calls it, so a lower-body marker set still checks that term.
    arr, rates, _, J, params = _prepare(clip, trial.fps, layout)
    usable = np.zeros(clip.shape[1], dtype=np.bool_)
    sig = np.empty((K.N_SIGNALS, clip.shape[1]))
    frame_signals(np.ascontiguousarray(arr[0], dtype=np.float64), float(rates[0]), J, params, usable, sig)
    per_frame["left_thigh"], per_frame["right_thigh"] = sig[K.S_THIGH], sig[K.S_THIGH + 1]
    ev = gaitfeat.detect_events(clip, trial.fps, layout)
    strikes = {s: sorted(ev.loc[(ev.side == s) & (ev.event == "heel_strike"), "frame"]) for s in ("left", "right")}
    return per_frame, angle_curves(clip, trial.fps, layout, points=POINTS), strikes


# --- cycles and metrics ----------------------------------------------------------------------------


def cycle(values: np.ndarray, start: float, end: float, points: int = POINTS) -> np.ndarray | None:
    """``values`` (T,) from sub-frame ``start`` to ``end`` at ``points`` even steps (linear); None if incomplete."""
    frames = np.arange(int(np.floor(start)), int(np.ceil(end)) + 1)
    if frames[0] < 0 or frames[-1] >= len(values) or not np.isfinite(values[frames]).all():
        return None
    return np.interp(start + (end - start) * np.linspace(0.0, 1.0, points), frames, values[frames])


def cycles(events: dict, side: str) -> list[tuple[float, float]]:
    """(start, end) sub-frame times of a side's complete cycles: consecutive heel strikes."""
    hs = sorted(events[side]["strike"])
    return list(zip(hs[:-1], hs[1:]))


def compare(mine: np.ndarray, ref: np.ndarray) -> dict:
    """r, RMS difference, offset (mean ours - ref), RMS without the offset, ROMs and their difference (deg)."""
    d = mine - ref
    rom, rom_ref = float(np.ptp(mine)), float(np.ptp(ref))
    return {"r": float(np.corrcoef(mine, ref)[0, 1]), "rms": float(np.sqrt(np.mean(d ** 2))),
            "offset": float(d.mean()), "rms_centred": float(d.std()), "rom": rom, "rom_ref": rom_ref,
            "rom_diff": rom - rom_ref}


def strike_timing(engine: dict, events: dict, fps: float) -> list[float]:
    """Engine heel strike minus the reference's (ms), for each reference strike with an engine one within 0.3 s."""
    out = []
    for s in ("left", "right"):
        for ref in events[s]["strike"]:
            near = [e for e in engine[s] if abs(e - ref) < 0.3 * fps]
            if near:
                out.append(1000.0 * (min(near, key=lambda e: abs(e - ref)) - ref) / fps)
    return out


def _order(name: str) -> tuple[int, str]:
    return ANGLES.index(name.split("_", 1)[-1]), name


def _compare_trial(t: dict, layout: str, ref_name: str, ref: dict, per_frame: dict, ac,
                   strikes: dict | None = None) -> list[dict]:
    """Rows for one trial, layout and reference: every file cycle, then angle_curves' mean per channel.

    With the engine's heel ``strikes``, also angle_curves against the reference cut at those same strikes
    (mode ``engine cycles``): what is left once the event timing is shared.
    """
    rows = []
    trial = t["trial"]
    for name in sorted(set(per_frame) & set(ref), key=_order):
        if name.split("_", 1)[-1] in UNRELIABLE.get(trial.name, {}):
            continue
        sides = [name.split("_")[0]] if "_" in name else ["left", "right"]
        base = {"trial": trial.name, "reference": ref_name, "layout": layout, "angle": name}
        ref_curves = []
        for s in sides:
            for k, (a, b) in enumerate(cycles(t["events"], s)):
                mine, other = cycle(per_frame[name], a, b), cycle(ref[name], a, b)
                if mine is not None and other is not None:
                    ref_curves.append(other)
                    rows.append({**base, "mode": "file cycles", "cycle": f"{s[0].upper()}{k + 1}", "n": 1,
                                 **compare(mine, other)})
        if name in ac.channels and ref_curves and ac.n_used[0, ac.channels.index(name)]:
            i = ac.channels.index(name)
            rows.append({**base, "mode": "angle_curves", "cycle": "mean", "n": int(ac.n_used[0, i]),
                         **compare(ac.curves[0, i].astype(float), np.mean(ref_curves, axis=0))})
            engine = {s: {"strike": strikes[s]} for s in strikes} if strikes else None
            at_engine = [c for s in sides for a, b in (cycles(engine, s) if engine else [])
                         if (c := cycle(ref[name], a, b)) is not None]
            if at_engine:
                rows.append({**base, "mode": "engine cycles", "cycle": "mean", "n": len(at_engine),
                             **compare(ac.curves[0, i].astype(float), np.mean(at_engine, axis=0))})
    return rows


def run(data: Path = DEFAULT_DATA) -> tuple[list[dict], list[dict], dict[str, str]]:
    """Comparison rows, per-trial facts (cycles, engine strides, strike timing, low-pass cost), skipped trials."""
    trials, skipped = load(data)
    rows, facts = [], []
    for t in trials:
        trial = t["trial"]
        refs = {"CGM": t["cgm"]} if t["cgm"] else {}
        refs["3-D JC"] = reference_3d(trial)
        fact = {"trial": trial.name, "events": t["event_source"], "fps": trial.fps,
                "cycles": {s: len(cycles(t["events"], s)) for s in ("left", "right")}, "engine": {},
                "timing_ms": {}, "lowpass": {}}
        for layout in LAYOUTS:
            per_frame, ac, strikes = ours(trial, layout)
            fact["engine"][layout] = (int(ac.n_strides[0, 0]), int(ac.n_strides[0, 1]))
            fact["timing_ms"][layout] = strike_timing(strikes, t["events"], trial.fps)
            for ref_name, ref in refs.items():
                rows += _compare_trial(t, layout, ref_name, ref, per_frame, ac, strikes)
        # What preprocessing's 6 Hz low-pass costs the range of motion (file cycles, 3-D JC reference):
        raw_frames, raw_ac, _ = ours(trial, "body25", cutoff_hz=None)
        unfiltered = _compare_trial(t, "body25", "3-D JC", refs["3-D JC"], raw_frames, raw_ac)
        filtered = [r for r in rows if (r["reference"], r["layout"], r["trial"]) == ("3-D JC", "body25", trial.name)]
        for name in ("hip", "knee", "ankle", "shoulder", "elbow"):
            pick = lambda rs: [r["rom_diff"] for r in rs if r["mode"] == "file cycles"  # noqa: E731
                               and r["angle"].endswith(name)]
            if pick(filtered) and pick(unfiltered):
                fact["lowpass"][name] = (float(np.mean(pick(filtered))), float(np.mean(pick(unfiltered))))
        facts.append(fact)
    for name, parts in UNRELIABLE.items():
        for angle, why in parts.items():
            skipped[f"{name} {angle}"] = why
    return rows, facts, skipped


def summary(rows: list[dict]) -> list[dict]:
    """Per reference, trial, angle and layout: means over cycles and sides, both modes side by side."""
    groups: dict[tuple, dict[str, list[dict]]] = {}
    for r in rows:
        key = (r["reference"], r["trial"], r["angle"].split("_", 1)[-1], r["layout"])
        groups.setdefault(key, {}).setdefault(r["mode"], []).append(r)
    out = []
    for (ref, trial, angle, layout), modes in groups.items():
        row = {"reference": ref, "trial": trial, "angle": angle, "layout": layout}
        for mode, g in modes.items():
            m = {k: float(np.mean([r[k] for r in g])) for k in ("r", "rms", "offset", "rms_centred", "rom_diff")}
            row[mode] = {"n": sum(r["n"] for r in g), "min_r": min(r["r"] for r in g), **m}
        out.append(row)
    out.sort(key=lambda s: (s["reference"] != "CGM", TRIAL_ORDER.index(s["trial"]), ANGLES.index(s["angle"]),
                            s["layout"]))
    return out


def _cells(m: dict | None) -> str:
    if m is None:
        return "– | – | – | – | –"
    return f"{m['n']} | {m['r']:.3f} | {m['rms']:.1f} | {m['offset']:+.1f} | {m['rom_diff']:+.1f}"


def report(rows, facts, skipped, out=sys.stdout) -> None:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p("## Cycles\n")
    p("| trial | fps | reference events | reference cycles L / R | angle_curves strides L / R (COCO-17; BODY_25) "
      "| engine heel strike - reference (ms; COCO-17 / BODY_25) |")
    p("|---|---|---|---|---|---|")
    for f in facts:
        e, tm = f["engine"], f["timing_ms"]
        timing = " / ".join(", ".join(f"{x:+.0f}" for x in tm[lay]) or "–" for lay in LAYOUTS)
        p(f"| {f['trial']} | {f['fps']:.0f} | {f['events']} | {f['cycles']['left']} / {f['cycles']['right']} | "
          f"{e['coco17'][0]} / {e['coco17'][1]}; {e['body25'][0]} / {e['body25'][1]} | {timing} |")
    p("\n## Curves against the reference (mean over cycles and sides; degrees)\n")
    p("file cycles: our per-frame angles and the reference cut at the same reference heel strikes; angle_curves: "
      "its curve (own heel strikes, mean over its strides) against the mean reference cycle; at engine strikes: "
      "the same curve against the reference cut at the engine's heel strikes. n = cycles (strides).\n")
    p("| reference | trial | angle | layout | n | r | RMS | offset | ROM diff | angle_curves n | r | RMS | offset "
      "| ROM diff | at engine strikes: r | RMS |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in summary(rows):
        e = s.get("engine cycles")
        p(f"| {s['reference']} | {s['trial']} | {s['angle']} | {s['layout']} | {_cells(s.get('file cycles'))} | "
          f"{_cells(s.get('angle_curves'))} | " + (f"{e['r']:.3f} | {e['rms']:.1f} |" if e else "– | – |"))
    p("\n## Preprocessing's 6 Hz low-pass: ROM difference against 3-D JC, file cycles, BODY_25 (deg)\n")
    p("| trial | angle | filtered (default) | unfiltered |")
    p("|---|---|---|---|")
    for f in facts:
        for name, (a, b) in f["lowpass"].items():
            p(f"| {f['trial']} | {name} | {a:+.1f} | {b:+.1f} |")
    p("\n## Every curve\n")
    p("| reference | trial | layout | cycles | angle | cycle | strides | r | RMS | offset | RMS - offset "
      "| ROM ours | ROM ref |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p(f"| {r['reference']} | {r['trial']} | {r['layout']} | {r['mode']} | {r['angle']} | {r['cycle']} | {r['n']} "
          f"| {r['r']:.3f} | {r['rms']:.1f} | {r['offset']:+.1f} | {r['rms_centred']:.1f} | {r['rom']:.1f} | "
          f"{r['rom_ref']:.1f} |")
    if skipped:
        p("\n## Not used\n")
        for k, v in skipped.items():
            p(f"* {k}: {v}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding kineticstoolkit/*.c3d")
    args = ap.parse_args(argv)
    rows, facts, skipped = run(args.data)
    report(rows, facts, skipped)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
