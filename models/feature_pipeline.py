"""Estimators that take pose clips ``(N, T, V, C)`` and predict from clinical gait features.

Each is a scikit-learn estimator wrapping three steps fitted together:
feature extraction (:class:`gaitfeat.GaitFeatureExtractor`, no learned
state), then a :class:`~models.tabular.FeatureTableClassifier` or
:class:`~models.tabular.FeatureTableRegressor` (imputation, scaling and the
model, fitted on the training clips only). They work wherever scikit-learn
estimators do, e.g. ``cross_val_score(est, clips, y, groups=patients,
cv=GroupKFold(5))``.

Input checks (``fit``, ``predict``, ``predict_proba``, ``transform_features``):
the clips must be preprocessed (:func:`gaitfeat.preprocess`: hip-centred, in
leg lengths; raw pixels and impossible values are refused), and every clip
must hold enough evidence — at least
:data:`~models.checks.MIN_OBSERVED_FRACTION` (20 %) of its frame x joint
keypoints observed and joints not all at one point — or it is refused
with a ``PoseDataError`` naming its index. ``predict`` and
``predict_proba`` also refuse a clip for which every feature the model
uses is NaN (e.g. too short for a single stride): its answer would be the
imputed training medians alone. ``fit`` imputes such rows instead. ``fps`` must be a positive finite number (text such as
``"30"`` is refused with a ``ValueError``). Class labels must be of one kind (all numbers or all text),
regression targets finite numbers (``LabelError`` otherwise).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from gaitfeat.features import GaitFeatureExtractor
from models.checks import check_clips, check_fps, check_labels, check_targets, no_evidence
from models.tabular import FeatureTableClassifier, FeatureTableRegressor

__all__ = ["GaitFeatureClassifier", "GaitFeatureRegressor"]


def _clips(X) -> np.ndarray:
    """The clips checked by :func:`models.checks.check_clips` (float32 ``(N, T, V, C)``).

    Refuses (``PoseDataError``) raw pixels, infinite or impossible values,
    confidences outside [0, 1] and clips with no observed keypoint (every
    x, y NaN or every confidence 0), naming those clips: a prediction for
    them would be built from nothing.
    """
    return check_clips(X, what="X")


class _ClipModel(BaseEstimator):
    def _table_model(self):
        raise NotImplementedError

    def fit(self, X, y, sample_weight=None):
        """Extract features from the clips ``X`` and fit the model to ``y``. Returns ``self``."""
        fps = check_fps(self.fps)
        X = _clips(X)
        y = self._check_y(y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"{X.shape[0]} clips but {y.shape[0]} labels")
        features = GaitFeatureExtractor(fps=fps, layout=self.layout, features=self.features)
        table = features.fit_transform(X)         # rows without a measured feature are imputed, not refused, in fit
        model = self._table_model()
        model.fit(table, y) if sample_weight is None else model.fit(table, y, sample_weight=sample_weight)
        self.pipeline_ = Pipeline([("features", features), ("model", model)])
        self.feature_names_ = list(features.get_feature_names_out())
        return self

    def _table(self, X, *, evidence: bool = True) -> np.ndarray:
        """The feature table of clips ``X``; with ``evidence``, clips without one measurable feature are refused."""
        check_is_fitted(self)
        table = self.pipeline_.named_steps["features"].transform(_clips(X))
        if evidence:
            no_evidence(table)
        return table

    def transform_features(self, X):
        """The feature table the model sees for clips ``X`` (DataFrame; NaN where a feature cannot be measured)."""
        import pandas as pd

        return pd.DataFrame(self._table(X, evidence=False), columns=self.feature_names_)

    def predict(self, X) -> np.ndarray:
        table = self._table(X)
        return self.pipeline_.named_steps["model"].predict(table)


    @staticmethod
    def _check_y(y) -> np.ndarray:
        return check_targets(y)


class GaitFeatureClassifier(ClassifierMixin, _ClipModel):
    """Pose clips in, GMFCS level (or any ordered class) out, through clinical gait features.

    Parameters
    ----------
    fps : float
        Frame rate of the clips (one per estimator).
    layout : {"coco17", "body25"}, optional
        Skeleton layout (default: inferred from the joint count).
    features : str or list of str
        Feature set name (``"paper14"``, ``"paper24"``, ``"all"``) or feature names.
    estimator : {"xgb", "logreg", "rf"}
    ordinal : bool
        Ordinal (threshold) model instead of plain multiclass.
    class_weight : {None, "balanced"}
    n_estimators, max_depth, C : see :class:`~models.tabular.FeatureTableClassifier`
    random_state : int, optional

    Attributes
    ----------
    classes_ : ndarray
    pipeline_ : Pipeline
        ``features`` -> ``model``.
    feature_names_ : list of str
    """

    def __init__(self, *, fps=30.0, layout=None, features="paper14", estimator="xgb", ordinal=False, class_weight=None,
                 n_estimators=200, max_depth=4, C=1.0, random_state=None):
        self.fps = fps
        self.layout = layout
        self.features = features
        self.estimator = estimator
        self.ordinal = ordinal
        self.class_weight = class_weight
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.C = C
        self.random_state = random_state

    @staticmethod
    def _check_y(y) -> np.ndarray:
        check_labels(y)
        return np.asarray(y)

    def _table_model(self):
        return FeatureTableClassifier(estimator=self.estimator, ordinal=self.ordinal, class_weight=self.class_weight,
                                      n_estimators=self.n_estimators, max_depth=self.max_depth, C=self.C,
                                      random_state=self.random_state)

    @property
    def classes_(self) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.named_steps["model"].classes_

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(N, n_classes)`` in the order of ``classes_``."""
        table = self._table(X)
        return self.pipeline_.named_steps["model"].predict_proba(table)


class GaitFeatureRegressor(RegressorMixin, _ClipModel):
    """Pose clips in, a continuous score (e.g. GDI) out, through clinical gait features.

    Parameters
    ----------
    fps, layout, features : see :class:`GaitFeatureClassifier`
    estimator : {"xgb", "ridge", "rf"}
    alpha : float
        Ridge penalty.
    n_estimators, max_depth, random_state : see :class:`~models.tabular.FeatureTableRegressor`
    """

    def __init__(self, *, fps=30.0, layout=None, features="all", estimator="xgb", alpha=1.0, n_estimators=200,
                 max_depth=4, random_state=None):
        self.fps = fps
        self.layout = layout
        self.features = features
        self.estimator = estimator
        self.alpha = alpha
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.random_state = random_state

    def _table_model(self):
        return FeatureTableRegressor(estimator=self.estimator, alpha=self.alpha, n_estimators=self.n_estimators,
                                     max_depth=self.max_depth, random_state=self.random_state)
