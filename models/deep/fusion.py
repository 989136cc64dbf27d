"""The dual-stream fusion network: ST-GCN skeleton embedding + clinical-feature MLP.

After K. Yang, X. Chen, J. He, "Multimodal Fusion of Skeleton Dynamics and
Clinical Gait Features for Video-Based Cerebral Palsy Severity Assessment"::

    clips (N, T, V, C) --ST-GCN--> global average pool --> f_s  (N, d)
    features (N, F), standardised --Linear-ReLU-Linear--> f_c (N, d)
    fusion: "concat"  f = f_s ++ f_c                                        (Yang, Chen & He, eq. 2)
            "xattn"   a = sigmoid(<f_s, f_c> / sqrt(d))                      (eq. 3)
                      f = LN(f_s + a f_c) ++ LN(f_c + a f_s)                 (eq. 4)
    head: Linear(2d, d) -> ReLU -> Dropout -> Linear(d, K)

``d`` is the backbone's embedding width (256 for the paper configuration).
The head has a ReLU between its two linear layers; without one they would
collapse into a single linear map.

The network interface
---------------------
:class:`DualStream` and :class:`~models.deep.stgcn.STGCN` offer the same
methods, so the training loop (:mod:`models.deep.training`) and the
attribution methods (:mod:`models.deep.explain`) treat them alike:

``n_blocks``
    Number of ST-GCN blocks of the skeleton stream.
``layout``, ``n_outputs``, ``takes_features``
    The skeleton layout of the input clips, the head's width, and whether
    ``output`` (and ``forward``) take standardised clinical features.
``last_block()``
    The module of the last ST-GCN block (Grad-CAM's layer).
``trunk(x, stop=None)``
    Clips ``(N, T, V, C)`` through the input batch norm and the first
    ``stop`` blocks -> ``(N, C', T', V)``.
``embed(x, start=0)``
    Skeleton embedding ``f_s`` ``(N, d)`` from clips (``start=0``) or from
    ``trunk(clips, start)``.
``output(f_s, features=None)``
    Head outputs ``(N, K)`` from ``f_s`` (and, for ``DualStream``, the
    standardised features ``(N, F)``).
``output_weights()``
    The ``(K, d)`` weights when the outputs are linear in ``f_s`` (the
    ST-GCN's head, which CAM needs), else ``None``.
``frozen_modules(k)``, ``frozen_parameters(k)``
    What runs in evaluation mode, and what is not trained, when the first
    ``k`` blocks are frozen (``frozen_parameters`` also lists parameters the
    outputs never use, such as the backbone's own head inside ``DualStream``).

``net.output(net.embed(x), features)`` is ``net(x, features)`` (``net(x)`` for an ST-GCN).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from models.deep.stgcn import STGCN

__all__ = ["DualStream", "FUSIONS"]

FUSIONS = ("concat", "xattn")


class DualStream(nn.Module):
    """Skeleton stream and clinical stream fused for classification or regression.

    Parameters
    ----------
    backbone : STGCN
        The skeleton stream (its own head, if any, is not used).
    n_features : int
        Number of clinical features (already standardised by the caller).
    n_outputs : int
        Classes, or 1 for regression.
    fusion : {"concat", "xattn"}
    dropout : float
        Dropout in the head (and after the MLP's hidden layer).
    """

    def __init__(self, backbone: STGCN, n_features: int, n_outputs: int, *, fusion: str = "concat",
                 dropout: float = 0.5):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        if n_features < 1:
            raise ValueError("the clinical stream needs at least one feature")
        d = backbone.embedding_dim
        self.fusion = fusion
        self.n_outputs = n_outputs
        self.backbone = backbone
        self.clinical = nn.Sequential(nn.Linear(n_features, d), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d, d))
        if fusion == "xattn":
            self.norm_s = nn.LayerNorm(d)
            self.norm_c = nn.LayerNorm(d)
        self.head = nn.Sequential(nn.Linear(2 * d, d), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d, n_outputs))
        self.scale = 1.0 / math.sqrt(d)

    def fuse(self, f_s: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Fused representation ``(N, 2d)`` from the skeleton embedding ``(N, d)`` and features ``(N, F)``."""
        f_c = self.clinical(features)                                       # (N, d)
        if self.fusion == "concat":
            return torch.cat([f_s, f_c], dim=1)
        alpha = torch.sigmoid((f_s * f_c).sum(dim=1, keepdim=True) * self.scale)   # (N, 1), one gate per clip
        return torch.cat([self.norm_s(f_s + alpha * f_c), self.norm_c(f_c + alpha * f_s)], dim=1)

    # ---- the network interface (see the module docstring) --------------------------------------
    takes_features = True

    @property
    def layout(self):
        """Skeleton layout of the skeleton stream's input clips."""
        return self.backbone.layout

    @property
    def n_blocks(self) -> int:
        """Number of ST-GCN blocks of the skeleton stream."""
        return self.backbone.n_blocks

    def last_block(self) -> nn.Module:
        """The skeleton stream's last ST-GCN block (the map Grad-CAM weights)."""
        return self.backbone.last_block()

    def trunk(self, x: torch.Tensor, stop: int | None = None) -> torch.Tensor:
        """The skeleton stream's first ``stop`` blocks: ``(N, T, V, C)`` -> ``(N, C', T', V)``."""
        return self.backbone.trunk(x, stop)

    def embed(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Skeleton embedding ``f_s`` ``(N, d)`` from clips or from ``trunk(clips, start)``."""
        return self.backbone.embed(x, start)

    def output(self, f_s: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """Head outputs ``(N, K)`` from a skeleton embedding ``(N, d)`` and standardised features ``(N, F)``."""
        if features is None:
            raise ValueError("a DualStream network needs the clinical features")
        return self.head(self.fuse(f_s, features))

    def output_weights(self) -> None:
        """``None``: the fused head is not linear in ``f_s`` (CAM does not apply; Grad-CAM does)."""
        return None

    def frozen_modules(self, n_frozen: int) -> list[nn.Module]:
        """The skeleton stream's input batch norm and first ``n_frozen`` blocks (none when ``n_frozen == 0``)."""
        return self.backbone.frozen_modules(n_frozen)

    def frozen_parameters(self, n_frozen: int) -> list[nn.Parameter]:
        """The frozen blocks' parameters, plus the backbone's own head, which the fused head replaces."""
        unused = list(self.backbone.fcn.parameters()) if self.backbone.fcn is not None else []
        return self.backbone.frozen_parameters(n_frozen) + unused

    def forward(self, x: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        # x: (N, T, V, C); features: (N, F) -> (N, K)
        return self.output(self.embed(x), features)
