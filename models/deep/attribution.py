"""One attribution API for the skeleton and angle-curve networks, built on captum.

:func:`attribute` explains a fitted estimator (:class:`~models.deep.STGCNClassifier`,
:class:`~models.deep.DualStreamClassifier`, their regressors,
:class:`~models.deep.angle_cnn.AngleCNNClassifier`) or a bare network
(:class:`~models.deep.STGCN`, :class:`~models.deep.DualStream`) on pose clips,
with one of six methods:

``"cam"``
    Class activation maps (Zhou et al., 2016) of the ST-GCN's linear head
    (:class:`~models.deep.explain.CAM`; always the class logit).
``"gradcam"``
    Grad-CAM (Selvaraju et al., ICCV 2017) at the last ST-GCN block
    (captum ``LayerGradCam``), upsampled to the clip's frames.
``"ig"``
    Integrated Gradients (Sundararajan et al., ICML 2017; captum
    ``IntegratedGradients``): the path integral of the gradient from a
    baseline to the clip; the attributions add up to ``f(x) - f(baseline)``.
``"deeplift"``
    DeepLIFT's rescale rule (Shrikumar et al., ICML 2017; captum
    ``DeepLift``) from one backward pass: exact completeness for the logits
    of these ReLU networks; through the softmax (explained probabilities)
    the softmax's local gradient is used, so completeness is approximate.
``"lime"``
    LIME (Ribeiro et al., KDD 2016; captum ``Lime``) over interpretable
    features that are (joint, time segment) groups of the clip (and, for the
    dual-stream network, each clinical feature): a sparse linear model fitted
    to the network's answers on clips with random groups removed.
``"occlusion"``
    Each (joint, time segment) group removed in turn (captum
    ``FeatureAblation``): the drop of the output is the group's attribution —
    the model-agnostic reference the others are compared with.

What is explained (``target``, ``output``)
-----------------------------------------
``target=None`` explains the predicted class of each clip; a class label
(or one per clip) explains that class; ``"expected"`` explains the expected
GMFCS level ``sum_k p_k * level_k``, a single severity number that rises
with every more severe level's probability. ``output="probability"`` (the
default) explains the softmax probability of the target class — the
quantity the faithfulness metrics perturb; ``"logit"`` the class score
before the softmax (Grad-CAM's original choice). CAM always explains the
logit. Regressors explain their single output in the target's units.

Removing a joint and the baselines
----------------------------------
The networks see a missing keypoint as zeros with confidence 0. LIME and
occlusion remove a (joint, segment) group by making it *missing* — exactly
what the network sees when a detector loses a keypoint, and the removal
:func:`models.explanation_metrics.remove_joints` uses to score
faithfulness. IG and DeepLift integrate from a baseline input:

``"clip_mean"`` (default)
    Each joint held still at its mean position (and confidence) over the
    clip's observed frames: the clip's own posture without its motion. Needs
    no training data; attributions then speak about motion only.
an array ``(V, C)`` or ``(T, V, C)``
    A reference pose held still, e.g. :func:`mean_pose` of the training
    fold: "an average child standing still in the normalised frame". The
    attributions then cover posture *and* motion; the explanation study uses
    this one (the training fold's mean pose; never test clips).
``"zeros"``
    Every keypoint missing. Simple, but an input no network was trained on
    (a clip with no person), so the path crosses unusual territory.

For the dual-stream network the clinical features' baseline is 0 in their
standardised units, i.e. the training fold's mean feature values; for the
angle-curve network ``"zeros"`` is the training mean curve (its inputs are
standardised) and ``"clip_mean"`` each angle held at its cycle mean.
The study (:mod:`evaluation.explain_study`) reports how much the choice changes
faithfulness and the joints ranked first.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from models.deep.attribution_inputs import (
    _clip_baseline,
    _curve_baseline,
    _group_mask,
    _Subject,
    _subject,
    _target_indices,
    _upsample,
    mean_pose,
)

__all__ = ["attribute", "Attribution", "mean_pose", "METHODS", "OUTPUTS"]

METHODS = ("cam", "gradcam", "ig", "deeplift", "lime", "occlusion")
OUTPUTS = ("probability", "logit")


@dataclass(frozen=True)
class Attribution:
    """What :func:`attribute` returns; ``np.asarray(a)`` is ``a.maps``.

    Attributes
    ----------
    maps : ndarray (N, T, V) or (N, A, S)
        Per clip, frame and joint (for the angle-curve network: per angle
        channel and sample of the gait cycle). Signed for IG, DeepLift,
        LIME and occlusion (positive: raises the explained output);
        non-negative for CAM and Grad-CAM (with ``relu=True``).
    method : str
    output : str
        ``"probability"``, ``"logit"``, ``"expected"`` or ``"regression"``.
    target : ndarray (N,)
        The class label explained per clip (``None`` entries for the expected
        level and for regression).
    baseline : str
        The baseline (IG, DeepLift) or removal (LIME, occlusion) used.
    channels : ndarray (N, T, V, C) or None
        Per input channel (x, y, confidence) for IG and DeepLift; ``maps`` is their sum.
    features : ndarray (N, F) or None
        Attributions of the dual-stream network's clinical features.
    feature_names : tuple of str or None
    scores : ndarray (N,)
        The explained output at the clips.
    baseline_scores : ndarray (N,) or None
        The explained output at the baselines (IG, DeepLift): completeness
        says ``maps.sum((1, 2)) + features.sum(1) ~= scores - baseline_scores``.
    """

    maps: np.ndarray
    method: str
    output: str
    target: np.ndarray
    baseline: str
    channels: np.ndarray | None = None
    features: np.ndarray | None = None
    feature_names: tuple | None = None
    scores: np.ndarray | None = None
    baseline_scores: np.ndarray | None = None

    def __array__(self, dtype=None, copy=None):
        return self.maps if dtype is None else self.maps.astype(dtype)


# ---- what is explained ------------------------------------------------------------------------------
class _Explained(nn.Module):
    """The network with the explained transformation of its outputs on top (a module, for captum's hooks)."""

    def __init__(self, net: nn.Module, output: str, levels: torch.Tensor | None, scale: float, shift: float):
        super().__init__()
        self.net = net
        self.mode = output
        self.register_buffer("levels", levels if levels is not None else torch.zeros(1))
        self.scale, self.shift = scale, shift

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = self.net(*inputs)                                       # (N, K) raw outputs
        if self.mode == "logit":
            return out
        # torch.softmax, not an nn.Softmax module: captum's DeepLift rule for a Softmax module subtracts a mean
        # over the whole batch (clips and baselines stacked), which would make one clip's map depend on the others
        # in its batch. As a function, the softmax passes its local gradient, clip by clip.
        if self.mode == "probability":
            return torch.softmax(out, dim=1)
        if self.mode == "expected":
            return (torch.softmax(out, dim=1) * self.levels).sum(dim=1, keepdim=True)   # (N, 1)
        return out * self.scale + self.shift                          # regression, target units


# ---- the API ---------------------------------------------------------------------------------------
def attribute(model, clips, method: str = "ig", target=None, *, features=None, output: str = "probability",
              baseline="clip_mean", n_steps: int = 32, n_samples: int = 200, segments: int = 4, relu: bool = True,
              batch_size: int = 16, random_state: int = 0) -> Attribution:
    """Attributions of a pose-clip model's output to the (frame, joint) cells of each clip.

    Parameters
    ----------
    model : fitted estimator or network
        :class:`~models.deep.STGCNClassifier`, :class:`~models.deep.STGCNRegressor`,
        :class:`~models.deep.DualStreamClassifier`, :class:`~models.deep.DualStreamRegressor`,
        :class:`~models.deep.angle_cnn.AngleCNNClassifier`, or an
        :class:`~models.deep.STGCN` / :class:`~models.deep.DualStream` network
        (whose classes are then the output indices).
    clips : array (N, T, V, C)
        Pose clips as the estimators take them (missing keypoints NaN or confidence 0).
    method : {"cam", "gradcam", "ig", "deeplift", "lime", "occlusion"}
    target : None, class label, array (N,) of labels, or "expected"
        What is explained (module docstring); ignored by regressors.
    features : DataFrame or array, optional
        Clinical features for the dual-stream estimators (as in their
        ``predict``; default: computed from the clips); for a bare
        ``DualStream`` network, the standardised features ``(N, F)``.
    output : {"probability", "logit"}
        Explain the class probability (default) or the logit.
    baseline : "clip_mean", "zeros" or array
        IG and DeepLift's starting point (module docstring). LIME and
        occlusion always remove a group by making it missing.
    n_steps : int
        IG's integration steps (Riemann trapezoid; completeness error shrinks as ``1 / n_steps``).
    n_samples : int
        LIME's random removals per clip.
    segments : int
        Time segments per joint for LIME's and occlusion's groups (each
        (frame, joint) gets its group's value); curve models use their own
        (angle, 10 % of the cycle) groups.
    relu : bool
        CAM and Grad-CAM keep positive evidence only.
    batch_size : int
        Clips per captum call (IG evaluates ``batch_size * n_steps`` inputs at once).
    random_state : int
        Seed of LIME's random removals (torch's generator, forked and restored).

    Returns
    -------
    Attribution
        ``maps`` ``(N, T, V)`` (curve models: ``(N, A, S)``), plus the
        channels, clinical-feature attributions and explained outputs.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    for name, value, low in (("n_steps", n_steps, 2), ("n_samples", n_samples, 10), ("segments", segments, 1),
                             ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    subject = _subject(model, clips, features)
    mode = output
    if subject.classes is None:
        mode = "regression"
    elif isinstance(target, str) and target == "expected":
        if output == "logit":
            raise ValueError("the expected level is computed from the probabilities; use output='probability'")
        try:
            levels = torch.as_tensor(np.asarray(subject.classes, dtype=np.float32))
        except (TypeError, ValueError):
            raise ValueError(f"target='expected' needs numeric classes, got {list(subject.classes)}") from None
        mode = "expected"
    if method == "cam" and mode not in ("logit", "probability"):
        raise ValueError("CAM explains one class's logit: give a class target (or None), not the expected level "
                         "or a regression output")
    if method in ("cam", "gradcam") and subject.kind == "curves":
        raise ValueError(f"{method} localises in the network's feature maps, whose channels mix the angle curves "
                         "in its first convolution; use ig, deeplift, lime or occlusion for per-angle maps")
    explained = _Explained(subject.net, mode, levels if mode == "expected" else None, subject.scale, subject.shift)
    net = subject.net
    was_training = net.training
    net.eval()
    try:
        with warnings.catch_warnings():
            # captum's notices that it set requires_grad on the inputs and hooks on the nonlinearities (removed after)
            warnings.filterwarnings("ignore", message=".*did not already require gradients.*")
            warnings.filterwarnings("ignore", message=".*Setting forward, backward hooks.*")
            return _attribute(explained, subject, method, output, target, baseline, n_steps=n_steps,
                              n_samples=n_samples, segments=segments, relu=relu, batch_size=batch_size,
                              random_state=random_state)
    finally:
        net.train(was_training)


def _attribute(explained: _Explained, subject: _Subject, method: str, output: str, target, baseline, *, n_steps,
               n_samples, segments, relu, batch_size, random_state) -> Attribution:
    from models.deep.training import seeded

    mode = explained.mode
    idx, labels = _target_indices(subject, None if mode == "expected" else target, explained)
    with torch.no_grad():
        scores = _gather(explained, subject.inputs, idx)
    result = dict(method=method, output=mode if mode in ("expected", "regression") else output, target=labels,
                  feature_names=subject.feature_names, scores=scores)
    if method == "cam":
        from models.deep.explain import CAM

        with torch.no_grad():
            logits = _gather(_Explained(subject.net, "logit", None, 1.0, 0.0), subject.inputs, idx)
        maps = CAM(subject.net).attribute(subject.inputs[0], idx, relu=relu)
        return Attribution(maps=maps, baseline="none", **{**result, "output": "logit", "scores": logits})
    if method == "gradcam":
        return Attribution(maps=_gradcam(explained, subject, idx, relu, batch_size), baseline="none", **result)
    if method in ("ig", "deeplift"):
        make = _curve_baseline if subject.kind == "curves" else _clip_baseline
        base0, base_name = make(subject.inputs[0], baseline)
        bases = (base0,) + tuple(torch.zeros_like(t) for t in subject.inputs[1:])
        attrs = _gradient_method(method, explained, subject.inputs, bases, idx, n_steps, batch_size)
        with torch.no_grad():
            base_scores = _gather(explained, bases, idx)
        a0 = attrs[0].numpy()
        maps = a0 if subject.kind == "curves" else a0.sum(axis=-1)
        return Attribution(maps=maps, baseline=base_name, channels=None if subject.kind == "curves" else a0,
                           features=attrs[1].numpy() if len(attrs) > 1 else None, baseline_scores=base_scores,
                           **result)
    masks = _group_mask(subject, segments)
    removed = tuple(torch.zeros_like(t) for t in subject.inputs)   # missing keypoints / training-mean features
    with seeded(random_state, torch.device("cpu")):
        attrs = _perturbation_method(method, explained, subject.inputs, removed, masks, idx, n_samples, batch_size)
    a0 = attrs[0].numpy()
    maps = a0 if subject.kind == "curves" else a0[..., 0]          # each group's value on its cells
    return Attribution(maps=maps, baseline="missing", features=attrs[1].numpy() if len(attrs) > 1 else None,
                       **result)


def _gather(explained: _Explained, inputs: tuple, idx: np.ndarray, batch: int = 256) -> np.ndarray:
    out = torch.cat([explained(*(t[i:i + batch] for t in inputs)) for i in range(0, len(idx), batch)])
    return out.gather(1, torch.as_tensor(idx)[:, None])[:, 0].double().numpy()


def _gradcam(explained: _Explained, subject: _Subject, idx, relu: bool, batch_size: int) -> np.ndarray:
    from captum.attr import LayerGradCam

    layer = subject.net.last_block()
    frames = subject.inputs[0].shape[1]
    gc = LayerGradCam(explained, layer)
    maps = []
    step = max(batch_size, 64)
    for i in range(0, len(idx), step):
        inputs = tuple(t[i:i + step] for t in subject.inputs)
        a = gc.attribute(inputs if len(inputs) > 1 else inputs[0], target=torch.as_tensor(idx[i:i + step]),
                         relu_attributions=relu)                  # (B, 1, T', V)
        maps.append(_upsample(a[:, 0].detach(), frames))
    return torch.cat(maps).numpy()


def _gradient_method(method, explained, inputs, bases, idx, n_steps, batch_size) -> tuple[torch.Tensor, ...]:
    from captum.attr import DeepLift, IntegratedGradients

    algo = IntegratedGradients(explained) if method == "ig" else DeepLift(explained)
    parts = [[] for _ in inputs]
    for i in range(0, len(idx), batch_size):
        xb = tuple(t[i:i + batch_size] for t in inputs)
        bb = tuple(t[i:i + batch_size] for t in bases)
        target = torch.as_tensor(idx[i:i + batch_size])
        kwargs = {"n_steps": n_steps, "method": "riemann_trapezoid"} if method == "ig" else {}
        a = algo.attribute(xb if len(xb) > 1 else xb[0], baselines=bb if len(bb) > 1 else bb[0], target=target,
                           **kwargs)
        a = a if isinstance(a, tuple) else (a,)
        for p, ai in zip(parts, a):
            p.append(ai.detach())
    return tuple(torch.cat(p) for p in parts)


def _perturbation_method(method, explained, inputs, removed, masks, idx, n_samples, batch_size):
    from captum.attr import FeatureAblation, Lime

    parts = [[] for _ in inputs]
    if method == "occlusion":
        algo = FeatureAblation(explained)
        for i in range(0, len(idx), batch_size):
            xb = tuple(t[i:i + batch_size] for t in inputs)
            rb = tuple(t[i:i + batch_size] for t in removed)
            a = algo.attribute(xb if len(xb) > 1 else xb[0], baselines=rb if len(rb) > 1 else rb[0],
                               target=torch.as_tensor(idx[i:i + batch_size]),
                               feature_mask=masks if len(masks) > 1 else masks[0], perturbations_per_eval=16)
            a = a if isinstance(a, tuple) else (a,)
            for p, ai in zip(parts, a):
                p.append(ai.detach())
        return tuple(torch.cat(p) for p in parts)
    from captum._utils.models.linear_model import SkLearnRidge

    # The original LIME's surrogate (Ribeiro et al.'s package: ridge, alpha 1) rather than captum's default lasso,
    # whose L1 penalty zeroes every coefficient when the explained probability changes by less than ~0.01.
    algo = Lime(explained, interpretable_model=SkLearnRidge(alpha=1.0))
    for i in range(len(idx)):                      # LIME fits one sparse model per clip
        xb = tuple(t[i:i + 1] for t in inputs)
        rb = tuple(t[i:i + 1] for t in removed)
        a = algo.attribute(xb if len(xb) > 1 else xb[0], baselines=rb if len(rb) > 1 else rb[0],
                           target=int(idx[i]), feature_mask=masks if len(masks) > 1 else masks[0],
                           n_samples=n_samples, perturbations_per_eval=64)
        a = a if isinstance(a, tuple) else (a,)
        for p, ai in zip(parts, a):
            p.append(ai.detach())
    return tuple(torch.cat(p) for p in parts)
