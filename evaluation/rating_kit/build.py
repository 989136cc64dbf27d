"""Build a blinded rating kit: sample the cases, shuffle the rationales, write the page and the key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evaluation.rating_kit.page import render_page
from evaluation.rating_kit.schema import DIMENSIONS, KEY_FORMAT, KEY_VERSION, option_labels
from evaluation.rating_kit.source import Rationales, load_rationales
from gaitfeat.jsonable import to_jsonable

__all__ = ["sample_subjects", "make_kit_id", "build_kit"]


def sample_subjects(true_classes: list[str], n: int, rng: np.random.Generator,
                    class_order: tuple[str, ...] | None = None) -> list[int]:
    """Pick ``n`` subject indices, as evenly over the true classes as their sizes allow, in random order.

    Classes take turns (in a random order each round) to give one more subject, so every class gets
    ``n // k`` or one more, except a class too small to give its share, whose remainder goes to the others.
    The returned order is shuffled again so that case numbers say nothing about the class.

    Parameters
    ----------
    true_classes : list of str
        True class of each subject.
    n : int
        Number of subjects to pick (1 <= n <= len(true_classes)).
    rng : numpy.random.Generator
    class_order : tuple of str, optional
        Order of the strata before shuffling (default: order of first appearance); only for reproducibility.

    Returns
    -------
    list of int
    """
    if not 1 <= n <= len(true_classes):
        raise ValueError(f"cannot sample {n} subjects from {len(true_classes)}")
    order = [c for c in (class_order or ()) if c in set(true_classes)]
    order += [c for c in dict.fromkeys(true_classes) if c not in order]
    pools = {c: list(rng.permutation([i for i, t in enumerate(true_classes) if t == c])) for c in order}
    taken = {c: 0 for c in order}
    left = n
    while left:
        open_classes = [c for c in order if taken[c] < len(pools[c])]
        for j in rng.permutation(len(open_classes)):
            if not left:
                break
            taken[open_classes[j]] += 1
            left -= 1
    picked = [int(i) for c in order for i in pools[c][:taken[c]]]
    return [picked[j] for j in rng.permutation(len(picked))]


def make_kit_id(random_state: int, n: int, source_sha256: str) -> str:
    """The kit's identifier: 16 hex digits drawn from a Generator seeded by ``random_state``, ``n`` and the report.

    Seeding with the report's SHA-256 and ``n`` as well as ``random_state`` keeps the id reproducible yet gives
    kits of different reports (or sizes) different ids, so ratings of one kit cannot be scored against the key
    of another that happens to share the default ``random_state``.
    """
    words = [int(source_sha256[i:i + 8], 16) for i in range(0, 32, 8)]
    return np.random.default_rng([int(random_state), int(n), *words]).bytes(8).hex()


def _check_args(n, random_state) -> None:
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive number of cases, not {n!r}")
    if not isinstance(random_state, int | np.integer) or isinstance(random_state, bool) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative integer, not {random_state!r}")


def _key(src: Rationales, kit_id: str, n: int, random_state: int, cases: list[dict]) -> dict:
    return {
        "format": KEY_FORMAT, "version": KEY_VERSION, "kit_id": kit_id,
        "source": {"path": str(src.path), "sha256": src.sha256},
        "n": n, "random_state": int(random_state), "simulated": src.simulated,
        "variants": dict(src.variants), "dimensions": list(DIMENSIONS),
        "options": list(option_labels(len(src.variants))),
        "items": [{"item": c["item"], "subject_id": c["subject"].subject_id, "video_id": c["subject"].video_id,
                   "true_class": c["subject"].true_class, "predicted_class": c["subject"].predicted_class,
                   "probability": c["subject"].probability, "options": c["options"]} for c in cases],
    }


def build_kit(report_dir: str | Path, *, n: int, random_state: int, out: str | Path | None = None) -> Path:
    """Write a blinded rating kit for ``n`` subjects of a taxonomy report.

    Parameters
    ----------
    report_dir : str or Path
        Folder holding ``rationales.json`` (or the file itself).
    n : int
        Number of cases (subjects) in the kit.
    random_state : int
        Seed of the :class:`numpy.random.Generator` that samples the subjects (stratified over true classes)
        and shuffles the rationales of each case; the same seed gives a byte-identical kit.
    out : str or Path, optional
        Output folder (default ``REPORT_DIR/rating_kit``).

    Returns
    -------
    Path
        The output folder, holding ``rating_kit.html`` (for raters) and ``key.json`` (kept by the organiser).

    Raises
    ------
    gaitfeat.errors.ReaderError
        A missing or malformed ``rationales.json``.
    ValueError
        Bad ``n`` or ``random_state``, or fewer subjects than ``n``.
    """
    _check_args(n, random_state)
    src = load_rationales(report_dir)
    if len(src.subjects) < n:
        raise ValueError(f"{src.path}: {len(src.subjects)} subjects, fewer than the {n} cases asked for (--n)")
    rng = np.random.default_rng(int(random_state))
    picked = sample_subjects([s.true_class for s in src.subjects], int(n), rng, src.classes)
    variants = list(src.variants)
    labels = option_labels(len(variants))
    cases = []
    for item, idx in enumerate(picked, start=1):
        perm = rng.permutation(len(variants))
        cases.append({"item": item, "subject": src.subjects[idx],
                      "options": {lab: variants[int(p)] for lab, p in zip(labels, perm)}})
    kit_id = make_kit_id(int(random_state), int(n), src.sha256)
    folder = Path(out) if out is not None else Path(report_dir if Path(report_dir).is_dir()
                                                    else Path(report_dir).parent) / "rating_kit"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rating_kit.html").write_text(render_page(src, kit_id, cases), encoding="utf-8")
    key = json.dumps(to_jsonable(_key(src, kit_id, int(n), int(random_state), cases)), indent=1, allow_nan=False)
    (folder / "key.json").write_text(key + "\n", encoding="utf-8")
    return folder
