"""Sequential feature selection (forward and backward) with patient-grouped inner cross-validation.

scikit-learn's ``SequentialFeatureSelector`` returns one subset of a fixed
size; here the whole path is kept: the order in which features enter
(forward) or leave (backward) and the cross-validated score after each step,
so the score-versus-number-of-features curve and the order's stability
across outer folds can be reported.

The candidate model is ridge regression on median-imputed, standardised
features: on the level's one-hot code for classification (a least-squares
linear classifier, as scikit-learn's ``RidgeClassifier``; the class with the
largest output wins) and on the value for regression. Imputation and scaling
act column by column, so they are fitted once per inner fold on all features
(training part only) and a candidate subset is a column selection of the
transformed matrices — exactly what refitting the pipeline per subset would
give. With the Gram matrix computed once per fold, each candidate costs one
small linear solve, so a full 32-feature forward path (528 candidates x 3
folds) takes well under a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

__all__ = ["sequential_selection"]


def sequential_selection(
    X: pd.DataFrame,
    y,
    groups,
    *,
    task: str = "classification",
    direction: str = "forward",
    n_splits: int = 3,
    max_features: int | None = None,
    penalty: float = 1.0,
) -> pd.DataFrame:
    """Greedy forward or backward selection scored by grouped cross-validation.

    Parameters
    ----------
    X : DataFrame ``(n, F)``
        Feature table (NaN allowed).
    y : array ``(n,)``
        Classes (classification) or values (regression).
    groups : array ``(n,)``
        Patient of each row; inner folds never split a patient.
    task : {"classification", "regression"}
        Score: accuracy, or negative RMSE (higher is better in both).
    direction : {"forward", "backward"}
        Forward adds the feature that raises the score most; backward removes
        the feature whose removal lowers it least.
    n_splits : int
        Inner ``GroupKFold`` folds.
    max_features : int, optional
        Forward: stop after this many features (default: all).
    penalty : float
        Ridge penalty of the candidate model (on standardised features).

    Returns
    -------
    DataFrame
        One row per step: ``step``, ``feature`` (added or removed),
        ``n_features`` (subset size after the step) and ``score`` (mean inner
        CV score of that subset). Backward starts with a row for the full set
        (``feature`` empty).
    """
    if direction not in ("forward", "backward"):
        raise ValueError(f"direction must be 'forward' or 'backward', got {direction!r}")
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    names = [str(c) for c in X.columns]
    Xa = np.asarray(X, dtype=float)
    y = np.asarray(y)
    groups = np.asarray(groups)
    if len(np.unique(groups)) < n_splits:
        raise ValueError(f"{len(np.unique(groups))} groups cannot make {n_splits} grouped folds")
    if task == "classification":
        classes = np.unique(y)
        targets = (y[:, None] == classes[None, :]).astype(float)       # one-hot
    else:
        targets = y.astype(float)[:, None]
    folds = []
    for tr, te in GroupKFold(n_splits=n_splits).split(Xa, y, groups):
        imputer, scaler = SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()
        Z_tr = scaler.fit_transform(imputer.fit_transform(Xa[tr]))
        Z_te = scaler.transform(imputer.transform(Xa[te]))
        t_mean = targets[tr].mean(axis=0)
        # Gram matrices once per fold: a subset's fit is then a k x k solve.
        folds.append((Z_tr.T @ Z_tr, Z_tr.T @ (targets[tr] - t_mean), t_mean, Z_te, y[te]))

    def cv_score(cols: list[int]) -> float:
        scores = []
        idx = np.asarray(cols)
        for gram, cross, t_mean, Z_te, y_te in folds:
            w = np.linalg.solve(gram[np.ix_(idx, idx)] + penalty * np.eye(len(idx)), cross[idx])
            pred = Z_te[:, idx] @ w + t_mean
            if task == "classification":
                scores.append(float(np.mean(classes[np.argmax(pred, axis=1)] == y_te)))
            else:
                scores.append(-float(np.sqrt(np.mean((pred[:, 0] - y_te) ** 2))))
        return float(np.mean(scores))

    rows = []
    if direction == "forward":
        chosen: list[int] = []
        remaining = list(range(len(names)))
        limit = len(names) if max_features is None else min(max_features, len(names))
        for step in range(limit):
            trial = [(cv_score(chosen + [j]), -j, j) for j in remaining]   # ties: the earlier column
            score, _, best = max(trial)
            chosen.append(best)
            remaining.remove(best)
            rows.append({"step": step + 1, "feature": names[best], "n_features": len(chosen), "score": score})
    else:
        kept = list(range(len(names)))
        rows.append({"step": 0, "feature": "", "n_features": len(kept), "score": cv_score(kept)})
        for step in range(len(names) - 1):
            trial = [(cv_score([k for k in kept if k != j]), -j, j) for j in kept]
            score, _, worst = max(trial)
            kept.remove(worst)
            rows.append({"step": step + 1, "feature": names[worst], "n_features": len(kept), "score": score})
    return pd.DataFrame(rows)
