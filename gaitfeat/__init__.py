"""gaitfeat: pose data, readers, preprocessing and clinical gait features from video keypoints (2-D or 3-D).

The pose data model is :class:`PoseSequence` (one person, one video,
``(T, V, 3)`` keypoints); clips for models are NumPy arrays ``(N, T, V, C)``
with a metadata DataFrame. Skeleton layouts live in :mod:`gaitfeat.layouts`.
"""

from gaitfeat.errors import (
    GaitError,
    LabelError,
    LayoutError,
    PoseDataError,
    ReaderError,
    SequenceTooShortError,
)
from gaitfeat.features import (
    EXTENDED_FEATURES,
    FEATURE_INFO,
    FEATURE_SETS,
    FEATURES,
    GaitFeatureExtractor,
    detect_events,
    extract_features,
    iter_features,
    resolve_feature_set,
    walk_features,
    walk_features_3d,
)
from gaitfeat.io import (
    KidzinskiRelease,
    read_clips_npz,
    read_kidzinski,
    read_kidzinski_labels,
    read_npz,
    read_openpose,
    write_clips_npz,
    write_npz,
    write_openpose,
    read_trc,
    write_trc,
    read_array,
    write_array,
    read_mediapipe,
    read_alphapose,
    read_mmpose,
)
from gaitfeat.labels import GMFCS_LEVELS, validate_gmfcs, validate_patient_ids
from gaitfeat.layouts import ALL_LAYOUTS, BODY25, COCO17, LAYOUTS, SkeletonLayout, get_layout, map_joints
from gaitfeat.pose import PoseSequence
from gaitfeat.pose3d import PoseSequence3D
from gaitfeat.preprocessing import ClipReport, Clips, make_clips, preprocess, preprocess_many, project_to_walking_plane
from gaitfeat.simulate import Cohort, simulate_cohort, simulate_walk

__version__ = "0.1.0"

__all__ = [
    "PoseSequence",
    "PoseSequence3D",
    "SkeletonLayout",
    "BODY25",
    "COCO17",
    "LAYOUTS",
    "ALL_LAYOUTS",
    "map_joints",
    "get_layout",
    "read_openpose",
    "write_openpose",
    "read_trc",
    "write_trc",
    "read_array",
    "write_array",
    "read_mediapipe",
    "read_alphapose",
    "read_mmpose",
    "read_kidzinski",
    "read_kidzinski_labels",
    "KidzinskiRelease",
    "read_npz",
    "write_npz",
    "read_clips_npz",
    "write_clips_npz",
    "preprocess",
    "preprocess_many",
    "project_to_walking_plane",
    "make_clips",
    "Clips",
    "ClipReport",
    "simulate_walk",
    "simulate_cohort",
    "Cohort",
    "extract_features",
    "detect_events",
    "iter_features",
    "walk_features",
    "walk_features_3d",
    "FEATURES",
    "EXTENDED_FEATURES",
    "FEATURE_INFO",
    "FEATURE_SETS",
    "resolve_feature_set",
    "GaitFeatureExtractor",
    "GMFCS_LEVELS",
    "validate_gmfcs",
    "validate_patient_ids",
    "GaitError",
    "LayoutError",
    "PoseDataError",
    "ReaderError",
    "LabelError",
    "SequenceTooShortError",
    "__version__",
]
