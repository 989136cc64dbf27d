"""The clip-scan kernels against plain-NumPy references of what they compute."""

import warnings

import numpy as np
import pytest

from gaitfeat.preprocessing._scan import scan_clips, zero_missing

LIMIT = 1000.0


def _first(mask: np.ndarray) -> np.ndarray:
    """Per clip, the flat (t * V + v) index of the first True, or -1."""
    flat = mask.reshape(mask.shape[0], -1)
    return np.where(flat.any(axis=1), flat.argmax(axis=1), -1)


def reference(clips: np.ndarray):
    xy = clips[..., :2].astype(np.float64)
    with np.errstate(invalid="ignore"):
        impossible = (~(np.abs(xy) <= LIMIT) & ~np.isnan(xy)).any(axis=-1)
    missing = np.isnan(xy).any(axis=-1)
    if clips.shape[-1] >= 3:
        conf = clips[..., 2].astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad_conf = ~((conf >= 0) & (conf <= 1)) & ~np.isnan(conf)
            missing |= ~(conf > 0)
    else:
        bad_conf = np.zeros(clips.shape[:3], bool)
    observed = (~missing).reshape(len(clips), -1).sum(axis=1)
    masked = np.where(missing[..., None], np.nan, xy)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)          # all-NaN frames and clips
        extent = np.nanmax(masked, axis=2) - np.nanmin(masked, axis=2)          # (N, T, 2)
        spread = np.nanmax(extent.reshape(len(clips), -1), axis=1)
    spread = np.where(np.isnan(spread), -np.inf, spread)
    return _first(impossible), _first(bad_conf), observed, spread


def random_clips(seed: int, n=40, t=12, v=17, c=3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    clips = rng.normal(0, 0.5, (n, t, v, c)).astype(np.float32)
    if c >= 3:
        clips[..., 2] = rng.uniform(0, 1, (n, t, v))
        clips[..., 2][rng.random((n, t, v)) < 0.1] = 0.0                      # undetected: confidence 0
        clips[..., 2][rng.random((n, t, v)) < 0.01] = np.nan
        clips[..., 2][rng.random((n, t, v)) < 0.01] = 1.5                     # out of range
    clips[..., 0][rng.random((n, t, v)) < 0.1] = np.nan                       # missing x
    clips[..., 1][rng.random((n, t, v)) < 0.02] = np.nan
    clips[3, 5, 2, 0] = np.inf
    clips[4, 0, 0, 1] = -2000.0
    clips[5] = np.nan                                                          # nothing observed
    clips[6, :, 1:, :2] = np.nan                                               # one joint per frame: no extent
    return clips


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("channels", [2, 3, 4])
def test_scan_matches_numpy(seed, channels):
    clips = random_clips(seed, c=channels)
    got = scan_clips(clips, LIMIT)
    want = reference(clips)
    for name, g, w in zip(got._fields, got, want):
        np.testing.assert_array_equal(g, w, err_msg=name)


def test_zero_missing_matches_numpy():
    clips = random_clips(7)
    clips[..., :2][~np.isfinite(clips[..., :2])] = np.nan
    expected = clips.copy()
    with np.errstate(invalid="ignore"):
        missing = np.isnan(expected[..., :2]).any(axis=-1) | ~(expected[..., 2] > 0)
    expected[missing] = 0.0
    n = zero_missing(clips)
    assert n == int(missing.sum())
    np.testing.assert_array_equal(clips, expected)


def test_zero_missing_refuses_what_it_cannot_change_in_place():
    clips = random_clips(1)
    for bad in (clips.astype(np.float64), clips[:, ::2], np.asfortranarray(clips)):
        with pytest.raises(ValueError, match="float32"):
            zero_missing(bad)
    frozen = clips.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError):
        zero_missing(frozen)


def test_empty_batch():
    out = scan_clips(np.zeros((0, 4, 17, 3), np.float32), LIMIT)
    assert all(len(a) == 0 for a in out)
    assert zero_missing(np.zeros((0, 4, 17, 3), np.float32)) == 0
