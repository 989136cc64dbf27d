import numpy as np
import pandas as pd
import pytest

import gaitfeat
from gaitfeat import PoseSequence, make_clips, preprocess, preprocess_many
from gaitfeat.errors import LayoutError, PoseDataError, SequenceTooShortError
from gaitfeat.layouts import BODY25, COCO17
from gaitfeat.preprocessing import (
    centre_on_hips,
    fill_gaps,
    fix_leg_swaps,
    leg_length,
    mirror,
    orient,
    scale_by_leg_length,
    smooth,
    threshold_confidence,
    walking_direction,
)
from gaitfeat.testing import stick_walker


def _linear_sequence(T=60, fps=30.0):
    t = np.arange(T, dtype=np.float64)
    kp = np.zeros((T, 17, 3))
    kp[..., 0] = 100 + 3.0 * t[:, None] + np.arange(17)[None, :]
    kp[..., 1] = 400 - 1.5 * t[:, None] + 2 * np.arange(17)[None, :]
    kp[..., 2] = 0.9
    return PoseSequence(kp, fps, "coco17")


def test_threshold_confidence():
    seq = _linear_sequence()
    kp = seq.keypoints.copy()
    kp[4, 2, 2] = 0.1
    kp[5, 3, 2] = 0.19
    kp[6, 4, 2] = 0.2
    out = threshold_confidence(seq.replace(keypoints=kp), 0.2)
    assert out.missing_mask().sum() == 2 and not out.missing_mask()[6, 4]
    assert out.info["threshold_confidence"]["removed"] == 2


def test_fill_gaps_is_exact_for_linear_motion():
    seq = _linear_sequence()
    kp = seq.keypoints.copy()
    kp[10:15, 5] = np.nan  # 5 frames: filled (max 7 frames at 30 fps and 0.25 s)
    kp[20:30, 6] = np.nan  # 10 frames: too long
    kp[0:3, 7] = np.nan  # at the start: nothing to interpolate from
    out = fill_gaps(seq.replace(keypoints=kp), max_gap_s=0.25)
    np.testing.assert_allclose(out.keypoints[10:15, 5, :2], seq.keypoints[10:15, 5, :2], rtol=0, atol=1e-4)
    assert (out.keypoints[10:15, 5, 2] == 0).all()  # filled, not detected
    assert np.isnan(out.keypoints[20:30, 6, 0]).all() and np.isnan(out.keypoints[0:3, 7, 0]).all()
    rep = out.info["fill_gaps"]
    assert rep == {"max_gap_frames": 7, "filled_values": 5, "filled_gaps": 1, "unfilled_gaps": 2, "unfilled_values": 13}


def test_smooth_removes_jitter_without_lag(rng):
    clean = stick_walker(300)
    noisy = clean.keypoints.copy()
    noisy[..., :2] += rng.normal(0, 3.0, size=noisy[..., :2].shape)
    out = smooth(clean.replace(keypoints=noisy), cutoff_hz=6.0)
    err_before = np.abs(noisy[..., :2] - clean.keypoints[..., :2]).mean()
    err_after = np.abs(out.keypoints[..., :2] - clean.keypoints[..., :2]).mean()
    # White noise spread over 0-15 Hz keeps about sqrt(6/15) of its amplitude below 6 Hz.
    assert err_after < 0.7 * err_before
    # Zero phase: the smoothed knee trajectory is not shifted in time.
    x_clean = clean.keypoints[:, 13, 0] - clean.keypoints[:, 12, 0]
    x_out = out.keypoints[:, 13, 0] - out.keypoints[:, 12, 0]
    lags = range(-5, 6)
    best = max(lags, key=lambda k: np.corrcoef(np.roll(x_out, k)[20:-20], x_clean[20:-20])[0, 1])
    assert best == 0


