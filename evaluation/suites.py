"""The prediction tasks the harness evaluates (``--suite``).

A :class:`Suite` names the target column of the clip metadata, whether it is
classified or regressed, and (for classification) the classes in their
ordinal order. The GMFCS levels come from :data:`gaitfeat.labels.GMFCS_LEVELS`,
the one place that defines them.
"""

from __future__ import annotations

from dataclasses import dataclass

from gaitfeat.labels import GMFCS_LEVELS

__all__ = ["Suite", "SUITES", "STUDY_MODES"]


@dataclass(frozen=True)
class Suite:
    """A prediction task on the harness.

    Attributes
    ----------
    name : str
        Short name (``--suite``); also the name of the report folder.
    task : {"classification", "regression"}
    target : str
        Column of the clip metadata that holds the label.
    labels : tuple of int, optional
        Classes in ordinal order (classification only).
    unit : str
        What the target is measured in (axis labels, notes).
    title : str
        Heading of the report pages.
    """

    name: str
    task: str
    target: str
    labels: tuple | None = None
    unit: str = ""
    title: str = ""


SUITES: dict[str, Suite] = {
    "gmfcs": Suite("gmfcs", "classification", "gmfcs", GMFCS_LEVELS, "GMFCS level", "GMFCS level (I-IV) classification"),
    "gdi": Suite("gdi", "regression", "gdi", None, "GDI points", "Gait Deviation Index regression"),
}

#: What the feature-importance study does in a run: ``"off"`` (models only), ``"on"`` (models and the study on
#: the same folds; features.html) or ``"only"`` (the study alone; ``--suite features`` is this for GMFCS).
STUDY_MODES = ("off", "on", "only")
