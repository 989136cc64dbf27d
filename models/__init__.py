"""Models for gait severity prediction from clinical gait features (and, later, from skeletons).

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

__all__ = [
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
