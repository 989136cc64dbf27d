import numpy as np
import pandas as pd
import pytest

from gaitfeat import read_kidzinski, read_kidzinski_labels
from gaitfeat.errors import LabelError, ReaderError
from gaitfeat.testing import stick_walker


def _label_rows():
    rows = []
    for vid, pid, gmfcs, gdi_l, gdi_r in (("1001", 7, 1, 92.5, 88.0), ("1002", 7, 2, 80.1, 84.3), ("1003", 9, 3, 61.0, 70.2)):
        for side, gdi, kf in (("L", gdi_l, 5.0), ("R", gdi_r, 12.5)):
            rows.append(
                {
                    "videoid": vid, "examid": int(vid) + 5000, "Patient_ID": pid, "side": side, "GDI": gdi,
                    "gmfcs": gmfcs, "speed": 1.1, "cadence": 1.05, "KneeFlex_maxExtension": kf, "SEMLS": 0,
                    "age": 9.5, "mass": 30.0, "height": 1.35, "Event_Date": "2005-03-01",
                }
            )
    return rows


def _release(tmp_path, rows=None):
    root = tmp_path / "gillette"
    (root / "video_csvs").mkdir(parents=True)
    pd.DataFrame(rows or _label_rows()).to_csv(root / "alldata_processed.csv", index=False)
    for k, vid in enumerate(("1001", "1002", "1003")):
        kp = stick_walker(150 + 10 * k, leg_px=150).keypoints.reshape(-1, 75).astype(np.float64)
        kp[5, 3 * 13 : 3 * 13 + 3] = 0.0  # left knee not detected (written as 0)
        kp[7] = np.nan  # nobody detected
        np.savetxt(root / "video_csvs" / f"{vid}.csv", kp, delimiter=",", fmt="%.4f")
    return root


def test_reads_release_with_side_specific_columns(tmp_path):
    root = _release(tmp_path)
    seqs, labels, report = read_kidzinski(root)
    assert [s.video_id for s in seqs] == ["1001", "1002", "1003"] == list(labels["video_id"])
    assert [s.patient_id for s in seqs] == ["7", "7", "9"] == list(labels["patient_id"])
    assert seqs[0].layout == "body25" and seqs[0].fps == pytest.approx(29.97) and seqs[2].n_frames == 170
    # 0 -> missing, NaN row -> missing frame.
    assert np.isnan(seqs[0].keypoints[5, 13, :2]).all() and seqs[0].keypoints[5, 13, 2] == 0
    assert np.isnan(seqs[0].keypoints[7, :, 0]).all()
    row = labels.iloc[2]
    assert row["gmfcs"] == 3 and row["gdi_left"] == 61.0 and row["gdi_right"] == 70.2
    assert row["knee_flex_max_extension_left"] == 5.0 and row["knee_flex_max_extension_right"] == 12.5
    assert "gdi" not in labels.columns and "side" not in labels.columns
    # Cadence: the release stores strides/s; labels give steps/min and keep the original.
    assert row["cadence"] == pytest.approx(126.0) and row["cadence_release"] == pytest.approx(1.05)
    assert row["speed"] == 1.1 and row["exam_id"] == 6003
    assert report["videos_read"] == 3 and report["skipped_no_trajectory_file"] == []


def test_missing_trajectory_and_unlabelled_files_are_counted(tmp_path):
    root = _release(tmp_path)
    (root / "video_csvs" / "1002.csv").unlink()
    np.savetxt(root / "video_csvs" / "2000.csv", np.zeros((3, 75)), delimiter=",")
    seqs, labels, report = read_kidzinski(root)
    assert len(seqs) == 2 == len(labels)
    assert report["skipped_no_trajectory_file"] == ["1002"]
    assert report["trajectory_files_without_labels"] == ["2000"]


