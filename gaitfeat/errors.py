"""Exceptions raised by gaitfeat.

Every exception is a :class:`ValueError` subclass, so callers that only care
about "bad input" can catch ``ValueError``; callers that want to react to a
particular problem catch the specific class. Messages name the file, frame,
joint or label at fault.
"""

from __future__ import annotations

__all__ = [
    "GaitError",
    "LayoutError",
    "PoseDataError",
    "ReaderError",
    "LabelError",
    "SequenceTooShortError",
    "ViewError",
]


class GaitError(ValueError):
    """Base class for every error about the data given to gaitfeat."""


class LayoutError(GaitError):
    """Unknown skeleton layout, wrong joint count, or an impossible conversion."""


class PoseDataError(GaitError):
    """Keypoint arrays with the wrong shape, non-finite values or bad sampling rate."""


class ReaderError(GaitError):
    """A file or folder that cannot be read: missing, empty, corrupt or malformed.

    Attributes
    ----------
    path : str or None
        The file or folder at fault.
    """

    def __init__(self, message: str, path: object = None):
        super().__init__(message)
        self.path = None if path is None else str(path)


class LabelError(GaitError):
    """Labels that cannot be used: unknown GMFCS levels, missing patient IDs, bad sides."""


class SequenceTooShortError(GaitError):
    """A sequence shorter than the analysis window or a gait cycle."""


class ViewError(PoseDataError):
    """2-D keypoints filmed from a view the sagittal features cannot be measured in (front, back, oblique)."""
