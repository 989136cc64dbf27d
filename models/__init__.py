"""Models for gait severity prediction from clinical gait features and from skeletons.

* :mod:`models.tabular` — scikit-learn estimators on the feature table:
  :class:`FeatureTableClassifier` (``"xgb"``, ``"logreg"``, ``"rf"``; plain or
  ordinal), :class:`FeatureTableRegressor`, :class:`OrdinalClassifier`.
* :mod:`models.feature_pipeline` — the same from pose clips ``(N, T, V, C)``
  (clips -> feature extractor -> table model): :class:`GaitFeatureClassifier`,
  :class:`GaitFeatureRegressor`.
* :mod:`models.feature_importance` — SHAP values, permutation importance,
  XGBoost gain, rank agreement, importance by body region.
* :mod:`models.checks` — the checks every estimator runs at its door
  (:func:`~models.checks.check_clips`, :func:`~models.checks.check_labels`);
  :mod:`models.errors` — :class:`ModelFileError` (saved model files that fail verification).
* :mod:`models.selection` — forward/backward sequential feature selection with
  patient-grouped inner cross-validation.
* :mod:`models.significance` — Pellano et al.'s joint significance (confident
  groups, IQR-vs-threshold colours, kneedle ∧ 2-means top-k);
  :mod:`models.explanation_metrics` — faithfulness (PGI/PGU,
  deletion/insertion), stability and agreement of attribution maps;
  :mod:`models.perturb` — kinematic perturbations (segment time-warp,
  angular scaling keeping bone lengths) and response curves, for any model;
  :mod:`models.angle_selection` — forward selection over angle channels.
  :func:`models.attribute` (lazy, torch) explains a pose-clip network with
  CAM, Grad-CAM, IG, DeepLift, LIME or occlusion.
* :mod:`models.evidence` — plain-language evidence statements and the typical
  ranges they compare with.
* :mod:`models.skeleton_plot` — :func:`plot_skeleton`, joint scores on a skeleton figure.
* :mod:`models.deep` — the PyTorch models: :class:`STGCN`, :class:`DualStream`,
  their training loop, CAM and Grad-CAM, and the estimators
  :class:`STGCNClassifier`, :class:`STGCNRegressor`,
  :class:`DualStreamClassifier`, :class:`DualStreamRegressor`, and the
  sequence regressors :class:`TemporalCNNRegressor`, :class:`CNNLSTMRegressor`
  (see its docstring for the module layout).

The deep models import PyTorch on first use, so the classical ones (and the
skeleton figure) load fast.
"""

from models.errors import ModelFileError
from models.evidence import TYPICAL_RANGES, evidence_statements, feature_label, load_typical_ranges
from models.feature_importance import (
    ShapResult,
    by_region,
    gain_ranking,
    mean_abs_shap,
    permutation_ranking,
    rank_agreement,
    shap_values,
)
from models.feature_pipeline import GaitFeatureClassifier, GaitFeatureRegressor
from models.selection import sequential_selection
from models.tabular import FeatureTableClassifier, FeatureTableRegressor, OrdinalClassifier

# Imported on first use (module ``__getattr__``): all but plot_skeleton import torch.
_LAZY = {
    **dict.fromkeys(["STGCN", "load_pretrained", "DualStream", "STGCNClassifier", "STGCNRegressor",
                     "DualStreamClassifier", "DualStreamRegressor", "load_estimator", "TrunkCache", "GradCAM", "CAM",
                     "joint_contributions", "region_scores", "select_features", "attribute", "Attribution",
                     "mean_pose", "AngleCNNClassifier", "TemporalCNNRegressor", "CNNLSTMRegressor"], "models.deep"),
    "plot_skeleton": "models.skeleton_plot",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")


__all__ = [
    *_LAZY,
    "ModelFileError",
    "FeatureTableClassifier",
    "FeatureTableRegressor",
    "OrdinalClassifier",
    "GaitFeatureClassifier",
    "GaitFeatureRegressor",
    "ShapResult",
    "shap_values",
    "mean_abs_shap",
    "permutation_ranking",
    "gain_ranking",
    "rank_agreement",
    "by_region",
    "sequential_selection",
    "evidence_statements",
    "feature_label",
    "load_typical_ranges",
    "TYPICAL_RANGES",
]
