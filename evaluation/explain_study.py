"""The explanation study (``python -m evaluation.run --suite explain``): which attributions can be trusted.

In the patient-level folds of the ``gmfcs`` suite, the study fits the
skeleton models — the ST-GCN, a dual-stream fusion model and the per-cycle
joint-angle CNN — and explains held-out clips of every fold with each
attribution method of :func:`models.deep.attribution.attribute`. It then
measures, per model and method, what K. N. Pellano et al. ("Towards
Biomarker Discovery for Early Cerebral Palsy Detection: Evaluating
Explanations Through Kinematic Perturbations") and Z. Lan, M. Lempereur,
A. Aïssa-El-Bey et al. ("Quantitative comparison of explainable AI methods
for interpreting deep learning-based classification of 3D gait kinematics")
ask of an explanation:

* **faithfulness** — the prediction gap when the k joints an explanation
  ranks highest vs lowest are removed (PGI/PGU after Agarwal et al.,
  OpenXAI), deletion and insertion areas, each against random rankings
  (:mod:`models.explanation_metrics`);
* **stability** — the joint ranking under ~2 px of coordinate noise and
  between overlapping windows of one video;
* **agreement** between methods and across folds;
* **joint significance** (Pellano et al.'s colour coding and kneedle ∧
  2-means top-k, :mod:`models.significance`) per confidently predicted
  group — GMFCS I ("low") and GMFCS III-IV ("high");
* **kinematic perturbations** of the top-k vs the other joints
  (:mod:`models.perturb`) and the response of the predicted severity.

What is explained: each clip's predicted level (``target=None``; CAM needs
a class). The baseline of IG and DeepLift is the training fold's mean pose
(:func:`models.deep.attribution.mean_pose`); the study also runs IG from the
clip's own mean posture and from an all-missing clip to show what the
choice changes. Top-k sets are chosen on half of each fold's explained
patients and the perturbations run on the other half, so no clip both
selects and tests a joint set. :mod:`evaluation.explain_summary` turns the
per-clip rows into the record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models import explanation_metrics as xm
from models.significance import confident_groups, joint_scores

__all__ = ["ExplainSettings", "EXPLAIN_PROFILES", "MODEL_METHODS", "explain_fold", "choose_clips", "FoldExplanation",
           "network_proba"]

#: Attribution methods run on each model of the study (CAM needs a linear head; the angle CNN's feature maps mix
#: the angle channels, so CAM and Grad-CAM do not apply there).
MODEL_METHODS = {
    "stgcn": ("cam", "gradcam", "ig", "deeplift", "lime", "occlusion"),
    "dual": ("gradcam", "ig", "deeplift", "lime", "occlusion"),
    "angle": ("ig", "deeplift", "lime", "occlusion"),
}
#: GMFCS levels of the two confident groups (Pellano et al.'s very-low / very-high risk windows).
LOW_LEVELS, HIGH_LEVELS = (1,), (3, 4)


@dataclass(frozen=True)
class ExplainSettings:
    """Sizes of the explanation study.

    Parameters
    ----------
    n_explain : int
        Held-out clips explained per fold, as pairs of overlapping windows
        of one video (for the window stability), levels taken in turn.
    ig_steps : int
        Integrated Gradients' integration steps.
    lime_samples : int
        LIME's random removals per clip.
    segments : int
        Time segments per joint in LIME's and occlusion's groups.
    ks : tuple of int
        Joints removed for PGI/PGU.
    deletion_steps : int
        Points of the deletion and insertion curves (joints removed in about equal steps).
    jitter_sigma : float
        Coordinate noise for the stability test, in leg lengths (0.005 ≈ 2 px
        for a 400-px leg in a 1080p side view).
    confidence : float
        Probability of GMFCS I (or of III-IV) that makes a clip confidently "low" (or "high").
    reference_clips : int
        Training clips per group for the perturbations' reference percentiles.
    models : tuple of str
        Which of ``stgcn``, ``dual``, ``angle`` to explain.
    perturb : bool
        Run the kinematic perturbations (ST-GCN).
    baselines : bool
        Compare IG's baselines (ST-GCN).
    angle_selection : int
        Most angle channels of the angle CNN's forward selection (0: skip it).
    """

    n_explain: int = 32
    ig_steps: int = 16
    lime_samples: int = 64
    segments: int = 4
    ks: tuple[int, ...] = (1, 3, 5)
    deletion_steps: int = 9
    jitter_sigma: float = 0.005
    confidence: float = 0.7
    reference_clips: int = 300
    models: tuple[str, ...] = ("stgcn", "dual", "angle")
    perturb: bool = True
    baselines: bool = True
    angle_selection: int = 3


#: Per ``--profile``: quick (about a minute on 2 cores), default (a few minutes), paper (more clips and steps).
EXPLAIN_PROFILES = {
    # the quick profile's networks train for two epochs and are rarely confident: a lower bar for the groups
    "quick": ExplainSettings(n_explain=12, ig_steps=8, lime_samples=40, reference_clips=80, angle_selection=2,
                             confidence=0.55),
    "default": ExplainSettings(),
    "paper": ExplainSettings(n_explain=96, ig_steps=32, lime_samples=200, reference_clips=1000, angle_selection=6),
}


def choose_clips(meta: pd.DataFrame, test: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator):
    """Pairs of overlapping windows from test videos, GMFCS levels in turn.

    Returns the chosen rows (``(n,)`` at most) and the pairs ``(i, j, shift)``
    as positions in that array, where window ``j`` starts ``shift`` frames after window ``i``.
    """
    test = np.asarray(test)
    m = meta.iloc[test]
    starts = m["clip_start"].to_numpy() if "clip_start" in m.columns else np.zeros(len(m), dtype=int)
    by_video: dict[str, list[int]] = {}
    for pos, vid in enumerate(m["video_id"].to_numpy()):
        by_video.setdefault(vid, []).append(pos)
    candidates: dict[int, list[tuple[int, int]]] = {}
    for positions in by_video.values():
        positions = sorted(positions, key=lambda p: starts[p])
        if len(positions) >= 2:
            k = rng.integers(0, len(positions) - 1)
            pair = (positions[k], positions[k + 1])
        else:
            pair = (positions[0], -1)
        candidates.setdefault(int(y[test[pair[0]]]), []).append(pair)
    for level in candidates:
        rng.shuffle(candidates[level])
    rows, pairs = [], []
    levels = sorted(candidates)
    while len(rows) < n and any(candidates[lv] for lv in levels):
        for lv in levels:
            if candidates[lv] and len(rows) < n:
                a, b = candidates[lv].pop()
                rows.append(test[a])
                if b >= 0 and len(rows) < n:
                    pairs.append((len(rows) - 1, len(rows), int(starts[b] - starts[a])))
                    rows.append(test[b])
    return np.asarray(rows, dtype=np.int64), pairs


@dataclass
class FoldExplanation:
    """What one model's explanations of one fold produced (per-clip rows and joint scores)."""

    model: str
    fold: int
    rows: np.ndarray                          # dataset rows of the explained clips
    groups: np.ndarray                        # "low" / "high" / "" per clip (confident predictions)
    scores: dict = field(default_factory=dict)        # method -> (N, V) joint scores in [0, 1]
    maps_mean: dict = field(default_factory=dict)     # method -> (V,) or (A, S) mean |map| (angle model: curves)
    clip_rows: list = field(default_factory=list)     # per clip and method: faithfulness and stability
    deletion: dict = field(default_factory=dict)      # method -> (mean deletion curve, mean insertion curve, fractions)
    features: dict = field(default_factory=dict)      # method -> (F,) mean |attribution| of clinical features
    baselines: list = field(default_factory=list)     # IG baseline comparison rows
    feature_names: tuple | None = None                # the dual-stream model's clinical features
    channels: tuple | None = None                     # the angle model's channels
    seconds: dict = field(default_factory=dict)
    empty: dict = field(default_factory=dict)         # method -> clips whose map is zero everywhere


