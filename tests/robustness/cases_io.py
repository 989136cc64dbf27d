"""Bad input to the readers and writers: OpenPose folders, the Kidziński release, ``.npz`` files."""

from __future__ import annotations

import io
import json
import time
import zipfile

import numpy as np
import pandas as pd
import pytest

import gaitfeat
from gaitfeat.errors import LabelError, ReaderError
from gaitfeat.testing import stick_walker
from robustness import Case


def _openpose(tmp, n=5, prefix="v"):
    folder = tmp / "video"
    files = gaitfeat.write_openpose(stick_walker(n), folder, prefix=prefix)
    return folder, files


def _release(tmp, label_rows=None):
    root = tmp / "release"
    (root / "video_csvs").mkdir(parents=True)
    rows = label_rows or [
        {"videoid": vid, "Patient_ID": k, "side": side, "gmfcs": 1 + k, "GDI": 80.0}
        for k, vid in enumerate(("1001", "1002"))
        for side in ("L", "R")
    ]
    pd.DataFrame(rows).to_csv(root / "alldata_processed.csv", index=False)
    for vid in ("1001", "1002"):
        np.savetxt(root / "video_csvs" / f"{vid}.csv", stick_walker(20).keypoints.reshape(-1, 75), delimiter=",", fmt="%.4f")
    return root


# -- identifiers that become file names -------------------------------------------------


def _kidzinski_traversal(tmp):
    root = _release(tmp, [
        {"videoid": vid, "Patient_ID": 1, "side": side, "gmfcs": 2} for vid in ("1001", "../../x") for side in ("L", "R")
    ])
    np.savetxt(tmp / "x.csv", np.zeros((3, 75)), delimiter=",")  # what the traversal would reach
    with pytest.raises(LabelError, match=r"video ID '\.\./\.\./x' cannot be used as a file name: it contains a path separator"):
        gaitfeat.read_kidzinski(root)
    seqs, _, report = gaitfeat.read_kidzinski(root, on_error="skip")
    assert [s.video_id for s in seqs] == ["1001"] and list(report["skipped_bad_video_id"]) == ["../../x"]


def _write_openpose_traversal(tmp):
    for bad in ("../../x", "..", "/abs", "a\\b", "C:x", "x\x00y", "", "\ud800"):
        with pytest.raises(LabelError, match="cannot be used as a file name"):
            gaitfeat.write_openpose(stick_walker(3), tmp / "out", prefix=bad)
    with pytest.raises(LabelError, match=r"video ID .*'\.\./\.\./x' cannot be used as a file name"):
        gaitfeat.write_openpose(stick_walker(3, video_id="../../x"), tmp / "out")
    assert not any(tmp.rglob("*"))


# -- negative confidences ---------------------------------------------------------------


def _openpose_negative_confidence(tmp):
    folder, files = _openpose(tmp)
    data = json.loads(files[2].read_text())
    data["people"][0]["pose_keypoints_2d"][3 * 4 + 2] = -0.5
    files[2].write_text(json.dumps(data))
    with pytest.raises(ReaderError, match=r"v_000000000002_keypoints.json: frame 2, person 0, joint 4: confidence -0.5 outside \[0, 1\]"):
        gaitfeat.read_openpose(folder, fps=30)


def _kidzinski_negative_confidence(tmp):
    root = _release(tmp)
    arr = np.loadtxt(root / "video_csvs" / "1002.csv", delimiter=",")
    arr[3, 3 * 6 + 2] = -1.0
    np.savetxt(root / "video_csvs" / "1002.csv", arr, delimiter=",")
    with pytest.raises(ReaderError, match=r"1002.csv: row 4 \(frame 3\), joint 6: confidence -1 outside \[0, 1\]"):
        gaitfeat.read_kidzinski(root)
    _, _, report = gaitfeat.read_kidzinski(root, on_error="skip")
    assert "confidence -1 outside" in report["skipped_corrupt_file"]["1002"]


# -- two recordings in one folder -------------------------------------------------------


