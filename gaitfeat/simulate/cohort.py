"""Simulated cohorts: many children (or walkers of the gait classes), 1-3 visits each, windowed into labelled
clips with per-clip truth."""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gaitfeat.errors import GaitError, ReaderError
from gaitfeat.labels import GAIT_CLASSES
from gaitfeat.io._frames import read_regular_file
from gaitfeat.io._label_table import MAX_CSV_BYTES
from gaitfeat.jsonable import to_jsonable
from gaitfeat.io.npz import MAX_NPZ_BYTES, read_clips_npz, read_npz, write_clips_npz, write_npz
from gaitfeat.pose import PoseSequence
from gaitfeat.pose3d import PoseSequence3D
from gaitfeat.preprocessing import make_clips, preprocess_many
from gaitfeat.simulate.gdi import _reference as gdi_reference
from gaitfeat.simulate.cp import param_columns
from gaitfeat.simulate.pathology import draw_child, next_visit
from gaitfeat.simulate.taxonomy import TAXONOMY_PREVALENCE, class_name, draw_class
from gaitfeat.simulate.truth import TRUTH_COLUMNS, allocate, clip_truth
from gaitfeat.simulate.video import simulate_walk
from gaitfeat.simulate.views import CAMERAS, read_sequences3d, write_sequences3d

__all__ = ["Cohort", "simulate_cohort", "simulate_taxonomy_cohort", "DEFAULT_PREVALENCE", "TRUTH_COLUMNS"]

#: GMFCS I-IV prevalence of the cohort (Gillette release, 2,946 clips) of Yang, Chen & He, "Multimodal
#: Fusion of Skeleton Dynamics and Clinical Gait Features for Video-Based Cerebral Palsy Severity Assessment".
DEFAULT_PREVALENCE = (0.35, 0.38, 0.25, 0.02)

_FORMAT = "gaitfeat.cohort"
_VERSION = 1


