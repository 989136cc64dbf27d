"""Stride length, step length, speed and cadence of real motion-capture walks, measured by gaitfeat.

Usage: python benchmarks/mocap_walking.py [--data /tmp/gaitdata] [--to-npz]

The marker data of three open c3d walking trials (see ``TRIALS``) are turned
into joint centres in the lab frame, projected onto a virtual orthographic
side camera (horizontal = walking direction, vertical = lab vertical,
500 px per metre, image y down) and written as COCO-17 and BODY_25
:class:`gaitfeat.PoseSequence` objects, once for a static camera and once
for a camera that pans with the walker (0.8 x the pelvis progression,
smoothed over 1 s, subtracted from every x; this makes the pelvis path
useless and forces the engine's foot-contact fallback). Each is run through
:func:`gaitfeat.preprocess` and :func:`gaitfeat.walk_features` with the
file's 3-D leg length, and compared with a reference computed from the
markers alone: heel-marker positions at consecutive heel strikes.

Joint centres (lab frame, metres):

* hips: Davis et al. (1991) regression in the CGM pelvis frame, with the
  file's own CGM anthropometry, for walk.c3d (the same regression the CGM
  used; checked against its pelvis origin PELO = mid hip joint centres);
  Harrington et al. (2007) regression (pelvis width and depth from ASIS and
  PSIS/sacrum markers) for BTS and Qualisys;
* knees: the model's knee joint centre (walk.c3d: LKJC/RKJC), the midpoint
  of the femoral epicondyles (Qualisys FLE/FME), or the lateral knee marker
  (BTS "knee 1");
* ankles: the model's AJC (walk.c3d), the midpoint of the malleoli
  (Qualisys FAL/TAM); BTS has no malleolus marker, so its ankle is put on
  the line from the lateral knee marker through the lower shank-wand marker
  ("bar 2") at a shank length estimated from the foot-flat knee height
  (ankle height 0.039 / knee height 0.285 of stature, Winter 2009): an
  estimate, good to about a centimetre;
* heels: HEE / "heel" / FCC (calcaneus);
* OpenPose's big toe: walk.c3d TOE (2nd metatarsal head, PiG), Qualisys FM1
  (1st metatarsal head), BTS "met" (5th metatarsal head, Davis). All lie on
  the metatarsal heads, 4-6 cm behind and 1-3 cm above the hallux tip that
  OpenPose marks, so the virtual big toe is shorter than a detector's (the
  rigid foot is about a quarter shorter) and leaves the floor with the heel
  rise rather than at toe-off; small toe: FM5 (Qualisys) where present;
* shoulders: acromion markers (Qualisys SAJ, BTS "should"); walk.c3d has none.

Reference (markers only, no joint centre, no gaitfeat code): heel strikes are
the file's events where it has them (walk.c3d, Vicon "Foot Strike"/"Foot Off"),
else detected from marker speeds (Ghoussayni et al. 2004): a heel strike
is the sub-frame time at which the heel marker's sagittal-plane speed falls
through 0.5 m/s after a swing, a toe-off when the toe marker's speed rises
through 0.5 m/s after a stance. On walk.c3d this detector is within a frame or two of
the Vicon events (printed). Stride length = forward (walking-direction)
distance between one heel's positions at its consecutive strikes; step
length = forward distance between the striking heel and the other heel at
its previous strike; speed = total stride length / total stride time;
cadence = 120 / mean stride time (steps/min).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PX_PER_M = 500.0
PAN_FRACTION = 0.8
PAN_SMOOTH_S = 1.0
EVENT_SPEED = 0.5  # m/s: heel (toe) marker sagittal speed at foot strike (toe-off), Ghoussayni et al. 2004
SWING_MM = 60.0  # a foot point this high above its floor level is in swing
DEFAULT_DATA = Path("/tmp/gaitdata")
LAYOUTS = ("coco17", "body25")
CAMERAS = ("static", "panning")

#: Trials used: name -> (path under the data folder, loader name, licence, where it comes from).
TRIALS = {
    "walk": ("kineticstoolkit/walk.c3d", "load_walk", "Apache-2.0 (kineticstoolkit data; recorded with pyCGM2)",
             "github kineticstoolkit/kineticstoolkit data/walk.c3d.zip"),
    "BTS": ("kineticstoolkit/BTS.c3d", "load_bts", "GPL-3.0 (pyomeca/ezc3d-testFiles)",
            "github kineticstoolkit/kineticstoolkit data/BTS.c3d (from pyomeca/ezc3d-testFiles BTS.c3d)"),
    "Qualisys": ("kineticstoolkit/Qualisys.c3d", "load_qualisys", "GPL-3.0 (pyomeca/ezc3d-testFiles)",
                 "github kineticstoolkit/kineticstoolkit data/Qualisys.c3d (from pyomeca/ezc3d-testFiles)"),
}


class MissingReader(RuntimeError):
    """Neither ezc3d nor a converted ``.npz`` next to the c3d file is available."""


# --- reading --------------------------------------------------------------------------------------


@dataclass
class C3D:
    points: dict[str, np.ndarray]  # label -> (T, 3) in mm, NaN where missing
    rate: float
    first_frame: int  # 1-based c3d frame number of row 0
    events: list[tuple[str, str, float]]  # (context, label, time s)
    processing: dict[str, float]


def _from_ezc3d(path: Path) -> dict:
    import ezc3d  # noqa: PLC0415 (optional dependency)

    c = ezc3d.c3d(str(path))
    p = c["parameters"]
    out = {
        "points": np.asarray(c["data"]["points"][:3], float),
        "labels": np.asarray(p["POINT"]["LABELS"]["value"]),
        "rate": float(p["POINT"]["RATE"]["value"][0]),
        "first_frame": int(c["header"]["points"]["first_frame"]) + 1,
        "ev_contexts": np.asarray([], dtype=str), "ev_labels": np.asarray([], dtype=str), "ev_times": np.zeros(0),
        "proc_names": np.asarray([], dtype=str), "proc_values": np.zeros(0),
    }
    if "EVENT" in p and all(k in p["EVENT"] for k in ("TIMES", "CONTEXTS", "LABELS", "USED")):
        n = int(np.asarray(p["EVENT"]["USED"]["value"]).ravel()[0])
        out["ev_contexts"] = np.asarray(p["EVENT"]["CONTEXTS"]["value"][:n])
        out["ev_labels"] = np.asarray(p["EVENT"]["LABELS"]["value"][:n])
        times = np.asarray(p["EVENT"]["TIMES"]["value"], float).reshape(2, -1)
        out["ev_times"] = times[0, :n] * 60.0 + times[1, :n]
    if "PROCESSING" in p:
        names, values = [], []
        for k, v in p["PROCESSING"].items():
            val = v.get("value") if isinstance(v, dict) else None
            if val is not None and np.size(val) == 1 and np.issubdtype(np.asarray(val).dtype, np.number):
                names.append(k)
                values.append(float(np.asarray(val).ravel()[0]))
        out["proc_names"], out["proc_values"] = np.asarray(names), np.asarray(values)
    return out


def read_c3d(path: Path) -> C3D:
    """Markers and events of a c3d file: with ezc3d, else from ``<path>.npz`` written by ``--to-npz``."""
    path = Path(path)
    try:
        raw = _from_ezc3d(path)
    except ImportError:
        npz = path.with_suffix(path.suffix + ".npz")
        if not npz.exists():
            raise MissingReader(f"ezc3d is not installed and {npz} does not exist (run --to-npz with ezc3d)") from None
        raw = dict(np.load(npz, allow_pickle=False))
    pts = raw["points"].copy()
    pts[:, np.all(pts == 0, axis=0)] = np.nan  # c3d: (0, 0, 0) with a negative residual = missing
    points = {str(label).strip(): pts[:, i].T for i, label in enumerate(raw["labels"])}
    events = [(str(c), str(la), float(t)) for c, la, t in zip(raw["ev_contexts"], raw["ev_labels"], raw["ev_times"])]
    proc = {str(k): float(v) for k, v in zip(raw["proc_names"], raw["proc_values"])}
    return C3D(points, float(raw["rate"]), int(raw["first_frame"]), events, proc)


def to_npz(data: Path) -> None:
    """Write ``<file>.c3d.npz`` for each trial (run where ezc3d is installed)."""
    for rel, *_ in TRIALS.values():
        path = data / rel
        if path.exists():
            raw = _from_ezc3d(path)
            np.savez(path.with_suffix(path.suffix + ".npz"), **raw)
            print("wrote", path.with_suffix(path.suffix + ".npz"))


# --- trials: joint centres in the lab frame ----------------------------------------------------------


@dataclass
class Trial:
    name: str
    fps: float
    joints: dict[str, np.ndarray]  # gaitfeat joint name -> (T, 3) metres, lab frame
    heel: dict[str, np.ndarray]  # "left"/"right" -> heel marker (T, 3) m
    toe: dict[str, np.ndarray]  # "left"/"right" -> toe marker (T, 3) m
    up: np.ndarray  # unit vector, lab vertical
    events: dict | None = None  # side -> {"strike": [frame, ...], "off": [...]} (file's own), or None
    notes: list[str] = field(default_factory=list)


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _up_axis(points: dict[str, np.ndarray], top: list[str], bottom: list[str]) -> np.ndarray:
    """The lab axis (+-x, y or z) along which the pelvis markers lie highest above the feet."""
    diff = np.nanmean(np.concatenate([points[t] for t in top]), 0) - np.nanmean(
        np.concatenate([points[b] for b in bottom]), 0)
    axis = int(np.argmax(np.abs(diff)))
    up = np.zeros(3)
    up[axis] = np.sign(diff[axis])
    return up


def _pelvis_frame(lasi, rasi, mid_psis, up):
    """Pelvis frame (origin mid-ASIS; x anterior, y left, z up), each (T, 3)."""
    origin = 0.5 * (lasi + rasi)
    y = _unit(lasi - rasi)
    x = _unit(origin - mid_psis)
    z = _unit(np.cross(x, y))
    x = np.cross(y, z)
    return origin, x, y, z


def hjc_harrington(lasi, rasi, mid_psis, up):
    """Hip joint centres (left, right), mm: Harrington et al. 2007, J Biomech 40:595-602.

    In the pelvis frame at mid-ASIS, with pelvis width PW (inter-ASIS) and
    depth PD (mid-ASIS to mid-PSIS): x = -0.24 PD - 9.9, y (up) = -0.30 PW - 10.9,
    lateral = 0.33 PW + 7.3 (mm).
    """
    origin, x, y, z = _pelvis_frame(lasi, rasi, mid_psis, up)
    pw = np.nanmedian(np.linalg.norm(lasi - rasi, axis=1))
    pd = np.nanmedian(np.linalg.norm(0.5 * (lasi + rasi) - mid_psis, axis=1))
    ax, az, lat = -0.24 * pd - 9.9, -0.30 * pw - 10.9, 0.33 * pw + 7.3
    return origin + ax * x + az * z + lat * y, origin + ax * x + az * z - lat * y


def hjc_davis(lasi, rasi, mid_psis, up, leg_mm, asis_troc_mm, inter_asis_mm, marker_mm=7.0):
    """Hip joint centres (left, right), mm: Davis et al. 1991 (Hum Mov Sci 10:575-587), as in the CGM/PiG.

    C = 0.115 leg length - 15.3, theta = 0.5 rad, beta = 0.314 rad; in the pelvis
    frame at mid-ASIS: x = C cos(theta) sin(beta) - (d + r) cos(beta),
    lateral = inter-ASIS/2 - C sin(theta), z = -C cos(theta) cos(beta) - (d + r) sin(beta),
    d = ASIS-trochanter distance, r = marker radius.
    """
    origin, x, y, z = _pelvis_frame(lasi, rasi, mid_psis, up)
    out = []
    for s, (leg, d) in enumerate(zip(leg_mm, asis_troc_mm)):
        c = 0.115 * leg - 15.3
        th, be = 0.5, 0.314
        ax = c * math.cos(th) * math.sin(be) - (d + marker_mm) * math.cos(be)
        az = -c * math.cos(th) * math.cos(be) - (d + marker_mm) * math.sin(be)
        lat = inter_asis_mm / 2.0 - c * math.sin(th)
        out.append(origin + ax * x + az * z + (lat if s == 0 else -lat) * y)
    return out[0], out[1]


def load_walk(path: Path) -> Trial:
    c = read_c3d(path)
    P, pr = c.points, c.processing
    up = _up_axis(P, ["LASI", "RASI"], ["LHEE", "RHEE"])
    mid_psis = 0.5 * (P["LPSI"] + P["RPSI"])
    lhjc, rhjc = hjc_davis(P["LASI"], P["RASI"], mid_psis, up, (pr["LLegLength"], pr["RLegLength"]),
                           (pr["LAsisTrocanterDistance"], pr["RAsisTrocanterDistance"]), pr["InterAsisDistance"])
    check = np.nanmedian(np.linalg.norm(0.5 * (lhjc + rhjc) - P["PELO"], axis=1))
    joints = {"left_hip": lhjc, "right_hip": rhjc, "left_knee": P["LKJC"], "right_knee": P["RKJC"],
              "left_ankle": P["LAJC"], "right_ankle": P["RAJC"], "left_heel": P["LHEE"], "right_heel": P["RHEE"],
              "left_big_toe": P["LTOE"], "right_big_toe": P["RTOE"]}
    events = {"left": {"strike": [], "off": []}, "right": {"strike": [], "off": []}}
    for ctx, label, t in c.events:
        kind = "strike" if "Strike" in label else "off" if "Off" in label else None
        if kind and ctx.lower() in events:
            events[ctx.lower()][kind].append(t * c.rate - (c.first_frame - 1))
    for side in events.values():
        for k in side:
            side[k].sort()
    notes = [f"hips: Davis 1991 with the file's CGM anthropometry; |mid-HJC - PELO| median {check:.1f} mm",
             "big toe = TOE (2nd metatarsal head); events = file's Vicon events",
             f"stature {pr.get('Height', float('nan')):.0f} mm"]
    return _trial("walk", c.rate, joints, P["LHEE"], P["RHEE"], P["LTOE"], P["RTOE"], up, events, notes)


def load_qualisys(path: Path) -> Trial:
    c = read_c3d(path)
    P = c.points
    up = _up_axis(P, ["L_IAS", "R_IAS"], ["L_FCC", "R_FCC"])
    lhjc, rhjc = hjc_harrington(P["L_IAS"], P["R_IAS"], 0.5 * (P["L_IPS"] + P["R_IPS"]), up)
    joints = {"left_hip": lhjc, "right_hip": rhjc,
              "left_knee": 0.5 * (P["L_FLE"] + P["L_FME"]), "right_knee": 0.5 * (P["R_FLE"] + P["R_FME"]),
              "left_ankle": 0.5 * (P["L_FAL"] + P["L_TAM"]), "right_ankle": 0.5 * (P["R_FAL"] + P["R_TAM"]),
              "left_heel": P["L_FCC"], "right_heel": P["R_FCC"], "left_big_toe": P["L_FM1"],
              "right_big_toe": P["R_FM1"], "left_small_toe": P["L_FM5"], "right_small_toe": P["R_FM5"],
              "left_shoulder": P["L_SAJ"], "right_shoulder": P["R_SAJ"]}
    notes = ["hips: Harrington 2007 (IAS/IPS); knee = mid FLE/FME; ankle = mid FAL/TAM",
             "big toe = FM1 (1st metatarsal head), small toe = FM5; events detected from FCC/FM1 marker speeds"]
    return _trial("Qualisys", c.rate, joints, P["L_FCC"], P["R_FCC"], P["L_FM1"], P["R_FM1"], up, None, notes)


def load_bts(path: Path) -> Trial:
    c = read_c3d(path)
    P = c.points
    up = _up_axis(P, ["l asis", "r asis"], ["l heel", "r heel"])
    lhjc, rhjc = hjc_harrington(P["l asis"], P["r asis"], P["sacrum"], up)
    joints = {"left_hip": lhjc, "right_hip": rhjc, "left_knee": P["l knee 1"], "right_knee": P["r knee 1"],
              "left_heel": P["l heel"], "right_heel": P["r heel"], "left_big_toe": P["l met"],
              "right_big_toe": P["r met"], "left_shoulder": P["l should"], "right_shoulder": P["r should"]}
    shank = []
    for s, name in (("l", "left"), ("r", "right")):
        knee, wand = P[f"{s} knee 1"], P[f"{s} bar 2"]
        axis = _unit(wand - knee)
        heel, met = P[f"{s} heel"] @ up, P[f"{s} met"] @ up
        flat = (heel < np.nanpercentile(heel, 5) + 10) & (met < np.nanpercentile(met, 5) + 10)
        floor = np.nanpercentile(met, 5) - 20.0  # metatarsal-head marker ~20 mm above the floor
        knee_h = (knee @ up - floor)[flat]
        cos = np.abs(axis @ up)[flat]
        length = float(np.nanmedian(knee_h * (1 - 0.039 / 0.285) / cos))
        shank.append(length)
        joints[f"{name}_ankle"] = knee + length * axis
    notes = ["hips: Harrington 2007 (ASIS + sacrum as mid-PSIS); knee = lateral knee marker",
             f"ankle: on knee->shank-wand line at {shank[0]:.0f}/{shank[1]:.0f} mm (L/R, estimated, no malleolus)",
             "big toe = met (5th metatarsal head); events detected from heel/met marker speeds",
             "markers are visible only over part of the 5 m walkway: frames without both hips are cut"]
    return _trial("BTS", c.rate, joints, P["l heel"], P["r heel"], P["l met"], P["r met"], up, None, notes)


def _trial(name, fps, joints_mm, lheel, rheel, ltoe, rtoe, up, events, notes) -> Trial:
    joints = {k: v / 1000.0 for k, v in joints_mm.items()}
    hips = joints["left_hip"] + joints["right_hip"]
    keep = np.flatnonzero(np.isfinite(hips).all(1))
    lo, hi = keep[0], keep[-1] + 1  # the span with both hips (pelvis markers)
    cut = {k: v[lo:hi] for k, v in joints.items()}
    if events is not None:
        events = {s: {k: [f - lo for f in v if lo <= f < hi] for k, v in d.items()} for s, d in events.items()}
    t = Trial(name, fps, cut, {"left": lheel[lo:hi] / 1000, "right": rheel[lo:hi] / 1000},
              {"left": ltoe[lo:hi] / 1000, "right": rtoe[lo:hi] / 1000}, up, events, notes)
    if lo or hi < len(hips):
        t.notes.append(f"frames {lo}-{hi - 1} of the file used (both hip joint centres known)")
    return t


# --- the walking frame and the virtual camera ------------------------------------------------------


def walking_frame(trial: Trial) -> tuple[np.ndarray, np.ndarray]:
    """(forward, up) unit vectors: principal axis of the pelvis path on the floor, signed along the walk."""
    mid = 0.5 * (trial.joints["left_hip"] + trial.joints["right_hip"])
    flat = mid - np.outer(mid @ trial.up, trial.up)
    ok = np.isfinite(flat).all(1)
    centred = flat[ok] - flat[ok].mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    fwd = vt[0] - (vt[0] @ trial.up) * trial.up
    fwd = fwd / np.linalg.norm(fwd)
    if (flat[ok][-1] - flat[ok][0]) @ fwd < 0:
        fwd = -fwd
    return fwd, trial.up


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving average over ``n`` samples, edges padded with the end values; NaN-tolerant (interpolated)."""
    x = x.copy()
    ok = np.isfinite(x)
    x[~ok] = np.interp(np.flatnonzero(~ok), np.flatnonzero(ok), x[ok])
    n = max(1, n | 1)
    pad = np.pad(x, n // 2, mode="edge")
    return np.convolve(pad, np.ones(n) / n, mode="valid")


def project(trial: Trial, camera: str = "static") -> dict[str, np.ndarray]:
    """Image coordinates (T, 2) px of every joint: orthographic side view, 500 px/m, image y down."""
    fwd, up = walking_frame(trial)
    mid = 0.5 * (trial.joints["left_hip"] + trial.joints["right_hip"])
    u0 = np.nanmin(mid @ fwd)
    pan = np.zeros(len(mid))
    if camera == "panning":
        pan = PAN_FRACTION * (_smooth(mid @ fwd, int(round(PAN_SMOOTH_S * trial.fps))) - u0)
    elif camera != "static":
        raise ValueError(camera)
    out = {}
    for name, p in trial.joints.items():
        x = (p @ fwd - u0 - pan) * PX_PER_M + 200.0
        y = 1000.0 - (p @ up) * PX_PER_M
        out[name] = np.stack([x, y], axis=1)
    return out


def pose_sequence(trial: Trial, layout: str, camera: str = "static"):
    """A :class:`gaitfeat.PoseSequence` of the virtual camera (missing joints NaN, confidence 0)."""
    import gaitfeat

    lay = gaitfeat.get_layout(layout)
    img = project(trial, camera)
    if "left_shoulder" in img:
        img.setdefault("neck", 0.5 * (img["left_shoulder"] + img["right_shoulder"]))
    img["mid_hip"] = 0.5 * (img["left_hip"] + img["right_hip"])
    T = len(img["left_hip"])
    kp = np.full((T, len(lay.joints), 3), np.nan, dtype=np.float32)
    for j, name in enumerate(lay.joints):
        if name in img:
            kp[:, j, :2] = img[name]
            kp[:, j, 2] = np.where(np.isfinite(img[name]).all(1), 1.0, 0.0)
    kp[~np.isfinite(kp[..., 0]), 2] = 0.0
    return gaitfeat.PoseSequence(kp, fps=trial.fps, layout=layout, video_id=f"{trial.name}-{camera}-{layout}")


def leg_length_m(trial: Trial) -> float:
    """Mean over frames and sides of the 3-D hip-knee + knee-ankle joint-centre distances (m)."""
    vals = []
    for s in ("left", "right"):
        j = trial.joints
        vals.append(np.linalg.norm(j[f"{s}_hip"] - j[f"{s}_knee"], axis=1)
                    + np.linalg.norm(j[f"{s}_knee"] - j[f"{s}_ankle"], axis=1))
    return float(np.nanmean(np.concatenate(vals)))


# --- reference from the markers ------------------------------------------------------------------


def _speed(p: np.ndarray, fwd: np.ndarray, up: np.ndarray, fps: float) -> np.ndarray:
    """Sagittal-plane speed (m/s) of a marker path (T, 3)."""
    sag = np.stack([p @ fwd, p @ up], axis=1)
    return np.linalg.norm(np.gradient(sag, axis=0), axis=1) * fps


def _down_crossings(v: np.ndarray, level: float, armed_by: np.ndarray) -> list[float]:
    """Sub-frame times at which ``v`` drops through ``level``, each after a frame where ``armed_by`` was true."""
    out, armed = [], False
    for t in range(1, len(v)):
        a, b = v[t - 1], v[t]
        if not (np.isfinite(a) and np.isfinite(b)):
            continue
        if armed_by[t]:
            armed = True
        if armed and a > level >= b:
            out.append(t - 1 + (a - level) / (a - b))
            armed = False
    return out


def detect_events(trial: Trial) -> dict:
    """Foot strikes and toe-offs from marker speeds (Ghoussayni et al. 2004, Gait Posture 20:266-272).

    Heel strike: the heel marker's sagittal-plane speed falls through
    EVENT_SPEED (0.5 m/s) after a swing (heel more than SWING_MM above its
    floor level, the 5th-percentile height); toe-off: the toe marker's speed
    rises through EVENT_SPEED after a stance (toe slower than that and within
    SWING_MM / 2 of its floor level).
    """
    fwd, up = walking_frame(trial)
    out = {}
    for s in ("left", "right"):
        heel, toe = trial.heel[s], trial.toe[s]
        hh = heel @ up * 1000
        th = toe @ up * 1000
        hv, tv = _speed(heel, fwd, up, trial.fps), _speed(toe, fwd, up, trial.fps)
        strikes = _down_crossings(hv, EVENT_SPEED, hh > np.nanpercentile(hh, 5) + SWING_MM)
        stance = (tv < EVENT_SPEED) & (th < np.nanpercentile(th, 5) + SWING_MM / 2)
        offs = _down_crossings(-tv, -EVENT_SPEED, stance)  # the toe's speed rising through EVENT_SPEED
        out[s] = {"strike": strikes, "off": offs}
    return out


def _at(x: np.ndarray, t: float) -> np.ndarray:
    i = int(math.floor(t))
    if i + 1 >= len(x):
        return x[min(i, len(x) - 1)]
    w = t - i
    return (1 - w) * x[i] + w * x[i + 1]


def reference(trial: Trial, use_file_events: bool = True) -> dict:
    """Stride/step lengths and times from heel markers at heel strikes; pelvis speed; stance-foot travel."""
    fwd, up = walking_frame(trial)
    events = trial.events if (use_file_events and trial.events) else detect_events(trial)
    strides, steps = [], []
    for s in ("left", "right"):
        hs = events[s]["strike"]
        for a, b in zip(hs[:-1], hs[1:]):
            pa, pb = _at(trial.heel[s], a), _at(trial.heel[s], b)
            if np.isfinite(pa).all() and np.isfinite(pb).all():
                strides.append((s, a, b, float((pb - pa) @ fwd)))
    strikes = sorted((t, s) for s in ("left", "right") for t in events[s]["strike"])
    for (ta, sa), (tb, sb) in zip(strikes[:-1], strikes[1:]):
        if sa != sb:
            pa, pb = _at(trial.heel[sa], ta), _at(trial.heel[sb], tb)
            if np.isfinite(pa).all() and np.isfinite(pb).all():
                steps.append((sb, ta, tb, float((pb - pa) @ fwd)))
    length = np.array([x[3] for x in strides])
    time = np.array([(x[2] - x[1]) / trial.fps for x in strides])
    mid = 0.5 * (trial.joints["left_hip"] + trial.joints["right_hip"]) @ fwd
    t = np.arange(len(mid)) / trial.fps
    ok = np.isfinite(mid)
    pelvis_speed = float(np.polyfit(t[ok], mid[ok], 1)[0])
    n = len(strides)
    ref = {
        "n_strides": n, "n_steps": len(steps), "events": events,
        "stride_length": float(np.median(length)) if n else np.nan,
        "step_length": float(np.median([x[3] for x in steps])) if steps else np.nan,
        "stride_time": float(time.mean()) if n else np.nan,
        "cadence": 120.0 / float(time.mean()) if n else np.nan,
        "speed": float(length.sum() / time.sum()) if n else np.nan,
        "pelvis_speed": pelvis_speed, "strides": strides, "steps": steps,
    }
    ref["stance"] = stance_travel(trial, events, fwd)
    # Step width: lateral distance between the two heel markers at each heel strike (the other foot is in stance).
    lateral = np.cross(fwd, up)
    widths = [(s, t, abs(float((_at(trial.heel[s], t) - _at(trial.heel["right" if s == "left" else "left"], t))
                               @ lateral))) for s in ("left", "right") for t in events[s]["strike"]]
    ref["step_widths"] = [w for w in widths if np.isfinite(w[2])]
    ref["step_width"] = float(np.median([w[2] for w in ref["step_widths"]])) if ref["step_widths"] else np.nan
    return ref


def stance_travel(trial: Trial, events: dict, fwd: np.ndarray) -> dict:
    """Forward travel (m) over the ground during each stance, heel strike to toe-off of the same foot.

    ``ankle``: the ankle joint centre; ``heel_lowest`` / ``toe_lowest``: net
    forward motion of the heel (toe) marker over the stance frames in which it
    is the lower of the two foot markers (heights relative to each marker's
    floor level) -- the point a foot-contact model would treat as planted.
    """
    out = []
    for s in ("left", "right"):
        offs = events[s]["off"]
        for hs in events[s]["strike"]:
            later = [o for o in offs if o > hs]
            if not later:
                continue
            to = later[0]
            ank = trial.joints[f"{s}_ankle"]
            a0, a1 = _at(ank, hs), _at(ank, to)
            if not (np.isfinite(a0).all() and np.isfinite(a1).all()):
                continue
            heel, toe = trial.heel[s], trial.toe[s]
            hh = heel @ trial.up
            th = toe @ trial.up
            hh = hh - np.nanpercentile(hh, 5)
            th = th - np.nanpercentile(th, 5)
            frames = np.arange(int(math.ceil(hs)), int(math.floor(to)) + 1)
            moves = {"heel": 0.0, "toe": 0.0}
            for t in frames[1:]:
                for name, h, p in (("heel", hh, heel), ("toe", th, toe)):
                    other = th if name == "heel" else hh
                    if h[t] <= other[t] and h[t - 1] <= other[t - 1]:
                        d = (p[t] - p[t - 1]) @ fwd
                        if np.isfinite(d):
                            moves[name] += d
            out.append({"side": s, "strike": hs, "off": to, "duration_s": (to - hs) / trial.fps,
                        "ankle": float((a1 - a0) @ fwd), "heel_lowest": moves["heel"], "toe_lowest": moves["toe"]})
    return {"stances": out}


# --- measurement ---------------------------------------------------------------------------------


def measure(trial: Trial, layout: str, camera: str, leg_m: float, **options) -> dict:
    """gaitfeat's walk features of the virtual camera's sequence (metres)."""
    import gaitfeat

    seq = gaitfeat.preprocess(pose_sequence(trial, layout, camera))
    row = gaitfeat.walk_features(seq, leg_length_m=leg_m, **options).iloc[0]
    source = "walk_features"
    leg_px = seq.info["scale_by_leg_length"]["leg_length"]
    n = int(row["n_strides_left"] + row["n_strides_right"]) if "n_strides_left" in row else int(row["n_strides"])
    return {
        "stride_length": float(row["stride_length_m"]), "step_length": float(row["step_length_m"]),
        "speed": float(row["walking_speed_m"]), "cadence": float(row["cadence"]),
        "spatial_method": row["spatial_method"], "camera_pan": float(row["camera_pan"]),
        "n_strides": n, "source": source, "nan_reason": row["nan_reason"],
        # metres per leg length the engine used (3-D) over what the image implies (2-D px / 500):
        "scale_bias": leg_m / (leg_px / PX_PER_M) - 1.0,
    }


def sequence_3d(trial: Trial, layout: str, vertical_known: bool):
    """The joint centres as a :class:`gaitfeat.PoseSequence3D` (lab frame, m); the lab's vertical given or not."""
    import gaitfeat

    lay = gaitfeat.get_layout(layout)
    T = len(trial.joints["left_hip"])
    pos = np.full((T, len(lay.joints), 3), np.nan)
    for j, name in enumerate(lay.joints):
        if name in trial.joints:
            pos[:, j] = trial.joints[name]
    seq = gaitfeat.PoseSequence3D(pos, trial.fps, lay.name, vertical=trial.up if vertical_known else None,
                                  video_id=f"{trial.name}-3d-{layout}")
    return seq


def measure_3d(trial: Trial, layout: str, vertical_known: bool) -> dict:
    """``walk_features_3d`` of the joint centres: metres from the 3-D data, no leg length given."""
    import gaitfeat

    seq = sequence_3d(trial, layout, vertical_known)
    row = gaitfeat.walk_features_3d(seq).iloc[0]
    n = int(row["n_strides_left"] + row["n_strides_right"])
    # Step width strike by strike: each of ours against the reference's strike of the same foot within 5 frames.
    matched, truth = [], reference(trial)["step_widths"]
    for w in gaitfeat.features.step_widths(seq).itertuples():
        near = [r for r in truth if r[0] == w.side and abs(r[1] - w.frame) <= 5]
        if near:
            matched.append(w.step_width_m - min(near, key=lambda r: abs(r[1] - w.frame))[2])
    return {
        "stride_length": float(row["stride_length_m"]), "step_length": float(row["step_length_m"]),
        "speed": float(row["walking_speed_m"]), "cadence": float(row["cadence"]),
        "step_width": float(row["step_width_m"]), "step_width_point": row["step_width_point"],
        "step_width_matched": len(matched),
        "step_width_error": float(np.mean(np.abs(matched))) if matched else np.nan,
        "spatial_method": row["spatial_method"],
        "camera_pan": float(row["camera_pan"]), "n_strides": n, "source": "walk_features_3d",
        "nan_reason": row["nan_reason"], "scale_bias": float(row["leg_length_3d_m"]) / leg_length_m(trial) - 1.0,
    }


def load_trials(data: Path) -> tuple[list[Trial], dict[str, str]]:
    """The usable trials under ``data`` and, for the others, why not."""
    trials, skipped = [], {}
    for name, (rel, loader, *_) in TRIALS.items():
        path = data / rel
        if not path.exists():
            skipped[name] = f"{path} not found"
            continue
        trials.append(globals()[loader](path))
    return trials, skipped


def run(data: Path = DEFAULT_DATA, **options) -> tuple[list[dict], list[dict], dict]:
    """Rows (trial x camera x layout: reference vs measured), per-trial references, skipped trials."""
    trials, skipped = load_trials(data)
    rows, refs = [], []
    for trial in trials:
        ref = reference(trial)
        if ref["n_strides"] < 2:
            skipped[trial.name] = f"only {ref['n_strides']} complete reference strides"
            continue
        leg = leg_length_m(trial)
        ref_info = {"trial": trial, "ref": ref, "leg_m": leg}
        if trial.events:
            ref_info["detected"] = reference(trial, use_file_events=False)
        refs.append(ref_info)
        for camera in CAMERAS:
            for layout in LAYOUTS:
                m = measure(trial, layout, camera, leg, **options)
                row = {"trial": trial.name, "camera": camera, "layout": layout, **m}
                for k in ("stride_length", "step_length", "speed", "cadence"):
                    row[f"ref_{k}"] = ref[k]
                    row[f"err_{k}"] = 100.0 * (m[k] / ref[k] - 1.0)
                rows.append(row)
        for vertical_known in (True, False):
            for layout in LAYOUTS:
                m = measure_3d(trial, layout, vertical_known)
                camera = "3-D, lab vertical" if vertical_known else "3-D, vertical estimated"
                row = {"trial": trial.name, "camera": camera, "layout": layout, **m}
                for k in ("stride_length", "step_length", "speed", "cadence", "step_width"):
                    row[f"ref_{k}"] = ref[k]
                    row[f"err_{k}"] = 100.0 * (m[k] / ref[k] - 1.0)
                rows.append(row)
    return rows, refs, skipped


def _other_files(data: Path) -> dict[str, str]:
    """Why the remaining candidate files are not used (checked, not assumed)."""
    out = {}
    trc = sorted((data / "nimblephysics").rglob("walking*.trc"))
    if trc:
        lengths = []
        for f in trc:
            with open(f) as fh:
                head = [fh.readline() for _ in range(3)]
            vals = head[2].split("\t")
            lengths.append(int(vals[2]) / float(vals[0]))
        out["nimblephysics *.trc"] = (f"{len(trc)} walking trials of {min(lengths):.2f}-{max(lengths):.2f} s "
                                      "(about one stride each): too short for two strides")
    if (data / "gaitmap" / "example_data" / "mocap_sample.csv").exists():
        out["gaitmap mocap_sample.csv"] = "foot markers only (no hips/knees): no pose sequence possible"
    return out


def report(rows, refs, skipped, data: Path, out=sys.stdout) -> None:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p("## Reference (markers)\n")
    p("| trial | fps | frames | leg length (m) | strides | steps | stride length (m) | step length (m) "
      "| stride time (s) | cadence (steps/min) | speed (m/s) | pelvis speed (m/s) |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in refs:
        t, ref = r["trial"], r["ref"]
        p(f"| {t.name} | {t.fps:.0f} | {len(t.joints['left_hip'])} | {r['leg_m']:.3f} | {ref['n_strides']} | "
          f"{ref['n_steps']} | {ref['stride_length']:.3f} | {ref['step_length']:.3f} | {ref['stride_time']:.3f} | "
          f"{ref['cadence']:.1f} | {ref['speed']:.3f} | {ref['pelvis_speed']:.3f} |")
    p("")
    for r in refs:
        p(f"* {r['trial'].name}: " + "; ".join(r["trial"].notes))
        if "detected" in r:
            d, f = r["detected"]["events"], r["ref"]["events"]
            diffs = []
            for s in ("left", "right"):
                for k in ("strike", "off"):
                    for a in f[s][k]:
                        near = [b for b in d[s][k] if abs(b - a) < 20]
                        if near:
                            diffs.append(f"{s[0].upper()} {k} {min(near, key=lambda b: abs(b - a)) - a:+.1f}")
            p(f"  heel-marker event detector vs the file's events (frames): {', '.join(diffs)}; "
              f"detected-event stride length {r['detected']['stride_length']:.3f} m")
    p("\n## gaitfeat vs reference\n")
    p("| trial | camera | layout | spatial_method | camera_pan | engine strides (source) | stride length m (err %) "
      "| step length m (err %) | speed m/s (err %) | cadence (err %) | leg-scale bias % |")
    p("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p(f"| {r['trial']} | {r['camera']} | {r['layout']} | {r['spatial_method']} | {r['camera_pan']:.2f} | "
          f"{r['n_strides']} ({r['source']}) | {r['stride_length']:.3f} ({r['err_stride_length']:+.1f}) | "
          f"{r['step_length']:.3f} ({r['err_step_length']:+.1f}) | {r['speed']:.3f} ({r['err_speed']:+.1f}) | "
          f"{r['cadence']:.1f} ({r['err_cadence']:+.1f}) | {100 * r['scale_bias']:+.1f} |")
    p("\n## Step width (3-D input): heel markers at heel strike against walk_features_3d\n")
    p("| trial | input | layout | point | reference median (m) | measured median (m) | strikes matched "
      "| mean abs. error per strike (mm) |")
    p("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "step_width" in r:
            p(f"| {r['trial']} | {r['camera']} | {r['layout']} | {r['step_width_point']} | {r['ref_step_width']:.3f} | "
              f"{r['step_width']:.3f} | {r['step_width_matched']} | {1000 * r['step_width_error']:.1f} |")
    p("\n## Stance: forward travel over the ground, heel strike to toe-off\n")
    p("| trial | side | stance (s) | ankle JC (cm) | ankle JC (leg lengths) | heel marker while lowest (cm) "
      "| toe marker while lowest (cm) |")
    p("|---|---|---|---|---|---|---|")
    for r in refs:
        for st in r["ref"]["stance"]["stances"]:
            p(f"| {r['trial'].name} | {st['side']} | {st['duration_s']:.2f} | {100 * st['ankle']:.1f} | "
              f"{st['ankle'] / r['leg_m']:.3f} | {100 * st['heel_lowest']:.1f} | {100 * st['toe_lowest']:.1f} |")
    p("\n## Not used\n")
    for k, v in {**skipped, **_other_files(data)}.items():
        p(f"* {k}: {v}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--to-npz", action="store_true", help="convert the c3d files to .npz (needs ezc3d) and exit")
    args = ap.parse_args(argv)
    if args.to_npz:
        to_npz(args.data)
        return 0
    rows, refs, skipped = run(args.data)
    report(rows, refs, skipped, args.data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