def _openpose_two_prefixes(tmp):
    folder, files = _openpose(tmp, n=6)
    for path in files[3:]:  # frames 3-5 now belong to another recording; no frame number clashes
        path.rename(path.with_name(path.name.replace("v_", "other_")))
    with pytest.raises(ReaderError, match=r"mixes 2 recordings with different file-name prefixes: 'other' .* 'v'"):
        gaitfeat.read_openpose(folder, fps=30)


# -- Kidziński label conflicts -----------------------------------------------------------


def _gmfcs_differs_between_sides(tmp):
    rows = [{"videoid": "1001", "Patient_ID": 1, "side": s, "gmfcs": g} for s, g in (("L", 2), ("R", 3))]
    with pytest.raises(LabelError, match=r"L and R rows of 1 videos have different 'gmfcs' values: 1001 \(L 2, R 3\)"):
        gaitfeat.read_kidzinski_labels(_release(tmp, rows) / "alldata_processed.csv")
    rows[1]["gmfcs"] = 7
    with pytest.raises(LabelError, match="GMFCS labels must be levels 1-4.*1001: 7"):
        gaitfeat.read_kidzinski_labels(_release(tmp / "b", rows) / "alldata_processed.csv")


def _case_variant_columns(tmp):
    rows = [{"videoid": "1001", "Patient_ID": 1, "side": s, "gmfcs": 2, "GMFCS": 3} for s in ("L", "R")]
    with pytest.raises(LabelError, match="columns 'gmfcs' and 'GMFCS' both mean 'gmfcs' but differ"):
        gaitfeat.read_kidzinski_labels(_release(tmp, rows) / "alldata_processed.csv")


# -- a stray frame number ----------------------------------------------------------------


def _stray_frame_number(tmp):
    folder, _ = _openpose(tmp)
    (folder / "v_000099999999_keypoints.json").write_text('{"version": 1.3, "people": []}')
    start = time.perf_counter()
    with pytest.raises(ReaderError, match=r"would leave 99999994 frames missing .* before v_000099999999_keypoints.json .* stray file"):
        gaitfeat.read_openpose(folder, fps=30)
    assert time.perf_counter() - start < 2


# -- raw OS errors -----------------------------------------------------------------------


def _openpose_unreadable_entries(tmp):
    folder, _ = _openpose(tmp)
    (folder / "v_000000000005_keypoints.json").mkdir()
    with pytest.raises(ReaderError, match="v_000000000005_keypoints.json: is a folder, not a frame file"):
        gaitfeat.read_openpose(folder, fps=30)
    (folder / "v_000000000005_keypoints.json").rmdir()
    (folder / "v_000000000005_keypoints.json").symlink_to(tmp / "gone.json")
    with pytest.raises(ReaderError, match="v_000000000005_keypoints.json: broken symbolic link"):
        gaitfeat.read_openpose(folder, fps=30)


def _kidzinski_unreadable_entries(tmp):
    root = _release(tmp)
    (root / "video_csvs" / "1002.csv").unlink()
    (root / "video_csvs" / "1002.csv").mkdir()
    with pytest.raises(ReaderError, match="1002.csv: is a folder, not a trajectory file"):
        gaitfeat.read_kidzinski(root)
    _, _, report = gaitfeat.read_kidzinski(root, on_error="skip")
    assert "is a folder" in report["skipped_corrupt_file"]["1002"]


# -- malformed .npz files ----------------------------------------------------------------


