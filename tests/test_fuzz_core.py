"""Fuzzing the pose model, preprocessing and the feature engine with random arrays.

The only outcomes allowed: a valid result, or a :class:`gaitfeat.errors.GaitError`
with a message — never another exception, a hang (each example has a deadline),
or a result built from impossible values.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gaitfeat
import gaitfeat.testing
from gaitfeat.errors import GaitError
from gaitfeat.features import extract_features, walk_features
from gaitfeat.preprocessing.checks import MAX_COORDINATE

FUZZ = settings(max_examples=60, deadline=2000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([0.0, -1.0, 1e30, -1e30, 1e-30, 2.0, 0.5, np.nan]),
)
DTYPES = st.sampled_from([np.float32, np.float64, np.int16, np.int64, np.bool_, np.complex64, np.uint8])


def _allowed(exc: BaseException) -> bool:
    return isinstance(exc, GaitError) and bool(str(exc).strip())


@st.composite
def keypoint_arrays(draw):
    dtype = draw(DTYPES)
    T = draw(st.integers(0, 40))
    V = draw(st.sampled_from([17, 17, 25, 3]))
    C = draw(st.sampled_from([3, 3, 2, 4]))
    elements = VALUES if np.issubdtype(dtype, np.floating) else None
    return draw(hnp.arrays(dtype, (T, V, C), elements=elements)) if elements is not None else \
        draw(hnp.arrays(dtype, (T, V, C)))


@FUZZ
@given(kp=keypoint_arrays(), fps=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                                          st.integers(-5, 120), st.text(max_size=3)))
def test_pose_sequence(kp, fps):
    layout = "coco17" if kp.shape[1] == 17 else "body25"
    try:
        seq = gaitfeat.PoseSequence(kp, fps, layout)
    except Exception as exc:  # noqa: BLE001 - the point is which exceptions escape
        assert _allowed(exc), repr(exc)
        return
    assert np.isfinite(seq.fps) and seq.fps > 0
    assert not np.isinf(seq.keypoints).any()
    conf = seq.keypoints[:, :, 2]
    assert ((conf >= 0) & (conf <= 1)).all()


@st.composite
def walks(draw):
    """A walker with random damage: wild values, missing stretches, a frozen or empty stretch."""
    seq = gaitfeat.testing.stick_walker(draw(st.integers(20, 160)), layout=draw(st.sampled_from(["coco17", "body25"])))
    kp = seq.keypoints.copy()
    T, V, _ = kp.shape
    for _ in range(draw(st.integers(0, 6))):
        t0 = draw(st.integers(0, T - 1))
        t1 = min(T, t0 + draw(st.integers(1, 30)))
        v = draw(st.integers(0, V - 1))
        kind = draw(st.sampled_from(["wild", "missing", "frozen", "empty", "negative"]))
        if kind == "wild":
            kp[t0:t1, v, :2] = draw(st.sampled_from([1e30, -1e30, 1e7, 3e4, -5e3]))
        elif kind == "missing":
            kp[t0:t1, v] = np.nan
        elif kind == "frozen":
            kp[t0:t1] = kp[t0]
        elif kind == "empty":
            kp[t0:t1] = np.nan
        else:
            kp[t0:t1, v, :2] = -kp[t0:t1, v, :2]
    return seq.replace(keypoints=kp)


@FUZZ
@given(seq=walks())
def test_preprocess_and_walk_features(seq):
    try:
        out = gaitfeat.preprocess(seq)
    except Exception as exc:  # noqa: BLE001
        assert _allowed(exc), repr(exc)
        return
    xy = out.xy
    assert not np.isinf(xy).any()
    # Preprocessed coordinates are leg lengths around the hips: nothing impossible survives.
    assert not (np.abs(xy[~np.isnan(xy)]) > MAX_COORDINATE).any()
    try:
        table = walk_features(out)
    except Exception as exc:  # noqa: BLE001
        assert _allowed(exc), repr(exc)
        return
    numbers = table.select_dtypes("number").to_numpy(float)
    assert not np.isinf(numbers).any()


@st.composite
def clip_arrays(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int32, np.bool_, np.complex128]))
    shape = draw(st.sampled_from([(2, 30, 17, 3), (1, 0, 17, 3), (0, 30, 17, 3), (2, 30, 25, 3), (2, 30, 17, 1),
                                  (30, 17, 3), (2, 30, 12, 3), (2, 2, 30, 17, 3)]))
    if np.issubdtype(dtype, np.floating):
        return draw(hnp.arrays(dtype, shape, elements=st.one_of(st.floats(-3, 3, width=32), VALUES)))
    return draw(hnp.arrays(dtype, shape))


@FUZZ
@given(clips=clip_arrays(), layout=st.sampled_from([None, "coco17", "body25"]))
def test_extract_features(clips, layout):
    try:
        table = extract_features(clips, 30.0, layout)
    except Exception as exc:  # noqa: BLE001
        assert _allowed(exc), repr(exc)
        return
    values = table[list(gaitfeat.FEATURES)].to_numpy(float)
    assert not np.isinf(values).any()


@pytest.mark.parametrize("value", [1e30, -1e30, np.inf])
def test_extreme_clip_values_are_refused(value):
    clips = np.zeros((1, 30, 17, 3), dtype=np.float32)
    clips[0, 4, 2, 0] = value
    with pytest.raises(GaitError, match="impossible|infinite"):
        extract_features(clips, 30.0)