@dataclass
class Cohort:
    """A simulated cohort.

    Attributes
    ----------
    clips : ndarray float32 (N, T, V, 3)
        Preprocessed clips (default: COCO-17, 124 frames, the windowing and
        quality filter of Yang, Chen & He).
    meta : DataFrame
        One row per clip: IDs, window, quality, and the video's labels
        (``gmfcs``, ``gdi``, ``speed``, ``cadence``, ...).
    truth : DataFrame
        One row per clip (same order): the true gait parameters over the
        clip's walking frames (:data:`TRUTH_COLUMNS`).
    videos : DataFrame
        One row per video: IDs, visit number, labels, the child's parameters.
    events : DataFrame
        True heel strikes and toe-offs: ``video_id``, ``side``, ``event``,
        ``frame`` (in the video), ``time_s``, step and stride lengths (m).
    frames : DataFrame
        Per-frame truth for every video (joint angles, trunk pitch, phases,
        walking direction, pelvis position).
    sequences : list of PoseSequence or PoseSequence3D
        Each video's raw detector output (BODY_25, pixels); with ``dims=3``
        the raw lifter output (BODY_25, camera coordinates, m).
    config : dict
        How the cohort was made (reproduces it with :func:`simulate_cohort`).
    report : dict
        Windows kept and dropped, videos that could not be preprocessed.
    root : ndarray (N, T, 2) or None
        The clips' pelvis paths (:attr:`gaitfeat.Clips.root`): pass them to
        :func:`gaitfeat.extract_features` (``root=``) so that a static camera
        is measured from the pelvis progression. Saved as ``root.npy``.
    """

    clips: np.ndarray
    meta: pd.DataFrame
    truth: pd.DataFrame
    videos: pd.DataFrame
    events: pd.DataFrame
    frames: pd.DataFrame
    sequences: list[PoseSequence | PoseSequence3D] = field(repr=False)
    config: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)
    root: np.ndarray | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        by = "gait_class" if self.config.get("classes") and "gait_class" in self.meta else "gmfcs"
        counts = self.meta[by].value_counts().sort_index().to_dict() if len(self.meta) else {}
        return (
            f"Cohort(simulated: {self.videos['patient_id'].nunique()} patients, {len(self.videos)} videos, "
            f"{len(self.meta)} clips {tuple(self.clips.shape[1:])}, clips per "
            f"{'gait class' if by == 'gait_class' else 'GMFCS level'} {counts})"
        )

    def clip_events(self, i: int) -> pd.DataFrame:
        """True events inside clip ``i``, with ``frame`` relative to the clip start."""
        row = self.meta.iloc[i]
        ev = self.events[(self.events["video_id"] == row["video_id"])
                         & (self.events["frame"] >= row["clip_start"]) & (self.events["frame"] < row["clip_stop"])].copy()
        ev["frame"] -= int(row["clip_start"])
        return ev.reset_index(drop=True)

    def save(self, path: str | Path) -> Path:
        """Write the cohort to a folder: npz for arrays, CSV for tables, JSON for settings (no pickle)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_clips_npz(path / "clips.npz", self.clips, self.meta)
        if any(isinstance(s, PoseSequence3D) for s in self.sequences):
            write_sequences3d(path / "sequences3d.npz", self.sequences)
        else:
            write_npz(path / "sequences.npz", self.sequences)
        self.truth.to_csv(path / "truth.csv", index=False)
        self.videos.to_csv(path / "videos.csv", index=False)
        self.events.to_csv(path / "events.csv", index=False)
        arrays = {c: self.frames[c].to_numpy() for c in self.frames.columns}
        # Text columns as fixed-width unicode: object arrays would need pickle.
        arrays = {c: a.astype(str) if a.dtype == object else a for c, a in arrays.items()}
        np.savez_compressed(path / "frames.npz", **arrays)
        if self.root is not None:
            np.save(path / "root.npy", self.root, allow_pickle=False)
        with open(path / "cohort.json", "w", encoding="utf-8") as fh:
            record = {"format": _FORMAT, "version": _VERSION, "config": self.config, "report": self.report}
            json.dump(to_jsonable(record), fh, indent=1, default=str)   # str: anything else JSON cannot hold (paths)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Cohort:
        """Read a cohort written by :meth:`save`.

        Every file is checked before use (regular files of bounded size, no
        pickle, tables that parse, one truth row per clip, a pelvis path of the
        clips' shape with finite or missing values); anything else is a
        :class:`~gaitfeat.errors.ReaderError` naming the file.
        """
        path = Path(path)
        if not (path / "cohort.json").exists():
            raise ReaderError(f"{path}: not a saved cohort (no cohort.json)", path)
        try:
            head = json.loads(read_regular_file(path / "cohort.json", MAX_CSV_BYTES, what="a cohort description"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ReaderError(f"{path / 'cohort.json'}: corrupt JSON ({exc})", path) from None
        if not isinstance(head, dict) or head.get("format") != _FORMAT:
            raise ReaderError(f"{path}: not a saved cohort", path)
        if not isinstance(head.get("config"), dict) or not isinstance(head.get("report"), dict):
            raise ReaderError(f"{path / 'cohort.json'}: 'config' and 'report' must be objects", path)
        clips, meta, _ = read_clips_npz(path / "clips.npz")
        frames = pd.DataFrame(_arrays(path / "frames.npz", one_length=True))
        videos = _table(path / "videos.csv", dtype={"patient_id": str, "video_id": str})
        events = _table(path / "events.csv", dtype={"video_id": str})
        truth = _table(path / "truth.csv")
        if len(truth) != len(clips):
            raise ReaderError(f"{path / 'truth.csv'}: {len(truth)} rows for {len(clips)} clips", path)
        text = [c for c in truth.columns if not pd.api.types.is_numeric_dtype(truth[c])]
        if text:
            raise ReaderError(f"{path / 'truth.csv'}: columns {text[:5]} must hold numbers", path)
        root = None
        if (path / "root.npy").exists() or (path / "root.npy").is_symlink():
            root = _arrays(path / "root.npy")["root"]
            if root.shape != (*clips.shape[:2], 2) or not np.issubdtype(root.dtype, np.floating):
                raise ReaderError(f"{path / 'root.npy'}: {root.dtype} {root.shape} does not match the clips "
                                  f"{clips.shape}", path)
            if (np.abs(root[~np.isnan(root)]) > 1e6).any():
                raise ReaderError(f"{path / 'root.npy'}: infinite or impossible pelvis positions", path)
        for col in ("patient_id", "video_id"):
            meta[col] = meta[col].astype(str)
        three_d = (path / "sequences3d.npz").exists() or (path / "sequences3d.npz").is_symlink()
        sequences = read_sequences3d(path / "sequences3d.npz") if three_d else read_npz(path / "sequences.npz")
        return cls(clips, meta, truth, videos, events, frames, sequences, head["config"], head["report"], root)


def _table(p: Path, **options) -> pd.DataFrame:
    """A CSV table of a saved cohort (a ReaderError naming the file if it cannot be read)."""
    data = read_regular_file(p, MAX_CSV_BYTES, what="a cohort table")
    try:
        return pd.read_csv(io.BytesIO(data), **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise ReaderError(f"{p}: not a readable CSV table ({exc})", p) from None


def _arrays(p: Path, one_length: bool = False) -> dict[str, np.ndarray]:
    """Arrays of a saved cohort's ``.npz`` (or ``{"root": array}`` of a ``.npy``), never unpickled."""
    data = read_regular_file(p, MAX_NPZ_BYTES, what="a cohort array file")
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"root": loaded}
        with loaded:
            arrays = {k: loaded[k] for k in loaded.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ReaderError(f"{p}: not a readable array file ({exc})", p) from None
    if one_length and arrays:
        shapes = {a.shape for a in arrays.values()}
        if any(len(s) != 1 for s in shapes) or len({s[0] for s in shapes}) != 1:
            raise ReaderError(f"{p}: the per-frame columns must be 1-D arrays of one length, got {sorted(shapes)}", p)
    return arrays


def _n_workers(n_jobs: int | None, n_patients: int) -> int:
    cores = os.cpu_count() or 1
    n = cores if n_jobs is None or n_jobs < 1 else n_jobs
    # Starting workers costs more than it saves on small cohorts.
    return 1 if n_patients < 40 else max(1, min(n, cores))


def _simulate_patient(job: tuple, settings: dict) -> list[tuple]:
    """All videos of one child: (walk, video row, preprocessed sequence or the reason it failed)."""
    i, group, seed = job
    rng = np.random.default_rng(seed)
    # Cameras of a "mixed" cohort from a stream of their own: the children's walks do not depend on them.
    camera_rng = np.random.default_rng(seed.spawn(1)[0]) if settings["camera"] == "mixed" else None
    # A GMFCS level (int) or a gait class (str) of a classes cohort.
    params = draw_class(group, rng) if isinstance(group, str) else draw_child(group, rng)
    lo, hi = settings["visits"]
    n_visits = int(rng.integers(lo, hi + 1))
    pid = f"P{i:04d}"
    out = []
    for v in range(n_visits):
        if v > 0:
            params = next_visit(params, rng)
        vid = f"{pid}_V{v + 1}"
        camera = str(camera_rng.choice(CAMERAS)) if camera_rng is not None else settings["camera"]
        walk = simulate_walk(params=params, noise=settings["noise"], duration=float(rng.uniform(*settings["duration"])),
                             pan=settings.get("pan"), patient_id=pid, video_id=vid, random_state=rng, camera=camera,
                             dims=settings["dims"])
        row = {"patient_id": pid, "video_id": vid, "visit": v + 1, **walk.labels, "camera": camera,
               "dims": settings["dims"]}
        row.update(param_columns(params))
        row["class_severity"] = float(params.extra.get("class_severity", np.nan))
        row["festination"] = float(params.extra.get("festination", 0.0))
        sequence = walk.sequence
        if settings["dims"] == 3:
            # The lifter's camera coordinates seen square to the walk: the clips mean what side-view clips mean.
            from gaitfeat.preprocessing.plane import project_to_walking_plane

            try:
                sequence = project_to_walking_plane(sequence, plane="sagittal")
            except GaitError as exc:
                out.append((walk, row, f"{type(exc).__name__}: {exc}"))
                continue
        done, skipped = preprocess_many([sequence], on_error="skip", layout=settings["layout"])
        out.append((walk, row, done[0] if done else skipped[vid]))
    return out


def simulate_cohort(
    n_patients: int = 300,
    *,
    prevalence: tuple[float, float, float, float] = DEFAULT_PREVALENCE,
    visits: tuple[int, int] = (1, 3),
    noise: str = "default",
    layout: str = "coco17",
    window: int = 124,
    stride: int = 12,
    min_valid: float = 0.8,
    conf: float = 0.2,
    duration: tuple[float, float] = (8.0, 20.0),
    pan: float | None = None,
    random_state: int = 0,
    n_jobs: int | None = None,
    camera: str = "side",
    dims: int = 2,
    classes: dict[str, float] | str | None = None,
) -> Cohort:
    """Simulate a labelled cohort of children with cerebral palsy (or of walkers of the gait classes)
    walking past a side camera.

    Parameters
    ----------
    n_patients : int
        Number of children (subjects).
    prevalence : 4 floats
        Share of GMFCS levels I-IV (default: the 35/38/25/2 % of Yang, Chen & He's cohort).
        Counts are allocated exactly (largest remainder), then shuffled. Ignored with ``classes``.
    visits : (int, int)
        Smallest and largest number of videos (visits) per child.
    noise : {"none", "default", "heavy"}
        Detector noise, see :func:`simulate_walk`.
    layout : {"coco17", "body25"}
        Layout of the clips (the raw sequences are always BODY_25).
    window, stride, min_valid, conf : see :func:`gaitfeat.make_clips`
    duration : (float, float)
        Range of video durations (s).
    pan : float, optional
        How much the camera follows each child (0: a static camera, whose
        clips are measured from the pelvis path); drawn per video from
        0.5-0.95 by default (see :func:`simulate_walk`).
    random_state : int
        Seed; the same seed gives the same cohort. Each child has its own
        derived seed, so a child's videos do not depend on the others or on
        ``n_jobs``.
    n_jobs : int, optional
        Worker processes (default: all CPU cores; 1 = in this process).
    camera : {"side", "front", "back", "oblique", "mixed"}
        Where the camera stands (see :func:`simulate_walk`); ``"mixed"``
        draws it per video (from a stream of its own: the children and their
        walks are those of any other choice).
    dims : {2, 3}
        2: 2-D detector output in pixels (video from a front, back or
        oblique camera, 30 degrees or more off the side, is refused by the side-view check of
        :func:`gaitfeat.preprocess` and skipped, as real such video would
        be). 3: 3-D lifter output, projected onto each
        walk's sagittal plane with
        :func:`gaitfeat.preprocessing.project_to_walking_plane` before
        preprocessing and windowing, so the clips mean what side-view clips
        mean (in metres). ``meta`` and ``videos`` record each video's
        ``camera`` and ``dims``.
    classes : dict or "taxonomy", optional
        A cohort of gait classes instead of GMFCS levels: ``{class name: share}``
        (names from :data:`gaitfeat.labels.GAIT_CLASSES`), or ``"taxonomy"`` for
        :data:`~gaitfeat.simulate.taxonomy.TAXONOMY_PREVALENCE`. Subjects are
        allocated to classes exactly (largest remainder), shuffled, and drawn with
        :func:`~gaitfeat.simulate.draw_class`. Without it the cohort is the GMFCS
        cohort it always was.

    Returns
    -------
    Cohort
        ``meta`` and ``videos`` carry ``gait_class`` (for a GMFCS cohort: ``cp_hemiplegic``
        or ``cp_diplegic`` by the hemiplegic side) and ``affected_side``; ``videos`` also
        ``class_severity`` and ``festination``. In a classes cohort ``meta["gmfcs"]`` is
        missing (``<NA>``) for walkers without CP (``videos["gmfcs"]`` is 0).
    """
    if n_patients < 1:
        raise ValueError(f"n_patients must be >= 1, got {n_patients}")
    if not (1 <= visits[0] <= visits[1]):
        raise ValueError(f"visits must be (min, max) with 1 <= min <= max, got {visits}")
    if camera not in CAMERAS + ("mixed",):
        raise ValueError(f"camera must be one of {CAMERAS + ('mixed',)}, got {camera!r}")
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims!r}")
    shares = _class_shares(classes)
    master = np.random.default_rng(random_state)
    if shares is None:
        counts = allocate(n_patients, prevalence)
        groups = [int(level) for level in master.permutation(np.repeat([1, 2, 3, 4], counts))]
    else:
        names = list(shares)
        counts = allocate(n_patients, list(shares.values()), what="classes", expected=None)
        groups = [names[j] for j in master.permutation(np.repeat(np.arange(len(names)), counts))]
    child_seeds = np.random.SeedSequence(random_state).spawn(n_patients)
    jobs = [(i, group, seed) for i, (group, seed) in enumerate(zip(groups, child_seeds))]
    settings = {"visits": visits, "noise": noise, "duration": duration, "layout": layout, "pan": pan, "camera": camera,
                "dims": dims}
    workers = _n_workers(n_jobs, n_patients)
    if workers == 1:
        results = [_simulate_patient(job, settings) for job in jobs]
    else:
        # Each child has its own seed, so the result does not depend on the number of workers.
        chunk = max(1, len(jobs) // (4 * workers))
        gdi_reference()  # computed once here, inherited by the forked workers
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            results = list(pool.map(_simulate_patient, jobs, [settings] * len(jobs), chunksize=chunk))
    walks = [w for patient in results for w, _, _ in patient]
    video_rows = [row for patient in results for _, row, _ in patient]
    processed = [p for patient in results for _, _, p in patient if not isinstance(p, str)]
    skipped = {w.sequence.video_id: p for patient in results for w, _, p in patient if isinstance(p, str)}
    videos = pd.DataFrame(video_rows)
    if not processed:
        first = next(iter(skipped.items()), ("", ""))
        raise GaitError(f"no simulated video could be preprocessed ({len(skipped)} skipped), e.g. {first[0]}: "
                        f"{first[1]}" + (" (2-D video from a front, back or oblique camera is refused for "
                                          "sagittal features: use dims=3)" if dims == 2 and camera != "side" else ""))

    label_cols = ["video_id", "visit", "gmfcs", "gdi", "gdi_left", "gdi_right", "speed", "cadence", "step_length",
                  "knee_flex_max_extension_left", "knee_flex_max_extension_right", "hemiplegic_side", "gait_pattern", "age",
                  "height", "camera", "dims", "gait_class", "affected_side"]
    labels = videos[label_cols]
    if shares is not None:
        # GMFCS levels are 1-4: walkers without cerebral palsy (gmfcs 0) have none.
        labels = labels.assign(gmfcs=labels["gmfcs"].where(labels["gmfcs"] > 0))
    windows = make_clips(processed, window=window, stride=stride, min_valid=min_valid, conf=conf,
                         labels=labels, on_short="skip")
    clips, meta, clip_report = windows
    if shares is not None:
        meta["gmfcs"] = meta["gmfcs"].astype("Int64")
    events = pd.concat([w.events.assign(video_id=w.sequence.video_id) for w in walks], ignore_index=True)
    events = events[["video_id"] + [c for c in events.columns if c != "video_id"]]
    frames_by_video = {w.sequence.video_id: w.frames for w in walks}
    truth = clip_truth(meta, frames_by_video, events, videos)
    frames = pd.concat([w.frames.assign(video_id=w.sequence.video_id) for w in walks], ignore_index=True)
    frames = frames[["video_id"] + [c for c in frames.columns if c != "video_id"]]
    config = {
        "n_patients": n_patients, "prevalence": list(prevalence) if shares is None else None, "classes": shares,
        "visits": list(visits), "noise": noise, "layout": layout,
        "window": window, "stride": stride, "min_valid": min_valid, "conf": conf, "duration": list(duration),
        "pan": pan, "random_state": random_state, "camera": camera, "dims": dims,
        "data": "simulated (gaitfeat gait simulator)",
    }
    report = {"clips": clip_report.to_dict(), "videos_not_preprocessed": skipped}
    return Cohort(clips, meta, truth, videos, events, frames, [w.sequence for w in walks], config, report,
                  windows.root)


def simulate_taxonomy_cohort(n_subjects: int = 180, **kwargs) -> Cohort:
    """A cohort of the gait classes in :data:`~gaitfeat.simulate.taxonomy.TAXONOMY_PREVALENCE` shares:
    ``simulate_cohort(n_subjects, classes="taxonomy", **kwargs)`` (180 subjects: 20 per class)."""
    return simulate_cohort(n_subjects, classes="taxonomy", **kwargs)


def _class_shares(classes) -> dict[str, float] | None:
    """``classes`` of :func:`simulate_cohort` as ``{canonical class name: share}`` in GAIT_CLASSES order."""
    if classes is None:
        return None
    if isinstance(classes, str):
        if classes.strip().lower() != "taxonomy":
            raise ValueError(f"classes must be a dict {{gait class: share}} or 'taxonomy', got {classes!r}")
        classes = TAXONOMY_PREVALENCE
    if not isinstance(classes, dict) or not classes:
        raise ValueError(f"classes must be a non-empty dict {{gait class: share}} or 'taxonomy', got {classes!r}")
    out: dict[str, float] = {}
    for name, share in classes.items():
        canon = class_name(name)
        if canon in out:
            raise ValueError(f"classes names {canon!r} twice")
        try:
            value = float(share)
        except (TypeError, ValueError):
            value = float("nan")
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"the share of {canon!r} must be a non-negative number, got {share!r}")
        out[canon] = value
    if sum(out.values()) <= 0:
        raise ValueError(f"classes shares must have a positive sum, got {classes!r}")
    return {name: out[name] for name in GAIT_CLASSES if name in out}
