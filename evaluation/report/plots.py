"""Figures for the HTML report, returned as PNG data URIs so the page is self-contained.

Matplotlib runs with the non-interactive Agg backend; nothing is shown or
written to disk. Text drawn from data (model names) has ``$`` escaped so
matplotlib never parses it as mathtext.
"""

from __future__ import annotations

import base64
import io

import numpy as np

__all__ = ["confusion_figure", "roc_figure", "scatter_figure", "bland_altman_figure", "skeleton_figure"]

_COLOURS = ("#1f5fa8", "#d1495b", "#2e933c", "#edae49", "#6c4f9c", "#00798c", "#8c564b", "#7f7f7f", "#bcbd22", "#17becf")


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _panels(plt, n: int, width: float, height: float):
    """Up to three panels a row; unused axes hidden."""
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    return fig, axes


def _text(s: object) -> str:
    return str(s).replace("$", r"\$")


def _uri(fig) -> str:
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def confusion_figure(matrices: dict[str, np.ndarray], class_names: list[str], title: str) -> str:
    """One panel per model: counts and row-normalised percentages (true level in rows)."""
    plt = _plt()
    k = len(class_names)
    # Many classes (the taxonomy): bigger panels, smaller cell text, upright class names under the columns.
    scale = max(1.0, k / 5.0)
    fig, axes = _panels(plt, len(matrices), 3.6 * scale, 3.4 * scale)
    for ax, (name, c) in zip(axes.ravel(), matrices.items()):
        c = np.asarray(c, dtype=float)
        row_sum = c.sum(axis=1, keepdims=True)
        share = np.divide(c, row_sum, out=np.zeros_like(c), where=row_sum > 0)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(c.shape[0]):
            for j in range(c.shape[1]):
                ax.text(j, i, f"{int(c[i, j])}\n{100 * share[i, j]:.0f}%", ha="center", va="center",
                        fontsize=8 if k <= 5 else 6.5, color="white" if share[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(class_names)), class_names, rotation=90 if k > 5 else 0)
        ax.set_yticks(range(len(class_names)), class_names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(_text(name), fontsize=10)
    fig.suptitle(_text(title), fontsize=11)
    fig.tight_layout()
    return _uri(fig)


def roc_figure(curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray, float]]], class_names: list[str], title: str) -> str:
    """One panel per class (one-vs-rest), one line per model; ``curves[model][class] = (fpr, tpr, auc)``."""
    plt = _plt()
    k = len(class_names)
    cols = k if k <= 5 else int(np.ceil(k / 2))      # many classes: two rows of panels
    rows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.ravel()[k:]:
        ax.axis("off")
    for j, (ax, cls) in enumerate(zip(axes.ravel(), class_names)):
        ax.plot([0, 1], [0, 1], color="#bbbbbb", lw=0.8, ls=":")
        drawn = False
        for i, (name, per_class) in enumerate(curves.items()):
            if cls not in per_class:
                continue
            fpr, tpr, auc = per_class[cls]
            ax.plot(fpr, tpr, color=_COLOURS[i % len(_COLOURS)], lw=1.3, label=f"{_text(name)} ({auc:.2f})")
            drawn = True
        ax.set_title(f"{_text(cls)} vs rest", fontsize=10)
        ax.set_xlabel("false positive rate")
        if j % cols == 0:
            ax.set_ylabel("true positive rate")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        if drawn:
            ax.legend(fontsize=6.5, loc="lower right")
        else:
            ax.text(0.5, 0.5, "no positive or\nno negative examples", ha="center", va="center", fontsize=8)
    fig.suptitle(_text(title), fontsize=11)
    fig.tight_layout()
    return _uri(fig)


def scatter_figure(pairs: dict[str, tuple[np.ndarray, np.ndarray]], agreement: dict[str, dict], unit: str,
                   title: str) -> str:
    """Predicted against measured values, one panel per model, with the identity line.

    ``agreement[name]["pearson_r"]`` (from the record) is shown in each panel's title.
    """
    plt = _plt()
    fig, axes = _panels(plt, len(pairs), 3.5, 3.4)
    every = np.concatenate([np.r_[t, p] for t, p in pairs.values()])
    lo, hi = float(np.min(every)), float(np.max(every))
    pad = 0.05 * (hi - lo + 1e-9)
    for i, (ax, (name, (true, pred))) in enumerate(zip(axes.ravel(), pairs.items())):
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="#999999", lw=0.8, ls="--")
        ax.scatter(true, pred, s=9, alpha=0.6, color=_COLOURS[i % len(_COLOURS)], edgecolors="none")
        r = agreement[name]["pearson_r"]
        ax.set_title(f"{_text(name)} (r = {'n/a' if r is None else format(r, '.2f')})", fontsize=10)
        ax.set_xlabel(f"measured ({_text(unit)})")
        ax.set_ylabel(f"predicted ({_text(unit)})")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
    fig.suptitle(_text(title), fontsize=11)
    fig.tight_layout()
    return _uri(fig)


