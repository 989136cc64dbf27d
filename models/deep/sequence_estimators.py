"""Sequence regressors on pose clips: :class:`TemporalCNNRegressor` and :class:`CNNLSTMRegressor`.

scikit-learn-style estimators around the networks of
:mod:`models.deep.sequence`, trained by the same machinery as the ST-GCN
(:func:`~models.deep.training.fit_network`: Adam, cosine annealing, flip
and noise augmentation, early stopping on a patient-disjoint validation
set, seeds, CPU/GPU, safe save/load). On top:

Heads (``head``)
    ``"regression"`` (MSE on standardised targets) or ``"buckets"`` (softmax
    over ``n_bins`` bins per target; estimate = expected bin centre, and the
    distribution's SD as an uncertainty: ``predict(X, return_std=True)``);
    see :mod:`models.deep.heads`.
Several targets
    ``y`` ``(N, K)``: one network for all ``K``, each target standardised on
    its own; ``predict`` returns ``(N, K)`` (``(N,)`` for ``y`` ``(N,)``).
Linear correction (``correction="linear"``)
    Networks trained with a squared loss shrink their estimates towards the
    mean; Ł. Kidziński et al. ("Deep neural networks enable quantitative
    movement analysis using single-camera videos", Nat Commun 2020) removed
    this with a linear map fitted on the validation set's (video-level)
    predictions. Here: after training, per target ``k`` the least-squares
    line ``y ~ a_k + b_k * pred`` is fitted on the **validation**
    predictions only — ``eval_set`` or the internal patient-disjoint split,
    never the training clips and never anything seen at ``predict``. With
    ``eval_videos`` (the video ID of each ``eval_set`` clip), predictions and
    targets are first averaged per video, as Kidziński et al. fitted it on
    video-level predictions. ``predict`` returns ``a_k + b_k * pred``
    (``correction_`` ``(K, 2)`` holds ``[a_k, b_k]``), and the bucket head's
    spread is multiplied by ``|b_k|``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from gaitfeat.layouts import get_layout
from models.checks import short_repr
from models.deep.base import DeepEstimator
from models.deep.file_schema import PARAMS
from models.deep.heads import bucket_edges
from models.deep.inputs import prepare_clips
from models.deep.sequence import CNNLSTM, TemporalCNN
from models.deep.training import Phase, TensorSet, fit_network, predict_network, resolve_device, seeded

__all__ = ["TemporalCNNRegressor", "CNNLSTMRegressor", "CORRECTIONS"]

CORRECTIONS = ("none", "linear")

_PARAMS_DOC = """
    layout : {"coco17", "body25"}
    head : {"regression", "buckets"}
        Output head (:mod:`models.deep.heads`).
    n_bins : int
        Bins per target of the bucket head.
    correction : {"none", "linear"}
        ``"linear"``: per-target least-squares line fitted on the validation
        predictions after training (needs ``eval_set`` or ``groups``).
    epochs : int
        Maximum training epochs.
    lr : float
        Adam learning rate (cosine-annealed over the epochs).
    batch_size : int
    weight_decay : float
        Adam weight decay.
    early_stopping : bool
        Keep the weights of the best validation epoch (lowest RMSE of the
        estimates; several targets: mean standardised RMSE) and stop after
        ``patience`` epochs without improvement; needs ``eval_set`` or
        ``groups``. ``False``: every epoch trains and the last weights are kept.
    patience : int
    validation_fraction : float
        Share of patients held out when ``groups`` (not ``eval_set``) is given.
    flip : bool
        Left/right-swap augmentation (the image flip for direction-normalised clips).
    noise_std : float
        Gaussian coordinate noise (clip units: leg lengths).
    clips_per_epoch : int, optional
        Random subset of training clips per epoch (``None``: all).
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...
    random_state : int, optional
        Seeds initialisation, batch order, augmentation, dropout and the validation split.
    verbose : bool
        Print one line per epoch.

    Attributes
    ----------
    module_ : nn.Module
        The trained network (CPU, evaluation mode).
    y_mean_, y_scale_ : float or ndarray (K,)
        Target standardisation (arrays when ``y`` was ``(N, K)``).
    n_targets_ : int
    bin_edges_ : ndarray (K, n_bins + 1) or None
        The bucket head's bin edges (standardised units).
    correction_ : ndarray (K, 2) or None
        ``[a_k, b_k]`` of the linear correction (target units).
    history_ : list of dict
        Per-epoch training loss and validation scores.
    n_missing_keypoints_, n_frames_ : int
    fit_seconds_ : float
