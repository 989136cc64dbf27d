"""Gait simulator: labelled cohorts of children walking past a side camera (or seen from the front,
behind, at an angle, or in 3-D by a monocular lifter: :mod:`gaitfeat.simulate.views`).

The default data of the toolkit and the ground truth of the feature engine.
See ``docs/simulator.md`` for what it models (children with cerebral palsy: a latent severity,
gait patterns, correlated parameters; the gait classes of the pathology taxonomy:
:func:`draw_class`, ``simulate_cohort(..., classes="taxonomy")``), the parameter table
and its sources, and what it does not model.
"""

from gaitfeat.simulate.adults import draw_walker
from gaitfeat.simulate.cohort import DEFAULT_PREVALENCE, TRUTH_COLUMNS, Cohort, simulate_cohort, simulate_taxonomy_cohort
from gaitfeat.simulate.gdi import gdi_from_params
from gaitfeat.simulate.pathology import LEVEL_TABLE, ChildParams, draw_child, next_visit
from gaitfeat.simulate.taxonomy import TAXONOMY_PREVALENCE, draw_class, gait_class_of
from gaitfeat.simulate.video import NOISE_LEVELS, SimulatedWalk, simulate_walk
from gaitfeat.simulate.views import CAMERAS, LIFTER_NOISE, STEP_WIDTH

__all__ = [
    "simulate_walk",
    "simulate_cohort",
    "simulate_taxonomy_cohort",
    "draw_class",
    "gait_class_of",
    "TAXONOMY_PREVALENCE",
    "SimulatedWalk",
    "Cohort",
    "ChildParams",
    "draw_child",
    "draw_walker",
    "next_visit",
    "LEVEL_TABLE",
    "NOISE_LEVELS",
    "LIFTER_NOISE",
    "CAMERAS",
    "STEP_WIDTH",
    "DEFAULT_PREVALENCE",
    "TRUTH_COLUMNS",
    "gdi_from_params",
]