def test_corrupt_trajectory_raise_or_skip(tmp_path):
    root = _release(tmp_path)
    (root / "video_csvs" / "1003.csv").write_text("1,2,3\n4,5,6\n")
    with pytest.raises(ReaderError, match="1003.csv: expected 75 columns"):
        read_kidzinski(root)
    seqs, labels, report = read_kidzinski(root, on_error="skip")
    assert len(seqs) == 2 and "1003" in report["skipped_corrupt_file"]
    (root / "video_csvs" / "1003.csv").write_text("")
    with pytest.raises(ReaderError, match="empty trajectory file"):
        read_kidzinski(root)


def test_bad_gmfcs_label(tmp_path):
    rows = _label_rows()
    for r in rows:
        if r["videoid"] == "1002":
            r["gmfcs"] = 5
    root = _release(tmp_path, rows)
    with pytest.raises(LabelError, match="1002: 5"):
        read_kidzinski(root)


def test_missing_patient_id(tmp_path):
    rows = _label_rows()
    for r in rows:
        if r["videoid"] == "1003":
            r["Patient_ID"] = None
    root = _release(tmp_path, rows)
    with pytest.raises(LabelError, match="no patient ID .*1003"):
        read_kidzinski(root)
    seqs, labels, report = read_kidzinski(root, missing_patient="video")
    assert labels.loc[2, "patient_id"] == "video:1003" and labels.loc[2, "patient_id_from_video"]
    assert not labels.loc[0, "patient_id_from_video"] and report["videos_without_patient_id"] == 1


def test_bad_side_and_duplicates(tmp_path):
    rows = _label_rows()
    rows[0]["side"] = "X"
    with pytest.raises(LabelError, match="side must be L or R"):
        read_kidzinski(_release(tmp_path, rows))
    rows = _label_rows()
    rows[1]["side"] = "L"
    with pytest.raises(LabelError, match="more than one row"):
        read_kidzinski_labels(_release(tmp_path / "b", rows) / "alldata_processed.csv")


def test_missing_release_parts(tmp_path):
    with pytest.raises(ReaderError, match="no such folder"):
        read_kidzinski(tmp_path / "none")
    (tmp_path / "r").mkdir()
    with pytest.raises(ReaderError, match="label table"):
        read_kidzinski(tmp_path / "r")


def test_one_side_only_and_missing_gmfcs(tmp_path):
    rows = [r for r in _label_rows() if not (r["videoid"] == "1001" and r["side"] == "R")]
    rows[-1]["gmfcs"] = None
    rows[-2]["gmfcs"] = None
    labels, report = read_kidzinski_labels(_release(tmp_path, rows) / "alldata_processed.csv")
    assert report["videos_with_one_side"] == 1 and report["videos_without_gmfcs"] == 1
    assert np.isnan(labels.loc[0, "gdi_right"]) and labels.loc[0, "gdi_left"] == 92.5
    assert labels["gmfcs"].isna().sum() == 1


# -- class: identifiers that become file names ----------------------------------

BAD_VIDEO_IDS = ["../../x", "..", "../secret", "a/b", "/etc/passwd", "..\\x", "C:x", "x\x00y", "x\ny", "x" * 300]


@pytest.mark.parametrize("bad", BAD_VIDEO_IDS)
def test_video_id_cannot_leave_video_csvs(tmp_path, bad):
    """A label ``videoid`` of ``../../x`` used to read ``x.csv`` outside ``video_csvs/``."""
    rows = _label_rows()
    for r in rows:
        if r["videoid"] == "1003":
            r["videoid"] = bad
    root = _release(tmp_path, rows)
    # The file the traversal would reach, with valid trajectories.
    np.savetxt(tmp_path / "x.csv", stick_walker(30).keypoints.reshape(-1, 75), delimiter=",", fmt="%.4f")
    with pytest.raises(LabelError, match="video ID .*cannot be used as a file name"):
        read_kidzinski(root)
    seqs, labels, report = read_kidzinski(root, on_error="skip")
    assert [s.video_id for s in seqs] == ["1001", "1002"] == list(labels["video_id"])
    assert list(report["skipped_bad_video_id"]) == [bad.strip()]
    assert "cannot be used as a file name" in next(iter(report["skipped_bad_video_id"].values()))


