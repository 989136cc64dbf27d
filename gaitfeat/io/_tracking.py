"""Following one person through a video with several people: the readers' shared subject tracker.

Multi-person detectors (OpenPose, AlphaPose, MMPose, MediaPipe with several
poses) report everybody in the frame, in no stable order. A clinical gait
video shows one walking child, but a parent, a clinician or a passer-by may
be in view for a few frames. :func:`track_subject` links the detections into
tracks by continuity and keeps the track with the largest total confidence,
so that every reader picks the subject the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["track_subject"]


@dataclass
class _Track:
    """A person followed through consecutive frames."""

    frames: list[int] = field(default_factory=list)
    poses: list[np.ndarray] = field(default_factory=list)
    score: float = 0.0

    @property
    def last(self) -> np.ndarray:
        return self.poses[-1]


#: Largest distance (body sizes) a track may jump across frames in which it was not seen.
MAX_GAP_JUMP = 2.0


def _pose_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Median distance (px) between joints detected in both poses; centroid distance if none shared."""
    both = ~np.isnan(a[:, 0]) & ~np.isnan(b[:, 0])
    if both.sum() >= 2:
        return float(np.median(np.hypot(*(a[both, :2] - b[both, :2]).T)))
    ca = np.nanmean(a[:, :2], axis=0)
    cb = np.nanmean(b[:, :2], axis=0)
    return float(np.hypot(*(ca - cb)))


def _pose_size(p: np.ndarray) -> float:
    """Largest side of the detected joints' bounding box (px), at least 1."""
    ys = p[~np.isnan(p[:, 1]), 1]
    xs = p[~np.isnan(p[:, 0]), 0]
    if ys.size < 2:
        return 1.0
    return float(max(np.ptp(ys), np.ptp(xs), 1.0))


def track_subject(
    frames_people: dict[int, list[np.ndarray]],
    n_frames: int,
    fps: float,
    *,
    max_jump: float = 0.5,
    lost_after_s: float = 1.0,
    n_joints: int | None = None,
) -> tuple[np.ndarray, dict[str, int]]:
    """The subject's keypoints, followed by continuity through frames with several people.

    Detections are linked into tracks frame by frame: the closest
    (track, person) pair is matched first (greedy nearest matching), the
    distance being the median image distance of the joints detected in
    both poses, and a match is allowed only within ``max_jump`` x the
    track's body size per elapsed frame, at most :data:`MAX_GAP_JUMP` body
    sizes however long the track was unseen. A person left unmatched starts a
    new track; a track not seen for ``lost_after_s`` seconds is closed. The
    track with the largest total confidence over the video is the subject:
    the walking child is in view far longer than a clinician or parent who
    passes through for a few frames.

    Parameters
    ----------
    frames_people : dict of int to list of numpy.ndarray
        For each frame index in ``[0, n_frames)``, the people kept in it, each
        ``(V, 3)``: x (px), y (px), confidence in [0, 1], NaN where a joint
        is missing. Frames without anyone may be absent or map to ``[]``.
    n_frames : int
        Number of frames of the output.
    fps : float
        Frame rate (frames/s); turns ``lost_after_s`` into frames.
    max_jump : float
        Largest frame-to-frame displacement of a track, as a fraction of the
        person's bounding-box size per elapsed frame (at most
        :data:`MAX_GAP_JUMP` body sizes in all).
    lost_after_s : float
        A track not seen for this long (s) is closed; a person appearing later
        starts a new track.
    n_joints : int, optional
        ``V``, needed only when nobody is detected in any frame (the result is
        then all missing); otherwise taken from the detections.

    Returns
    -------
    keypoints : numpy.ndarray, shape (n_frames, V, 3), float32
        The subject's keypoints, NaN in frames where it was not found.
    counts : dict
        ``tracks`` (tracks started), ``subject_frames`` (frames where the
        subject was found), ``subject_missing_frames``, ``other_people_frames``
        (frames with people but not the subject), ``multi_person_frames``
        (frames with more than one person kept), ``rejoined_tracks`` (tracks
        of the subject lost for longer than ``lost_after_s`` and taken back).

    Raises
    ------
    ValueError
        Nobody in any frame and ``n_joints`` not given.
    """
    if n_joints is None:
        first = next((people[0] for people in frames_people.values() if people), None)
        if first is None:
            raise ValueError("track_subject: nobody is detected in any frame and n_joints is not given")
        n_joints = int(first.shape[0])
    lost_after = max(1, int(round(float(lost_after_s) * float(fps))))
    tracks: list[_Track] = []
    active: list[_Track] = []
    for t in range(n_frames):
        people = frames_people.get(t, [])
        active = [tr for tr in active if t - tr.frames[-1] <= lost_after]
        # Greedy nearest matching: the closest (track, person) pair first.
        pairs = []
        for i, tr in enumerate(active):
            # max_jump body sizes per elapsed frame, but never more than MAX_GAP_JUMP body sizes: after a
            # long absence the gate would otherwise span the image and catch anyone who appears.
            gate = _pose_size(tr.last) * min(max_jump * (t - tr.frames[-1]), MAX_GAP_JUMP)
            for j, p in enumerate(people):
                d = _pose_distance(tr.last, p)
                if d <= gate:
                    pairs.append((d, i, j))
        used_tracks, used_people = set(), set()
        for _, i, j in sorted(pairs):
            if i in used_tracks or j in used_people:
                continue
            used_tracks.add(i)
            used_people.add(j)
            tr = active[i]
            tr.frames.append(t)
            tr.poses.append(people[j])
            tr.score += float(np.nansum(people[j][:, 2]))
        for j, p in enumerate(people):
            if j not in used_people:
                tr = _Track([t], [p], float(np.nansum(p[:, 2])))
                tracks.append(tr)
                active.append(tr)

    kp = np.full((n_frames, n_joints, 3), np.nan, dtype=np.float32)
    present = np.zeros(n_frames, dtype=bool)
    rejoined = 0
    if tracks:
        # max() keeps the first of equal scores: the track that started earliest.
        subject = max(tracks, key=lambda tr: tr.score)
        rejoined = _rejoin(subject, tracks)
        kp[subject.frames] = np.stack(subject.poses).astype(np.float32)
        present[subject.frames] = True
    with_people = np.array([bool(frames_people.get(t)) for t in range(n_frames)], dtype=bool)
    several = sum(1 for t in range(n_frames) if len(frames_people.get(t, [])) > 1)
    counts = {
        "tracks": len(tracks),
        "subject_frames": int(present.sum()),
        "subject_missing_frames": int((~present).sum()),
        "other_people_frames": int((with_people & ~present).sum()),
        "multi_person_frames": int(several),
        "rejoined_tracks": int(rejoined),
    }
    return kp, counts