def bland_altman_figure(pairs: dict[str, tuple[np.ndarray, np.ndarray]], agreement: dict[str, dict], unit: str,
                        title: str) -> str:
    """Difference (predicted − measured) against the mean of the two, with bias and 95 % limits of agreement.

    ``agreement[name]`` holds ``bias``, ``loa_lower`` and ``loa_upper`` of the plotted pairs (from the record).
    """
    plt = _plt()
    fig, axes = _panels(plt, len(pairs), 3.5, 3.2)
    for i, (ax, (name, (true, pred))) in enumerate(zip(axes.ravel(), pairs.items())):
        bias, lower, upper = (agreement[name][k] for k in ("bias", "loa_lower", "loa_upper"))
        ax.scatter((true + pred) / 2.0, pred - true, s=9, alpha=0.6, color=_COLOURS[i % len(_COLOURS)], edgecolors="none")
        if bias is not None:
            ax.axhline(bias, color="black", lw=1)
        for v in (lower, upper):
            if v is not None:
                ax.axhline(v, color="black", lw=0.8, ls="--")
        half = "n/a" if lower is None or upper is None else f"{(upper - lower) / 2:.1f}"
        ax.set_title(f"{_text(name)}: bias {'n/a' if bias is None else format(bias, '+.1f')}, LoA ±{half}", fontsize=9)
        ax.set_xlabel(f"mean of measured and predicted ({_text(unit)})")
        ax.set_ylabel("predicted − measured")
    fig.suptitle(_text(title), fontsize=11)
    fig.tight_layout()
    return _uri(fig)


def selection_curve_figure(curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], ylabel: str, title: str) -> str:
    """Score against number of features: ``curves[name] = (k, mean, sd)`` (SD band over folds)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    for i, (name, (k, mean, sd)) in enumerate(curves.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        ax.plot(k, mean, marker="o", ms=3, lw=1.3, color=colour, label=_text(name))
        if sd is not None:
            ax.fill_between(k, mean - sd, mean + sd, color=colour, alpha=0.15, lw=0)
    ax.set_xlabel("number of features")
    ax.set_ylabel(_text(ylabel))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(_text(title), fontsize=10)
    fig.tight_layout()
    return _uri(fig)


def class_importance_figure(table: dict[str, dict[str, float]], class_names: list[str], title: str, top: int = 15) -> str:
    """Stacked horizontal bars of mean |SHAP| per class for the ``top`` features (``table[feature][class]``)."""
    plt = _plt()
    names = sorted(table, key=lambda f: -sum(v for v in table[f].values() if v is not None))[:top][::-1]
    fig, ax = plt.subplots(figsize=(7.0, 0.32 * len(names) + 1.2))
    left = np.zeros(len(names))
    for i, cls in enumerate(class_names):
        vals = np.array([table[f].get(cls) or 0.0 for f in names])
        ax.barh(range(len(names)), vals, left=left, color=_COLOURS[i % len(_COLOURS)], label=_text(cls))
        left += vals
    ax.set_yticks(range(len(names)), [_text(n) for n in names], fontsize=8)
    ax.set_xlabel("mean |SHAP| (log-odds), summed over levels")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(_text(title), fontsize=10)
    fig.tight_layout()
    return _uri(fig)


def beeswarm_figure(values: np.ndarray, X: np.ndarray, names: list[str], order: list[int], title: str) -> str:
    """SHAP summary plot: one row per feature of ``order`` (indices into ``names``, most important first; from the
    record), dots coloured by the feature's value (blue low, red high: 5th to 95th percentile of the plotted clips)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.0, 0.36 * len(order) + 1.2))
    rng = np.random.default_rng(0)
    for row, j in enumerate(order[::-1]):
        v = values[:, j]
        x = X[:, j]
        finite = np.isfinite(x)
        lo, hi = (np.nanpercentile(x, 5), np.nanpercentile(x, 95)) if finite.any() else (0.0, 1.0)
        colour = np.clip((x - lo) / (hi - lo + 1e-12), 0, 1)
        jitter = rng.uniform(-0.3, 0.3, len(v))
        ax.scatter(v[finite], row + jitter[finite], c=colour[finite], cmap="coolwarm", s=5, alpha=0.6, edgecolors="none")
        ax.scatter(v[~finite], row + jitter[~finite], color="#999999", s=5, alpha=0.6, edgecolors="none")
    ax.axvline(0, color="#666666", lw=0.8)
    ax.set_yticks(range(len(order)), [_text(names[j]) for j in order[::-1]], fontsize=8)
    ax.set_xlabel("SHAP value (log-odds of the level; blue = low, red = high feature value, grey = not measured)")
    ax.set_title(_text(title), fontsize=10)
    fig.tight_layout()
    return _uri(fig)


def region_figure(shares: dict[str, dict[str, float]], title: str) -> str:
    """Heat map of importance shares per body region (rows) and method (columns)."""
    plt = _plt()
    regions = list(shares)
    methods = list(next(iter(shares.values())))
    m = np.array([[shares[r][k] or 0.0 for k in methods] for r in regions])
    fig, ax = plt.subplots(figsize=(1.0 * len(methods) + 2.5, 0.4 * len(regions) + 1.4))
    ax.imshow(m, cmap="Greens", vmin=0, vmax=max(0.01, float(m.max())), aspect="auto")
    for i in range(len(regions)):
        for j in range(len(methods)):
            ax.text(j, i, f"{100 * m[i, j]:.0f}%", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(methods)), [_text(k) for k in methods], rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(regions)), [_text(r) for r in regions], fontsize=8)
    ax.set_title(_text(title), fontsize=10)
    fig.tight_layout()
    return _uri(fig)


def skeleton_figure(joint_scores, layout: str, title: str = "Grad-CAM joint contributions (mean over folds)") -> str:
    """Joint contribution scores drawn on a skeleton (as in Fig. 2 of Yang, Chen & He), as a data URI."""
    _plt()
    from models.skeleton_plot import plot_skeleton

    return _uri(plot_skeleton(joint_scores, layout, title=title))
