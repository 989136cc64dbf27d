"""MediaPipe Pose landmark files (wide CSV, long CSV, JSON) written from a known walker and read back."""

import csv
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaitfeat.errors import GaitError, PoseDataError, ReaderError
from gaitfeat.io.mediapipe import NORMALISED_SCALE, read_mediapipe
from gaitfeat.layouts import BODY25, MEDIAPIPE33, map_confidence, map_joints
from gaitfeat.pose3d import PoseSequence3D
from gaitfeat.testing import stick_walker

N = 50
W, H = 1280, 720
# MediaPipe's names (the layout stores mouth_left as left_mouth so that sides pair).
MP_NAMES = [{"left_mouth": "mouth_left", "right_mouth": "mouth_right"}.get(n, n) for n in MEDIAPIPE33.joints]
SMALL_TOES = [BODY25.index("left_small_toe"), BODY25.index("right_small_toe")]
BODY = np.setdiff1d(np.arange(25), SMALL_TOES)


@pytest.fixture
def walker(rng):
    seq = stick_walker(N, leg_px=200, origin=(300, 450))
    kp = seq.keypoints.copy()
    kp[..., 2] = rng.uniform(0.3, 0.95, size=kp.shape[:2])
    return seq.replace(keypoints=kp)


def _landmarks(seq, rng):
    """``(T, 33, 5)``: x, y normalised by the image size, z, visibility, presence, as MediaPipe gives them.

    BODY_25 lacks MediaPipe's finer face and hand points: they are placed at their parent landmark; the
    "foot index" is BODY_25's big toe.
    """
    xy = map_joints(seq.keypoints[..., :2], "body25", "mediapipe33")
    vis = map_confidence(seq.keypoints[..., 2], "body25", "mediapipe33")
    for side in ("left", "right"):
        j, b = MEDIAPIPE33.index(f"{side}_foot_index"), BODY25.index(f"{side}_big_toe")
        xy[:, j], vis[:, j] = seq.keypoints[:, b, :2], seq.keypoints[:, b, 2]
    depth = {0: 0}
    for j in range(1, 33):
        p, d = j, 0
        while p != 0:
            p, d = MEDIAPIPE33.parents[p], d + 1
        depth[j] = d
    for j in sorted(range(33), key=depth.get):
        if np.isnan(xy[:, j]).all():
            xy[:, j], vis[:, j] = xy[:, MEDIAPIPE33.parents[j]] + 2.0, 0.6
    z = rng.normal(0, 0.1, size=vis.shape)
    return np.stack([xy[..., 0] / W, xy[..., 1] / H, z, vis, np.full_like(vis, 0.99)], axis=-1)


def _expected(walker):
    kp = walker.keypoints.copy()
    for j, pair in ((BODY25.index("neck"), ("left_shoulder", "right_shoulder")),
                    (BODY25.index("mid_hip"), ("left_hip", "right_hip"))):
        kp[:, j, 2] = walker.keypoints[:, list(BODY25.indices(*pair)), 2].min(axis=1)
    return kp


def _check(seq, walker, missing=(), scale=(W, H)):
    assert seq.layout == "body25" and seq.n_frames == N
    keep = np.setdiff1d(np.arange(N), missing)
    expected = _expected(walker)
    expected[..., 0] *= scale[0] / W
    expected[..., 1] *= scale[1] / H
    np.testing.assert_allclose(seq.keypoints[np.ix_(keep, BODY)], expected[np.ix_(keep, BODY)], rtol=1e-5, atol=1e-3)
    assert np.isnan(seq.keypoints[:, SMALL_TOES, 0]).all() and (seq.keypoints[:, SMALL_TOES, 2] == 0).all()
    assert np.isnan(seq.keypoints[list(missing), :, 0]).all()
    assert seq.info["read_mediapipe"]["absent_joints"] == ["left_small_toe", "right_small_toe"]


def _column(style, j, f):
    return {"named": f"{MP_NAMES[j].upper()}_{f}", "x0": f"{f[0]}{j}", "x1": f"{f[0]}{j + 1}",
            "landmark": f"landmark_{j}_{f}"}[style]