def clip_features(est, clips: np.ndarray, fps):
    """The clinical features a dual-stream estimator needs, computed from ``clips`` at their own frame rates.

    ``None`` for networks without a clinical stream. ``fps``: one rate per
    clip (or one for all), so features of removed or noisy copies are
    computed exactly as the data set's were for training and scoring.
    """
    if not getattr(est.module_, "takes_features", False):
        return None
    from gaitfeat.features import extract_features

    return extract_features(np.asarray(clips, dtype=np.float32), fps, est.layout_)


def network_proba(est, clips: np.ndarray, fps=None) -> np.ndarray:
    """Class probabilities of a fitted ST-GCN or dual-stream estimator straight from its network.

    As ``est.predict_proba`` (missing keypoints zeroed, the dual-stream
    model's features computed from the clips — at ``fps``, one rate per clip
    or one for all, else at the estimator's own ``fps``), but without the
    estimator's refusal of clips with no observed keypoint: the deletion and
    insertion curves need the network's answer on a clip whose every joint
    is removed.
    """
    import torch

    from models.deep.training import zero_missing_batch

    x = torch.from_numpy(np.ascontiguousarray(clips, dtype=np.float32))
    table = clip_features(est, clips, fps) if fps is not None else None
    feats = est._feature_tensor(clips, table, fit=False)
    net = est.module_.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 256):
            xb = zero_missing_batch(x[i:i + 256])
            logits = net(xb) if feats is None else net(xb, feats[i:i + 256])
            out.append(torch.softmax(logits, dim=1).double())
    return torch.cat(out).numpy()


