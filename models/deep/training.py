"""Training loop shared by the deep estimators on pose clips (ST-GCN, dual-stream, sequence regressors).

The recipe of Yang, Chen & He ("Multimodal Fusion of Skeleton Dynamics and
Clinical Gait Features for Video-Based Cerebral Palsy Severity Assessment"),
with every constant a parameter of the caller: phases (each with its number
of epochs, learning rate and the number of leading ST-GCN blocks kept
frozen), Adam with weight decay, cosine annealing within each phase,
cross-entropy with optional class weights (for regression the mean
squared error over all targets, or the network's own ``loss``),
left/right-flip (:func:`flip_clips`) and Gaussian-noise augmentation, and
early stopping on a patient-disjoint validation set that restores the best
weights.

The loop sees the network only through the interface shared by
:class:`~models.deep.stgcn.STGCN`, :class:`~models.deep.fusion.DualStream`
and the sequence networks of :mod:`models.deep.sequence` (``trunk``,
``embed``, ``output``, ``frozen_modules``, ``frozen_parameters``; listed in
:mod:`models.deep.fusion`), plus the optional ``loss(out, y)`` and
``estimate(out)`` of a regression head (:mod:`models.deep.heads`).

Frozen blocks run in evaluation mode (fixed batch-norm statistics, no
dropout) and outside autograd, so their output for a clip never changes
while they stay frozen. With a :class:`~models.deep.cache.TrunkCache`, their
output for the validation clips is computed once and reused every epoch —
and across the fusion variants that share one trained backbone. Training
clips are augmented, so they always go through the frozen blocks afresh.
"""

from __future__ import annotations

import copy
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from gaitfeat.layouts import get_layout
from models.deep.cache import TrunkCache

__all__ = ["Phase", "TensorSet", "flip_clips", "fit_network", "predict_network", "resolve_device", "seeded",
           "eval_batch", "training_progress", "zero_missing_batch"]


def zero_missing_batch(x: torch.Tensor) -> torch.Tensor:
    """Clips ``(B, T, V, C)`` with every channel of missing keypoints set to 0 (a new tensor).

    Missing: x or y NaN, or (with a confidence channel) confidence not > 0 —
    the rule of :func:`models.deep.prepare_clips`. The estimators keep their
    clips unzeroed (no copy of the training fold) and zero each batch here.
    """
    valid = ~(torch.isnan(x[..., 0]) | torch.isnan(x[..., 1]))
    if x.shape[-1] >= 3:
        valid &= x[..., 2] > 0
    return torch.where(valid[..., None], x, torch.zeros((), dtype=x.dtype))


