"""Loading a verified model bundle and predicting with its models.

:func:`load_bundle` checks the manifest and every file's SHA-256 (:func:`evaluation.bundle.manifest.verify`)
before it deserialises anything, then rebuilds each model from the verified bytes in its safe format
(:mod:`evaluation.bundle.formats`).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.bundle.formats import as_positions, load_model
from evaluation.bundle.manifest import MANIFEST, BundleError, verify
from evaluation.suites import SUITES

__all__ = ["Bundle", "load_bundle"]


@dataclass
class Bundle:
    """A loaded, verified model bundle.

    Attributes
    ----------
    root : Path
    manifest : dict
        The verified manifest (schema in docs/assessment.md).
    models : dict
        ``{(suite, model, role): fitted estimator}``; role ``"final"`` or ``"fold<k>"``.
    typical_ranges : DataFrame
        Typical 5th-95th percentile of each feature (index: feature).
    typical_curves : DataFrame
        Typical gait-cycle angle band: ``angle``, ``percent``, ``low``, ``median``, ``high``.
    training_predictions : DataFrame
        The final models' in-sample predictions per training video.
    feature_support : DataFrame
        Each feature's range over the training clips (index: feature; ``min``, ``p01``, ``p99``, ``max``).
    manifest_sha256 : str
        SHA-256 of the manifest bytes that were verified (the bundle's identity in a report).
    """

    root: Path
    manifest: dict
    models: dict
    typical_ranges: pd.DataFrame
    typical_curves: pd.DataFrame
    training_predictions: pd.DataFrame
    feature_support: pd.DataFrame
    manifest_sha256: str = ""
    _entries: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._entries = {(m["suite"], m["name"], m["role"]): m for m in self.manifest["models"]}

    @property
    def suites(self) -> list[str]:
        return list(self.manifest["suites"])

    @property
    def simulated(self) -> bool:
        """Whether the models were trained on simulated data (reports then carry a red banner)."""
        return bool(self.manifest["data"]["simulated"])

    @property
    def layout(self) -> str:
        return str(self.manifest["layout"])

    @property
    def primary(self) -> dict[str, str]:
        return dict(self.manifest["primary"])

    def model_names(self, suite: str) -> list[str]:
        """The suite's models, in the order they were trained."""
        seen = []
        for m in self.manifest["models"]:
            if m["suite"] == suite and m["role"] == "final" and m["name"] not in seen:
                seen.append(m["name"])
        return seen

    def fold_roles(self, suite: str, name: str) -> list[str]:
        """The ensemble's fold roles of one model (empty without an ensemble)."""
        return [r for (s, n, r) in self.models if s == suite and n == name and r != "final"]

    def entry(self, suite: str, name: str, role: str = "final") -> dict:
        return self._entries[(suite, name, role)]

    def predict(self, suite: str, name: str, clips: np.ndarray, features: pd.DataFrame, role: str = "final"):
        """Per-clip predictions of one model: ``(n, K)`` probabilities over the suite's classes, or ``(n,)`` values.

        ``clips`` are preprocessed as the bundle's training clips (layout, window); ``features`` is the
        feature table of those clips (:func:`gaitfeat.extract_features`, one row per clip).
        """
        entry, est = self.entry(suite, name, role), self.models[(suite, name, role)]
        s = SUITES[suite]
        if entry["inputs"] == "features":
            X = features[entry["features"]].reset_index(drop=True)
            kwargs, data = {}, X
        elif entry["inputs"] == "clips":
            kwargs, data = {}, clips
        else:
            kwargs, data = {"features": features.reset_index(drop=True)}, clips
        if s.task != "classification":
            return np.asarray(est.predict(data, **kwargs), dtype=float)
        local = np.asarray(est.predict_proba(data, **kwargs), dtype=float)
        out = np.zeros((local.shape[0], len(s.labels)))
        out[:, as_positions(entry["classes"])] = local
        return out


def _csv(contents: dict, rel: str, root: Path, columns: tuple[str, ...], **kwargs) -> pd.DataFrame:
    """A CSV table of the bundle with at least ``columns`` (else :class:`BundleError`)."""
    if rel not in contents:
        raise BundleError(f"{root}: the manifest does not list {rel}", root / rel)
    try:
        table = pd.read_csv(io.BytesIO(contents[rel]), **kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise BundleError(f"{root / rel} is not a readable CSV table: {exc}", root / rel) from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise BundleError(f"{root / rel} lacks the columns {missing}", root / rel)
    return table


def load_bundle(path) -> Bundle:
    """Verify and load a bundle folder written by :func:`evaluation.bundle.train_bundle`.

    Parameters
    ----------
    path : str or Path
        The bundle folder.

    Returns
    -------
    Bundle

    Raises
    ------
    BundleError
        Anything missing, malformed, altered after writing (SHA-256), of a newer format (the version is
        named) or in a format other than skops / XGBoost JSON / weights-only torch — always before any
        model file is deserialised.
    """
    root = Path(path)
    manifest, contents = verify(root)
    models = {}
    for entry in manifest["models"]:
        key = (entry["suite"], entry["name"], entry["role"])
        if key in models:
            raise BundleError(f"{root}: model {key} is listed twice", root)
        models[key] = load_model(entry, contents)
    ranges = _csv(contents, manifest["typical_ranges"], root, ("feature", "unit", "low", "high")).set_index("feature")
    curves = _csv(contents, manifest["typical_curves"], root, ("angle", "percent", "low", "median", "high"))
    training = _csv(contents, "training_predictions.csv", root, ("suite", "model", "video_id"),
                    dtype={"video_id": str, "patient_id": str})
    support = _csv(contents, "feature_support.csv", root, ("feature", "min", "max")).set_index("feature")
    return Bundle(root, manifest, models, ranges, curves, training, support,
                  hashlib.sha256(contents[MANIFEST]).hexdigest())