def _npz_not_a_zip(tmp):
    good = gaitfeat.write_npz(tmp / "good.npz", stick_walker(20)).read_bytes()
    (tmp / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ReaderError, match=r"junk.npz: not a readable .npz file \(not a zip archive\)"):
        gaitfeat.read_npz(tmp / "junk.npz")
    (tmp / "cut.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(ReaderError, match="cut.npz: "):
        gaitfeat.read_npz(tmp / "cut.npz")


def _npz_bad_metadata(tmp):
    meta = np.frombuffer(json.dumps(["not", "an", "object"]).encode(), dtype=np.uint8)
    np.savez(tmp / "list.npz", __meta__=meta)
    with pytest.raises(ReaderError, match=r"list.npz: corrupt metadata record \(a JSON list, not an object\)"):
        gaitfeat.read_npz(tmp / "list.npz")
    meta = np.frombuffer(json.dumps({"format": "gaitfeat.sequences", "version": "1"}).encode(), dtype=np.uint8)
    np.savez(tmp / "version.npz", __meta__=meta)
    with pytest.raises(ReaderError, match="version.npz: format version '1' is not an integer"):
        gaitfeat.read_npz(tmp / "version.npz")


def _npz_bad_arrays(tmp):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp / "objects.npz", "w") as zf:
        zf.writestr("__meta__.npy", buf.getvalue())
    with pytest.raises(ReaderError, match=r"objects.npz: array '__meta__' holds Python objects, which are never loaded"):
        gaitfeat.read_clips_npz(tmp / "objects.npz")
    meta = {"format": "gaitfeat.clips", "version": 1, "meta": pd.DataFrame({"a": [1]}).to_json(orient="table", index=False)}
    np.savez(tmp / "text.npz", __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), clips=np.full((1, 2, 17, 3), "1"))
    with pytest.raises(ReaderError, match="text.npz: clips must hold real numbers, got dtype <U1"):
        gaitfeat.read_clips_npz(tmp / "text.npz")


# -- malformed OpenPose values -----------------------------------------------------------


def _openpose_non_numeric(tmp):
    folder, files = _openpose(tmp)
    files[1].write_text(json.dumps({"people": [{"pose_keypoints_2d": [[1.0, 2.0, 0.5]] * 24 + [[1.0, 2.0]]}]}))
    with pytest.raises(ReaderError, match="v_000000000001_keypoints.json: person 0: keypoint value 0 is list"):
        gaitfeat.read_openpose(folder, fps=30)
    files[1].write_text(json.dumps({"people": [{"pose_keypoints_2d": ["1", "2", "0.5"] * 25}]}))
    with pytest.raises(ReaderError, match="keypoint value 0 is str '1', not a number"):
        gaitfeat.read_openpose(folder, fps=30)


# -- special and oversized files -----------------------------------------------------


class _NoHang:
    """Fail instead of blocking for ever if a reader opens a FIFO."""

    def __enter__(self):
        import signal

        def boom(*_):
            raise AssertionError("the reader blocked on a special file")

        self._old = signal.signal(signal.SIGALRM, boom) if hasattr(signal, "SIGALRM") else None
        if self._old is not None:
            signal.alarm(10)
        return self

    def __exit__(self, *exc):
        import signal

        if self._old is not None:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, self._old)


def _openpose_special_files(tmp):
    import os

    folder, _ = _openpose(tmp)
    name = folder / "v_000000000005_keypoints.json"
    with _NoHang():
        if hasattr(os, "mkfifo"):
            os.mkfifo(name)
            with pytest.raises(ReaderError, match=r"v_000000000005_keypoints.json: is a named pipe \(FIFO\), not a regular file"):
                gaitfeat.read_openpose(folder, fps=30)
            name.unlink()
        if os.path.exists("/dev/zero"):
            name.symlink_to("/dev/zero")
            with pytest.raises(ReaderError, match="v_000000000005_keypoints.json: is a device, not a regular file"):
                gaitfeat.read_openpose(folder, fps=30)
            name.unlink()
    with open(name, "wb") as fh:  # sparse, never read
        fh.truncate(10_000_001)
    with pytest.raises(ReaderError, match="v_000000000005_keypoints.json: 10000001 bytes, larger than the 10000000-byte limit for a frame file"):
        gaitfeat.read_openpose(folder, fps=30)


