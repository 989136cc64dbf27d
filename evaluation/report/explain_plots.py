"""Figures of the explanation page (``explain.html``), as PNG data URIs.

Drawn from the numbers of ``metrics.json["explain"]`` alone; text from data
is escaped for matplotlib (:func:`evaluation.report.plots._text`).
"""

from __future__ import annotations

import numpy as np

from evaluation.report.plots import _COLOURS, _plt, _text, _uri
from gaitfeat.layouts import get_layout

__all__ = ["significance_figure", "deletion_figure", "perturbation_figure", "angle_map_figure", "CATEGORY_COLOURS"]

#: Pellano et al.'s colours: green very low, yellow low, orange high, red very high.
CATEGORY_COLOURS = {"very_low": "#2e933c", "low": "#f2c14e", "high": "#f08a24", "very_high": "#c0262d"}


def _template(layout: str) -> np.ndarray:
    from models.skeleton_plot import TEMPLATE

    return np.array([TEMPLATE[n] for n in get_layout(layout).joints])


def significance_figure(sig: dict, layout: str, title: str) -> str:
    """Skeletons coloured by each joint's IQR-vs-threshold category: rows methods, columns the low / high groups.

    Top-k joints (kneedle ∧ 2-means) have a thick black ring.
    """
    plt = _plt()
    methods = list(sig)
    groups = ("low", "high")
    lay = get_layout(layout)
    xy = _template(layout)
    fig, axes = plt.subplots(len(methods), 2, figsize=(5.2, 2.9 * len(methods)), squeeze=False)
    for r, method in enumerate(methods):
        for c, group in enumerate(groups):
            ax = axes[r, c]
            ax.axis("off")
            entry = sig[method]["groups"].get(group)
            if entry is None:
                ax.set_title(f"{_text(method)}: no confident {group} clips", fontsize=8)
                continue
            for i, j in lay.edges:
                ax.plot(xy[[i, j], 0], xy[[i, j], 1], color="#b0b4b9", lw=1.5, zorder=1)
            colours = [CATEGORY_COLOURS.get(str(k), "#999999") for k in entry["colours"]]
            top = set(entry["top_k"])
            ax.scatter(xy[:, 0], xy[:, 1], s=70, c=colours, edgecolors=["#000" if v in top else "#555"
                                                                           for v in range(len(xy))],
                       linewidths=[2.6 if v in top else 0.5 for v in range(len(xy))], zorder=2)
            ax.set_aspect("equal")
            ax.set_title(f"{_text(method)} · {'GMFCS I' if group == 'low' else 'GMFCS III-IV'} "
                         f"(n={entry['n_clips']})", fontsize=8)
    handles = [plt.Line2D([], [], marker="o", ls="", color=v, label=k.replace("_", " ")) for k, v in
               CATEGORY_COLOURS.items()]
    handles.append(plt.Line2D([], [], marker="o", ls="", mfc="white", mec="#000", mew=2.4, label="top-k"))
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=7, frameon=False)
    fig.suptitle(_text(title), fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 0.98))
    return _uri(fig)


def deletion_figure(curves: dict, title: str) -> str:
    """Mean deletion and insertion curves per method, with the random-order curves dashed."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for (key, ax) in zip(("deletion", "insertion"), axes):
        for i, (method, c) in enumerate(curves.items()):
            colour = _COLOURS[i % len(_COLOURS)]
            ax.plot(c["fractions"], c[key], color=colour, label=_text(method))
            ax.plot(c["fractions"], c[f"{key}_random"], color=colour, ls=":", lw=0.9)
        ax.set_xlabel(f"share of joints {'removed' if key == 'deletion' else 'restored'}")
        ax.set_ylabel("score / score of the full clip")
        ax.set_title(f"{key} (dotted: random order)", fontsize=9)
    axes[1].legend(fontsize=7)
    fig.suptitle(_text(title), fontsize=10)
    fig.tight_layout()
    return _uri(fig)


def perturbation_figure(rows: list[dict], method: str, score: str, title: str) -> str:
    """Median and IQR of the score against the multiplier: rows the groups, columns velocity / angle / both.

    The x axis runs from the strongest slowdown (0.2 × s_min) to the strongest
    speed-up (5 × s_max); top-k joints in teal, the other joints in grey,
    the legs (hips, knees, ankles) in purple where present; the dashed line
    is the unperturbed median.
    """
    plt = _plt()
    kinds = ("velocity", "angle", "both")
    groups = [g for g in ("low", "high") if any(r["group"] == g for r in rows)]
    fig, axes = plt.subplots(max(len(groups), 1), 3, figsize=(11, 2.9 * max(len(groups), 1)), squeeze=False)
    styles = {"top_k": "#00798c", "non_top_k": "#7f7f7f", "legs": "#6c4f9c"}
    for r, group in enumerate(groups):
        base = [x for x in rows if x["group"] == group and x["joint_set"] == "unperturbed" and x["score"] == score]
        for c, kind in enumerate(kinds):
            ax = axes[r, c]
            for joint_set, colour in styles.items():
                owner = "legs" if joint_set == "legs" else method       # the legs' rows are shared by every method
                sel = [x for x in rows if x["group"] == group and x["kind"] == kind and x["score"] == score
                       and x["joint_set"] == joint_set and x["method"] == owner]
                sel.sort(key=lambda x: (x["mode"] != "slowdown", x["multiplier"]))
                if not sel:
                    continue
                pos = np.arange(len(sel))
                ax.plot(pos, [x["median"] for x in sel], color=colour, marker="o", ms=3, label=joint_set)
                ax.fill_between(pos, [x["q25"] for x in sel], [x["q75"] for x in sel], color=colour, alpha=0.15)
                ticks = [f"{x['multiplier']:g}{'·min' if x['mode'] == 'slowdown' else '·max'}" for x in sel]
                ax.set_xticks(pos)
                ax.set_xticklabels(ticks, rotation=60, fontsize=6)
            if base:
                ax.axhline(base[0]["median"], color="#333", ls="--", lw=0.8)
            ax.set_title(f"{kind} · {'GMFCS I' if group == 'low' else 'GMFCS III-IV'}", fontsize=8)
            ax.set_ylabel(_text(score.replace("_", " ")), fontsize=7)
    if groups:
        axes[0, 0].legend(fontsize=7)
    fig.suptitle(_text(title), fontsize=10)
    fig.tight_layout()
    return _uri(fig)


def angle_map_figure(maps: dict, channels: list[str], title: str) -> str:
    """Mean |attribution| per angle channel and % of the gait cycle, one panel per method."""
    plt = _plt()
    methods = list(maps)
    fig, axes = plt.subplots(1, len(methods), figsize=(3.3 * len(methods), 3.0), squeeze=False)
    for ax, method in zip(axes[0], methods):
        m = np.asarray(maps[method], dtype=float)
        peak = m.max() if m.size and m.max() > 0 else 1.0
        ax.imshow(m / peak, aspect="auto", cmap="YlOrRd", vmin=0, vmax=1, extent=(0, 100, len(m) - 0.5, -0.5))
        ax.set_yticks(range(len(m)))
        ax.set_yticklabels([_text(c) for c in channels][:len(m)], fontsize=7)
        ax.set_xlabel("% gait cycle", fontsize=8)
        ax.set_title(_text(method), fontsize=9)
    fig.suptitle(_text(title), fontsize=10)
    fig.tight_layout()
    return _uri(fig)
