"""Archive-scale feature extraction: every video of an OpenPose archive into Parquet tables.

``python -m gaitfeat.extract --data openpose:ROOT --fps 30 --out features.parquet``
(:mod:`gaitfeat.extract.cli`), or in Python::

    from gaitfeat.extract import extract_archive
    summary = extract_archive("videos/", "features.parquet", labels="labels.csv", scheduler="local:2")
    print(summary.format())

One task per video (:func:`~gaitfeat.extract.tasks.process_video`: read,
preprocess, clips, clip features, walk features), run here or on a Dask
cluster (:mod:`gaitfeat.parallel`); results are committed batch by batch
(:mod:`gaitfeat.extract.store`), so ``resume=True`` continues a run that was
interrupted; a video that fails is skipped and recorded with its reason.
docs/performance.md, "Archive-scale feature extraction", has the layout of
the output and measured speeds.
"""

from gaitfeat.extract.runner import FLUSH_EVERY, FLUSH_SECONDS, ExtractSummary, extract_archive
from gaitfeat.extract.store import read_provenance
from gaitfeat.extract.tasks import ExtractSettings, VideoResult, process_video
from gaitfeat.extract.videos import VideoPlan, VideoTask, plan_videos, read_video_labels

__all__ = [
    "extract_archive",
    "ExtractSummary",
    "ExtractSettings",
    "read_provenance",
    "process_video",
    "VideoResult",
    "VideoTask",
    "VideoPlan",
    "plan_videos",
    "read_video_labels",
    "FLUSH_EVERY",
    "FLUSH_SECONDS",
]
