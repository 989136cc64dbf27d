"""Property-based tests of the preprocessing invariants."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gaitfeat import PoseSequence, preprocess
from gaitfeat.preprocessing import fill_gaps, mirror
from gaitfeat.testing import stick_walker

_WALKER = stick_walker(200, turn_at=90, turn_frames=25)
_REFERENCE = preprocess(_WALKER)


@settings(max_examples=25, deadline=None)
@given(
    dx=st.floats(-800, 800),
    dy=st.floats(-400, 400),
    scale=st.floats(0.3, 4.0),
)
def test_translation_and_scale_do_not_change_normalised_output(dx, dy, scale):
    kp = _WALKER.keypoints.astype(np.float64).copy()
    kp[..., 0] = kp[..., 0] * scale + dx
    kp[..., 1] = kp[..., 1] * scale + dy
    out = preprocess(_WALKER.replace(keypoints=kp))
    np.testing.assert_allclose(out.keypoints, _REFERENCE.keypoints, atol=2e-3)
    np.testing.assert_array_equal(out.direction, _REFERENCE.direction)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    missing=st.floats(0.0, 0.5),
    layout=st.sampled_from(["body25", "coco17"]),
)
def test_mirroring_twice_is_the_identity(seed, missing, layout):
    rng = np.random.default_rng(seed)
    V = 25 if layout == "body25" else 17
    kp = np.empty((30, V, 3))
    kp[..., :2] = rng.uniform(-500, 1500, size=(30, V, 2))
    kp[..., 2] = rng.uniform(0, 1, size=(30, V))
    kp[rng.uniform(size=(30, V)) < missing] = np.nan
    seq = PoseSequence(kp, 30.0, layout)
    twice = mirror(mirror(seq))
    np.testing.assert_allclose(twice.keypoints, seq.keypoints, atol=1e-3, equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(
    slope=st.floats(-20, 20),
    start=st.integers(1, 40),
    length=st.integers(1, 7),
)
def test_gap_filling_is_exact_for_linear_motion(slope, start, length):
    t = np.arange(50, dtype=np.float64)
    kp = np.zeros((50, 17, 3))
    kp[..., 0] = (100 + slope * t)[:, None]
    kp[..., 1] = (300 - 0.5 * slope * t)[:, None]
    kp[..., 2] = 1.0
    truth = PoseSequence(kp, 30.0, "coco17")
    holed = truth.keypoints.copy()
    holed[start : start + length, 3] = np.nan
    out = fill_gaps(truth.replace(keypoints=holed), max_gap_s=7 / 30)
    np.testing.assert_allclose(out.keypoints[..., :2], truth.keypoints[..., :2], atol=1e-3)
