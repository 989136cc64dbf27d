"""Data sources for the harness: one :class:`Dataset` from simulated (2-D or 3-D), Gillette, OpenPose, other pose files or ``.npz`` clips.

Every source ends in the same shape: pose clips ``(N, T, V, 3)`` (preprocessed:
leg lengths, hip-centred, walking direction +x), a metadata DataFrame with one
row per clip (``patient_id``, ``video_id``, ``fps``, labels), and a report of
everything that was dropped and why. Clinical features are computed from the
clips on first use (they involve no fitting, so computing them once for the
whole data set leaks nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.sources import FILE_SCHEMES, read_pose_files
from evaluation.splits import resolve_patient_ids
from gaitfeat.errors import GaitError, LabelError, ReaderError
from gaitfeat.features import extract_features
from gaitfeat.io import read_clips_npz, read_kidzinski, read_openpose
from gaitfeat.labels import gmfcs_per_video
from gaitfeat.pose import FPS_RANGE
from gaitfeat.preprocessing import make_clips, preprocess_many
from gaitfeat.simulate import simulate_cohort

__all__ = ["Dataset", "load_data", "SOURCES"]

#: Data source kinds accepted by :func:`load_data` (``kind`` or ``kind:PATH``).
SOURCES: tuple[str, ...] = ("synthetic", "taxonomy", "synthetic3d", "kidzinski", "openpose", "npz", *FILE_SCHEMES)

#: Camera placements of the simulated 3-D source (``synthetic3d:CAMERA``).
SYNTHETIC3D_CAMERAS = ("mixed", "side", "front", "back", "oblique")


@dataclass
class Dataset:
    """Clips, their metadata and where they came from.

    Attributes
    ----------
    clips : float32 array ``(N, T, V, 3)``
        Preprocessed pose clips.
    meta : DataFrame
        One row per clip: ``patient_id`` (after :func:`resolve_patient_ids`),
        ``video_id``, ``fps``, label columns (``gmfcs``, ``gdi``, ...).
    source : str
        The source as given (``"synthetic"``, ``"kidzinski:PATH"``, ...).
    description : str
        One sentence for reports.
    simulated : bool
        True for data from the gait simulator: reports then say, prominently,
        that the numbers are not clinical evidence.
    video_as_patient : bool
        True when each video was treated as its own patient (no patient IDs).
    layout : str
        Skeleton layout of the clips.
    report : dict
        What was dropped on the way and why (videos, windows).
    """

    clips: np.ndarray
    meta: pd.DataFrame
    source: str
    description: str
    simulated: bool = False
    video_as_patient: bool = False
    layout: str = "coco17"
    report: dict = field(default_factory=dict)
    _features: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.clips.ndim != 4:
            raise ValueError(f"clips must have shape (N, T, V, C), got {self.clips.shape}")
        if len(self.meta) != self.clips.shape[0]:
            raise ValueError(f"meta has {len(self.meta)} rows but there are {self.clips.shape[0]} clips")
        self.meta = self.meta.reset_index(drop=True)
        self.meta["patient_id"] = resolve_patient_ids(self.meta, video_as_patient=self.video_as_patient).to_numpy()
        self.meta["video_id"] = self.meta["video_id"].astype(str)

    def __len__(self) -> int:
        return self.clips.shape[0]

    @property
    def has_features(self) -> bool:
        """Whether the feature table has been computed (or was given)."""
        return self._features is not None

    @property
    def features(self) -> pd.DataFrame:
        """The clinical feature table (one row per clip), computed once.

        With a ``leg_length_m`` metadata column (clips projected from metric
        3-D poses) it has the metre columns as well.
        """
        if self._features is None:
            # Clips projected from metric 3-D data carry their leg length in metres: lengths in metres too.
            legs = self.meta["leg_length_m"].to_numpy(float) if "leg_length_m" in self.meta.columns else None
            legs = legs if legs is not None and len(legs) and np.isfinite(legs).all() else None
            self._features = extract_features(self.clips, self.meta["fps"].to_numpy(float), self.layout,
                                              leg_length_m=legs)
        return self._features

    def subset(self, rows: np.ndarray) -> Dataset:
        """The rows ``rows`` (indices or a boolean mask) as a new Dataset; features are carried over."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=np.int64)
        feats = None if self._features is None else self._features.iloc[rows].reset_index(drop=True)
        return Dataset(self.clips[rows], self.meta.iloc[rows].reset_index(drop=True), self.source, self.description,
                       self.simulated, self.video_as_patient, self.layout, dict(self.report), feats)

    def with_meta(self, meta: pd.DataFrame) -> Dataset:
        """The same clips (not copied) and features with another metadata table of the same length."""
        return Dataset(self.clips, meta, self.source, self.description, self.simulated, self.video_as_patient,
                       self.layout, dict(self.report), self._features)

    def counts(self, target: str | None = None) -> dict:
        """Clips, videos and patients, in total and per target value (for classification targets)."""
        m = self.meta
        out = {"clips": int(len(m)), "videos": int(m["video_id"].nunique()), "patients": int(m["patient_id"].nunique())}
        if target is not None and target in m.columns and target == "gmfcs":
            per = {}
            for level, g in m.groupby(target, sort=True):
                per[int(level)] = {"clips": int(len(g)), "videos": int(g["video_id"].nunique()),
                                   "patients": int(g["patient_id"].nunique())}
            out["per_class"] = per
        return out


