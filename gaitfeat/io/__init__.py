"""Readers and writers of pose data.

2-D detectors: OpenPose JSON folders, AlphaPose (COCO-17, Halpe-26) and
MMPose/RTMPose result JSON, MediaPipe Pose CSV/JSON (image landmarks); the
Kidziński/Gillette release. 3-D: OpenSim/OpenCap/Pose2Sim TRC files,
MediaPipe world landmarks, NumPy ``.npy``/``.npz`` pose arrays with a layout
name. Clips: ``.npz``. Every format, with an example: ``docs/data.md``.
"""

from gaitfeat.io.alphapose import read_alphapose
from gaitfeat.io.arrays import read_array, write_array
from gaitfeat.io.kidzinski import KidzinskiRelease, read_kidzinski, read_kidzinski_labels
from gaitfeat.io.npz import read_clips_npz, read_npz, write_clips_npz, write_npz
from gaitfeat.io.mediapipe import read_mediapipe
from gaitfeat.io.mmpose import read_mmpose
from gaitfeat.io.openpose import read_openpose, write_openpose
from gaitfeat.io.trc import read_trc, write_trc

__all__ = [
    "read_openpose",
    "write_openpose",
    "read_kidzinski",
    "read_kidzinski_labels",
    "KidzinskiRelease",
    "read_npz",
    "write_npz",
    "read_clips_npz",
    "write_clips_npz",
    "read_trc",
    "write_trc",
    "read_array",
    "write_array",
    "read_mediapipe",
    "read_alphapose",
    "read_mmpose",
]
