"""The clinical gait feature engine: gait events and per-clip features from preprocessed pose clips.

``extract_features`` (one row per clip), ``walk_features`` (one row per
whole walk, medians over its strides), ``detect_events`` (heel strikes and
toe-offs), ``iter_features`` (streaming), ``GaitFeatureExtractor`` (the
scikit-learn transformer), ``angle_curves`` (joint-angle curves per gait
cycle, 101 points, for the angle-curve network). Columns: ``FEATURES`` (the 32 the models use),
then ``EXTENDED_FEATURES``. What each feature means: ``FEATURE_INFO``;
how it is computed and how accurate it is: ``docs/features.md``.
"""

from gaitfeat.features.definitions import (
    EXTENDED_FEATURES,
    FEATURE_INFO,
    FEATURE_SETS,
    FEATURES,
    JOINT_REGIONS,
    METRE_FEATURES,
    NAN_REASONS,
    QUALITY_COLUMNS,
    REGION_SOURCE,
    REGIONS,
    FeatureInfo,
    resolve_feature_set,
)
from gaitfeat.features.engine import (
    EVENT_COLUMNS,
    LEG_LENGTH_PER_HEIGHT,
    detect_events,
    extract_features,
    iter_features,
)
from gaitfeat.features.angle_curves import AngleCurves, angle_channels, angle_curves
from gaitfeat.features.extractor import GaitFeatureExtractor
from gaitfeat.features.walk import MIN_WALK_STRIDES, WALK_COLUMNS, walk_features
from gaitfeat.features.walk3d import STEP_WIDTH_COLUMNS, step_widths, walk_features_3d

__all__ = [
    "FEATURE_INFO", "FEATURE_SETS", "FEATURES", "EXTENDED_FEATURES", "METRE_FEATURES", "NAN_REASONS", "QUALITY_COLUMNS",
    "REGIONS",
    "JOINT_REGIONS", "REGION_SOURCE", "FeatureInfo", "EVENT_COLUMNS", "LEG_LENGTH_PER_HEIGHT", "detect_events",
    "extract_features", "iter_features", "walk_features", "WALK_COLUMNS", "MIN_WALK_STRIDES",
    "GaitFeatureExtractor", "resolve_feature_set", "angle_curves", "angle_channels", "AngleCurves",
    "walk_features_3d", "step_widths", "STEP_WIDTH_COLUMNS",
]