def _gdi_column(meta: pd.DataFrame) -> pd.DataFrame:
    """Add ``gdi`` as the mean of the two sides where only side-specific values exist."""
    if "gdi" not in meta.columns and {"gdi_left", "gdi_right"} <= set(meta.columns):
        left = pd.to_numeric(meta["gdi_left"], errors="coerce")
        right = pd.to_numeric(meta["gdi_right"], errors="coerce")
        meta = meta.assign(gdi=pd.concat([left, right], axis=1).mean(axis=1, skipna=False))
    return meta


def _clip_sequences(sequences, labels: pd.DataFrame, *, layout: str, window: int, stride: int, min_valid: float,
                    conf: float, report: dict, strict: bool = False) -> tuple[np.ndarray, pd.DataFrame]:
    converted, not_converted = [], {}
    for i, s in enumerate(sequences):
        try:
            converted.append(s.to_layout(layout) if s.layout != layout else s)
        except GaitError as exc:  # e.g. a COCO-17 file when the models want BODY_25
            if strict:
                raise
            not_converted[s.video_id or f"sequence {i}"] = str(exc)
    processed, skipped = preprocess_many(converted, on_error="raise" if strict else "skip")
    report["videos_not_preprocessed"] = {**not_converted, **skipped}
    if not processed:
        reasons = report["videos_not_preprocessed"]
        raise GaitError("no video could be preprocessed: " + "; ".join(f"{k}: {v}" for k, v in list(reasons.items())[:3]))
    clips, meta, clip_report = make_clips(processed, window=window, stride=stride, min_valid=min_valid, conf=conf,
                                          labels=labels, on_short="skip")
    report["clips"] = clip_report.to_dict()
    report["clips_summary"] = clip_report.summary()
    if len(clips) == 0:
        raise GaitError(f"no clip passed the quality filter: {clip_report.summary()}")
    return clips, meta


def _split_source(source: str) -> tuple[str, str | None]:
    kind, _, path = source.partition(":")
    kind = kind.strip().lower()
    if kind not in SOURCES:
        raise ValueError(f"unknown data source {source!r}; use one of: synthetic, taxonomy, synthetic3d[:CAMERA], "
                         "kidzinski:PATH, openpose:PATH, npz:PATH, " + ", ".join(f"{k}:PATH" for k in FILE_SCHEMES))
    if kind in ("synthetic", "taxonomy"):
        if path:
            raise ValueError(f"the {kind} source takes no path, got {source!r}")
        return kind, None
    if kind == "synthetic3d":
        camera = path.strip().lower() or "mixed"
        if camera not in SYNTHETIC3D_CAMERAS:
            raise ValueError(f"synthetic3d:CAMERA takes a camera of {SYNTHETIC3D_CAMERAS}, got {path!r}")
        return kind, camera
    if not path:
        raise ValueError(f"the {kind} source needs a path: {kind}:PATH")
    return kind, path


def _clip_sequences_checked(sequences, table, **kwargs) -> tuple[np.ndarray, pd.DataFrame]:
    return _clip_sequences(sequences, table.drop(columns=["patient_id", "fps", "layout", "units"], errors="ignore"),
                           **kwargs)


