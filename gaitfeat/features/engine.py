"""Public entry points of the feature engine: validation, conversion, tables.

The numerical work happens in :mod:`gaitfeat.features._kernels`; this module
checks what the caller passes, converts it to what the kernels assume (the
contract in ``_kernels/contract.py``: joint slots, :class:`KernelParams`,
defaults, output slots), and turns the kernels' arrays into DataFrames.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from gaitfeat.errors import LayoutError, PoseDataError
from gaitfeat.features import _kernels as K
from gaitfeat.features._kernels import DEFAULTS
from gaitfeat.features.definitions import METRE_FEATURES, NAN_REASONS
from gaitfeat.layouts import SkeletonLayout, get_layout, layout_for_joint_count
from gaitfeat.pose import FPS_RANGE
from gaitfeat.preprocessing.checks import MAX_COORDINATE, check_pose_clips

__all__ = ["extract_features", "detect_events", "iter_features", "EVENT_COLUMNS", "LEG_LENGTH_PER_HEIGHT"]

#: Columns of :func:`detect_events`.
EVENT_COLUMNS = ("clip", "side", "event", "frame", "time_s")

#: Hip-to-ankle length as a fraction of standing height (thigh 0.245 + shank 0.246;
#: Drillis & Contini, tabulated by Winter 2009). Used to turn ``height_m`` into a leg length.
LEG_LENGTH_PER_HEIGHT = 0.491
#: Plausible standing heights and leg lengths (m): a toddler to the tallest adults; outside is a unit mistake.
HEIGHT_RANGE = (0.5, 2.6)
LEG_LENGTH_RANGE = (0.2, 1.3)


def _joint_table(layout: SkeletonLayout) -> np.ndarray:
    """The kernels' joint table: the layout's index of each of :data:`_kernels.JOINT_SLOTS`, -1 if absent."""
    table = np.array([layout.index(n) if layout.has(n) else -1 for n in K.JOINT_SLOTS], dtype=np.int64)
    required = [i for i in range(K.N_JOINT_SLOTS) if i not in K.FOOT_SLOTS]
    if (table[required] < 0).any():
        missing = [K.JOINT_SLOTS[i] for i in required if table[i] < 0]
        raise LayoutError(f"layout {layout.name!r} lacks joints the features need: {missing}")
    if (table[K.J_HEEL] < 0) != (table[K.J_TOE] < 0):
        table[list(K.FOOT_SLOTS)] = -1  # heels without toes (or the reverse): use the ankles
    return table


def _params(*, turn_width, turn_margin_s, min_usable_s, peak_window_s, prominence_window_s, prominence,
            method, velocity_prominence, camera=DEFAULTS.camera) -> K.KernelParams:
    if method not in K.METHODS:
        raise ValueError(f"method must be one of {sorted(K.METHODS)}, got {method!r}")
    if camera not in K.CAMERAS:
        raise ValueError(f"camera must be one of {list(K.CAMERAS)}, got {camera!r}")
    values = {
        "turn_width": turn_width, "turn_margin_s": turn_margin_s, "min_usable_s": min_usable_s,
        "peak_window_s": peak_window_s, "prominence_window_s": prominence_window_s, "prominence": prominence,
        "velocity_prominence": velocity_prominence,
    }
    for name, value in values.items():
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite non-negative number, got {value!r}")
    # Python floats and a bool: one numba specialisation whatever number types the caller passes.
    return K.KernelParams(**{name: float(value) for name, value in values.items()},
                          velocity_method=method == "velocity", camera=K.CAMERAS.index(camera))


def _validate(clips, fps, layout) -> tuple[np.ndarray, np.ndarray, SkeletonLayout]:
    # Shape, type and the "is this preprocessed?" check; infinite and impossible values are
    # flagged by the kernels in the pass they make anyway (Q_INFINITE), not scanned twice.
    arr = check_pose_clips(clips, scan_all=False)
    N, T, V, C = arr.shape
    lay = layout_for_joint_count(V) if layout is None else get_layout(layout)
    if len(lay.joints) != V:
        raise LayoutError(f"layout {lay.name!r} has {len(lay.joints)} joints but the clips have V = {V}")
    kind = np.asarray(fps).dtype
    if isinstance(fps, (bool, np.bool_, str, bytes)) or not (np.issubdtype(kind, np.floating)
                                                            or np.issubdtype(kind, np.integer)):
        raise ValueError(f"fps must be a positive number or one per clip, got {fps!r}")
    try:
        rates = np.asarray(fps, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"fps must be a positive number or one per clip, got {fps!r}") from None
    rates = np.broadcast_to(rates, (N,)) if rates.ndim == 0 else rates
    if rates.shape != (N,):
        raise ValueError(f"fps must be a number or one value per clip ({N}), got shape {rates.shape}")
    if not (np.isfinite(rates).all() and (rates >= FPS_RANGE[0]).all() and (rates <= FPS_RANGE[1]).all()):
        raise ValueError(f"fps must be finite and within {FPS_RANGE[0]:g}-{FPS_RANGE[1]:g} frames/s")
    return arr, np.ascontiguousarray(rates, dtype=np.float64), lay


def _roots(root, shape) -> np.ndarray:
    """The kernels' pelvis paths: float64 (N, T, 2), or (N, 0, 2) when ``root`` is None."""
    N, T = shape[:2]
    if root is None:
        return np.empty((N, 0, 2))
    arr = np.asarray(root)
    if arr.ndim == 2 and N == 1:
        arr = arr[None]
    real = np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    if arr.shape != (N, T, 2) or not real:
        raise PoseDataError(f"root must be a real-valued array of shape (N, T, 2) = {(N, T, 2)} matching the clips "
                            f"(the pelvis paths of gaitfeat.make_clips(...).root), got {arr.shape} {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if np.isinf(arr).any():
        raise PoseDataError("root contains infinite values; mark unknown frames with NaN")
    return arr


def _leg_length_m(n: int, leg_length_m, height_m) -> np.ndarray | None:
    if leg_length_m is not None and height_m is not None:
        raise ValueError("give leg_length_m or height_m, not both")
    if leg_length_m is None and height_m is None:
        return None
    given, name, (lo, hi) = ((leg_length_m, "leg_length_m", LEG_LENGTH_RANGE) if leg_length_m is not None
                             else (height_m, "height_m", HEIGHT_RANGE))
    kind = np.asarray(given).dtype
    if isinstance(given, (bool, np.bool_, str, bytes)) or not (np.issubdtype(kind, np.floating)
                                                              or np.issubdtype(kind, np.integer)):
        raise ValueError(f"{name} must be a number in metres or one per clip, got {given!r}")
    value = np.asarray(given, dtype=float)
    value = np.broadcast_to(value, (n,)) if value.ndim == 0 else value
    if value.shape != (n,):
        raise ValueError(f"{name} must be a number or one value per clip ({n}), got shape {value.shape}")
    if not (np.isfinite(value) & (value >= lo) & (value <= hi)).all():
        raise ValueError(f"{name} must be within {lo:g}-{hi:g} m (a person's, in metres)")
    return value if leg_length_m is not None else value * LEG_LENGTH_PER_HEIGHT


def _run(clips, fps, layout, params, root=None, rows=False):
    """Run the kernels; with ``rows`` also return each clip's strides and steps (see ``walk_rows``)."""
    arr, rates, lay = _validate(clips, fps, layout)
    if root is None and params.camera == K.CAMERA_STATIC:
        raise ValueError("camera='static' measures distances from the pelvis path, but no root was given: pass "
                         "the Clips from gaitfeat.make_clips (or root=), or a preprocessed sequence")
    roots = _roots(root, arr.shape)
    N, T = arr.shape[:2]
    feat = np.empty((N, K.N_FEATURES))
    reason = np.zeros((N, K.N_FEATURES), dtype=np.int8)
    quality = np.empty((N, K.N_QUALITY))
    # Peaks are more than one peak window apart: this many events always fit, none is dropped.
    w = max(1, int(round(params.peak_window_s * rates.min()))) if N else 1
    events = np.empty((N, 2, 2, T // (w + 1) + 1))
    n_events = np.zeros((N, 2, 2), dtype=np.int64)
    capacity = 2 * events.shape[3] if rows else 0  # at most one stride or step per heel strike
    stride_out = np.full((N, capacity, len(K.STRIDE_FIELDS)), np.nan)
    step_out = np.full((N, capacity, len(K.STEP_FIELDS)), np.nan)
    n_rows = np.zeros((N, 2), dtype=np.int64)
    if N:
        K.extract_batch(arr, rates, _joint_table(lay), params, roots, feat, reason, quality, events, n_events,
                        stride_out, step_out, n_rows)
        infinite = np.flatnonzero(quality[:, K.Q_INFINITE])
        if infinite.size:
            raise PoseDataError(f"{infinite.size} clips contain infinite or impossible coordinates (|x| or |y| > "
                                f"{MAX_COORDINATE:g} leg lengths; first: clip {infinite[0]}); preprocess the poses "
                                "and mark missing joints with NaN")
    if rows:
        return feat, reason, quality, events, n_events, rates, (stride_out, step_out, n_rows)
    return feat, reason, quality, events, n_events, rates


def _reason_text(reason: np.ndarray) -> np.ndarray:
    """One string per clip naming each NaN feature's reason (empty when every feature was computed)."""
    out = np.full(reason.shape[0], "", dtype=object)
    if not reason.any():
        return out
    # Unique rows through a void view: much faster than np.unique(axis=0).
    keys = np.ascontiguousarray(reason).view(np.dtype((np.void, reason.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rows = reason[first]
    texts = []
    for row in rows:
        parts = []
        for code in np.unique(row[row > 0]):
            names = [K.COLUMNS[i] for i in np.flatnonzero(row == code)]
            parts.append(f"{NAN_REASONS[int(code)]}: {', '.join(names)}")
        texts.append("; ".join(parts))
    return np.asarray(texts, dtype=object)[inverse.ravel()]


def _unpack_clips(clips, fps, root):
    """Arrays from a :class:`~gaitfeat.preprocessing.Clips` (clips, its pelvis paths, its fps column), else as given."""
    if hasattr(clips, "clips") and hasattr(clips, "meta") and hasattr(clips, "root"):
        if root is None:
            root = clips.root
        if fps is None and "fps" in clips.meta:
            fps = clips.meta["fps"].to_numpy(dtype=np.float64)
        clips = clips.clips
    if fps is None:
        raise ValueError("fps is required unless clips is a gaitfeat.Clips (whose metadata has the frame rates)")
    return clips, fps, root


def extract_features(
    clips: np.ndarray,
    fps: float | np.ndarray | None = None,
    layout: str | None = None,
    *,
    root: np.ndarray | None = None,
    camera: str = DEFAULTS.camera,
    leg_length_m: float | np.ndarray | None = None,
    height_m: float | np.ndarray | None = None,
    method: str = DEFAULTS.method,
    turn_width: float = DEFAULTS.turn_width,
    turn_margin_s: float = DEFAULTS.turn_margin_s,
    min_usable_s: float = DEFAULTS.min_usable_s,
    peak_window_s: float = DEFAULTS.peak_window_s,
    prominence_window_s: float = DEFAULTS.prominence_window_s,
    prominence: float = DEFAULTS.prominence,
    velocity_prominence: float = DEFAULTS.velocity_prominence,
    index: pd.Index | None = None,
) -> pd.DataFrame:
    """Clinical gait features of every clip, one row per clip.

    Parameters
    ----------
    clips : array (N, T, V, C) or (T, V, C), or Clips
        Preprocessed clips (:func:`gaitfeat.preprocess` then
        :func:`gaitfeat.make_clips`): hip midpoint at the origin, x along the
        walking direction, y up, in leg lengths; NaN for missing joints.
        Channels beyond x, y (confidence) are ignored. The
        :class:`~gaitfeat.Clips` that ``make_clips`` returns can be passed
        whole: its pelvis paths (``.root``) and frame rates are then used.
    fps : float or array (N,)
        Frame rate (frames/s), one for all clips or one per clip; optional
        only when ``clips`` is a ``Clips``.
    layout : {"coco17", "body25"}, optional
        Inferred from V when omitted. BODY_25 uses heels (heel strike, foot
        contact) and big toes (toe-off); COCO-17 uses the ankles.
    root : array (N, T, 2), optional
        The clips' pelvis paths (``make_clips(...).root``: the hip midpoint
        before centring, leg lengths, x along the walking direction). With a
        static camera the walker's progression is measured from it (quality
        column ``spatial_method`` = "pelvis_path"); without it, or when the
        camera follows the walker, from the planted foot ("foot_contact").
    camera : {"auto", "static", "moving"}
        "auto" decides per clip: the pelvis path is used when the camera
        follows at most 5 % of the walker's progression (quality column
        ``camera_pan``, estimated from how the feet move in the image while
        flat on the floor: a static camera sees them stand still, a panning
        one sees them slide backwards). "static" uses the pelvis path
        whenever it is known; "moving" never does.
    leg_length_m, height_m : float or array (N,), optional
        The child's leg length (hip to ankle, m) or standing height (m,
        converted with :data:`LEG_LENGTH_PER_HEIGHT`); adds the columns of
        :data:`~gaitfeat.features.definitions.METRE_FEATURES` in metres.
        From a pixel scale: ``leg_length_m = leg_length_px * metres_per_px``
        (each preprocessed sequence keeps its leg length in pixels in
        ``info["scale_by_leg_length"]["leg_length"]``).
    method : {"coordinate", "velocity"}
        Gait-event detection: "coordinate" (Zeni et al. 2008: heel strike at
        the most anterior heel/ankle position relative to the pelvis,
        toe-off at the most posterior toe/ankle position) or "velocity"
        (O'Connor et al. 2007: heel strike at the fastest downward foot
        velocity, toe-off at the fastest upward one).
    turn_width : float
        A frame counts as turning when the left-right separation of its
        shoulders (twice that of the hips when a shoulder is missing) exceeds
        the clip's median by this much (leg lengths), or when the nose is
        hardly ahead of the ears (less than 0.35 of the clip's median).
    turn_margin_s : float
        Frames this close (s) to a turning frame are not used either.
    min_usable_s : float
        Fewest seconds of usable frames an angle feature needs.
    peak_window_s, prominence_window_s, prominence, velocity_prominence : float
        Event detection: an event is the extreme value within
        +-``peak_window_s``, and the signal must fall by ``prominence`` (leg
        lengths; ``velocity_prominence`` in leg lengths/s for the velocity
        method) within ``prominence_window_s`` on both sides.
    index : pandas Index, optional
        Index of the returned table (default: a RangeIndex).

    Returns
    -------
    DataFrame
        Columns :data:`~gaitfeat.FEATURES` (the 32 of ``FEATURE_SETS["all"]``),
        then :data:`~gaitfeat.EXTENDED_FEATURES` (per-side step time and
        variability, heel-first contact and ankle angles; the last six are
        NaN without heel and big-toe keypoints, as in COCO-17), units in
        :data:`~gaitfeat.FEATURE_INFO`, the metre columns if requested,
        then :data:`~gaitfeat.features.definitions.QUALITY_COLUMNS`: events
        and strides found, the usable and turning fractions, how distances
        were measured (``spatial_method``: "pelvis_path" or "foot_contact")
        with the static-camera check's ``camera_pan``, and
        ``nan_reason``, which names every NaN feature and why it could not
        be measured.

    Raises
    ------
    PoseDataError
        Wrong shape, infinite values, or coordinates that are clearly not
        preprocessed.
    LayoutError
        The layout does not match V or lacks joints the features need.
    """
    clips, fps, root = _unpack_clips(clips, fps, root)
    params = _params(turn_width=turn_width, turn_margin_s=turn_margin_s, min_usable_s=min_usable_s,
                     peak_window_s=peak_window_s, prominence_window_s=prominence_window_s, prominence=prominence,
                     method=method, velocity_prominence=velocity_prominence, camera=camera)
    feat, reason, quality, _, _, _ = _run(clips, fps, layout, params, root)
    legs = _leg_length_m(feat.shape[0], leg_length_m, height_m)
    return _table(feat, reason, quality, legs, index)


def _table(feat, reason, quality, legs, index) -> pd.DataFrame:
    """The feature table of :func:`extract_features` from the kernels' outputs (``legs``: metres per leg length)."""
    columns = {name: feat[:, i] for i, name in enumerate(K.COLUMNS)}  # FEATURES, then EXTENDED_FEATURES
    if legs is not None:
        for src, dst in METRE_FEATURES.items():
            columns[dst] = columns[src] * legs
    q_names = K.QUALITY_SLOTS[:K.Q_INFINITE]  # = QUALITY_COLUMNS[:-1] (checked when the kernels are imported)
    for i, name in enumerate(q_names):
        columns[name] = quality[:, i].astype(np.int64) if name.startswith("n_") else quality[:, i]
    columns["spatial_method"] = np.asarray(K.SPATIAL_METHODS, dtype=object)[quality[:, K.Q_SPATIAL].astype(np.int64)]
    columns["nan_reason"] = _reason_text(reason)
    return pd.DataFrame(columns, index=index)


def detect_events(
    clips: np.ndarray,
    fps: float | np.ndarray,
    layout: str | None = None,
    *,
    method: str = DEFAULTS.method,
    turn_width: float = DEFAULTS.turn_width,
    turn_margin_s: float = DEFAULTS.turn_margin_s,
    peak_window_s: float = DEFAULTS.peak_window_s,
    prominence_window_s: float = DEFAULTS.prominence_window_s,
    prominence: float = DEFAULTS.prominence,
    velocity_prominence: float = DEFAULTS.velocity_prominence,
) -> pd.DataFrame:
    """Heel strikes and toe-offs of each foot in each clip.

    Parameters are those of :func:`extract_features`. No event is reported in
    frames near a turn (see ``turn_width``, ``turn_margin_s``), or where the
    foot or hips are missing.

    Returns
    -------
    DataFrame
        Columns :data:`EVENT_COLUMNS`: ``clip`` (row of ``clips``), ``side``
        ("left"/"right"), ``event`` ("heel_strike"/"toe_off"), ``frame``
        (sub-frame position within the clip, float) and ``time_s``; sorted by
        clip and frame.
    """
    params = _params(turn_width=turn_width, turn_margin_s=turn_margin_s, min_usable_s=DEFAULTS.min_usable_s,
                     peak_window_s=peak_window_s, prominence_window_s=prominence_window_s, prominence=prominence,
                     method=method, velocity_prominence=velocity_prominence)
    _, _, _, events, n_events, rates = _run(clips, fps, layout, params)
    parts = {"clip": [], "side": [], "event": [], "frame": []}
    sides, kinds = ("left", "right"), ("heel_strike", "toe_off")
    for s in range(2):
        for k in range(2):
            counts = n_events[:, s, k]
            clip_idx = np.repeat(np.arange(len(counts)), counts)
            mask = np.arange(events.shape[3])[None, :] < counts[:, None]
            parts["clip"].append(clip_idx)
            parts["side"].append(np.full(clip_idx.size, sides[s], dtype=object))
            parts["event"].append(np.full(clip_idx.size, kinds[k], dtype=object))
            parts["frame"].append(events[:, s, k][mask])
    table = pd.DataFrame({k: np.concatenate(v) for k, v in parts.items()})
    table["clip"] = table["clip"].astype(np.int64)
    table["time_s"] = table["frame"] / rates[table["clip"].to_numpy()] if len(table) else np.empty(0)
    return table.sort_values(["clip", "frame", "side"], kind="stable").reset_index(drop=True)


def iter_features(
    chunks: Iterable[np.ndarray] | np.ndarray,
    fps: float,
    layout: str | None = None,
    *,
    chunk_size: int = 4096,
    **options,
) -> Iterator[pd.DataFrame]:
    """Stream features over an arbitrarily long sequence of clips with bounded memory.

    Parameters
    ----------
    chunks : iterable of arrays (n_i, T, V, C), or one array (N, T, V, C)
        For example batches read from disk, or a memory-mapped array (which
        is then read ``chunk_size`` clips at a time).
    fps : float
        Frame rate shared by the stream's clips.
    layout : str, optional
    chunk_size : int
        Clips per kernel call when ``chunks`` is one array.
    **options
        Passed to :func:`extract_features`.

    Yields
    ------
    DataFrame
        The features of each chunk; the index counts clips from the start of
        the stream.
    """
    if isinstance(chunk_size, (bool, np.bool_)) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a whole number >= 1, got {chunk_size!r}")
    if isinstance(chunks, np.ndarray):
        array = chunks
        chunks = (array[i : i + chunk_size] for i in range(0, array.shape[0], chunk_size))
    start = 0
    for chunk in chunks:
        n = np.shape(chunk)[0]
        index = pd.RangeIndex(start, start + n)
        yield extract_features(chunk, fps, layout, index=index, **options)
        start += n
