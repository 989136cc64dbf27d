"""A blinded rating kit for the rationales of the gait taxonomy suite, and the scorer that un-blinds it.

Clinicians rate explanations of a gait classification without knowing which method wrote which, as in the
blinded expert study of Chen, Ji, Greenberg, Steel, Arkam, Lewis, Singh & Liu (2026), "BioGait-VLM: A
Tri-Modal Vision-Language-Biomechanics Framework for Interpretable Clinical Gait Assessment": for each case,
the rationale variants side by side under neutral labels (A, B, C) in a random order, four 1-5 Likert
scales per rationale and a best-of choice.

Make a kit, rate it in any browser, score the downloaded CSV files::

    python -m evaluation.rating_kit reports/taxonomy --n 20 --random-state 0
    python -m evaluation.rating_kit --score ratings_r1.csv ratings_r2.csv --key reports/taxonomy/rating_kit/key.json

Python API: :func:`build_kit` and :func:`score`. See ``docs/rating_kit.md``.
"""

from __future__ import annotations

from evaluation.rating_kit.build import build_kit, sample_subjects
from evaluation.rating_kit.schema import CSV_COLUMNS, DIMENSIONS
from evaluation.rating_kit.scoring import format_summary, score
from evaluation.rating_kit.source import load_rationales

__all__ = ["build_kit", "score", "format_summary", "load_rationales", "sample_subjects", "DIMENSIONS",
           "CSV_COLUMNS"]
