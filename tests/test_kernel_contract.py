"""The feature kernels' contract: slots agree with the definitions, one defaults table, one feature-set resolver."""

import inspect

import pytest

import gaitfeat
from gaitfeat.features import NAN_REASONS, QUALITY_COLUMNS, detect_events, extract_features, resolve_feature_set
from gaitfeat.features._kernels import DEFAULTS, JOINT_SLOTS, SIGNAL_ROWS, check_contract


def test_contract_holds_and_a_mismatch_is_named():
    check_contract()
    swapped = list(QUALITY_COLUMNS)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    with pytest.raises(RuntimeError, match="QUALITY_COLUMNS"):
        check_contract(quality_columns=swapped)
    extra = {**NAN_REASONS, max(NAN_REASONS) + 1: "a reason the kernels never give"}
    with pytest.raises(RuntimeError, match="NAN_REASONS codes"):
        check_contract(nan_reasons=extra)
    codes = sorted(NAN_REASONS)
    exchanged = {**NAN_REASONS, codes[0]: NAN_REASONS[codes[1]], codes[1]: NAN_REASONS[codes[0]]}
    with pytest.raises(RuntimeError, match="does not say"):
        check_contract(nan_reasons=exchanged)


def test_slots_are_named_and_paired():
    assert len(JOINT_SLOTS) == 17 and len(SIGNAL_ROWS) == 16
    assert len(set(JOINT_SLOTS)) == len(JOINT_SLOTS) and len(set(SIGNAL_ROWS)) == len(SIGNAL_ROWS)


@pytest.mark.parametrize("function", [extract_features, detect_events])
def test_public_defaults_come_from_the_one_table(function):
    params = inspect.signature(function).parameters
    shared = [name for name in DEFAULTS._fields if name in params]
    assert shared, "the public call takes none of the kernel settings"
    for name in shared:
        assert params[name].default == getattr(DEFAULTS, name), name


def test_feature_set_resolver():
    assert resolve_feature_set("all") == list(gaitfeat.FEATURES)
    assert resolve_feature_set("paper14") == list(gaitfeat.FEATURE_SETS["paper14"])
    assert resolve_feature_set(("walking_speed", "cadence")) == ["walking_speed", "cadence"]   # order kept
    for bad, match in [("paper15", "unknown feature set"), ("cadence", "single column"), ([], "empty"),
                       (["cadence", "nope"], "unknown feature names"), (["cadence", "cadence"], "more than once")]:
        with pytest.raises(ValueError, match=match):
            resolve_feature_set(bad)
    with pytest.raises(TypeError):
        resolve_feature_set(3)
