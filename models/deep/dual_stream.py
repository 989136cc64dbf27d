"""The dual-stream method as scikit-learn-style estimators: :class:`DualStreamClassifier`, :class:`DualStreamRegressor`.

The two-step method of K. Yang, X. Chen, J. He, "Multimodal Fusion of
Skeleton Dynamics and Clinical Gait Features for Video-Based Cerebral Palsy
Severity Assessment": an ST-GCN backbone (trained here, or a fitted
:class:`~models.deep.stgcn_estimators.STGCNClassifier` passed as
``backbone``), Grad-CAM-guided choice of the clinical features
(``features="gradcam"``) or a fixed set, then the fusion network
(:class:`~models.deep.fusion.DualStream`) trained in two phases (frozen
backbone, then its last blocks fine-tuned).
"""

from __future__ import annotations

import copy
import numbers
import time

import numpy as np
import pandas as pd
import torch
from sklearn.base import ClassifierMixin, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from gaitfeat.features import FEATURE_SETS, FEATURES, resolve_feature_set
from gaitfeat.layouts import get_layout
from models.deep.base import DeepEstimator
from models.deep.cache import digest, module_digest
from models.deep.fusion import DualStream
from models.deep.inputs import prepare_clips
from models.deep.stgcn import STGCN
from models.deep.stgcn_estimators import (RENAMED_PARAMS, SHARED_PARAMS, STGCNBase, STGCNClassifier,
                                          STGCNRegressor)
from models.deep.training import Phase, TensorSet, fit_network, resolve_device, seeded
from models.tabular import impute_scale

__all__ = ["DualStreamClassifier", "DualStreamRegressor", "DualStreamBase", "MAX_FEATURE_Z"]

#: Largest |standardised clinical feature| accepted at prediction (and validation): beyond it a value is an
#: impossible one (wrong units, a stray 1e30), and the fused head would turn it into a confident answer.
MAX_FEATURE_Z = 1000.0


