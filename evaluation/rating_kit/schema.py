"""Constants shared by the kit builder, the page and the scorer: rating dimensions, CSV columns, file formats."""

from __future__ import annotations

__all__ = ["DIMENSIONS", "DIMENSION_QUESTIONS", "CSV_COLUMNS", "LIKERT", "SOURCE_FORMAT", "SOURCE_VERSION",
           "KEY_FORMAT", "KEY_VERSION", "SUMMARY_FORMAT", "SUMMARY_VERSION", "option_labels"]

#: The four 1-5 Likert dimensions each rationale is rated on, in page and CSV order.
DIMENSIONS: tuple[str, ...] = ("plausibility", "grounding", "specificity", "clarity")

#: What the page asks for each dimension: (short title, question). The wording names no gait class and no
#: rationale variant, so that the page itself cannot unblind a rater.
DIMENSION_QUESTIONS: dict[str, tuple[str, str]] = {
    "plausibility": ("Clinical plausibility",
                     "Is the reasoning consistent with how this kind of gait presents clinically?"),
    "grounding": ("Evidence grounding",
                  "Is every claim supported by a measurement the text cites (and by what you see in the walk)?"),
    "specificity": ("Specificity",
                    ("Does it name findings that tell this walk apart from other gait patterns, rather than "
                     "statements that would fit any walk?")),
    "clarity": ("Clarity", "Is it easy to read, unambiguous and free of jargon a colleague would stumble on?"),
}

#: The Likert scale: the values and the words at its two ends.
LIKERT: tuple[int, ...] = (1, 2, 3, 4, 5)

#: Columns of the ratings CSV the page downloads, in order (one row per case and option).
CSV_COLUMNS: tuple[str, ...] = ("kit_id", "rater_id", "item", "option", *DIMENSIONS, "best")

SOURCE_FORMAT, SOURCE_VERSION = "gaitfeat.rationales", 1
KEY_FORMAT, KEY_VERSION = "gaitfeat.rating_key", 1
SUMMARY_FORMAT, SUMMARY_VERSION = "gaitfeat.rating_summary", 1


def option_labels(k: int) -> tuple[str, ...]:
    """The labels raters see for ``k`` rationales of one case: ``("A", "B", "C")`` for three."""
    if not 2 <= k <= 26:
        raise ValueError(f"a rating kit needs between 2 and 26 rationale variants, not {k}")
    return tuple(chr(ord("A") + i) for i in range(k))
