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
    for bad in ("../../x", "..", "/abs", "a\\b", "C:x", "x\x00y", ""):
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


CASES = [
    Case("read_kidzinski", "label `videoid` that is not a plain file name (`../../x`, `/abs`, `a\\b`, `..`, `C:x`, NUL, empty)",
         "`LabelError`: \"video ID '../../x' cannot be used as a file name: ...\"; with `on_error='skip'` a counted skip in `report['skipped_bad_video_id']`",
         _kidzinski_traversal),
    Case("write_openpose", "`video_id` or `prefix` that is not a plain file name (`../../x`, `/abs`, `a\\b`, `..`, `C:x`, NUL)",
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
]
