"""Structural rules of the code base that a refactor must not undo (docs/architecture.md)."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gaitfeat", "models", "evaluation")
MAX_LINES = 450
#: Modules allowed to be longer, and why.
LONG_MODULES: dict[str, str] = {}


def _modules():
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_modules_are_small():
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    unexplained = {k: v for k, v in long.items() if k not in LONG_MODULES}
    assert not unexplained, f"modules over {MAX_LINES} lines without a stated reason: {unexplained}"


def test_report_renders_from_the_record_alone():
    """The report package reads metrics.json/figures.npz; it never imports the live run's objects (nor torch)."""
    live = {"evaluation", "evaluation.results", "evaluation.harness", "evaluation.fitting", "evaluation.record",
            "evaluation.scoring", "evaluation.feature_study", "evaluation.data", "evaluation.stats", "torch",
            "models.deep"}
    for path in sorted((ROOT / "evaluation" / "report").glob("*.py")):
        bad = {m for m in _imports(path) if m in live or m.startswith(("torch.", "models.deep."))}
        assert not bad, f"{path.name} imports {bad}"


def test_assessment_page_renders_from_the_record_alone():
    """The assessment page modules read assessment.json's dict; they never import the bundle, models or torch."""
    live = {"evaluation.bundle", "evaluation.assessment.record", "evaluation.assessment.predict",
            "evaluation.assessment.measure", "torch", "models.deep", "gaitfeat"}
    for name in ("page", "page_format", "page_provenance", "page_assets", "svg", "pdf"):
        path = ROOT / "evaluation" / "assessment" / f"{name}.py"
        bad = {m for m in _imports(path) if m in live or m.startswith(("torch.", "models.", "gaitfeat.",
                                                                           "evaluation.bundle."))}
        assert not bad, f"{path.name} imports {bad}"


def test_packages_are_layered():
    """evaluation -> models -> gaitfeat, never backwards."""
    for path in _modules():
        package = path.relative_to(ROOT).parts[0]
        roots = {m.split(".")[0] for m in _imports(path)}
        if package == "gaitfeat":
            assert not roots & {"models", "evaluation"}, path
        elif package == "models":
            assert "evaluation" not in roots, path


@pytest.mark.parametrize("pattern, package", [
    (r"isinstance\([^)]*\b(DualStream|STGCN)\)", "models"),   # one network interface: no dispatch on the network type
    (r"__dict__\.setdefault\(\s*[\"']_", None),              # no attribute written on another object's private name
])
def test_no_type_dispatch_or_private_attribute_writes(pattern, package):
    hits = []
    for path in _modules():
        if package is not None and path.relative_to(ROOT).parts[0] != package:
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if re.search(pattern, line):
                hits.append(f"{path.relative_to(ROOT)}:{i + 1}")
    assert not hits, hits


def test_papers_are_cited_by_name():
    """User-facing text cites papers by authors and title, never by the team's internal file names."""
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *_modules()]
    # the team's internal names for the papers: "seed" followed by a file number or "paper"
    pattern = re.compile("seed" + r" (0|paper)", re.IGNORECASE)
    hits = [f"{p.relative_to(ROOT)}:{i + 1}" for p in texts
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines()) if pattern.search(line)]
    assert not hits, hits
