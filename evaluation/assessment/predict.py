"""The bundle's predictions for one walk, their spread over the fold ensemble, the evidence and Grad-CAM.

A walk's prediction is the mean over its clips, as the harness pools a video's clips (class probabilities
averaged; regression values averaged). Each fold model of the ensemble predicts the walk the same way; the
report shows the spread of those K predictions as the models' uncertainty.

Evidence comes from a feature model of the bundle, with exact attributions: XGBoost's own SHAP values
(``pred_contribs``, TreeSHAP) or, for a pipeline ending in a linear model, each standardised feature times
its coefficient (the SHAP value of a linear model with independent features, relative to the training
average). Per-clip attributions are averaged over the walk's clips: for these additive models that is the
attribution of the clips' mean score (log-odds or margin), while the prediction averages probabilities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.suites import SUITES
from gaitfeat.labels import GMFCS_ROMAN
from gaitfeat.layouts import get_layout
from models.evidence import evidence_statements, feature_label
from models.skeleton_plot import TEMPLATE

__all__ = ["predict_walk", "explain_walk", "gradcam_walk", "class_names"]

_Z95 = 1.959964


def class_names(suite) -> list[str]:
    """Display names of a classification suite's classes (``GMFCS III``, gait-class names)."""
    from gaitfeat.labels import GAIT_CLASS_NAMES

    if suite.class_names:
        return [GAIT_CLASS_NAMES.get(c, c) for c in suite.class_names]
    return [f"GMFCS {GMFCS_ROMAN.get(int(c), c)}" for c in suite.labels]


def _walk_prediction(bundle, suite: str, name: str, role: str, clips, features) -> np.ndarray | float:
    out = bundle.predict(suite, name, clips, features, role=role)
    return out.mean(axis=0) if out.ndim == 2 else float(out.mean())


def _ensemble(preds: list, classification: bool, k_classes: int = 0) -> dict | None:
    if not preds:
        return None
    arr = np.asarray(preds, dtype=float)
    if classification:
        votes = np.bincount(arr.argmax(axis=1), minlength=k_classes)
        sd = arr.std(axis=0, ddof=1).tolist() if len(arr) > 1 else [0.0] * k_classes
        return {"k": len(arr), "mean": arr.mean(axis=0).tolist(), "sd": sd, "low": arr.min(axis=0).tolist(),
                "high": arr.max(axis=0).tolist(), "votes": votes.tolist(), "agreement": float(votes.max() / len(arr))}
    return {"k": len(arr), "mean": float(arr.mean()), "sd": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
            "low": float(arr.min()), "high": float(arr.max())}


def predict_walk(bundle, clips: np.ndarray, features: pd.DataFrame) -> dict:
    """``{suite: {...}}`` for the record: every bundled model's prediction, with its fold-ensemble spread."""
    out = {}
    for s in bundle.suites:
        suite = SUITES[s]
        classification = suite.task == "classification"
        models = {}
        for name in bundle.model_names(s):
            entry = bundle.entry(s, name)
            value = _walk_prediction(bundle, s, name, "final", clips, features)
            folds = [_walk_prediction(bundle, s, name, r, clips, features) for r in bundle.fold_roles(s, name)]
            row = {"description": entry["description"],
                   "ensemble": _ensemble(folds, classification, len(suite.labels) if classification else 0)}
            if classification:
                k = int(np.argmax(value))
                row.update({"predicted": int(suite.labels[k]), "predicted_name": class_names(suite)[k],
                            "proba": [float(v) for v in value]})
            else:
                cv = bundle.manifest["cv"].get(s, {}).get(name, {})
                # A visit is one video: the video-level RMSE of the cross-validation (the patient level averages
                # a patient's videos and is a little smaller).
                rmse, level = (cv.get("rmse_video"), "video") if cv.get("rmse_video") is not None \
                    else (cv.get("rmse"), "patient")
                ok = rmse is not None
                row.update({"value": float(value),
                            "interval": [float(value - _Z95 * rmse), float(value + _Z95 * rmse)] if ok else None,
                            "interval_method": (f"95 % interval: ± 1.96 × the model's cross-validated {level}-level "
                                                f"RMSE ({rmse:.2f})" if ok else
                                                "no cross-validated RMSE in the bundle")})
            models[name] = row
        pred = {"task": suite.task, "title": suite.title, "primary": bundle.primary[s], "models": models}
        if classification:
            pred.update({"classes": [int(c) for c in suite.labels], "class_names": class_names(suite)})
        else:
            pred["unit"] = suite.unit
        out[s] = pred
    return out


def _explainable(est) -> str | None:
    name = type(est).__name__
    if name in ("XGBClassifier", "XGBRegressor"):
        return "tree"
    final = est.steps[-1][1] if hasattr(est, "steps") else None
    if final is not None and hasattr(final, "coef_"):
        return "linear"
    return None


