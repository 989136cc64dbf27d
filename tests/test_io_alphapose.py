"""AlphaPose and MMPose result files: written here in the tools' exact formats from a known walker, read back."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaitfeat.errors import GaitError, LayoutError, PoseDataError, ReaderError
from gaitfeat.io.alphapose import read_alphapose
from gaitfeat.io.mmpose import read_mmpose
from gaitfeat.layouts import BODY25, HALPE26, map_confidence, map_joints
from gaitfeat.testing import stick_walker

N = 60


@pytest.fixture
def walker(rng):
    seq = stick_walker(N, leg_px=180, origin=(250, 600))
    kp = seq.keypoints.copy()
    kp[..., 2] = rng.uniform(0.3, 0.95, size=kp.shape[:2])
    return seq.replace(keypoints=kp)


def _as(seq, layout):
    """The walker's keypoints ``(T, K, 3)`` in ``layout``; Halpe's head top (absent from BODY_25) above the nose."""
    xy = map_joints(seq.keypoints[..., :2], "body25", layout)
    conf = map_confidence(seq.keypoints[..., 2], "body25", layout)
    if layout == "halpe26":
        xy[:, HALPE26.index("head_top")] = xy[:, HALPE26.index("nose")] - (0.0, 25.0)
        conf[:, HALPE26.index("head_top")] = 0.5
    return np.concatenate([xy, conf[..., None]], axis=-1)


def _wholebody(seq, rng):
    """COCO-WholeBody (133 points): COCO-17, six foot points (17-22), then 110 face and hand points."""
    feet = [BODY25.index(n) for n in ("left_big_toe", "left_small_toe", "left_heel",
                                      "right_big_toe", "right_small_toe", "right_heel")]
    extra = np.concatenate([rng.uniform(0, 500, (N, 110, 2)), rng.uniform(0, 1, (N, 110, 1))], axis=-1)
    return np.concatenate([_as(seq, "coco17"), seq.keypoints[:, feet], extra], axis=1)


def _write_alphapose(path, frames, image=lambda t: f"{t}.jpg"):
    """``alphapose-results.json``: one object per detection, frame by frame (pPose_nms.write_json)."""
    dets = [{"image_id": image(t), "category_id": 1, "keypoints": np.nan_to_num(p).ravel().tolist(),
             "score": 2.7, "box": [10.0, 20.0, 100.0, 300.0], "idx": k}
            for t in sorted(frames) for k, p in enumerate(frames[t])]
    path.write_text(json.dumps(dets))
    return path


def _instance(p):
    p = np.nan_to_num(p)
    return {"keypoints": p[:, :2].tolist(), "keypoint_scores": p[:, 2].tolist(),
            "bbox": [[10.0, 20.0, 110.0, 320.0]], "bbox_score": 0.93}


def _write_mmpose(path, frames, n_frames, *, first=0, meta=None):
    """MMPoseInferencer's video predictions (frame_id from 0), or the demo scripts' wrapper (from 1)."""
    body = [{"frame_id": t + first, "instances": [_instance(p) for p in frames.get(t, [])]} for t in range(n_frames)]
    path.write_text(json.dumps(body if meta is None else {"meta_info": meta, "instance_info": body}))
    return path


def _check_walker(seq, walker, missing=()):
    keep = np.setdiff1d(np.arange(N), missing)
    np.testing.assert_allclose(seq.keypoints[keep], walker.keypoints[keep], atol=1e-4)
    assert np.isnan(seq.keypoints[list(missing), :, :2]).all()
    assert (seq.keypoints[list(missing), :, 2] == 0).all()


# -- AlphaPose -----------------------------------------------------------------


def test_halpe26_becomes_body25_with_missing_frames(tmp_path, walker):
    halpe = _as(walker, "halpe26")
    frames = {t: [halpe[t]] for t in range(N) if t not in (10, 11, 12)}
    seq = read_alphapose(_write_alphapose(tmp_path / "alphapose-results.json", frames), fps=30, patient_id="p7")
    assert seq.layout == "body25" and seq.n_frames == N and seq.patient_id == "p7"
    assert seq.video_id == "alphapose-results"
    _check_walker(seq, walker, missing=(10, 11, 12))
    info = seq.info["read_alphapose"]
    assert info["keypoint_set"] == "halpe26" and info["absent_joints"] == [] and info["frames_with_people"] == N - 3
    assert info["tracks"] == 1 and info["subject_missing_frames"] == 3 and info["first_frame"] == 0


def test_coco17_stays_coco17(tmp_path, walker):
    coco = _as(walker, "coco17")
    seq = read_alphapose(_write_alphapose(tmp_path / "r.json", {t: [coco[t]] for t in range(N)}), fps=30)
    assert seq.layout == "coco17"
    np.testing.assert_allclose(seq.keypoints, walker.to_layout("coco17").keypoints, atol=1e-4)


def test_whole_body_sets_keep_body_and_feet(tmp_path, walker, rng):
    halpe136 = np.concatenate([_as(walker, "halpe26"), rng.uniform(0, 1, (N, 110, 3))], axis=1)
    seq = read_alphapose(_write_alphapose(tmp_path / "h.json", {t: [halpe136[t]] for t in range(N)}), fps=30)
    assert seq.info["read_alphapose"]["keypoint_set"] == "halpe136"
    _check_walker(seq, walker)
    wb = _wholebody(walker, rng)
    seq = read_alphapose(_write_alphapose(tmp_path / "w.json", {t: [wb[t]] for t in range(N)}), fps=30)
    assert seq.layout == "body25" and seq.info["read_alphapose"]["absent_joints"] == []
    # Feet come from points 17-22; neck and mid-hip are derived: midpoints, with the lower score of the pair.
    np.testing.assert_allclose(seq.keypoints[..., :2], walker.keypoints[..., :2], atol=1e-4)
    derived = [BODY25.index("neck"), BODY25.index("mid_hip")]
    others = np.setdiff1d(np.arange(25), derived)
    np.testing.assert_allclose(seq.keypoints[:, others, 2], walker.keypoints[:, others, 2], atol=1e-6)
    pairs = [BODY25.indices("left_shoulder", "right_shoulder"), BODY25.indices("left_hip", "right_hip")]
    for j, (a, b) in zip(derived, pairs):
        lower = np.minimum(walker.keypoints[:, a, 2], walker.keypoints[:, b, 2])
        np.testing.assert_allclose(seq.keypoints[:, j, 2], lower)


@pytest.mark.parametrize(("image", "first"), [
    (lambda t: f"clip_{t + 100:06d}.png", 100),
    (lambda t: t + 7, 7),
    (lambda t: f"{'abcdefghij'[t // 10]}{'abcdefghij'[t % 10]}.jpg", 0),  # no digits: order of appearance
])
def test_frame_numbers_from_image_names(tmp_path, walker, image, first):
    halpe = _as(walker, "halpe26")
    seq = read_alphapose(_write_alphapose(tmp_path / "r.json", {t: [halpe[t]] for t in range(N)}, image), fps=25)
    assert seq.info["read_alphapose"]["first_frame"] == first and seq.n_frames == N
    _check_walker(seq, walker)


def test_tracking_keeps_the_walker_when_an_adult_passes(tmp_path, walker):
    halpe = _as(walker, "halpe26")
    adult = _as(stick_walker(11, leg_px=260, origin=(900, 650), confidence=0.99), "halpe26")
    frames = {t: [halpe[t]] for t in range(N)}
    for k, t in enumerate(range(20, 31)):
        frames[t] = [adult[k], halpe[t]]  # listed first and more confident
    seq = read_alphapose(_write_alphapose(tmp_path / "r.json", frames), fps=30)
    _check_walker(seq, walker)
    info = seq.info["read_alphapose"]
    assert info["multi_person_frames"] == 11 and info["tracks"] == 2 and info["detections"] == N + 11


def test_scores_above_one_are_clipped_and_non_positive_scores_undetected(tmp_path, walker):
    halpe = _as(walker, "halpe26")
    halpe[5, 3, 2] = 1.08  # heatmap maxima exceed 1
    halpe[6, 4, 2] = -0.2  # and fall to 0 or below where nothing is found
    seq = read_alphapose(_write_alphapose(tmp_path / "r.json", {t: [halpe[t]] for t in range(N)}), fps=30)
    info = seq.info["read_alphapose"]
    assert info["scores_above_one"] == 1 and info["undetected_keypoints"] == 1
    assert seq.keypoints[5, BODY25.index("left_ear"), 2] == 1.0
    assert np.isnan(seq.keypoints[6, BODY25.index("right_ear"), 0])


def _detections(tmp_path, walker):
    halpe = _as(walker, "halpe26")
    path = _write_alphapose(tmp_path / "r.json", {t: [halpe[t]] for t in range(10)})
    return path, json.loads(path.read_text())


@pytest.mark.parametrize(("change", "error", "match"), [
    (lambda d: "[" + json.dumps(d)[1:-9], ReaderError, r"r\.json: corrupt JSON \(.* at line 1, column"),
    (lambda d: [dict(x, keypoints=x["keypoints"][:54]) for x in d], LayoutError,
     "r.json: detections have 18 keypoints"),
    (lambda d: d[:5] + [dict(d[5], keypoints=d[5]["keypoints"][:51])], ReaderError,
     r"detection 5 \(image '5.jpg'\): 17 keypoints, the first detection has 26"),
    (lambda d: d[:3] + [dict(d[3], keypoints=[0, 1, "0.5"] + d[3]["keypoints"][3:])], ReaderError,
     r"detection 3 \(image '3.jpg'\): keypoint value 2 is str '0.5', not a number"),
    (lambda d: json.dumps(d).replace(str(d[2]["keypoints"][0]), "NaN", 1), ReaderError,
     r"detection 2 \(image '2.jpg'\): keypoint 0 has a non-finite value"),
    (lambda d: d[:4] + [dict(d[4], category_id=2)], ReaderError, r"detection 4 .*category_id 2 is not 1"),
    (lambda d: [{k: v for k, v in d[0].items() if k != "image_id"}], ReaderError, "detection 0 has no 'image_id'"),
    (lambda d: d + [dict(d[3], image_id="x_3.jpg")], ReaderError, r"two images for frame 3 \('3.jpg' and 'x_3.jpg'\)"),
    (lambda d: d + [dict(d[3], image_id="99999.jpg")], ReaderError, "frame 99999 follows frame 9.*stray"),
    (lambda d: {"0.jpg": {"version": "AlphaPose v0.3", "people": []}}, ReaderError, "--format open/cmu"),
    (lambda d: {"detections": d}, ReaderError, "expected a JSON list of detections"),
    (lambda d: [], ReaderError, r"no detections \(the list is empty\)"),
])
def test_bad_alphapose_files(tmp_path, walker, change, error, match):
    path, dets = _detections(tmp_path, walker)
    new = change(dets)
    path.write_text(new if isinstance(new, str) else json.dumps(new))
    with pytest.raises(error, match=match) as info:
        read_alphapose(path, fps=30)
    if error is ReaderError:
        assert info.value.path == str(path)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"layout": "halpe_27"}, LayoutError, "unknown skeleton layout 'halpe_27'"),
    ({"layout": "coco17"}, LayoutError, "26 keypoints but layout 'coco17' has 17"),
    ({"layout": 17}, ValueError, "layout must be a layout name"),
    ({"max_jump": 0}, ValueError, "max_jump must be a positive finite number"),
    ({"lost_after_s": float("nan")}, ValueError, "lost_after_s"),
    ({"fps": 0}, PoseDataError, "fps"),
])
def test_alphapose_options(tmp_path, walker, kwargs, error, match):
    path, _ = _detections(tmp_path, walker)
    with pytest.raises(error, match=match):
        read_alphapose(path, **{"fps": 30, **kwargs})


def test_missing_file(tmp_path):
    with pytest.raises(ReaderError, match="gone.json"):
        read_alphapose(tmp_path / "gone.json", fps=30)


# -- MMPose --------------------------------------------------------------------


def test_mmpose_inferencer_video_halpe26(tmp_path, walker):
    halpe = _as(walker, "halpe26")
    frames = {t: [halpe[t]] for t in range(N) if t != 30}
    seq = read_mmpose(_write_mmpose(tmp_path / "walk.json", frames, N), fps=30)
    assert seq.layout == "body25" and seq.video_id == "walk"
    _check_walker(seq, walker, missing=(30,))
    info = seq.info["read_mmpose"]
    assert info["first_frame"] == 0 and info["instances"] == N - 1 and info["dataset_name"] is None


def test_mmpose_demo_wrapper_checks_keypoint_names(tmp_path, walker):
    coco = _as(walker, "coco17")
    names = {str(i): n for i, n in enumerate(walker.to_layout("coco17").skeleton.joints)}
    meta = {"dataset_name": "coco", "num_keypoints": 17, "keypoint_id2name": names}
    path = _write_mmpose(tmp_path / "results_walk.json", {t: [coco[t]] for t in range(N)}, N, first=1, meta=meta)
    seq = read_mmpose(path, fps=30)
    assert seq.layout == "coco17" and seq.info["read_mmpose"]["first_frame"] == 1
    assert seq.info["read_mmpose"]["dataset_name"] == "coco"
    np.testing.assert_allclose(seq.keypoints, walker.to_layout("coco17").keypoints, atol=1e-4)
    # A 17-point Human3.6M model is not COCO-17: refused unless the layout is named.
    h36m = ["root", "right_hip", "right_knee", "right_foot", "left_hip", "left_knee", "left_foot", "spine", "thorax",
            "neck_base", "head", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow",
            "right_wrist"]
    meta = {"dataset_name": "h36m", "keypoint_id2name": dict(enumerate(h36m))}
    path = _write_mmpose(tmp_path / "h36m.json", {t: [coco[t]] for t in range(N)}, N, first=1, meta=meta)
    with pytest.raises(ReaderError, match=r"h36m.json: meta_info names keypoint 0 'root', but the 17-point coco17 "
                                          r"set has 'nose' there.*layout="):
        read_mmpose(path, fps=30)
    seq = read_mmpose(path, fps=30, layout="h36m17")
    assert seq.layout == "coco17" and "nose" in seq.info["read_mmpose"]["absent_joints"]


def test_mmpose_single_image_and_wholebody(tmp_path, walker, rng):
    wb = _wholebody(walker, rng)
    path = tmp_path / "frame_0.json"
    path.write_text(json.dumps([_instance(wb[4])]))
    seq = read_mmpose(path, fps=30)
    assert seq.n_frames == 1 and seq.layout == "body25" and seq.info["read_mmpose"]["keypoint_set"] == "coco_wholebody"
    feet = [BODY25.index(n) for n in ("left_heel", "right_big_toe", "right_small_toe")]
    np.testing.assert_allclose(seq.keypoints[0, feet], walker.keypoints[4, feet], atol=1e-4)


def test_mmpose_rtmpose_scores_and_tracking(tmp_path, walker):
    coco = _as(walker, "coco17")
    coco[:, :, 2] *= 1.2  # RTMPose's SimCC scores exceed 1
    adult = _as(stick_walker(8, leg_px=260, origin=(900, 650), confidence=1.0), "coco17")
    frames = {t: [coco[t]] for t in range(N)}
    for k, t in enumerate(range(40, 48)):
        frames[t] = [adult[k], coco[t]]
    seq = read_mmpose(_write_mmpose(tmp_path / "r.json", frames, N), fps=30)
    info = seq.info["read_mmpose"]
    assert info["scores_above_one"] > 0 and info["multi_person_frames"] == 8 and info["tracks"] == 2
    np.testing.assert_allclose(seq.keypoints[..., :2], walker.to_layout("coco17").keypoints[..., :2], atol=1e-4)
    assert seq.keypoints[..., 2].max() == 1.0


def _mm(tmp_path, walker):
    coco = _as(walker, "coco17")
    path = _write_mmpose(tmp_path / "m.json", {t: [coco[t]] for t in range(6)}, 6)
    return path, json.loads(path.read_text())


def _set(frames, t, **changes):
    frames[t]["instances"][0].update(changes)
    return frames


@pytest.mark.parametrize(("change", "error", "match"), [
    (lambda f: json.dumps(f)[:-20], ReaderError, "m.json: corrupt JSON"),
    (lambda f: _set(f, 2, keypoints=[p + [0.1] for p in f[2]["instances"][0]["keypoints"]]), ReaderError,
     r"frame entry 2 \(frame_id 2\), instance 0: keypoint 0 has 3 coordinates; .*3-D pose lifter"),
    (lambda f: f[:3] + [dict(f[3], frame_id=2)], ReaderError, "frame entries 2 and 3 both have frame_id 2"),
    (lambda f: f[:3] + [dict(f[3], frame_id="3")], ReaderError, "frame entry 3: frame_id must be a non-negative"),
    (lambda f: _set(f, 1, keypoint_scores=None), ReaderError,
     r"frame entry 1 .*'keypoint_scores' must be a list of 17"),
    (lambda f: _set(f, 1, keypoint_scores=[0.5] * 16), ReaderError, "must be a list of 17 numbers .*got 16"),
    (lambda f: _set(f, 4, keypoints=[[None, 2.0]] + f[4]["instances"][0]["keypoints"][1:]), ReaderError,
     r"frame entry 4 \(frame_id 4\), instance 0: keypoint 0 has null None, not a number"),
    (lambda f: _set(f, 3, keypoints=f[3]["instances"][0]["keypoints"][:16], keypoint_scores=[0.5] * 16),
     ReaderError, r"frame entry 3 \(frame_id 3\), instance 0: 16 keypoints, the first instance has 17"),
    (lambda f: [dict(x, instances=[]) for x in f], ReaderError, "no person detected in any of the 6 frames"),
    (lambda f: {"predictions": f}, ReaderError, r"without 'instance_info' .*expected a list of frames"),
    (lambda f: [dict(x, instances=[dict(i, keypoints=i["keypoints"] + [[1.0, 2.0]],
                                        keypoint_scores=i["keypoint_scores"] + [0.5]) for i in x["instances"]])
                for x in f], LayoutError, "m.json: detections have 18 keypoints"),
    (lambda f: [{"frame": 0}], ReaderError, r"entry 0 is an object with keys \['frame'\]; expected a list of frames"),
])
def test_bad_mmpose_files(tmp_path, walker, change, error, match):
    path, frames = _mm(tmp_path, walker)
    new = change(frames)
    path.write_text(new if isinstance(new, str) else json.dumps(new))
    with pytest.raises(error, match=match):
        read_mmpose(path, fps=30)


def test_mmpose_confidence_must_be_finite(tmp_path, walker):
    path, frames = _mm(tmp_path, walker)
    path.write_text(json.dumps(_set(frames, 3, keypoint_scores=[float("inf")] + [0.5] * 16)))
    with pytest.raises(ReaderError, match=r"frame entry 3 \(frame_id 3\), instance 0: keypoint 0 has a non-finite"):
        read_mmpose(path, fps=30)


# -- fuzzing: a valid sequence or a GaitError with a message, nothing else ----------------------------


def _mutate(obj, path, value):
    """Replace the element that the index ``path`` leads to (indices wrap) with ``value``."""
    for k in path[:-1]:
        if not isinstance(obj, (list, dict)) or not obj:
            return
        obj = obj[k % len(obj)] if isinstance(obj, list) else obj[sorted(obj)[k % len(obj)]]
    if isinstance(obj, list) and obj:
        obj[path[-1] % len(obj)] = value
    elif isinstance(obj, dict) and obj:
        obj[sorted(obj)[path[-1] % len(obj)]] = value


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**30), st.floats(), st.text(max_size=4),
                    st.just([]), st.just({}), st.just([[1.0, 2.0, 3.0]]))


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(edits=st.lists(st.tuples(st.lists(st.integers(0, 60), min_size=1, max_size=5), _VALUES), max_size=4),
       mmpose=st.booleans())
def test_fuzzed_files_read_or_fail_with_a_gait_error(tmp_path_factory, edits, mmpose):
    rng = np.random.default_rng(1)
    if mmpose:
        data = [{"frame_id": t, "instances": [{"keypoints": rng.uniform(0, 500, (17, 2)).tolist(),
                                               "keypoint_scores": rng.uniform(0, 1.2, 17).tolist()}] * 2}
                for t in range(5)]
    else:
        data = [{"image_id": f"{t}.jpg", "category_id": 1, "keypoints": rng.uniform(0, 1, 78).tolist(), "score": 2.0}
                for t in range(5) for _ in range(2)]
    for path, value in edits:
        _mutate(data, path, value)
    path = tmp_path_factory.mktemp("fuzz") / "r.json"
    path.write_text(json.dumps(data))
    try:
        (read_mmpose if mmpose else read_alphapose)(path, fps=30)
    except GaitError as exc:
        assert str(exc).strip()


def test_a_walker_lost_for_longer_than_a_second_is_rejoined(tmp_path, walker):
    """One person hidden for 1.3 s comes back as a new track; it is the same walker and is taken back."""
    halpe = _as(walker, "halpe26")
    gap = range(15, 55)  # 40 frames at 30 fps
    frames = {t: [halpe[t]] for t in range(N) if t not in gap}
    seq = read_alphapose(_write_alphapose(tmp_path / "r.json", frames), fps=30)
    info = seq.info["read_alphapose"]
    assert info["tracks"] == 2 and info["rejoined_tracks"] == 1 and info["subject_missing_frames"] == len(gap)
    _check_walker(seq, walker, missing=tuple(gap))


def test_someone_else_in_the_gap_is_not_rejoined(tmp_path, walker):
    """While the walker is hidden, a bigger adult far away is seen alone: not the walker, never merged."""
    halpe = _as(walker, "halpe26")
    adult = _as(stick_walker(N, leg_px=300, origin=(1500, 650), confidence=0.5), "halpe26")
    gap = range(15, 45)
    frames = {t: [halpe[t]] for t in range(N) if t not in gap}
    for t in range(20, 30):
        frames[t] = [adult[t]]
    seq = read_alphapose(_write_alphapose(tmp_path / "r.json", frames), fps=30)
    info = seq.info["read_alphapose"]
    assert info["rejoined_tracks"] == 1 and info["other_people_frames"] == 10  # the walker's halves, not the adult
    _check_walker(seq, walker, missing=tuple(gap))
