"""Which joints drove a skeleton model's output: CAM, Grad-CAM, and the features they point to.

* :class:`GradCAM` (R. R. Selvaraju et al., "Grad-CAM: Visual Explanations
  from Deep Networks via Gradient-based Localization", ICCV 2017) on the last
  ST-GCN block: the block's feature map ``A`` ``(N, C, T', V)`` weighted per
  channel by the mean gradient of the target output, summed over channels,
  rectified. Works for any network with the interface of
  :class:`~models.deep.stgcn.STGCN` and :class:`~models.deep.fusion.DualStream`
  (``trunk``, ``embed``, ``output``), classification or regression.
* :class:`CAM` (Zhou et al., 2016): for a network whose head is global
  average pooling then one linear layer (an ST-GCN; ``output_weights()``),
  the class map is the head's weights applied at every (time, joint) cell;
  its mean over cells is the logit (less the bias). No gradients needed.
  K. N. Pellano et al., "Towards Biomarker Discovery for Early Cerebral Palsy
  Detection: Evaluating Explanations Through Kinematic Perturbations",
  compare the two on a skeleton GCN.
* :func:`joint_contributions` turns maps ``(N, T, V)`` into one score per
  joint in [0, 1]; :func:`region_scores` averages them over body regions;
  :func:`select_features` is the automatic version of step 1 of Yang, Chen &
  He ("Multimodal Fusion of Skeleton Dynamics and Clinical Gait Features for
  Video-Based Cerebral Palsy Severity Assessment") — the clinical features of
  the regions whose score reaches a threshold.

:func:`models.skeleton_plot.plot_skeleton` draws the scores on a skeleton
(without importing torch).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from gaitfeat.features import FEATURE_INFO, FEATURES, JOINT_REGIONS, REGION_SOURCE
from gaitfeat.layouts import get_layout

__all__ = ["GradCAM", "CAM", "clip_attributions", "joint_contributions", "region_scores", "select_features",
           "DEFAULT_THRESHOLD"]

#: Default region score for selection: Yang, Chen & He kept the regions with "moderate-to-high" scores
#: (hips and knees at 0.31-0.45) and dropped the ankles (0.02).
DEFAULT_THRESHOLD = 0.3


def _check_network(model, need_outputs: bool = True) -> None:
    """Refuse anything without the network interface, or (``need_outputs``) a network without outputs to explain."""
    missing = [m for m in ("trunk", "embed", "output", "output_weights") if not callable(getattr(model, m, None))]
    if missing or not hasattr(model, "n_blocks"):
        raise TypeError(f"expected an STGCN or DualStream module, got {type(model).__name__}")
    if need_outputs and getattr(model, "n_outputs", 1) <= 0:
        raise ValueError("the ST-GCN has no head; attributions need an output to explain")


def _as_tensor(x) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float32))


def _targets(target, n: int) -> np.ndarray | None:
    """Per-clip output indices (``None``: the predicted class), int64 ``(n,)``."""
    if target is None:
        return None
    t = np.broadcast_to(np.asarray(target, dtype=np.int64), (n,))
    if t.shape != (n,):
        raise ValueError(f"target must be one index or one per clip ({n})")
    return t


def _batch_target(out: torch.Tensor, targets: np.ndarray | None, offset: int) -> torch.Tensor:
    """Indices of the outputs ``(B, K)`` to explain for the batch starting at ``offset``."""
    if out.shape[1] == 1:              # regression: the single output
        return torch.zeros(out.shape[0], dtype=torch.int64, device=out.device)
    if targets is None:
        return out.argmax(dim=1)
    t = torch.as_tensor(np.array(targets[offset:offset + out.shape[0]]), device=out.device)
    if (t < 0).any() or (t >= out.shape[1]).any():
        raise ValueError(f"target indices must be in [0, {out.shape[1]})")
    return t


def _upsample(cam: torch.Tensor, frames: int) -> torch.Tensor:
    # (N, T', V) -> (N, T, V): linear in time, so each input frame gets the value of its position
    return F.interpolate(cam.permute(0, 2, 1), size=frames, mode="linear", align_corners=False).permute(0, 2, 1)


class GradCAM:
    """Grad-CAM over (time, joint) at the output of the last ST-GCN block.

    Parameters
    ----------
    model : STGCN or DualStream
        A trained network (put in evaluation mode while attributing).
    """

    def __init__(self, model):
        _check_network(model)
        self.model = model

    def attribute(self, x, target=None, features=None, *, relu: bool = True, batch_size: int = 64) -> np.ndarray:
        """Maps ``(N, T, V)`` for clips ``x`` ``(N, T, V, C)`` (missing keypoints already zero).

        ``batch_size`` clips at a time: their activations and gradients are
        kept for the backward pass (~2 MB per compact clip), so 64, not more,
        keeps a dual-stream fit's peak memory down.

        Parameters
        ----------
        target : int or array (N,), optional
            Output index explained per clip (class code); default: the
            predicted class (the single output for regression).
        features : array (N, F), optional
            Standardised clinical features (``DualStream`` only).
        relu : bool
            Keep only positive evidence (Grad-CAM's definition); ``False``
            keeps the sign.
        """
        x = _as_tensor(x)
        n, frames = x.shape[0], x.shape[1]
        targets = _targets(target, n)
        was_training = self.model.training
        self.model.eval()
        device = next(self.model.parameters()).device
        last = self.model.n_blocks
        maps = []
        try:
            for i in range(0, n, batch_size):
                xb = x[i:i + batch_size].to(device)
                feats = _as_tensor(features[i:i + batch_size]).to(device) if features is not None else None
                with torch.enable_grad():
                    a = self.model.trunk(xb)                        # (B, C, T', V)
                    a.retain_grad()
                    out = self.model.output(self.model.embed(a, start=last), feats)
                    t = _batch_target(out, targets, i)
                    out.gather(1, t[:, None]).sum().backward()
                weights = a.grad.mean(dim=(2, 3), keepdim=True)     # (B, C, 1, 1)
                cam = (weights * a).sum(dim=1).detach()             # (B, T', V)
                if relu:
                    cam = cam.clamp(min=0)
                maps.append(_upsample(cam, frames).cpu())
                self.model.zero_grad(set_to_none=True)
        finally:
            self.model.train(was_training)
        return torch.cat(maps).numpy()


class CAM:
    """Class activation maps of a network whose head is global average pooling + one linear layer (an ST-GCN).

    Parameters
    ----------
    model : STGCN
    """

    def __init__(self, model):
        _check_network(model, need_outputs=False)
        if model.output_weights() is None:
            raise TypeError("CAM needs an STGCN with its linear head (use GradCAM for DualStream)")
        self.model = model

    @torch.no_grad()
    def attribute(self, x, target=None, *, relu: bool = True, batch_size: int = 64) -> np.ndarray:
        """Maps ``(N, T, V)``; ``target`` as in :meth:`GradCAM.attribute`."""
        x = _as_tensor(x)
        targets = _targets(target, x.shape[0])
        was_training = self.model.training
        self.model.eval()
        device = next(self.model.parameters()).device
        last = self.model.n_blocks
        maps = []
        for i in range(0, x.shape[0], batch_size):
            a = self.model.trunk(x[i:i + batch_size].to(device))                    # (B, C, T', V)
            cams = torch.einsum("kc,nctv->nktv", self.model.output_weights(), a)     # (B, K, T', V)
            t = _batch_target(self.model.output(self.model.embed(a, start=last)), targets, i)
            cam = cams[torch.arange(len(t)), t]
            if relu:
                cam = cam.clamp(min=0)
            maps.append(_upsample(cam, x.shape[1]).cpu())
        self.model.train(was_training)
        return torch.cat(maps).numpy()


def clip_attributions(model, clips, target=None, features=None, *, method: str = "gradcam") -> np.ndarray:
    """``(N, T, V)`` maps by ``method`` (``"gradcam"`` or ``"cam"``) for prepared clips."""
    if method == "gradcam":
        return GradCAM(model).attribute(clips, target, features)
    if method == "cam":
        return CAM(model).attribute(clips, target)
    raise ValueError(f"method must be 'gradcam' or 'cam', got {method!r}")


def joint_contributions(maps: np.ndarray) -> np.ndarray:
    """One contribution score per joint, in [0, 1], from maps ``(N, T, V)``.

    Each clip's map is divided by its own maximum (so every clip counts
    equally), then averaged over clips and frames; the joint means are
    min-max scaled, as Grad-CAM heat maps are for display: 1 is the joint the
    network relies on most, 0 the one it relies on least. The scores are
    relative. Clips whose map is zero everywhere (no positive evidence) are
    left out; if every map is zero, or every joint scores alike, all scores are 0.
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"maps must be (N, T, V), got shape {maps.shape}")
    if not np.isfinite(maps).all():
        raise ValueError("maps contain NaN or infinite values")
    peak = maps.reshape(len(maps), -1).max(axis=1)
    keep = peak > 0
    if not keep.any():
        return np.zeros(maps.shape[2])
    per_joint = (maps[keep] / peak[keep, None, None]).mean(axis=(0, 1))
    span = per_joint.max() - per_joint.min()
    return (per_joint - per_joint.min()) / span if span > 0 else np.zeros_like(per_joint)


