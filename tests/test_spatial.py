"""Spatial parameters: the pelvis path with a static camera, the foot-contact fallback, walk-level features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gaitfeat
from gaitfeat.errors import PoseDataError, SequenceTooShortError
from gaitfeat.features import QUALITY_COLUMNS, extract_features, walk_features
from gaitfeat.preprocessing.orientation import orient_root
from gaitfeat.testing import rolling_walker, stick_walker
import naive


def _rel(a, b):
    return abs(a - b) / abs(b)


# --- the pelvis path ------------------------------------------------------------


@pytest.mark.parametrize("layout", ["coco17", "body25"])
def test_ankle_rolling_forward_in_stance_is_measured_within_2_percent(layout):
    """A walker whose ankle travels 0.15 leg lengths over the ground in stance, static camera."""
    seq = rolling_walker(n_frames=300, layout=layout, roll=0.15)
    truth = seq.info["truth"]
    clips = gaitfeat.make_clips(gaitfeat.preprocess(seq))
    table = extract_features(clips)
    assert (table["spatial_method"] == "pelvis_path").all()
    assert _rel(table["stride_length"].median(), truth["stride_length"]) < 0.02
    assert _rel(table["walking_speed"].median(), truth["speed"]) < 0.02
    assert _rel(table["step_length"].median(), truth["stride_length"] / 2) < 0.02
    walk = walk_features(gaitfeat.preprocess(seq)).iloc[0]
    assert walk["spatial_method"] == "pelvis_path"
    assert _rel(walk["stride_length"], truth["stride_length"]) < 0.02
    assert _rel(walk["walking_speed"], truth["speed"]) < 0.02
    assert _rel(walk["cadence"], truth["cadence"]) < 0.005
    # The foot-contact method assumes a planted ankle: it misses the rolling (why the pelvis path exists).
    foot = walk_features(gaitfeat.preprocess(seq), camera="moving").iloc[0]
    assert foot["spatial_method"] == "foot_contact"
    assert foot["stride_length"] < 0.9 * truth["stride_length"]


@pytest.mark.parametrize("layout", ["coco17", "body25"])
def test_planted_ankle_foot_contact_is_exact(layout):
    """Without rolling, the fallback measures the stride from the planted foot alone (no pelvis path)."""
    seq = rolling_walker(n_frames=300, layout=layout, roll=0.0, pan=1.0)
    walk = walk_features(gaitfeat.preprocess(seq)).iloc[0]
    assert walk["spatial_method"] == "foot_contact"
    assert _rel(walk["stride_length"], seq.info["truth"]["stride_length"]) < 0.02


@pytest.mark.parametrize("pan", [0.3, 0.7, 1.0])
def test_fallback_is_chosen_when_the_camera_pans(pan):
    seq = rolling_walker(n_frames=300, roll=0.05, pan=pan)
    table = extract_features(gaitfeat.make_clips(gaitfeat.preprocess(seq)))
    assert (table["spatial_method"] == "foot_contact").all()
    assert (table["camera_pan"] > 0.12).all()
    assert table["camera_pan"].median() == pytest.approx(pan, abs=0.08)
    # Told the camera is static, the engine believes it and measures the (panned) pelvis path.
    static = extract_features(gaitfeat.make_clips(gaitfeat.preprocess(seq)), camera="static")
    assert (static["spatial_method"] == "pelvis_path").all()
    assert static["stride_length"].median() < table["stride_length"].median()


def test_static_simulated_camera_pelvis_path_and_fallback_agree():
    walk = gaitfeat.simulate_walk(2, pan=0.0, noise="none", duration=14.0, random_state=3)
    seq = gaitfeat.preprocess(walk.clean)
    clips = gaitfeat.make_clips(seq)
    pelvis = extract_features(clips)
    foot = extract_features(clips, camera="moving")
    assert (pelvis["spatial_method"] == "pelvis_path").mean() > 0.9
    assert (foot["spatial_method"] == "foot_contact").all()
    truth = walk.labels["stride_length"]
    assert _rel(pelvis["stride_length"].median(), truth) < 0.03
    assert _rel(foot["stride_length"].median(), pelvis["stride_length"].median()) < 0.08
    # The default simulated videos pan with the child: the fallback is chosen there.
    panned = gaitfeat.simulate_walk(2, pan=0.8, noise="none", duration=14.0, random_state=3)
    table = extract_features(gaitfeat.make_clips(gaitfeat.preprocess(panned.clean)))
    assert (table["spatial_method"] == "foot_contact").mean() > 0.9


def _reference_cases():
    """Clips with pelvis paths: static and partly panning cameras, both layouts, a path with holes, a real walk."""
    static = gaitfeat.make_clips(gaitfeat.preprocess(rolling_walker(n_frames=200, roll=0.1)))
    panned = gaitfeat.make_clips(gaitfeat.preprocess(rolling_walker(n_frames=200, roll=0.05, pan=0.3)))
    body = gaitfeat.make_clips(gaitfeat.preprocess(rolling_walker(n_frames=200, roll=0.1, layout="body25")))
    holes = static.root.copy()
    holes[:, 40:47] = np.nan
    holes[1, ::3] = np.nan
    sim = gaitfeat.simulate_walk(2, pan=0.0, duration=8.0, random_state=5)
    noisy = gaitfeat.make_clips(gaitfeat.preprocess(sim.sequence, layout="coco17"), min_valid=0.5)
    return [("coco17", static.clips, static.root), ("coco17", panned.clips, panned.root),
            ("body25", body.clips, body.root), ("coco17", static.clips, holes),
            ("coco17", noisy.clips, noisy.root)]


@pytest.mark.parametrize("case", range(5))
def test_numpy_reference_with_the_pelvis_path(case):
    layout, clips, root = _reference_cases()[case]
    for camera in ("auto", "static", "moving"):
        table = extract_features(clips, 30.0, layout, root=root, camera=camera)
        ref = pd.DataFrame(naive.extract_features(clips, 30.0, layout, root=root, camera=camera))
        for col in [*gaitfeat.FEATURES, "camera_pan"]:
            np.testing.assert_allclose(table[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-6, atol=1e-6,
                                       equal_nan=True, err_msg=f"{camera} {col}")
        assert table["spatial_method"].tolist() == ref["spatial_method"].tolist()


@pytest.mark.parametrize("case", range(5))
def test_numpy_reference_of_the_stride_and_step_rows(case):
    """The kernels' per-stride and per-step rows (what walk_features summarises) against the reference."""
    from gaitfeat.features._kernels import DEFAULTS
    from gaitfeat.features.engine import _params, _run

    layout, clips, root = _reference_cases()[case]
    *_, (stride_out, step_out, n_rows) = _run(clips, 30.0, layout, _params(**DEFAULTS._asdict()), root, rows=True)
    for i, clip in enumerate(clips):
        ref, _ = naive.clip_features(clip, 30.0, layout, root[i])
        for got, want in ((stride_out[i, : n_rows[i, 0]], ref["_stride_rows"]),
                          (step_out[i, : n_rows[i, 1]], ref["_step_rows"])):
            want = np.array(want, dtype=float).reshape(len(want), got.shape[1])
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, equal_nan=True, err_msg=f"clip {i}")