def test_path_inside_is_checked_after_joining(tmp_path):
    from gaitfeat.io._names import path_inside

    with pytest.raises(LabelError, match="would lead outside"):
        path_inside(tmp_path / "video_csvs", "../x.csv", what="video ID")
    assert path_inside(tmp_path / "video_csvs", "1001.csv", what="video ID") == tmp_path / "video_csvs" / "1001.csv"


# -- class: negative confidences --------------------------------------------------


@pytest.mark.parametrize("conf", [-0.25, -1.0, 2.0])
def test_confidence_outside_unit_interval_is_refused(tmp_path, conf):
    root = _release(tmp_path)
    path = root / "video_csvs" / "1002.csv"
    arr = np.loadtxt(path, delimiter=",")
    arr[9, 3 * 4 + 2] = conf
    np.savetxt(path, arr, delimiter=",", fmt="%.4f")
    with pytest.raises(ReaderError, match=r"1002.csv: row 10 \(frame 9\), joint 4: confidence .* outside \[0, 1\]"):
        read_kidzinski(root)
    seqs, labels, report = read_kidzinski(root, on_error="skip")
    assert "1002" in report["skipped_corrupt_file"] and len(seqs) == 2


# -- class: label conflicts ---------------------------------------------------------


@pytest.mark.parametrize(("left", "right"), [(2, 7), (2, 3), (7, 2), ("II", 3)])
def test_gmfcs_differing_between_sides(tmp_path, left, right):
    """Used to become unvalidated gmfcs_left/gmfcs_right columns (a 7 got through)."""
    rows = _label_rows()
    for r in rows:
        if r["videoid"] == "1002":
            r["gmfcs"] = left if r["side"] == "L" else right
    path = _release(tmp_path, rows) / "alldata_processed.csv"
    match = "1002: 7" if 7 in (left, right) else "L and R rows of 1 videos have different 'gmfcs' values: 1002"
    with pytest.raises(LabelError, match=match):
        read_kidzinski_labels(path)


def test_gmfcs_same_level_written_differently_is_fine(tmp_path):
    rows = _label_rows()
    for r in rows:
        if r["videoid"] == "1002":
            r["gmfcs"] = "II" if r["side"] == "L" else 2
    labels, report = read_kidzinski_labels(_release(tmp_path, rows) / "alldata_processed.csv")
    assert labels.loc[1, "gmfcs"] == 2 and "gmfcs_left" not in labels and "gmfcs" not in report["side_specific_columns"]


def test_patient_differing_between_sides_names_the_video(tmp_path):
    rows = _label_rows()
    rows[3]["Patient_ID"] = 99  # video 1002, side R
    with pytest.raises(LabelError, match="name different patients: 1002"):
        read_kidzinski_labels(_release(tmp_path, rows) / "alldata_processed.csv")


@pytest.mark.parametrize(("a", "b"), [("gmfcs", "GMFCS"), ("gmfcs", "gmfcs"), ("Patient_ID", "patient id"), ("GDI", "gdi")])
def test_duplicate_columns_that_differ(tmp_path, a, b):
    """``GMFCS`` and ``gmfcs`` both present: one used to be dropped silently."""
    rows = _label_rows()
    root = _release(tmp_path, rows)
    table = pd.DataFrame(rows).drop(columns=[c for c in ("gmfcs", "Patient_ID", "GDI") if c in (a, b) or c.lower() == a.lower()])
    first = [r[{"gmfcs": "gmfcs", "Patient_ID": "Patient_ID", "GDI": "GDI"}[a]] for r in rows]
    second = list(first)
    second[2] = 4 if a.lower() == "gmfcs" else 55
    cols = list(table.columns) + [a, b]
    data = [list(row) + [x, y] for row, x, y in zip(table.itertuples(index=False), first, second)]
    with open(root / "alldata_processed.csv", "w") as fh:
        fh.write(",".join(cols) + "\n")
        for row in data:
            fh.write(",".join("" if v is None else str(v) for v in row) + "\n")
    with pytest.raises(LabelError, match=f"columns '{a}' and '{b}' both mean .* but differ"):
        read_kidzinski_labels(root / "alldata_processed.csv")


