"""The ST-GCN skeleton network (S. Yan, Y. Xiong, D. Lin, "Spatial Temporal Graph Convolutional Networks for
Skeleton-Based Action Recognition", AAAI 2018) built from a :mod:`gaitfeat.layouts` skeleton.

The graph is explicit: :func:`spatial_partition` turns a layout's bone list
and centre joint into the three-subset adjacency ``(3, V, V)`` of the
original's *spatial configuration* partitioning, and :class:`STGCN` stacks
graph-convolution blocks over it. Two configurations:

``"paper"``
    The original network layer for layer: input batch norm over ``V * C``
    channels, ten blocks 64-64-64-64-128-128-128-256-256-256 with temporal
    stride 2 where the width grows, temporal kernel 9, learnable edge
    importance, global average pooling to a 256-d embedding, linear head.
    3.07 M parameters for COCO-17; this is the backbone used by Yang, Chen &
    He ("Multimodal Fusion of Skeleton Dynamics and Clinical Gait Features for
    Video-Based Cerebral Palsy Severity Assessment").
``"compact"``
    A CPU-sized variant for cross-validating on a laptop: every three
    consecutive frames are first averaged (a 30 fps clip becomes 10 Hz, still
    10-15 samples per stride of a child with CP), then five blocks
    16-32-32-64-64 (temporal stride 2 at each widening), temporal kernel 9,
    a 64-d embedding. About 70x fewer multiply-adds per clip than
    ``"paper"`` (``benchmarks/bench_models.py`` measures the training speed-up).

:class:`STGCN` implements the network interface shared with
:class:`~models.deep.fusion.DualStream` (see :mod:`models.deep.fusion` for the
list), which the training loop and the attribution methods use.

:func:`load_pretrained` maps a locally stored checkpoint of the original
implementation (``st_gcn_networks.{i}.gcn.conv.weight`` ...) onto this module
and reports every tensor it could not use; nothing is ever downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from gaitfeat.layouts import SkeletonLayout, get_layout

__all__ = ["STGCN", "STGCNBlock", "GraphConv", "CONFIGS", "StgcnConfig", "spatial_partition", "load_pretrained",
           "LoadReport"]


@dataclass(frozen=True)
class StgcnConfig:
    """Widths and strides of an ST-GCN.

    Parameters
    ----------
    blocks : tuple of (int, int)
        ``(out_channels, temporal_stride)`` of each block, in order.
    temporal_kernel : int
        Frames spanned by each temporal convolution (odd).
    frame_pool : int
        Consecutive frames averaged before the first block (1 = none).
    """

    blocks: tuple[tuple[int, int], ...]
    temporal_kernel: int = 9
    frame_pool: int = 1

    @property
    def embedding_dim(self) -> int:
        """Width of the pooled embedding (the last block's channels)."""
        return self.blocks[-1][0]


#: The named configurations (see the module docstring).
CONFIGS: dict[str, StgcnConfig] = {
    "paper": StgcnConfig(blocks=((64, 1), (64, 1), (64, 1), (64, 1), (128, 2), (128, 1), (128, 1),
                                 (256, 2), (256, 1), (256, 1))),
    "compact": StgcnConfig(blocks=((16, 1), (32, 2), (32, 1), (64, 2), (64, 1)), frame_pool=3),
}


def spatial_partition(layout: str | SkeletonLayout) -> np.ndarray:
    """Normalised adjacency of the spatial-configuration partition, ``(3, V, V)`` float32.

    ``A[k, j, i]`` is the weight with which joint ``j`` feeds joint ``i`` in
    subset ``k``: 0 the joint itself; 1 its neighbours at least as far from
    the centre joint (in bones) as it is; 2 its neighbours closer to the
    centre. Every column is divided by the joint's degree counting itself, so
    each joint averages over its neighbourhood. The subset order follows the
    original implementation, so pretrained weights map one to one.
    """
    lay = get_layout(layout)
    v = lay.num_joints
    hop = lay.hop_distance()
    neighbourhood = (hop <= 1).astype(np.float64)       # bones + self-loops
    norm = neighbourhood / neighbourhood.sum(axis=0, keepdims=True)
    to_centre = hop[:, lay.center]
    a = np.zeros((3, v, v), dtype=np.float64)
    for i in range(v):
        for j in np.flatnonzero(neighbourhood[:, i]):
            if j == i:
                a[0, j, i] = norm[j, i]
            elif to_centre[j] >= to_centre[i]:
                a[1, j, i] = norm[j, i]
            else:
                a[2, j, i] = norm[j, i]
    return a.astype(np.float32)


class GraphConv(nn.Module):
    """Spatial graph convolution: a 1x1 convolution to ``K`` channel groups, then one adjacency per group.

    Parameters
    ----------
    in_channels, out_channels : int
    n_subsets : int
        ``K``, the number of partition subsets (adjacency matrices).
    """

    def __init__(self, in_channels: int, out_channels: int, n_subsets: int):
        super().__init__()
        self.n_subsets = n_subsets
        self.conv = nn.Conv2d(in_channels, out_channels * n_subsets, kernel_size=1)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        # x: (N, C_in, T, V); adjacency: (K, V, V). The original applies the 1x1 convolution first and then
        # the adjacency to its K*C_out channels; both are linear, so the adjacency is applied here to the
        # C_in input channels first (C_in < C_out in every block: fewer multiply-adds and a smaller
        # intermediate tensor; 15 % faster training and 30 % faster inference on 2 CPU cores), with the same
        # parameters, so checkpoints of the original load unchanged.
        n, c_in, t, v = x.shape
        k = self.n_subsets
        weight = self.conv.weight                                  # (K*C_out, C_in, 1, 1)
        c_out = weight.shape[0] // k
        h = torch.einsum("nctv,kvw->nkctw", x, adjacency).reshape(n, k * c_in, t, v)   # (N, K*C_in, T, V)
        w = weight.view(k, c_out, c_in).transpose(0, 1).reshape(c_out, k * c_in, 1, 1)
        out = F.conv2d(h, w)                                       # (N, C_out, T, V)
        if self.conv.bias is not None:
            # Each subset's bias passes through its adjacency too: b_k[c] * (column sums of A_k)[w].
            bias = torch.einsum("kc,kw->cw", self.conv.bias.view(k, c_out), adjacency.sum(dim=1))
            out = out + bias[None, :, None, :]
        return out


class STGCNBlock(nn.Module):
    """Graph conv -> BN -> ReLU -> temporal conv -> BN -> dropout, plus residual, then ReLU.

    Parameters
    ----------
    in_channels, out_channels : int
    n_subsets : int
        Number of adjacency matrices.
    temporal_kernel : int
        Temporal convolution length (frames, odd).
    stride : int
        Temporal stride.
    dropout : float
    residual : bool
        ``False`` for the first block, as in the original.
    """

    def __init__(self, in_channels: int, out_channels: int, n_subsets: int, temporal_kernel: int = 9,
                 stride: int = 1, dropout: float = 0.0, residual: bool = True):
        super().__init__()
        self.gcn = GraphConv(in_channels, out_channels, n_subsets)
        # Index layout 0..4 is the original's, so checkpoint keys (tcn.0 BN, tcn.2 conv, tcn.3 BN) map directly.
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, (temporal_kernel, 1), (stride, 1), ((temporal_kernel - 1) // 2, 0)),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout),
        )
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, (stride, 1)), nn.BatchNorm2d(out_channels))
        # A module, not F.relu: captum's DeepLift applies its rescale rule only to nonlinearity modules
        # (one instance per use). It has no parameters, so checkpoints are unchanged.
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        # x: (N, C_in, T, V) -> (N, C_out, T / stride, V)
        out = self.tcn(self.gcn(x, adjacency))
        if self.residual is not None:
            out = out + self.residual(x)
        return self.relu(out)