def _write_wide(path, lm, style="named", *, frame=True, empty=(), fields=("x", "y", "z", "visibility")):
    index = {"x": 0, "y": 1, "z": 2, "visibility": 3, "presence": 4}
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow((["frame"] if frame else []) + [_column(style, j, f) for j in range(33) for f in fields])
        for t in range(len(lm)):
            cells = [""] * (33 * len(fields)) if t in empty else [f"{lm[t, j, index[f]]:.9g}" for j in range(33)
                                                                   for f in fields]
            out.writerow(([t] if frame else []) + cells)
    return path


def _write_long(path, lm, empty=()):
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["frame_id", "landmark_id", "landmark_name", "x", "y", "z", "visibility"])
        for t in range(len(lm)):
            if t not in empty:
                for j in range(33):
                    out.writerow([t, j, MP_NAMES[j].upper(), *(f"{v:.9g}" for v in lm[t, j, :4])])
    return path


def _pose(p):
    return [dict(zip(("x", "y", "z", "visibility", "presence"), map(float, row))) for row in p]


def _write_json(path, lm, *, key="landmarks", empty=(), wrap=None, extra=None):
    frames = [{"frame": t, "timestamp_ms": 33 * t, key: None if t in empty else _pose(lm[t])} for t in range(len(lm))]
    if extra:
        for t, people in extra.items():
            frames[t][key] = [_pose(p) for p in people]
    path.write_text(json.dumps(frames if wrap is None else {**wrap, "frames": frames}))
    return path


@pytest.mark.parametrize("style", ["named", "x0", "x1", "landmark"])
def test_wide_csv(tmp_path, walker, rng, style):
    lm = _landmarks(walker, rng)
    path = _write_wide(tmp_path / "walk.csv", lm, style, frame=style != "x1", empty=(7, 8))
    seq = read_mediapipe(path, fps=30, image_size=(W, H), patient_id="p3")
    _check(seq, walker, missing=(7, 8))
    info = seq.info["read_mediapipe"]
    assert info["format"].startswith("csv-wide") and info["empty_frames"] == 2 and info["aspect_corrected"]
    assert seq.video_id == "walk" and seq.patient_id == "p3"


def test_without_image_size_normalised_units_are_scaled(tmp_path, walker, rng):
    path = _write_wide(tmp_path / "w.csv", _landmarks(walker, rng), fields=("x", "y", "visibility"))
    seq = read_mediapipe(path, fps=30)
    _check(seq, walker, scale=(NORMALISED_SCALE, NORMALISED_SCALE))
    info = seq.info["read_mediapipe"]
    assert info["scale_px_per_unit"] == NORMALISED_SCALE and not info["aspect_corrected"]


def test_visibility_optional(tmp_path, walker, rng):
    path = _write_wide(tmp_path / "w.csv", _landmarks(walker, rng), fields=("x", "y", "z"))
    seq = read_mediapipe(path, fps=30, image_size=(W, H))
    assert (seq.keypoints[:, BODY, 2] == 1).all() and not seq.info["read_mediapipe"]["visibility"]


def test_long_csv(tmp_path, walker, rng):
    seq = read_mediapipe(_write_long(tmp_path / "l.csv", _landmarks(walker, rng), empty=(20,)), 30,
                         image_size=(W, H))
    _check(seq, walker, missing=(20,))  # a frame with no rows is a gap: missing
    assert seq.info["read_mediapipe"]["format"] == "csv-long" and seq.info["read_mediapipe"]["gap_frames"] == 1


@pytest.mark.parametrize("form", ["list", "sized", "proto"])
def test_json(tmp_path, walker, rng, form):
    lm = _landmarks(walker, rng)
    if form == "proto":  # MessageToDict of the NormalizedLandmarkList proto
        frames = [{"frame_index": t, "pose_landmarks": None if t == 3 else {"landmark": _pose(lm[t])}}
                  for t in range(N)]
        (tmp_path / "p.json").write_text(json.dumps(frames))
        path = tmp_path / "p.json"
    else:
        wrap = {"width": W, "height": H, "fps": 30.0} if form == "sized" else None
        path = _write_json(tmp_path / "p.json", lm, empty=(3,), wrap=wrap)
    seq = read_mediapipe(path, 30, image_size=None if form == "sized" else (W, H))
    _check(seq, walker, missing=(3,))
    assert seq.info["read_mediapipe"]["image_size"] == [W, H]


