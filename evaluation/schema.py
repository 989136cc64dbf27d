"""Names and version of a run's written record (``metrics.json`` + ``figures.npz``), shared by writer and report."""

__all__ = ["SCHEMA", "SCHEMA_VERSION", "FIGURES_FILE"]

SCHEMA = "gaitfeat-evaluation-metrics"
#: Version of the ``metrics.json`` layout (docs/evaluation.md). Bump the major number when a key is removed or
#: changes meaning. 1.1: "importance"; 1.2: "deep", per-model comparison references; 1.3: "figures",
#: "patient_predictions", "gradcam", "unit", importance "ranks"/"mean_rank"/"feature_regions" and configuration
#: "study" (the record alone renders the report); 1.4: "explain" (the explanation study, --suite explain); 1.5:
#: "uncertainty" (bucket heads), configuration "pooling" and "best_feature_model", the multi-target overview record
#: of --suite params ("kind": "multi-target", "targets").
SCHEMA_VERSION = "1.5"
#: The arrays behind the figures, next to metrics.json.
FIGURES_FILE = "figures.npz"
