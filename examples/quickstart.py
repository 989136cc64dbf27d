"""Quick start: the foundation's whole path on a built-in toy walker.

Writes a walker (walks across, turns, walks back) as an OpenPose JSON folder,
reads it back as OpenPose output, converts BODY_25 to COCO-17, preprocesses
it and cuts it into the seed paper's 124-frame clips.

The walker is a hand-built stick figure with exactly known motion
(``gaitfeat.testing.stick_walker``), not clinical data and not the gait
simulator.
"""

import tempfile
from pathlib import Path

import gaitfeat
from gaitfeat.testing import stick_walker


def main() -> None:
    walker = stick_walker(450, fps=29.97, turn_at=210, turn_frames=30, patient_id="demo", video_id="demo_walk")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "demo_walk"
        gaitfeat.write_openpose(walker, folder)
        seq = gaitfeat.read_openpose(folder, fps=29.97, patient_id="demo")
    print("read:", seq)
    print("reader counts:", seq.info["read_openpose"])

    clean = gaitfeat.preprocess(seq, layout="coco17")
    print("preprocessed:", clean)
    for step in ("threshold_confidence", "fix_leg_swaps", "fill_gaps", "smooth", "orient", "scale_by_leg_length"):
        print(f"  {step}: {clean.info[step]}")

    clips, meta, report = gaitfeat.make_clips(clean, window=124, stride=12)
    print("clips:", clips.shape, clips.dtype)
    print(report.summary())
    print(meta[["patient_id", "video_id", "clip_start", "valid_fraction", "turning_fraction"]].head())


if __name__ == "__main__":
    main()