def test_json_several_poses_keeps_the_walker(tmp_path, walker, rng):
    lm = _landmarks(walker, rng)
    adult = _landmarks(stick_walker(10, leg_px=300, origin=(1000, 400), confidence=0.99), rng)
    extra = {t: [adult[k], lm[t]] for k, t in enumerate(range(15, 25))}
    seq = read_mediapipe(_write_json(tmp_path / "m.json", lm, extra=extra), 30, image_size=(W, H))
    _check(seq, walker)
    assert seq.info["read_mediapipe"]["multi_person_frames"] == 10 and seq.info["read_mediapipe"]["tracks"] == 2


def _world(walker, rng):
    """World landmarks: metres, origin at the hip midpoint, y down."""
    lm = _landmarks(walker, rng)
    hips = 0.5 * (lm[:, 23:24, :2] + lm[:, 24:25, :2])
    out = lm.copy()
    out[..., 0] = (lm[..., 0] - hips[..., 0]) * W / 250.0  # 250 px per metre
    out[..., 1] = (lm[..., 1] - hips[..., 1]) * H / 250.0
    return out


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_world_landmarks(tmp_path, walker, rng, fmt):
    world, image = _world(walker, rng), _landmarks(walker, rng)
    if fmt == "json":  # a frame holding both, as MediaPipe returns them
        frames = [{"frame": t, "pose_landmarks": _pose(image[t]),
                   "pose_world_landmarks": None if t == 9 else _pose(world[t])} for t in range(N)]
        path = tmp_path / "w.json"
        path.write_text(json.dumps(frames))
        _check(read_mediapipe(path, 30, image_size=(W, H)), walker)
    else:
        path = _write_wide(tmp_path / "w.csv", world, "x0", empty=(9,))
    seq = read_mediapipe(path, 30, coordinates="world")
    assert isinstance(seq, PoseSequence3D) and seq.layout == "mediapipe33" and seq.units == "m"
    np.testing.assert_allclose(seq.vertical, [0, -1, 0])
    keep = np.setdiff1d(np.arange(N), [9])
    np.testing.assert_allclose(seq.positions[keep], world[keep, :, :3], atol=1e-6)
    np.testing.assert_allclose(seq.confidence[keep], world[keep, :, 3], atol=1e-6)
    assert np.isnan(seq.positions[9]).all() and (seq.confidence[9] == 0).all()


def test_coordinates_that_do_not_fit_are_refused(tmp_path, walker, rng):
    world = _write_wide(tmp_path / "world.csv", _world(walker, rng))
    with pytest.raises(ReaderError, match="world.csv: the hip midpoint is at the origin .*coordinates='world'"):
        read_mediapipe(world, 30)
    image = _write_wide(tmp_path / "image.csv", _landmarks(walker, rng))
    with pytest.raises(ReaderError, match="image.csv: the hip midpoint is .* from the origin .*coordinates='image'"):
        read_mediapipe(image, 30, coordinates="world")
    px = _landmarks(walker, rng)
    px[..., 0] *= W
    with pytest.raises(ReaderError, match=r"px.csv, line \d+: coordinate .* far outside .*normalised"):
        read_mediapipe(_write_wide(tmp_path / "px.csv", px), 30)


def _lines(path):
    return path.read_text().splitlines()


def _edit(path, line, old, new):
    lines = _lines(path)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("\n".join(lines) + "\n")


