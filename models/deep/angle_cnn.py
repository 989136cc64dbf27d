"""A 1-D CNN over per-gait-cycle joint-angle curves, and its scikit-learn-style classifier.

The second kind of network the explanation study explains, after the
ST-GCN: like those of Z. Lan, M. Lempereur, A. Aïssa-El-Bey et al.,
"Quantitative comparison of explainable AI methods for interpreting deep
learning-based classification of 3D gait kinematics" (Sci Rep 2026), its
input is joint-angle curves time-normalised to one gait cycle (101 samples,
:func:`gaitfeat.features.angle_curves.angle_curves`), one input channel per
angle, so that attributions land on (angle, % of cycle) cells::

    curves (N, A, S) --[Conv1d -> BatchNorm -> ReLU -> MaxPool(2)] x (B-1)
                     --[Conv1d -> BatchNorm -> ReLU]--> (N, C, S')
                     --mean over S'--> f (N, d) --Dropout -> Linear--> logits (N, K)

Every nonlinearity is its own ``nn.ReLU`` module (none reused, no ``F.relu``):
captum's DeepLift assigns its rules per module call. :class:`AngleCNN` has the
network interface of :mod:`models.deep.fusion` on 1-D maps: ``trunk`` returns
``(N, C', S')`` (no joint axis); the head is linear in the pooled embedding
(CAM: ``logit = W mean(map) + b``).
"""

from __future__ import annotations

import copy
import numbers
from contextlib import contextmanager
import time
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn
from torch.nn import functional as F

from gaitfeat.features.angle_curves import AngleCurves, angle_curves, channel_indices
from gaitfeat.layouts import get_layout
from models.checks import check_fps, check_labels, short_repr
from models.deep.inputs import patient_validation_split
from models.deep.training import seeded

__all__ = ["AngleCNN", "AngleCNNClassifier"]