"""


class _SequenceRegressor(RegressorMixin, DeepEstimator):
    """What both sequence regressors share; subclasses set ``_network``, ``_schema_key`` and ``_arch_params``."""

    _task = "regression"
    _network = TemporalCNN
    _arch_params: tuple[str, ...] = ()
    _output_keys = ("head.linear.weight", "head.linear.bias")

    # ---- checks -----------------------------------------------------------------------------------
    def _check_params(self) -> None:
        self._check_common()
        spec = PARAMS[self._schema_key]
        for name in ("head", "correction"):          # the numeric ones are checked by _check_common
            expected = spec[name](getattr(self, name))
            if expected:
                raise ValueError(f"{name} must be {expected}, got {short_repr(getattr(self, name))}")

    def _needs_validation(self) -> bool:
        return bool(self.early_stopping) or self.correction == "linear"

    def _validation_use(self, off: bool = False) -> str:
        uses = [("early stopping", "early_stopping=False")] if self.early_stopping else []
        uses += [("the linear correction", "correction='none'")] if self.correction == "linear" else []
        return " and ".join(u[1] if off else u[0] for u in uses)

    def _build(self, n_targets: int):
        arch = {name: getattr(self, name) for name in self._arch_params}
        return self._network(self.layout_, n_targets, head=self.head, n_bins=int(self.n_bins),
                             widths=tuple(int(w) for w in self.widths), dropout=float(self.dropout), **arch)

    # ---- fit ----------------------------------------------------------------------------------------
    def fit(self, X, y, *, groups=None, eval_set=None, eval_videos=None):
        """Train on clips ``(N, T, V, C)``.

        Parameters
        ----------
        X : array (N, T, V, C)
            Preprocessed pose clips (x, y, confidence).
        y : array (N,) or (N, K)
            Targets (e.g. GDI; or GDI, speed, cadence ... as columns). No NaN.
        groups : array (N,), optional
            Patient IDs, for the internal patient-disjoint validation split
            (used when ``eval_set`` is not given).
        eval_set : tuple (X_val, y_val), optional
            Validation clips of other patients: early stopping and the linear correction.
        eval_videos : array (N_val,), optional
            Video ID of each ``eval_set`` clip: the correction is fitted on per-video means.
        """
        self._check_params()
        self.__dict__.pop("_fit_seed", None)
        self.layout_ = get_layout(self.layout).name
        clips, self.n_missing_keypoints_ = prepare_clips(X, self.layout_, zero=False)   # zeroed per batch
        self.n_frames_ = int(clips.shape[1])
        z = self._encode_fit(y)
        if len(z) != len(clips):
            raise ValueError(f"X has {len(clips)} clips but y has {len(z)} targets")
        if eval_videos is not None:
            if eval_set is None:
                raise ValueError("eval_videos names the videos of eval_set's clips; pass eval_set too")
            eval_videos = np.asarray(eval_videos)
            if eval_videos.shape != (len(eval_set[0]),) or pd.isna(pd.Series(eval_videos)).any():
                raise ValueError(f"eval_videos must hold one video ID per eval_set clip ({len(eval_set[0])}), "
                                 f"without missing values; got shape {eval_videos.shape}")
        tr, va, ev = self._split_validation(clips, y, groups, eval_set)
        train = TensorSet(torch.from_numpy(clips[tr]), z[tr])
        val, val_y = None, None                              # val_y: validation targets in target units (N_val, K)
        if va is not None:
            val = TensorSet(torch.from_numpy(clips[va]), z[va])
            val_y = self._target_matrix(y, "y")[0][va]
        elif ev is not None:
            xv, _ = prepare_clips(ev[0], self.layout_, zero=False)
            val = TensorSet(torch.from_numpy(xv), self._encode_val(ev[1])[0])
            val_y = self._target_matrix(ev[1], "eval_set targets")[0]
        mean, scale = self._target_stats()
        z_train = train.y.numpy().reshape(len(train), -1)
        self.bin_edges_ = bucket_edges(z_train, int(self.n_bins)) if self.head == "buckets" else None
        device = resolve_device(self.device)
        t0 = time.perf_counter()
        with seeded(self._seed(), device):
            self.module_ = self._build(self.n_targets_)
            if self.bin_edges_ is not None:
                self.module_.head.set_edges(self.bin_edges_)
            self.history_ = fit_network(
                self.module_, train, val if self.early_stopping else None, [Phase(int(self.epochs), float(self.lr), 0)],
                task="regression", layout=self.layout_, batch_size=int(self.batch_size),
                weight_decay=float(self.weight_decay), patience=self.patience if self.early_stopping else None,
                flip=self.flip, noise_std=float(self.noise_std), clips_per_epoch=self.clips_per_epoch, device=device,
                rng=np.random.default_rng(self._seed()), y_scale=self.y_scale_, verbose=self.verbose)
        self.module_.to("cpu").eval()
        self.correction_ = None
        if self.correction == "linear":
            pred = self._estimates(val.x, device)[0] * scale + mean
            self.correction_ = linear_correction(pred, val_y, eval_videos if ev is not None else None)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    # ---- prediction ---------------------------------------------------------------------------------
    def _estimates(self, clips: torch.Tensor, device) -> tuple[np.ndarray, np.ndarray | None]:
        """Standardised estimates ``(N, K)`` and (bucket head) spreads ``(N, K)`` for unzeroed clips."""
        self.module_.to(device)
        out = predict_network(self.module_, TensorSet(clips, torch.zeros(len(clips))), device)
        self.module_.to("cpu")
        head = self.module_.head
        spread = head.spread(out).numpy().astype(np.float64) if hasattr(head, "spread") else None
        return self.module_.estimate(out).numpy().astype(np.float64), spread

    def predict(self, X, return_std: bool = False):
        """Predicted targets ``(N,)`` (``y`` was 1-D in ``fit``) or ``(N, K)``, corrected when fitted so.

        Parameters
        ----------
        X : array (N, T, V, C)
        return_std : bool
            Also return the bucket head's spread (SD of the predicted
            distribution over bins, target units, times ``|b_k|`` when
            corrected), same shape as the estimates. The regression head has
            no spread: ``ValueError``.
        """
        check_is_fitted(self, "module_")
        if return_std and self.head != "buckets":
            raise ValueError(f"return_std=True needs head='buckets' (the spread of the bins' distribution); this "
                             f"estimator has head={self.head!r}, which predicts no uncertainty")
        clips, _ = prepare_clips(X, self.layout_, zero=False)
        est, spread = self._estimates(torch.from_numpy(clips), resolve_device(self.device))
        mean, scale = self._target_stats()
        pred = est * scale + mean
        if self.correction_ is not None:
            pred = self.correction_[:, 0] + self.correction_[:, 1] * pred
        if not self.multi_output_:
            pred = pred[:, 0]
        if not return_std:
            return pred
        sd = spread * scale * (np.abs(self.correction_[:, 1]) if self.correction_ is not None else 1.0)
        return pred, (sd if self.multi_output_ else sd[:, 0])

    # ---- save / load ---------------------------------------------------------------------------------
    def _extra_tensors(self) -> dict:
        extra = {}
        if self.bin_edges_ is not None:
            extra["bin_edges"] = np.asarray(self.bin_edges_, dtype=np.float32)
        if self.correction_ is not None:
            extra["correction"] = np.asarray(self.correction_, dtype=np.float64)
        return extra

    def _extra_shapes(self, info: dict) -> dict:
        k = len(info["y_mean"]) if isinstance(info["y_mean"], list) else 1
        shapes = {}
        if self.head == "buckets":
            shapes["bin_edges"] = (k, int(self.n_bins) + 1)
        if self.correction == "linear":
            shapes["correction"] = (k, 2)
        return shapes

    def _restore(self, info, extra) -> None:
        self.module_ = self._build(self.n_targets_)
        self.bin_edges_ = extra.get("bin_edges")
        self.correction_ = extra["correction"].astype(np.float64) if "correction" in extra else None
        if self.bin_edges_ is not None:
            self.module_.head.set_edges(self.bin_edges_)       # ValueError (-> ModelFileError) unless increasing


def linear_correction(pred: np.ndarray, true: np.ndarray, videos=None) -> np.ndarray:
    """Per-target least-squares line ``true ~ a + b * pred``: ``(K, 2)`` rows ``[a, b]``.

    Parameters
    ----------
    pred, true : array (N, K)
        Validation predictions and targets, target units.
    videos : array (N,), optional
        Video ID per clip: both are first averaged per video (one point per video).

    Notes
    -----
    Ordinary least squares (``numpy.linalg.lstsq`` on ``[1, pred]``). When a
    target's predictions are all equal the line is not identified; lstsq
    then returns the minimum-norm solution.
    """
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    if videos is not None:
        codes = pd.factorize(pd.Series(np.asarray(videos)), sort=True)[0]
        counts = np.bincount(codes)[:, None]
        pred = np.stack([np.bincount(codes, weights=c) for c in pred.T], 1) / counts
        true = np.stack([np.bincount(codes, weights=c) for c in true.T], 1) / counts
    if len(pred) < 2:
        raise ValueError(f"the linear correction needs validation predictions of at least 2 "
                         f"{'videos' if videos is not None else 'clips'}, got {len(pred)}")
    out = np.empty((pred.shape[1], 2))
    for k in range(pred.shape[1]):
        design = np.column_stack([np.ones(len(pred)), pred[:, k]])
        out[k] = np.linalg.lstsq(design, true[:, k], rcond=None)[0]
    return out


class TemporalCNNRegressor(_SequenceRegressor):
    __doc__ = """Temporal-CNN regressor on pose clips (:class:`~models.deep.sequence.TemporalCNN`; module docstring).

    Parameters
    ----------
    widths : sequence of int
        Channels of each convolution block (each halves time).
    kernel_size : int
        Temporal kernel, frames (odd).
    dropout : float
        Dropout around the dense layer.
