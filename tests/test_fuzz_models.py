"""Property-based fuzzing of the estimators' predict: random arrays in, a valid result or a clear error out.

Each pose-clip estimator (a tiny ST-GCN, GaitFeatureClassifier, GaitFeatureRegressor) is fitted once on
a tiny valid data set; then random arrays — shapes (T = 0, V mismatched to the layout, wrong channel
counts), dtypes (int, float16/32/64, bool, complex, object), NaN/inf/huge/negative values, pixel-scale
coordinates, clips with nothing observed — go to ``predict``/``predict_proba``. The tabular estimators
get random feature tables. Allowed outcomes:

* a valid result: finite probabilities in [0, 1] summing to 1 (or finite regression values), one row per
  clip — and, for pose clips, only when the input was possible (:func:`_possible`, a plain NumPy
  re-statement of the documented rules): never a confident result built from impossible values;
* a ``gaitfeat.errors.GaitError`` (pose clips) or ``ValueError`` (feature tables, scikit-learn's own
  checks) or sklearn's ``NotFittedError``, with a message.

Anything else (another exception type, a hang past the hypothesis deadline) fails.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import NotFittedError

from gaitfeat import simulate_cohort
from gaitfeat.errors import GaitError
from models import FeatureTableClassifier, FeatureTableRegressor, GaitFeatureClassifier, GaitFeatureRegressor

torch = pytest.importorskip("torch")
from models.deep import STGCNClassifier  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")   # overflow in casts while drawing arrays

FUZZ = settings(derandomize=True, max_examples=80, deadline=timedelta(seconds=3), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------- fitted once
@pytest.fixture(scope="module")
def clips():
    cohort = simulate_cohort(6, random_state=1, n_jobs=1)
    x = cohort.clips[:, :40]
    pick = np.linspace(0, len(x) - 1, 36).astype(int)
    return np.ascontiguousarray(x[pick]), cohort.meta.iloc[pick]


@pytest.fixture(scope="module")
def clip_models(clips):
    x, meta = clips
    gmfcs, gdi = meta["gmfcs"].to_numpy(), meta["gdi"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stgcn = STGCNClassifier(epochs=1, batch_size=36, early_stopping=False, flip=False, random_state=0,
                                device="cpu").fit(x, gmfcs)
        clf = GaitFeatureClassifier(fps=30.0, estimator="logreg").fit(x, gmfcs)
        reg = GaitFeatureRegressor(fps=30.0, estimator="ridge").fit(x, gdi)
    return {"stgcn": stgcn, "feature_clf": clf, "feature_reg": reg}


@pytest.fixture(scope="module")
def table_models():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = np.arange(30) % 3 + 1
    return {"logreg": FeatureTableClassifier(estimator="logreg").fit(X, y),
            "xgb": FeatureTableClassifier(estimator="xgb", n_estimators=5, random_state=0).fit(X, y),
            "ordinal": FeatureTableClassifier(estimator="logreg", ordinal=True).fit(X, y),
            "ridge": FeatureTableRegressor(estimator="ridge").fit(X, y.astype(float))}


# ---------------------------------------------------------------- the rules, restated naively
def _possible(X) -> bool:
    """Could this be a batch of preprocessed clips with something observed in every clip? (NumPy, no shortcuts.)"""
    arr = np.asarray(X)
    if arr.ndim != 4 or arr.dtype == object or arr.dtype.kind not in "iuf" or 0 in arr.shape or arr.shape[-1] < 2:
        return False
    a = arr.astype(np.float64)
    xy = a[..., :2]
    if np.isinf(a).any() or (np.abs(xy[~np.isnan(xy)]) > 1000).any():
        return False
    finite = np.abs(xy[np.isfinite(xy)])
    if finite.size and np.median(finite) > 10:
        return False
    observed = ~np.isnan(xy).any(-1)
    if a.shape[-1] >= 3:
        conf = a[..., 2]
        if ((conf < 0) | (conf > 1)).any():
            return False
        observed &= conf > 0
    per_clip = observed.reshape(len(a), -1)
    if not (per_clip.mean(1) >= 0.2).all():                       # at least 20 % of keypoints observed
        return False
    for i in range(len(a)):                                       # joints not all at one point (1e-3 leg lengths)
        widest = 0.0
        for t in range(a.shape[1]):
            pts = xy[i, t][observed[i, t]]
            if len(pts):
                widest = max(widest, float((pts.max(0) - pts.min(0)).max()))
        if widest < 1e-3:
            return False
    return True


def _check(call, X, *, kind: str, clip_input: bool):
    """Run ``call(X)``; assert the outcome is one of the allowed ones."""
    allowed = (GaitError, NotFittedError) if clip_input else (ValueError, NotFittedError)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = call(X)
    except allowed as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        return
    # Other exception types propagate and fail the test.
    out = np.asarray(out)
    n = len(X)
    if clip_input:
        assert _possible(X), "a result for clips that are impossible, raw pixels or entirely missing"
    if kind == "proba":
        assert out.ndim == 2 and out.shape[0] == n
        assert np.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)
    elif kind == "regression":
        assert out.shape == (n,) and np.isfinite(out).all()
    else:
        assert out.shape == (n,)


# ---------------------------------------------------------------- strategies
_DTYPES = st.sampled_from([np.int8, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_,
                           np.complex64, object])
_ODD = [0.0, -0.0, 1.0, -1.0, 0.5, np.nan, np.inf, -np.inf, 1e30, -1e30, 640.0, 1e-30, 3.0, -7.5]


@st.composite
def random_arrays(draw):
    """Any shape (0 to 5 dimensions, T = 0, V not the layout's) and dtype, with odd values."""
    ndim = draw(st.integers(0, 5))
    sizes = [st.sampled_from([0, 1, 2, 3]), st.sampled_from([0, 1, 8, 16, 40]), st.sampled_from([0, 1, 16, 17, 25]),
             st.sampled_from([0, 1, 2, 3, 4]), st.sampled_from([1, 2])]
    shape = tuple(draw(s) for s in sizes[:ndim])
    dtype = draw(_DTYPES)
    if dtype is object:
        elements = st.one_of(st.sampled_from(_ODD), st.text(max_size=2), st.none())
        fill = st.sampled_from([0.1, "x", None])
    elif np.dtype(dtype).kind in "fc":
        elements = st.sampled_from(_ODD) | st.floats(-5, 5, width=16 if dtype is np.float16 else 32)
        fill = st.sampled_from(_ODD)
    else:
        elements = None
        fill = None
    return draw(hnp.arrays(dtype, shape, elements=elements, fill=fill))


@st.composite
def mutated_clips(draw, base):
    """Valid clips with one thing broken (or nothing): the cases that get past shape and dtype checks."""
    n = draw(st.integers(1, 4))
    x = base[:n].astype(np.float64)                 # copy
    what = draw(st.sampled_from(["none", "scale", "value", "clip_nan", "clip_conf0", "conf", "joints", "frames",
                                 "channels", "dtype", "partly_missing", "sparse", "flat"]))
    i = draw(st.integers(0, n - 1))
    if what == "scale":
        x[..., :2] = x[..., :2] * draw(st.sampled_from([-1e6, -300.0, 50.0, 200.0, 1e3])) + draw(
            st.sampled_from([0.0, 640.0]))
    elif what == "value":
        t = draw(st.integers(0, x.shape[1] - 1))
        v = draw(st.integers(0, x.shape[2] - 1))
        c = draw(st.integers(0, 2))
        x[i, t, v, c] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e30, -1e30, 1e4, -1.0, 2.0]))
    elif what == "clip_nan":
        x[i, ..., :2] = np.nan
    elif what == "clip_conf0":
        x[i, ..., 2] = draw(st.sampled_from([0.0, np.nan]))
    elif what == "conf":
        x[..., 2] = draw(st.sampled_from([-0.1, 1.5, 255.0]))
    elif what == "joints":
        x = x[:, :, : draw(st.sampled_from([0, 5, 16]))] if draw(st.booleans()) else np.concatenate(
            [x, x[:, :, :8]], axis=2)
    elif what == "frames":
        x = x[:, : draw(st.sampled_from([0, 1, 7]))]
    elif what == "channels":
        x = x[..., : draw(st.sampled_from([0, 1, 2]))]
    elif what == "dtype":
        x = x.astype(draw(st.sampled_from([np.float16, np.int64, np.complex128, object, np.bool_])))
    elif what == "partly_missing":
        x[i, :, : draw(st.integers(1, x.shape[2] - 1))] = np.nan
    elif what == "sparse":                          # keep only a few frames (around the 20 % evidence rule)
        x[i, draw(st.integers(1, x.shape[1])):] = np.nan
    elif what == "flat":                            # every joint at one point (optionally a tiny jitter)
        x[i, ..., :2] = draw(st.sampled_from([0.0, 0.3])) + draw(st.sampled_from([0.0, 1e-5, 0.1])) * (
            np.arange(x.shape[2])[None, :, None] % 2)
    return x


