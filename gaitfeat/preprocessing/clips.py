"""Cutting sequences into fixed-length clips with a quality filter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from gaitfeat.errors import LayoutError, SequenceTooShortError
from gaitfeat.labels import validate_gmfcs
from gaitfeat.pose import PoseSequence

__all__ = ["make_clips", "Clips", "ClipReport", "META_COLUMNS"]

#: Columns of the clip metadata table, in order (label columns follow when given).
META_COLUMNS = (
    "patient_id", "video_id", "sequence", "clip_start", "clip_stop", "fps", "layout",
    "valid_fraction", "turning_fraction",
)


@dataclass
class ClipReport:
    """What :func:`make_clips` kept and dropped, and why."""

    window: int
    stride: int
    min_valid: float
    conf: float
    sequences: int = 0
    sequences_used: int = 0
    sequences_too_short: list[str] = field(default_factory=list)
    windows_total: int = 0
    windows_kept: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: {"low_valid_fraction": 0})

    def to_dict(self) -> dict:
        """JSON-serialisable dict."""
        return asdict(self)

    def summary(self) -> str:
        """One paragraph for logs and reports."""
        parts = [
            f"{self.windows_kept} of {self.windows_total} windows kept "
            f"(window {self.window}, stride {self.stride}, >= {self.min_valid:.0%} keypoints with confidence >= {self.conf})",
            f"from {self.sequences_used} of {self.sequences} sequences",
        ]
        drops = [f"{n} {reason.replace('_', ' ')}" for reason, n in self.dropped.items() if n]
        if drops:
            parts.append("dropped: " + ", ".join(drops))
        if self.sequences_too_short:
            parts.append(f"{len(self.sequences_too_short)} sequences shorter than one window")
        return "; ".join(parts)


@dataclass(frozen=True, eq=False)
class Clips:
    """What :func:`make_clips` returns.

    Unpacks like a 3-tuple, ``clips, meta, report = make_clips(...)``; the
    pelvis paths travel beside the clips as :attr:`root` rather than as a
    fourth channel of ``clips``, because ``clips`` is exactly what every
    model reads and its channels mean x, y and confidence everywhere.
    """

    clips: np.ndarray
    """float32 ``(N, T, V, 3)``."""
    meta: pd.DataFrame
    """One row per clip, columns :data:`META_COLUMNS` (+ label columns)."""
    report: ClipReport
    """Counts of windows kept and dropped, and why."""
    root: np.ndarray | None = None
    """float64 ``(N, T, 2)``: each clip's pelvis path (the sequences' ``root``: hip midpoint
    before centring, leg lengths, x along the walking direction, y up); ``None`` when the
    sequences have none. :func:`gaitfeat.extract_features` measures distances from it when
    the camera is static."""

    def __iter__(self) -> Iterator:
        return iter((self.clips, self.meta, self.report))

    def __len__(self) -> int:
        return 3

    def __getitem__(self, i: int):
        return (self.clips, self.meta, self.report)[i]


def _present_joints(seq: PoseSequence) -> int:
    """Joints the source can provide: the layout's, less those a reader or projection declared absent.

    A 3-D lifter's skeleton without a face, mapped to COCO-17, lacks five
    joints in every frame; counting them as undetected would drop every clip.
    """
    absent = set()
    for value in seq.info.values():
        if isinstance(value, dict) and isinstance(value.get("absent_joints"), list | tuple):
            absent.update(str(j) for j in value["absent_joints"])
    return max(1, seq.n_joints - len(absent & set(seq.skeleton.joints)))


def _leg_length_m(seq: PoseSequence) -> float:
    """The leg length in metres when the sequence came in metres (a 3-D projection), else NaN."""
    if seq.info.get("projection", {}).get("units") == "m" and "scale_by_leg_length" in seq.info:
        return float(seq.info["scale_by_leg_length"]["leg_length"])
    return float("nan")


def make_clips(
    sequences: PoseSequence | list[PoseSequence],
    *,
    window: int = 124,
    stride: int = 12,
    min_valid: float = 0.8,
    conf: float = 0.2,
    labels: pd.DataFrame | None = None,
    on_short: str = "raise",
) -> Clips:
    """Cut sequences into overlapping fixed-length windows and keep the good ones.

    Defaults follow Yang, Chen & He ("Multimodal Fusion of Skeleton Dynamics
    and Clinical Gait Features for Video-Based Cerebral Palsy Severity
    Assessment"): 124-frame windows every 12 frames, kept
    when at least 80 % of the window's keypoints (frames x joints) were
    detected with confidence >= 0.2. Values filled in by preprocessing have
    confidence 0 and do not count as detected. Joints a reader or the 3-D
    projection declared absent (``info[...]["absent_joints"]``: the source
    format does not have them) are not counted.

    Sequences projected from metric 3-D data (``info["projection"]``) give
    the metadata an extra column ``leg_length_m``: the leg length the
    sequence was divided by, in metres, which
    :func:`gaitfeat.extract_features` takes to report lengths in metres.

    Parameters
    ----------
    sequences : PoseSequence or list of PoseSequence
        All in the same layout (usually preprocessed).
    window, stride : int
        Window length and step, in frames.
    min_valid : float
        Smallest fraction of detected keypoints for a window to be kept.
    conf : float
        Confidence a keypoint needs to count as detected.
    labels : DataFrame, optional
        Per-video labels with a ``video_id`` column; their other columns are
        joined onto the clip metadata.
    on_short : {"raise", "skip"}
        A sequence shorter than one window raises
        :class:`~gaitfeat.errors.SequenceTooShortError`, or is skipped and
        listed in the report.

    Returns
    -------
    Clips
        ``(clips, meta, report)``; clips are float32 ``(N, window, V, 3)``.
        ``.root`` holds the clips' pelvis paths ``(N, window, 2)`` when every
        sequence has one (preprocessed sequences do), else ``None``.

    Raises
    ------
    SequenceTooShortError
        For a short sequence with ``on_short="raise"``, or when no sequence is
        long enough.
    LayoutError
        When the sequences do not share one layout.
    """
    if isinstance(sequences, PoseSequence):
        sequences = [sequences]
    sequences = list(sequences)
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1, got {window}, {stride}")
    if not 0.0 <= min_valid <= 1.0:
        raise ValueError(f"min_valid must be in [0, 1], got {min_valid}")
    if on_short not in ("raise", "skip"):
        raise ValueError(f"on_short must be 'raise' or 'skip', got {on_short!r}")
    if not sequences:
        raise ValueError("no sequences given")
    layouts = {s.layout for s in sequences}
    if len(layouts) > 1:
        raise LayoutError(f"sequences mix skeleton layouts {sorted(layouts)}; convert them with to_layout() first")

    report = ClipReport(window=window, stride=stride, min_valid=min_valid, conf=conf, sequences=len(sequences))
    out, rows, roots = [], [], []
    with_root = all(seq.root is not None for seq in sequences)
    for i, seq in enumerate(sequences):
        name = seq.video_id or f"sequence {i}"
        if seq.n_frames < window:
            if on_short == "raise":
                raise SequenceTooShortError(
                    f"{name}: {seq.n_frames} frames ({seq.duration:.2f} s) is shorter than one {window}-frame window; "
                    "pass on_short='skip' to skip such sequences"
                )
            report.sequences_too_short.append(name)
            continue
        starts = np.arange(0, seq.n_frames - window + 1, stride)
        detected = seq.keypoints[:, :, 2] >= conf
        # Cumulative sums give each window's detected count without a Python loop per frame.
        per_frame = np.concatenate(([0], np.cumsum(detected.sum(axis=1))))
        valid = (per_frame[starts + window] - per_frame[starts]) / (window * _present_joints(seq))
        turning = None
        if seq.direction is not None:
            per_turn = np.concatenate(([0], np.cumsum(seq.direction == 0)))
            turning = (per_turn[starts + window] - per_turn[starts]) / window
        keep = valid >= min_valid
        report.windows_total += starts.size
        report.dropped["low_valid_fraction"] += int((~keep).sum())
        if keep.any():
            report.sequences_used += 1
        for k in np.flatnonzero(keep):
            s = int(starts[k])
            out.append(seq.keypoints[s : s + window])
            if with_root:
                roots.append(seq.root[s : s + window])
            rows.append(
                {
                    "patient_id": seq.patient_id,
                    "video_id": seq.video_id,
                    "sequence": i,
                    "clip_start": s,
                    "clip_stop": s + window,
                    "fps": seq.fps,
                    "layout": seq.layout,
                    "valid_fraction": float(valid[k]),
                    "turning_fraction": float(turning[k]) if turning is not None else np.nan,
                    "leg_length_m": _leg_length_m(seq),
                }
            )
    if len(report.sequences_too_short) == len(sequences):
        raise SequenceTooShortError(f"every sequence is shorter than one {window}-frame window")
    report.windows_kept = len(out)
    n_joints = sequences[0].n_joints
    clips = np.stack(out).astype(np.float32) if out else np.empty((0, window, n_joints, 3), dtype=np.float32)
    root = None
    if with_root:
        root = np.stack(roots).astype(np.float64) if roots else np.empty((0, window, 2))
    metric = any(np.isfinite(_leg_length_m(seq)) for seq in sequences)
    meta = pd.DataFrame(rows, columns=list(META_COLUMNS) + (["leg_length_m"] if metric else []))
    if labels is not None:
        if "video_id" not in labels.columns:
            raise ValueError("labels need a 'video_id' column")
        lab = labels.copy()
        lab["video_id"] = lab["video_id"].astype(str)
        if "gmfcs" in lab.columns:  # the one GMFCS rule of every reader: levels 1-4 (I-IV), named when not
            lab["gmfcs"] = validate_gmfcs(lab["gmfcs"], where="make_clips labels", ids=lab["video_id"]).to_numpy()
        if lab["video_id"].duplicated().any():
            raise ValueError("labels have more than one row for some video_id")
        extra = [c for c in lab.columns if c not in meta.columns or c == "video_id"]
        meta = meta.merge(lab[extra], on="video_id", how="left", validate="many_to_one")
    return Clips(clips, meta, report, root)
