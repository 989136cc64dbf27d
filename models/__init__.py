"""Models for gait severity prediction from clinical gait features and from skeletons.

* :mod:`models.tabular` — scikit-learn estimators on the feature table:
  :class:`FeatureTableClassifier` (``"xgb"``, ``"logreg"``, ``"rf"``; plain or
  ordinal), :class:`FeatureTableRegressor`, :class:`OrdinalClassifier`.
* :mod:`models.gait` — the same from pose clips ``(N, T, V, C)``:
  :class:`GaitFeatureClassifier`, :class:`GaitFeatureRegressor`.
* :mod:`models.importance` — SHAP values, permutation importance, XGBoost gain,
  rank agreement, importance by body region.
* :mod:`models.selection` — forward/backward sequential feature selection with
  patient-grouped inner cross-validation.
* :mod:`models.evidence` — plain-language evidence statements and the typical
  ranges they compare with.
* :mod:`models.stgcn` — :class:`STGCN` (``"paper"`` and ``"compact"``),
  ``load_pretrained``; :mod:`models.fusion` — :class:`DualStream`;
  :mod:`models.training` — the two-phase training loop;
  :mod:`models.deep` — :class:`STGCNClassifier`, :class:`STGCNRegressor`,
  :class:`DualStreamClassifier`, :class:`DualStreamRegressor`;
  :mod:`models.explain` — CAM, Grad-CAM, joint and region scores,
  Grad-CAM-guided feature selection, skeleton figure.

The deep models import PyTorch on first use, so the classical ones load fast.
"""

from models.evidence import TYPICAL_RANGES, evidence_statements, feature_label, load_typical_ranges
from models.gait import GaitFeatureClassifier, GaitFeatureRegressor
from models.importance import (
    ShapResult,
    by_region,
    gain_ranking,
    mean_abs_shap,
    permutation_ranking,
    rank_agreement,
    shap_values,
)
from models.selection import sequential_selection
from models.tabular import FeatureTableClassifier, FeatureTableRegressor, OrdinalClassifier

_DEEP = {
    "STGCN": "models.stgcn", "load_pretrained": "models.stgcn", "DualStream": "models.fusion",
    "STGCNClassifier": "models.deep", "STGCNRegressor": "models.deep", "DualStreamClassifier": "models.deep",
    "DualStreamRegressor": "models.deep", "load_estimator": "models.deep", "GradCAM": "models.explain",
    "CAM": "models.explain", "joint_contributions": "models.explain", "region_scores": "models.explain",
    "select_features": "models.explain", "plot_skeleton": "models.explain",
}


def __getattr__(name: str):
    if name in _DEEP:
        import importlib

        return getattr(importlib.import_module(_DEEP[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")


__all__ = [
    *_DEEP,
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