def eval_batch(device: torch.device) -> int:
    """Clips per forward pass when nothing is trained (validation, prediction, cached trunks).

    64 on a CPU: the compact ST-GCN's activations for 64 clips stay in the
    caches, and larger batches cost up to twice as much per clip there
    (0.54 ms per clip at 64, 0.9-1.1 ms at 256 on 2 cores); 256 on an accelerator.
    """
    return 64 if device.type == "cpu" else 256


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; "cpu", "cuda", "cuda:<n>" or "mps" as named.

    Raises ``ValueError`` for any other name and for a device this machine
    lacks (no fallback: set ``device="cpu"`` or ``"auto"``, e.g. with
    ``est.set_params(device="cpu")`` after loading a model trained on a GPU).
    """
    from models.deep.file_schema import check_device

    if check_device(device):
        raise ValueError(f"device must be {check_device(device)}, got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    fix = "; use device='cpu' or 'auto' (after loading: est.set_params(device='cpu'))"
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available{fix}")
    if dev.type == "cuda" and (dev.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} requested but this machine has {torch.cuda.device_count()} CUDA "
                         f"device(s){fix}")
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"device {device!r} requested but MPS is not available{fix}")
    return dev


class seeded:
    """Context manager: torch's global generators forked and seeded, restored afterwards.

    Layer initialisation and dropout draw from torch's global generator; this
    makes them a function of ``random_state`` without leaving the caller's
    global state changed.
    """

    def __init__(self, random_state: int, device: torch.device):
        self.random_state = int(random_state)
        self.devices = [device.index or 0] if device.type == "cuda" else []
        self._ctx = None

    def __enter__(self):
        self._ctx = torch.random.fork_rng(devices=self.devices)
        self._ctx.__enter__()
        torch.manual_seed(self.random_state)
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def flip_clips(x: np.ndarray | torch.Tensor, layout, *, mirror: bool = False):
    """Left/right-swapped copy of clips ``(..., V, C)``.

    Parameters
    ----------
    x : array or tensor ``(N, T, V, C)``
    layout : str or SkeletonLayout
    mirror : bool
        Also negate the horizontal coordinate (channel 0). A horizontal image
        flip mirrors the picture *and* turns the subject's left side into the
        right one; after this package's orientation step (every clip walks
        towards +x) the mirrored clip is turned back, which leaves only the
        swap. So ``mirror=False`` is the image flip for direction-normalised
        clips, ``mirror=True`` for raw ones.
    """
    idx = np.array(get_layout(layout).flip_index)
    out = x[..., idx, :]
    if mirror:
        out = out.clone() if isinstance(out, torch.Tensor) else out.copy()
        out[..., 0] = -out[..., 0]
    return out


_PROGRESS: ContextVar = ContextVar("gaitfeat_training_progress", default=None)


@contextmanager
def training_progress(callback):
    """Have :func:`fit_network` report its progress to ``callback`` while the block runs.

    ``callback(info)`` is called before every training batch and before each
    validation pass with ``info = {"phase", "epoch", "epochs", "batch",
    "batches", "stage"}`` (``epochs``: the most the phases allow; ``stage``:
    ``"train"`` or ``"validate"``). It is how the harness moves its progress
    bar inside a network's training (and how a Dask worker reports it); the
    callback must be cheap and must not raise. The setting is a context
    variable, so concurrent threads each see their own.
    """
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


@dataclass
class TensorSet:
    """Clips (or cached block outputs), optional features and targets, on the CPU."""

    x: torch.Tensor                  # (N, T, V, C) clips, or (N, C', T', V) cached block outputs
    y: torch.Tensor                  # (N,) int64 class codes, or float32 standardised targets (N,) or (N, K)
    features: torch.Tensor | None = None   # (N, F) standardised

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class Phase:
    """One training phase.

    Parameters
    ----------
    epochs : int
    lr : float
    frozen_blocks : int
        Leading ST-GCN blocks kept frozen (0: the whole network trains; the
        number of blocks: the whole skeleton stream is frozen). The input
        batch norm trains only when no block is frozen.
    """

    epochs: int
    lr: float
    frozen_blocks: int = 0


def _outputs(net: nn.Module, x: torch.Tensor, features: torch.Tensor | None, start: int) -> torch.Tensor:
    """Head outputs from clips (``start == 0``) or from the cached output of block ``start - 1``."""
    return net.output(net.embed(x, start), features)


def _set_trainable(net: nn.Module, frozen_blocks: int) -> list[nn.Parameter]:
    for p in net.parameters():
        p.requires_grad_(True)
    for p in net.frozen_parameters(frozen_blocks):
        p.requires_grad_(False)
    return [p for p in net.parameters() if p.requires_grad]


def _train_mode(net: nn.Module, frozen_blocks: int) -> None:
    net.train()
    for module in net.frozen_modules(frozen_blocks):
        module.eval()


@torch.no_grad()
def _trunk(net: nn.Module, x: torch.Tensor, stop: int, device: torch.device, batch_size: int) -> torch.Tensor:
    """Output of the first ``stop`` blocks (evaluation mode) for clips ``x``, on the CPU."""
    net.eval()
    return torch.cat([net.trunk(zero_missing_batch(x[i:i + batch_size]).to(device), stop).cpu()
                      for i in range(0, len(x), batch_size)])


@torch.no_grad()
def predict_network(net: nn.Module, data: TensorSet, device: torch.device, batch_size: int | None = None,
                    start: int = 0) -> torch.Tensor:
    """Head outputs for a data set, evaluation mode, on the CPU ``(N, K)`` (``batch_size``: :func:`eval_batch`)."""
    net.eval()
    batch_size = batch_size or eval_batch(device)
    out = []
    for i in range(0, len(data), batch_size):
        feats = data.features[i:i + batch_size].to(device) if data.features is not None else None
        xb = data.x[i:i + batch_size]
        xb = zero_missing_batch(xb) if start == 0 else xb          # clips, not cached block outputs
        out.append(_outputs(net, xb.to(device), feats, start).float().cpu())
    return torch.cat(out) if out else torch.zeros((0, 1))


def _regression_loss(net: nn.Module, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The network's own ``loss(out, y)`` when it has one (e.g. the bucket head), else the MSE over all targets."""
    if hasattr(net, "loss"):
        return net.loss(out, y)
    if y.ndim == 1:
        return F.mse_loss(out[:, 0], y)       # one target: the expression of the single-output estimators
    return F.mse_loss(out, y)