class STGCN(nn.Module):
    """Spatial-temporal graph convolutional network over one skeleton.

    Parameters
    ----------
    layout : {"coco17", "body25"} or SkeletonLayout
        Skeleton whose bones define the graph.
    n_outputs : int
        Width of the linear head (classes, or 1 for regression); 0 for none
        (``forward`` then returns the embedding).
    in_channels : int
        Channels per joint (3: x, y, confidence).
    config : {"compact", "paper"} or StgcnConfig
    edge_importance : bool
        Learn one multiplicative mask per block over the adjacency, as the original.
    dropout : float
        Dropout inside every block but the first.

    Notes
    -----
    Input is ``(N, T, V, C)`` (this package's clip layout); missing keypoints
    must already be zeros with confidence 0 (the wrappers do this).
    """

    def __init__(self, layout="coco17", n_outputs: int = 4, *, in_channels: int = 3, config="compact",
                 edge_importance: bool = True, dropout: float = 0.5):
        super().__init__()
        self.layout = get_layout(layout)
        if isinstance(config, str) and config not in CONFIGS:
            raise ValueError(f"config must be one of {sorted(CONFIGS)}, got {config!r}")
        self.config = CONFIGS[config] if isinstance(config, str) else config
        self.in_channels = in_channels
        self.register_buffer("A", torch.from_numpy(spatial_partition(self.layout)))
        k, v, _ = self.A.shape
        self.data_bn = nn.BatchNorm1d(in_channels * v)
        blocks, c = [], in_channels
        for i, (out, stride) in enumerate(self.config.blocks):
            blocks.append(STGCNBlock(c, out, k, self.config.temporal_kernel, stride,
                                     dropout=0.0 if i == 0 else dropout, residual=i > 0))
            c = out
        self.st_gcn_networks = nn.ModuleList(blocks)
        if edge_importance:
            self.edge_importance = nn.ParameterList([nn.Parameter(torch.ones_like(self.A)) for _ in blocks])
        else:
            self.edge_importance = None
        self.embedding_dim = c
        self.n_outputs = n_outputs
        self.fcn = nn.Linear(c, n_outputs) if n_outputs > 0 else None      # name kept: checkpoint key "fcn"

    def _adjacency(self, i: int) -> torch.Tensor:
        return self.A * self.edge_importance[i] if self.edge_importance is not None else self.A

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        """Input batch norm (and frame pooling): ``(N, T, V, C)`` -> ``(N, C, T', V)``."""
        n, t, v, c = x.shape
        x = x.permute(0, 2, 3, 1).reshape(n, v * c, t)          # (N, V*C, T), joint-major as the original
        x = self.data_bn(x)
        x = x.view(n, v, c, t).permute(0, 2, 3, 1)              # (N, C, T, V)
        if self.config.frame_pool > 1:
            x = F.avg_pool2d(x, (self.config.frame_pool, 1), ceil_mode=True)
        return x

    def _run_blocks(self, h: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Blocks ``start..stop-1`` applied to a stem or block output ``(N, C, T, V)``."""
        stop = self.n_blocks if stop is None else stop
        for i in range(start, stop):
            h = self.st_gcn_networks[i](h, self._adjacency(i))
        return h

    # ---- the network interface (shared with DualStream) -------------------------------------
    takes_features = False

    @property
    def n_blocks(self) -> int:
        """Number of ST-GCN blocks."""
        return len(self.st_gcn_networks)

    def last_block(self) -> nn.Module:
        """The last ST-GCN block, whose output is the map CAM and Grad-CAM weight (captum's ``LayerGradCam`` hooks it)."""
        return self.st_gcn_networks[-1]

    def trunk(self, x: torch.Tensor, stop: int | None = None) -> torch.Tensor:
        """Output of the input batch norm and the first ``stop`` blocks (all by default).

        ``(N, T, V, C)`` clips -> ``(N, C', T', V)``; with ``stop = n_blocks``
        this is the last block's feature map that CAM and Grad-CAM weight.
        """
        return self._run_blocks(self._stem(x), 0, stop)

    def embed(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Skeleton embedding ``f_s`` ``(N, embedding_dim)``: the last block's output, globally average pooled.

        ``start == 0``: ``x`` are clips ``(N, T, V, C)``. ``start = k > 0``:
        ``x`` is ``trunk(clips, k)`` ``(N, C', T', V)``, e.g. a cached output
        of frozen blocks, and only blocks ``k..`` run.
        """
        h = self._stem(x) if start == 0 else x
        return self._run_blocks(h, start).mean(dim=(2, 3))

    def output(self, f_s: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """Head outputs ``(N, n_outputs)`` from an embedding ``(N, embedding_dim)``.

        An ST-GCN takes no clinical features (``features`` must be ``None``).
        """
        if self.fcn is None:
            raise ValueError("this ST-GCN has no head (n_outputs=0); it has no outputs to compute")
        if features is not None:
            raise ValueError("an ST-GCN takes no clinical features")
        return self.fcn(f_s)

    def output_weights(self) -> torch.Tensor | None:
        """Weights ``(n_outputs, embedding_dim)`` of the linear head (CAM projects them onto the feature map)."""
        return self.fcn.weight if self.fcn is not None else None

    def frozen_modules(self, n_frozen: int) -> list[nn.Module]:
        """Modules kept in evaluation mode when the first ``n_frozen`` blocks are frozen (input BN and those blocks)."""
        if n_frozen <= 0:
            return []
        return [self.data_bn, *self.st_gcn_networks[:n_frozen]]

    def frozen_parameters(self, n_frozen: int) -> list[nn.Parameter]:
        """Parameters not trained when the first ``n_frozen`` blocks are frozen (with their edge-importance masks)."""
        params = [p for m in self.frozen_modules(n_frozen) for p in m.parameters()]
        if self.edge_importance is not None:
            params += list(self.edge_importance[:max(n_frozen, 0)])
        return params

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, T, V, C) -> logits (N, n_outputs), or the embedding (N, D) without a head
        f = self.embed(x)
        return self.output(f) if self.fcn is not None else f


@dataclass
class LoadReport:
    """What :func:`load_pretrained` did with each tensor of a checkpoint."""

    loaded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)     # checkpoint key -> reason
    missing: list[str] = field(default_factory=list)          # module keys the checkpoint did not provide

    def summary(self) -> str:
        """One line per skipped tensor, after a count."""
        lines = [f"loaded {len(self.loaded)} tensors, skipped {len(self.skipped)}, "
                 f"{len(self.missing)} module tensors left at their initial values"]
        lines += [f"  skipped {k}: {why}" for k, why in self.skipped.items()]
        return "\n".join(lines)


def _remap(key: str) -> str:
    for prefix in ("module.", "backbone.", "model."):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key


def load_pretrained(model: STGCN, path: str | Path, *, load_head: bool = False) -> LoadReport:
    """Copy the weights of a locally stored original-ST-GCN checkpoint into ``model``.

    Parameters
    ----------
    model : STGCN
    path : str or Path
        A ``.pth``/``.pt`` file holding a state dict (optionally under a
        ``"state_dict"`` or ``"model"`` key) of the original implementation,
        e.g. its NTU-RGB+D or Kinetics weights. Read with
        ``torch.load(weights_only=True)``: no code in the file is executed.
    load_head : bool
        Also copy the classification layer (only when the class counts match).

    Returns
    -------
    LoadReport
        Loaded keys, skipped keys with the reason (joint-count mismatch for
        ``data_bn``, ``A`` and ``edge_importance``; shape mismatch; unknown
        key; the head), and module tensors the checkpoint did not cover.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:   # pickle errors, truncated files: say which file
        raise ValueError(f"cannot read {path} as a weights-only PyTorch checkpoint: {exc}") from exc
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a state dict of tensors")
    own = model.state_dict()
    report = LoadReport()
    update = {}
    for raw_key, tensor in state.items():
        key = _remap(raw_key)
        if key.startswith("fcn.") and not load_head:
            report.skipped[raw_key] = "classification head (load_head=False)"
            continue
        if key.startswith("fcn.") and tensor.ndim == 4:      # the original's head is a 1x1 Conv2d
            tensor = tensor.flatten(1)
        if key not in own:
            report.skipped[raw_key] = "no such tensor in this configuration"
            continue
        if tuple(tensor.shape) != tuple(own[key].shape):
            joint_dependent = key == "A" or key.startswith(("data_bn.", "edge_importance."))
            why = "joint-count mismatch" if joint_dependent else "shape mismatch"
            report.skipped[raw_key] = f"{why}: checkpoint {tuple(tensor.shape)} vs model {tuple(own[key].shape)}"
            continue
        update[key] = tensor.to(own[key].dtype)
        report.loaded.append(raw_key)
    own.update(update)
    model.load_state_dict(own)
    report.missing = [k for k in own if k not in update and not k.endswith("num_batches_tracked")]
    return report


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (optionally only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def multiply_adds(config: StgcnConfig | str, n_joints: int, n_frames: int, in_channels: int = 3) -> int:
    """Multiply-adds of one clip's forward pass through the blocks (convolutions and graph products)."""
    cfg = CONFIGS[config] if isinstance(config, str) else config
    t = -(-n_frames // cfg.frame_pool)
    total, c = 0, in_channels
    for i, (out, stride) in enumerate(cfg.blocks):
        total += t * n_joints * c * out * 3           # 1x1 conv to 3 subsets
        total += t * n_joints * n_joints * c * 3      # graph products (dense), on the input channels
        t_out = -(-t // stride)
        total += t_out * n_joints * out * out * cfg.temporal_kernel
        if i > 0 and (c != out or stride != 1):
            total += t_out * n_joints * c * out
        c, t = out, t_out
    return total


__all__ += ["count_parameters", "multiply_adds"]

