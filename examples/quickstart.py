"""Quick start on the embedded default data: the gait simulator.

1. Simulates one clinical gait video of a child at GMFCS level II (walks
   across, turns, walks back; OpenPose-like detector noise), writes it as an
   OpenPose JSON folder and reads it back as OpenPose output.
2. Converts BODY_25 to COCO-17, preprocesses it and cuts it into the seed
   paper's 124-frame clips.
3. Simulates a small labelled cohort and prints its summary.

Everything here is simulated data, not clinical data.
"""

import tempfile
from pathlib import Path

import gaitfeat


def main() -> None:
    walk = gaitfeat.simulate_walk(2, noise="default", fps=29.97, duration=12.0, random_state=1,
                                  patient_id="demo", video_id="demo_walk")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "demo_walk"
        gaitfeat.write_openpose(walk.sequence, folder)
        seq = gaitfeat.read_openpose(folder, fps=29.97, patient_id="demo")
    print("read:", seq)
    print("true labels: GMFCS {gmfcs}, speed {speed:.2f} m/s, cadence {cadence:.0f} steps/min, GDI {gdi:.0f}".format(**walk.labels))

    clean = gaitfeat.preprocess(seq, layout="coco17")
    print("preprocessed:", clean)
    for step in ("threshold_confidence", "fix_leg_swaps", "fill_gaps", "orient", "scale_by_leg_length"):
        print(f"  {step}: {clean.info[step]}")

    windows = gaitfeat.make_clips(clean, window=124, stride=12)
    clips, meta, report = windows
    print("clips:", clips.shape, clips.dtype)
    print(report.summary())

    # Clinical gait features of this video's clips, against the simulator's truth for the video.
    # Passing the Clips whole brings their pelvis paths: a static camera is measured from them.
    table = gaitfeat.extract_features(windows, height_m=walk.labels["height"])
    print("distances measured from:", table["spatial_method"].value_counts().to_dict())
    print("measured (median over clips): cadence {:.0f} steps/min, speed {:.2f} m/s, step length {:.2f} m, "
          "knee ROM L/R {:.0f}/{:.0f} deg".format(*table[["cadence", "walking_speed_m", "step_length_m",
                                                          "knee_rom_left", "knee_rom_right"]].median()))
    print("true: cadence {cadence:.0f} steps/min, speed {speed:.2f} m/s, step length {step_length_m:.2f} m".format(**walk.labels))

    cohort = gaitfeat.simulate_cohort(20, random_state=0, n_jobs=1)
    print(cohort)
    features = gaitfeat.extract_features(cohort.clips, cohort.meta["fps"].to_numpy(), "coco17")
    summary = features[list(gaitfeat.FEATURE_SETS["paper14"])].groupby(cohort.meta["gmfcs"]).median()
    print("simulated cohort (not clinical data): median paper14 features per GMFCS level")
    print(summary.T.round(2))


if __name__ == "__main__":
    main()