def test_root_is_validated():
    seq = gaitfeat.preprocess(rolling_walker(n_frames=200))
    clips = gaitfeat.make_clips(seq)
    with pytest.raises(PoseDataError, match="root must"):
        extract_features(clips.clips, seq.fps, root=clips.root[:, :10])
    bad = clips.root.copy()
    bad[0, 3, 0] = np.inf
    with pytest.raises(PoseDataError, match="infinite"):
        extract_features(clips.clips, seq.fps, root=bad)
    with pytest.raises(ValueError, match="camera"):
        extract_features(clips, camera="tripod")
    with pytest.raises(ValueError, match="fps is required"):
        extract_features(clips.clips)
    with pytest.raises(ValueError, match="camera='static'.*no root"):
        extract_features(clips.clips, seq.fps, camera="static")
    with pytest.raises(PoseDataError, match="real-valued"):
        extract_features(clips.clips, seq.fps, root=clips.root.astype(complex))
    with pytest.raises(PoseDataError, match="real numbers"):
        seq.replace(root=np.full((seq.n_frames, 2), "a"))
    # Unknown stretches of the path: with most of it missing the fallback is used.
    holes = clips.root.copy()
    holes[:, ::2] = np.nan
    table = extract_features(clips.clips, seq.fps, root=holes)
    assert (table["spatial_method"] == "foot_contact").all()


# --- the pelvis path through preprocessing -------------------------------------------


def test_preprocessing_carries_the_pelvis_path_through_a_turn():
    raw = stick_walker(n_frames=300, turn_at=140, turn_frames=30, leg_px=200.0)
    seq = gaitfeat.preprocess(raw)
    assert seq.root is not None and seq.root.shape == (300, 2)
    x = seq.root[:, 0]
    walking = seq.direction != 0
    # Progression grows on the way there and on the way back (leg lengths; 0.6 per step at 2 steps/s).
    steps = np.diff(x)[walking[1:] & walking[:-1]]
    assert np.median(steps) == pytest.approx(0.6 * 2 / 30, rel=0.05)
    assert x[-1] - x[0] > 0.6 * 2 * 8


def test_orient_root_accumulates_along_the_walking_direction():
    root = np.array([[0.0, 1], [1, 1], [2, 1], [np.nan, np.nan], [2, 1], [1, 1], [0, 1]])
    direction = np.array([1, 1, 1, 1, -1, -1, -1])
    out = orient_root(root, direction)
    np.testing.assert_allclose(out[:, 0], [0, 1, 2, np.nan, 2, 3, 4])
    np.testing.assert_allclose(out[:, 1], root[:, 1])


