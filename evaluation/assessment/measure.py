"""What one walk measures: data quality, the clips the bundle's models read, features, angle curves, animation.

The walk goes through exactly the preprocessing and windowing the bundle's training clips went through
(:func:`gaitfeat.preprocess` with its defaults, conversion to the bundle's layout, :func:`gaitfeat.make_clips`
with the bundle's window, stride and quality filter), and its features come from the same feature engine
call, so a training walk assessed here gives its training clips and features back exactly.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.rating_kit.page import view_box, walk_frames
from evaluation.rating_kit.source import bone_sides
from gaitfeat.errors import GaitError, LayoutError, SequenceTooShortError
from gaitfeat.features import extract_features
from gaitfeat.features.angle_curves import angle_curves
from gaitfeat.layouts import get_layout
from gaitfeat.preprocessing import make_clips, preprocess

__all__ = ["Measured", "measure_walk", "NotAssessed", "ANIMATION_FRAMES"]

#: Most frames the report's animation holds (longer walks are subsampled evenly): about 15 s at 30 fps.
ANIMATION_FRAMES = 450
#: A walk whose frame rate is more than this share outside the training videos' range gets a warning.
FPS_TOLERANCE = 0.2
#: Angles drawn against the typical band, in this order (the ankle only with feet keypoints).
CURVE_ANGLES = ("hip", "knee", "trunk", "ankle")


class NotAssessed(Exception):
    """A walk the models cannot be applied to; the message says why, in words a clinician can act on.

    ``quality`` holds what was measured of the walk before it was refused.
    """

    def __init__(self, message: str, quality: dict | None = None):
        super().__init__(message)
        self.quality = quality


@dataclass
class Measured:
    """The measurements of one walk (see :func:`measure_walk`)."""

    quality: dict
    clips: np.ndarray | None = None
    features: pd.DataFrame | None = None
    values: pd.Series | None = None
    curves: dict | None = None
    animation: dict | None = None
    warnings: list = field(default_factory=list)


def _quality(seq, conf: float) -> dict:
    kp = np.asarray(seq.keypoints, dtype=float)
    detected = np.isfinite(kp[..., :2]).all(axis=-1) & (kp[..., 2] >= conf)
    return {"frames": int(seq.n_frames), "fps": float(seq.fps), "duration_s": float(seq.n_frames / seq.fps),
            "layout_in": seq.layout, "layout_used": None,
            "missing_keypoints_fraction": float(1.0 - detected.mean()) if detected.size else 1.0,
            "preprocessing": {}, "clips_total": 0, "clips_kept": 0, "clips_dropped": {}, "clips_summary": "",
            "spatial_method": None, "usable_fraction": None}


#: The preprocessing counts the report shows: ``(step, key) -> label`` (from each step's ``info`` entry).
PREPROCESSING_COUNTS = {
    ("threshold_confidence", "removed"): "keypoints below the confidence threshold",
    ("reject_outliers", "impossible"): "impossible positions removed",
    ("reject_outliers", "spikes"): "one-frame jumps removed",
    ("fix_leg_swaps", "swaps_repaired"): "left/right leg swaps repaired",
    ("fill_gaps", "filled_values"): "missing values filled (short gaps)",
    ("fill_gaps", "unfilled_gaps"): "gaps too long to fill",
    ("orient", "turning_frames"): "frames while turning",
    ("orient", "direction_changes"): "changes of walking direction",
}


def _preprocessing_counts(info: dict) -> dict:
    """What the preprocessing did to the walk, as labelled counts (:data:`PREPROCESSING_COUNTS`)."""
    out = {}
    for (step, key), label in PREPROCESSING_COUNTS.items():
        value = info.get(step, {}).get(key) if isinstance(info.get(step), dict) else None
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            out[label] = int(value)
    return out


def _curves(walk: np.ndarray, fps: float, layout: str, typical: pd.DataFrame) -> dict | None:
    """Mean angle curves over the walk's strides (``walk``: the whole preprocessed walk as one ``(1, T, V, 3)``
    clip, so each stride counts once; the overlapping model clips would count it several times)."""
    ac = angle_curves(walk, fps, layout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # a channel no clip could measure stays NaN
        mean = np.nanmean(ac.curves.astype(float), axis=0)
    channels = {}
    for j, name in enumerate(ac.channels):
        if name.split("_", 1)[-1] in CURVE_ANGLES:
            channels[name] = [None if not np.isfinite(v) else round(float(v), 2) for v in mean[j]]
    bands = {}
    for angle in CURVE_ANGLES:
        rows = typical[typical["angle"] == angle].sort_values("percent")
        if len(rows) == ac.points and any(c.split("_", 1)[-1] == angle for c in channels):
            bands[angle] = {k: [round(float(v), 2) for v in rows[k]] for k in ("low", "median", "high")}
    source = str(typical["source"].iloc[0]) if "source" in typical.columns and len(typical) else ""
    return {"points": ac.points, "n_strides": [int(v) for v in ac.n_strides.sum(axis=0)], "channels": channels,
            "typical": bands, "typical_source": source}


def _animation(seq, fps: float) -> dict:
    kp = np.asarray(seq.keypoints[..., :2], dtype=float)
    step = max(1, int(np.ceil(len(kp) / ANIMATION_FRAMES)))
    skeleton = kp[::step]
    lay = get_layout(seq.layout)
    edges = tuple((int(a), int(b)) for a, b in lay.edges)
    sides = ["centre" if s == "mid" else s for s in bone_sides(lay.name, edges)]
    return {"fps": float(fps), "step": step, "frames": walk_frames(skeleton), "edges": [list(e) for e in edges],
            "sides": sides, "view_box": list(view_box(skeleton))}


def measure_walk(seq, manifest: dict, typical_curves: pd.DataFrame, *, height_m: float | None = None) -> Measured:
    """Preprocess, window and measure one raw walk as the bundle's training clips were.

    Parameters
    ----------
    seq : PoseSequence
        Raw detector output (pixels).
    manifest : dict
        The bundle's manifest (layout and preprocessing).
    typical_curves : DataFrame
        The bundle's typical gait-cycle bands.
    height_m : float, optional
        Standing height (m): adds the features in metres.

    Returns
    -------
    Measured
        With ``quality`` always; the rest only when the walk gave clips.

    Raises
    ------
    NotAssessed
        With a message for the report: a layout the models cannot use, a walk the preprocessing refuses (e.g.
        not filmed from the side), or a walk too short or too poorly detected for one clip.
    """
    pre = manifest["preprocessing"]
    quality = _quality(seq, pre["conf"])
    layout = manifest["layout"]
    try:
        converted = seq.to_layout(layout) if seq.layout != layout else seq
    except (GaitError, ValueError) as exc:
        raise NotAssessed(f"This walk's keypoints are in the {seq.layout.upper()} layout, which cannot be converted "
                          f"to the {layout.upper()} layout the bundle's models were trained on ({exc}). Run the "
                          f"pose detector with {layout.upper()} output, or use a bundle trained on "
                          f"{seq.layout.upper()}.", quality) from None
    quality["layout_used"] = layout
    lo, hi = pre["fps_range"]
    notes = []
    if not lo * (1 - FPS_TOLERANCE) <= seq.fps <= hi * (1 + FPS_TOLERANCE):
        notes.append(f"The video's frame rate ({seq.fps:g} fps) is outside the training videos' "
                     f"{lo:g}-{hi:g} fps: features are in seconds and per-second units, but the skeleton networks "
                     "saw other frame rates.")
    try:
        processed = preprocess(converted)
    except (GaitError, ValueError) as exc:
        raise NotAssessed(f"This walk could not be preprocessed: {exc}", quality) from None
    quality["preprocessing"] = _preprocessing_counts(processed.info)
    seconds = pre["window"] / seq.fps
    advice = (f"Record at least {max(math.ceil(seconds), 1)} s of steady walking, side-on to the camera, with the "
              "whole body in view.")
    try:
        clips, meta, report = make_clips([processed], window=pre["window"], stride=pre["stride"],
                                         min_valid=pre["min_valid"], conf=pre["conf"], on_short="skip")
    except SequenceTooShortError:
        raise NotAssessed(f"This walk is too short to assess: it has {seq.n_frames} frames "
                          f"({seq.n_frames / seq.fps:.1f} s), fewer than one {pre['window']}-frame clip "
                          f"({seconds:.1f} s at {seq.fps:g} fps), the length the models read. {advice}",
                          quality) from None
    quality.update({"clips_total": int(report.windows_total), "clips_kept": int(report.windows_kept),
                    "clips_dropped": {k: int(v) for k, v in report.dropped.items() if v},
                    "clips_summary": report.summary()})
    if len(clips) == 0:
        raise NotAssessed(f"This walk is too poorly detected to assess: none of its {report.windows_total} "
                          f"{pre['window']}-frame windows had at least {pre['min_valid']:.0%} of the keypoints "
                          f"detected with confidence >= {pre['conf']:g}. {advice}", quality)
    fps = float(seq.fps)
    features = extract_features(clips, meta["fps"].to_numpy(float), layout, height_m=height_m)
    numeric = features.select_dtypes(include=[np.number])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = numeric.median(axis=0, skipna=True)
    if "spatial_method" in features.columns:
        quality["spatial_method"] = str(features["spatial_method"].mode().iloc[0])
    if "usable_fraction" in features.columns:
        quality["usable_fraction"] = float(features["usable_fraction"].median())
    try:
        curves = _curves(np.asarray(processed.keypoints, dtype=np.float32)[None], fps, layout, typical_curves)
    except (GaitError, LayoutError, ValueError) as exc:     # the curves are context; their absence is said
        curves, notes = None, [*notes, f"No gait-cycle curves: {exc}"]
    return Measured(quality, clips, features, values, curves, _animation(processed, fps), notes)