def _cells(path, line, cells):
    lines = _lines(path)
    row = lines[line - 1].split(",")
    for c, v in cells.items():
        row[c] = v
    lines[line - 1] = ",".join(row)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda p: _edit(p, 6, ",", ",,"), r"w.csv, line 6: 134 values but the header has 133 columns"),
    (lambda p: _cells(p, 9, {5: "abc"}), r"w.csv, line 9: column 'LEFT_EYE_INNER_x': 'abc' is not a finite number"),
    (lambda p: _cells(p, 4, {4: "1.5"}), r"w.csv, line 4: visibility 1.5 of landmark 'nose' outside \[0, 1\]"),
    (lambda p: _cells(p, 12, {1: "", 2: ""}), r"w.csv, line 12: landmarks missing: nose \(1 of 33\)"),
    (lambda p: _cells(p, 7, {0: "3"}), r"w.csv, line 7: frame 3 appears twice \(also line 5\)"),
    (lambda p: _cells(p, 7, {0: "2.5"}), r"w.csv, line 7: frame number 2.5 is not a non-negative integer"),
    (lambda p: _cells(p, 1, {1: "NOSE_q"}), r"w.csv, line 1: unknown columns \['NOSE_q'\]; expected a wide CSV"),
    (lambda p: _cells(p, 1, {129: "time_s"}), r"w.csv, line 1: no x column for landmarks right_foot_index \(1 of 33\)"),
    (lambda p: p.write_text("\n".join(_lines(p)[1:]) + "\n"), r"w.csv, line 1: no header line with MediaPipe"),
    (lambda p: p.write_text(_lines(p)[0] + "\n"), r"w.csv: no frames"),
    (lambda p: p.write_text("class," + ",".join(f"{f}{j}" for j in range(1, 502) for f in "xyzv") + "\n"),
     r"w.csv, line 1: unknown columns \['class'\]"),
    (lambda p: p.write_text(",".join(f"{f}{j}" for j in range(1, 502) for f in "xyzv") + "\n"),
     r"w.csv, line 1: landmark numbers 1-501 .* not MediaPipe Pose's 33 landmarks"),
    (lambda p: p.write_bytes(b"\xff\xfe" + p.read_bytes()), "w.csv: not a UTF-8 text file"),
])
def test_bad_wide_csv(tmp_path, walker, rng, mutate, match):
    path = _write_wide(tmp_path / "w.csv", _landmarks(walker, rng), fields=("x", "y", "z", "visibility"))
    mutate(path)
    with pytest.raises(ReaderError, match=match) as info:
        read_mediapipe(path, 30)
    assert info.value.path == str(path)


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda p: _cells(p, 40, {1: "4", 2: "RIGHT_EYE_INNER"}),
     r"l.csv, line 40: frame 1, landmark 'right_eye_inner' appears twice \(also line 39\)"),
    (lambda p: _cells(p, 40, {1: "33"}), r"l.csv, line 40: \['33', .*is not one MediaPipe Pose landmark"),
    (lambda p: _cells(p, 40, {2: "LEFT_EYE"}),
     r"l.csv, line 40: \['5', 'LEFT_EYE'\] is not one MediaPipe Pose landmark"),
    (lambda p: p.write_text("\n".join(l for k, l in enumerate(_lines(p)) if k != 40) + "\n"),
     r"l.csv, frame 1 \(from line 35\): landmarks missing: right_eye_outer \(1 of 33\)"),
    (lambda p: p.write_text("\n".join(l.split(",", 1)[1] for l in _lines(p)) + "\n"),
     r"l.csv, line 1: a CSV with one row per landmark needs a frame column"),
])
def test_bad_long_csv(tmp_path, walker, rng, mutate, match):
    path = _write_long(tmp_path / "l.csv", _landmarks(walker, rng))
    mutate(path)
    with pytest.raises(ReaderError, match=match):
        read_mediapipe(path, 30)


