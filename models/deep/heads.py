"""Regression heads of the sequence networks: plain regression and the bucket (binned-softmax) head.

Both map an embedding ``f`` ``(N, d)`` to outputs for ``K`` standardised
targets, and say how to train and read those outputs, so that
:func:`models.deep.training.fit_network` uses them unchanged
(``loss(out, y)``, ``estimate(out)``):

``"regression"`` (:class:`RegressionHead`)
    ``Linear(d, K)``; loss: mean squared error over all targets; estimate:
    the outputs themselves.
``"buckets"`` (:class:`BucketHead`)
    The classification-into-buckets head proposed by A. Gotlin, A. Pancholi
    and U. Agarwal (Stanford CS229 project on predicting the Gait Deviation
    Index from monocular video): for each target ``k`` a softmax over
    ``n_bins`` bins spanning the training targets' standardised range plus a
    5 % margin on each side, ``Linear(d, K * n_bins)`` logits. The estimate
    is the probability-weighted mean of the bin centres and the spread the
    SD of that distribution::

        p_kb = softmax_b(logits_kb)
        estimate_k = sum_b p_kb c_kb
        spread_k   = sqrt(sum_b p_kb (c_kb - estimate_k)^2)

    (standardised units; the estimator multiplies by the target's SD).

    Loss: cross-entropy against a *soft two-bin label*: a true value ``y``
    between the centres ``c_b`` and ``c_{b+1}`` gives weight
    ``(c_{b+1} - y) / w`` to bin ``b`` and ``(y - c_b) / w`` to bin ``b+1``
    (``w`` the bin width), so the label's own expected value is ``y``
    exactly and the trained estimate is not quantised to bin centres (a
    one-hot label of the nearest bin would bias it by up to ``w / 2``).
    Values beyond the outer centres (validation targets outside the
    training range) go wholly to the outer bin. The loss is the mean over
    clips and targets.

The bin edges are buffers that are not in the network's state dict: the
estimator saves them as an extra tensor and checks them on loading
(:mod:`models.deep.sequence_estimators`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["RegressionHead", "BucketHead", "HEADS", "bucket_edges", "make_head"]

HEADS = ("regression", "buckets")

#: Share of the training targets' range added below and above it by :func:`bucket_edges`.
BUCKET_MARGIN = 0.05


def bucket_edges(z: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin edges ``(K, n_bins + 1)`` spanning each standardised target's range plus a 5 % margin per side.

    Parameters
    ----------
    z : array (N, K)
        Standardised training targets.
    n_bins : int
        Bins per target (>= 2).

    Returns
    -------
    ndarray (K, n_bins + 1) float32
        Evenly spaced, strictly increasing edges per target. A constant
        target gets the range ``value +- 0.5`` (its standardised SD is 1 by
        convention, see ``DeepEstimator``).
    """
    z = np.asarray(z, dtype=np.float64)
    lo, hi = z.min(axis=0), z.max(axis=0)
    width = np.where(hi > lo, hi - lo, 1.0)
    lo = np.where(hi > lo, lo, lo - 0.5)
    margin = BUCKET_MARGIN * width
    return np.stack([np.linspace(a - m, a + w + m, int(n_bins) + 1) for a, w, m in zip(lo, width, margin)]
                    ).astype(np.float32)


