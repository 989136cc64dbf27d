"""One video, start to finish: the task an archive run sends to a worker.

:func:`process_video` reads a video's OpenPose folder, preprocesses it,
cuts clips and measures them, and measures the whole walk. It never raises
for a bad video: any exception (a :class:`~gaitfeat.errors.GaitError` about
the data, or an unexpected one, which is counted apart) becomes a skip
record naming the stage and the reason. It takes and returns only small
values (a path in, two small DataFrames out), so it can run in another
process or on another machine.
"""

from __future__ import annotations

import inspect
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from gaitfeat.errors import GaitError
from gaitfeat.extract.videos import VideoTask, skip_record
from gaitfeat.features import extract_features, walk_features
from gaitfeat.features._kernels import DEFAULTS
from gaitfeat.features.definitions import EXTENDED_FEATURES, FEATURES, METRE_FEATURES, QUALITY_COLUMNS
from gaitfeat.features.walk import WALK_COLUMNS
from gaitfeat.io import read_openpose
from gaitfeat.layouts import LAYOUTS
from gaitfeat.preprocessing import make_clips, preprocess

__all__ = ["ExtractSettings", "VideoResult", "process_video", "clip_columns", "walk_columns", "arrow_schema",
           "CLIP_ID_COLUMNS", "READER_COLUMNS", "STAGES"]

#: Where a video can fail, in order. ``find`` and ``labels`` happen while planning the run
#: (:mod:`gaitfeat.extract.videos`), ``worker`` when the process running the task is lost.
STAGES = ("find", "labels", "read", "preprocess", "clips", "features", "walk", "worker")
#: Columns before the features in the per-clip table (from the clip metadata of :func:`gaitfeat.make_clips`).
CLIP_ID_COLUMNS = ("video_id", "patient_id", "clip_start", "clip_stop", "fps", "valid_fraction")
#: Counts from ``read_openpose``'s ``info`` copied to the per-walk table: ``{column: info key}``.
READER_COLUMNS = {
    "n_files": "files", "n_gap_frames": "gap_frames", "n_empty_frames": "empty_frames",
    "n_multi_person_frames": "multi_person_frames", "n_subject_missing_frames": "subject_missing_frames",
    "n_tracks": "tracks",
}
#: Columns of the per-walk table before the features: identity, size of the video, its clips, the reader's counts.
WALK_ID_COLUMNS = ("video_id", "patient_id", "fps", "n_frames", "duration_s", "n_windows", "n_clips",
                   *READER_COLUMNS, "leg_length_px")
_TEXT_COLUMNS = {"video_id", "patient_id", "spatial_method", "nan_reason"}
#: The walk table's spreads in metres (:func:`gaitfeat.walk_features` with a body size).
_WALK_METRE_IQR = ("stride_length_iqr_m", "walking_speed_iqr_m")
_DATA_ERRORS = (GaitError, OSError, MemoryError)