def test_clips_unpack_like_a_tuple_and_carry_the_root(tmp_path):
    seq = gaitfeat.preprocess(rolling_walker(n_frames=200))
    result = gaitfeat.make_clips(seq, window=124, stride=12)
    clips, meta, report = result
    assert clips is result.clips and meta is result.meta and report is result.report
    assert result.root.shape == (len(clips), 124, 2)
    np.testing.assert_array_equal(result.root[1], seq.root[12:136])
    pd.testing.assert_frame_equal(extract_features(result), extract_features(clips, seq.fps, root=result.root))
    # Sequences without a pelvis path give clips without one.
    bare = gaitfeat.make_clips(seq.replace(root=None))
    assert bare.root is None
    # The path survives a round trip through the npz format.
    path = gaitfeat.write_npz(tmp_path / "walk.npz", seq)
    np.testing.assert_array_equal(gaitfeat.read_npz(path)[0].root, seq.root)


def test_root_shape_is_checked():
    seq = gaitfeat.preprocess(rolling_walker(n_frames=100))
    with pytest.raises(PoseDataError, match="root must have shape"):
        seq.replace(root=np.zeros((99, 2)))


# --- walk-level features -------------------------------------------------------------


def test_walk_features_on_a_three_second_walk():
    raw = rolling_walker(n_frames=90, fps=30.0, roll=0.1)
    seq = gaitfeat.preprocess(raw)
    with pytest.raises(SequenceTooShortError):
        gaitfeat.make_clips(seq)
    walk = walk_features(seq, height_m=1.7)
    assert len(walk) == 1
    row = walk.iloc[0]
    truth = raw.info["truth"]
    assert row["n_strides"] >= 2 and row["n_steps"] >= 3
    assert row["n_strides"] == row["n_strides_left"] + row["n_strides_right"]
    assert _rel(row["stride_length"], truth["stride_length"]) < 0.02
    assert _rel(row["cadence"], truth["cadence"]) < 0.01
    assert row["stride_length_m"] == pytest.approx(row["stride_length"] * 1.7 * gaitfeat.features.LEG_LENGTH_PER_HEIGHT)
    assert row["stride_length_iqr"] >= 0 and row["stride_time_iqr"] >= 0
    # (Zeni's toe-off, the most posterior ankle, comes late on this walker's smooth swing start.)
    assert 1.0 < row["stance_swing_ratio_left"] < 2.5 and 1.0 < row["stance_swing_ratio_right"] < 2.5
    assert list(walk.columns[:5]) == ["patient_id", "video_id", "fps", "n_frames", "duration_s"]
    assert list(walk.columns[-len(QUALITY_COLUMNS):]) == list(QUALITY_COLUMNS)


def test_walk_features_too_short_walk_says_why():
    seq = gaitfeat.preprocess(rolling_walker(n_frames=30, fps=30.0))
    row = walk_features(seq).iloc[0]
    assert np.isnan(row["stride_length"]) and np.isnan(row["cadence"])
    assert "no complete stride" in row["nan_reason"]


def test_walk_features_many_sequences_and_bad_input():
    good = gaitfeat.preprocess(rolling_walker(n_frames=150))
    raw = rolling_walker(n_frames=150, video_id="raw")  # pixels: not preprocessed
    with pytest.raises(PoseDataError, match="raw: .*preprocess"):
        walk_features([good, raw])
    table = walk_features([good, raw], on_error="skip", height_m=[1.2, 1.3])
    assert table["video_id"].tolist() == ["roll0", "raw"]
    assert np.isfinite(table.loc[0, "stride_length_m"]) and np.isnan(table.loc[1, "stride_length_m"])
    assert "not measured" in table.loc[1, "nan_reason"]
    with pytest.raises(TypeError, match="unexpected keyword"):
        walk_features(good, window=3)
    with pytest.raises(TypeError, match="PoseSequence"):
        walk_features([good.keypoints])


def test_feature_extractor_per_walk():
    from gaitfeat import GaitFeatureExtractor

    walks = [gaitfeat.preprocess(rolling_walker(n_frames=n, video_id=f"w{n}")) for n in (90, 200)]
    ext = GaitFeatureExtractor(features=["cadence", "stride_length"], per_walk=True).fit(walks)
    out = ext.transform(walks)
    assert out.shape == (2, 2) and ext.n_frames_ is None
    np.testing.assert_allclose(out, walk_features(walks)[["cadence", "stride_length"]].to_numpy(), rtol=1e-12)
    with pytest.raises(PoseDataError, match="per_walk"):
        ext.transform(np.zeros((2, 124, 17, 3)))
