"""Readers and writers: OpenPose JSON folders, the Kidziński/Gillette release, NumPy ``.npz``."""

from gaitfeat.io.kidzinski import KidzinskiRelease, read_kidzinski, read_kidzinski_labels
from gaitfeat.io.npz import read_clips_npz, read_npz, write_clips_npz, write_npz
from gaitfeat.io.openpose import read_openpose, write_openpose

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
]
