"""Figures for the HTML report, returned as PNG data URIs so the page is self-contained.

Matplotlib runs with the non-interactive Agg backend; nothing is shown or
written to disk. Text drawn from data (model names) has ``$`` escaped so
matplotlib never parses it as mathtext.
"""

from __future__ import annotations

import base64
import io

import numpy as np

__all__ = ["confusion_figure", "roc_figure", "scatter_figure", "bland_altman_figure"]

_COLOURS = ("#1f5fa8", "#d1495b", "#2e933c", "#edae49", "#6c4f9c", "#00798c", "#8c564b", "#7f7f7f", "#bcbd22", "#17becf")


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _text(s: object) -> str:
    return str(s).replace("$", r"\$")


def _uri(fig) -> str:
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def confusion_figure(matrices: dict[str, np.ndarray], class_names: list[str], title: str) -> str:
    """One panel per model: counts and row-normalised percentages (true level in rows)."""
    plt = _plt()
    n = len(matrices)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, (name, c) in zip(axes.ravel(), matrices.items()):
        c = np.asarray(c, dtype=float)
        row_sum = c.sum(axis=1, keepdims=True)
        share = np.divide(c, row_sum, out=np.zeros_like(c), where=row_sum > 0)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(c.shape[0]):
            for j in range(c.shape[1]):
                ax.text(j, i, f"{int(c[i, j])}\n{100 * share[i, j]:.0f}%", ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(class_names)), class_names)
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
    fig, axes = plt.subplots(1, k, figsize=(3.3 * k, 3.4), squeeze=False)
    for j, (ax, cls) in enumerate(zip(axes[0], class_names)):
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
        if j == 0:
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


def scatter_figure(pairs: dict[str, tuple[np.ndarray, np.ndarray]], unit: str, title: str) -> str:
    """Predicted against measured values, one panel per model, with the identity line."""
    plt = _plt()
    n = len(pairs)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.5 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    every = np.concatenate([np.r_[t, p] for t, p in pairs.values()])
    lo, hi = float(np.min(every)), float(np.max(every))
    pad = 0.05 * (hi - lo + 1e-9)
    for i, (ax, (name, (true, pred))) in enumerate(zip(axes.ravel(), pairs.items())):
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="#999999", lw=0.8, ls="--")
        ax.scatter(true, pred, s=9, alpha=0.6, color=_COLOURS[i % len(_COLOURS)], edgecolors="none")
        r = np.corrcoef(true, pred)[0, 1] if np.ptp(pred) > 0 and np.ptp(true) > 0 else float("nan")
        ax.set_title(f"{_text(name)} (r = {r:.2f})", fontsize=10)
        ax.set_xlabel(f"measured ({_text(unit)})")
        ax.set_ylabel(f"predicted ({_text(unit)})")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
    fig.suptitle(_text(title), fontsize=11)
    fig.tight_layout()
    return _uri(fig)


def bland_altman_figure(pairs: dict[str, tuple[np.ndarray, np.ndarray]], unit: str, title: str) -> str:
    """Difference (predicted − measured) against the mean of the two, with bias and 95 % limits of agreement."""
    plt = _plt()
    n = len(pairs)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.5 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for i, (ax, (name, (true, pred))) in enumerate(zip(axes.ravel(), pairs.items())):
        mean = (true + pred) / 2.0
        diff = pred - true
        bias = float(np.mean(diff))
        sd = float(np.std(diff, ddof=1)) if len(diff) > 1 else 0.0
        ax.scatter(mean, diff, s=9, alpha=0.6, color=_COLOURS[i % len(_COLOURS)], edgecolors="none")
        ax.axhline(bias, color="black", lw=1)
        for v in (bias - 1.96 * sd, bias + 1.96 * sd):
            ax.axhline(v, color="black", lw=0.8, ls="--")
        ax.set_title(f"{_text(name)}: bias {bias:+.1f}, LoA ±{1.96 * sd:.1f}", fontsize=9)
        ax.set_xlabel(f"mean of measured and predicted ({_text(unit)})")
        ax.set_ylabel("predicted − measured")
    fig.suptitle(_text(title), fontsize=11)
    fig.tight_layout()
    return _uri(fig)
