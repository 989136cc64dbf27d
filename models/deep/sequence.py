"""Sequence networks on pose clips for regression: a temporal CNN and a per-frame encoder + LSTM.

Both read clips ``(N, T, V, C)`` (x, y, confidence; missing keypoints
already zero with confidence 0), flatten each frame's joints to ``V * C``
channels (joint-major, as the ST-GCN's input batch norm) and normalise them
with one batch norm per channel. Both implement the network interface of
:mod:`models.deep.fusion` (``n_blocks``, ``trunk``, ``embed``, ``output``,
``output_weights``, ``frozen_modules``, ``frozen_parameters``,
``last_block``, ``layout``, ``takes_features``), so
:func:`models.deep.training.fit_network` trains them unchanged, and expose
their head's ``loss``/``estimate`` (:mod:`models.deep.heads`).

:class:`TemporalCNN`
    In the spirit of the network of Ł. Kidziński et al., "Deep neural
    networks enable quantitative movement analysis using single-camera
    videos" (Nat Commun 11, 4054, 2020): stacked 1-D convolutions over time
    on the joint coordinates, each followed by batch norm, ReLU and max
    pooling, over ~124-frame windows, then dense layers::

        clips (N, T, V, C) -> (N, V*C, T) -> BatchNorm
            --[Conv1d(k) -> BatchNorm -> ReLU -> MaxPool(2)] x B--> (N, w_B, T / 2^B)
            --mean over time--> f (N, w_B)
            --Dropout -> Linear(w_B, w_B) -> ReLU -> Dropout--> head (N, K) or (N, K * n_bins)

    Kept: 1-D convolutions over time with the coordinates as channels,
    batch norm, ReLU, max pooling that halves time in every block, a dense
    layer before the output, windows of ~124 frames. Changed: the
    convolutions' output is averaged over time instead of flattened (any
    clip length works, far fewer weights), the confidence channel is an
    input (missing keypoints are zeros with confidence 0), an input batch
    norm replaces a fixed normalisation, the widths and kernel are ours and
    sized for a CPU (default 4 blocks of 32-64-64-64 channels, kernel 5),
    and the output is one of our heads.

:class:`CNNLSTM`
    After A. Gotlin, A. Pancholi and U. Agarwal (Stanford CS229 project on
    predicting the Gait Deviation Index from monocular video), whose best
    model was a per-frame CNN followed by an LSTM. Here the per-frame
    encoder is a small MLP shared over frames (1x1 convolutions over the
    ``V * C`` vector of each frame: the input is already keypoints, not
    images), consecutive frames are averaged in pairs (``frame_pool``: 15
    samples/s from 30 fps, still 15-20 per stride), a one-layer **LSTM**
    runs over time and its hidden states are **averaged over time** (the
    mean uses every part of the clip; the last state would weight its end)::

        clips (N, T, V, C) -> (N, V*C, T) -> BatchNorm
            --[Conv1d(1) -> BatchNorm -> ReLU] x E, AvgPool(frame_pool)--> (N, e, T')
            --LSTM(e, H)--> (N, H, T') --mean over time--> f (N, H)
            --Dropout -> Linear(H, H) -> ReLU -> Dropout--> head

Every nonlinearity is its own ``nn.ReLU`` module (captum's DeepLift assigns
its rules per module call).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from gaitfeat.layouts import get_layout
from models.deep.heads import make_head

__all__ = ["TemporalCNN", "CNNLSTM"]


class _SequenceNet(nn.Module):
    """What both sequence networks share: input batch norm, blocks, pooled embedding, dense layer and head."""

    takes_features = False

    def _init_common(self, layout, n_targets: int, head: str, n_bins: int, in_channels: int, dropout: float):
        self.layout = get_layout(layout)
        self.in_channels = int(in_channels)
        self.n_targets = int(n_targets)
        self.data_bn = nn.BatchNorm1d(self.layout.num_joints * self.in_channels)
        self._head_args = (head, int(n_targets), int(n_bins), float(dropout))

    def _init_head(self, width: int) -> None:
        head, n_targets, n_bins, dropout = self._head_args
        self.embedding_dim = int(width)
        self.dense = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, width), nn.ReLU(), nn.Dropout(dropout))
        self.head = make_head(head, width, n_targets, n_bins)
        self.n_outputs = self.head.n_outputs

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        """Input batch norm: ``(N, T, V, C)`` -> ``(N, V*C, T)``."""
        n, t, v, c = x.shape
        return self.data_bn(x.permute(0, 2, 3, 1).reshape(n, v * c, t))

    # ---- the network interface (see models.deep.fusion) ------------------------------------------
    @property
    def n_blocks(self) -> int:
        """Number of blocks (convolution blocks; for the CNN-LSTM: the frame encoder and the LSTM)."""
        return len(self.blocks)

    def last_block(self) -> nn.Module:
        """The last block, whose ``(N, C', T')`` output Grad-CAM weights."""
        return self.blocks[-1]

    def trunk(self, x: torch.Tensor, stop: int | None = None) -> torch.Tensor:
        """Input batch norm and the first ``stop`` blocks (all by default): ``(N, T, V, C)`` -> ``(N, C', T')``."""
        h = self._stem(x)
        for block in self.blocks[:self.n_blocks if stop is None else stop]:
            h = block(h)
        return h

    def embed(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Embedding ``(N, d)``: blocks ``start..``, then the time mean; ``x`` is clips or ``trunk(clips, start)``."""
        h = self._stem(x) if start == 0 else x
        for block in self.blocks[start:]:
            h = block(h)
        return h.mean(dim=2)

    def output(self, f_s: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """Head outputs ``(N, K)`` (regression) or logits ``(N, K * n_bins)`` (buckets) from ``f`` ``(N, d)``."""
        if features is not None:
            raise ValueError(f"a {type(self).__name__} takes no clinical features")
        return self.head(self.dense(f_s))

    def output_weights(self) -> None:
        """``None``: a dense layer with a ReLU sits between the pooled map and the outputs (no CAM; Grad-CAM works)."""
        return None

    def frozen_modules(self, n_frozen: int) -> list[nn.Module]:
        """The input batch norm and the first ``n_frozen`` blocks (none when ``n_frozen == 0``)."""
        if n_frozen <= 0:
            return []
        return [self.data_bn, *self.blocks[:n_frozen]]

    def frozen_parameters(self, n_frozen: int) -> list[nn.Parameter]:
        """Parameters of :meth:`frozen_modules`."""
        return [p for m in self.frozen_modules(n_frozen) for p in m.parameters()]

    # ---- the head's training and reading rules (used by fit_network when present) ----------------------
    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The head's training loss for outputs ``out`` and standardised targets ``y`` ``(N,)`` or ``(N, K)``."""
        return self.head.loss(out, y)

    def estimate(self, out: torch.Tensor) -> torch.Tensor:
        """Standardised estimates ``(N, K)`` from the outputs (the bucket head: expected bin centre)."""
        return self.head.estimate(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, T, V, C) -> blocks (N, C', T') -> mean (N, d) -> outputs (N, K) or (N, K * n_bins)
        return self.output(self.embed(x))


class TemporalCNN(_SequenceNet):
    """1-D CNN over time on flattened joint coordinates (see the module docstring).

    Parameters
    ----------
    layout : {"coco17", "body25"} or SkeletonLayout
    n_targets : int
        ``K``, targets regressed together.
    head : {"regression", "buckets"}
    n_bins : int
        Bins per target of the bucket head.
    widths : sequence of int
        Output channels of each block; every block halves time (max pooling, rounding up).
    kernel_size : int
        Temporal kernel (frames, odd; 5 frames = 0.17 s at 30 fps).
    dropout : float
        Dropout around the dense layer.
    in_channels : int
        Channels per joint (3: x, y, confidence).
    """

    def __init__(self, layout="coco17", n_targets: int = 1, *, head: str = "regression", n_bins: int = 20,
                 widths=(32, 64, 64, 64), kernel_size: int = 5, dropout: float = 0.2, in_channels: int = 3):
        super().__init__()
        if not len(widths) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError("TemporalCNN needs at least one block and an odd kernel_size")
        self._init_common(layout, n_targets, head, n_bins, in_channels, dropout)
        blocks, c = [], self.layout.num_joints * self.in_channels
        for w in widths:
            blocks.append(nn.Sequential(nn.Conv1d(c, int(w), kernel_size, padding=kernel_size // 2, bias=False),
                                        nn.BatchNorm1d(int(w)), nn.ReLU(), nn.MaxPool1d(2, ceil_mode=True)))
            c = int(w)
        self.blocks = nn.ModuleList(blocks)
        self._init_head(c)


class _Recurrent(nn.Module):
    """An LSTM over time on channel-first maps: ``(N, C, T)`` -> hidden states ``(N, H, T)``."""

    def __init__(self, in_channels: int, hidden_size: int):
        super().__init__()
        self.lstm = nn.LSTM(in_channels, hidden_size, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, C, T) -> (N, T, C) -> LSTM -> (N, T, H) -> (N, H, T)
        out, _ = self.lstm(x.transpose(1, 2))
        return out.transpose(1, 2)


class _FramePool(nn.Module):
    """Average of each ``k`` consecutive frames: ``(N, C, T)`` -> ``(N, C, ceil(T / k))``."""

    def __init__(self, k: int):
        super().__init__()
        self.k = int(k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool1d(x, self.k, ceil_mode=True) if self.k > 1 else x


class CNNLSTM(_SequenceNet):
    """Per-frame encoder shared over frames, then an LSTM over time (see the module docstring).

    Parameters
    ----------
    layout : {"coco17", "body25"} or SkeletonLayout
    n_targets : int
        ``K``, targets regressed together.
    head : {"regression", "buckets"}
    n_bins : int
        Bins per target of the bucket head.
    widths : sequence of int
        Widths of the per-frame encoder's layers (1x1 convolutions = an MLP applied to every frame).
    hidden_size : int
        LSTM hidden units ``H`` (the embedding width).
    frame_pool : int
        Consecutive frames averaged after the encoder (1 = none).
    dropout : float
        Dropout around the dense layer.
    in_channels : int
        Channels per joint (3: x, y, confidence).
    """

    def __init__(self, layout="coco17", n_targets: int = 1, *, head: str = "regression", n_bins: int = 20,
                 widths=(64, 64), hidden_size: int = 64, frame_pool: int = 2, dropout: float = 0.2,
                 in_channels: int = 3):
        super().__init__()
        if not len(widths) or hidden_size < 1 or frame_pool < 1:
            raise ValueError("CNNLSTM needs at least one encoder layer, hidden_size >= 1 and frame_pool >= 1")
        self._init_common(layout, n_targets, head, n_bins, in_channels, dropout)
        layers, c = [], self.layout.num_joints * self.in_channels
        for w in widths:
            layers += [nn.Conv1d(c, int(w), 1, bias=False), nn.BatchNorm1d(int(w)), nn.ReLU()]
            c = int(w)
        layers.append(_FramePool(frame_pool))
        self.blocks = nn.ModuleList([nn.Sequential(*layers), _Recurrent(c, int(hidden_size))])
        self._init_head(int(hidden_size))