def _contributions(est, kind: str, X: pd.DataFrame, column: int | None) -> np.ndarray:
    """Per-clip attributions ``(n, F)`` towards output ``column`` (None: the single regression output)."""
    if kind == "tree":
        import xgboost

        contrib = est.get_booster().predict(xgboost.DMatrix(X, missing=np.nan), pred_contribs=True)
        if contrib.ndim == 3:                      # (n, K, F + 1) for several classes
            contrib = contrib[:, column]
        elif column is not None and column == 0:   # a binary model explains class 1's margin
            contrib = -contrib
        return contrib[:, :-1]                     # the last column is the bias
    z = est[:-1].transform(X)
    coef = np.atleast_2d(est.steps[-1][1].coef_)
    if coef.shape[0] == 1 and column is not None:
        w = coef[0] if column == 1 else -coef[0]   # binary logistic regression: one coefficient row
    else:
        w = coef[column if column is not None else 0]
    return z * w


def _rationale(target: str, model: str, statements: list[dict], prob: float | None, primary: str,
               own: str | None) -> str:
    pro = [s for s in statements if s["contribution"] > 0]
    con = [s for s in statements if s["contribution"] <= 0]
    if model == primary:
        lead = f"{model} predicts {target}" + (f" (probability {prob:.2f})" if prob is not None else "") + "."
    else:
        # The primary model (a network) cannot be explained feature by feature: a feature model's attributions
        # towards the primary model's class stand in, and the text says whether that model agrees.
        lead = (f"{primary} predicts {target}; the measurements are weighed by {model}, whose probability for "
                f"{target} is {prob:.2f}" + (f" (it predicts {own} itself)" if own and own != target else "") + ".")
    if pro:
        lead += " The measurements that pushed it most towards this: " + "; ".join(s["text"] for s in pro[:3]) + "."
    if con:
        lead += " Against it: " + "; ".join(s["text"] for s in con[:2]) + "."
    return lead


def explain_walk(bundle, features: pd.DataFrame, values: pd.Series, predictions: dict,
                 n: int = 6) -> tuple[dict | None, str]:
    """Evidence statements for the headline prediction of the first classification suite (else the first suite).

    The attributions come from the primary model when it is a feature model, else from the first bundled
    feature model, always towards the **primary model's** predicted class, so the evidence explains the level
    the report leads with. Returns the record's ``evidence`` entry (or None) and, when None, why.
    """
    s = next((x for x in bundle.suites if SUITES[x].task == "classification"), bundle.suites[0])
    suite = SUITES[s]
    pred = predictions[s]
    headline = pred["models"][pred["primary"]]
    order = [pred["primary"]] + [m for m in bundle.model_names(s) if m != pred["primary"]]
    for name in order:
        entry = bundle.entry(s, name)
        est = bundle.models[(s, name, "final")]
        kind = _explainable(est) if entry["inputs"] == "features" else None
        if kind is None:
            continue
        X = features[entry["features"]].reset_index(drop=True)
        row = pred["models"][name]
        column, target, prob, own = None, suite.title, None, None
        if suite.task == "classification":
            k = int(np.argmax(headline["proba"]))
            positions = list(entry["classes"])
            if k not in positions:     # this model never saw the headline class: it cannot argue for it
                continue
            column, target, prob, own = positions.index(k), headline["predicted_name"], row["proba"][k], \
                row["predicted_name"]
        contrib = pd.Series(_contributions(est, kind, X, column).mean(axis=0), index=entry["features"])
        statements = evidence_statements(values.reindex(entry["features"]), contrib, n=n, ranges=bundle.typical_ranges)
        for st in statements:
            st["label"] = feature_label(st["feature"])
        method = ("SHAP values (TreeSHAP, XGBoost pred_contribs)" if kind == "tree"
                  else "standardised feature × coefficient (the linear model's SHAP values, relative to the "
                       "training average)")
        return ({"model": name, "suite": s, "target": target, "statements": statements,
                 "rationale": _rationale(target, name, statements, prob, pred["primary"], own),
                 "unit": "log-odds" if suite.task == "classification" else suite.unit,
                 "method": f"{method} of {name}, in {'log-odds' if column is not None else suite.unit} of the "
                           f"score for {target}, averaged over the walk's clips"}, "")
    return None, (f"none of the bundle's {s} models is a feature model with exact attributions (logistic/ridge "
                  "regression or XGBoost), so no evidence statements are given")


def gradcam_walk(bundle, clips: np.ndarray, predictions: dict, *, max_clips: int = 64) -> dict | None:
    """Grad-CAM joint scores of the first bundled skeleton network of a classification suite (None without one),
    towards that network's class for the walk (from ``predictions``, :func:`predict_walk`'s result)."""
    for s in bundle.suites:
        if SUITES[s].task != "classification":
            continue
        for name in bundle.model_names(s):
            entry = bundle.entry(s, name)
            if entry["inputs"] != "clips" or not entry["network"]:
                continue
            est = bundle.models[(s, name, "final")]
            # Every clip's map explains the walk's predicted class (not each clip's own argmax).
            k = int(np.argmax(predictions[s]["models"][name]["proba"]))
            scores = est.joint_contributions(clips, np.full(len(clips), k), max_clips=max_clips)
            lay = get_layout(bundle.layout)
            return {"model": name, "suite": s, "layout": lay.name, "joints": list(lay.joints),
                    "scores": [round(float(v), 4) for v in scores], "edges": [[int(a), int(b)] for a, b in lay.edges],
                    "template": [list(TEMPLATE[j]) for j in lay.joints]}
    return None