class DualStreamBase(DeepEstimator):
    """Backbone, feature selection, standardisation and the two-phase fusion training."""

    _schema_key = "DualStream"

    def __init__(self, *, features="paper14", fusion="concat", backbone=None, fps=30.0, layout="coco17",
                 config="compact", edge_importance=True, dropout=0.5, pretrain_epochs=20, pretrain_lr=1e-3,
                 epochs=20, phase1_epochs=3, lr=1e-3, finetune_lr=1e-4, unfreeze_blocks=2, batch_size=128,
                 weight_decay=5e-5, early_stopping=True, patience=5, monitor="accuracy", validation_fraction=0.2,
                 flip=True, noise_std=0.01, class_weight=None, clips_per_epoch=None, cache=None,
                 cam_threshold=0.3, cam_always=("temporal", "spatial", "symmetry"), cam_clips=512,
                 device="auto", random_state=None, verbose=False):
        self.features = features
        self.fusion = fusion
        self.backbone = backbone
        self.fps = fps
        self.layout = layout
        self.config = config
        self.edge_importance = edge_importance
        self.dropout = dropout
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.epochs = epochs
        self.phase1_epochs = phase1_epochs
        self.lr = lr
        self.finetune_lr = finetune_lr
        self.unfreeze_blocks = unfreeze_blocks
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.patience = patience
        self.monitor = monitor
        self.validation_fraction = validation_fraction
        self.flip = flip
        self.noise_std = noise_std
        self.class_weight = class_weight
        self.clips_per_epoch = clips_per_epoch
        self.cache = cache
        self.cam_threshold = cam_threshold
        self.cam_always = cam_always
        self.cam_clips = cam_clips
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _backbone_class = None   # set by subclasses

    # ---- features --------------------------------------------------------------------------
    def _feature_table(self, X, features) -> pd.DataFrame:
        """The clinical feature table of ``X``: given (DataFrame by name, array in FEATURES order) or computed."""
        n = len(X)
        if features is None:
            from gaitfeat.features import extract_features

            if isinstance(self.fps, (bool, np.bool_)) or not (isinstance(self.fps, numbers.Real)
                                                               and np.isfinite(self.fps) and self.fps > 0):
                raise ValueError(f"fps must be a positive number, got {self.fps!r}")
            table = extract_features(np.asarray(X, dtype=np.float32), float(self.fps), self.layout_)
            return table[list(FEATURE_SETS["extended"])]
        if isinstance(features, pd.DataFrame):
            missing = [c for c in self._needed_columns() if c not in features.columns]
            if missing:
                raise ValueError(f"features lack columns {missing}")
            table = features.reset_index(drop=True)
        else:
            try:
                arr = np.asarray(features, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"features must be a table of real numbers: {exc}") from None
            if arr.ndim != 2 or arr.shape[1] != len(FEATURES):
                raise ValueError(f"a feature array must have the {len(FEATURES)} columns of gaitfeat.FEATURES in order, "
                                 f"got shape {arr.shape}")
            table = pd.DataFrame(arr, columns=list(FEATURES))
        if len(table) != n:
            raise ValueError(f"features has {len(table)} rows for {n} clips")
        return table

    def _needed_columns(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return list(self.feature_names_in_)
        if isinstance(self.features, str) and self.features == "gradcam":
            return list(FEATURES)
        return resolve_feature_set(self.features)

    def _check_features_param(self) -> None:
        if not (isinstance(self.features, str) and self.features == "gradcam"):
            try:
                resolve_feature_set(self.features)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"features must be 'gradcam', a feature-set name or a list of feature names: {exc}") \
                    from None

    def _feature_tensor(self, X, features, fit: bool):
        """Standardised features ``(N, F)`` float32; ``fit=True`` first fits the standardisation on them."""
        try:
            table = self._feature_table(X, features)[list(self.feature_names_in_)].to_numpy(dtype=np.float64)
        except TypeError as exc:
            raise ValueError(f"features must be real numbers: {exc}") from None
        if np.isinf(table).any():
            raise ValueError("features contain infinite values")
        if fit:
            # The feature-table models' median imputation and standardisation, fitted on the training clips
            # only; kept as three arrays so that saving stays weights-only (no pickled scikit-learn objects).
            pipe = impute_scale("passthrough").fit(table)
            imputer, scaler = pipe[0], pipe[1]
            self.feature_fill_ = imputer.statistics_
            self.feature_mean_ = scaler.mean_
            self.feature_scale_ = scaler.scale_
        # SimpleImputer.transform then StandardScaler.transform, written out.
        filled = np.where(np.isnan(table), self.feature_fill_, table)
        z = (filled - self.feature_mean_) / self.feature_scale_
        far = np.abs(z) > MAX_FEATURE_Z
        if far.any():
            i, j = np.argwhere(far)[0]
            raise ValueError(f"feature {self.feature_names_in_[j]!r} of clip {i} is {table[i, j]:g}, "
                             f"{abs(z[i, j]):.3g} standard deviations from the training clips' mean: not a value "
                             "this model can speak to (wrong units, or a feature table of other clips?)")
        return torch.as_tensor(z, dtype=torch.float32)

    # ---- backbone ----------------------------------------------------------------------------
    def _backbone_params(self) -> dict:
        params = {name: getattr(self, name) for name in SHARED_PARAMS}
        params.update({theirs: getattr(self, ours) for ours, theirs in RENAMED_PARAMS.items()})
        return params

    def _get_backbone(self, X, y, groups, eval_set):
        bb = self.backbone
        if bb is None:
            bb = self._backbone_class(**self._backbone_params())
        if not isinstance(bb, STGCNBase):
            raise TypeError(f"backbone must be an STGCN estimator, got {type(bb).__name__}")
        try:
            check_is_fitted(bb, "module_")
            return bb, False
        except Exception:
            bb = clone(bb)
            ev = eval_set[:2] if eval_set is not None else None
            return bb.fit(X, y, groups=groups, eval_set=ev), True

    # ---- fit ----------------------------------------------------------------------------------
    def fit(self, X, y, *, features=None, groups=None, eval_set=None):
        """Step 1 (backbone, Grad-CAM selection) and step 2 (fusion training).

        Parameters
        ----------
        X : array (N, T, V, C)
            Pose clips.
        y : array (N,), or (N, K) for the regressor (``K`` targets, see :class:`STGCNRegressor`)
        features : DataFrame or array (N, 32), optional
            Clinical features of the clips (columns by name, or all of
            ``gaitfeat.FEATURES`` in order). Computed from the clips at
            ``fps`` when omitted.
        groups : array (N,), optional
            Patient IDs for the internal patient-disjoint validation split.
        eval_set : tuple (X_val, y_val) or (X_val, y_val, features_val), optional
            Validation clips of other patients.
        """
        self._check_common()
        self._check_features_param()
        self.__dict__.pop("_fit_seed", None)
        if self.fusion not in ("concat", "xattn"):
            raise ValueError(f"fusion must be 'concat' or 'xattn', got {self.fusion!r}")
        self.layout_ = get_layout(self.layout).name
        clips, self.n_missing_keypoints_ = prepare_clips(X, self.layout_, zero=False)   # zeroed per batch
        self.n_frames_ = int(clips.shape[1])
        table = self._feature_table(X, features)
        codes = self._encode_fit(y)
        if len(codes) != len(clips):
            raise ValueError(f"X has {len(clips)} clips but y has {len(codes)} labels")
        tr, va, ev = self._split_validation(clips, y, groups, eval_set)
        t0 = time.perf_counter()
        # Step 1: the backbone is trained on the training part only (the validation part stays unseen).
        if va is not None:
            backbone, trained = self._get_backbone(clips[tr], np.asarray(y)[tr], None,
                                                   (clips[va], np.asarray(y)[va]))
        else:
            backbone, trained = self._get_backbone(clips, y, groups, ev)
        if backbone.layout_ != self.layout_:
            raise ValueError(f"backbone layout {backbone.layout_!r} differs from {self.layout_!r}")
        if self._task == "classification" and not np.array_equal(backbone.classes_, self.classes_):
            raise ValueError(f"backbone was trained on classes {list(backbone.classes_)}, these data have "
                             f"{list(self.classes_)}")
        self.backbone_trained_here_ = trained
        self._select_features(backbone, clips[tr], np.asarray(y)[tr])
        self.feature_names_in_ = np.asarray(self.selected_features_, dtype=object)
        ftab = self._feature_tensor(clips[tr], table.iloc[tr], fit=True)
        train = TensorSet(torch.from_numpy(clips[tr]), codes[tr], ftab)
        val = None
        if va is not None:
            val = TensorSet(torch.from_numpy(clips[va]), codes[va], self._feature_tensor(clips[va], table.iloc[va], fit=False))
        elif ev is not None:
            xv, _ = prepare_clips(ev[0], self.layout_, zero=False)
            fv = self._feature_table(ev[0], ev[2] if len(ev) > 2 else None)
            yv, keep = self._encode_val(ev[1])
            xv = xv if keep.all() else xv[keep]          # a copy only when some clips are dropped
            val = TensorSet(torch.from_numpy(xv), yv, self._feature_tensor(xv, fv.iloc[np.flatnonzero(keep)], fit=False))
        device = resolve_device(self.device)
        if int(self.phase1_epochs) > int(self.epochs):
            raise ValueError(f"phase1_epochs ({self.phase1_epochs}) must not exceed epochs ({self.epochs}), "
                             "which counts both phases")
        n_blocks = backbone.module_.n_blocks
        if not 0 <= self.unfreeze_blocks <= n_blocks:
            raise ValueError(f"unfreeze_blocks must be between 0 and {n_blocks}")
        phases = [Phase(int(self.phase1_epochs), float(self.lr), n_blocks),
                  Phase(int(self.epochs) - int(self.phase1_epochs), float(self.finetune_lr), n_blocks - int(self.unfreeze_blocks))]
        # Frozen blocks keep the backbone's weights, so their validation output is keyed by those and the clips;
        # the fold's other fusion variants, given the same cache, reuse it.
        cache_key = ()
        if self.cache is not None and val is not None:
            cache_key = (module_digest(backbone.module_), digest(val.x.numpy()))
        with seeded(self._seed(), device):
            self.module_ = DualStream(copy.deepcopy(backbone.module_), len(self.feature_names_in_), self._n_outputs(),
                                      fusion=self.fusion, dropout=self.dropout)
            self.history_ = fit_network(
                self.module_, train, val, phases, task=self._task, layout=self.layout_, batch_size=int(self.batch_size),
                weight_decay=self.weight_decay, patience=self.patience if self.early_stopping else None,
                monitor=self.monitor, class_weights=self._class_weights(codes[tr]), flip=self.flip,
                noise_std=self.noise_std, clips_per_epoch=self.clips_per_epoch, cache=self.cache,
                cache_key=cache_key, device=device, rng=np.random.default_rng(self._seed()),
                y_scale=getattr(self, "y_scale_", 1.0), verbose=self.verbose)
        self.module_.to("cpu").eval()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _select_features(self, backbone, clips, y) -> None:
        from models.deep.explain import region_scores, select_features

        self.joint_contributions_ = None
        self.region_scores_ = None
        if isinstance(self.features, str) and self.features == "gradcam":
            target = y if self._task == "classification" else None
            self.joint_contributions_ = backbone.joint_contributions(clips, target, max_clips=int(self.cam_clips),
                                                                     cache=self.cache)
            self.region_scores_ = region_scores(self.joint_contributions_, self.layout_)
            self.selected_features_ = select_features(self.region_scores_, threshold=self.cam_threshold,
                                                      always=tuple(self.cam_always))
        else:
            self.selected_features_ = resolve_feature_set(self.features)

    # ---- save / load ------------------------------------------------------------------------------
    def _sidecar(self) -> dict:
        info = super()._sidecar()
        info["features"] = list(self.feature_names_in_)
        info["n_blocks"] = self.module_.n_blocks
        return info

    def _extra_tensors(self) -> dict:
        return {"feature_fill": self.feature_fill_, "feature_mean": self.feature_mean_,
                "feature_scale": self.feature_scale_}

    _output_keys = ("backbone.fcn.weight", "backbone.fcn.bias", "head.3.weight", "head.3.bias")

    def _extra_shapes(self, info: dict) -> dict:
        n = (len(info["features"]),)
        return {"feature_fill": n, "feature_mean": n, "feature_scale": n}

    def _restore(self, info, extra) -> None:
        self.feature_names_in_ = np.asarray(info["features"], dtype=object)
        self.selected_features_ = list(info["features"])
        self.feature_fill_, self.feature_mean_ = extra["feature_fill"], extra["feature_mean"]
        self.feature_scale_ = extra["feature_scale"]
        n_out = self._n_outputs()
        backbone = STGCN(self.layout_, n_out, config=self.config, edge_importance=self.edge_importance,
                         dropout=self.dropout)
        self.module_ = DualStream(backbone, len(self.feature_names_in_), n_out, fusion=self.fusion, dropout=self.dropout)