def load_data(
    source: str = "synthetic",
    *,
    labels: str | Path | None = None,
    fps: float | None = None,
    window: int = 124,
    stride: int = 12,
    min_valid: float = 0.8,
    conf: float = 0.2,
    layout: str = "coco17",
    n_patients: int = 200,
    noise: str = "default",
    video_as_patient: bool = False,
    random_state: int = 0,
    n_jobs: int | None = None,
    strict: bool = False,
) -> Dataset:
    """Load one of the harness's data sources as a :class:`Dataset`.

    Parameters
    ----------
    source : str
        ``"synthetic"`` (a fixed-seed simulated cohort),
        ``"taxonomy"`` (a fixed-seed simulated cohort of the nine gait classes
        of :data:`gaitfeat.labels.GAIT_CLASSES`, children and adults; the
        ``gait_class`` label),
        ``"synthetic3d[:CAMERA]"`` (the same cohort as 3-D lifter output
        from a ``mixed`` (default), ``side``, ``front``, ``back`` or
        ``oblique`` camera, projected onto each walk's sagittal plane),
        ``"kidzinski:PATH"`` (the Gillette release folder),
        ``"openpose:PATH"`` (a folder of OpenPose JSON folders, one per
        video, with ``labels``), ``"npz:PATH"`` (clips written by
        :func:`gaitfeat.write_clips_npz`), or a folder of pose files of one
        format with ``labels`` (:data:`evaluation.sources.FILE_SCHEMES`):
        ``trc:PATH``, ``array:PATH`` (.npy/.npz 3-D arrays),
        ``mediapipe:PATH`` / ``mediapipe3d:PATH`` (image / world
        landmarks), ``alphapose:PATH``, ``mmpose:PATH``.
    labels : path, optional
        For ``openpose`` and the file schemes: a CSV with one row per video and columns
        ``video_id`` (the JSON folder's name), ``patient_id``, and labels
        (``gmfcs``, ``gdi`` or ``gdi_left``/``gdi_right``, ...); an ``fps``
        column is used when present.
    fps : float, optional
        Frame rate of OpenPose videos without an ``fps`` label column.
    window, stride, min_valid, conf
        Windowing and quality filter (as Yang, Chen & He: 124 frames, stride 12,
        >= 80 % of keypoints with confidence >= 0.2).
    layout : {"coco17", "body25"}
        Layout the models see (Yang, Chen & He convert BODY_25 to COCO-17).
    n_patients, noise
        Size and detector noise of the simulated cohort.
    video_as_patient : bool
        Treat each video as its own patient when the data have no patient IDs.
    random_state : int
        Seed of the simulated cohort.
    n_jobs : int, optional
        Worker processes for the simulator.
    strict : bool
        By default one bad video never stops the run: a video that cannot be
        read, whose label row is invalid (e.g. a GMFCS of 7) or that cannot be
        preprocessed is skipped, and counted with its reason in the dataset's
        report (``videos_unreadable``, ``videos_mislabelled``,
        ``videos_not_preprocessed``; the report page lists them). With
        ``strict=True`` the first such video raises instead.

    Raises
    ------
    ValueError
        An unknown source or a bad option.
    ReaderError, LabelError, GaitError
        Unreadable or unusable data (all subclasses of ``ValueError``).
    """
    kind, path = _split_source(source)
    report: dict = {}
    if kind == "synthetic":
        cohort = simulate_cohort(n_patients, noise=noise, layout=layout, window=window, stride=stride,
                                 min_valid=min_valid, conf=conf, random_state=random_state, n_jobs=n_jobs)
        report.update(cohort.report)
        report["clips_summary"] = (
            f"{cohort.report['clips']['windows_kept']} of {cohort.report['clips']['windows_total']} windows kept"
        )
        desc = (f"SIMULATED cohort from the gaitfeat gait simulator: {n_patients} children, seed {random_state}, "
                f"detector noise '{noise}' (not clinical data)")
        return Dataset(cohort.clips, cohort.meta, source, desc, simulated=True, video_as_patient=video_as_patient,
                       layout=layout, report=report)

    if kind == "taxonomy":
        cohort = simulate_cohort(n_patients, classes="taxonomy", noise=noise, layout=layout, window=window,
                                 stride=stride, min_valid=min_valid, conf=conf, random_state=random_state, n_jobs=n_jobs)
        report.update(cohort.report)
        report["clips_summary"] = (
            f"{cohort.report['clips']['windows_kept']} of {cohort.report['clips']['windows_total']} windows kept"
        )
        desc = (f"SIMULATED taxonomy cohort from the gaitfeat gait simulator: {n_patients} subjects of nine gait "
                f"classes (children and adults), seed {random_state}, detector noise '{noise}' (not clinical data)")
        return Dataset(cohort.clips, cohort.meta, source, desc, simulated=True, video_as_patient=video_as_patient,
                       layout=layout, report=report)

    if kind == "synthetic3d":
        cohort = simulate_cohort(n_patients, noise=noise, layout=layout, window=window, stride=stride,
                                 min_valid=min_valid, conf=conf, random_state=random_state, n_jobs=n_jobs,
                                 camera=path, dims=3)
        report.update(cohort.report)
        report["clips_summary"] = (
            f"{cohort.report['clips']['windows_kept']} of {cohort.report['clips']['windows_total']} windows kept"
        )
        desc = (f"SIMULATED 3-D cohort from the gaitfeat gait simulator: {n_patients} children, seed {random_state}, "
                f"camera '{path}', lifter noise '{noise}', projected onto each walk's sagittal plane "
                "(not clinical data)")
        return Dataset(cohort.clips, cohort.meta, source, desc, simulated=True, video_as_patient=video_as_patient,
                       layout=layout, report=report)

    if kind in FILE_SCHEMES:
        if labels is None:
            raise LabelError(f"the {kind} source needs a label table (--labels labels.csv) with video_id "
                             "(the file name without extension), patient_id and labels")
        table, mislabelled = _read_label_table(Path(labels), video_as_patient=video_as_patient, strict=strict)
        report["videos_mislabelled"] = mislabelled
        sequences, n3d = read_pose_files(kind, Path(path), table, fps=fps, labels=Path(labels), strict=strict,
                                         report=report)
        clips, meta = _clip_sequences_checked(sequences, table, layout=layout, window=window, stride=stride,
                                              min_valid=min_valid, conf=conf, report=report, strict=strict)
        desc = (f"{FILE_SCHEMES[kind].description} in {path} with labels from {Path(labels).name}: "
                f"{len(sequences)} videos" + (f" ({n3d} in 3-D, projected onto the walking plane)" if n3d else ""))
        return Dataset(clips, meta, source, desc, video_as_patient=video_as_patient, layout=layout, report=report)

    if kind == "npz":
        clips, meta, extra = read_clips_npz(path)
        report["npz_extra"] = {k: v for k, v in extra.items() if isinstance(v, str | int | float | bool)}
        simulated = bool(extra.get("simulated", False))
        meta = _gdi_column(meta)
        if "fps" not in meta.columns:
            if fps is None:
                raise LabelError(f"{path}: the clip table has no fps column; give fps")
            meta["fps"] = float(fps)
        lay = str(meta["layout"].iloc[0]) if "layout" in meta.columns and len(meta) else layout
        desc = f"clips from {Path(path).name}" + (" (SIMULATED data)" if simulated else "")
        return Dataset(clips, meta, source, desc, simulated=simulated, video_as_patient=video_as_patient,
                       layout=lay, report=report)

    if kind == "kidzinski":
        release = read_kidzinski(path, missing_patient="video" if video_as_patient else "raise",
                                 on_error="raise" if strict else "skip")
        report["reader"] = {k: v for k, v in release.report.items()}
        table = _gdi_column(release.labels)
        clips, meta = _clip_sequences(release.sequences, table.drop(columns=["patient_id"], errors="ignore"),
                                      layout=layout, window=window, stride=stride, min_valid=min_valid, conf=conf,
                                      report=report, strict=strict)
        desc = f"Kidziński et al. (2020) Gillette release at {path}: {len(release.sequences)} videos"
        return Dataset(clips, meta, source, desc, video_as_patient=video_as_patient, layout=layout, report=report)

    # openpose
    root = Path(path)
    if not root.is_dir():
        raise ReaderError(f"{root}: no such folder", root)
    if labels is None:
        raise LabelError("the openpose source needs a label table (--labels labels.csv) with video_id, patient_id and labels")
    table, mislabelled = _read_label_table(Path(labels), video_as_patient=video_as_patient, strict=strict)
    report["videos_mislabelled"] = mislabelled
    folders = {p.name: p for p in sorted(root.iterdir()) if p.is_dir()}
    if not folders and any(root.glob("*_keypoints.json")):
        folders = {root.name: root}
    labelled = set(table["video_id"])
    report["video_folders_without_labels"] = sorted(set(folders) - labelled)
    report["labels_without_video_folder"] = sorted(labelled - set(folders))
    sequences, unreadable = [], {}
    for row in table.itertuples(index=False):
        folder = folders.get(row.video_id)
        if folder is None:
            continue
        rate = float(row.fps) if "fps" in table.columns and np.isfinite(row.fps) else fps
        if rate is None:
            message = f"{labels}: no fps for video {row.video_id!r}; add an fps column or give fps (--fps)"
            if strict or "fps" not in table.columns:
                raise LabelError(message)
            mislabelled[row.video_id] = message
            continue
        try:
            pid = getattr(row, "patient_id", None)
            pid = pid if isinstance(pid, str) and pid else None
            sequences.append(read_openpose(folder, rate, patient_id=pid, video_id=row.video_id))
        except (GaitError, OSError, MemoryError) as exc:  # one bad video never stops the run (unless strict)
            if strict:
                raise ReaderError(f"{folder}: {exc} (strict: the run stops at the first bad video)", folder) from exc
            unreadable[row.video_id] = f"{type(exc).__name__}: {exc}"
    report["videos_unreadable"] = unreadable
    if not sequences:
        raise GaitError(f"{root}: no labelled, readable OpenPose folder (labels name {len(labelled)} videos, "
                        f"{len(folders)} folders found, {len(unreadable)} unreadable)")
    clips, meta = _clip_sequences(sequences, table.drop(columns=["patient_id", "fps"], errors="ignore"), layout=layout,
                                  window=window, stride=stride, min_valid=min_valid, conf=conf, report=report,
                                  strict=strict)
    desc = f"OpenPose output in {root} with labels from {Path(labels).name}: {len(sequences)} videos"
    return Dataset(clips, meta, source, desc, video_as_patient=video_as_patient, layout=layout, report=report)