def test_duplicate_columns_that_agree_are_merged_and_reported(tmp_path):
    rows = _label_rows()
    for r in rows:
        r["GMFCS"] = r["gmfcs"]
    labels, report = read_kidzinski_labels(_release(tmp_path, rows) / "alldata_processed.csv")
    assert list(labels["gmfcs"]) == [1, 2, 3]
    assert report["merged_duplicate_columns"] == {"gmfcs": ["gmfcs", "GMFCS"]}


def test_infinite_ids_and_levels(tmp_path):
    rows = _label_rows()
    rows[0]["gmfcs"] = float("inf")
    with pytest.raises(LabelError, match="infinite"):
        read_kidzinski_labels(_release(tmp_path, rows) / "alldata_processed.csv")
    rows = _label_rows()
    rows[0]["videoid"] = float("inf")
    with pytest.raises(LabelError, match="video ID inf"):
        read_kidzinski_labels(_release(tmp_path / "b", rows) / "alldata_processed.csv")


def test_generated_side_column_clash(tmp_path):
    rows = _label_rows()
    for r in rows:
        r["gdi_left"] = 1.0
    with pytest.raises(LabelError, match="clash"):
        read_kidzinski_labels(_release(tmp_path, rows) / "alldata_processed.csv")


# -- class: raw OS errors -------------------------------------------------------------


def test_trajectory_path_is_a_folder_or_broken_link(tmp_path):
    root = _release(tmp_path)
    (root / "video_csvs" / "1002.csv").unlink()
    (root / "video_csvs" / "1002.csv").mkdir()
    (root / "video_csvs" / "1003.csv").unlink()
    (root / "video_csvs" / "1003.csv").symlink_to(tmp_path / "gone.csv")
    with pytest.raises(ReaderError, match="1002.csv: is a folder"):
        read_kidzinski(root)
    seqs, labels, report = read_kidzinski(root, on_error="skip")
    assert len(seqs) == 1
    assert "is a folder" in report["skipped_corrupt_file"]["1002"]
    assert "broken symbolic link" in report["skipped_corrupt_file"]["1003"]


def test_label_table_is_a_folder(tmp_path):
    (tmp_path / "labels.csv").mkdir()
    with pytest.raises(ReaderError, match="labels.csv: is a folder"):
        read_kidzinski_labels(tmp_path / "labels.csv")
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    with pytest.raises(ReaderError, match="loop.csv: (broken symbolic link|cannot read)"):
        read_kidzinski_labels(tmp_path / "loop.csv")


def test_bad_fps_is_refused_up_front(tmp_path):
    from gaitfeat.errors import PoseDataError

    with pytest.raises(PoseDataError, match="fps"):
        read_kidzinski(_release(tmp_path), fps=True, on_error="skip")


def test_values_beyond_float32_are_refused(tmp_path):
    root = _release(tmp_path)
    arr = np.loadtxt(root / "video_csvs" / "1001.csv", delimiter=",")
    arr[4, 0] = 1e300
    np.savetxt(root / "video_csvs" / "1001.csv", arr, delimiter=",")
    with pytest.raises(ReaderError, match=r"1001.csv: infinite value \(or beyond the float32 range\) in row 5"):
        read_kidzinski(root)


# -- class: special and oversized files ------------------------------------------------

import os  # noqa: E402



