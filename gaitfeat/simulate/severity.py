"""The latent severity behind a simulated child's GMFCS level and gait.

Three numbers per child with cerebral palsy, all on one standard-normal scale
(higher = more impaired):

``motor``
    Gross motor function, the quantity GMFCS describes (walking, balance,
    endurance, need for a device). In the reference population of ambulant
    children it is N(0, 1).
rated level
    A clinician's GMFCS level: ``motor`` plus rater noise N(0, :data:`RATER_SD`),
    cut at ordered thresholds. Children near a threshold can be rated either
    side of it, as two clinicians rating the same child sometimes disagree.
``gait``
    How impaired the child's walking pattern is: ``motor`` plus a child's own
    deviation N(0, :data:`GAIT_SD`). GMFCS classifies function, not kinematics;
    two children of the same function can walk quite differently (one with a
    mild hemiplegia but poor balance, one with marked crouch but good
    endurance). Every continuous gait parameter of :mod:`gaitfeat.simulate.cp`
    is a function of ``gait`` (never of ``motor`` or of the level directly);
    the level enters only where the literature gives things per level: the
    walking aid (part of the GMFCS definition), the topography and the gait
    pattern's probabilities.

The thresholds are fixed on the reference population (:data:`REFERENCE_PREVALENCE`),
so a level means the same severity band whatever the cohort's prevalence. A
cohort with given level counts draws each child's ``motor`` from its
distribution conditional on the rated level (:func:`draw_severity` with
``level=``); with the reference prevalence this is the same as drawing
``motor`` first and thresholding. Reasoning and sources: ``docs/simulator.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = ["REFERENCE_PREVALENCE", "RATER_SD", "GAIT_SD", "Severity", "level_thresholds", "level_centres",
           "draw_severity"]

#: Shares of GMFCS I-IV in the reference population of ambulant children seen in a gait
#: laboratory: the Gillette cohort of Yang, Chen & He (35/38/25/2 %).
REFERENCE_PREVALENCE = (0.35, 0.38, 0.25, 0.02)

#: SD of rater noise on the motor scale. Two independent simulated raters then agree
#: with Cohen's kappa 0.75, the inter-rater agreement Palisano et al. (1997) report for
#: GMFCS at ages 2-12 (tested).
RATER_SD = 0.2

#: SD of a child's gait impairment around its motor function (see the module docstring;
#: calibrated with the per-level GDI spread of Malt et al. 2016, docs/simulator.md).
GAIT_SD = 0.5


@dataclass(frozen=True)
class Severity:
    """One child's latent severity (standard-normal scale, higher = more impaired) and rated level."""

    motor: float
    gait: float
    level: int


def _rated_sd() -> float:
    return float(np.sqrt(1.0 + RATER_SD**2))


@lru_cache(maxsize=1)
def level_thresholds() -> np.ndarray:
    """The three thresholds (I|II, II|III, III|IV) on the rated score ``motor + rater noise``."""
    return _rated_sd() * ndtri(np.cumsum(REFERENCE_PREVALENCE)[:-1])


@lru_cache(maxsize=1)
def level_centres() -> np.ndarray:
    """Mean ``gait`` (= mean ``motor``) of the children rated I, II, III and IV in the reference population."""
    s = _rated_sd()
    edges = np.concatenate(([-np.inf], level_thresholds(), [np.inf])) / s
    pdf = np.exp(-0.5 * np.where(np.isfinite(edges), edges, 0.0) ** 2) / np.sqrt(2 * np.pi)
    pdf = np.where(np.isfinite(edges), pdf, 0.0)
    # Mean of a standard normal truncated to [a, b] is (pdf(a) - pdf(b)) / (cdf(b) - cdf(a)); E[motor | rated] = rated / s^2.
    mean_u = (pdf[:-1] - pdf[1:]) / (ndtr(edges[1:]) - ndtr(edges[:-1])) * s
    return mean_u / s**2


def draw_severity(rng: np.random.Generator, level: int | None = None) -> Severity:
    """Draw one child's latent severity.

    Parameters
    ----------
    rng : numpy.random.Generator
    level : int, optional
        GMFCS level 1-4 the child was rated at. Given, ``motor`` comes from its
        distribution conditional on that rating (the rated score is drawn
        within the level's band, then ``motor`` given the rated score);
        omitted, ``motor`` is drawn from the reference population and the
        level follows from it.

    Returns
    -------
    Severity
    """
    t = level_thresholds()
    s = _rated_sd()
    if level is None:
        motor = float(rng.normal())
        rated = motor + float(rng.normal(0.0, RATER_SD))
        level = int(np.searchsorted(t, rated)) + 1
    else:
        if level not in (1, 2, 3, 4):
            raise ValueError(f"level must be a GMFCS level 1-4, got {level!r}")
        lo = ndtr(t[level - 2] / s) if level > 1 else 0.0
        hi = ndtr(t[level - 1] / s) if level < 4 else 1.0
        rated = s * float(ndtri(np.clip(rng.uniform(lo, hi), 1e-12, 1 - 1e-12)))
        # motor | rated ~ N(rated / s^2, RATER_SD^2 / s^2): the regression of a normal on its noisy copy.
        motor = rated / s**2 + float(rng.normal(0.0, RATER_SD / s))
    gait = motor + float(rng.normal(0.0, GAIT_SD))
    return Severity(motor=motor, gait=gait, level=int(level))