_CALLS = [("stgcn", "predict_proba", "proba"), ("stgcn", "predict", "label"),
          ("feature_clf", "predict_proba", "proba"), ("feature_reg", "predict", "regression")]


# ---------------------------------------------------------------- pose-clip estimators
@pytest.mark.parametrize("name, method, kind", _CALLS)
@FUZZ
@given(data=st.data())
def test_clip_estimators_on_random_arrays(clip_models, name, method, kind, data):
    X = data.draw(random_arrays())
    _check(getattr(clip_models[name], method), X, kind=kind, clip_input=True)


@pytest.mark.parametrize("name, method, kind", _CALLS)
@FUZZ
@given(data=st.data())
def test_clip_estimators_on_broken_clips(clips, clip_models, name, method, kind, data):
    X = data.draw(mutated_clips(clips[0]))
    _check(getattr(clip_models[name], method), X, kind=kind, clip_input=True)


@settings(FUZZ, max_examples=20)
@given(X=random_arrays())
def test_unfitted_clip_estimators_say_so(X):
    for est in (STGCNClassifier(), GaitFeatureClassifier(), GaitFeatureRegressor()):
        with pytest.raises(NotFittedError):
            est.predict(X)


# ---------------------------------------------------------------- feature-table estimators
@st.composite
def random_tables(draw):
    n = draw(st.integers(0, 4))
    f = draw(st.sampled_from([0, 1, 3, 4, 5]))
    dtype = draw(_DTYPES)
    if dtype is object:
        elements = st.one_of(st.sampled_from(_ODD), st.text(max_size=2), st.none())
    elif np.dtype(dtype).kind in "fc":
        huge = [1e300, -1e300] if np.dtype(dtype).itemsize >= 8 else []
        elements = st.sampled_from(_ODD + huge) | st.floats(-1e3, 1e3, width=16 if dtype is np.float16 else 32)
    else:
        elements = None
    shape = draw(st.sampled_from([(n, f), (n,), (n, f, 2), ()]))
    return draw(hnp.arrays(dtype, shape, elements=elements))


