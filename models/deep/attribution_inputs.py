"""Inputs of :func:`models.deep.attribution.attribute`: the network behind a model, baselines, interpretable groups.

Private helpers of :mod:`models.deep.attribution` (see its docstring for the
baselines and the removal of joints), and :func:`mean_pose`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["mean_pose"]


def mean_pose(clips) -> np.ndarray:
    """The mean pose ``(V, C)`` of clips ``(N, T, V, C)`` over their observed keypoints.

    A keypoint counts where x and y are finite and the confidence is > 0 (the
    networks' rule); the confidence of the result is the mean confidence of
    the observed keypoints. Joints never observed are zeros (missing). Pass
    training clips only: the result is a baseline for :func:`attribute`.
    """
    clips = np.asarray(clips)
    if clips.ndim != 4 or clips.shape[-1] != 3:
        raise ValueError(f"clips must be (N, T, V, 3), got shape {clips.shape}")
    v = clips.shape[2]
    count, total = np.zeros(v), np.zeros((v, 3))
    for i in range(0, len(clips), 256):          # in blocks: no float64 copy of a whole training fold
        x = clips[i:i + 256].astype(np.float64)
        valid = np.isfinite(x[..., 0]) & np.isfinite(x[..., 1]) & (np.nan_to_num(x[..., 2]) > 0)
        count += valid.sum(axis=(0, 1))
        total += np.where(valid[..., None], np.nan_to_num(x), 0.0).sum(axis=(0, 1))
    return np.where(count[:, None] > 0, total / np.maximum(count, 1)[:, None], 0.0).astype(np.float32)


# ---- the network behind a model ----------------------------------------------------------------
@dataclass
class _Subject:
    """A network and its inputs, however the model was given."""

    net: nn.Module
    inputs: tuple                      # (clips (N, T, V, 3) zeroed,) [+ features (N, F)] or (curves (N, A, S),)
    kind: str                          # "clips" or "curves"
    classes: np.ndarray | None         # class labels; None for regression
    feature_names: tuple | None = None
    groups: np.ndarray | None = None   # (A, S) interpretable groups of a curve model
    scale: float = 1.0
    shift: float = 0.0


def _subject(model, X, features) -> _Subject:
    from sklearn.utils.validation import check_is_fitted

    from models.deep.inputs import prepare_clips

    if isinstance(model, nn.Module) and all(callable(getattr(model, m, None)) for m in ("trunk", "embed", "output")) \
            and getattr(model, "layout", None) is not None:
        # a bare network with the shared interface (models.deep.fusion): layout, takes_features, n_outputs
        clips, _ = prepare_clips(X, model.layout)
        inputs = (torch.from_numpy(clips),)
        if model.takes_features:
            if features is None:
                raise ValueError("a DualStream network needs the standardised clinical features (features=)")
            inputs += (torch.as_tensor(np.asarray(features, dtype=np.float32)),)
        elif features is not None:
            raise ValueError("an ST-GCN takes no clinical features")
        k = model.n_outputs
        return _Subject(model, inputs, "clips", np.arange(k) if k > 1 else None)
    if callable(getattr(model, "attribution_inputs", None)):          # the angle-curve network
        check_is_fitted(model, "module_")
        inputs = tuple(model.attribution_inputs(X))
        return _Subject(model.module_, inputs, "curves", np.asarray(model.classes_),
                        groups=np.asarray(model.attribution_groups()))
    if hasattr(model, "_feature_tensor") and hasattr(model, "layout"):   # the ST-GCN / dual-stream estimators
        check_is_fitted(model, "module_")
        clips, _ = prepare_clips(X, model.layout_)
        inputs = (torch.from_numpy(clips),)
        feats = model._feature_tensor(X, features, fit=False)
        names = None
        if feats is not None:
            inputs += (feats,)
            names = tuple(str(f) for f in model.feature_names_in_)
        regression = model._task == "regression"
        return _Subject(model.module_, inputs, "clips", None if regression else np.asarray(model.classes_), names,
                        scale=model.y_scale_ if regression else 1.0, shift=model.y_mean_ if regression else 0.0)
    raise TypeError(f"cannot attribute {type(model).__name__}: expected a fitted ST-GCN, dual-stream or angle-curve "
                    "estimator, or an STGCN / DualStream network")


def _target_indices(subject: _Subject, target, explained: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    """Output index per clip (for captum) and the class label it stands for."""
    n = subject.inputs[0].shape[0]
    if subject.classes is None or explained.mode == "expected":
        return np.zeros(n, dtype=np.int64), np.full(n, None, dtype=object)
    if target is None:
        with torch.no_grad():
            out = torch.cat([subject.net(*(t[i:i + 256] for t in subject.inputs)) for i in range(0, n, 256)])
        idx = out.argmax(dim=1).numpy()
    else:
        labels = np.broadcast_to(np.asarray(target, dtype=object), (n,)) if np.ndim(target) == 0 else np.asarray(target)
        if labels.shape != (n,):
            raise ValueError(f"target must be one class label or one per clip ({n}), got shape {labels.shape}")
        lookup = {c.item() if hasattr(c, "item") else c: i for i, c in enumerate(subject.classes)}
        try:
            idx = np.array([lookup[v.item() if hasattr(v, "item") else v] for v in labels], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"target {exc.args[0]!r} is not one of the model's classes {list(subject.classes)}") \
                from None
    return idx, subject.classes[idx]


# ---- baselines and groups ------------------------------------------------------------------------------
def _clip_baseline(clips: torch.Tensor, baseline) -> tuple[torch.Tensor, str]:
    """Baseline clips ``(N, T, V, 3)`` for zeroed clips (missing keypoints are zeros with confidence 0).

    Where a keypoint of the clip is missing, the baseline equals the clip
    (zeros): the path never moves a missing keypoint, so IG and DeepLift give
    missingness itself no attribution (an often occluded far-side ankle would
    otherwise collect credit for being missing, not for how it moved).
    """
    missing = (clips[..., 2] <= 0)[..., None]                                   # (N, T, V, 1)
    if isinstance(baseline, str):
        if baseline == "zeros":
            return torch.zeros_like(clips), "zeros"
        if baseline == "clip_mean":
            valid = (~missing).to(clips.dtype)
            count = valid.sum(dim=1, keepdim=True)
            mean = (clips * valid).sum(dim=1, keepdim=True) / count.clamp(min=1)
            return torch.where(missing, clips, mean.expand_as(clips)), "clip_mean"
        raise ValueError(f"baseline must be 'clip_mean', 'zeros' or an array (V, C) / (T, V, C), got {baseline!r}")
    ref = torch.as_tensor(np.asarray(baseline, dtype=np.float32))
    if ref.shape not in (clips.shape[2:], clips.shape[1:]) or not torch.isfinite(ref).all():
        raise ValueError(f"a baseline pose must be finite with shape {tuple(clips.shape[2:])} or "
                         f"{tuple(clips.shape[1:])}, got {tuple(ref.shape)}")
    return torch.where(missing, clips, ref.expand_as(clips)), "reference pose"


def _curve_baseline(curves: torch.Tensor, baseline) -> tuple[torch.Tensor, str]:
    if isinstance(baseline, str) and baseline == "zeros":
        return torch.zeros_like(curves), "training mean curves"
    if isinstance(baseline, str) and baseline == "clip_mean":
        return curves.mean(dim=2, keepdim=True).expand_as(curves).contiguous(), "cycle mean"
    if isinstance(baseline, str):
        raise ValueError(f"baseline must be 'clip_mean', 'zeros' or an array (A, S), got {baseline!r}")
    ref = torch.as_tensor(np.asarray(baseline, dtype=np.float32))
    if ref.shape != curves.shape[1:]:
        raise ValueError(f"a baseline curve set must have shape {tuple(curves.shape[1:])}, got {tuple(ref.shape)}")
    return ref.expand_as(curves).contiguous(), "reference curves"


def _group_mask(subject: _Subject, segments: int) -> tuple[torch.Tensor, ...]:
    """captum feature masks: one interpretable feature per (joint, time segment) [+ one per clinical feature]."""
    if subject.kind == "curves":
        return (torch.as_tensor(subject.groups, dtype=torch.int64)[None],)          # (1, A, S)
    _, t, v, c = subject.inputs[0].shape
    if not 1 <= segments <= t:
        raise ValueError(f"segments must be between 1 and the clip length {t}, got {segments}")
    seg = np.minimum(np.arange(t) * segments // t, segments - 1)                    # frame -> segment
    mask = seg[:, None] * v + np.arange(v)[None, :]                                 # (T, V)
    masks = (torch.as_tensor(np.broadcast_to(mask[:, :, None], (t, v, c)).copy())[None],)
    if len(subject.inputs) > 1:
        n_feat = subject.inputs[1].shape[1]
        masks += (torch.arange(segments * v, segments * v + n_feat)[None],)
    return masks


def _upsample(cam: torch.Tensor, frames: int) -> torch.Tensor:
    # (N, T', V) -> (N, T, V), linear in time
    return F.interpolate(cam.permute(0, 2, 1), size=frames, mode="linear", align_corners=False).permute(0, 2, 1)
