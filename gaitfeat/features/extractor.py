"""The feature engine as a scikit-learn transformer: pose clips (or whole walks) in, feature table out."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from gaitfeat.errors import PoseDataError
from gaitfeat.features._kernels import DEFAULTS
from gaitfeat.features.definitions import resolve_feature_set
from gaitfeat.features.engine import _validate, extract_features
from gaitfeat.features.walk import walk_features
from gaitfeat.pose import PoseSequence

__all__ = ["GaitFeatureExtractor"]


class GaitFeatureExtractor(TransformerMixin, BaseEstimator):
    """Clinical gait features of pose clips, as the first step of a scikit-learn pipeline.

    Parameters
    ----------
    fps : float
        Frame rate of the clips (frames/s).
    layout : {"coco17", "body25"}, optional
        Skeleton layout; inferred from the number of joints when omitted.
    features : str or list of str
        A name of :data:`~gaitfeat.FEATURE_SETS` ("paper24", "paper14",
        "all": the 32 of :data:`~gaitfeat.FEATURES`, "extended": those and
        :data:`~gaitfeat.EXTENDED_FEATURES`) or a list of names from either
        (resolved by :func:`~gaitfeat.resolve_feature_set`).
    method : {"coordinate", "velocity"}
        Gait-event detection method, see :func:`~gaitfeat.extract_features`.
    per_walk : bool
        False: ``X`` is pose clips ``(N, T, V, C)``, one row per clip.
        True: ``X`` is a list of preprocessed :class:`~gaitfeat.PoseSequence`
        of any length, one row per walk (:func:`~gaitfeat.walk_features`:
        spatiotemporal values summarise all of a walk's strides, distances
        from the pelvis path when the camera is static); ``fps`` is then
        each sequence's own (the parameter is checked but not used), and
        the static-camera check runs with its default (``camera="auto"``).

    Attributes
    ----------
    feature_names_out_ : ndarray of str
        The output columns, in order.
    layout_ : str
        The layout used.
    n_frames_ : int or None
        Clip length (frames) seen in ``fit`` (None with ``per_walk``: walks differ in length).

    Notes
    -----
    ``transform`` returns a float array ``(N, F)`` with NaN where a feature
    could not be measured (follow it with an imputer); with
    ``set_output(transform="pandas")`` it returns a DataFrame. Clips of one
    pipeline share one frame rate; for mixed frame rates call
    :func:`~gaitfeat.extract_features` with per-clip ``fps`` instead.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.impute import SimpleImputer
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = make_pipeline(GaitFeatureExtractor(fps=30, features="paper14"),
    ...                      SimpleImputer(), LogisticRegression())
    """

    def __init__(self, *, fps=30.0, layout=None, features="all", method=DEFAULTS.method, per_walk=False):
        self.fps = fps
        self.layout = layout
        self.features = features
        self.method = method
        self.per_walk = per_walk

    def _walks(self, X) -> list[PoseSequence]:
        walks = list(X) if isinstance(X, (list, tuple)) else None
        if not walks or not all(isinstance(w, PoseSequence) for w in walks):
            raise PoseDataError("with per_walk=True, X must be a non-empty list of preprocessed PoseSequence")
        layouts = {w.layout for w in walks}
        if len(layouts) > 1 or (self.layout is not None and layouts != {self.layout}):
            raise PoseDataError(f"the walks' layouts {sorted(layouts)} differ from each other or from layout={self.layout!r}")
        return walks

    def fit(self, X, y=None):
        """Check the clips and settings; nothing is learned.

        Parameters
        ----------
        X : array (N, T, V, C)
            Preprocessed pose clips.
        y : ignored
        """
        if not (np.isscalar(self.fps) and np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a positive number, got {self.fps!r}")
        if self.per_walk:
            walks = self._walks(X)
            self.feature_names_out_ = np.asarray(resolve_feature_set(self.features), dtype=object)
            self.layout_ = walks[0].layout
            self.n_frames_ = None
            return self
        if np.ndim(X) != 4:
            raise PoseDataError(f"X must be pose clips (N, T, V, C), got shape {np.shape(X)}")
        arr, _, lay = _validate(X, self.fps, self.layout)
        self.feature_names_out_ = np.asarray(resolve_feature_set(self.features), dtype=object)
        self.layout_ = lay.name
        self.n_frames_ = int(arr.shape[1])
        return self

    def transform(self, X):
        """Feature array ``(N, F)`` (one row per clip, or per walk) in the order of ``feature_names_out_``."""
        check_is_fitted(self, "feature_names_out_")
        if self.per_walk:
            table = walk_features(self._walks(X), method=self.method)
            return table[list(self.feature_names_out_)].to_numpy(dtype=np.float64)
        if np.ndim(X) != 4:
            raise PoseDataError(f"X must be pose clips (N, T, V, C), got shape {np.shape(X)}")
        table = extract_features(X, self.fps, self.layout_, method=self.method)
        return table[list(self.feature_names_out_)].to_numpy(dtype=np.float64)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()