def _score_fn(est, targets: np.ndarray, fps: np.ndarray):
    """Probability of each clip's explained class, for (altered copies of) the explained clips, in their order."""
    def f(clips):
        p = network_proba(est, clips, fps if len(clips) == len(fps) else None)
        return p[np.arange(len(p)), targets]
    return f


def _curve_model(est, targets: np.ndarray):
    """The angle CNN seen as a model of pseudo-clips ``(N, S, A, 3)`` of its standardised curves.

    Removing a "joint" of a pseudo-clip (NaN) sets that angle channel to the
    training mean curve (0 in standardised units), so the joint-removal
    metrics apply to angle channels unchanged.
    """
    import torch

    def f(pseudo):
        curves = np.nan_to_num(np.asarray(pseudo, dtype=np.float32)[..., 0]).transpose(0, 2, 1)   # (N, A, S)
        with torch.no_grad():
            est.module_.eval()
            p = torch.softmax(est.module_(torch.from_numpy(np.ascontiguousarray(curves))), dim=1).double().numpy()
        return p[np.arange(len(p)), targets]
    return f


def _pseudo_clips(curves: np.ndarray) -> np.ndarray:
    """``(N, A, S)`` curves -> ``(N, S, A, 3)`` pseudo-clips (x = curve, y = 0, confidence 1)."""
    n, a, s = curves.shape
    out = np.zeros((n, s, a, 3), dtype=np.float32)
    out[..., 0] = curves.transpose(0, 2, 1)
    out[..., 2] = 1.0
    return out