class DualStreamClassifier(ClassifierMixin, DualStreamBase):
    """Yang, Chen & He's dual-stream GMFCS classifier: ST-GCN skeleton stream fused with clinical gait features.

    Parameters
    ----------
    features : "gradcam", "paper14", "paper24", "all" or list of str
        Clinical stream inputs. ``"gradcam"``: the regions whose joints the
        backbone's Grad-CAM rates at least ``cam_threshold`` (see
        :func:`models.deep.explain.select_features`), chosen on the training clips.
    fusion : {"concat", "xattn"}
        Concatenation (Yang, Chen & He, eq. 2) or sigmoid-gated cross-attention (eqs. 3-4).
    backbone : STGCNClassifier, optional
        A fitted ST-GCN to start from (its weights are copied, not changed);
        an unfitted one is cloned and trained; ``None`` trains one with the
        ``pretrain_*`` settings and this estimator's other settings.
    fps : float
        Frame rate used when the features are computed here from the clips.
    pretrain_epochs, pretrain_lr : int, float
        Backbone training when ``backbone`` is not fitted.
    epochs : int
        Fusion epochs in all (phase 1 plus phase 2; Yang, Chen & He: 20).
    phase1_epochs : int
        Epochs with the whole skeleton stream frozen (Yang, Chen & He: 3).
    lr : float
        Phase 1 learning rate (fusion module and head; Yang, Chen & He: 1e-3).
    finetune_lr : float
        Phase 2 learning rate, last ``unfreeze_blocks`` blocks unfrozen (Yang, Chen & He: 1e-4, 2 blocks).
    cache : TrunkCache, optional
        Shared store (:class:`models.deep.cache.TrunkCache`) for the frozen
        backbone blocks' output on the validation clips and the backbone's
        Grad-CAM joint contributions: give the fusion variants trained from
        one fitted backbone (e.g. one fold's) the same cache and each is
        computed once. ``None``: nothing is cached. Never changes a result.
    cam_threshold : float
        Region score (joint contributions in [0, 1], region = mean of its joints) needed for selection.
    cam_always : tuple of str
        Feature regions kept whatever the scores (default: the gait-cycle
        features, which joint-position saliency does not speak to).
    cam_clips : int
        Training clips (evenly spaced) used for Grad-CAM.

    The remaining parameters are those of :class:`~models.deep.stgcn_estimators.STGCNClassifier`;
    :data:`~models.deep.stgcn_estimators.SHARED_PARAMS` names those passed on to a backbone trained here.

    Attributes
    ----------
    classes_, module_ (DualStream), history_, fit_seconds_
    selected_features_ : list of str
        The clinical features used.
    joint_contributions_ : ndarray (V,) or None
        Grad-CAM joint scores of the backbone (``features="gradcam"``).
    region_scores_ : Series or None
    feature_fill_, feature_mean_, feature_scale_ : ndarray
        Median imputation and standardisation of the selected features,
        fitted on the training clips (``models.tabular.impute_scale``: the
        feature-table models' ``SimpleImputer(strategy="median",
        keep_empty_features=True)`` and ``StandardScaler``).
    """

    _backbone_class = STGCNClassifier

    def predict_proba(self, X, features=None):
        """Class probabilities ``(N, K)``; ``features`` as in :meth:`fit`."""
        logits = torch.from_numpy(self._predict_outputs(X, features))
        return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def predict(self, X, features=None):
        """Most probable class per clip."""
        check_is_fitted(self, "module_")
        return self.classes_[self.predict_proba(X, features).argmax(axis=1)]

    def score(self, X, y, sample_weight=None, features=None):
        """Accuracy."""
        from sklearn.metrics import accuracy_score

        return accuracy_score(y, self.predict(X, features), sample_weight=sample_weight)


class DualStreamRegressor(RegressorMixin, DualStreamBase):
    """Dual-stream regressor (e.g. GDI); parameters as :class:`DualStreamClassifier`.

    ``features="gradcam"`` uses Grad-CAM of the regression output.
    """

    _task = "regression"
    _backbone_class = STGCNRegressor

    def predict(self, X, features=None):
        """Predicted target per clip: ``(N,)``, or ``(N, K)`` when ``fit`` had ``K`` targets ``(N, K)``."""
        check_is_fitted(self, "module_")
        return self._to_target_units(self._predict_outputs(X, features))

    def score(self, X, y, sample_weight=None, features=None):
        """R²."""
        from sklearn.metrics import r2_score

        return r2_score(y, self.predict(X, features), sample_weight=sample_weight)
