"""Smooth periodic curves through landmark values: the normative gait curves of the simulator."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["periodic_curve"]

_HARMONICS = 6


def _basis(q: np.ndarray) -> np.ndarray:
    cols = [np.ones_like(q)]
    for k in range(1, _HARMONICS + 1):
        cols += [np.cos(2 * np.pi * k * q), np.sin(2 * np.pi * k * q)]
    return np.stack(cols, axis=-1)


@lru_cache(maxsize=None)
def _coefficients(landmarks: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Least-squares Fourier series (6 harmonics) through (phase, value) landmarks.

    The landmarks are first interpolated periodically (linear) on 100 points so
    that the fit follows the curve between landmarks, not only at them.
    """
    phase, value = np.array(landmarks).T
    grid = np.arange(100) / 100.0
    dense = np.interp(grid, phase, value, period=1.0)
    coef, *_ = np.linalg.lstsq(_basis(grid), dense, rcond=None)
    return coef


def periodic_curve(landmarks: tuple[tuple[float, float], ...], q: np.ndarray) -> np.ndarray:
    """The smooth periodic curve through ``landmarks`` ((phase 0-1, value) pairs) at phases ``q`` (wrapped to 0-1)."""
    q = np.asarray(q, dtype=np.float64) % 1.0
    return _basis(q) @ _coefficients(tuple(map(tuple, landmarks)))
