"""Deep models on pose clips: the ST-GCN, the dual-stream fusion network, sequence regressors, their training,
attribution and estimators.

Modules
-------
* :mod:`models.deep.stgcn` — :class:`STGCN`, the network of S. Yan, Y. Xiong,
  D. Lin, "Spatial Temporal Graph Convolutional Networks for Skeleton-Based
  Action Recognition" (AAAI 2018), in its ``"paper"`` and ``"compact"``
  configurations; :func:`load_pretrained` for local checkpoints of the original.
* :mod:`models.deep.fusion` — :class:`DualStream`, the fusion network of
  K. Yang, X. Chen, J. He, "Multimodal Fusion of Skeleton Dynamics and
  Clinical Gait Features for Video-Based Cerebral Palsy Severity Assessment";
  its docstring lists the network interface both networks implement
  (``n_blocks``, ``trunk``, ``embed``, ``output``, ``output_weights``,
  ``frozen_modules``, ``frozen_parameters``).
* :mod:`models.deep.training` — :func:`fit_network` (training phases,
  augmentation with :func:`flip_clips`, early stopping), :func:`seeded`.
* :mod:`models.deep.cache` — :class:`TrunkCache`, frozen-block outputs and
  Grad-CAM answers shared by estimators built on one fitted backbone.
* :mod:`models.deep.explain` — :class:`GradCAM` (Selvaraju et al., ICCV
  2017), :class:`CAM`, joint and region scores, Grad-CAM-guided feature selection.
* :mod:`models.deep.angle_cnn` — :class:`AngleCNNClassifier`, a 1-D CNN on
  joint-angle curves per gait cycle (:func:`gaitfeat.features.angle_curves`),
  the kind of input Lan et al. explain.
* :mod:`models.deep.attribution` — :func:`attribute`, one captum-based API
  for CAM, Grad-CAM, Integrated Gradients, DeepLift, LIME and occlusion on
  every pose-clip network (:mod:`models.deep.attribution_inputs`: baselines,
  interpretable groups, :func:`mean_pose`).
* :mod:`models.deep.sequence`, :mod:`models.deep.heads` — :class:`TemporalCNN`
  (1-D convolutions over time, in the spirit of Ł. Kidziński et al., Nat
  Commun 2020) and :class:`CNNLSTM` (per-frame encoder + LSTM, after A.
  Gotlin, A. Pancholi, U. Agarwal), with a regression or bucket head.
* :mod:`models.deep.sequence_estimators` — :class:`TemporalCNNRegressor`,
  :class:`CNNLSTMRegressor`: several targets at once, the bucket head's
  spread, a linear correction fitted on the validation predictions.
* :mod:`models.deep.inputs` — :func:`prepare_clips` and the patient-disjoint validation split.
* :mod:`models.deep.base`, :mod:`models.deep.persistence` — what the
  estimators share; ``save``/``load`` (weights-only ``.pt`` + JSON sidecar,
  no pickle) and :func:`load_estimator`.
* :mod:`models.deep.stgcn_estimators` — :class:`STGCNClassifier`,
  :class:`STGCNRegressor`: the skeleton-only baseline (Yang, Chen & He, Table 3, first row).
* :mod:`models.deep.dual_stream` — :class:`DualStreamClassifier`,
  :class:`DualStreamRegressor`: Yang, Chen & He's two-step method, an ST-GCN
  backbone (trained here, or a fitted ``STGCNClassifier`` passed as
  ``backbone``), Grad-CAM-guided choice of the clinical features
  (``features="gradcam"``) or a fixed set, then the fusion network trained in
  two phases (frozen backbone, then its last blocks fine-tuned).

Every estimator takes clips ``(N, T, V, C)`` (x, y, confidence; missing
keypoints NaN or OpenPose zeros), builds its network in ``fit``
(``module_``), and is deterministic on the CPU for a ``random_state``.
Early stopping needs a validation set that shares no patient with the
training clips: pass ``eval_set=(X_val, y_val)`` (the harness does) or
``groups=`` patient IDs for an internal patient-disjoint split; without
either, ``fit`` refuses rather than splitting clips of one child across
training and validation.
"""

from models.deep.attribution import METHODS as ATTRIBUTION_METHODS
from models.deep.attribution import Attribution, attribute, mean_pose
from models.deep.angle_cnn import AngleCNN, AngleCNNClassifier
from models.deep.cache import TrunkCache
from models.deep.dual_stream import DualStreamClassifier, DualStreamRegressor
from models.deep.explain import (
    CAM,
    DEFAULT_THRESHOLD,
    GradCAM,
    clip_attributions,
    joint_contributions,
    region_scores,
    select_features,
)
from models.deep.fusion import FUSIONS, DualStream
from models.deep.inputs import prepare_clips
from models.deep.persistence import load_estimator
from models.deep.stgcn import (
    CONFIGS,
    STGCN,
    LoadReport,
    StgcnConfig,
    count_parameters,
    load_pretrained,
    multiply_adds,
    spatial_partition,
)
from models.deep.heads import HEADS, BucketHead, RegressionHead
from models.deep.sequence import CNNLSTM, TemporalCNN
from models.deep.sequence_estimators import CNNLSTMRegressor, TemporalCNNRegressor
from models.deep.stgcn_estimators import STGCNClassifier, STGCNRegressor
from models.deep.training import (
    Phase,
    TensorSet,
    fit_network,
    flip_clips,
    predict_network,
    resolve_device,
    seeded,
    training_progress,
)

__all__ = [
    # estimators
    "STGCNClassifier", "STGCNRegressor", "DualStreamClassifier", "DualStreamRegressor", "AngleCNNClassifier",
    "TemporalCNNRegressor", "CNNLSTMRegressor", "load_estimator",
    "prepare_clips", "TrunkCache",
    # networks
    "STGCN", "DualStream", "AngleCNN", "CONFIGS", "StgcnConfig", "FUSIONS", "spatial_partition", "load_pretrained", "LoadReport",
    "TemporalCNN", "CNNLSTM", "RegressionHead", "BucketHead", "HEADS",
    "count_parameters", "multiply_adds",
    # training
    "Phase", "TensorSet", "fit_network", "predict_network", "flip_clips", "resolve_device", "seeded", "training_progress",
    # attribution
    "attribute", "Attribution", "mean_pose", "ATTRIBUTION_METHODS",
    "GradCAM", "CAM", "clip_attributions", "joint_contributions", "region_scores", "select_features",
    "DEFAULT_THRESHOLD",
]
