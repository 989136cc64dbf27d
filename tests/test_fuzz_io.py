"""Property-based fuzzing of the readers: a valid result or a GaitError with a message, nothing else.

Random JSON structures and bytes as OpenPose frame files, random CSV tables
as Kidziński label tables and trajectories, random bytes and random array
contents as ``.npz`` files. Every example must end within its deadline in
either a result or an instance of :class:`gaitfeat.errors.GaitError` with a
non-empty message; any other exception type, or a hang, fails. Examples are
derandomized, so a CI failure reproduces locally; set
``GAITFEAT_FUZZ_EXAMPLES=5000 GAITFEAT_FUZZ_RANDOM=1`` for a longer, random hunt.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import signal
import string
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gaitfeat import PoseSequence, read_clips_npz, read_kidzinski, read_kidzinski_labels, read_npz, read_openpose
from gaitfeat.errors import GaitError

FUZZ = settings(
    # CI: fixed examples. For a longer, random hunt: GAITFEAT_FUZZ_EXAMPLES=5000 GAITFEAT_FUZZ_RANDOM=1
    derandomize=not os.environ.get("GAITFEAT_FUZZ_RANDOM"),
    max_examples=int(os.environ.get("GAITFEAT_FUZZ_EXAMPLES", "300")),
    deadline=3000,  # ms per example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    database=None,
)

HANG_S = 10  # an example that runs this long is a hang: fail it instead of waiting


@contextlib.contextmanager
def _no_hang():
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum, frame):
        raise TimeoutError(f"example ran for more than {HANG_S} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(HANG_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _outcome(call):
    """Run ``call``: return its result, or the GaitError it raised; any other exception propagates."""
    with _no_hang():
        try:
            result = call()
        except GaitError as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            event(f"{type(exc).__name__}: {_gist(str(exc))}")
            return exc
    event("read")
    return result


def _gist(message: str) -> str:
    """The message without the path, cut short (groups the outcomes in --hypothesis-show-statistics)."""
    tail = message.split(": ", 1)[-1] if "/" in message.split(": ", 1)[0] else message
    return tail[:40]


# -- strategies ------------------------------------------------------------------

_numbers = st.one_of(
    st.integers(-(10**6), 10**6),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 1),
    st.floats(-1000, 2000),
)
_scalars = st.one_of(st.none(), st.booleans(), _numbers, st.text(max_size=8))
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20,
)


@st.composite
def _person(draw):
    n_joints = draw(st.sampled_from([25, 25, 25, 17, 18, 1, 0]))
    kind = draw(st.sampled_from(["numbers", "numbers", "json", "nested"]))
    if kind == "numbers":
        values = draw(st.lists(_numbers, min_size=3 * n_joints, max_size=3 * n_joints))
    elif kind == "nested":
        values = draw(st.lists(st.lists(_numbers, min_size=2, max_size=3), max_size=n_joints))
    else:
        values = draw(_json)
    key = draw(st.sampled_from(["pose_keypoints_2d", "pose_keypoints", "face_keypoints_2d"]))
    return {key: values, **draw(st.dictionaries(st.text(max_size=4), _json, max_size=2))}


@st.composite
def _plausible_person(draw):
    """A 25-joint person with valid-looking numbers (so some examples read successfully)."""
    xs = draw(st.lists(st.floats(0, 1000), min_size=25, max_size=25))
    ys = draw(st.lists(st.floats(0, 1000), min_size=25, max_size=25))
    cs = draw(st.lists(st.sampled_from([0.0, 0.3, 0.9, 1.0]), min_size=25, max_size=25))
    return {"pose_keypoints_2d": [v for triple in zip(xs, ys, cs) for v in triple]}


@st.composite
def _frame_content(draw) -> bytes:
    kind = draw(st.sampled_from(["frame", "frame", "plausible", "plausible", "plausible", "json", "bytes", "text"]))
    if kind == "frame":
        doc = {"version": 1.3, "people": draw(st.lists(_person(), max_size=3))}
    elif kind == "plausible":
        doc = {"version": 1.3, "people": draw(st.lists(_plausible_person(), max_size=2))}
    elif kind == "json":
        doc = draw(_json)
    elif kind == "bytes":
        return draw(st.binary(max_size=200))
    else:
        return draw(st.text(max_size=200)).encode("utf-8", errors="surrogatepass")
    return json.dumps(doc, allow_nan=True).encode()


_frame_numbers = st.one_of(st.integers(0, 50), st.integers(0, 50), st.integers(0, 10**12), st.just(99_999_999))
_prefixes = st.sampled_from(["v", "w", "", "V", "clip_2"])


@st.composite
def _openpose_folder(draw):
    """``{file name: bytes}`` for one folder: usually one recording, sometimes two or a stray name."""
    files = {}
    clean = draw(st.integers(0, 2)) == 0  # a third of the folders are well formed, to reach the tracking code
    prefix = draw(_prefixes)
    width = draw(st.sampled_from([12, 12, 1, 3]))
    number = draw(st.integers(0, 5))
    for _ in range(draw(st.integers(1, 6))):
        number += draw(st.sampled_from([1, 1, 1, 2, 5]))
        p = prefix
        if not clean and draw(st.integers(0, 9)) == 0:  # now and then another recording or a stray frame number
            p, number = draw(_prefixes), draw(_frame_numbers)
        name = f"{p}_{number:0{width}d}_keypoints.json" if p else f"{number:0{width}d}_keypoints.json"
        if clean:
            doc = {"version": 1.3, "people": draw(st.lists(_plausible_person(), max_size=3))}
            files[name] = json.dumps(doc).encode()
        else:
            files[name] = draw(_frame_content())
    if not clean and draw(st.integers(0, 9)) == 0:
        files[draw(st.sampled_from(["x_keypoints.json", "v_abc_keypoints.json", "notes.txt"]))] = b"{}"
    return files


# -- OpenPose ----------------------------------------------------------------------


@FUZZ
@given(files=_openpose_folder(), fps=st.sampled_from([30, 29.97, 1, 1000, 1e-3]))
def test_fuzz_read_openpose(files, fps):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "video"
        folder.mkdir()
        for name, content in files.items():
            (folder / name).write_bytes(content)
        out = _outcome(lambda: read_openpose(folder, fps=fps))
        if not isinstance(out, GaitError):
            assert isinstance(out, PoseSequence)
            conf = out.keypoints[..., 2]
            assert ((conf >= 0) & (conf <= 1)).all()
            assert out.n_frames <= max(11 * len(files), len(files) + 1000)


_options = st.one_of(_numbers, st.none(), st.text(max_size=3), st.tuples(_numbers, _numbers), st.tuples(_numbers))


@FUZZ
@given(fps=_options, x_range=_options, min_joints=_options, max_jump=_options, lost_after_s=_options)
def test_fuzz_read_openpose_options(tmp_path_factory, fps, x_range, min_joints, max_jump, lost_after_s):
    """Any option values: a sequence, a GaitError, or a ValueError naming the option; never another exception."""
    folder = tmp_path_factory.getbasetemp() / "options_video"
    if not folder.exists():
        from gaitfeat import write_openpose
        from gaitfeat.testing import stick_walker

        write_openpose(stick_walker(8), folder, prefix="v")
    kwargs = {"x_range": x_range, "min_joints": min_joints, "max_jump": max_jump, "lost_after_s": lost_after_s}
    try:
        out = _outcome(lambda: read_openpose(folder, fps=fps, **kwargs))
    except ValueError as exc:
        assert not isinstance(exc, GaitError)
        assert str(exc).startswith("read_openpose: ") and any(k in str(exc) for k in kwargs), str(exc)
        event(f"ValueError: {str(exc)[15:40]}")
        return
    if not isinstance(out, GaitError):
        assert isinstance(out, PoseSequence) and 1 <= out.fps <= 1000


# -- Kidziński ------------------------------------------------------------------------

_label_columns = st.sampled_from(
    ["videoid", "VideoID", "video_id", "side", "Side", "gmfcs", "GMFCS", "Patient_ID", "patient id", "GDI", "gdi",
     "gdi_left", "gmfcs_left", "GMFCS Right", "cadence_release", "speed", "cadence", "KneeFlex_maxExtension", "x", "", "Unnamed: 0", "a.b", "gmfcs.1"]
)
_cells = st.one_of(
    st.sampled_from(["L", "R", "left", "r", "X", "", "II", "IV", "V", "7", "1", "2.0", "../../x", "..", "a/b",
                     "nan", "inf", "-inf", "1e400", "C:x", " 1001", "1001", "1002", "\"", "a,b", "NA"]),
    st.integers(-5, 2000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=string.printable, max_size=6),
)


@st.composite
def _label_table(draw) -> str:
    cols = draw(st.lists(_label_columns, min_size=1, max_size=7))
    if draw(st.booleans()):  # usually give the required columns, so the later code paths run
        cols = ["videoid", "side"] + cols
    n = draw(st.integers(0, 6))
    buf = io.StringIO()
    pd.DataFrame([[draw(_cells) for _ in cols] for _ in range(n)], columns=range(len(cols))).to_csv(
        buf, header=cols, index=False
    )
    return buf.getvalue()


@st.composite
def _plausible_labels(draw) -> str:
    """Mostly valid two-rows-per-video tables with a few fuzzed cells."""
    rows = []
    if draw(st.booleans()):  # a valid table: only the trajectories are fuzzed
        for k, vid in enumerate(draw(st.lists(st.sampled_from(["1001", "1002", "1003"]), min_size=1, max_size=3, unique=True))):
            rows += [{"videoid": vid, "side": s, "Patient_ID": k % 2, "gmfcs": 1 + k, "GDI": 80.0 + (s == "L"), "speed": 1.0}
                     for s in ("L", "R")]
        return pd.DataFrame(rows).to_csv(index=False)
    for vid in draw(st.lists(st.sampled_from(["1001", "1002", "1003", "1001", "1002", "../1004", "a/b", " 1003", ".."]),
                             min_size=1, max_size=3, unique=True)):
        for side in draw(st.sampled_from([("L", "R"), ("L", "R"), ("L", "R"), ("L",), ("R", "R")])):
            rows.append({
                "videoid": vid, "side": side, "Patient_ID": draw(st.sampled_from([7, 7, 7, 8, None, "p1"])),
                "gmfcs": draw(st.sampled_from([1, 2, 3, 4, 1, 2, 3, 4, 5, 7, None, "II", "x", math.inf])),
                "GDI": draw(st.floats(allow_nan=True, allow_infinity=False)), "speed": 1.1,
            })
    table = pd.DataFrame(rows)
    if draw(st.integers(0, 3)) == 0:
        table["GMFCS"] = table["gmfcs"] if draw(st.booleans()) else draw(st.sampled_from([1, 2, 9]))
    return table.to_csv(index=False)


_trajectory = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda arr: "\n".join(",".join(repr(float(v)) for v in row) for row in arr) + "\n",
        hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.just(75)), elements=st.sampled_from([0.0, 0.5, 1.0, 120.0, -3.0])),
    ),
    st.builds(
        lambda arr: "\n".join(",".join(repr(float(v)) for v in row) for row in arr) + "\n",
        hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.sampled_from([75, 75, 74, 3])),
                   elements=st.one_of(st.floats(0, 1), st.floats(allow_nan=True, allow_infinity=True))),
    ),
)


@FUZZ
@given(table=st.one_of(_label_table(), _plausible_labels(), st.binary(max_size=300)),
       missing_patient=st.sampled_from(["raise", "video"]))
def test_fuzz_read_kidzinski_labels(table, missing_patient):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "alldata_processed.csv"
        path.write_bytes(table if isinstance(table, bytes) else table.encode("utf-8", errors="surrogatepass"))
        out = _outcome(lambda: read_kidzinski_labels(path, missing_patient=missing_patient))
        if not isinstance(out, GaitError):
            labels, report = out
            assert isinstance(labels, pd.DataFrame) and isinstance(report, dict)
            assert labels["video_id"].is_unique
            if "gmfcs" in labels:
                assert labels["gmfcs"].dropna().isin([1, 2, 3, 4]).all()
            # A GMFCS never becomes per-side by an L/R conflict (that is a LabelError); a per-side GMFCS
            # column the table itself holds is validated like the others.
            for col in [c for c in labels.columns if "gmfcs" in str(c).split("_")]:
                values = pd.to_numeric(labels[col], errors="coerce").dropna()
                assert values.isin([1, 2, 3, 4]).all(), col


@FUZZ
@given(table=st.one_of(_plausible_labels(), _label_table()),
       trajectories=st.dictionaries(st.sampled_from(["1001", "1002", "1003", "x", "1004"]), _trajectory, min_size=1, max_size=3),
       on_error=st.sampled_from(["raise", "skip"]))
def test_fuzz_read_kidzinski(table, trajectories, on_error):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "release"
        (root / "video_csvs").mkdir(parents=True)
        (root / "alldata_processed.csv").write_text(table, encoding="utf-8", errors="surrogatepass")
        for vid, content in trajectories.items():
            data = content if isinstance(content, bytes) else content.encode()
            (root / "video_csvs" / f"{vid}.csv").write_bytes(data)
        # What a traversal would reach: reading it would be a failure.
        (Path(tmp) / "1004.csv").write_text("0," * 74 + "0\n")
        out = _outcome(lambda: read_kidzinski(root, on_error=on_error))
        if not isinstance(out, GaitError):
            for seq in out.sequences:
                assert isinstance(seq, PoseSequence)
                assert Path(seq.info["read_kidzinski"]["source"]).parent == root / "video_csvs"


# -- .npz ----------------------------------------------------------------------------------

_dtypes = st.one_of(
    hnp.floating_dtypes(), hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(), hnp.boolean_dtypes(),
    hnp.complex_number_dtypes(), hnp.byte_string_dtypes(max_len=4), hnp.unicode_string_dtypes(max_len=4),
)
_any_array = hnp.arrays(_dtypes, hnp.array_shapes(min_dims=0, max_dims=5, max_side=4))
_keypoint_array = hnp.arrays(
    st.sampled_from([np.float32, np.float64]),
    st.tuples(st.integers(1, 4), st.sampled_from([25, 17, 3]), st.sampled_from([3, 2])),
    elements=st.one_of(st.floats(0, 1, width=16), st.floats(allow_nan=True, allow_infinity=True, width=16)),
)


@st.composite
def _meta_record(draw, n_sequences: int | None = None):
    kind = draw(st.sampled_from(["seq", "clips", "json", "bytes", "array"] if n_sequences is None else ["seq", "seq", "seq", "clips"]))
    if kind == "bytes":
        return np.frombuffer(draw(st.binary(max_size=60)), dtype=np.uint8)
    if kind == "array":
        return draw(_any_array)
    if kind == "json":
        record = draw(_json)
    elif kind == "seq":
        rec = {"fps": draw(st.one_of(st.just(30.0), st.just(30.0), _scalars)),
               "layout": draw(st.sampled_from(["body25", "body25", "coco17", "x", 3])),
               "patient_id": draw(st.one_of(st.none(), st.just("p"), _scalars)), "video_id": "v",
               "info": draw(st.one_of(st.just({}), _json))}
        records = [rec] * n_sequences if n_sequences is not None else draw(st.one_of(st.lists(st.just(rec), max_size=2), _json))
        record = {"format": "gaitfeat.sequences", "version": draw(st.sampled_from([1, 1, 1, 2, 0, "1", None])),
                  "sequences": records}
    else:
        table = pd.DataFrame({"video_id": ["a", "b"]}).to_json(orient="table", index=False)
        record = {"format": "gaitfeat.clips", "version": draw(st.sampled_from([1, 1, 1, 2, 0, "1", None])),
                  "meta": draw(st.one_of(st.just(table), _json)), "extra": draw(_json)}
    return np.frombuffer(json.dumps(record, allow_nan=True).encode(), dtype=np.uint8)


def _valid_npz(kind: str, n: int) -> bytes:
    from gaitfeat import write_clips_npz, write_npz
    from gaitfeat.testing import stick_walker

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.npz"
        if kind == "seq":
            write_npz(path, [stick_walker(10 + k, video_id=f"v{k}") for k in range(n)])
        else:
            write_clips_npz(path, np.zeros((n, 8, 17, 3)), pd.DataFrame({"video_id": [f"v{k}" for k in range(n)]}), extra={"k": n})
        return path.read_bytes()


_VALID_NPZ = {(kind, n): _valid_npz(kind, n) for kind in ("seq", "clips") for n in (1, 2)}


@st.composite
def _npz_bytes(draw) -> bytes:
    kind = draw(st.sampled_from(["arrays", "arrays", "coherent", "coherent", "bytes", "truncated", "mutated", "valid"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind in ("mutated", "valid"):
        raw = bytearray(_VALID_NPZ[draw(st.sampled_from(sorted(_VALID_NPZ)))])
        if kind == "mutated":
            for _ in range(draw(st.integers(1, 4))):
                raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        return bytes(raw)
    arrays = {}
    if kind == "coherent":
        n = draw(st.integers(0, 2))
        arrays["__meta__"] = draw(_meta_record(n_sequences=n))
        for i in range(n):
            arrays[f"keypoints_{i}"] = draw(_keypoint_array)
            if draw(st.booleans()):
                arrays[f"direction_{i}"] = draw(st.one_of(hnp.arrays(np.int8, st.integers(1, 4), elements=st.integers(-1, 1)), _any_array))
            if draw(st.booleans()):
                arrays[f"root_{i}"] = draw(st.one_of(hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.just(2))), _any_array))
        if draw(st.booleans()):
            arrays["clips"] = draw(st.one_of(hnp.arrays(np.float32, st.tuples(st.integers(0, 3), st.integers(1, 3), st.just(17), st.just(3))), _any_array))
    else:
        if draw(st.integers(0, 9)):
            arrays["__meta__"] = draw(_meta_record())
        for key in draw(st.lists(st.sampled_from(["keypoints_0", "keypoints_1", "direction_0", "root_0", "clips", "other"]), max_size=4)):
            arrays[key] = draw(st.one_of(_keypoint_array, _any_array))
    if draw(st.integers(0, 7)) == 0 and arrays:
        arrays[draw(st.sampled_from(sorted(arrays)))] = np.array([{"a": 1}, None], dtype=object)
    buf = io.BytesIO()
    _savez(buf, arrays, compressed=draw(st.booleans()))
    raw = buf.getvalue()
    if kind == "truncated":
        raw = raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    return raw


def _savez(buf, arrays: dict, compressed: bool) -> None:
    """np.savez into ``buf``, object arrays included (written with pickle, as an attacker could)."""
    mode = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=mode) as zf:
        for key, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=True)
            zf.writestr(f"{key}.npy", member.getvalue())


@FUZZ
@given(content=_npz_bytes())
def test_fuzz_read_npz(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        path.write_bytes(content)
        out = _outcome(lambda: read_npz(path))
        if not isinstance(out, GaitError):
            assert all(isinstance(s, PoseSequence) for s in out)
        out = _outcome(lambda: read_clips_npz(path))
        if not isinstance(out, GaitError):
            clips, meta, extra = out
            assert clips.ndim == 4 and len(meta) == clips.shape[0] and isinstance(extra, dict)


@pytest.mark.parametrize("reader", [read_npz, read_clips_npz])
def test_object_arrays_are_never_unpickled(tmp_path, reader):
    """A pickled object array would run code on load; it must be refused, not loaded."""
    buf = io.BytesIO()
    _savez(buf, {"__meta__": np.array([{"format": "gaitfeat.sequences"}], dtype=object)}, compressed=False)
    (tmp_path / "evil.npz").write_bytes(buf.getvalue())
    with pytest.raises(GaitError, match="Python objects"):
        reader(tmp_path / "evil.npz")