def _val_score(net, val: TensorSet, task: str, device, batch_size, start, monitor, y_scale) -> dict:
    out = predict_network(net, val, device, batch_size, start)
    if task == "classification":
        loss = float(F.cross_entropy(out, val.y))
        acc = float((out.argmax(1) == val.y).float().mean())
        key = (acc, -loss) if monitor == "accuracy" else (-loss, acc)
        return {"val_loss": loss, "val_accuracy": acc, "_key": key}
    est = net.estimate(out) if hasattr(net, "estimate") else out        # (N, K) standardised
    if val.y.ndim == 1:
        rmse = float(torch.sqrt(F.mse_loss(est[:, 0], val.y))) * float(np.asarray(y_scale).reshape(-1)[0])
        return {"val_rmse": rmse, "_key": (-rmse,)}
    # Several targets: select on the mean of the per-target RMSEs of the standardised targets (each target
    # counts alike whatever its units); report each target's RMSE in its own units too.
    per_target = torch.sqrt(((est[:, :val.y.shape[1]] - val.y) ** 2).mean(dim=0)).numpy().astype(float)
    mean_z = float(per_target.mean())
    row = {"val_rmse_z": mean_z}       # standardised: not in any target's units
    in_units = per_target * np.broadcast_to(np.asarray(y_scale, dtype=float), per_target.shape)
    row.update({f"val_rmse_{k}": float(r) for k, r in enumerate(in_units)})
    return {**row, "_key": (-mean_z,)}