""" + _PARAMS_DOC

    _network = TemporalCNN
    _schema_key = "TemporalCNN"
    _arch_params = ("kernel_size",)

    def __init__(self, *, layout="coco17", head="regression", n_bins=20, correction="none", widths=(32, 64, 64, 64),
                 kernel_size=5, dropout=0.2, epochs=30, lr=3e-3, batch_size=32, weight_decay=1e-4,
                 early_stopping=True, patience=5, validation_fraction=0.2, flip=True, noise_std=0.01,
                 clips_per_epoch=None, device="auto", random_state=None, verbose=False):
        self.layout = layout
        self.head = head
        self.n_bins = n_bins
        self.correction = correction
        self.widths = widths
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.flip = flip
        self.noise_std = noise_std
        self.clips_per_epoch = clips_per_epoch
        self.device = device
        self.random_state = random_state
        self.verbose = verbose


class CNNLSTMRegressor(_SequenceRegressor):
    __doc__ = """Per-frame encoder + LSTM regressor on pose clips (:class:`~models.deep.sequence.CNNLSTM`).

    Parameters
    ----------
    widths : sequence of int
        Widths of the per-frame encoder (an MLP shared over frames).
    hidden_size : int
        LSTM hidden units.
    frame_pool : int
        Consecutive frames averaged before the LSTM.
    dropout : float
        Dropout around the dense layer.
""" + _PARAMS_DOC

    _network = CNNLSTM
    _schema_key = "CNNLSTM"
    _arch_params = ("hidden_size", "frame_pool")

    def __init__(self, *, layout="coco17", head="regression", n_bins=20, correction="none", widths=(64, 64),
                 hidden_size=64, frame_pool=2, dropout=0.2, epochs=30, lr=3e-3, batch_size=32, weight_decay=1e-4,
                 early_stopping=True, patience=5, validation_fraction=0.2, flip=True, noise_std=0.01,
                 clips_per_epoch=None, device="auto", random_state=None, verbose=False):
        self.layout = layout
        self.head = head
        self.n_bins = n_bins
        self.correction = correction
        self.widths = widths
        self.hidden_size = hidden_size
        self.frame_pool = frame_pool
        self.dropout = dropout
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.flip = flip
        self.noise_std = noise_std
        self.clips_per_epoch = clips_per_epoch
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
