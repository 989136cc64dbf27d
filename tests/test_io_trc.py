"""OpenSim .trc marker files: real writers' layouts, round trips, and every malformed header or row."""

from pathlib import Path

import numpy as np
import pytest

from gaitfeat.errors import LayoutError, PoseDataError, ReaderError
from gaitfeat.io.trc import read_trc, write_trc
from gaitfeat.layouts import ALL_LAYOUTS
from gaitfeat.layouts.markers import plan_markers
from gaitfeat.pose3d import PoseSequence3D
from gaitfeat.testing import stick_walker_3d

DATA = Path(__file__).parent / "data"


def _trc(names, rows, *, rate="60.0", units="m", n_frames=None, n_markers=None, blank=True, sep="\t"):
    """A TRC text in OpenSim's layout; rows are lists of numbers or strings (Frame# and Time included)."""
    n_frames = len(rows) if n_frames is None else n_frames
    n_markers = len(names) if n_markers is None else n_markers
    lines = [
        "PathFileType\t4\t(X/Y/Z)\tx.trc",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate}\t{rate}\t{n_frames}\t{n_markers}\t{units}\t{rate}\t1\t{n_frames}",
        "Frame#\tTime\t" + "".join(f"{n}\t\t\t" for n in names),
        "\t\t" + "".join(f"X{i}\tY{i}\tZ{i}\t" for i in range(1, len(names) + 1)),
    ]
    if blank:
        lines.append("")
    lines += [sep.join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


GAIT = ["RShoulder", "LShoulder", "RHip", "LHip", "RKnee", "LKnee", "RAnkle", "LAnkle"]


def _rows(n_rows, n_markers, fps=60.0, first=1):
    rng = np.random.default_rng(0)
    return [[first + i, (first - 1 + i) / fps, *np.round(rng.uniform(0.1, 1.5, 3 * n_markers), 6)] for i in range(n_rows)]


def _write(tmp_path, text, name="walk.trc"):
    path = tmp_path / name
    path.write_text(text)
    return path


# -- real writers' files ---------------------------------------------------------


def test_opencap_file():
    seq = read_trc(DATA / "opencap_walk.trc")
    rep = seq.info["read_trc"]
    assert isinstance(seq, PoseSequence3D)
    assert seq.fps == 60.0 and seq.units == "m" and seq.layout == "body25" and seq.n_frames == 4
    np.testing.assert_allclose(seq.vertical, [0, 1, 0])
    assert seq.video_id == "opencap_walk"
    lay = seq.skeleton
    # Video keypoints win over the augmented markers for the same joint.
    assert rep["joint_sources"]["right_knee"] == "RKnee" and rep["joint_sources"]["right_hip"] == "RHip"
    assert rep["joint_sources"]["mid_hip"] == "midHip"
    np.testing.assert_allclose(seq.positions[1, lay.index("right_knee")], [0.02 + 0.02, 0.52, 0.1], atol=1e-7)
    # The 'nan' LKnee in row 3 is a missing joint with confidence 0, not an error.
    k = lay.index("left_knee")
    assert np.isnan(seq.positions[2, k]).all() and seq.confidence[2, k] == 0 and seq.confidence[1, k] == 1
    assert rep["missing_values"] == 1 + 4 * len(rep["absent_joints"])
    assert set(rep["absent_joints"]) == {"nose", "right_eye", "left_eye", "right_ear", "left_ear", "left_small_toe",
                                         "right_small_toe", "right_elbow", "left_elbow", "right_wrist", "left_wrist"}
    assert np.isnan(seq.positions[:, lay.index("nose")]).all()
    assert "r.ASIS_study" in rep["unused_markers"] and "regression" in rep["unused_markers"]["r.ASIS_study"]
    assert "RKnee" in rep["unused_markers"]["r_knee_study"]
    assert rep["ignored_markers"] == []


def test_opencap_augmented_markers_give_documented_joint_centres(tmp_path):
    names = ["RShoulder", "LShoulder", "RHJC_study", "LHJC_study", "r_knee_study", "r_mknee_study",
             "L_knee_study", "L_mknee_study", "r_ankle_study", "r_mankle_study", "L_ankle_study", "L_mankle_study",
             "r_calc_study", "r_toe_study", "Sacrum"]
    rows = _rows(3, len(names))
    seq = read_trc(_write(tmp_path, _trc(names, rows)))
    rep = seq.info["read_trc"]
    values = np.array([r[2:] for r in rows], float).reshape(3, len(names), 3)
    lay = seq.skeleton
    col = {n: i for i, n in enumerate(names)}
    np.testing.assert_allclose(seq.positions[:, lay.index("right_knee")],
                               (values[:, col["r_knee_study"]] + values[:, col["r_mknee_study"]]) / 2)
    np.testing.assert_allclose(seq.positions[:, lay.index("right_hip")], values[:, col["RHJC_study"]])
    np.testing.assert_allclose(seq.positions[:, lay.index("right_heel")], values[:, col["r_calc_study"]])
    # mid_hip and neck are the documented midpoints (DERIVED), said so in the report.
    np.testing.assert_allclose(seq.positions[:, lay.index("mid_hip")],
                               (values[:, col["RHJC_study"]] + values[:, col["LHJC_study"]]) / 2)
    assert "derived" in rep["joint_sources"]["mid_hip"] and "derived" in rep["joint_sources"]["neck"]
    assert rep["joint_sources"]["left_ankle"] == "midpoint of L_ankle_study and L_mankle_study"
    # The forefoot marker is not a toe, the unknown marker is listed.
    assert "right_big_toe" in rep["absent_joints"] and "r_toe_study" in rep["unused_markers"]
    assert rep["ignored_markers"] == ["Sacrum"]


def test_pose2sim_file(tmp_path):
    # Pose2Sim: no blank line, marker line ends with three tabs, missing values as empty fields,
    # frame numbers from the video (here 120...), 'Hip' and 'CHip', BlazePose's 'Lknee'.
    names = ["CHip", "RHip", "RKnee", "RAnkle", "LHip", "Lknee", "LAnkle", "Neck", "Head", "RShoulder", "LShoulder", "Hip"]
    rows = _rows(5, len(names), fps=30.0, first=120)
    rows[1][2 + 3 * 5: 5 + 3 * 5] = ["", "", ""]
    text = _trc(names, rows, rate="30", blank=False)
    seq = read_trc(_write(tmp_path, text))
    rep = seq.info["read_trc"]
    lay = seq.skeleton
    assert seq.fps == 30.0 and seq.n_frames == 5 and seq.layout == "body25"
    assert rep["joint_sources"]["left_knee"] == "Lknee" and rep["joint_sources"]["mid_hip"] == "CHip"
    assert np.isnan(seq.positions[1, lay.index("left_knee")]).all()
    assert rep["unused_markers"]["Hip"] == "mid_hip is taken from CHip"
    assert "Head" in rep["unused_markers"]  # head top: not a BODY_25 joint
    assert read_trc(tmp_path / "walk.trc", layout="halpe26").info["read_trc"]["joint_sources"]["head_top"] == "Head"


def test_zero_fill_is_missing_but_one_frame_at_origin_is_kept(tmp_path):
    rows = _rows(6, len(GAIT))
    for i in (2, 3):  # two consecutive rows at exactly (0, 0, 0): Pose2Sim's zero fill
        rows[i][2:5] = [0.0, 0.0, 0.0]
    rows[0][5:8] = [0.0, 0.0, 0.0]  # one row at the origin: a measurement
    seq = read_trc(_write(tmp_path, _trc(GAIT, rows)))
    rs, ls = seq.skeleton.indices("right_shoulder", "left_shoulder")
    assert np.isnan(seq.positions[[2, 3], rs]).all() and not np.isnan(seq.positions[[0, 1, 4, 5], rs]).any()
    np.testing.assert_array_equal(seq.positions[0, ls], [0, 0, 0])
    assert seq.info["read_trc"]["zero_markers"] == 2


def test_time_gap_becomes_missing_frames(tmp_path):
    rows = _rows(6, len(GAIT))
    del rows[2:4]
    seq = read_trc(_write(tmp_path, _trc(GAIT, rows)))
    assert seq.n_frames == 6 and seq.info["read_trc"]["gap_frames"] == 2
    shoulders = list(seq.skeleton.indices("right_shoulder", "left_shoulder"))
    assert np.isnan(seq.positions[2:4]).all() and not np.isnan(seq.positions[4, shoulders]).any()


def test_units_mm_crlf_and_vertical_override(tmp_path):
    rows = [[r[0], r[1], *(1000.0 * np.asarray(r[2:]))] for r in _rows(3, len(GAIT))]  # a body in mm
    text = _trc(GAIT, rows, units="mm").replace("\n", "\r\n")
    seq = read_trc(_write(tmp_path, text), vertical=(0, 0, 2))
    assert seq.units == "mm"
    np.testing.assert_allclose(seq.vertical, [0, 0, 1])
    assert read_trc(tmp_path / "walk.trc", vertical=None).vertical is None


# -- round trips -----------------------------------------------------------------


@pytest.mark.parametrize("layout", sorted(ALL_LAYOUTS))
@pytest.mark.parametrize("names", [None, "openpose"])
def test_round_trip_every_layout(tmp_path, layout, names):
    seq = stick_walker_3d(40).to_layout(layout)
    pos = seq.positions.copy()
    pos[5, 0] = np.nan  # a missing joint survives the trip
    seq = seq.replace(positions=pos)
    back = read_trc(write_trc(tmp_path / "rt.trc", seq, marker_names=names))
    assert back.layout == seq.layout and back.fps == seq.fps and back.units == seq.units
    np.testing.assert_array_equal(back.positions, seq.positions)
    np.testing.assert_array_equal(back.missing_mask(), seq.missing_mask())
    np.testing.assert_allclose(back.vertical, [0, 1, 0])


def test_round_trip_mm_odd_fps_and_custom_names(tmp_path):
    seq = stick_walker_3d(30, fps=29.97, units="mm")
    back = read_trc(write_trc(tmp_path / "mm.trc", seq, marker_names={"right_knee": "RKnee", "mid_hip": "CHip"}))
    assert back.units == "mm" and back.fps == 29.97
    np.testing.assert_array_equal(back.positions, seq.positions)
    header = (tmp_path / "mm.trc").read_text().splitlines()
    assert header[0].startswith("PathFileType\t4\t(X/Y/Z)") and header[5] == ""
    assert "\tRKnee\t\t\t" in header[3] and "\tCHip\t\t\t" in header[3]


def test_write_rotates_to_y_up(tmp_path):
    seq = stick_walker_3d(20)
    z_up = seq.replace(positions=seq.positions[..., [0, 2, 1]] * [1, -1, 1], vertical=(0, 0, 1))
    back = read_trc(write_trc(tmp_path / "z.trc", z_up))
    np.testing.assert_allclose(back.positions, seq.positions, atol=1e-12)


def test_write_errors(tmp_path):
    seq = stick_walker_3d(5)
    with pytest.raises(TypeError, match="PoseSequence3D"):
        write_trc(tmp_path / "a.trc", seq.positions)
    with pytest.raises(ValueError, match="3 marker names for the 25 joints"):
        write_trc(tmp_path / "a.trc", seq, marker_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="without blanks"):
        write_trc(tmp_path / "a.trc", seq, marker_names={"nose": "my nose"})
    with pytest.raises(ValueError, match="duplicate marker names"):
        write_trc(tmp_path / "a.trc", seq, marker_names={"nose": "neck"})
    with pytest.raises(ValueError, match="lacks"):
        write_trc(tmp_path / "a.trc", seq, marker_names={"spine": "T8"})


# -- malformed files ---------------------------------------------------------------


def _good(**kw):
    return _trc(GAIT, _rows(4, len(GAIT)), **kw)


def _replace_line(text, number, new):
    lines = text.split("\n")
    lines[number - 1] = new
    return "\n".join(lines)


BAD = [
    ("", "line 1: missing"),
    ("PathFileType\t4\t(X/Y/Z)\tx.trc\nDataRate\tNumFrames\n", "line 3: missing"),
    (_replace_line(_good(), 1, "Marker data export"), "line 1: does not start with 'PathFileType'"),
    (_replace_line(_good(), 2, "DataRate\tCameraRate\tNumFrames\tUnits"), r"line 2: .*lack \['NumMarkers'\]"),
    (_replace_line(_good(), 3, "60\t60\t4\t8\tm"), "line 3: 5 header values for the 8 keys"),
    (_good(units="cm"), "line 3: Units 'cm' is not 'm' or 'mm'"),
    (_good(rate="fast"), "line 3: DataRate 'fast' is not a number"),
    (_good(rate="0.1"), "line 3: DataRate.*outside"),
    (_good(n_markers="eight"), r"line 3 \(NumMarkers\): 'eight' is not a whole number"),
    (_good(n_markers=9), "line 4: 8 marker names but line 3 announces NumMarkers 9"),
    (_trc(["RHip", "RHip", *GAIT[2:]], _rows(4, len(GAIT))), "line 4: marker name 'RHip' appears twice"),
    (_replace_line(_good(), 4, "Frame\tT\t" + "\t\t\t".join(GAIT)), "line 4: expected 'Frame#' and 'Time'"),
    (_replace_line(_good(), 5, "\t\tX1\tY1\tZ1"), r"line 5: 3 coordinate labels .* \(expected 24\)"),
    (_good(n_frames=10), "line 3: NumFrames 10 but the file has 4 data rows .*truncated"),
    (_good(n_frames=2), "line 3: NumFrames 2 but the file has 4 data rows .*edited or concatenated"),
    (_trc(GAIT, [r[:-1] for r in _rows(4, len(GAIT))]), r"line 7: 25 values, but 8 markers need 26 \(Frame#, Time and 3 x 8"),
    (_trc(GAIT, [r[:-1] + ["1.0", "2.0"] for r in _rows(4, len(GAIT))]), "line 7: 27 values, but 8 markers need 26"),
    (_trc(GAIT, [r[:10] + ["abc"] + r[11:] for r in _rows(4, len(GAIT))]), r"line 7, column 11 \(coordinate Z3\): 'abc' is not a number"),
    (_trc(GAIT, [r[:10] + ["inf"] + r[11:] for r in _rows(4, len(GAIT))]), "line 7, column 11: 'inf' is not a finite number"),
    (_trc(GAIT, [[r[0], ""] + r[2:] for r in _rows(4, len(GAIT))]), r"line 7, column 2 \(Time\): '' is not a number"),
    (_trc(GAIT, [[r[0], 0.0] + r[2:] for r in _rows(4, len(GAIT))]), "line 8: time 0 s does not advance by a frame"),
    (_trc(GAIT, [[r[0], r[1] * 1e4] + r[2:] for r in _rows(4, len(GAIT))]), "line 8: the Time column leaves .* frames missing"),
    (_trc(GAIT, [], n_frames=0), "no data rows after the header"),
    (_trc(["RHip", "LHip", "Sacrum"], _rows(4, 3)), r"line 4: too few usable markers .*lacking \['left_shoulder'"),
    (_good() + "\x00\x00", "binary data"),
]


@pytest.mark.parametrize(("text", "match"), BAD, ids=[m[:40] for _, m in BAD])
def test_malformed_files_name_file_and_line(tmp_path, text, match):
    path = _write(tmp_path, text, "bad_walk.trc")
    with pytest.raises(ReaderError, match=match) as info:
        read_trc(path)
    assert info.value.path == str(path) and str(path) in str(info.value)


def test_explicit_layout_needs_one_of_its_joints(tmp_path):
    path = _write(tmp_path, _trc(["Sacrum", "T10"], _rows(3, 2)))
    with pytest.raises(ReaderError, match="line 4: too few usable markers: none of 2 markers") as info:
        read_trc(path, layout="body25")
    assert str(path) in str(info.value)
    seq = read_trc(_write(tmp_path, _trc(["RKnee", "T10"], _rows(3, 2))), layout="coco17")
    assert seq.layout == "coco17" and seq.info["read_trc"]["layout_reason"] == "argument"
    assert len(seq.info["read_trc"]["absent_joints"]) == 16 and seq.info["read_trc"]["ignored_markers"] == ["T10"]


def test_unknown_layout_and_missing_or_special_files(tmp_path, no_hang):
    path = _write(tmp_path, _good())
    with pytest.raises(LayoutError, match="walk.trc: unknown skeleton layout 'coco18'"):
        read_trc(path, layout="coco18")
    with pytest.raises(PoseDataError, match="walk.trc: .*vertical must be a finite, non-zero 3-vector"):
        read_trc(path, vertical=(0, 0, 0))
    with pytest.raises(ReaderError, match="no such file"):
        read_trc(tmp_path / "missing.trc")
    with pytest.raises(ReaderError, match="is a folder"):
        read_trc(tmp_path)
    import os

    os.mkfifo(tmp_path / "pipe.trc")
    with pytest.raises(ReaderError, match="named pipe"):
        read_trc(tmp_path / "pipe.trc")


def test_plan_prefers_direct_keypoints_and_loose_names_only_when_unambiguous():
    plan = plan_markers(["r_knee_study", "r_mknee_study", "RKnee", "Head", "head", "LKNEE", "l_hjc_study"])
    assert plan.sources["right_knee"] == (2,)
    assert plan.sources["head_top"] == (3,) and plan.sources["head"] == (4,)
    assert plan.sources["left_knee"] == (5,) and plan.sources["left_hip"] == (6,)
    lone = plan_markers(["r_ankle_study"])
    assert lone.sources == {} and "medial partner is missing" in lone.unused["r_ankle_study"]


def test_units_that_contradict_the_body_size_are_refused(tmp_path):
    """Mixed-up units: a walk in metres whose header says mm (a 0.8 mm leg) names the file and line 3."""
    from gaitfeat.testing import stick_walker_3d

    path = write_trc(tmp_path / "metres.trc", stick_walker_3d(30, units="m"))
    text = path.read_text().splitlines()
    fields = text[2].split("\t")
    fields[4] = "mm"
    text[2] = "\t".join(fields)
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(ReaderError, match=r"metres\.trc, line 3: Units 'mm' do not fit.*fit units 'm'"):
        read_trc(path)


def test_camera_coordinates_are_written_upright(tmp_path):
    """A lifter's camera coordinates (y down, vertical unknown) come back Y-up and measure the same walk."""
    import gaitfeat

    walk = gaitfeat.simulate_walk(2, random_state=3, camera="oblique", dims=3, noise="none").sequence
    back = read_trc(write_trc(tmp_path / "lifter.trc", walk))
    true_up = np.asarray(walk.info["simulator"]["vertical"])
    heights = back.positions[..., 1] - back.positions[:, :, 1].min()
    assert np.nanmedian(heights[:, back.skeleton.index("neck")]) > 0.5  # the neck is up, not down
    a = gaitfeat.walk_features_3d(walk).iloc[0]
    b = gaitfeat.walk_features_3d(back).iloc[0]
    assert b["stride_length_m"] == pytest.approx(a["stride_length_m"], rel=0.01)
    assert b["knee_rom_left"] == pytest.approx(a["knee_rom_left"], abs=1.0)
    assert true_up[1] < 0  # the camera frame really was y-down
    pos = walk.positions.copy()
    pos[:, :, :] = np.nan
    with pytest.raises(PoseDataError, match="vertical is unknown"):
        write_trc(tmp_path / "empty.trc", walk.replace(positions=pos))
