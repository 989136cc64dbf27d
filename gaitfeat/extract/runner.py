"""The archive run: plan the videos, run one task per video (here or on Dask), write as results arrive.

Tasks return to this process as they finish (in any order); this process
alone writes, batch by batch (:class:`~gaitfeat.extract.store.PartStore`), so
a crash or Ctrl-C loses at most the batch being gathered, and nothing on
Ctrl-C, which commits what has arrived before it stops.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numba
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from gaitfeat import __version__
from gaitfeat.errors import LabelError
from gaitfeat.extract import tasks
from gaitfeat.extract.store import SCHEMA, SKIPPED_COLUMNS, PartStore, output_paths, to_arrow
from gaitfeat.extract.tasks import ExtractSettings, VideoResult, arrow_schema, clip_columns, walk_columns
from gaitfeat.extract.videos import VideoPlan, VideoTask, plan_videos, skip_record
from gaitfeat.parallel import dask_client, parse_scheduler

__all__ = ["extract_archive", "ExtractSummary", "FLUSH_EVERY", "FLUSH_SECONDS"]

#: A batch is committed when it holds this many videos ...
FLUSH_EVERY = 64
#: ... or when this many seconds have passed since the last commit, whichever comes first: a killed run
#: loses at most that much work.
FLUSH_SECONDS = 30.0


@dataclass
class ExtractSummary:
    """What an archive run did.

    Attributes
    ----------
    out, walks, skipped_path : Path
        The per-clip table, the per-walk table, the skipped-videos table.
    videos : int
        Videos in the archive (planned, including those skipped while planning).
    done : int
        Videos in the output (this run and earlier runs of a resumed output).
    done_before : int
        Of those, written by earlier runs (``--resume``).
    skipped : DataFrame
        The skipped-videos table (``video_id, stage, error, reason, unexpected``).
    clips : int
        Rows of the per-clip table.
    seconds : float
        Wall time of this run, s.
    processed : int
        Videos this run processed (done or skipped by a task).
    unlabelled_folders : list of str
        Folders no label row names (not extracted).
    scheduler : str
    """

    out: Path
    walks: Path
    skipped_path: Path
    videos: int = 0
    done: int = 0
    done_before: int = 0
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(SKIPPED_COLUMNS)))
    clips: int = 0
    seconds: float = 0.0
    processed: int = 0
    unlabelled_folders: list[str] = field(default_factory=list)
    scheduler: str = "serial"

    @property
    def videos_per_s(self) -> float:
        """Videos this run processed per second of wall time."""
        return self.processed / self.seconds if self.seconds > 0 else float("nan")

    def skipped_by_reason(self) -> dict[str, int]:
        """``{"stage: error": count}`` of the skipped videos, most frequent first."""
        keys = [f"{s}: {e}" + (" (unexpected)" if u else "")
                for s, e, u in zip(self.skipped["stage"], self.skipped["error"], self.skipped["unexpected"])]
        return dict(Counter(keys).most_common())

    def format(self) -> str:
        """A few lines for the terminal."""
        lines = [f"videos: {self.done} of {self.videos} extracted"
                 + (f" ({self.done_before} by earlier runs)" if self.done_before else "")
                 + f", {len(self.skipped)} skipped; {self.clips} clips",
                 (f"time: {self.seconds:.1f} s for {self.processed} videos ({self.videos_per_s:.2f} videos/s, "
                  f"scheduler {self.scheduler})")]
        for reason, n in self.skipped_by_reason().items():
            lines.append(f"  skipped {n}: {reason}")
        if len(self.skipped) and bool(self.skipped["unexpected"].any()):
            lines.append("  (unexpected errors are probably bugs: the reasons name where they happened)")
        if self.unlabelled_folders:
            shown = ", ".join(self.unlabelled_folders[:5]) + (" ..." if len(self.unlabelled_folders) > 5 else "")
            lines.append(f"folders without a label row (not extracted): {len(self.unlabelled_folders)}: {shown}")
        lines.append(f"written: {self.out}, {self.walks.name}, {self.skipped_path.name}")
        return "\n".join(lines)


class _Collector:
    """Buffers finished videos in this process and commits them in batches."""

    def __init__(self, store: PartStore, plan: VideoPlan, clip_schema: pa.Schema, walk_schema: pa.Schema,
                 flush_every: int, flush_seconds: float):
        self.store, self.plan = store, plan
        self.clip_schema, self.walk_schema = clip_schema, walk_schema
        self.flush_every, self.flush_seconds = flush_every, flush_seconds
        self.clips: list[pa.Table] = []
        self.walks: list[pa.Table] = []
        self.videos: dict[str, dict] = {}
        self.skips: list[dict] = []
        self.last = time.monotonic()
        self.n_skipped = self.n_done = 0

    def _with_labels(self, frame: pd.DataFrame, video_id: str) -> pd.DataFrame:
        labels = self.plan.labels
        if labels is None or not len(labels.columns):
            return frame
        # Rows taken from the whole label table keep its column types in every batch.
        block = labels.loc[[video_id] * len(frame)].reset_index(drop=True)
        return pd.concat([frame.reset_index(drop=True), block], axis=1)

    def add(self, result: VideoResult) -> None:
        if result.skip is not None:
            self.skips.append(result.skip)
            self.n_skipped += 1
        else:
            if result.n_clips:
                self.clips.append(to_arrow(self._with_labels(result.clips, result.video_id), self.clip_schema))
            self.walks.append(to_arrow(self._with_labels(result.walk, result.video_id), self.walk_schema))
            self.videos[result.video_id] = {"clips": result.n_clips, "seconds": result.seconds}
            self.n_done += 1
        if len(self.videos) + len(self.skips) >= self.flush_every or time.monotonic() - self.last >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self.videos or self.skips:
            self.store.commit(pa.concat_tables(self.clips) if self.clips else None,
                              pa.concat_tables(self.walks) if self.walks else None, self.videos, self.skips)
        self.clips, self.walks, self.videos, self.skips = [], [], {}, []
        self.last = time.monotonic()


def _serial(todo: list[VideoTask], settings: ExtractSettings) -> Iterator[VideoResult]:
    for task in todo:
        # Looked up on the module at each call, so a test can stand in for it.
        yield tasks.process_video(task, settings)


def _dask(client, todo: list[VideoTask], settings: ExtractSettings) -> Iterator[VideoResult]:
    """Results as they finish, with a few tasks per worker thread in flight (so memory stays bounded
    however large the archive, and workers that join a remote cluster later get work too)."""
    from dask.distributed import as_completed

    pending = iter(enumerate(todo))
    futures = {}
    token = os.urandom(4).hex()
    cap = 0

    def fill(ask: bool) -> list:
        nonlocal cap
        if ask:  # the worker count is asked of the scheduler now and then, not after every task
            cap = 4 * max(1, sum(client.nthreads().values()))
        new = []
        while len(futures) < cap and (item := next(pending, None)) is not None:
            index, task = item
            # Only the task (a path and a few numbers) travels; the worker reads the files itself.
            future = client.submit(tasks.process_video, task, settings, 1, key=f"gaitfeat-extract-{token}-{index}")
            futures[future] = task
            new.append(future)
        return new

    queue = as_completed(fill(True))
    for count, future in enumerate(queue, 1):
        task = futures.pop(future)
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - the worker died or the result was lost: the video is skipped
            result = VideoResult(task.video_id, skip=skip_record(task.video_id, "worker", exc, unexpected=True,
                                                                 reason=str(exc) or type(exc).__name__))
        del future    # the cluster forgets the result once nothing here holds its future
        for new in fill(count % 32 == 0):
            queue.add(new)
        yield result


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _label_fields(plan: VideoPlan, settings: ExtractSettings, labels) -> pa.Schema | None:
    """The label columns' Parquet fields, after renaming those that clash with an output column to ``label_<name>``."""
    if plan.labels is None:
        return None
    taken = set(clip_columns(settings)) | set(walk_columns(settings))
    plan.labels.columns = [f"label_{c}" if c in taken else c for c in plan.labels.columns]
    twice = plan.labels.columns[plan.labels.columns.duplicated()]
    if len(twice):
        raise LabelError(f"{labels}: label columns {sorted(set(twice))} would be written twice (a name is both an "
                         "output column and, with label_ before it, another label)")
    return pa.Schema.from_pandas(plan.labels, preserve_index=False).remove_metadata()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def extract_archive(
    root: str | Path,
    out: str | Path,
    *,
    labels: str | Path | None = None,
    fps: float | None = None,
    scheduler: str | None = "serial",
    resume: bool = False,
    retry_skipped: bool = False,
    overwrite: bool = False,
    layout: str = "coco17",
    window: int = 124,
    stride: int = 12,
    min_valid: float = 0.8,
    conf: float = 0.2,
    progress: bool = False,
    flush_every: int = FLUSH_EVERY,
    flush_seconds: float = FLUSH_SECONDS,
    command: str | None = None,
) -> ExtractSummary:
    """Extract clip and walk features from every video of an OpenPose archive into Parquet files.

    One task per video (read, preprocess, clip, measure:
    :func:`~gaitfeat.extract.tasks.process_video`); results are committed in
    batches as they arrive and combined at the end, sorted by video, so the
    output does not depend on the scheduler. A video that fails anywhere is
    skipped and recorded with its stage and reason; it never stops the run.

    Parameters
    ----------
    root : path
        Folder of OpenPose JSON folders, one per video (``video_id`` = folder name).
    out : path
        The per-clip table, ``NAME.parquet``; ``NAME.walks.parquet`` (one row
        per video) and ``NAME.skipped.csv`` are written beside it, and
        ``NAME.parts/`` while the run goes on.
    labels : path, optional
        Label table (``video_id``, optional ``patient_id``, ``fps``,
        ``leg_length_m`` or ``height_m``, labels): only its videos are
        extracted and its other columns are joined to their rows (named
        ``label_<name>`` where a name is already an output column).
    fps : float, optional
        Frame rate, frames/s, of videos without an ``fps`` label; required without ``labels``.
    scheduler : str
        ``"serial"``, ``"local:N"`` or ``"tcp://HOST:PORT"`` (:mod:`gaitfeat.parallel`).
        Dask workers must see ``root`` at the same path.
    resume : bool
        Continue an interrupted run into the same ``out``: videos already
        committed are not redone; neither are videos recorded as skipped,
        unless ``retry_skipped``. The settings must be the same.
    overwrite : bool
        Replace an existing output (without it, and without ``resume``, an
        existing output is refused).
    layout, window, stride, min_valid, conf
        :class:`~gaitfeat.extract.tasks.ExtractSettings`.
    progress : bool
        A progress bar on stderr.
    flush_every, flush_seconds : int, float
        Commit a batch every ``flush_every`` videos or ``flush_seconds`` s.
    command : str, optional
        The command line, for the provenance.

    Returns
    -------
    ExtractSummary

    Raises
    ------
    ValueError
        Bad settings or scheduler; a resume with other settings.
    FileExistsError
        The output exists (see ``resume``, ``overwrite``).
    GaitError
        No video to extract; an unusable label table.
    KeyboardInterrupt
        After committing every video finished so far (resume with ``resume=True``).
    """
    started, clock = _now(), time.perf_counter()
    sched = parse_scheduler(scheduler)
    paths = output_paths(out)
    if isinstance(flush_every, bool) or not isinstance(flush_every, int) or flush_every < 1:
        raise ValueError(f"flush_every must be a whole number >= 1, got {flush_every!r}")
    plan = plan_videos(root, labels=labels, fps=fps, exclude=paths.parts)
    settings = ExtractSettings(layout, window, stride, min_valid, conf, plan.metres).check()
    label_fields = _label_fields(plan, settings, labels)
    clip_schema = arrow_schema(clip_columns(settings), label_fields)
    walk_schema = arrow_schema(walk_columns(settings), label_fields)
    source = {"kind": "openpose", "root": os.path.abspath(root),
              "labels": None if labels is None else os.path.abspath(labels),
              "labels_sha256": None if labels is None else _sha256(Path(labels)), "fps": fps}
    fingerprint = {"schema": SCHEMA, "gaitfeat": __version__, "source": source, "settings": settings.describe()}
    with dask_client(sched) as client:
        # Opened once the cluster is up: a scheduler that cannot be reached leaves no parts folder behind.
        store = PartStore.open(out, fingerprint, started=started, resume=resume, overwrite=overwrite)
        before = store.committed()
        todo = [t for t in plan.tasks if t.video_id not in before.done
                and (retry_skipped or t.video_id not in before.skipped)]
        collector = _Collector(store, plan, clip_schema, walk_schema, flush_every, flush_seconds)
        bar = tqdm(total=len(plan.tasks), initial=len(plan.tasks) - len(todo), unit="video", desc="extract",
                   disable=not progress, file=sys.stderr, dynamic_ncols=True)
        try:
            for result in _serial(todo, settings) if client is None else _dask(client, todo, settings):
                collector.add(result)
                bar.update(1)
                bar.set_postfix(skipped=collector.n_skipped, refresh=False)
        finally:
            bar.close()
            collector.flush()  # on Ctrl-C too: what has arrived is kept for --resume
    after = store.committed()
    skipped = pd.DataFrame(plan.skipped + [r for v, r in after.skipped.items() if v not in after.done],
                           columns=list(SKIPPED_COLUMNS))
    skipped = skipped.sort_values(["video_id", "stage"], kind="stable").reset_index(drop=True)
    provenance = {
        **fingerprint, "command": command or "gaitfeat.extract.extract_archive", "started": store.run["started"],
        "finished": _now(), "runs": store.run["runs"], "scheduler": str(sched),
        "versions": {"python": platform.python_version(), "numba": numba.__version__, "pyarrow": pa.__version__,
                     "pandas": pd.__version__},
        "videos": {"planned": len(plan.tasks) + len(plan.skipped), "done": len(after.done),
                   "skipped": len(skipped), "unlabelled_folders": len(plan.unlabelled_folders)},
        "stage_seconds": after.seconds,
    }
    n_clips, _ = store.finish(clip_schema, walk_schema, skipped, provenance)
    seconds = time.perf_counter() - clock
    return ExtractSummary(paths.features, paths.walks, paths.skipped, len(plan.tasks) + len(plan.skipped),
                          len(after.done), len(before.done), skipped, n_clips, seconds,
                          collector.n_done + collector.n_skipped, plan.unlabelled_folders, str(sched))
