"""Each simulated gait class shows its defining signature in the MEASURED features of its walks.

The simulator's own tests check the true parameters and curves; these check what the feature engine
reads from the simulated detector output (BODY_25, default detector noise), whole walks measured as
a clinician would (:func:`gaitfeat.features.walk.walk_features`: medians over the walk's strides), and
compare each class with the typical walkers of the same cohort and age group (children with typical
children, adults with typical adults: cadence, step length and posture change with age). Thresholds are shares of walks, not
every walk: a few walks per class may be hidden by detector noise, as in a real gait lab.
"""

import numpy as np
import pandas as pd
import pytest

from gaitfeat.features.walk import walk_features
from gaitfeat.preprocessing import preprocess_many
from gaitfeat.simulate import simulate_cohort

pytestmark = pytest.mark.slow


def _both(w: pd.DataFrame, name: str) -> pd.Series:
    return (w[f"{name}_left"] + w[f"{name}_right"]) / 2


@pytest.fixture(scope="module")
def walks():
    """One walk each of 14 subjects per class (126 walks)."""
    cohort = simulate_cohort(126, classes="taxonomy", layout="body25", visits=(1, 1), duration=(12.0, 14.0),
                             random_state=11, n_jobs=1)
    done, skipped = preprocess_many(cohort.sequences, on_error="skip", layout="body25")
    assert len(skipped) <= 2, skipped
    w = walk_features(done, on_error="skip")
    videos = cohort.videos.set_index("video_id")
    for col in ("gait_class", "affected_side", "age"):
        w[col] = videos.loc[w["video_id"], col].to_numpy()
    return w


def _class(w, name):
    sub = w[w["gait_class"] == name]
    assert len(sub) >= 12, f"too few {name} walks measured"
    return sub


def _typical(w, adults: bool):
    sub = w[(w["gait_class"] == "typical") & ((w["age"] >= 18) == adults)]
    assert len(sub) >= 4, "too few typical walkers of this age group"
    return sub


def test_toe_walkers_make_no_heel_strikes_and_land_plantarflexed(walks):
    toe, typical = _class(walks, "idiopathic_toe_walking"), _class(walks, "typical")   # all typical walkers
    assert (_both(toe, "heel_strike_fraction") <= 0.1).mean() >= 0.9
    assert (_both(toe, "ankle_angle_ic") < -10).mean() >= 0.9          # plantarflexed at contact
    assert (_both(toe, "ankle_dorsiflexion_max_stance") < 5).mean() >= 0.8   # never reaches typical dorsiflexion
    assert (_both(typical, "heel_strike_fraction") >= 0.8).mean() >= 0.9
    assert (_both(typical, "ankle_angle_ic") > -5).mean() >= 0.9


def test_ataxic_walkers_vary_from_stride_to_stride_above_the_healthy_range(walks):
    ataxic, typical = _class(walks, "ataxic"), _typical(walks, adults=True)
    # Mild ataxia overlaps healthy walking (true CV from 3.5 %), and detector noise over ~8 strides inflates
    # the measured CV of a few healthy walkers: the class shifts the distribution rather than clearing its top.
    assert (ataxic["stride_time_cv"] > np.nanmedian(typical["stride_time_cv"])).mean() >= 0.8
    assert np.nanmedian(ataxic["stride_time_cv"]) > 1.8 * np.nanmedian(typical["stride_time_cv"])
    assert np.nanmedian(_both(ataxic, "step_time_cv")) > 1.5 * np.nanmedian(_both(typical, "step_time_cv"))


def test_antalgic_walkers_shorten_stance_on_the_painful_side(walks):
    antalgic = _class(walks, "antalgic")
    painful = antalgic["affected_side"].to_numpy()
    sound = np.where(painful == "left", "right", "left")
    ratio = lambda s: antalgic.apply(lambda r: r[f"stance_swing_ratio_{s[r.name]}"], axis=1)  # noqa: E731
    sides = {"painful": pd.Series(painful, index=antalgic.index), "sound": pd.Series(sound, index=antalgic.index)}
    assert (ratio(sides["painful"]) < ratio(sides["sound"])).mean() >= 0.9
    # The sound leg swings through quickly: the step that ends with the sound foot's contact is the short one.
    step = lambda s: antalgic.apply(lambda r: r[f"step_time_{s[r.name]}"], axis=1)  # noqa: E731
    assert (step(sides["sound"]) < step(sides["painful"])).mean() >= 0.8


def test_parkinsonian_walkers_take_short_steps_with_little_arm_swing_and_a_flexed_trunk(walks):
    pd_, typical = _class(walks, "parkinsonian"), _typical(walks, adults=True)
    assert (pd_["step_length"] < np.nanmedian(typical["step_length"])).mean() >= 0.9
    assert (_both(pd_, "arm_swing") < np.nanmedian(_both(typical, "arm_swing"))).mean() >= 0.8
    assert (pd_["trunk_inclination"] > np.nanmax(typical["trunk_inclination"])).mean() >= 0.8


def test_myopathic_walkers_lean_back(walks):
    myo, typical = _class(walks, "myopathic"), _typical(walks, adults=False)
    assert (myo["trunk_inclination"] < min(0.0, np.nanmin(typical["trunk_inclination"]))).mean() >= 0.9
    # A toe-walking tendency: landing more plantarflexed than typical children (not every child toe-walks).
    assert np.nanmedian(_both(myo, "ankle_angle_ic")) < np.nanquantile(_both(typical, "ankle_angle_ic"), 0.1)


def test_myelopathic_walkers_are_slow_with_short_steps_and_long_double_support(walks):
    dcm, typical = _class(walks, "cervical_myelopathy"), _typical(walks, adults=True)
    assert np.nanmedian(dcm["step_length"]) < np.nanquantile(typical["step_length"], 0.25)
    assert np.nanmedian(dcm["double_support_fraction"]) > np.nanmedian(typical["double_support_fraction"])
    assert np.nanmedian(dcm["cadence"]) < np.nanmedian(typical["cadence"])


def test_hemiplegic_children_are_one_sided_and_diplegic_children_two_sided(walks):
    hemi, di, typical = _class(walks, "cp_hemiplegic"), _class(walks, "cp_diplegic"), _typical(walks, adults=False)
    asym = lambda w: (w["ankle_dorsiflexion_max_stance_left"] - w["ankle_dorsiflexion_max_stance_right"]).abs()  # noqa: E731
    assert np.nanmedian(asym(hemi)) > 3 * np.nanmedian(asym(typical))
    # Diplegia: both legs involved — equinus (no heel-first contact) or a flexed knee at contact on both sides.
    both_heel = di[["heel_strike_fraction_left", "heel_strike_fraction_right"]].max(axis=1)
    both_knee = di[["knee_flexion_ic_left", "knee_flexion_ic_right"]].min(axis=1)
    involved = (both_heel <= 0.5) | (both_knee > np.nanquantile(_both(typical, "knee_flexion_ic"), 0.9))
    assert involved.mean() >= 0.8
    assert np.nanmedian(asym(di)) < np.nanmedian(asym(hemi))
