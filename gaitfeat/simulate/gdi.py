"""A simulated Gait Deviation Index, computed the way Schwartz & Rozumalski define the GDI.

Schwartz & Rozumalski (2008), "The Gait Deviation Index: a new comprehensive
index of gait pathology", Gait & Posture 28:351-357, build the GDI from nine
kinematic curves per side at 2 % steps of the gait cycle: project onto the
leading singular vectors of a large gait database, take the Euclidean distance
of a limb's projection from the typically developing (TD) mean, log-transform
it, express it as a z-score relative to TD children, and report
``GDI = 100 - 10 z``. A TD limb scores about 100 (SD 10); every 10 points
below is one TD standard deviation further from typical gait.

The simulator knows only sagittal hip, knee and ankle curves, so here each
limb's feature vector is those three curves at 51 points (0-100 % in 2 %
steps, 153 values), and the basis, TD mean and TD distance statistics come
from a fixed reference population of 400 simulated TD children
(``random_state=20080101``). Everything else follows the published recipe;
the values are comparable in meaning (TD about 100, lower = more deviation)
but not numerically interchangeable with a clinical GDI.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from gaitfeat.simulate.pathology import ChildParams, draw_child, side_angles

__all__ = ["gdi_features", "gdi_from_features", "gdi_from_params"]

_GRID = np.arange(51) / 50.0
_N_REFERENCE = 400
_REFERENCE_SEED = 20080101
_VARIANCE_KEPT = 0.98


def gdi_features(params: ChildParams, side: int) -> np.ndarray:
    """The limb's hip, knee and ankle curves over one mean gait cycle (153 values, deg)."""
    hip, knee, ankle = side_angles(params, side, _GRID)
    return np.concatenate([hip, knee, ankle])


@lru_cache(maxsize=1)
def _reference() -> tuple[np.ndarray, np.ndarray, float, float]:
    rng = np.random.default_rng(_REFERENCE_SEED)
    rows = []
    for _ in range(_N_REFERENCE):
        child = draw_child(0, rng)
        rows.append(gdi_features(child, int(rng.integers(0, 2))))
    F = np.array(rows)
    mean = F.mean(axis=0)
    _, s, vt = np.linalg.svd(F - mean, full_matrices=False)
    explained = np.cumsum(s**2) / np.sum(s**2)
    k = int(np.searchsorted(explained, _VARIANCE_KEPT) + 1)
    basis = vt[:k]
    log_d = np.log(np.linalg.norm((F - mean) @ basis.T, axis=1))
    return mean, basis, float(log_d.mean()), float(log_d.std(ddof=1))


def gdi_from_features(features: np.ndarray) -> float:
    """GDI of one limb from its 153-value feature vector."""
    mean, basis, m, s = _reference()
    d = np.linalg.norm((np.asarray(features) - mean) @ basis.T)
    return float(100.0 - 10.0 * (np.log(max(d, 1e-9)) - m) / s)


def gdi_from_params(params: ChildParams) -> tuple[float, float]:
    """(left, right) GDI of a child's mean gait cycle."""
    return gdi_from_features(gdi_features(params, 0)), gdi_from_features(gdi_features(params, 1))