def region_scores(joint_scores, layout) -> pd.Series:
    """Mean joint score of each body region present in ``layout`` (``head``, ``arm``, ``trunk``, ``hip``, ``knee``, ``foot``)."""
    lay = get_layout(layout)
    scores = np.asarray(joint_scores, dtype=float)
    if scores.shape != (lay.num_joints,):
        raise ValueError(f"joint_scores must have {lay.num_joints} entries for {lay.name}, got {scores.shape}")
    out = {}
    for region, names in JOINT_REGIONS.items():
        idx = [lay.index(nm) for nm in names if lay.has(nm)]
        if idx:
            out[region] = float(scores[idx].mean())
    return pd.Series(out, name="score")


def select_features(scores: pd.Series, *, threshold: float = DEFAULT_THRESHOLD,
                    always: tuple[str, ...] = ("temporal", "spatial", "symmetry")) -> list[str]:
    """Clinical features of the regions whose score reaches ``threshold``.

    A feature is selected when the joint region it is measured from (see
    ``gaitfeat.features.REGION_SOURCE``) scores ``>= threshold``, or when its
    own region is in ``always``. Yang, Chen & He kept the gait-cycle features
    (cadence, step length, their symmetry) although the ankles scored lowest,
    arguing that positions of a joint say little about quantities derived
    from its timing; ``always`` keeps that choice by default. Returns the
    features in the order of ``gaitfeat.FEATURES``; raises if none is selected.
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    chosen = {r for r, source in REGION_SOURCE.items() if scores.get(source, 0.0) >= threshold} | set(always)
    out = [f for f in FEATURES if FEATURE_INFO[f].region in chosen]
    if not out:
        raise ValueError(f"no body region reaches the Grad-CAM threshold {threshold}; lower it or name regions in always")
    return out
