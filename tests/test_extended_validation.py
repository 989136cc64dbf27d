"""Extended features on real walks (benchmarks/extended_validation.py); skipped when the data are absent.

Motion capture: the c3d files of benchmarks/mocap_walking.py (GAITFEAT_MOCAP_DATA, else /tmp/gaitdata) and
ezc3d or converted ``.npz`` files. GaitValidation: a clone of https://github.com/mea-lab/GaitValidation
(GAITFEAT_GAITVALIDATION; no licence, so not redistributed). Tolerances are about twice the errors
measured when the test was written (docs/validation.md, "Extended features ... on real walks").
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
MOCAP = Path(os.environ.get("GAITFEAT_MOCAP_DATA", "/tmp/gaitdata"))


def _benchmark():
    spec = importlib.util.spec_from_file_location("extended_validation", ROOT / "benchmarks" / "extended_validation.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


bench = _benchmark()


@pytest.fixture(scope="module")
def mocap():
    if not any((MOCAP / rel).exists() for rel, *_ in bench.mw.TRIALS.values()):
        pytest.skip(f"no motion-capture data under {MOCAP} (set GAITFEAT_MOCAP_DATA)")
    try:
        rows, skipped, _ = bench.mocap_rows(MOCAP)
    except bench.mw.MissingReader as exc:
        pytest.skip(f"no c3d reader: {exc}")
    if not rows:
        pytest.skip(f"no usable motion-capture trial under {MOCAP}: {skipped}")
    return pd.DataFrame(rows)


def _pick(table, feature, reference):
    sel = table[(table["feature"] == feature) & (table["reference"] == reference)]
    return sel, sel[np.isfinite(sel["error"])]


def test_step_time_per_side_matches_heel_strike_events(mocap):
    """Per-side step time within 0.03 s of the events (measured: at most 0.015 s, 1-2 frames at 100 Hz)."""
    sel, ok = _pick(mocap, "step_time", "events")
    assert len(ok) == len(sel) > 0  # every trial and foot measured
    assert ok["error"].abs().max() < 0.03, ok[["trial", "camera", "side", "ref", "measured"]]


def test_normal_walks_are_heel_first(mocap):
    """The reference (heel marker below toe marker at every strike) says heel first; the engine says 1.0."""
    sel, ok = _pick(mocap, "heel_strike_fraction", "events")
    assert len(ok) == len(sel) > 0
    assert (ok["ref"] == 1.0).all()
    assert (ok["measured"] >= 0.99).all(), ok[["trial", "camera", "side", "measured"]]


def test_ankle_angles_match_the_marker_geometry(mocap):
    """Same points in 3-D: within 3 deg (measured: at most 1.4 deg at contact, 1.1 deg stance maximum)."""
    for feature in bench.ANKLE:
        _, ok = _pick(mocap, feature, "markers (shared points)")
        assert len(ok) >= 2, feature
        assert ok["error"].abs().max() < 3.0, (feature, ok[["trial", "side", "ref", "measured"]])


def test_ankle_angles_match_the_pycgm2_model(mocap):
    """walk.c3d's model ankle angles: within 5 deg (measured: 1.8-2.6 deg at contact, 1.5 deg stance maximum)."""
    _, ok = _pick(mocap, "ankle_angle_ic", "pyCGM2 model")
    if ok.empty:
        pytest.skip("no trial with the model's ankle angles (walk.c3d absent)")
    assert ok["error"].abs().max() < 5.0, ok[["trial", "side", "ref", "measured"]]
    _, mx = _pick(mocap, "ankle_dorsiflexion_max_stance", "pyCGM2 model")
    if len(mx):
        assert mx["error"].abs().max() < 5.0, mx[["trial", "side", "ref", "measured"]]


@pytest.mark.slow
def test_step_time_matches_the_wearable_report():
    """GaitValidation, 309 walks: median |error| per side under 0.02 s (measured 0.009 / 0.011 s), |bias| under
    0.015 s (+0.004 / -0.006 s), r over 0.85 (0.92); heel-first is NaN (the lifter skeleton has no feet)."""
    data = bench.rw.default_data_dir()
    if data is None:
        pytest.skip("GaitValidation data not found: set GAITFEAT_GAITVALIDATION to a clone of "
                    "https://github.com/mea-lab/GaitValidation")
    res = bench.gaitvalidation_rows(data)
    ok = res[np.isfinite(res["error"])]
    assert len(ok) >= 0.9 * len(res) > 0
    for side, g in ok.groupby("side"):
        assert g["error"].abs().median() < 0.02, side
        assert abs(g["error"].median()) < 0.015, side
    assert np.corrcoef(ok["measured"], ok["ref"])[0, 1] > 0.85
    assert res["heel_first"].isna().all()
