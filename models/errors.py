"""Errors of the model layer: :class:`ModelFileError` (a saved estimator that cannot be trusted or read)."""

from __future__ import annotations

from gaitfeat.errors import ReaderError

__all__ = ["ModelFileError"]


class ModelFileError(ReaderError):
    """A saved estimator's files are missing, corrupt, changed since saving, of a newer format, or inconsistent.

    A :class:`gaitfeat.errors.ReaderError` (so also a ``GaitError`` and a
    ``ValueError``); ``path`` is the file at fault and the message says what
    is wrong with it and, where there is one, what to do.
    """
