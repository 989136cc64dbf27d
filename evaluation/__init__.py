"""Patient-level evaluation: one cross-validation harness for every model, metrics with patient
bootstrap confidence intervals, paired model comparisons, and self-contained HTML reports.

Command line: ``python -m evaluation.run --suite gmfcs`` (``--help`` for every option).
Python::

    import evaluation
    results = evaluation.cross_validate(None, "synthetic", suite="gmfcs")
    results.write("reports/")          # reports/gmfcs/{index.html, metrics.json, predictions.csv}
"""

from evaluation.data import SOURCES, Dataset, load_data
from evaluation.harness import SUITES, Suite, cross_validate
from evaluation.metrics import aggregate_predictions, classification_metrics, regression_metrics
from evaluation.results import SCHEMA_VERSION, CVResults
from evaluation.splits import LeakageError, check_disjoint, patient_folds
from evaluation.zoo import MODELS, ModelSpec

__all__ = [
    "cross_validate",
    "CVResults",
    "Dataset",
    "load_data",
    "SOURCES",
    "SUITES",
    "Suite",
    "MODELS",
    "ModelSpec",
    "classification_metrics",
    "regression_metrics",
    "aggregate_predictions",
    "LeakageError",
    "check_disjoint",
    "patient_folds",
    "SCHEMA_VERSION",
]
