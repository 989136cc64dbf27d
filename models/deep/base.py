"""What every deep estimator shares: targets, class weights, parameter checks, validation data, seeding, save/load."""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from gaitfeat.errors import LabelError
from gaitfeat.layouts import get_layout
from models.checks import check_labels, check_targets, short_repr
from models.deep.inputs import patient_validation_split, prepare_clips
from models.deep.file_schema import MAX_TARGET, MIN_Y_SCALE, NUMERIC_PARAMS, PARAMS
from models.deep.persistence import load_as, save_estimator, sidecar
from models.deep.stgcn import CONFIGS
from models.deep.training import TensorSet, predict_network, resolve_device

__all__ = ["DeepEstimator"]


class DeepEstimator(BaseEstimator):
    """Base of the deep estimators on pose clips (not used directly).

    Subclasses set ``_task`` (``"classification"`` or ``"regression"``) and
    implement ``fit``, ``_restore`` (rebuild ``module_`` when loading) and,
    when they have fitted state beyond the network, ``_extra_tensors`` and
    ``_feature_tensor``.
    """

    _task = "classification"

    # ---- targets -------------------------------------------------------------------------
    def _encode_fit(self, y) -> torch.Tensor:
        """Class codes ``(N,)``, or standardised targets ``(N,)`` / ``(N, K)`` (sets ``y_mean_``, ``y_scale_``).

        Regression takes one target ``(N,)`` or ``K`` targets ``(N, K)``, each
        standardised with its own mean and SD: ``y_mean_``/``y_scale_`` are
        floats for ``(N,)`` (as before multi-output, so older files load) and
        arrays ``(K,)`` for ``(N, K)``; ``n_targets_`` is ``K`` (1 for ``(N,)``)
        and ``multi_output_`` says which form ``predict`` returns.
        """
        if self._task == "regression":
            return self._encode_targets(y)
        check_labels(y)
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
        if pd.isna(pd.Series(y)).any():
            raise ValueError("y contains missing labels")
        y = self._savable_labels(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y has a single class ({self.classes_[0]!r}); nothing to classify")
        return torch.as_tensor(codes, dtype=torch.int64)

    @staticmethod
    def _target_matrix(y, what: str) -> tuple[np.ndarray, bool]:
        """Targets as a finite float64 ``(N, K)`` matrix and whether they came as ``(N, K)``.

        Missing targets (NaN) are refused, naming the column: the estimators
        never impute a target (the harness drops clips without one).
        """
        arr = np.asarray(y)
        if arr.ndim == 2:
            if arr.shape[1] < 1:
                raise ValueError(f"{what} has shape {arr.shape}: no target columns")
            cols = []
            for k in range(arr.shape[1]):
                col = arr[:, k]
                if col.dtype.kind in "fc" and np.isnan(col).any():
                    raise LabelError(f"{what}[:, {k}] has {int(np.isnan(col).sum())} missing targets (NaN); drop "
                                     "those clips before fitting (the estimators do not impute targets)")
                cols.append(check_targets(col, what=f"{what}[:, {k}]"))
            return np.stack(cols, axis=1), True
        if arr.ndim == 1 and arr.dtype.kind == "f" and np.isnan(arr).any():
            raise LabelError(f"{what} has {int(np.isnan(arr).sum())} missing targets (NaN); drop those clips before "
                             "fitting (the estimators do not impute targets)")
        if arr.ndim != 1:
            raise ValueError(f"{what} must be (N,) or (N, K), got shape {arr.shape}")
        return check_targets(y, what=what)[:, None], False

    def _encode_targets(self, y) -> torch.Tensor:
        y, multi = self._target_matrix(y, "y")
        if np.abs(y).max() > MAX_TARGET:
            raise LabelError(f"y holds targets up to {np.abs(y).max():g}; the deep regressors take |y| <= "
                             f"{MAX_TARGET:g} (rescale the targets)")
        mean, scale = y.mean(axis=0), y.std(axis=0)
        scale = np.where(scale >= MIN_Y_SCALE, scale, 1.0)          # a constant target keeps its own units
        self.n_targets_, self.multi_output_ = int(y.shape[1]), bool(multi)
        if multi:
            self.y_mean_, self.y_scale_ = mean, scale
        else:
            self.y_mean_, self.y_scale_ = float(mean[0]), float(scale[0])
        z = (y - mean) / scale
        return torch.as_tensor(z if multi else z[:, 0], dtype=torch.float32)

    def _target_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """``(y_mean, y_scale)`` as arrays ``(K,)`` whatever the form of ``y`` in ``fit``."""
        return np.atleast_1d(np.asarray(self.y_mean_, float)), np.atleast_1d(np.asarray(self.y_scale_, float))

    def _to_target_units(self, z: np.ndarray) -> np.ndarray:
        """Standardised outputs ``(N, K)`` -> targets ``(N,)`` (``y`` was 1-D in ``fit``) or ``(N, K)``."""
        mean, scale = self._target_stats()
        out = np.asarray(z, dtype=np.float64)[:, :len(mean)] * scale + mean
        return out if getattr(self, "multi_output_", False) else out[:, 0]

    @staticmethod
    def _savable_labels(y: np.ndarray) -> np.ndarray:
        """Labels the model file can hold (64-bit integers or strings), so a fitted estimator always saves.

        Rule: whole-number floats (``1.0``, ``2.0``) become int64 (``classes_``
        then holds integers); other floats, bools, bytes and integers beyond
        64 bits are refused with a ``LabelError`` naming the kind.
        """
        kind = y.dtype.kind
        if kind in "iu" and (kind == "i" or y.max() < 2**63):
            return y.astype(np.int64)
        if kind == "U":
            return y
        if kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all() and np.abs(y).max() < 2**53:
            return y.astype(np.int64)
        if kind == "O" and all(isinstance(v, str) for v in y):
            return y.astype(str)
        if kind == "O" and all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) for v in y):
            if all(-2**63 <= int(v) < 2**63 for v in y):
                return y.astype(np.int64)
            what = "integers beyond 64 bits"
        else:
            what = {"b": "booleans", "S": "bytes", "f": "non-integer floats", "c": "complex numbers"}.get(
                kind, f"{y.dtype} values")
        raise LabelError(f"y holds {what} (e.g. {y[0]!r}); the deep classifiers take integer or string labels, "
                         "which is what a saved model file can hold (convert, e.g. y.astype(int) or y.astype(str))")

    def _encode_val(self, y) -> tuple[torch.Tensor, np.ndarray]:
        if self._task == "classification":
            check_labels(y, what="eval_set labels")
            y = np.asarray(y)
            keep = np.isin(y, self.classes_)       # a level no training clip has cannot be scored
            return torch.as_tensor(np.searchsorted(self.classes_, y[keep]), dtype=torch.int64), keep
        y, multi = self._target_matrix(y, "eval_set targets")
        if multi != self.multi_output_ or y.shape[1] != self.n_targets_:
            trained = f"had {self.n_targets_} columns" if self.multi_output_ else "were 1-D"
            raise ValueError(f"eval_set targets have shape {y.shape if multi else y.shape[:1]}; the training "
                             f"targets {trained}")
        mean, scale = self._target_stats()
        z = (y - mean) / scale
        return torch.as_tensor(z if multi else z[:, 0], dtype=torch.float32), np.ones(len(y), bool)

    def _class_weights(self, codes: torch.Tensor) -> torch.Tensor | None:
        """Per-class loss weights for ``class_weight="balanced"``: ``n / (K * count)`` over the training clips.

        These are the values ``sklearn.utils.class_weight.compute_sample_weight("balanced", y)``
        gives each clip (the harness's weights for the feature-table models).
        The cross-entropy divides by the batch's summed weights, so their
        overall scale has no effect (a class absent from the training part
        counts as one clip, which only rescales all weights alike).
        """
        if self._task != "classification" or self.class_weight is None:
            return None
        if self.class_weight != "balanced":
            raise ValueError(f"class_weight must be None or 'balanced', got {self.class_weight!r}")
        counts = np.bincount(codes.numpy(), minlength=len(self.classes_)).astype(float)
        return torch.as_tensor(len(codes) / (len(counts) * np.maximum(counts, 1)), dtype=torch.float32)

    def _n_outputs(self) -> int:
        return len(self.classes_) if self._task == "classification" else int(getattr(self, "n_targets_", 1))

    # ---- checks ----------------------------------------------------------------------------
    #: The estimator's parameter table in :data:`models.deep.file_schema.PARAMS`.
    _schema_key = "STGCN"

    def _check_common(self) -> None:
        """Checks of the parameters every deep estimator shares (those it has), before anything is fitted."""
        params = self.get_params(deep=False)
        if "config" in params and not (isinstance(self.config, str) and self.config in CONFIGS):
            raise ValueError(f"config must be one of {sorted(CONFIGS)}, got {self.config!r}")
        get_layout(self.layout)
        if "monitor" in params and self.monitor not in ("accuracy", "loss"):
            raise ValueError(f"monitor must be 'accuracy' or 'loss', got {self.monitor!r}")
        spec = PARAMS[self._schema_key]
        for name in NUMERIC_PARAMS:
            if name in spec and name in params:
                expected = spec[name](params[name])
                if expected:
                    raise ValueError(f"{name} must be {expected}, got {short_repr(params[name])}")
        for name in ("early_stopping", "flip", "edge_importance"):
            if name in params and not isinstance(params[name], (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {params[name]!r}")
        rs = self.random_state
        if isinstance(rs, (bool, np.bool_)) or (isinstance(rs, numbers.Integral) and not 0 <= rs < 2**32):
            raise ValueError(f"random_state must be an integer in [0, 2**32 - 1], a RandomState or None, "
                             f"got {short_repr(rs)}")
        resolve_device(self.device)        # ValueError: an unknown name or a device this machine lacks

    def _needs_validation(self) -> bool:
        """Whether ``fit`` must hold clips out when no ``eval_set`` is given (early stopping)."""
        return bool(self.early_stopping)

    def _split_validation(self, X, y, groups, eval_set):
        """Training and validation parts: ``eval_set``, a patient-disjoint split of ``groups``, or none.

        The training part is ``slice(None)`` when every clip trains, so
        ``clips[tr]`` is a view (the harness's training clips are ~150 MB).
        """
        if eval_set is not None:
            sizes = (2, 3) if "fusion" in self.get_params(deep=False) else (2,)
            if not (isinstance(eval_set, (tuple, list)) and len(eval_set) in sizes):
                raise ValueError(f"eval_set must be a tuple (X_val, y_val{', features_val' if 3 in sizes else ''}), "
                                 f"got {type(eval_set).__name__}"
                                 f"{' of length ' + str(len(eval_set)) if isinstance(eval_set, (tuple, list)) else ''}")
            n_val = np.shape(eval_set[1])[:1]
            if n_val != np.shape(eval_set[0])[:1]:
                raise ValueError(f"eval_set has {np.shape(eval_set[0])[:1]} clips but {n_val} labels")
            return slice(None), None, eval_set          # every clip trains: a view, not a copy of the clips
        if not self._needs_validation():
            return slice(None), None, None
        if groups is None:
            raise ValueError(f"{self._validation_use()} needs a validation set of other patients: pass "
                             "eval_set=(X_val, y_val) or groups=<patient IDs>, or set "
                             f"{self._validation_use(off=True)}")
        y = np.asarray(y)
        # Several targets: the split is stratified by quintiles of the first one.
        strat = y[:, 0] if y.ndim == 2 else y
        tr, va = patient_validation_split(strat, groups, self.validation_fraction, self._seed(),
                                          stratify=self._task == "classification")
        return tr, va, None

    def _validation_use(self, off: bool = False) -> str:
        """What the validation clips are for (``off``: the setting that makes them unnecessary), for messages."""
        return "early_stopping=False" if off else "early stopping"

    def _seed(self) -> int:
        """The fit's integer seed: ``random_state`` itself, or one draw from it (``None``: fresh entropy)."""
        if isinstance(self.random_state, (int, np.integer)):
            return int(self.random_state)
        if not hasattr(self, "_fit_seed"):
            self._fit_seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        return self._fit_seed

    def _predict_outputs(self, X, features=None) -> np.ndarray:
        check_is_fitted(self, "module_")         # sklearn's NotFittedError before fit, never an AttributeError
        clips, _ = prepare_clips(X, self.layout_, zero=False)      # zeroed batch by batch
        data = TensorSet(torch.from_numpy(clips), torch.zeros(len(clips)), self._feature_tensor(X, features, fit=False))
        device = resolve_device(self.device)
        self.module_.to(device)
        out = predict_network(self.module_, data, device).numpy()
        self.module_.to("cpu")
        return out

    def _feature_tensor(self, X, features, fit: bool):
        return None

    # ---- save / load ----------------------------------------------------------------------------
    def _sidecar(self) -> dict:
        return sidecar(self)

    def _extra_tensors(self) -> dict:
        return {}

    #: State-dict keys of the output layer(s), whose first dimension is the number of classes.
    _output_keys: tuple[str, ...] = ()

    def _extra_shapes(self, info: dict) -> dict:
        """Shapes of the ``extra.*`` tensors a saved file described by ``info`` must hold."""
        return {}

    def save(self, path: str | Path) -> tuple[Path, Path, Path]:
        """Write ``<path>.pt`` (tensors only), ``<path>.json`` (settings, classes, history) and ``<path>.manifest.json``.

        The manifest holds the format version and the SHA-256 of the other two
        files (see :mod:`models.deep.persistence`). Returns the three paths.
        Load with :func:`~models.deep.persistence.load_estimator` or ``type(est).load``.
        """
        return save_estimator(self, path)

    @classmethod
    def load(cls, path: str | Path, *, verify: bool = True):
        """Rebuild a fitted estimator saved with :meth:`save`, verified before use.

        The files are checked against their manifest (SHA-256), the sidecar
        against its schema and the tensors against the network before
        anything is used (``torch.load(weights_only=True)``); any problem
        raises :class:`~models.errors.ModelFileError` naming the file.
        ``verify=False`` loads a file written before manifests, with a warning
        (see :func:`~models.deep.persistence.load_as`).
        """
        return load_as(cls, path, verify=verify)
