"""Rewrite the generated table in docs/robustness.md: ``python -m tests.robustness`` (from the repository root)."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))  # the cases import ``robustness`` as the test run does (tests/ on the path)

from robustness import BEGIN, END, all_cases, render_table  # noqa: E402

doc = TESTS.parent / "docs" / "robustness.md"
text = doc.read_text(encoding="utf-8")
start, stop = text.index(BEGIN), text.index(END) + len(END)
doc.write_text(text[:start] + render_table(all_cases()) + text[stop:], encoding="utf-8")
print(f"wrote {doc}")