def _set(frames, t, j, **changes):
    frames[t]["landmarks"][j].update(changes)
    return frames


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda f: json.dumps(f)[:-30], r"j.json: corrupt JSON \(.* at line 1, column \d+\)"),
    (lambda f: [dict(x, landmarks=x["landmarks"][:32]) if t == 4 else x for t, x in enumerate(f)],
     r"j.json, frame entry 4: expected 33 landmarks, got 32 landmarks"),
    (lambda f: _set(f, 6, 11, y=None), r"j.json, frame entry 6, landmark 11: y is None, not a number"),
    (lambda f: _set(f, 6, 2, z="0.1"), r"j.json, frame entry 6, landmark 2: z is '0.1', not a number"),
    (lambda f: _set(f, 8, 0, visibility=-0.1), r"j.json, frame entry 8: visibility -0.1 of landmark 'nose'"),
    (lambda f: _set(f, 8, 0, presence=2), r"j.json, frame entry 8: presence 2 of landmark 'nose'"),
    (lambda f: [dict(x, frame=3) if t == 5 else x for t, x in enumerate(f)],
     "j.json: frame entry 3 and frame entry 5 are both frame 3"),
    (lambda f: [{"frame": 0, "keypoints": []}], r"j.json: frame entry 0 has no 'pose_landmarks' or 'landmarks'"),
    (lambda f: {"poses": f}, r"j.json: not a MediaPipe landmarks file \(got a JSON dict\); expected a wide CSV"),
    (lambda f: [dict(x, landmarks=None) for x in f], r"j.json: no person in any of the 50 frames"),
    (lambda f: json.dumps(f).replace('"x": 0.', '"x": NaN, "_": 0.', 1), r"j.json, frame entry 0: non-finite"),
])
def test_bad_json(tmp_path, walker, rng, mutate, match):
    path = _write_json(tmp_path / "j.json", _landmarks(walker, rng))
    new = mutate(json.loads(path.read_text()))
    path.write_text(new if isinstance(new, str) else json.dumps(new))
    with pytest.raises(ReaderError, match=match):
        read_mediapipe(path, 30)


def test_world_json_without_world_landmarks(tmp_path, walker, rng):
    frames = [{"frame": t, "pose_landmarks": _pose(p)} for t, p in enumerate(_landmarks(walker, rng))]
    (tmp_path / "i.json").write_text(json.dumps(frames))
    with pytest.raises(ReaderError, match="frame entry 0 has no 'pose_world_landmarks' or 'world_landmarks'"):
        read_mediapipe(tmp_path / "i.json", 30, coordinates="world")


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"coordinates": "pixels"}, ValueError, "coordinates must be 'image' or 'world'"),
    ({"image_size": (1280,)}, ValueError, "image_size must be"),
    ({"image_size": (1280, -1)}, ValueError, "image_size must be"),
    ({"image_size": (1280, 720), "coordinates": "world"}, ValueError, "image_size must be .*for image coordinates"),
    ({"fps": float("inf")}, PoseDataError, "fps"),
])
def test_options(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        read_mediapipe(tmp_path / "none.csv", **{"fps": 30, **kwargs})


# -- fuzzing: a valid sequence or a GaitError with a message, nothing else ----------------------------

_CELLS = st.sampled_from(["", "nan", "-1", "2", "1e999", "abc", "0", "5", "1000", "0.5", "33", "1.5", "NOSE"])


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 140), _CELLS), max_size=6),
       long=st.booleans(), cut=st.integers(0, 40), world=st.booleans())
def test_fuzzed_csv_reads_or_fails_with_a_gait_error(tmp_path_factory, edits, long, cut, world):
    lm = np.random.default_rng(2).uniform(0.2, 0.8, (6, 33, 5))
    folder = tmp_path_factory.mktemp("fuzz")
    path = _write_long(folder / "l.csv", lm) if long else _write_wide(folder / "w.csv", lm, "x0")
    rows = [line.split(",") for line in _lines(path)]
    for r, c, value in edits:
        row = rows[r % len(rows)]
        row[c % len(row)] = value
    text = "\n".join(",".join(row) for row in rows)
    path.write_text(text[:len(text) - cut])
    try:
        read_mediapipe(path, 30, coordinates="world" if world else "image")
    except GaitError as exc:
        assert str(exc).strip()


def test_an_unusable_image_size_in_json_is_refused(tmp_path):
    from gaitfeat.io.mediapipe import read_mediapipe as _read

    frame = {"frame": 0, "landmarks": [{"x": 0.5, "y": 0.5, "z": 0.0, "visibility": 0.9}] * 33}
    path = tmp_path / "sized.json"
    path.write_text(json.dumps({"frames": [frame] * 5, "width": 0, "height": 480}))
    with pytest.raises(ReaderError, match=r"sized\.json: width/height"):
        _read(path, 30.0)