def explain_fold(name: str, est, dataset, rows: np.ndarray, pairs: list, fold: int, *, labels: np.ndarray,
                 reference: np.ndarray, settings: ExplainSettings, random_state: int) -> FoldExplanation:
    """Explain one fold's chosen held-out clips with every method of model ``name`` and score the explanations.

    ``est`` was fitted on the fold's training patients only (class positions
    ``0..K-1`` of ``labels``); ``reference`` is the training fold's mean pose.
    """
    from models.deep.attribution import attribute

    rng = np.random.default_rng(random_state)
    X = dataset.clips[rows]
    fps = dataset.meta["fps"].to_numpy(dtype=np.float64)[rows]
    feats = clip_features(est, X, fps) if name != "angle" else None
    proba = np.asarray(est.predict_proba(X) if feats is None else est.predict_proba(X, features=feats),
                       dtype=np.float64)
    classes = np.asarray(est.classes_, dtype=np.int64)
    full = np.zeros((len(X), len(labels)))
    full[:, classes] = proba
    targets_pos = proba.argmax(axis=1)                     # column of predict_proba
    target_labels = classes[targets_pos]                   # class position, the estimator's label
    groups = confident_groups(full, labels, low=LOW_LEVELS, high=HIGH_LEVELS, threshold=settings.confidence)
    out = FoldExplanation(name, fold, rows, groups)
    out.channels = tuple(getattr(est, "channels_", ())) or None
    curves = name == "angle"
    if curves:
        pseudo = _pseudo_clips(est.attribution_inputs(X)[0].numpy())
        score = _curve_model(est, targets_pos)
    else:
        score = _score_fn(est, targets_pos, fps)
    patients = dataset.meta["patient_id"].to_numpy()[rows]
    options = dict(n_steps=settings.ig_steps, n_samples=settings.lime_samples, segments=settings.segments,
                   random_state=random_state, batch_size=8)
    base = "zeros" if curves else reference
    X_noisy = xm.jitter(X, settings.jitter_sigma, rng)
    feats_noisy = clip_features(est, X_noisy, fps) if feats is not None else None
    for method in MODEL_METHODS[name]:
        t0 = time.perf_counter()
        a = attribute(est, X, method, target=target_labels, baseline=base, features=feats, **options)
        maps = a.maps.transpose(0, 2, 1) if curves else a.maps          # (N, S, A) for curves: "joints" = angles
        js, empty = joint_scores(maps, return_empty=True)
        out.scores[method] = js
        out.empty[method] = int(empty.sum())
        out.maps_mean[method] = np.abs(a.maps).mean(axis=0) if curves else js.mean(axis=0)
        if a.features is not None:
            out.features[method] = np.abs(a.features).mean(axis=0)
            out.feature_names = a.feature_names
        inputs = pseudo if curves else X
        ks = tuple(k for k in settings.ks if k <= js.shape[1])
        gaps = xm.prediction_gaps(score, inputs, js, ks, rng=rng)
        rand = xm.prediction_gaps(score, inputs, xm.random_scores(rng, *js.shape), ks, rng=rng)
        dele, ins, frac = xm.deletion_insertion(score, inputs, js, steps=settings.deletion_steps, rng=rng)
        rdele, rins, _ = xm.deletion_insertion(score, inputs, xm.random_scores(rng, *js.shape),
                                               steps=settings.deletion_steps)
        out.deletion[method] = (np.nanmean(dele, axis=0), np.nanmean(ins, axis=0), frac,
                                np.nanmean(rdele, axis=0), np.nanmean(rins, axis=0))
        # LIME's own sampling is part of its instability: the noisy copy gets other random removals.
        noisy = attribute(est, X_noisy, method, target=target_labels, baseline=base, features=feats_noisy,
                          **{**options, "random_state": random_state + 1})
        nmaps = noisy.maps.transpose(0, 2, 1) if curves else noisy.maps
        noisy_js, noisy_empty = joint_scores(nmaps, return_empty=True)
        stab = xm.rank_stability(js, noisy_js)
        stab[empty | noisy_empty] = np.nan           # a map that says nothing is not "stable"
        ris = xm.relative_input_stability(a.maps, noisy.maps, X, X_noisy)
        ris[empty | noisy_empty] = np.nan
        window = np.full(len(X), np.nan)
        for i, j, shift in pairs:
            if curves:                           # one mean cycle per clip: compare the whole maps
                window[i] = np.nan if (empty[i] or empty[j]) else xm.rank_stability(js[i], js[j])
            elif 0 < shift < X.shape[1] and not (empty[i] or empty[j]):
                si, ei = joint_scores(maps[i:i + 1, shift:], return_empty=True)
                sj, ej = joint_scores(maps[j:j + 1, :X.shape[1] - shift], return_empty=True)
                window[i] = np.nan if (ei[0] or ej[0]) else xm.rank_stability(si[0], sj[0])
        frame = pd.DataFrame({"model": name, "method": method, "fold": fold, "row": rows, "patient_id": patients,
                              "group": groups, "score": a.scores,
                              "deletion_auc": xm.curve_area(dele, frac), "insertion_auc": xm.curve_area(ins, frac),
                              "deletion_auc_random": xm.curve_area(rdele, frac),
                              "insertion_auc_random": xm.curve_area(rins, frac),
                              "noise_rank_stability": stab, "noise_ris": ris, "window_rank_stability": window,
                              "output_gap": (a.scores - a.baseline_scores) if a.baseline_scores is not None
                              else np.nan})
        frame["empty_map"] = empty
        # An all-zero map ranks no joint: its faithfulness is undefined (not the index order's), so NaN — and
        # the random rankings of those clips are left out too, so method and chance are scored on the same clips.
        frame.loc[empty, ["deletion_auc", "insertion_auc", "deletion_auc_random", "insertion_auc_random"]] = np.nan
        for k in ks:
            g, r = gaps[gaps["k"] == k], rand[rand["k"] == k]
            frame[f"pgi_{k}"] = np.where(empty, np.nan, g["pgi"].to_numpy())
            frame[f"pgu_{k}"] = np.where(empty, np.nan, g["pgu"].to_numpy())
            frame[f"pgi_{k}_random"] = np.where(empty, np.nan, r["pgi"].to_numpy())
            frame[f"pgu_{k}_random"] = np.where(empty, np.nan, r["pgu"].to_numpy())
        out.clip_rows.append(frame)
        out.seconds[method] = time.perf_counter() - t0
        if method == "ig" and name == "stgcn" and settings.baselines:
            out.baselines += _baseline_rows(est, X, score, js, target_labels, options, fold, patients, ks, rng,
                                            settings.deletion_steps)
    return out


def _baseline_rows(est, X, score, reference_scores, targets, options, fold, patients, ks, rng, steps) -> list[dict]:
    """IG from the clip's own mean posture and from an all-missing clip, scored like the main baseline."""
    from models.deep.attribution import attribute

    k = 3 if 3 in ks else ks[-1]
    rows = []
    for baseline in ("clip_mean", "zeros"):
        a = attribute(est, X, "ig", target=targets, baseline=baseline, **options)
        js, empty = joint_scores(a.maps, return_empty=True)
        gaps = xm.prediction_gaps(score, X, js, (k,), rng=rng)
        dele, ins, frac = xm.deletion_insertion(score, X, js, steps=steps, rng=rng)
        nan_if_empty = lambda v: np.where(empty, np.nan, v)     # noqa: E731
        rows.append(pd.DataFrame({
            "baseline": baseline, "fold": fold, "patient_id": patients, "k": k,
            "pgi": nan_if_empty(gaps["pgi"].to_numpy()), "pgu": nan_if_empty(gaps["pgu"].to_numpy()),
            "deletion_auc": nan_if_empty(xm.curve_area(dele, frac)),
            "insertion_auc": nan_if_empty(xm.curve_area(ins, frac)),
            "output_gap": a.scores - a.baseline_scores,
            "top_overlap": xm.top_k_overlap(js, reference_scores, k)}))
    return rows
