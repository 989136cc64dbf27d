"""The feature engine as a scikit-learn transformer: pose clips in, feature table out."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from gaitfeat.errors import PoseDataError
from gaitfeat.features._kernels import DEFAULTS
from gaitfeat.features.definitions import resolve_feature_set
from gaitfeat.features.engine import _validate, extract_features

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
        "all") or a list of names from :data:`~gaitfeat.FEATURES`
        (resolved by :func:`~gaitfeat.resolve_feature_set`).
    method : {"coordinate", "velocity"}
        Gait-event detection method, see :func:`~gaitfeat.extract_features`.

    Attributes
    ----------
    feature_names_out_ : ndarray of str
        The output columns, in order.
    layout_ : str
        The layout used.
    n_frames_ : int
        Clip length (frames) seen in ``fit``.

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

    def __init__(self, *, fps=30.0, layout=None, features="all", method=DEFAULTS.method):
        self.fps = fps
        self.layout = layout
        self.features = features
        self.method = method

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
        if np.ndim(X) != 4:
            raise PoseDataError(f"X must be pose clips (N, T, V, C), got shape {np.shape(X)}")
        arr, _, lay = _validate(X, self.fps, self.layout)
        self.feature_names_out_ = np.asarray(resolve_feature_set(self.features), dtype=object)
        self.layout_ = lay.name
        self.n_frames_ = int(arr.shape[1])
        return self

    def transform(self, X):
        """Feature array ``(N, F)`` in the order of ``feature_names_out_``."""
        check_is_fitted(self, "feature_names_out_")
        if np.ndim(X) != 4:
            raise PoseDataError(f"X must be pose clips (N, T, V, C), got shape {np.shape(X)}")
        table = extract_features(X, self.fps, self.layout_, method=self.method)
        return table[list(self.feature_names_out_)].to_numpy(dtype=np.float64)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()
