"""Numba kernels of the feature engine.

Private: :mod:`gaitfeat.features.engine` validates and converts the input and
is the public entry point. The contract between them lives in
:mod:`.contract` (plain Python) and is re-exported here:

* ``clips`` is C-contiguous float32 ``(N, T, V, C)``, ``C >= 2``, in the
  coordinates of :func:`gaitfeat.preprocess` (hip midpoint at the origin, x
  along the walking direction, y up, leg lengths), NaN for missing joints;
  the confidence channel, if any, is not read;
* ``fps`` is a float64 ``(N,)`` array of positive frame rates;
* ``joints`` is the int64 joint-index table in the order of
  :data:`JOINT_SLOTS`, built by ``engine._joint_table`` (-1 where the layout
  lacks a joint: heels and toes in COCO-17);
* ``params`` is a :class:`KernelParams` (floats and one bool) built by
  ``engine._params`` from the public keywords, whose defaults are
  :data:`DEFAULTS`;
* the outputs are preallocated by the caller: features in the order of
  ``COLUMNS`` (``definitions.FEATURES`` then ``EXTENDED_FEATURES``), NaN
  reason codes ``R_*``, :data:`QUALITY_SLOTS`, and the events.

Steps: :mod:`.signals` (per-frame signals, rows :data:`SIGNAL_ROWS`),
:mod:`.events` (events, walking stretches, steps, strides), :mod:`.extended`
(foot signals, rows ``FOOT_ROWS``, and the extended features), :mod:`.features`
(per-clip features and :func:`extract_batch`). ``tests/naive.py`` holds a
plain-NumPy version of the same algorithm; the tests compare the two.

numba's on-disk cache (``cache=True``) notices edits only to the file that
defines a function, not to the modules it calls or whose constants it uses;
so the cached machine code is dropped whenever the digest of all kernel
modules and ``definitions.py`` changes (:func:`_drop_stale_caches`): an edit
to any of them recompiles, never loads stale machine code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from gaitfeat.features._kernels import events, extended, features, signals
from gaitfeat.features._kernels.contract import *  # noqa: F401,F403  (the contract, re-exported)
from gaitfeat.features._kernels.contract import (
    DEFAULTS,
    FOOT_SLOTS,
    JOINT_SLOTS,
    METHODS,
    N_FEATURES,
    N_JOINT_SLOTS,
    N_QUALITY,
    N_SIGNALS,
    QUALITY_SLOTS,
    SIGNAL_ROWS,
    FeatureOptions,
    KernelParams,
    check_contract,
)
from gaitfeat.features._kernels.features import extract_batch

__all__ = [
    "extract_batch", "KernelParams", "FeatureOptions", "DEFAULTS", "METHODS", "JOINT_SLOTS", "FOOT_SLOTS",
    "N_JOINT_SLOTS", "SIGNAL_ROWS", "N_SIGNALS", "QUALITY_SLOTS", "N_QUALITY", "N_FEATURES", "check_contract",
]


def _drop_stale_caches() -> None:
    """Delete numba's cached machine code of these kernels when any kernel source changed since it was written.

    numba keys a cached function on its own file only; a kernel that calls
    (and inlines) functions of a sibling module would otherwise load stale
    code after that module is edited. A stamp file next to the cache holds a
    digest of every kernel module and ``definitions.py``; when it differs,
    the cache files (``*.nbi``, ``*.nbc``) are removed before any kernel is
    called, so the kernels recompile. Runs only where the cache sits in the
    source tree and is writable (a development checkout); nothing happens
    elsewhere.
    """
    here = Path(__file__).resolve().parent
    cache = here / "__pycache__"
    digest = hashlib.sha256()
    for path in sorted(here.glob("*.py")) + [here.parent / "definitions.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    stamp_file = cache / "kernel-sources.sha256"
    try:
        if stamp_file.is_file() and stamp_file.read_text() == digest.hexdigest():
            return
        for old in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            old.unlink()
        cache.mkdir(exist_ok=True)
        stamp_file.write_text(digest.hexdigest())
    except OSError:  # a read-only install: numba uses its user-wide cache, and installed sources do not change
        return


_drop_stale_caches()
