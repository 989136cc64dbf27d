"""The dual-stream fusion network of seed 000: ST-GCN skeleton embedding + clinical-feature MLP.

::

    clips (N, T, V, C) --ST-GCN--> global average pool --> f_s  (N, d)
    features (N, F), standardised --Linear-ReLU-Linear--> f_c (N, d)
    fusion: "concat"  f = f_s ++ f_c                                        (seed 000, eq. 2)
            "xattn"   a = sigmoid(<f_s, f_c> / sqrt(d))                      (eq. 3)
                      f = LN(f_s + a f_c) ++ LN(f_c + a f_s)                 (eq. 4)
    head: Linear(2d, d) -> ReLU -> Dropout -> Linear(d, K)

``d`` is the backbone's embedding width (256 for the paper configuration).
The head has a ReLU between its two linear layers; without one they would
collapse into a single linear map.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from models.stgcn import STGCN

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

    def classify(self, f_s: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Head outputs ``(N, K)`` from a skeleton embedding and features."""
        return self.head(self.fuse(f_s, features))

    def forward(self, x: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        # x: (N, T, V, C); features: (N, F) -> (N, K)
        return self.classify(self.backbone.embed(x), features)