@dataclass(frozen=True)
class ExtractSettings:
    """How every video is turned into rows (the same for the whole run; recorded in the output).

    Attributes
    ----------
    layout : {"coco17", "body25"}
        Skeleton layout the features are measured on. ``coco17`` (default)
        gives the features the models of ``evaluation.run`` are trained on;
        ``body25`` uses the heels and big toes for gait events.
    window, stride : int
        Clip length and step, frames.
    min_valid, conf : float
        A clip is kept when at least ``min_valid`` of its keypoints have
        confidence >= ``conf``.
    metres : bool
        Write the metre columns (``step_length_m``, ...): set when the label
        table gives ``leg_length_m`` or ``height_m``; NaN for a video without one.
    """

    layout: str = "coco17"
    window: int = 124
    stride: int = 12
    min_valid: float = 0.8
    conf: float = 0.2
    metres: bool = False

    def check(self) -> ExtractSettings:
        """Raise ``ValueError`` naming the first bad setting; return ``self``."""
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {sorted(LAYOUTS)}, got {self.layout!r}")
        for name in ("window", "stride"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a whole number of frames >= 1, got {value!r}")
        for name in ("min_valid", "conf"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number within 0-1, got {value!r}")
        return self

    def describe(self) -> dict:
        """Every setting that shapes the numbers, the defaults of preprocessing and feature engine included."""
        defaults = {name: p.default for name, p in inspect.signature(preprocess).parameters.items()
                    if p.default is not inspect.Parameter.empty and name != "layout"}
        return {"layout": self.layout, "preprocess": defaults,
                "clips": {"window": self.window, "stride": self.stride, "min_valid": self.min_valid, "conf": self.conf},
                "features": {**DEFAULTS._asdict(), "pelvis_path": True}, "metres": self.metres}


@dataclass
class VideoResult:
    """What one task returns: the video's rows, or why it was skipped.

    Attributes
    ----------
    video_id : str
    clips : DataFrame or None
        One row per clip kept (:func:`clip_columns`); None when the video is
        skipped or shorter than one window.
    walk : DataFrame or None
        One row (:func:`walk_columns`); None when skipped.
    skip : dict or None
        The skip record (:func:`gaitfeat.extract.videos.skip_record`).
    seconds : dict
        Time per stage, s.
    """

    video_id: str
    clips: pd.DataFrame | None = None
    walk: pd.DataFrame | None = None
    skip: dict | None = None
    seconds: dict = field(default_factory=dict)

    @property
    def n_clips(self) -> int:
        return 0 if self.clips is None else len(self.clips)


def _metre_columns(settings: ExtractSettings) -> list[str]:
    return list(METRE_FEATURES.values()) if settings.metres else []


def clip_columns(settings: ExtractSettings) -> list[str]:
    """Columns of the per-clip table, in order (label columns follow)."""
    return [*CLIP_ID_COLUMNS, *FEATURES, *EXTENDED_FEATURES, *_metre_columns(settings), *QUALITY_COLUMNS]


def walk_columns(settings: ExtractSettings) -> list[str]:
    """Columns of the per-walk table, in order (label columns follow)."""
    iqr_m = list(_WALK_METRE_IQR) if settings.metres else []
    return [*WALK_ID_COLUMNS, *FEATURES, *EXTENDED_FEATURES, *_metre_columns(settings), *WALK_COLUMNS, *iqr_m,
            *QUALITY_COLUMNS]


def arrow_schema(columns: list[str], labels: pa.Schema | None = None) -> pa.Schema:
    """The Parquet schema of a table: fixed by the column names, never by the values of one batch.

    Text columns are strings, ``n_*``, ``clip_start`` and ``clip_stop`` are
    64-bit integers, everything else is float64; the label columns keep the
    label table's types. A batch whose strings are all missing therefore has
    the same schema as any other.
    """
    fields = []
    for name in columns:
        if name in _TEXT_COLUMNS:
            fields.append(pa.field(name, pa.string()))
        elif name.startswith("n_") or name in ("clip_start", "clip_stop"):
            fields.append(pa.field(name, pa.int64()))
        else:
            fields.append(pa.field(name, pa.float64()))
    return pa.schema(fields + (list(labels) if labels is not None else []))


def _size(task: VideoTask) -> dict:
    if task.leg_length_m is not None:
        return {"leg_length_m": task.leg_length_m}
    return {"height_m": task.height_m} if task.height_m is not None else {}


def process_video(task: VideoTask, settings: ExtractSettings, threads: int | None = None) -> VideoResult:
    """Read, preprocess, clip and measure one video; never raises for a bad video.

    Parameters
    ----------
    task : VideoTask
    settings : ExtractSettings
    threads : int, optional
        Threads numba and BLAS may use (1 on a Dask worker, so that one
        single-threaded worker per core does not oversubscribe the cores);
        None leaves them as they are.

    Returns
    -------
    VideoResult
        Per-clip rows: :data:`CLIP_ID_COLUMNS` then the columns of
        :func:`gaitfeat.extract_features` on the video's :class:`~gaitfeat.Clips`
        (with their pelvis paths). Per-walk row: :data:`WALK_ID_COLUMNS` then
        the columns of :func:`gaitfeat.walk_features` on the preprocessed
        video. A video shorter than one window has a walk row and no clip
        rows. Any exception becomes ``skip`` (``unexpected`` when it is not a
        data error: a ``GaitError``, ``OSError`` or ``MemoryError``).
    """
    if threads is not None:
        from gaitfeat.parallel import limit_threads

        limit_threads(threads)
    seconds: dict[str, float] = {}
    stage = "read"
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = now - clock
        clock = now

    try:
        seq = read_openpose(task.folder, task.fps, patient_id=task.patient_id, video_id=task.video_id)
        lap("read")
        stage = "preprocess"
        clean = preprocess(seq.to_layout(settings.layout) if seq.layout != settings.layout else seq)
        lap("preprocess")
        stage = "clips"
        clips = None
        if clean.n_frames >= settings.window:   # shorter walks still get their walk row
            clips = make_clips(clean, window=settings.window, stride=settings.stride, min_valid=settings.min_valid,
                               conf=settings.conf)
        lap("clips")
        stage = "features"
        rows = None
        if clips is not None and len(clips.clips):
            features = extract_features(clips, **_size(task))
            ids = clips.meta[list(CLIP_ID_COLUMNS)].reset_index(drop=True)
            rows = pd.concat([ids, features.reset_index(drop=True)], axis=1).reindex(columns=clip_columns(settings))
        lap("features")
        stage = "walk"
        walk = walk_features(clean, on_error="skip", **_size(task))
        info = seq.info.get("read_openpose", {})
        walk["video_id"], walk["patient_id"] = task.video_id, task.patient_id
        walk["n_windows"] = 0 if clips is None else clips.report.windows_total
        walk["n_clips"] = 0 if rows is None else len(rows)
        for column, key in READER_COLUMNS.items():
            walk[column] = int(info.get(key, 0))
        walk["leg_length_px"] = float(clean.info.get("scale_by_leg_length", {}).get("leg_length", np.nan))
        walk = walk.reindex(columns=walk_columns(settings))
        lap("walk")
    except Exception as exc:  # noqa: BLE001 - one bad video never stops the batch; unexpected ones are flagged
        unexpected = not isinstance(exc, _DATA_ERRORS)
        reason = str(exc) or type(exc).__name__
        if unexpected:   # where it happened, for a bug report
            last = traceback.extract_tb(exc.__traceback__)[-1]
            reason = f"{reason} (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name})"
        return VideoResult(task.video_id, skip=skip_record(task.video_id, stage, exc, unexpected=unexpected,
                                                           reason=reason), seconds=seconds)
    return VideoResult(task.video_id, rows, walk, None, seconds)
