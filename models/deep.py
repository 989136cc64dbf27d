"""scikit-learn-style estimators around the ST-GCN and dual-stream networks: pose clips in.

* :class:`STGCNClassifier`, :class:`STGCNRegressor` — the skeleton-only
  baseline (seed 000, Table 3, first row).
* :class:`DualStreamClassifier`, :class:`DualStreamRegressor` — seed 000's
  two-step method: an ST-GCN backbone (trained here, or a fitted
  ``STGCNClassifier`` passed as ``backbone``), Grad-CAM-guided choice of the
  clinical features (``features="gradcam"``) or a fixed set, then the fusion
  network trained in two phases (frozen backbone, then its last blocks
  fine-tuned).

Every estimator takes clips ``(N, T, V, C)`` (x, y, confidence; missing
keypoints NaN or OpenPose zeros), builds its network in ``fit``
(``module_``), and is deterministic on the CPU for a ``random_state``.
Early stopping needs a validation set that shares no patient with the
training clips: pass ``eval_set=(X_val, y_val)`` (the harness does) or
``groups=`` patient IDs for an internal patient-disjoint split; without
either, ``fit`` refuses rather than splitting clips of one child across
training and validation. ``save``/``load`` write a weights-only ``.pt`` file
and a JSON sidecar; no pickle is involved.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from gaitfeat.errors import PoseDataError
from gaitfeat.features import FEATURE_SETS, FEATURES
from gaitfeat.layouts import get_layout
from models.fusion import DualStream
from models.stgcn import CONFIGS, STGCN, load_pretrained
from models.training import Phase, TensorSet, digest, fit_network, predict_network, resolve_device, seeded

__all__ = ["STGCNClassifier", "STGCNRegressor", "DualStreamClassifier", "DualStreamRegressor", "load_estimator",
           "prepare_clips"]

_FORMAT = 1


def prepare_clips(X, layout) -> tuple[np.ndarray, int]:
    """Validated float32 clips with missing keypoints set to zero (confidence 0).

    Returns the clips and the number of keypoints that were missing. Raises
    :class:`~gaitfeat.errors.PoseDataError` for wrong shapes or layouts,
    infinite values, or clips with no observed keypoint at all.
    """
    lay = get_layout(layout)
    arr = np.asarray(X)
    if arr.ndim != 4:
        raise PoseDataError(f"X must be pose clips (N, T, V, C), got shape {arr.shape}")
    n, t, v, c = arr.shape
    if n == 0:
        raise PoseDataError("X holds no clips")
    if v != lay.num_joints:
        raise PoseDataError(f"clips have {v} joints but layout {lay.name!r} has {lay.num_joints}")
    if c != 3:
        raise PoseDataError(f"clips need 3 channels (x, y, confidence), got {c}")
    if t < 8:
        raise PoseDataError(f"clips of {t} frames are too short for the temporal convolutions (need >= 8)")
    arr = arr.astype(np.float32, copy=True)
    if np.isinf(arr).any():
        raise PoseDataError("clips contain infinite values")
    missing = np.isnan(arr[..., :2]).any(axis=-1) | ~(arr[..., 2] > 0)      # NaN confidence fails "> 0" too
    arr[missing] = 0.0
    empty = missing.reshape(n, -1).all(axis=1)
    if empty.any():
        raise PoseDataError(f"{int(empty.sum())} clip(s) have no observed keypoint (first: index {int(np.flatnonzero(empty)[0])})")
    return arr, int(missing.sum())


def _val_split(y, groups, fraction: float, random_state: int, stratify: bool):
    groups = np.asarray(groups)
    if groups.shape[0] != len(y):
        raise ValueError(f"groups has {groups.shape[0]} entries for {len(y)} clips")
    if pd.isna(pd.Series(groups)).any():
        raise ValueError("groups (patient IDs) contain missing values")
    k = max(2, int(round(1.0 / fraction)))
    if len(np.unique(groups)) < k:
        raise ValueError(f"a patient-disjoint validation split of {fraction:.0%} needs at least {k} patients")
    strat = y if stratify else pd.qcut(y, q=min(5, len(np.unique(y))), labels=False, duplicates="drop")
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    return next(cv.split(np.zeros(len(y)), strat, groups))


class _DeepBase(BaseEstimator):
    """Shared fitting machinery: input checks, validation data, device, seeding, save/load."""

    _task = "classification"

    # ---- targets -------------------------------------------------------------------------
    def _encode_fit(self, y) -> torch.Tensor:
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
        if pd.isna(pd.Series(y)).any():
            raise ValueError("y contains missing labels")
        if self._task == "classification":
            self.classes_, codes = np.unique(y, return_inverse=True)
            if len(self.classes_) < 2:
                raise ValueError(f"y has a single class ({self.classes_[0]!r}); nothing to classify")
            return torch.as_tensor(codes, dtype=torch.int64)
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            raise ValueError("y contains infinite values")
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std() or 1.0)
        return torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32)

    def _encode_val(self, y) -> tuple[torch.Tensor, np.ndarray]:
        y = np.asarray(y)
        if self._task == "classification":
            keep = np.isin(y, self.classes_)       # a level no training clip has cannot be scored
            return torch.as_tensor(np.searchsorted(self.classes_, y[keep]), dtype=torch.int64), keep
        y = y.astype(np.float64)
        return torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32), np.ones(len(y), bool)

    def _class_weights(self, codes: torch.Tensor) -> torch.Tensor | None:
        if self._task != "classification" or self.class_weight is None:
            return None
        if self.class_weight != "balanced":
            raise ValueError(f"class_weight must be None or 'balanced', got {self.class_weight!r}")
        counts = np.bincount(codes.numpy(), minlength=len(self.classes_)).astype(float)
        return torch.as_tensor(len(codes) / (len(counts) * np.maximum(counts, 1)), dtype=torch.float32)

    def _n_outputs(self) -> int:
        return len(self.classes_) if self._task == "classification" else 1

    # ---- checks ----------------------------------------------------------------------------
    def _check_common(self) -> None:
        if not (isinstance(self.config, str) and self.config in CONFIGS):
            raise ValueError(f"config must be one of {sorted(CONFIGS)}, got {self.config!r}")
        get_layout(self.layout)
        if self.monitor not in ("accuracy", "loss"):
            raise ValueError(f"monitor must be 'accuracy' or 'loss', got {self.monitor!r}")
        for name in ("batch_size", "epochs"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")

    def _split_validation(self, X, y, groups, eval_set):
        """Training and validation parts: ``eval_set``, a patient-disjoint split of ``groups``, or none."""
        if eval_set is not None:
            return np.arange(len(y)), None, eval_set
        if not self.early_stopping:
            return np.arange(len(y)), None, None
        if groups is None:
            raise ValueError("early stopping needs a validation set of other patients: pass eval_set=(X_val, y_val) "
                             "or groups=<patient IDs>, or set early_stopping=False")
        tr, va = _val_split(np.asarray(y), groups, self.validation_fraction, self._seed(),
                            stratify=self._task == "classification")
        return tr, va, None

    def _seed(self) -> int:
        """The fit's integer seed: ``random_state`` itself, or one draw from it (``None``: fresh entropy)."""
        if isinstance(self.random_state, (int, np.integer)):
            return int(self.random_state)
        if not hasattr(self, "_fit_seed"):
            self._fit_seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        return self._fit_seed

    def _predict_outputs(self, X, features=None) -> np.ndarray:
        check_is_fitted(self, "module_")
        clips, _ = prepare_clips(X, self.layout_)
        data = TensorSet(torch.from_numpy(clips), torch.zeros(len(clips)), self._feature_tensor(X, features, fit=False))
        device = resolve_device(self.device)
        self.module_.to(device)
        out = predict_network(self.module_, data, device, batch_size=256).numpy()
        self.module_.to("cpu")
        return out

    def _feature_tensor(self, X, features, fit: bool):
        return None

    # ---- save / load ----------------------------------------------------------------------------
    def _sidecar(self) -> dict:
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "backbone"}
        info = {"format": _FORMAT, "estimator": type(self).__name__, "params": _jsonable(params),
                "layout": self.layout_, "n_frames": self.n_frames_, "history": _jsonable(self.history_),
                "torch": torch.__version__}
        if self._task == "classification":
            info["classes"] = _jsonable(list(self.classes_))
        else:
            info["y_mean"], info["y_scale"] = self.y_mean_, self.y_scale_
        return info

    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write ``<path>.pt`` (tensors only) and ``<path>.json`` (settings, classes, history).

        Returns the two paths. Load with :func:`load_estimator` or ``type(est).load``.
        """
        check_is_fitted(self, "module_")
        path = Path(path)
        pt, side = path.with_suffix(".pt"), path.with_suffix(".json")
        tensors = {f"module.{k}": v.detach().cpu() for k, v in self.module_.state_dict().items()}
        tensors.update({f"extra.{k}": torch.as_tensor(v) for k, v in self._extra_tensors().items()})
        torch.save(tensors, pt)
        side.write_text(json.dumps(self._sidecar(), indent=1))
        return pt, side

    def _extra_tensors(self) -> dict:
        return {}

    @classmethod
    def load(cls, path: str | Path):
        """Rebuild a fitted estimator saved with :meth:`save` (``torch.load(weights_only=True)``)."""
        path = Path(path)
        pt, side = path.with_suffix(".pt"), path.with_suffix(".json")
        for p in (pt, side):
            if not p.is_file():
                raise FileNotFoundError(f"missing {p}")
        try:
            info = json.loads(side.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{side} is not valid JSON: {exc}") from exc
        if info.get("format") != _FORMAT or info.get("estimator") != cls.__name__:
            raise ValueError(f"{side} describes a {info.get('estimator')!r} (format {info.get('format')}), "
                             f"not a {cls.__name__} (format {_FORMAT})")
        tensors = torch.load(pt, map_location="cpu", weights_only=True)
        est = cls(**info["params"])
        est.layout_, est.n_frames_, est.history_ = info["layout"], info["n_frames"], info["history"]
        if cls._task == "classification":
            est.classes_ = np.asarray(info["classes"])
        else:
            est.y_mean_, est.y_scale_ = info["y_mean"], info["y_scale"]
        extra = {k[len("extra."):]: v.numpy() for k, v in tensors.items() if k.startswith("extra.")}
        est._restore(info, extra)
        state = {k[len("module."):]: v for k, v in tensors.items() if k.startswith("module.")}
        est.module_.load_state_dict(state)
        est.module_.eval()
        return est


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def load_estimator(path: str | Path):
    """Load any estimator of this module from its ``.json`` sidecar and ``.pt`` weights."""
    side = Path(path).with_suffix(".json")
    try:
        name = json.loads(side.read_text()).get("estimator")
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {side}: {exc}") from exc
    classes = {c.__name__: c for c in (STGCNClassifier, STGCNRegressor, DualStreamClassifier, DualStreamRegressor)}
    if name not in classes:
        raise ValueError(f"{side} names an unknown estimator {name!r}")
    return classes[name].load(path)


class _STGCNBase(_DeepBase):
    """Skeleton-only ST-GCN trained end to end."""

    def __init__(self, *, layout="coco17", config="compact", edge_importance=True, dropout=0.5, epochs=20,
                 lr=1e-3, batch_size=128, weight_decay=5e-5, early_stopping=True, patience=5, monitor="accuracy",
                 validation_fraction=0.2, flip=True, noise_std=0.01, class_weight=None, clips_per_epoch=None,
                 pretrained=None, device="auto", random_state=None, verbose=False):
        self.layout = layout
        self.config = config
        self.edge_importance = edge_importance
        self.dropout = dropout
        self.epochs = epochs
        self.lr = lr
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
        self.pretrained = pretrained
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _build(self) -> STGCN:
        return STGCN(self.layout_, self._n_outputs(), config=self.config, edge_importance=self.edge_importance,
                     dropout=self.dropout)

    def _restore(self, info, extra) -> None:
        self.module_ = self._build()

    def fit(self, X, y, *, groups=None, eval_set=None):
        """Train on clips ``(N, T, V, C)``.

        Parameters
        ----------
        X : array (N, T, V, C)
        y : array (N,)
            GMFCS levels (any labels) or, for the regressor, GDI values.
        groups : array (N,), optional
            Patient IDs, for the internal patient-disjoint validation split.
        eval_set : tuple (X_val, y_val), optional
            Validation clips of other patients for early stopping.
        """
        self._check_common()
        self.__dict__.pop("_fit_seed", None)
        self.layout_ = get_layout(self.layout).name
        clips, self.n_missing_keypoints_ = prepare_clips(X, self.layout_)
        self.n_frames_ = int(clips.shape[1])
        codes = self._encode_fit(y)
        if len(codes) != len(clips):
            raise ValueError(f"X has {len(clips)} clips but y has {len(codes)} labels")
        tr, va, ev = self._split_validation(clips, y, groups, eval_set)
        train = TensorSet(torch.from_numpy(clips[tr]), codes[tr])
        val = None
        if va is not None:
            val = TensorSet(torch.from_numpy(clips[va]), codes[va])
        elif ev is not None:
            xv, _ = prepare_clips(ev[0], self.layout_)
            yv, keep = self._encode_val(ev[1])
            val = TensorSet(torch.from_numpy(xv[keep]), yv)
        device = resolve_device(self.device)
        t0 = time.perf_counter()
        with seeded(self._seed(), device):
            self.module_ = self._build()
            self.load_report_ = None
            if self.pretrained is not None:
                self.load_report_ = load_pretrained(self.module_, self.pretrained)
            self.history_ = fit_network(
                self.module_, train, val, [Phase(int(self.epochs), float(self.lr), 0)], task=self._task,
                layout=self.layout_, batch_size=int(self.batch_size), weight_decay=self.weight_decay,
                patience=self.patience if self.early_stopping else None, monitor=self.monitor,
                class_weights=self._class_weights(codes[tr]), flip=self.flip, noise_std=self.noise_std,
                clips_per_epoch=self.clips_per_epoch, device=device, rng=np.random.default_rng(self._seed()),
                y_scale=getattr(self, "y_scale_", 1.0), verbose=self.verbose)
        self.module_.to("cpu").eval()
        self.fit_seconds_ = time.perf_counter() - t0
        self._trunk_cache = {}
        return self

    def joint_contributions(self, X, y=None, *, method="gradcam", max_clips=None):
        """Per-joint contribution scores in [0, 1] (see :func:`models.explain.joint_contributions`)."""
        from models.explain import clip_attributions, joint_contributions

        check_is_fitted(self, "module_")
        clips, _ = prepare_clips(X, self.layout_)
        target = None
        if y is not None and self._task == "classification":
            y = np.asarray(y)
            keep = np.isin(y, self.classes_)
            clips, target = clips[keep], np.searchsorted(self.classes_, y[keep])
        if max_clips is not None and len(clips) > max_clips:
            pick = np.linspace(0, len(clips) - 1, max_clips).round().astype(int)
            clips = clips[pick]
            target = target[pick] if target is not None else None
        # Several fusion variants ask the same fold's backbone the same question: answer it once.
        key = ("contributions", method, digest(clips), None if target is None else digest(np.asarray(target)))
        cache = getattr(self, "_trunk_cache", None)
        if cache is not None and key in cache:
            return cache[key].copy()
        maps = clip_attributions(self.module_, clips, target=target, method=method)
        scores = joint_contributions(maps)
        if cache is not None:
            cache[key] = scores.copy()
        return scores


class STGCNClassifier(ClassifierMixin, _STGCNBase):
    """ST-GCN GMFCS classifier on pose clips (the skeleton-only baseline of seed 000).

    Parameters
    ----------
    layout : {"coco17", "body25"}
    config : {"compact", "paper"}
        Network size, see :mod:`models.stgcn`.
    edge_importance : bool
        Learnable edge-importance masks.
    dropout : float
        Dropout inside the blocks.
    epochs : int
        Maximum training epochs.
    lr : float
        Adam learning rate (cosine-annealed over the epochs).
    batch_size : int
    weight_decay : float
        Adam weight decay.
    early_stopping : bool
        Stop after ``patience`` epochs without a better validation score and
        restore the best weights (needs ``eval_set`` or ``groups``).
    patience : int
    monitor : {"accuracy", "loss"}
        Validation criterion (seed 000 selects on accuracy; ties go to the lower loss).
    validation_fraction : float
        Share of patients held out when ``groups`` (not ``eval_set``) is given.
    flip : bool
        Left/right-swap augmentation (the image flip for direction-normalised clips).
    noise_std : float
        Gaussian coordinate noise (clip units: leg lengths). The default
        0.01 corresponds to seed 000's 2 px for a leg about 200 px long.
    class_weight : None or "balanced"
        Inverse-frequency class weights in the cross-entropy.
    clips_per_epoch : int, optional
        Random subset of training clips per epoch (``None``: all).
    pretrained : str or Path, optional
        Local checkpoint of the original ST-GCN to start from (see
        :func:`models.stgcn.load_pretrained`); ``load_report_`` says what was used.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...
    random_state : int, optional
        Seeds initialisation, batch order, augmentation and dropout.
    verbose : bool
        Print one line per epoch.

    Attributes
    ----------
    classes_ : ndarray
    module_ : STGCN
        The trained network (on the CPU, evaluation mode).
    history_ : list of dict
        Per-epoch training loss and validation scores.
    n_missing_keypoints_ : int
        Keypoints missing in the training clips (set to zero, confidence 0).
    fit_seconds_ : float
    """

    def predict_proba(self, X):
        """Class probabilities ``(N, K)`` in the order of ``classes_``."""
        logits = torch.from_numpy(self._predict_outputs(X))
        return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def predict(self, X):
        """Most probable class per clip."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class STGCNRegressor(RegressorMixin, _STGCNBase):
    """ST-GCN regressor (e.g. GDI) on pose clips; same parameters as :class:`STGCNClassifier`.

    The target is standardised for training (``y_mean_``, ``y_scale_``);
    the loss is the mean squared error and early stopping watches the
    validation RMSE.
    """

    _task = "regression"

    def predict(self, X):
        """Predicted target per clip."""
        return self._predict_outputs(X)[:, 0].astype(np.float64) * self.y_scale_ + self.y_mean_