def _read_label_table(path: Path, *, video_as_patient: bool, strict: bool = False) -> tuple[pd.DataFrame, dict]:
    """A per-video label CSV: ``video_id``, ``patient_id`` and label columns, IDs kept as text.

    Returns the table and ``{video_id: reason}`` for rows dropped for an invalid
    GMFCS or fps (with ``strict``, such a row raises :class:`LabelError`).
    Problems of the whole table (no ``video_id`` column, duplicates, no
    ``patient_id``) always raise.
    """
    if not path.is_file():
        raise ReaderError(f"{path}: no such label file", path)
    try:
        table = pd.read_csv(path, dtype={"video_id": str, "patient_id": str})
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ReaderError(f"{path}: not a readable CSV label table ({exc})", path) from exc
    table.columns = [str(c).strip().lower() for c in table.columns]
    if len(set(table.columns)) != len(table.columns):
        repeated = sorted({c for c in table.columns if list(table.columns).count(c) > 1})
        raise LabelError(f"{path}: columns named more than once (ignoring case and spaces): {repeated}")
    if "video_id" not in table.columns:
        raise LabelError(f"{path}: the label table needs a video_id column; columns are {list(table.columns)}")
    table["video_id"] = table["video_id"].astype(str).str.strip()
    dup = table["video_id"][table["video_id"].duplicated()]
    if len(dup):
        raise LabelError(f"{path}: videos listed more than once: {dup.unique()[:5].tolist()}")
    if "patient_id" not in table.columns and not video_as_patient:
        raise LabelError(f"{path}: the label table has no patient_id column; patient-level splits need one "
                         "(or treat each video as its own patient: --video-as-patient)")
    if "patient_id" in table.columns:
        table["patient_id"] = table["patient_id"].str.strip()
    mislabelled: dict[str, str] = {}
    if "gmfcs" in table.columns:
        table["gmfcs"], wrong = gmfcs_per_video(table["video_id"], table["gmfcs"], where=str(path))
        if strict and wrong:
            raise next(iter(wrong.values()))
        mislabelled.update({video: str(exc) for video, exc in wrong.items()})
    if "patient_id" in table.columns and not video_as_patient:
        no_patient = table["patient_id"].isna() | (table["patient_id"].astype(str).str.strip() == "")
        for video in table.loc[no_patient, "video_id"]:
            message = f"{path}: video {video!r} has no patient ID; splits are made by patient"
            if strict:
                raise LabelError(message)
            mislabelled[video] = message
    if "fps" in table.columns:
        rate = pd.to_numeric(table["fps"], errors="coerce")
        bad = table["fps"].notna() & ~((rate >= FPS_RANGE[0]) & (rate <= FPS_RANGE[1]))
        if bad.any():
            message = (f"{path}: fps must be a number of frames per second within {FPS_RANGE[0]:g}-{FPS_RANGE[1]:g}; "
                       "bad values for videos "
                       f"{table.loc[bad, 'video_id'].tolist()[:5]}")
            if strict:
                raise LabelError(message)
            for video in table.loc[bad, "video_id"]:
                value = table.loc[table["video_id"] == video, "fps"].iloc[0]
                mislabelled[video] = (f"{path}: fps {value!r} is not a number of frames per second within "
                                      f"{FPS_RANGE[0]:g}-{FPS_RANGE[1]:g}")
        table["fps"] = rate
    if mislabelled and len(mislabelled) == len(table):
        raise LabelError(f"{path}: every label row is invalid: " + "; ".join(list(mislabelled.values())[:3]))
    table = table[~table["video_id"].isin(list(mislabelled))].reset_index(drop=True)
    return _gdi_column(table), mislabelled