def test_smooth_keeps_gaps_missing_and_bridges_them_straight():
    seq = _linear_sequence(80)
    kp = seq.keypoints.copy()
    kp[40, 3] = np.nan
    kp[:, 4] = np.nan
    kp[10:15, 4] = seq.keypoints[10:15, 4]  # a 5-frame island between long gaps
    out = smooth(seq.replace(keypoints=kp))
    assert np.isnan(out.keypoints[40, 3, 0]) and np.isnan(out.keypoints[20:, 4, 0]).all()
    # Linear motion passes the filter unchanged, also next to and between gaps.
    np.testing.assert_allclose(out.keypoints[10:15, 4, :2], kp[10:15, 4, :2], atol=0.05)
    np.testing.assert_allclose(out.keypoints[:, 3, :2], kp[:, 3, :2], atol=0.05)
    np.testing.assert_allclose(out.keypoints[5:35, 0, :2], seq.keypoints[5:35, 0, :2], atol=0.05)
    assert out.info["smooth"]["bridged_values"] == 1 + 75
    skipped = smooth(seq.replace(fps=10.0), cutoff_hz=6.0)
    assert "Nyquist" in skipped.info["smooth"]["skipped"]
    np.testing.assert_array_equal(skipped.keypoints, seq.keypoints)
    short = smooth(_linear_sequence(8))
    assert "too short" in short.info["smooth"]["skipped"]


def _swap(kp, frames, layout):
    kp = kp.copy()
    left = [l for l, r in layout.lr_pairs if l in layout.segments["left_leg"]]
    right = [r for l, r in layout.lr_pairs if l in layout.segments["left_leg"]]
    block = kp[frames].copy()
    kp[frames][:, left] = block[:, right]
    out = kp.copy()
    out[np.ix_(frames, left)] = block[:, right]
    out[np.ix_(frames, right)] = block[:, left]
    return out


@pytest.mark.parametrize("layout", ["body25", "coco17"])
def test_planted_two_frame_swap_is_repaired(layout, rng):
    clean = stick_walker(240, layout=layout)
    kp = clean.keypoints.copy()
    kp[..., :2] += rng.normal(0, 1.0, size=kp[..., :2].shape)
    truth = clean.replace(keypoints=kp)
    lay = truth.skeleton
    # Plant swaps where the legs are apart (double support), one of two frames and one of three.
    swapped = _swap(truth.keypoints, [53, 54], lay)
    swapped = _swap(swapped, [144, 145, 146], lay)
    out = fix_leg_swaps(truth.replace(keypoints=swapped))
    np.testing.assert_array_equal(out.keypoints, truth.keypoints)
    assert out.info["fix_leg_swaps"] == {"swaps_repaired": 2, "frames_relabelled": 5, "unpaired_flips": 0}


def test_no_false_swaps_on_clean_or_noisy_walking(rng):
    for noise in (0.0, 2.0):
        seq = stick_walker(400, turn_at=180)
        kp = seq.keypoints.copy()
        kp[..., :2] += rng.normal(0, noise, size=kp[..., :2].shape)
        out = fix_leg_swaps(seq.replace(keypoints=kp))
        assert out.info["fix_leg_swaps"]["swaps_repaired"] == 0


def test_swap_at_the_start_and_long_swaps(walker):
    lay = walker.skeleton
    start = fix_leg_swaps(walker.replace(keypoints=_swap(walker.keypoints, [0, 1], lay)))
    np.testing.assert_array_equal(start.keypoints, walker.keypoints)
    # A 1-s stretch of exchanged labels is not "short": left alone, flips counted.
    frames = list(range(60, 90))
    long = fix_leg_swaps(walker.replace(keypoints=_swap(walker.keypoints, frames, lay)))
    assert long.info["fix_leg_swaps"]["swaps_repaired"] == 0
    assert long.info["fix_leg_swaps"]["unpaired_flips"] == 2


def test_walking_direction_through_a_turn():
    seq = stick_walker(420, turn_at=200, turn_frames=30)
    truth = np.array(seq.info["truth"]["direction"])
    d = walking_direction(seq)
    walking = truth != 0
    assert (d[walking] == truth[walking]).mean() > 0.97
    assert set(np.unique(d[:190])) == {1} and set(np.unique(d[240:])) == {-1}
    # Frames called "turning" lie in the turn.
    turning = np.flatnonzero(d == 0)
    assert turning.size > 0 and turning.min() >= 200 and turning.max() < 230