def _kidzinski_special_files(tmp):
    import os

    root = _release(tmp)
    traj = root / "video_csvs" / "1002.csv"
    traj.unlink()
    with _NoHang():
        if hasattr(os, "mkfifo"):
            os.mkfifo(traj)
            with pytest.raises(ReaderError, match=r"1002.csv: is a named pipe \(FIFO\), not a regular file"):
                gaitfeat.read_kidzinski(root)
            _, _, report = gaitfeat.read_kidzinski(root, on_error="skip")
            assert "named pipe" in report["skipped_corrupt_file"]["1002"]
            traj.unlink()
            labels = root / "alldata_processed.csv"
            labels.rename(root / "labels.csv")
            os.mkfifo(labels)
            with pytest.raises(ReaderError, match=r"alldata_processed.csv: is a named pipe \(FIFO\)"):
                gaitfeat.read_kidzinski(root, on_error="skip")
            labels.unlink()
            (root / "labels.csv").rename(labels)
    with open(traj, "wb") as fh:  # sparse, never read
        fh.truncate(200_000_001)
    with pytest.raises(ReaderError, match="1002.csv: 200000001 bytes, larger than the 200000000-byte limit for a trajectory file"):
        gaitfeat.read_kidzinski(root)


def _npz_special_and_duplicate(tmp):
    import os
    import warnings

    with _NoHang():
        if hasattr(os, "mkfifo"):
            os.mkfifo(tmp / "pipe.npz")
            with pytest.raises(ReaderError, match=r"pipe.npz: is a named pipe \(FIFO\), not a regular file"):
                gaitfeat.read_npz(tmp / "pipe.npz")
    buf = io.BytesIO()
    np.lib.format.write_array(buf, stick_walker(5).keypoints)
    meta = io.BytesIO()
    record = {"format": "gaitfeat.sequences", "version": 1, "sequences": [{"fps": 30.0, "layout": "body25"}]}
    np.lib.format.write_array(meta, np.frombuffer(json.dumps(record).encode(), dtype=np.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns "Duplicate name"
        with zipfile.ZipFile(tmp / "dup.npz", "w") as zf:
            zf.writestr("__meta__.npy", meta.getvalue())
            zf.writestr("keypoints_0.npy", buf.getvalue())
            zf.writestr("keypoints_0.npy", buf.getvalue())
    with pytest.raises(ReaderError, match=r"dup.npz: the archive holds several members named \['keypoints_0.npy'\]"):
        gaitfeat.read_npz(tmp / "dup.npz")


# -- numbers out of range ------------------------------------------------------------------


def _npz_huge_fps(tmp):
    for fps, match in ((10**400, "fps must be a finite number"), (1e-300, "fps 1e-300 is outside the plausible range 1 to 1000 frames/s")):
        record = {"format": "gaitfeat.sequences", "version": 1, "sequences": [{"fps": fps, "layout": "body25"}]}
        np.savez(tmp / "f.npz", __meta__=np.frombuffer(json.dumps(record).encode(), dtype=np.uint8),
                 keypoints_0=stick_walker(5).keypoints)
        with pytest.raises(ReaderError, match=f"f.npz: sequence 0: {match}"):
            gaitfeat.read_npz(tmp / "f.npz")


def _reader_fps_range(tmp):
    from gaitfeat.errors import PoseDataError

    folder, _ = _openpose(tmp)
    root = _release(tmp)
    for fps in (1e-300, 0.5, 1001, 1e300):
        with pytest.raises(PoseDataError, match="outside the plausible range 1 to 1000 frames/s"):
            gaitfeat.read_openpose(folder, fps=fps)
        with pytest.raises(PoseDataError, match="outside the plausible range 1 to 1000 frames/s"):
            gaitfeat.read_kidzinski(root, fps=fps)


def _openpose_bad_arguments(tmp):
    folder, _ = _openpose(tmp)
    for kwargs, match in (
        ({"x_range": (5, 1)}, "x_range .*x_min must be less than x_max"),
        ({"x_range": (float("nan"), 1)}, "x_range must be two finite numbers"),
        ({"min_joints": 1000}, "min_joints must be an integer from 1 to 25"),
        ({"min_joints": -1}, "min_joints must be an integer from 1 to 25"),
        ({"max_jump": float("nan")}, "max_jump must be a positive finite number"),
        ({"lost_after_s": -1}, "lost_after_s must be a positive finite number"),
    ):
        with pytest.raises(ValueError, match=match):
            gaitfeat.read_openpose(folder, fps=30, **kwargs)


def _openpose_nobody_kept(tmp):
    folder, _ = _openpose(tmp)
    with pytest.raises(ReaderError, match=r"no person detected in any of the 5 frames \(5 people were outside x_range"):
        gaitfeat.read_openpose(folder, fps=30, x_range=(1e6, 2e6))


def _gmfcs_other_columns(tmp):
    rows = [{"videoid": "1001", "Patient_ID": 1, "side": s, "gmfcs": 2, "GMFCS Left": g} for s, g in (("L", 2), ("R", 7))]
    with pytest.raises(LabelError, match=r"column 'gmfcs_left': GMFCS labels must be levels 1-4 \(I-IV\); got 1001: 7"):
        gaitfeat.read_kidzinski_labels(_release(tmp, rows) / "alldata_processed.csv")
    rows = [{"videoid": "1001", "Patient_ID": 1, "side": s, "gmfcs": 2, "cadence_release": 1.0} for s in ("L", "R")]
    with pytest.raises(LabelError, match=r"columns \['cadence_release'\] clash with the columns read_kidzinski_labels makes"):
        gaitfeat.read_kidzinski_labels(_release(tmp / "b", rows) / "alldata_processed.csv")


CASES = [
    Case("read_kidzinski", "label `videoid` that is not a plain file name (`../../x`, `/abs`, `a\\b`, `..`, `C:x`, NUL, empty)",
         "`LabelError`: \"video ID '../../x' cannot be used as a file name: ...\"; with `on_error='skip'` a counted skip in `report['skipped_bad_video_id']`",
         _kidzinski_traversal),
    Case("write_openpose", "`video_id` or `prefix` that is not a plain file name (`../../x`, `/abs`, `a\\b`, `..`, `C:x`, NUL, a lone surrogate `\\ud800` that UTF-8 cannot encode)",
         "`LabelError`: \"... cannot be used as a file name: <why>\"; nothing is written", _write_openpose_traversal),
    Case("read_openpose", "negative (or > 1) keypoint confidence in a frame file",
         "`ReaderError`: \"FILE: frame F, person P, joint J: confidence -0.5 outside [0, 1]\" (never read as missing)",
         _openpose_negative_confidence),
    Case("read_kidzinski", "negative (or > 1) confidence in a trajectory CSV",
         "`ReaderError`: \"FILE: row R (frame F), joint J: confidence -1 outside [0, 1]\"; with `on_error='skip'` a counted skip in `report['skipped_corrupt_file']`",
         _kidzinski_negative_confidence),
    Case("read_openpose", "two recordings with different file-name prefixes in one folder",
         "`ReaderError`: \"the folder mixes 2 recordings with different file-name prefixes: 'a' (...), 'b' (...)\"",
         _openpose_two_prefixes),
    Case("read_kidzinski_labels", "GMFCS that differs between a video's L and R rows (or is outside 1-4 on either)",
         "`LabelError`: \"the L and R rows of 1 videos have different 'gmfcs' values: 1001 (L 2, R 3)\" or \"GMFCS labels must be levels 1-4\"",
         _gmfcs_differs_between_sides),
    Case("read_kidzinski_labels", "columns whose names mean the same (`GMFCS`/`gmfcs`) with different values",
         "`LabelError`: \"columns 'gmfcs' and 'GMFCS' both mean 'gmfcs' but differ (file line N: ...)\"; identical ones are merged and listed in `report['merged_duplicate_columns']`",
         _case_variant_columns),
    Case("read_openpose", "a stray frame file numbered 99,999,999 among a few frames",
         "`ReaderError` at once: \"frames 0-99999999 would leave N frames missing for K files (at most M allowed); the largest gap is before FILE\"",
         _stray_frame_number),
    Case("read_openpose", "a folder, a broken or looping symbolic link, or an unreadable file named like a frame file",
         "`ReaderError`: \"FILE: is a folder, not a frame file\" / \"broken symbolic link\" / \"permission denied\"",
         _openpose_unreadable_entries),
    Case("read_kidzinski", "a trajectory path that is a folder, a broken link or unreadable",
         "`ReaderError`: \"FILE: is a folder, not a trajectory file\"; with `on_error='skip'` a counted skip in `report['skipped_corrupt_file']`",
         _kidzinski_unreadable_entries),
    Case("read_npz", "a file that is not a zip archive, or a truncated one",
         "`ReaderError`: \"FILE: not a readable .npz file (...)\" / \"cannot read array ...\"", _npz_not_a_zip),
    Case("read_npz", "`__meta__` missing, not UTF-8 JSON, not an object, another format, a version other than 1",
         "`ReaderError`: \"FILE: corrupt metadata record (...)\" / \"format version '1' is not an integer\" / \"holds X, expected Y\"",
         _npz_bad_metadata),
    Case("read_clips_npz", "object (pickled) arrays, non-real dtypes, wrong shapes, a header that lies about its size",
         "`ReaderError`: \"FILE: array 'X' holds Python objects, which are never loaded\" / \"must hold real numbers\" / \"truncated or corrupt\"",
         _npz_bad_arrays),
    Case("read_openpose", "ragged, nested or non-numeric keypoint values (strings, null, booleans, huge integers)",
         "`ReaderError`: \"FILE: person P: keypoint value K is list [...], not a number\"", _openpose_non_numeric),
    Case("read_openpose", "a named pipe (FIFO), socket or device (a link to `/dev/zero`) named like a frame file, or a frame file over 10 MB",
         "`ReaderError` without opening it: \"FILE: is a named pipe (FIFO), not a regular file\" / \"is a device\" / \"N bytes, larger than the 10000000-byte limit for a frame file\"",
         _openpose_special_files),
    Case("read_kidzinski", "a trajectory CSV or label table that is a named pipe, socket or device, or over 200 MB",
         "`ReaderError`: \"FILE: is a named pipe (FIFO), not a regular file\" / \"larger than the 200000000-byte limit\"; a trajectory file with `on_error='skip'` is a counted skip in `report['skipped_corrupt_file']`",
         _kidzinski_special_files),
    Case("read_npz", "a named pipe or device as the file, two zip members with one name, members over 4 GB in all",
         "`ReaderError`: \"FILE: is a named pipe (FIFO), not a regular file\" / \"the archive holds several members named ['keypoints_0.npy']\" / \"more than the 4000000000-byte limit\"",
         _npz_special_and_duplicate),
    Case("read_npz", "metadata `fps` beyond float range (`10**400`) or outside 1-1000 frames/s",
         "`ReaderError`: \"FILE: sequence 0: fps must be a finite number\" / \"fps 1e-300 is outside the plausible range 1 to 1000 frames/s\"",
         _npz_huge_fps),
    Case("read_openpose / read_kidzinski", "`fps` outside 1-1000 frames/s (`1e-300`, `0.5`, `1e300`, `10**400`)",
         "`PoseDataError`: \"fps 1e-300 is outside the plausible range 1 to 1000 frames/s\" (or \"must be a finite number\")",
         _reader_fps_range),
    Case("read_openpose", "options out of range: `x_range=(5, 1)` or with NaN, `min_joints` < 1 or above the layout's joints, `max_jump`/`lost_after_s` not positive finite",
         "`ValueError` naming the option, before any file is read", _openpose_bad_arguments),
    Case("read_openpose", "no detection passes `min_joints`/`x_range` in any frame",
         "`ReaderError`: \"no person detected in any of the N frames (K people were outside x_range ...)\", never an all-missing sequence",
         _openpose_nobody_kept),
    Case("read_kidzinski_labels", "other GMFCS columns (`gmfcs_left`, `GMFCS Right`, ...) with levels outside 1-4; columns named like generated ones (`cadence_release`)",
         "`LabelError`: \"FILE, column 'gmfcs_left': GMFCS labels must be levels 1-4 (I-IV); got 1001: 7\" / \"columns ['cadence_release'] clash with the columns read_kidzinski_labels makes\"",
         _gmfcs_other_columns),
]