def _rejoin(subject: _Track, tracks: list[_Track]) -> int:
    """Add to the subject the tracks that are the same walker, lost for longer than ``lost_after_s``.

    A child hidden behind a parent for two seconds, or leaving the view to
    turn, comes back as a new track; without this the shorter half of the
    walk would be dropped. A track is taken back only when it is the
    subject's continuation and could not be anyone else: it lies wholly in a
    gap of the subject's frames (never beside it in the same frame), its body
    size is within 0.7-1.4 times the subject's, and where it meets the
    subject, before or after the gap, it is within two body sizes of the
    subject's pose. Largest tracks first; returns how many were taken.
    """
    size = float(np.median([_pose_size(p) for p in subject.poses]))
    taken = 0
    for tr in sorted((t for t in tracks if t is not subject), key=lambda t: -t.score):
        frames = np.asarray(subject.frames)
        lo, hi = tr.frames[0], tr.frames[-1]
        if ((frames >= lo) & (frames <= hi)).any():
            continue  # overlaps or interleaves with the subject: someone else
        ratio = float(np.median([_pose_size(p) for p in tr.poses])) / size
        if not 0.7 <= ratio <= 1.4:
            continue
        before = np.flatnonzero(frames < lo)
        after = np.flatnonzero(frames > hi)
        joins = []
        if before.size:
            joins.append(_pose_distance(subject.poses[before[-1]], tr.poses[0]))
        if after.size:
            joins.append(_pose_distance(tr.poses[-1], subject.poses[after[0]]))
        if not joins or max(joins) > MAX_GAP_JUMP * size:
            continue
        order = np.argsort(np.concatenate([frames, tr.frames]), kind="stable")
        poses = subject.poses + tr.poses
        subject.frames = [int(f) for f in np.concatenate([frames, tr.frames])[order]]
        subject.poses = [poses[i] for i in order]
        subject.score += tr.score
        taken += 1
    return taken