def test_walking_direction_with_a_panning_camera():
    seq = stick_walker(200, direction=-1, step_length=0.7)
    # The camera follows the child: the hips stay put in the image.
    kp = seq.keypoints.copy()
    mid = 0.5 * (kp[:, 9, 0] + kp[:, 12, 0])
    kp[..., 0] -= (mid - mid[0])[:, None]
    d = walking_direction(seq.replace(keypoints=kp))
    assert (d == -1).mean() > 0.97


def test_mirrored_walker_is_detected_and_flipped():
    forward = preprocess(stick_walker(300, direction=1))
    backward = preprocess(stick_walker(300, direction=-1))
    assert backward.info["orient"]["mirrored_frames"] == 300
    assert forward.info["orient"]["mirrored_frames"] == 0
    assert (backward.direction == -1).all() and (forward.direction == 1).all()
    np.testing.assert_allclose(backward.keypoints, forward.keypoints, atol=1e-4)
    # After orientation, the nose is ahead of the ears (+x) and above the hips (y up).
    nose, ear = BODY25.index("nose"), BODY25.index("left_ear")
    assert (backward.keypoints[:, nose, 0] > backward.keypoints[:, ear, 0]).all()
    assert (backward.keypoints[:, nose, 1] > 0).all()


def test_orient_makes_both_halves_of_a_turning_video_walk_forward():
    out = preprocess(stick_walker(420, turn_at=200, turn_frames=30))
    nose, ears = BODY25.index("nose"), BODY25.indices("left_ear", "right_ear")
    facing = out.keypoints[:, nose, 0] - out.keypoints[:, ears, 0].mean(axis=1)
    walking = np.array(out.info["truth"]["direction"]) != 0
    assert (facing[walking] > 0).all()
    assert out.info["orient"]["direction_changes"] == 1
    assert orient(out).info["orient"]["mirrored_frames"] == 0  # idempotent


def test_mirror_keeps_labels_and_hip_midpoint(walker):
    m = mirror(walker)
    np.testing.assert_allclose(m.keypoints[:, 9, 0], walker.keypoints[:, 9, 0], atol=1e-3)
    lk = BODY25.index("left_knee")
    hip = walker.keypoints[:, 9, 0]
    np.testing.assert_allclose(m.keypoints[:, lk, 0] - hip, -(walker.keypoints[:, lk, 0] - hip), atol=1e-3)
    np.testing.assert_array_equal(m.keypoints[:, :, 1:], walker.keypoints[:, :, 1:])


def test_centre_and_scale(walker):
    c = centre_on_hips(walker)
    np.testing.assert_allclose(c.keypoints[:, BODY25.index("mid_hip"), :2], 0.0, atol=1e-3)
    assert (c.keypoints[:, BODY25.index("neck"), 1] > 0).all()  # y up
    s = scale_by_leg_length(c)
    assert s.info["scale_by_leg_length"]["leg_length"] == pytest.approx(200.0, rel=1e-3)
    assert leg_length(s) == pytest.approx(1.0, rel=1e-3)
    kp = walker.keypoints.copy()
    kp[:, BODY25.segments["left_leg"] + BODY25.segments["right_leg"]] = np.nan
    with pytest.raises(PoseDataError, match="cannot estimate a leg length"):
        scale_by_leg_length(walker.replace(keypoints=kp))


def test_frames_without_hips_become_missing(walker):
    kp = walker.keypoints.copy()
    kp[10, [8, 9, 12]] = np.nan
    kp[11, 9] = np.nan  # one hip is enough
    c = centre_on_hips(walker.replace(keypoints=kp))
    assert np.isnan(c.keypoints[10, :, 0]).all() and not np.isnan(c.keypoints[11, 0, 0])
    assert c.info["centre_on_hips"]["frames_without_hips"] == 1


