"""Patient-level evaluation: one cross-validation harness for every model, metrics with patient
bootstrap confidence intervals, paired model comparisons, and self-contained HTML reports.

Command line: ``python -m evaluation.run --suite gmfcs`` (``--help`` for every option).
Python::

    import evaluation
    results = evaluation.cross_validate(None, "synthetic", suite="gmfcs")
    results.write("reports/")          # reports/gmfcs/{metrics.json, figures.npz, predictions.csv, index.html}

The pages are rendered from the written record alone: ``python -m evaluation.report reports/gmfcs/``
re-creates them. Single-visit assessment: ``python -m evaluation.train --out model/`` saves a verified model
bundle (:mod:`evaluation.bundle`); ``python -m evaluation.assess --model model/ --data openpose:DIR --fps 30
--out visit/`` (``evaluation.assess(...)``) writes one patient's report (:mod:`evaluation.assessment`).

Modules: data (Dataset, load_data), suites, zoo (MODELS, ModelSpec), splits (patient-level splits, leakage
guard), fitting (one model on one split), harness (cross_validate), feature_study, metrics and stats, scoring
(metrics with CIs, comparisons), results (CVResults), provenance, record (metrics.json, figures.npz), report
(HTML pages), run (the command line), bundle and train (model bundles), assessment and assess (one patient).
"""

from evaluation.assessment import Assessment, assess
from evaluation.bundle import Bundle, BundleError, load_bundle, train_bundle
from evaluation.data import SOURCES, Dataset, load_data
from evaluation.harness import cross_validate
from evaluation.metrics import aggregate_predictions, classification_metrics, regression_metrics
from evaluation.multitarget import MultiTargetResults, cross_validate_targets
from evaluation.results import SCHEMA_VERSION, CVResults
from evaluation.splits import LeakageError, check_disjoint, patient_folds
from evaluation.suites import SUITES, Suite
from evaluation.zoo import MODELS, ModelSpec

__all__ = [
    "assess",
    "Assessment",
    "load_bundle",
    "train_bundle",
    "Bundle",
    "BundleError",
    "cross_validate",
    "cross_validate_targets",
    "CVResults",
    "MultiTargetResults",
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