@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_trajectory_and_label_table_are_refused(tmp_path, no_hang):
    root = _release(tmp_path)
    (root / "video_csvs" / "1002.csv").unlink()
    os.mkfifo(root / "video_csvs" / "1002.csv")
    with pytest.raises(ReaderError, match=r"1002.csv: is a named pipe \(FIFO\), not a regular file"):
        read_kidzinski(root)
    seqs, _, report = read_kidzinski(root, on_error="skip")
    assert [s.video_id for s in seqs] == ["1001", "1003"]
    assert "named pipe" in report["skipped_corrupt_file"]["1002"]
    (root / "alldata_processed.csv").unlink()
    os.mkfifo(root / "alldata_processed.csv")
    with pytest.raises(ReaderError, match=r"alldata_processed.csv: is a named pipe \(FIFO\), not a regular file"):
        read_kidzinski(root, on_error="skip")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_link_to_device_is_refused(tmp_path, no_hang):
    root = _release(tmp_path)
    (root / "video_csvs" / "1002.csv").unlink()
    (root / "video_csvs" / "1002.csv").symlink_to("/dev/zero")
    with pytest.raises(ReaderError, match="1002.csv: is a device, not a regular file"):
        read_kidzinski(root)


def test_oversized_csvs_are_refused(tmp_path, monkeypatch):
    import gaitfeat.io._label_table as table

    root = _release(tmp_path)
    with open(root / "video_csvs" / "1003.csv", "ab") as fh:  # sparse: nothing is read
        fh.truncate(table.MAX_CSV_BYTES + 1)
    with pytest.raises(ReaderError, match="1003.csv: 200000001 bytes, larger than the 200000000-byte limit for a trajectory file"):
        read_kidzinski(root)
    _, _, report = read_kidzinski(root, on_error="skip")
    assert "200000000-byte limit" in report["skipped_corrupt_file"]["1003"]
    monkeypatch.setattr(table, "MAX_CSV_BYTES", 100)
    with pytest.raises(ReaderError, match="alldata_processed.csv: .*larger than the 100-byte limit for a label table"):
        read_kidzinski_labels(root / "alldata_processed.csv")


# -- class: GMFCS in other columns, generated column names ------------------------------


@pytest.mark.parametrize("column", ["gmfcs_left", "GMFCS Right", "GMFCS_level"])
@pytest.mark.parametrize("bad", [7, 9, "V"])
def test_every_gmfcs_column_is_validated(tmp_path, column, bad):
    rows = _label_rows()
    for r in rows:
        r[column] = r["gmfcs"]
    rows[3][column] = bad  # video 1002, side R
    with pytest.raises(LabelError, match=rf"column '.*gmfcs.*': GMFCS labels must be levels 1-4 .*1002: '?{bad}"):
        read_kidzinski_labels(_release(tmp_path, rows) / "alldata_processed.csv")


def test_valid_extra_gmfcs_column_passes(tmp_path):
    rows = _label_rows()
    for r in rows:
        r["gmfcs_left"] = r["gmfcs"]
    labels, _ = read_kidzinski_labels(_release(tmp_path, rows) / "alldata_processed.csv")
    assert list(labels["gmfcs"]) == [1, 2, 3]


@pytest.mark.parametrize("column", ["cadence_release", "patient_id_from_video"])
def test_columns_named_like_generated_ones_are_refused(tmp_path, column):
    rows = _label_rows()
    for r in rows:
        r[column] = 1
    with pytest.raises(LabelError, match=rf"columns \['{column}'\] clash with the columns read_kidzinski_labels makes"):
        read_kidzinski_labels(_release(tmp_path, rows) / "alldata_processed.csv")


@pytest.mark.parametrize("fps", [1e-300, 0.5, 1e300, 10**400], ids=["1e-300", "0.5", "1e300", "10**400"])
def test_fps_outside_plausible_range(tmp_path, fps):
    from gaitfeat.errors import PoseDataError

    with pytest.raises(PoseDataError, match=r"fps .*(outside the plausible range 1 to 1000 frames/s|finite)"):
        read_kidzinski(_release(tmp_path), fps=fps)
