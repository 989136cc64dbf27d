"""The prediction tasks the harness evaluates (``--suite``).

A :class:`Suite` names the target column of the clip metadata, whether it is
classified or regressed, and (for classification) the classes in their
ordinal order. The GMFCS levels come from :data:`gaitfeat.labels.GMFCS_LEVELS`,
the one place that defines them.
"""

from __future__ import annotations

from dataclasses import dataclass

from gaitfeat.labels import GAIT_CLASS_GROUPS, GAIT_CLASSES, GMFCS_LEVELS

__all__ = ["Suite", "SUITES", "STUDY_MODES", "TARGETS", "PUBLISHED_CORRELATIONS"]


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
    targets : tuple of str
        For a multi-target regression suite (``params``): every target column,
        each scored on its own (:meth:`for_target`); ``target`` is the first.
    class_names : tuple of str
        For a nominal suite (``taxonomy``): the name of each class; the target column holds
        names, the harness works with their positions (``labels`` = ``0..K-1``).
    ordinal : bool
        Whether the classes are ordered (GMFCS levels): only then are weighted kappas and
        "within one" reported.
    groups : dict, optional
        Clinically similar classes (``{group: class names}``): the report says how much of the
        confusion stays inside a group.
    """

    name: str
    task: str
    target: str
    labels: tuple | None = None
    unit: str = ""
    title: str = ""
    targets: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()
    ordinal: bool = True
    groups: dict | None = None

    def for_target(self, target: str) -> Suite:
        """The single-target regression suite of one of :attr:`targets` (its name is the target's)."""
        if target not in self.targets:
            raise ValueError(f"{target!r} is not a target of suite {self.name!r} ({', '.join(self.targets)})")
        unit, title = TARGETS[target]
        return Suite(target, "regression", target, None, unit, title)


#: Regression targets of the ``params`` suite: ``{column: (unit, title)}``. GDI per side where the data label
#: sides, and their mean; walking speed; cadence; knee flexion at maximum extension (the sagittal knee angle at its
#: most extended point of the gait cycle) per side — the quantities Kidziński et al. (2020) predicted from video.
TARGETS: dict[str, tuple[str, str]] = {
    "gdi": ("GDI points", "Gait Deviation Index (mean of the sides)"),
    "gdi_left": ("GDI points", "Gait Deviation Index, left side"),
    "gdi_right": ("GDI points", "Gait Deviation Index, right side"),
    "speed": ("m/s", "Walking speed"),
    "cadence": ("steps/min", "Cadence"),
    "knee_flex_max_extension_left": ("degrees", "Knee flexion at maximum extension, left"),
    "knee_flex_max_extension_right": ("degrees", "Knee flexion at maximum extension, right"),
}

#: Test-set Pearson correlations published by Kidziński et al., "Deep neural networks enable quantitative
#: movement analysis using single-camera videos" (Nat Commun 2020), for their 1-D CNN on OpenPose sequences of
#: the Gillette videos (the figures of their abstract) — context only: clinical data, their own split, not comparable to simulated results.
PUBLISHED_CORRELATIONS: dict[str, float] = {
    "gdi": 0.75, "speed": 0.73, "cadence": 0.79, "knee_flex_max_extension": 0.83,
}

SUITES: dict[str, Suite] = {
    "gmfcs": Suite("gmfcs", "classification", "gmfcs", GMFCS_LEVELS, "GMFCS level", "GMFCS level (I-IV) classification"),
    "gdi": Suite("gdi", "regression", "gdi", None, "GDI points", "Gait Deviation Index regression"),
    "taxonomy": Suite("taxonomy", "classification", "gait_class", tuple(range(len(GAIT_CLASSES))), "gait class",
                      "Gait pathology taxonomy (nine gait classes)", class_names=GAIT_CLASSES, ordinal=False,
                      groups=GAIT_CLASS_GROUPS),
    "params": Suite("params", "regression", "gdi", None, "", "Gait parameters and GDI regressed from pose sequences",
                    tuple(TARGETS)),
}

#: What the feature-importance study does in a run: ``"off"`` (models only), ``"on"`` (models and the study on
#: the same folds; features.html) or ``"only"`` (the study alone; ``--suite features`` is this for GMFCS).
STUDY_MODES = ("off", "on", "only")
