"""Model bundles: trained models saved in safe formats with a verified manifest, for assessing new walks.

* :func:`train_bundle` (``python -m evaluation.train``) cross-validates the chosen models of one or more
  suites, keeps the K fold models as an ensemble, fits every model on all patients and writes a folder with a
  manifest holding the SHA-256 of every file (:mod:`evaluation.bundle.training`).
* :func:`load_bundle` verifies that manifest and every file before anything is deserialised, then rebuilds
  the models from skops files (explicitly trusted types only), XGBoost JSON, or weights-only torch state dicts
  (:mod:`evaluation.bundle.manifest`, :mod:`evaluation.bundle.formats`).
"""

from evaluation.bundle.loading import Bundle, load_bundle
from evaluation.bundle.manifest import FORMAT, MODEL_FORMATS, BundleError
from evaluation.bundle.training import DEFAULT_MODELS, train_bundle

__all__ = ["Bundle", "BundleError", "FORMAT", "MODEL_FORMATS", "DEFAULT_MODELS", "load_bundle", "train_bundle"]
