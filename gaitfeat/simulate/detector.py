"""The 2-D detector model of the simulator: what an OpenPose-like detector reports of the true keypoints."""

from __future__ import annotations

import numpy as np

from gaitfeat.layouts import BODY25
from gaitfeat.preprocessing.swaps import exchange_legs

__all__ = ["NOISE_LEVELS", "observe"]

#: Detector-noise settings. Rates are per joint and second unless stated.
NOISE_LEVELS: dict[str, dict[str, float]] = {
    "none": {
        "pixel_sd": 0.0, "outlier_rate": 0.0, "burst_rate": 0.0, "far_burst_factor": 1.0,
        "swap_rate": 0.0, "empty_frame_rate": 0.0, "conf_near": 0.95, "conf_far": 0.95, "conf_sd": 0.0,
    },
    "default": {
        # pixel_sd in leg lengths; swap_rate per second of video; empty_frame_rate per frame.
        "pixel_sd": 0.007, "outlier_rate": 0.03, "burst_rate": 0.3, "far_burst_factor": 3.0,
        "swap_rate": 0.3, "empty_frame_rate": 0.002, "conf_near": 0.82, "conf_far": 0.45, "conf_sd": 0.15,
    },
    "heavy": {
        "pixel_sd": 0.018, "outlier_rate": 0.12, "burst_rate": 0.4, "far_burst_factor": 3.0,
        "swap_rate": 0.7, "empty_frame_rate": 0.006, "conf_near": 0.72, "conf_far": 0.4, "conf_sd": 0.2,
    },
}


def observe(clean: np.ndarray, nearness: np.ndarray, turning: np.ndarray, fps: float, leg_px: float,
             cfg: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """Turn true keypoints into detector output (NaN = not detected).

    ``nearness`` < 0 marks the far (occluded) side; ``leg_px`` is a number or
    an array broadcasting to ``(T, 1, 1)`` (a leg length that changes with
    the distance to a pinhole camera).
    """
    obs = clean.copy()
    n, V, _ = obs.shape
    if cfg["pixel_sd"] == 0 and cfg["burst_rate"] == 0:
        obs[..., 2] = cfg["conf_near"]
        return obs
    far = nearness < 0
    obs[..., :2] += rng.normal(0.0, cfg["pixel_sd"] * leg_px, size=(n, V, 2))
    conf = np.where(far, cfg["conf_far"], cfg["conf_near"]) + rng.normal(0.0, cfg["conf_sd"], size=(n, V))
    conf = np.where(turning[:, None], conf * 0.75, conf)
    # Single-frame outliers: a joint jumps by a fraction of a leg length.
    outliers = rng.uniform(size=(n, V)) < cfg["outlier_rate"] / fps
    jump = rng.normal(0.0, 0.25 * leg_px, size=(n, V, 2))
    obs[..., :2] += np.where(outliers[..., None], jump, 0.0)
    conf = np.where(outliers, conf * 0.6, conf)
    obs[..., 2] = np.clip(conf, 0.02, 1.0)
    # Bursts of undetected joints (more on the far side).
    rate = cfg["burst_rate"] / fps * np.where(far, cfg["far_burst_factor"], 1.0)
    starts = rng.uniform(size=(n, V)) < rate
    for t, v in zip(*np.nonzero(starts)):
        obs[t : t + int(rng.integers(1, 9)), v] = np.nan
    # Short left/right leg label swaps.
    n_swaps = rng.poisson(cfg["swap_rate"] * n / fps)
    for t in rng.integers(0, n, size=n_swaps):
        exchange_legs(obs, int(t), min(n, int(t) + int(rng.integers(1, 4))), BODY25)
    # Frames in which nobody is detected.
    empty = rng.uniform(size=n) < cfg["empty_frame_rate"]
    obs[empty] = np.nan
    return obs
