"""The skeleton-only baseline as scikit-learn-style estimators: :class:`STGCNClassifier`, :class:`STGCNRegressor`.

The ST-GCN of Yan, Xiong & Lin (AAAI 2018) trained end to end on pose clips
``(N, T, V, C)``, as the skeleton-only row of Table 3 of Yang, Chen & He
("Multimodal Fusion of Skeleton Dynamics and Clinical Gait Features for
Video-Based Cerebral Palsy Severity Assessment"). A fitted one is also the
backbone of the dual-stream estimators (:mod:`models.deep.dual_stream`),
which pass their :data:`SHARED_PARAMS` on to the backbone they train.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from gaitfeat.layouts import get_layout
from models.checks import check_clips, check_labels
from models.deep.base import DeepEstimator
from models.deep.cache import TrunkCache, digest, module_digest
from models.deep.inputs import prepare_clips
from models.deep.stgcn import STGCN, load_pretrained
from models.deep.training import Phase, TensorSet, fit_network, resolve_device, seeded

__all__ = ["STGCNClassifier", "STGCNRegressor", "STGCNBase", "SHARED_PARAMS", "RENAMED_PARAMS"]

#: Settings of the ST-GCN estimators that the dual-stream estimators have under the same name and pass
#: on to the backbone they train (the one place this list is written).
SHARED_PARAMS: tuple[str, ...] = (
    "layout", "config", "edge_importance", "dropout", "batch_size", "weight_decay", "early_stopping", "patience",
    "monitor", "validation_fraction", "flip", "noise_std", "class_weight", "clips_per_epoch", "cache", "device",
    "random_state",
)
#: Dual-stream parameter -> ST-GCN parameter, where the backbone's schedule has its own setting
#: (the dual-stream ``epochs`` and ``lr`` are those of the fusion training).
RENAMED_PARAMS: dict[str, str] = {"pretrain_epochs": "epochs", "pretrain_lr": "lr"}


class STGCNBase(DeepEstimator):
    """Skeleton-only ST-GCN trained end to end (base of the classifier and the regressor)."""

    def __init__(self, *, layout="coco17", config="compact", edge_importance=True, dropout=0.5, epochs=20,
                 lr=1e-3, batch_size=128, weight_decay=5e-5, early_stopping=True, patience=5, monitor="accuracy",
                 validation_fraction=0.2, flip=True, noise_std=0.01, class_weight=None, clips_per_epoch=None,
                 pretrained=None, cache=None, device="auto", random_state=None, verbose=False):
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
        self.cache = cache
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _build(self) -> STGCN:
        return STGCN(self.layout_, self._n_outputs(), config=self.config, edge_importance=self.edge_importance,
                     dropout=self.dropout)

    _output_keys = ("fcn.weight", "fcn.bias")

    def _restore(self, info, extra) -> None:
        self.module_ = self._build()

    def fit(self, X, y, *, groups=None, eval_set=None):
        """Train on clips ``(N, T, V, C)``.

        Parameters
        ----------
        X : array (N, T, V, C)
        y : array (N,) or, for the regressor, (N,) or (N, K)
            GMFCS levels (any labels) or, for the regressor, targets such as
            GDI (several columns: one network for all, per-target scaling).
        groups : array (N,), optional
            Patient IDs, for the internal patient-disjoint validation split.
        eval_set : tuple (X_val, y_val), optional
            Validation clips of other patients for early stopping.
        """
        self._check_common()
        self.__dict__.pop("_fit_seed", None)
        self.layout_ = get_layout(self.layout).name
        clips, self.n_missing_keypoints_ = prepare_clips(X, self.layout_, zero=False)   # zeroed per batch
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
            xv, _ = prepare_clips(ev[0], self.layout_, zero=False)
            yv, keep = self._encode_val(ev[1])
            val = TensorSet(torch.from_numpy(xv if keep.all() else xv[keep]), yv)
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
        return self

    def joint_contributions(self, X, y=None, *, method="gradcam", max_clips=None, cache: TrunkCache | None = None):
        """Per-joint contribution scores in [0, 1] (see :func:`models.deep.explain.joint_contributions`).

        Parameters
        ----------
        X : array (N, T, V, C)
        y : array (N,), optional
            True labels: each clip's map explains its own class (clips of a
            class the model never saw are dropped); default: the predicted class.
        method : {"gradcam", "cam"}
        max_clips : int, optional
            Use at most this many clips, evenly spaced.
        cache : TrunkCache, optional
            Where the answer is looked up and stored (keyed by the weights,
            the clips and the targets); default: the ``cache`` parameter.
        """
        from models.deep.explain import clip_attributions, joint_contributions

        check_is_fitted(self, "module_")
        if max_clips is not None and not (isinstance(max_clips, (int, np.integer)) and max_clips >= 1):
            raise ValueError(f"max_clips must be a positive integer or None, got {max_clips!r}")
        checked = check_clips(X, what="X", min_channels=3)      # every clip is checked, only the chosen ones copied
        rows, target = np.arange(len(checked)), None
        if y is not None and self._task == "classification":
            check_labels(y)
            y = np.asarray(y)
            if y.shape != (len(checked),):
                raise ValueError(f"y must have one label per clip ({len(checked)}), got shape {y.shape}")
            keep = np.isin(y, self.classes_)
            if not keep.any():
                raise ValueError(f"none of the labels in y is a class the model knows ({list(self.classes_)})")
            rows, target = rows[keep], np.searchsorted(self.classes_, y[keep])
        if max_clips is not None and len(rows) > max_clips:
            pick = np.linspace(0, len(rows) - 1, max_clips).round().astype(int)
            rows = rows[pick]
            target = target[pick] if target is not None else None
        clips, _ = prepare_clips(checked[rows], self.layout_)
        cache = cache if cache is not None else self.cache
        if cache is None:
            return joint_contributions(clip_attributions(self.module_, clips, target=target, method=method))
        # Several fusion variants ask the same fold's backbone the same question: answer it once.
        key = ("contributions", module_digest(self.module_), method, digest(clips),
               None if target is None else digest(np.asarray(target)))
        scores = cache.cached(key, lambda: joint_contributions(clip_attributions(self.module_, clips, target=target,
                                                                                 method=method)))
        return scores.copy()


class STGCNClassifier(ClassifierMixin, STGCNBase):
    """ST-GCN GMFCS classifier on pose clips (the skeleton-only baseline of Yang, Chen & He).

    Parameters
    ----------
    layout : {"coco17", "body25"}
    config : {"compact", "paper"}
        Network size, see :mod:`models.deep.stgcn`.
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
        Validation criterion (Yang, Chen & He select on accuracy; ties go to the lower loss).
    validation_fraction : float
        Share of patients held out when ``groups`` (not ``eval_set``) is given.
    flip : bool
        Left/right-swap augmentation (the image flip for direction-normalised clips).
    noise_std : float
        Gaussian coordinate noise (clip units: leg lengths). The default
        0.01 corresponds to Yang, Chen & He's 2 px for a leg about 200 px long.
    class_weight : None or "balanced"
        Inverse-frequency class weights in the cross-entropy: each class gets
        ``n / (K * n_class)``, the per-clip value of
        ``compute_sample_weight("balanced", y)``; the loss is the weighted
        mean over each batch, so only the ratios between classes matter. The
        estimators take no ``sample_weight``.
    clips_per_epoch : int, optional
        Random subset of training clips per epoch (``None``: all).
    pretrained : str or Path, optional
        Local checkpoint of the original ST-GCN to start from (see
        :func:`models.deep.stgcn.load_pretrained`); ``load_report_`` says what was used.
    cache : TrunkCache, optional
        Shared store for :meth:`joint_contributions` answers (see
        :class:`models.deep.cache.TrunkCache`); ``None``: nothing is cached.
        Never changes a result.
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
        check_is_fitted(self, "module_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class STGCNRegressor(RegressorMixin, STGCNBase):
    """ST-GCN regressor (e.g. GDI) on pose clips; same parameters as :class:`STGCNClassifier`.

    The target is standardised for training (``y_mean_``, ``y_scale_``);
    the loss is the mean squared error and early stopping watches the
    validation RMSE. ``y`` may hold ``K`` targets ``(N, K)``: one network
    with ``K`` outputs, each target standardised on its own (``y_mean_``,
    ``y_scale_`` arrays ``(K,)``), the loss the MSE over all of them, early
    stopping on the mean of their standardised RMSEs, and ``predict``
    returning ``(N, K)`` (see :func:`models.deep.training.fit_network`).
    """

    _task = "regression"

    def predict(self, X):
        """Predicted target per clip: ``(N,)``, or ``(N, K)`` when ``fit`` had ``K`` targets ``(N, K)``."""
        check_is_fitted(self, "module_")
        return self._to_target_units(self._predict_outputs(X))