def fit_network(
    net: nn.Module,
    train: TensorSet,
    val: TensorSet | None,
    phases: list[Phase],
    *,
    task: str = "classification",
    layout="coco17",
    batch_size: int = 128,
    weight_decay: float = 5e-5,
    patience: int | None = 5,
    monitor: str = "accuracy",
    class_weights: torch.Tensor | None = None,
    flip: bool = True,
    noise_std: float = 0.0,
    clips_per_epoch: int | None = None,
    cache: TrunkCache | None = None,
    cache_key: tuple = (),
    device: torch.device = torch.device("cpu"),
    rng: np.random.Generator | None = None,
    y_scale: float = 1.0,
    verbose: bool = False,
) -> list[dict]:
    """Train ``net`` in place through the phases; restore the best validation weights.

    Parameters
    ----------
    net : STGCN, DualStream, TemporalCNN or CNNLSTM
    train, val : TensorSet
        Clips ``(N, T, V, C)``; missing keypoints (NaN, or confidence 0) are
        zeroed batch by batch (:func:`zero_missing_batch`). ``val``
        ``None`` trains every epoch of every phase without early stopping.
    phases : list of Phase
    task : {"classification", "regression"}
    layout : str
        For the left/right swap of the flip augmentation (:func:`flip_clips`).
    monitor : {"accuracy", "loss"}
        Validation criterion for model selection (classification; regression
        always uses RMSE).
    class_weights : tensor (K,), optional
        Per-class weights of the training cross-entropy. The loss of a batch
        is the weighted mean ``sum(w_i * l_i) / sum(w_i)`` (PyTorch's
        ``reduction="mean"``), so only the ratios matter and a clip of weight
        2 counts as two clips of weight 1 would; the validation loss is
        unweighted.
    flip : bool
        Swap left and right (direction-normalised image flip) with probability 0.5 per clip.
    noise_std : float
        Gaussian noise added to the x, y coordinates of observed keypoints,
        in the clips' units (not applied beneath cached frozen blocks).
    clips_per_epoch : int, optional
        Train each epoch on a fresh random subset of this many clips
        (overlapping windows make full passes redundant on a CPU budget).
    cache : TrunkCache, optional
        Where the frozen blocks' output for the validation clips is kept
        (``None``: computed every epoch). ``cache_key`` must identify the
        frozen blocks' weights and the validation clips (the estimators pass
        the backbone's and the clips' digests); the number of frozen blocks
        is added here.
    rng : numpy Generator
        Batch order, subsets and augmentation draws.
    y_scale : float or array (K,)
        Target standard deviation(s), to report validation RMSE in target units.

    Notes
    -----
    Regression targets ``train.y`` are ``(N,)`` (one target) or ``(N, K)``,
    standardised. The loss is ``net.loss(out, y)`` when the network has one
    (the bucket head's cross-entropy, :mod:`models.deep.heads`), else the
    mean squared error over all ``K`` columns; validation scores
    ``net.estimate(out)`` (``(N, K)``, standardised) when the network has it,
    else the outputs themselves. With ``K > 1`` the selection criterion
    ``val_rmse_z`` is the mean over targets of the RMSE of the standardised
    targets (unitless; each target counts alike), and ``val_rmse_<k>`` is
    target ``k``'s RMSE in its own units. For ``(N,)`` targets nothing differs
    from the single-output loop: MSE on output 0, ``val_rmse`` in target units.

    Returns
    -------
    list of dict
        One row per epoch: phase, epoch, lr, train loss, validation scores,
        seconds, and ``best`` marking the restored epoch.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    net.to(device)
    weights = class_weights.to(device) if class_weights is not None else None
    history, best_key, best_state, since_best, epoch = [], None, None, 0, 0
    stop = False
    report = _PROGRESS.get()
    max_epochs = sum(max(int(ph.epochs), 0) for ph in phases)
    for p_i, phase in enumerate(phases):
        if stop or phase.epochs <= 0:
            continue
        params = _set_trainable(net, phase.frozen_blocks)
        opt = torch.optim.Adam(params, lr=phase.lr, weight_decay=weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=phase.epochs)
        frozen = phase.frozen_blocks
        va = val
        if val is not None and cache is not None and frozen:
            va = TensorSet(cache.cached(("trunk", *cache_key, frozen),
                                        lambda: _trunk(net, val.x, frozen, device, eval_batch(device))),
                           val.y, val.features)
        val_start = frozen if va is not val else 0
        for _ in range(phase.epochs):
            epoch += 1
            t0 = time.perf_counter()
            _train_mode(net, frozen)
            n = len(train)
            order = rng.permutation(n)
            if clips_per_epoch is not None and clips_per_epoch < n:
                order = order[:clips_per_epoch]
            total, count = 0.0, 0
            n_batches = -(-len(order) // batch_size)
            for b in range(0, len(order), batch_size):
                if report is not None:
                    report({"phase": p_i + 1, "epoch": epoch, "epochs": max_epochs, "batch": b // batch_size + 1,
                            "batches": n_batches, "stage": "train"})
                idx = np.sort(order[b:b + batch_size])
                if len(idx) < 2:      # batch norm needs two samples
                    continue
                xb = zero_missing_batch(train.x[idx])
                if flip:
                    swap = torch.from_numpy(rng.random(len(idx)) < 0.5)
                    xb = torch.where(swap[:, None, None, None], flip_clips(xb, layout), xb)
                if noise_std > 0:
                    noise = torch.from_numpy(rng.normal(0.0, noise_std, xb.shape[:-1] + (2,)).astype(np.float32))
                    observed = (xb[..., 2:3] > 0).float()
                    xb = torch.cat([xb[..., :2] + noise * observed, xb[..., 2:]], dim=-1)
                xb = xb.to(device)
                if frozen:
                    # Frozen blocks are in evaluation mode and need no gradients: run them outside autograd.
                    with torch.no_grad():
                        xb = net.trunk(xb, frozen)
                feats = train.features[idx].to(device) if train.features is not None else None
                yb = train.y[idx].to(device)
                out = _outputs(net, xb, feats, frozen)
                if task == "classification":
                    loss = F.cross_entropy(out, yb, weight=weights)
                else:
                    loss = _regression_loss(net, out, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                count += len(idx)
            row = {"phase": p_i + 1, "epoch": epoch, "lr": opt.param_groups[0]["lr"],
                   "train_loss": total / max(count, 1), "clips": count}
            sched.step()
            if va is not None and len(va):
                if report is not None:
                    report({"phase": p_i + 1, "epoch": epoch, "epochs": max_epochs, "batch": n_batches,
                            "batches": n_batches, "stage": "validate"})
                scores = _val_score(net, va, task, device, eval_batch(device), val_start, monitor, y_scale)
                key = scores.pop("_key")
                row.update(scores)
                if best_key is None or key > best_key:
                    best_key, best_state, since_best = key, copy.deepcopy(net.state_dict()), 0
                    row["best"] = True
                else:
                    since_best += 1
            row["seconds"] = time.perf_counter() - t0
            history.append(row)
            if verbose:
                print("  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
            if patience is not None and va is not None and since_best >= patience:
                stop = True
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    for p in net.parameters():
        p.requires_grad_(True)
    net.eval()
    return history