class RegressionHead(nn.Module):
    """``Linear(d, K)`` with the mean-squared-error loss on standardised targets.

    Parameters
    ----------
    in_features : int
        Embedding width ``d``.
    n_targets : int
        ``K``.
    """

    kind = "regression"

    def __init__(self, in_features: int, n_targets: int):
        super().__init__()
        self.n_targets = int(n_targets)
        self.linear = nn.Linear(in_features, self.n_targets)

    @property
    def n_outputs(self) -> int:
        """Output width: ``K``."""
        return self.n_targets

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        # f: (N, d) -> (N, K) standardised estimates
        return self.linear(f)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean squared error over clips and targets; ``y`` ``(N,)`` or ``(N, K)`` standardised."""
        return F.mse_loss(out[:, 0], y) if y.ndim == 1 else F.mse_loss(out, y)

    def estimate(self, out: torch.Tensor) -> torch.Tensor:
        """Standardised estimates ``(N, K)`` (the outputs)."""
        return out


class BucketHead(nn.Module):
    """Per-target softmax over bins; estimate = probability-weighted mean of the bin centres.

    Parameters
    ----------
    in_features : int
        Embedding width ``d``.
    n_targets : int
        ``K``.
    n_bins : int
        Bins per target (>= 2).
    edges : array (K, n_bins + 1), optional
        Strictly increasing bin edges per target (standardised units), from
        :func:`bucket_edges`; default: ``n_bins`` bins over [-2, 2] until
        :meth:`set_edges` is called.
    """

    kind = "buckets"

    def __init__(self, in_features: int, n_targets: int, n_bins: int, edges=None):
        super().__init__()
        if int(n_bins) < 2:
            raise ValueError(f"the bucket head needs at least 2 bins, got {n_bins}")
        self.n_targets, self.n_bins = int(n_targets), int(n_bins)
        self.linear = nn.Linear(in_features, self.n_targets * self.n_bins)
        # Not persistent: the estimator saves the edges as a checked extra tensor.
        self.register_buffer("edges", torch.zeros(self.n_targets, self.n_bins + 1), persistent=False)
        if edges is None:
            edges = np.tile(np.linspace(-2.0, 2.0, self.n_bins + 1), (self.n_targets, 1))
        self.set_edges(edges)

    def set_edges(self, edges) -> None:
        """Use these bin edges ``(K, n_bins + 1)`` (standardised units, strictly increasing per target)."""
        e = torch.as_tensor(np.asarray(edges, dtype=np.float32))
        if tuple(e.shape) != (self.n_targets, self.n_bins + 1):
            raise ValueError(f"bin edges must have shape {(self.n_targets, self.n_bins + 1)}, got {tuple(e.shape)}")
        if not (torch.isfinite(e).all() and (e[:, 1:] > e[:, :-1]).all()):
            raise ValueError("bin edges must be finite and strictly increasing for every target")
        self.edges = e.to(self.edges.device)

    @property
    def centres(self) -> torch.Tensor:
        """Bin centres ``(K, n_bins)``, standardised units."""
        return 0.5 * (self.edges[:, 1:] + self.edges[:, :-1])

    @property
    def n_outputs(self) -> int:
        """Output width: ``K * n_bins`` logits (target-major: target ``k``'s bins are columns ``k*n_bins ...``)."""
        return self.n_targets * self.n_bins

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        # f: (N, d) -> logits (N, K * n_bins)
        return self.linear(f)

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        """Bin probabilities ``(N, K, n_bins)`` from the logits ``(N, K * n_bins)``."""
        return torch.softmax(out.view(out.shape[0], self.n_targets, self.n_bins), dim=2)

    def estimate(self, out: torch.Tensor) -> torch.Tensor:
        """``sum_b p_kb c_kb``: standardised estimates ``(N, K)``."""
        return (self.probabilities(out) * self.centres.to(out.device)).sum(dim=2)

    def spread(self, out: torch.Tensor) -> torch.Tensor:
        """``sqrt(sum_b p_kb (c_kb - estimate_k)^2)``: the SD of the predicted distribution ``(N, K)``, standardised."""
        p, c = self.probabilities(out), self.centres.to(out.device)
        est = (p * c).sum(dim=2, keepdim=True)
        return torch.sqrt((p * (c - est) ** 2).sum(dim=2).clamp_min(0.0))

    def soft_labels(self, y: torch.Tensor) -> torch.Tensor:
        """Two-bin labels ``(N, K, n_bins)`` whose expected bin centre is ``y`` (clipped to the outer centres)."""
        y = y[:, None] if y.ndim == 1 else y
        c = self.centres.to(y.device)                                    # (K, B)
        width = c[:, 1:2] - c[:, 0:1]                                    # (K, 1), evenly spaced bins
        u = ((y - c[None, :, 0]) / width[None, :, 0]).clamp(0.0, self.n_bins - 1)      # (N, K) in bin-centre units
        low = u.floor().clamp(max=self.n_bins - 2)
        frac = (u - low)[..., None]
        idx = low.long()[..., None]
        labels = torch.zeros(y.shape[0], self.n_targets, self.n_bins, device=y.device, dtype=torch.float32)
        labels.scatter_(2, idx, 1.0 - frac)
        labels.scatter_add_(2, idx + 1, frac)
        return labels

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy against the soft two-bin labels, mean over clips and targets."""
        logp = torch.log_softmax(out.view(out.shape[0], self.n_targets, self.n_bins), dim=2)
        return -(self.soft_labels(y) * logp).sum(dim=2).mean()


def make_head(head: str, in_features: int, n_targets: int, n_bins: int) -> nn.Module:
    """The head named ``head`` (``"regression"`` or ``"buckets"``) for ``K = n_targets`` targets."""
    if head == "regression":
        return RegressionHead(in_features, n_targets)
    if head == "buckets":
        return BucketHead(in_features, n_targets, n_bins)
    raise ValueError(f"head must be one of {list(HEADS)}, got {head!r}")