class _DualStreamBase(_DeepBase):
    """Backbone, feature selection, standardisation and the two-phase fusion training."""

    def __init__(self, *, features="paper14", fusion="concat", backbone=None, fps=30.0, layout="coco17",
                 config="compact", edge_importance=True, dropout=0.5, pretrain_epochs=20, pretrain_lr=1e-3,
                 epochs=20, phase1_epochs=3, lr=1e-3, finetune_lr=1e-4, unfreeze_blocks=2, batch_size=128,
                 weight_decay=5e-5, early_stopping=True, patience=5, monitor="accuracy", validation_fraction=0.2,
                 flip=True, noise_std=0.01, class_weight=None, clips_per_epoch=None, cache_frozen=False,
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
        self.cache_frozen = cache_frozen
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

            if not (np.isscalar(self.fps) and np.isfinite(self.fps) and self.fps > 0):
                raise ValueError(f"fps must be a positive number, got {self.fps!r}")
            table = extract_features(np.asarray(X, dtype=np.float32), float(self.fps), self.layout_)
            return table[list(FEATURES)]
        if isinstance(features, pd.DataFrame):
            missing = [c for c in self._needed_columns() if c not in features.columns]
            if missing:
                raise ValueError(f"features lack columns {missing}")
            table = features.reset_index(drop=True)
        else:
            arr = np.asarray(features, dtype=np.float64)
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
        if isinstance(self.features, str):
            return list(FEATURES) if self.features == "gradcam" else list(FEATURE_SETS[self.features])
        return list(self.features)

    def _check_features_param(self) -> None:
        if isinstance(self.features, str):
            if self.features != "gradcam" and self.features not in FEATURE_SETS:
                raise ValueError(f"features must be 'gradcam', one of {sorted(FEATURE_SETS)} or a list of names, "
                                 f"got {self.features!r}")
        else:
            unknown = [f for f in self.features if f not in FEATURES]
            if unknown or not list(self.features):
                raise ValueError(f"unknown feature names {unknown}" if unknown else "features is an empty list")

    def _feature_tensor(self, X, features, fit: bool):
        table = self._feature_table(X, features)[list(self.feature_names_in_)].to_numpy(dtype=np.float64)
        if np.isinf(table).any():
            raise ValueError("features contain infinite values")
        if fit:
            # Fitted on the training clips only: median for missing values, then mean and scale.
            with np.errstate(all="ignore"):
                fill = np.nanmedian(table, axis=0)
            fill = np.where(np.isfinite(fill), fill, 0.0)
            filled = np.where(np.isnan(table), fill, table)
            self.feature_fill_ = fill
            self.feature_mean_ = filled.mean(axis=0)
            self.feature_scale_ = np.where(filled.std(axis=0) > 0, filled.std(axis=0), 1.0)
        filled = np.where(np.isnan(table), self.feature_fill_, table)
        return torch.as_tensor((filled - self.feature_mean_) / self.feature_scale_, dtype=torch.float32)

    # ---- backbone ----------------------------------------------------------------------------
    def _backbone_params(self) -> dict:
        return dict(layout=self.layout, config=self.config, edge_importance=self.edge_importance, dropout=self.dropout,
                    epochs=self.pretrain_epochs, lr=self.pretrain_lr, batch_size=self.batch_size,
                    weight_decay=self.weight_decay, early_stopping=self.early_stopping, patience=self.patience,
                    monitor=self.monitor, validation_fraction=self.validation_fraction, flip=self.flip,
                    noise_std=self.noise_std, class_weight=self.class_weight, clips_per_epoch=self.clips_per_epoch,
                    device=self.device, random_state=self.random_state)

    def _get_backbone(self, X, y, groups, eval_set):
        bb = self.backbone
        if bb is None:
            bb = self._backbone_class(**self._backbone_params())
        if not isinstance(bb, _STGCNBase):
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
        y : array (N,)
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
        clips, self.n_missing_keypoints_ = prepare_clips(X, self.layout_)
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
            val_key = digest(clips[va])
        elif ev is not None:
            xv, _ = prepare_clips(ev[0], self.layout_)
            fv = self._feature_table(ev[0], ev[2] if len(ev) > 2 else None)
            yv, keep = self._encode_val(ev[1])
            val = TensorSet(torch.from_numpy(xv[keep]), yv, self._feature_tensor(xv[keep], fv.iloc[np.flatnonzero(keep)], fit=False))
            val_key = digest(xv[keep])
        else:
            val_key = None
        device = resolve_device(self.device)
        n_blocks = len(backbone.module_.st_gcn_networks)
        if not 0 <= self.unfreeze_blocks <= n_blocks:
            raise ValueError(f"unfreeze_blocks must be between 0 and {n_blocks}")
        phases = [Phase(int(self.phase1_epochs), float(self.lr), n_blocks),
                  Phase(int(self.epochs) - int(self.phase1_epochs), float(self.finetune_lr), n_blocks - int(self.unfreeze_blocks))]
        # A loaded backbone has no cache yet; the fold's fusion variants share this one.
        cache = backbone.__dict__.setdefault("_trunk_cache", {}) if self.cache_frozen else None
        with seeded(self._seed(), device):
            self.module_ = DualStream(copy.deepcopy(backbone.module_), len(self.feature_names_in_), self._n_outputs(),
                                      fusion=self.fusion, dropout=self.dropout)
            self.history_ = fit_network(
                self.module_, train, val, phases, task=self._task, layout=self.layout_, batch_size=int(self.batch_size),
                weight_decay=self.weight_decay, patience=self.patience if self.early_stopping else None,
                monitor=self.monitor, class_weights=self._class_weights(codes[tr]), flip=self.flip,
                noise_std=self.noise_std, clips_per_epoch=self.clips_per_epoch, cache=cache,
                cache_key=(val_key,), device=device, rng=np.random.default_rng(self._seed()),
                y_scale=getattr(self, "y_scale_", 1.0), verbose=self.verbose)
        self.module_.to("cpu").eval()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _select_features(self, backbone, clips, y) -> None:
        from models.explain import region_scores, select_features

        self.joint_contributions_ = None
        self.region_scores_ = None
        if isinstance(self.features, str) and self.features == "gradcam":
            target = y if self._task == "classification" else None
            self.joint_contributions_ = backbone.joint_contributions(clips, target, max_clips=int(self.cam_clips))
            self.region_scores_ = region_scores(self.joint_contributions_, self.layout_)
            self.selected_features_ = select_features(self.region_scores_, threshold=self.cam_threshold,
                                                      always=tuple(self.cam_always))
        elif isinstance(self.features, str):
            self.selected_features_ = list(FEATURE_SETS[self.features])
        else:
            self.selected_features_ = list(self.features)

    # ---- save / load ------------------------------------------------------------------------------
    def _sidecar(self) -> dict:
        info = super()._sidecar()
        info["features"] = list(self.feature_names_in_)
        info["n_blocks"] = len(self.module_.backbone.st_gcn_networks)
        return info

    def _extra_tensors(self) -> dict:
        return {"feature_fill": self.feature_fill_, "feature_mean": self.feature_mean_,
                "feature_scale": self.feature_scale_}

    def _restore(self, info, extra) -> None:
        self.feature_names_in_ = np.asarray(info["features"], dtype=object)
        self.selected_features_ = list(info["features"])
        self.feature_fill_, self.feature_mean_ = extra["feature_fill"], extra["feature_mean"]
        self.feature_scale_ = extra["feature_scale"]
        n_out = len(self.classes_) if self._task == "classification" else 1
        backbone = STGCN(self.layout_, n_out, config=self.config, edge_importance=self.edge_importance,
                         dropout=self.dropout)
        self.module_ = DualStream(backbone, len(self.feature_names_in_), n_out, fusion=self.fusion, dropout=self.dropout)


class DualStreamClassifier(ClassifierMixin, _DualStreamBase):
    """Seed 000's dual-stream GMFCS classifier: ST-GCN skeleton stream fused with clinical gait features.

    Parameters
    ----------
    features : "gradcam", "paper14", "paper24", "all" or list of str
        Clinical stream inputs. ``"gradcam"``: the regions whose joints the
        backbone's Grad-CAM rates at least ``cam_threshold`` (see
        :func:`models.explain.select_features`), chosen on the training clips.
    fusion : {"concat", "xattn"}
        Concatenation (seed 000 eq. 2) or sigmoid-gated cross-attention (eqs. 3-4).
    backbone : STGCNClassifier, optional
        A fitted ST-GCN to start from (its weights are copied, not changed);
        an unfitted one is cloned and trained; ``None`` trains one with the
        ``pretrain_*`` settings and this estimator's other settings.
    fps : float
        Frame rate used when the features are computed here from the clips.
    pretrain_epochs, pretrain_lr : int, float
        Backbone training when ``backbone`` is not fitted.
    epochs : int
        Fusion epochs in all (phase 1 plus phase 2; seed 000: 20).
    phase1_epochs : int
        Epochs with the whole skeleton stream frozen (seed 000: 3).
    lr : float
        Phase 1 learning rate (fusion module and head; seed 000: 1e-3).
    finetune_lr : float
        Phase 2 learning rate, last ``unfreeze_blocks`` blocks unfrozen (seed 000: 1e-4, 2 blocks).
    cache_frozen : bool
        Compute the frozen blocks' output for the validation clips once and
        share it, through the backbone estimator, with the other fusion
        variants trained from the same backbone.
    cam_threshold : float
        Region score (joint contributions in [0, 1], region = mean of its joints) needed for selection.
    cam_always : tuple of str
        Feature regions kept whatever the scores (default: the gait-cycle
        features, which joint-position saliency does not speak to).
    cam_clips : int
        Training clips (evenly spaced) used for Grad-CAM.

    The remaining parameters are those of :class:`STGCNClassifier`.

    Attributes
    ----------
    classes_, module_ (DualStream), history_, fit_seconds_
    selected_features_ : list of str
        The clinical features used.
    joint_contributions_ : ndarray (V,) or None
        Grad-CAM joint scores of the backbone (``features="gradcam"``).
    region_scores_ : Series or None
    feature_mean_, feature_scale_, feature_fill_ : ndarray
        Standardisation fitted on the training clips.
    """

    _backbone_class = STGCNClassifier

    def predict_proba(self, X, features=None):
        """Class probabilities ``(N, K)``; ``features`` as in :meth:`fit`."""
        logits = torch.from_numpy(self._predict_outputs(X, features))
        return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def predict(self, X, features=None):
        """Most probable class per clip."""
        return self.classes_[self.predict_proba(X, features).argmax(axis=1)]

    def score(self, X, y, sample_weight=None, features=None):
        """Accuracy."""
        from sklearn.metrics import accuracy_score

        return accuracy_score(y, self.predict(X, features), sample_weight=sample_weight)


class DualStreamRegressor(RegressorMixin, _DualStreamBase):
    """Dual-stream regressor (e.g. GDI); parameters as :class:`DualStreamClassifier`.

    ``features="gradcam"`` uses Grad-CAM of the regression output.
    """

    _task = "regression"
    _backbone_class = STGCNRegressor

    def predict(self, X, features=None):
        """Predicted target per clip."""
        return self._predict_outputs(X, features)[:, 0].astype(np.float64) * self.y_scale_ + self.y_mean_

    def score(self, X, y, sample_weight=None, features=None):
        """R²."""
        from sklearn.metrics import r2_score

        return r2_score(y, self.predict(X, features), sample_weight=sample_weight)