class AngleCNN(nn.Module):
    """Small 1-D CNN over angle curves ``(N, A, S)``: channels are angles, S samples per cycle.

    Parameters
    ----------
    n_channels : int
        Angles A.
    n_outputs : int
        Classes K.
    widths : tuple of int
        Output channels of each convolution block; every block but the last
        halves the time axis (max pooling).
    kernel_size : int
        Odd temporal kernel (samples; 5 = 5 % of the cycle at S = 101).
    dropout : float
        Dropout before the linear head.
    """

    def __init__(self, n_channels: int, n_outputs: int, *, widths=(16, 32, 32), kernel_size: int = 5,
                 dropout: float = 0.2):
        super().__init__()
        if n_channels < 1 or n_outputs < 1 or not widths:
            raise ValueError("AngleCNN needs at least one input channel, one output and one block")
        self.n_outputs = int(n_outputs)
        blocks, c_in = [], int(n_channels)
        for i, width in enumerate(widths):
            layers = [nn.Conv1d(c_in, int(width), kernel_size, padding=kernel_size // 2, bias=False),
                      nn.BatchNorm1d(int(width)), nn.ReLU()]          # a new ReLU per block (DeepLift)
            if i < len(widths) - 1:
                layers.append(nn.MaxPool1d(2))
            blocks.append(nn.Sequential(*layers))
            c_in = int(width)
        self.blocks = nn.ModuleList(blocks)
        self.embedding_dim = c_in
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c_in, self.n_outputs))

    # ---- the network interface (see models.deep.fusion) ------------------------------------------
    takes_features = False
    layout = None          # the input is angle curves, not clips of a skeleton layout

    @property
    def n_blocks(self) -> int:
        """Number of convolution blocks."""
        return len(self.blocks)

    def trunk(self, x: torch.Tensor, stop: int | None = None) -> torch.Tensor:
        """Output of the first ``stop`` blocks (all by default): ``(N, A, S)`` -> ``(N, C', S')``.

        With ``stop = n_blocks`` this is the last block's map over the cycle that CAM and Grad-CAM weight.
        """
        stop = self.n_blocks if stop is None else stop
        for block in self.blocks[:stop]:
            x = block(x)
        return x

    def embed(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Embedding ``(N, d)``: blocks ``start..``, then the mean over the cycle; ``x`` is ``trunk(curves, start)``."""
        for block in self.blocks[start:]:
            x = block(x)
        return x.mean(dim=2)

    def output(self, f_s: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(N, K)`` from an embedding ``(N, d)``; the network takes no clinical features."""
        if features is not None:
            raise ValueError("an AngleCNN takes no clinical features")
        return self.head(f_s)

    def output_weights(self) -> torch.Tensor:
        """Weights ``(K, d)`` of the linear head (CAM projects them onto the last block's map)."""
        return self.head[-1].weight

    def frozen_modules(self, n_frozen: int) -> list[nn.Module]:
        """The first ``n_frozen`` blocks (evaluation mode while frozen)."""
        return list(self.blocks[:max(n_frozen, 0)])

    def frozen_parameters(self, n_frozen: int) -> list[nn.Parameter]:
        """Parameters of the first ``n_frozen`` blocks."""
        return [p for m in self.frozen_modules(n_frozen) for p in m.parameters()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, A, S) standardised curves -> blocks (N, C', S') -> mean (N, d) -> logits (N, K)
        return self.output(self.embed(x))


@contextmanager
def _torch_threads(n: int):
    """torch's intra-op threads set to ``n`` inside the block, restored afterwards (tiny convolutions gain little
    from a second thread; on a busy 2-core machine, spin-waiting threads made a fit 70 times slower)."""
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {short_repr(value)}")
    return int(value)


class AngleCNNClassifier(ClassifierMixin, BaseEstimator):
    """GMFCS (or any) classifier on pose clips through their per-cycle joint-angle curves and an :class:`AngleCNN`.

    ``fit`` computes each clip's curves (:func:`~gaitfeat.features.angle_curves.angle_curves`),
    standardises every angle channel with the training clips' mean and SD
    over all samples (one pair per channel, so a channel's shape over the
    cycle is kept), sets channels without a usable stride (NaN) to 0 — the
    channel's training mean — and trains with Adam and cross-entropy,
    keeping the weights of the best validation epoch (patient-disjoint
    validation: ``eval_set`` or ``groups``). Everything runs on the CPU and
    is deterministic for an integer ``random_state``.

    Parameters
    ----------
    fps : float
        Frame rate of the clips (frames/s); ``fit``/``predict`` take ``fps=`` to override it.
    layout : {"coco17", "body25"}
        BODY_25 adds the ankle channels.
    channels : sequence of str, optional
        Angle channels to use (names of :func:`~gaitfeat.features.angle_curves.angle_channels`);
        default all. They are used in that function's order whatever order is given.
    points : int
        Samples per cycle (101: 0-100 % in 1 % steps).
    widths, kernel_size, dropout
        The network (:class:`AngleCNN`).
    epochs, lr, weight_decay, batch_size
        Training: most epochs; Adam's learning rate and weight decay; clips per batch.
    early_stopping : bool
        Keep the best validation epoch and stop after ``patience`` epochs
        without improvement; needs ``eval_set`` or ``groups``.
    patience : int
    monitor : {"loss", "accuracy"}
        Validation criterion (ties go to the other one).
    validation_fraction : float
        Share of patients held out when ``groups`` (not ``eval_set``) is given.
    class_weight : None or "balanced"
        Inverse-frequency class weights in the cross-entropy.
    n_threads : int
        torch threads while fitting and predicting (restored afterwards).
    random_state : int, RandomState or None
        Seeds initialisation, batch order, dropout and the validation split.
    verbose : bool
        Print one line per epoch.

    Attributes
    ----------
    classes_, channels_ : ndarray, tuple of str
    mean_, scale_ : ndarray (A,)
        Per-channel standardisation (deg).
    n_without_strides_ : int
        Training clips (``X`` of ``fit``) without any complete stride: every
        channel filled with 0 (their prediction is the network's answer to
        "no gait cycle seen").
    n_filled_ : ndarray int (A,)
        Training clips in which each channel had no usable stride of its
        side (a clip with strides of one foot only lacks the other side's
        channels) and was filled with 0.
    module_ : AngleCNN
        The trained network (evaluation mode); ``module_(attribution_inputs(X)[0])`` are the logits.
    history_ : list of dict
        Per-epoch training loss and validation scores.
    fit_seconds_ : float
    """

    def __init__(self, *, fps=30.0, layout="coco17", channels=None, points=101, widths=(16, 32, 32), kernel_size=5,
                 dropout=0.2, epochs=40, lr=1e-3, weight_decay=1e-4, batch_size=64, early_stopping=True,
                 patience=8, monitor="loss", validation_fraction=0.2, class_weight=None, n_threads=1,
                 random_state=None, verbose=False):
        self.fps = fps
        self.layout = layout
        self.channels = channels
        self.points = points
        self.widths = widths
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.patience = patience
        self.monitor = monitor
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    # ---- checks and inputs -------------------------------------------------------------------
    def _check_params(self) -> None:
        check_fps(self.fps, "fps")
        get_layout(self.layout)
        for name, low in (("points", 2), ("kernel_size", 1), ("epochs", 1), ("batch_size", 2), ("patience", 1),
                          ("n_threads", 1)):
            _positive_int(getattr(self, name), name, low)
        widths = self.widths
        if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__") or not len(widths):
            raise ValueError(f"widths must be a non-empty sequence of positive integers, got {short_repr(widths)}")
        for w in widths:
            _positive_int(w, "each of widths")
        if self.points < 2 ** (len(widths) - 1):
            raise ValueError(f"points={self.points} is too few for {len(widths)} blocks (each but the last halves it)")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (the output keeps the input's length), got {self.kernel_size}")
        for name, lo, hi, text in (("lr", 1e-12, np.inf, "positive"), ("dropout", 0.0, 1.0, "in [0, 1)"),
                                   ("weight_decay", 0.0, np.inf, "non-negative"),
                                   ("validation_fraction", 1e-9, 1.0, "in (0, 1)")):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not (isinstance(value, numbers.Real) and lo <= value < hi):
                raise ValueError(f"{name} must be {text}, got {short_repr(value)}")
        if not (isinstance(self.monitor, str) and self.monitor in ("loss", "accuracy")):
            raise ValueError(f"monitor must be 'loss' or 'accuracy', got {short_repr(self.monitor)}")
        if not (self.class_weight is None or (isinstance(self.class_weight, str) and self.class_weight == "balanced")):
            raise ValueError(f"class_weight must be None or 'balanced', got {short_repr(self.class_weight)}")
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise ValueError(f"early_stopping must be True or False, got {short_repr(self.early_stopping)}")
        rs = self.random_state
        if isinstance(rs, (bool, np.bool_)) or (isinstance(rs, numbers.Integral) and not 0 <= rs < 2**32):
            raise ValueError(f"random_state must be an integer in [0, 2**32 - 1], a RandomState or None, "
                             f"got {short_repr(rs)}")

    def _angle_curves(self, X, fps) -> AngleCurves:
        """``X`` as :class:`AngleCurves` of the estimator's layout and points (computed from clips if needed)."""
        layout = get_layout(self.layout).name
        if isinstance(X, AngleCurves):
            if X.layout != layout or X.points != self.points:
                raise ValueError(f"the AngleCurves are for layout {X.layout!r} with {X.points} points; this estimator "
                                 f"uses {layout!r} with {self.points}")
            return X
        rate = check_fps(self.fps if fps is None else fps, "fps")
        return angle_curves(X, rate, layout, points=int(self.points))

    def _inputs(self, X, fps) -> np.ndarray:
        """Standardised curves ``(N, A, S)`` float32, NaN (no usable stride) set to 0."""
        curves = self._angle_curves(X, fps)
        raw = curves.curves[:, channel_indices(curves.channels, self.channels_)]
        z = (raw - self.mean_[None, :, None]) / self.scale_[None, :, None]
        return np.nan_to_num(z, nan=0.0).astype(np.float32)

    # ---- fit ------------------------------------------------------------------------------------
    def fit(self, X, y, *, groups=None, eval_set=None, fps=None):
        """Train on pose clips ``(N, T, V, C)`` (or their :class:`AngleCurves`).

        Parameters
        ----------
        X : array (N, T, V, C) or AngleCurves
            Preprocessed clips, or curves from
            :func:`~gaitfeat.features.angle_curves.angle_curves` (computed once,
            e.g. by :func:`models.angle_selection.select_angle_channels`).
        y : array (N,)
            Class labels.
        groups : array (N,), optional
            Patient IDs, for the internal patient-disjoint validation split.
        eval_set : tuple (X_val, y_val), optional
            Validation clips (or curves) of other patients for early stopping.
        fps : float, optional
            Frame rate of ``X``'s and ``eval_set``'s clips; default ``self.fps``.
            (Clips of several rates: pass their ``AngleCurves``.)
        """
        self._check_params()
        check_labels(y)
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
        curves = self._angle_curves(X, fps)
        if len(curves) != len(y):
            raise ValueError(f"X has {len(curves)} clips but y has {len(y)} labels")
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y has a single class ({self.classes_[0]!r}); nothing to classify")
        wanted = curves.channels if self.channels is None else self.channels
        idx = sorted(channel_indices(curves.channels, wanted))
        self.channels_ = tuple(curves.channels[i] for i in idx)
        raw = curves.curves[:, idx]
        if np.isnan(raw).all():
            raise ValueError("no training clip has a complete stride with the chosen angles; nothing to learn from")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)            # a channel no clip has: handled below
            mean, sd = np.nanmean(raw, axis=(0, 2)), np.nanstd(raw, axis=(0, 2))
        self.mean_ = np.where(np.isfinite(mean), mean, 0.0).astype(np.float64)
        self.scale_ = np.where(np.isfinite(sd) & (sd > 1e-6), sd, 1.0).astype(np.float64)
        z = self._inputs(curves, fps)
        self.n_without_strides_ = curves.n_without_strides
        self.n_filled_ = np.isnan(raw).all(axis=2).sum(axis=0)
        rs = self.random_state
        seed = int(rs) if isinstance(rs, numbers.Integral) else int(check_random_state(rs).randint(2**31 - 1))
        tr, val = self._validation(z, codes, y, groups, eval_set, fps, seed)
        t0 = time.perf_counter()
        with seeded(seed, torch.device("cpu")), _torch_threads(self.n_threads):
            self.module_ = AngleCNN(len(self.channels_), len(self.classes_), widths=tuple(self.widths),
                                    kernel_size=int(self.kernel_size), dropout=float(self.dropout))
            self.history_ = self._train(torch.from_numpy(z[tr]), torch.from_numpy(codes[tr].astype(np.int64)), val,
                                        np.random.default_rng(seed))
        self.module_.eval()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _validation(self, z, codes, y, groups, eval_set, fps, seed):
        """Training rows and the validation tensors (or None): ``eval_set``, a patient split of ``groups``, or none."""
        if eval_set is not None:
            if not (isinstance(eval_set, (tuple, list)) and len(eval_set) == 2):
                raise ValueError("eval_set must be a tuple (X_val, y_val)")
            check_labels(eval_set[1], what="eval_set labels")
            y_val = np.asarray(eval_set[1])
            z_val = self._inputs(eval_set[0], fps)
            if len(z_val) != len(y_val):
                raise ValueError(f"eval_set has {len(z_val)} clips but {len(y_val)} labels")
            keep = np.isin(y_val, self.classes_)         # a class no training clip has cannot be scored
            if not keep.any():
                raise ValueError("eval_set has no clip of a class seen in training")
            val_codes = np.searchsorted(self.classes_, y_val[keep])
            return np.arange(len(z)), (torch.from_numpy(z_val[keep]), torch.from_numpy(val_codes.astype(np.int64)))
        if not self.early_stopping:
            return np.arange(len(z)), None
        if groups is None:
            raise ValueError("early stopping needs a validation set of other patients: pass eval_set=(X_val, y_val) "
                             "or groups=<patient IDs>, or set early_stopping=False")
        tr, va = patient_validation_split(y, groups, float(self.validation_fraction), seed, stratify=True)
        return tr, (torch.from_numpy(z[va]), torch.from_numpy(codes[va].astype(np.int64)))

    def _train(self, x: torch.Tensor, y: torch.Tensor, val, rng: np.random.Generator) -> list[dict]:
        """Adam + cross-entropy over mini-batches; with ``val``, keep the best epoch and stop after ``patience``."""
        net, batch = self.module_, int(self.batch_size)
        weights = None
        if self.class_weight == "balanced":
            counts = np.bincount(y.numpy(), minlength=len(self.classes_)).astype(float)
            weights = torch.as_tensor(len(y) / (len(counts) * np.maximum(counts, 1)), dtype=torch.float32)
        opt = torch.optim.Adam(net.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
        history, best_key, best_state, since_best = [], None, None, 0
        for epoch in range(1, int(self.epochs) + 1):
            net.train()
            order = rng.permutation(len(y))
            total, count = 0.0, 0
            for b in range(0, len(order), batch):
                idx = torch.from_numpy(np.sort(order[b:b + batch]))
                if len(idx) < 2:          # batch norm needs two samples
                    continue
                loss = F.cross_entropy(net(x[idx]), y[idx], weight=weights)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                count += len(idx)
            row = {"epoch": epoch, "train_loss": total / max(count, 1)}
            if val is not None:
                net.eval()
                with torch.no_grad():
                    out = net(val[0])
                loss = float(F.cross_entropy(out, val[1]))
                acc = float((out.argmax(1) == val[1]).float().mean())
                row.update(val_loss=loss, val_accuracy=acc)
                key = (-loss, acc) if self.monitor == "loss" else (acc, -loss)
                if best_key is None or key > best_key:
                    best_key, best_state, since_best = key, copy.deepcopy(net.state_dict()), 0
                    row["best"] = True
                else:
                    since_best += 1
            history.append(row)
            if self.verbose:
                print("  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
            if val is not None and self.early_stopping and since_best >= int(self.patience):
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        return history

    # ---- prediction and attribution ---------------------------------------------------------------
    def _logits(self, X, fps) -> torch.Tensor:
        check_is_fitted(self, "module_")
        z = self._inputs(X, fps)
        self.module_.eval()
        with torch.no_grad(), _torch_threads(self.n_threads):
            return self.module_(torch.from_numpy(z))

    def predict_proba(self, X, *, fps=None) -> np.ndarray:
        """Class probabilities ``(N, K)`` in the order of ``classes_``."""
        return torch.softmax(self._logits(X, fps), dim=1).numpy().astype(np.float64)

    def predict(self, X, *, fps=None) -> np.ndarray:
        """Most probable class per clip."""
        codes = self._logits(X, fps).argmax(dim=1).numpy()
        return self.classes_[codes]

    def attribution_inputs(self, X, *, fps=None) -> tuple[torch.Tensor]:
        """``(curves,)``: the standardised, NaN-filled float32 tensor ``(N, A, S)`` exactly as ``module_`` sees it."""
        check_is_fitted(self, "module_")
        return (torch.from_numpy(self._inputs(X, fps)),)

    def attribution_groups(self, n_bins: int = 10) -> np.ndarray:
        """Feature groups for LIME / occlusion: ``(A, S)`` int ids ``channel * n_bins + bin``.

        Bin ``k`` holds the samples from ``100 k / n_bins`` % of the cycle up
        to the next bin's start; the last bin also holds the 100 % sample.
        """
        check_is_fitted(self, "module_")
        S = int(self.points)
        n_bins = _positive_int(n_bins, "n_bins")
        if n_bins > S:
            raise ValueError(f"n_bins must be at most the {S} samples per cycle, got {n_bins}")
        bins = np.minimum((np.arange(S) * n_bins) // (S - 1), n_bins - 1)
        return np.arange(len(self.channels_))[:, None] * n_bins + bins[None, :]
