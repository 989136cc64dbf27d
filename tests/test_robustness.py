"""Every bad-input class ends in a clear error or a counted, reported skip; docs/robustness.md says which."""

from __future__ import annotations

from pathlib import Path

import pytest

from robustness import BEGIN, END, all_cases, render_table

ROOT = Path(__file__).resolve().parents[1]
CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.area}: {c.bad_input[:60]}" for c in CASES])
def test_bad_input_outcome(case, tmp_path):
    case.check(tmp_path)


def test_robustness_doc_lists_every_case():
    text = (ROOT / "docs" / "robustness.md").read_text(encoding="utf-8")
    table = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert table == render_table(CASES), "docs/robustness.md is out of date: run `python -m tests.robustness`"