@pytest.mark.parametrize("name", ["logreg", "xgb", "ordinal", "ridge"])
@settings(FUZZ, max_examples=40)
@given(X=random_tables())
def test_table_estimators_on_random_tables(table_models, name, X):
    est = table_models[name]
    kind = "regression" if name == "ridge" else "proba"
    _check(est.predict if kind == "regression" else est.predict_proba, X, kind=kind, clip_input=False)


# ---------------------------------------------------------------- numbers in settings and model files
_NUMBERS = st.one_of(st.sampled_from([10**30, 10**300, 10**400, -(10**400), 2**63, 2**64, "30", "1e3", b"1", True,
                                      None, [], {}, 1e-320, 5e-324, 0, -0.0, 1.0, 30.0, 0.001]),
                     st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6))


@settings(FUZZ, max_examples=200)
@given(value=_NUMBERS)
def test_settings_take_any_value_with_a_clear_answer(value):
    """fps, lr, epochs, random_state, device: accepted only when valid, else ValueError — never a TypeError."""
    from models.checks import check_fps

    try:
        out = check_fps(value)
        assert isinstance(out, float) and 0 < out < float("inf")
    except ValueError as exc:
        assert not isinstance(exc, TypeError) and len(str(exc)) < 300
    for name in ("lr", "epochs", "random_state", "device", "batch_size", "dropout"):
        est = STGCNClassifier(device="cpu").set_params(**{name: value})
        try:
            est._check_common()
        except ValueError as exc:
            assert not isinstance(exc, TypeError) and len(str(exc)) < 400, (name, value)


@settings(FUZZ, max_examples=150)
@given(key=st.sampled_from(["y_mean", "y_scale", "n_frames", "classes", "device", "lr"]),
       value=st.one_of(_NUMBERS, st.lists(st.one_of(st.integers(), st.text(max_size=2)), max_size=3)))
def test_sidecar_numbers_are_checked_without_numpy_surprises(key, value):
    """Any JSON-ish value in a sidecar's numeric keys: accepted with sane bounds, or ModelFileError."""
    from pathlib import Path

    from models.deep import STGCNRegressor
    from models.deep.file_schema import MAX_FRAMES, MIN_Y_SCALE, check_sidecar
    from models.errors import ModelFileError

    cls = STGCNClassifier if key == "classes" else STGCNRegressor
    params = STGCNClassifier().get_params(deep=False)
    params.pop("cache")
    info = {"format": 2, "estimator": cls.__name__, "params": params, "layout": "coco17", "n_frames": 20,
            "history": [], "torch": "x"}
    info.update({"classes": [0, 1]} if key == "classes" else {"y_mean": 0.0, "y_scale": 1.0})
    if key in ("device", "lr"):
        info["params"] = {**params, key: value}
    else:
        info[key] = value
    try:
        check_sidecar(info, cls, Path("m.json"), legacy=False)
    except ModelFileError as exc:
        assert key in str(exc)
        return
    if key == "n_frames":
        assert isinstance(value, int) and 8 <= value <= MAX_FRAMES
    elif key == "y_scale":
        assert MIN_Y_SCALE <= float(value) < float("inf")
    elif key == "classes":
        assert np.asarray(value).dtype != object
    elif key == "device":
        assert value in ("auto", "cpu", "mps") or str(value).startswith("cuda")