def test_preprocess_coco17_records_every_step(walker):
    out = preprocess(walker, layout="coco17")
    assert out.layout == "coco17" and out.n_joints == 17
    for step in ("threshold_confidence", "fix_leg_swaps", "fill_gaps", "smooth", "centre_on_hips", "scale_by_leg_length", "orient"):
        assert step in out.info
    assert np.isfinite(out.keypoints).all()


def test_make_clips_counts_drops_and_reasons():
    seq = preprocess(stick_walker(400))
    kp = seq.keypoints.copy()
    kp[200:260, :, 2] = 0.0  # 60 frames undetected: windows overlapping them lose > 20 %
    seq = seq.replace(keypoints=kp)
    clips, meta, report = make_clips(seq, window=124, stride=12)
    starts = np.arange(0, 400 - 124 + 1, 12)
    overlap = np.clip(np.minimum(starts + 124, 260) - np.maximum(starts, 200), 0, None)
    expected_keep = overlap / 124 <= 0.2 + 1e-12
    assert report.windows_total == starts.size == 24
    assert report.windows_kept == expected_keep.sum() == len(meta) == clips.shape[0]
    assert report.dropped["low_valid_fraction"] == (~expected_keep).sum()
    np.testing.assert_array_equal(meta["clip_start"], starts[expected_keep])
    np.testing.assert_array_equal(clips[0], seq.keypoints[0:124])
    assert list(meta.columns) == list(gaitfeat.preprocessing.META_COLUMNS)
    assert "windows kept" in report.summary()


def test_make_clips_short_sequences_and_labels():
    long_seq = stick_walker(200, video_id="a")
    short_seq = stick_walker(100, video_id="b")
    with pytest.raises(SequenceTooShortError, match="b: 100 frames"):
        make_clips([long_seq, short_seq])
    labels = pd.DataFrame({"video_id": ["a", "b"], "gmfcs": [2, 3], "gdi": [80.0, 70.0]})
    clips, meta, report = make_clips([long_seq, short_seq], on_short="skip", labels=labels)
    assert report.sequences_too_short == ["b"] and report.sequences_used == 1
    assert (meta["gmfcs"] == 2).all() and (meta["gdi"] == 80.0).all()
    with pytest.raises(SequenceTooShortError, match="every sequence"):
        make_clips([short_seq], on_short="skip")
    with pytest.raises(LayoutError, match="mix skeleton layouts"):
        make_clips([long_seq, long_seq.to_layout("coco17")])


def test_preprocess_many_skips_and_reports():
    good = stick_walker(150, video_id="good")
    kp = good.keypoints.copy()
    kp[:, [10, 11, 13, 14]] = np.nan  # no knees or ankles: no leg length
    bad = good.replace(keypoints=kp, video_id="bad")
    with pytest.raises(PoseDataError):
        preprocess_many([good, bad])
    done, skipped = preprocess_many([good, bad], on_error="skip")
    assert [s.video_id for s in done] == ["good"] and "leg length" in skipped["bad"]


def test_messy_input_preprocesses_without_warnings(rng):
    import warnings

    seq = stick_walker(300, turn_at=140)
    kp = seq.keypoints.copy()
    kp[..., :2] += rng.normal(0, 2.0, size=kp[..., :2].shape)
    kp[..., 2] = rng.uniform(0.0, 1.0, size=kp.shape[:2])  # ~20 % below the threshold
    kp[50:70] = np.nan  # nobody detected for 20 frames
    kp[:, BODY25.index("nose")] = np.nan  # a joint never detected
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = preprocess(seq.replace(keypoints=kp), layout="coco17")
        clips, meta, report = make_clips(out, min_valid=0.5)
    assert np.isnan(out.keypoints[52:68, :, 0]).all()  # too long to fill: still missing
    assert np.isnan(out.keypoints[:, COCO17.index("nose"), 0]).all()
    assert out.info["fill_gaps"]["unfilled_gaps"] >= 18
    assert report.windows_kept + report.dropped["low_valid_fraction"] == report.windows_total
    assert np.isfinite(out.keypoints[100:130, COCO17.index("left_knee"), :2]).all()
