"""Rationales for every subject of a taxonomy run, inside the run's patient folds.

For each outer fold (first repeat) of a :class:`~evaluation.results.CVResults`,
an XGBoost classifier (the *rationale model*) is fitted on one feature row per
video of the training patients — the median of the video's clip rows — and
applied to each held-out subject's first video. Its SHAP values toward the
predicted class rank the subject's tokens (:mod:`evaluation.rationales`), and
the typical ranges come from the fold's training patients of class
``typical`` only, so nothing about a held-out subject enters its own
rationale. The result is written next to the report as ``rationales.json``
(the input of :mod:`evaluation.rating_kit`) and ``rationale_features.csv``
(the feature rows every rationale number comes from) and ``rationale_ranges.csv`` (the typical
ranges of every fold and age group, the source of every typical bound quoted).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.rationales import VARIANTS, abnormal_tokens, age_group, ranked_tokens, render, typical_ranges
from gaitfeat.features import FEATURE_INFO, resolve_feature_set
from gaitfeat.labels import GAIT_CLASS_NAMES
from gaitfeat.layouts import get_layout

__all__ = ["build_rationales", "video_rows", "FORMAT", "VERSION"]

FORMAT = "gaitfeat.rationales"
VERSION = 1
#: The rationale model: small trees, enough rounds for nine classes on a few hundred videos.
_XGB = {"estimator": "xgb", "n_estimators": 150, "max_depth": 3, "learning_rate": 0.1}


def video_rows(features: pd.DataFrame, meta: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One feature row per video: the median of its clips' rows (NaN where no clip measured it).

    Returns the rows (index ``video_id``) and one meta row per video (``patient_id``, the label, age, visit).
    """
    keys = meta["video_id"].to_numpy()
    table = features.set_axis(keys).groupby(level=0, sort=False).median()
    first = meta.drop_duplicates("video_id").set_index("video_id").loc[table.index]
    return table, first


def _skeleton(clip: np.ndarray) -> list:
    xy = np.round(clip[..., :2].astype(float), 3).astype(object)
    xy[~np.isfinite(clip[..., :2].astype(float))] = None      # JSON null for an undetected joint
    return xy.tolist()


def build_rationales(results, *, features: str = "extended", random_state: int = 0, threads: int = 2,
                     top: int = 5) -> dict:
    """Tokens and the three rationale variants of every subject, from the run's folds.

    Parameters
    ----------
    results : CVResults
        A run of a suite with ``class_names`` (the taxonomy).
    features : str
        Feature set of the rationale model (:func:`gaitfeat.resolve_feature_set`).
    random_state : int
    threads : int
        XGBoost threads.
    top : int
        Tokens per rationale.

    Returns
    -------
    dict
        ``{"document": <rationales.json content>, "table": <rationale_features DataFrame>,
        "summary": <the record's "rationales" entry>}``.
    """
    from models.feature_importance import shap_values
    from models.tabular import FeatureTableClassifier

    suite, dataset = results.suite, results.dataset
    names = list(suite.class_names)
    columns = resolve_feature_set(features)
    clip_features = dataset.features[columns]
    rows, vmeta = video_rows(clip_features, dataset.meta)
    vclass = pd.Series([names[int(c)] for c in vmeta[suite.target]], index=rows.index)
    ages = pd.to_numeric(vmeta.get("age", pd.Series(np.nan, index=rows.index)), errors="coerce")
    pred = results.predictions
    first = pred[(pred["repeat"] == 0) & (pred["model"] == pred["model"].iloc[0])]
    fold_of = first.drop_duplicates("patient_id").set_index("patient_id")["fold"]
    layout = get_layout(dataset.layout)
    clip_row = {v: int(np.median(i)) for v, i in dataset.meta.groupby("video_id", sort=False).indices.items()}
    subjects, table_rows, correct, range_tables = [], [], [], []
    for fold in sorted(fold_of.unique()):
        test_patients = set(fold_of.index[fold_of == fold])
        is_test = vmeta["patient_id"].isin(test_patients).to_numpy()
        train = ~is_test
        model = FeatureTableClassifier(**_XGB, n_jobs=threads, random_state=random_state + int(fold))
        model.fit(rows[train], vmeta[suite.target].to_numpy()[train].astype(int))
        ranges = typical_ranges(rows[train], vclass[train], ages[train], vmeta["patient_id"][train])
        range_tables.append(ranges.reset_index().assign(fold=int(fold)))
        # Each held-out subject is explained on its first video (the earliest visit).
        test = vmeta[is_test].assign(_visit=vmeta.get("visit", 1)).sort_values(["patient_id", "_visit"])
        test_videos = test.drop_duplicates("patient_id").index
        X = rows.loc[test_videos]
        proba = model.predict_proba(X)
        sv = shap_values(model, X, random_state=random_state)
        for i, video in enumerate(test_videos):
            k = int(np.argmax(proba[i]))
            predicted = names[int(model.classes_[k])]
            values = X.loc[video]
            shap_k = pd.Series(sv.values[i, :, k], index=columns)
            group = age_group(float(ages[video]))
            ranked = ranked_tokens(values, shap_k, ranges, group, top=top)
            abnormal = abnormal_tokens(values, ranges, group, top=top, shap=shap_k)
            p = float(proba[i, k])
            subject = {
                "subject_id": str(vmeta.loc[video, "patient_id"]), "video_id": str(video), "fold": int(fold),
                "true_class": vclass[video], "predicted_class": predicted, "probability": round(p, 2),
                "age": None if not np.isfinite(ages[video]) else float(ages[video]), "age_group": group,
                "features": {c: (None if not np.isfinite(values[c]) else float(values[c])) for c in columns},
                "tokens": ranked, "unranked_tokens": abnormal,
                "rationales": {"ranked": render("ranked", predicted, p, ranked),
                               "unranked": render("unranked", predicted, p, abnormal),
                               "label_only": render("label_only", predicted, p, [])},
                "skeleton": _skeleton(dataset.clips[clip_row[video]]),
            }
            subjects.append(subject)
            correct.append(predicted == vclass[video])
            table_rows.append({"subject_id": subject["subject_id"], "video_id": str(video), "fold": int(fold),
                               "true_class": vclass[video], "predicted_class": predicted, **values.to_dict()})
    subjects.sort(key=lambda s: s["subject_id"])
    description = (f"The rationale model is XGBoost ({_XGB['n_estimators']} trees of depth {_XGB['max_depth']}) on "
                   f"the {features} feature set, fitted in each outer fold on one row per video of the training "
                   "patients (the median of the video's clips) and applied to each held-out subject's first video. "
                   "Tokens are the measured features with the largest positive SHAP contribution toward the "
                   "predicted class; typical ranges (5th-95th percentile over subjects) come from the fold's "
                   "training subjects of class typical in the same age group (children under 18, adults), or of "
                   "all ages where a group has fewer than 6 (the text then says 'across ages'). The ranked and "
                   "unranked rationales end with the class's hallmark only when a token measures part of it.")
    document = {
        "format": FORMAT, "version": VERSION, "data": dataset.description, "simulated": bool(dataset.simulated),
        "classes": names, "class_names": {c: GAIT_CLASS_NAMES.get(c, c) for c in names}, "variants": dict(VARIANTS),
        "layout": layout.name, "edges": [list(map(int, e)) for e in layout.edges],
        "fps": float(np.median(dataset.meta["fps"].to_numpy(float))),
        "model": description, "feature_units": {c: FEATURE_INFO[c].unit for c in columns},
        "subjects": subjects,
    }
    examples = []
    for c in names:   # one example per true class: a correct prediction where there is one
        mine = [s for s in subjects if s["true_class"] == c]
        pick = next((s for s in mine if s["predicted_class"] == c), mine[0] if mine else None)
        if pick is not None:
            examples.append({k: pick[k] for k in ("subject_id", "video_id", "true_class", "predicted_class",
                                                   "probability", "age_group", "tokens", "rationales")})
    summary = {"description": description, "file": "rationales.json", "features_file": "rationale_features.csv",
               "ranges_file": "rationale_ranges.csv",
               "n_subjects": len(subjects), "accuracy": float(np.mean(correct)) if correct else None,
               "examples": examples}
    ranges_table = pd.concat(range_tables, ignore_index=True)[["fold", "age_group", "feature", "low", "high", "n",
                                                               "source_group"]]
    return {"document": document, "table": pd.DataFrame(table_rows), "ranges": ranges_table, "summary": summary}
