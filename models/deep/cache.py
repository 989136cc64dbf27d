"""A cache of a fitted ST-GCN's frozen-block outputs and Grad-CAM answers, shared by the estimators built on it.

The dual-stream variants of one cross-validation fold start from the same
fitted ST-GCN: in phase 1 they all run the validation clips through the same
frozen blocks, and the Grad-CAM variants all ask the backbone for the joint
contributions of the same training clips. A :class:`TrunkCache`, created by
the caller (one per fold, say) and passed to each estimator as ``cache=``,
lets them compute those once. Caching never changes a number: frozen blocks
run in evaluation mode, outside autograd, so their output for a clip is the
same every time.

Keys are content hashes (:func:`digest`), so one cache can serve several
backbones and data sets without mix-ups:

``("trunk", backbone, data, n_frozen)``
    Output ``(N, C', T', V)`` of the first ``n_frozen`` blocks (float32, CPU)
    for the validation clips with digest ``data``.
``("contributions", backbone, method, clips, target)``
    Joint contribution scores ``(V,)`` of an attribution ``method``.

``backbone`` is the digest of the fitted ST-GCN's weights (:func:`module_digest`).
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Hashable

import numpy as np

__all__ = ["TrunkCache", "digest", "module_digest"]


def digest(array: np.ndarray) -> str:
    """Content hash of an array (cache key): its bytes and shape."""
    a = np.ascontiguousarray(array)
    return hashlib.blake2b(a.view(np.uint8).reshape(-1), digest_size=16).hexdigest() + str(a.shape)


def module_digest(module) -> str:
    """Content hash of a torch module's state (parameter and buffer names, shapes and values)."""
    h = hashlib.blake2b(digest_size=16)
    for name, tensor in module.state_dict().items():
        h.update(name.encode())
        h.update(digest(tensor.detach().cpu().contiguous().numpy()).encode())
    return h.hexdigest()


class TrunkCache:
    """In-memory store of results that depend only on a fitted backbone and data, keyed by content.

    Create one and pass it as ``cache=`` to the estimators that should share
    it (e.g. the dual-stream variants trained from one fold's ST-GCN);
    ``cache=None`` computes everything afresh. The cache is shared state, not
    a setting: ``copy.deepcopy`` and :func:`sklearn.base.clone` return the
    same object (as they keep a ``joblib.Memory`` pointing at the same
    folder), and a pickled cache is restored empty.

    Examples
    --------
    >>> cache = TrunkCache()
    >>> cache.cached(("answer",), lambda: 42)
    42
    >>> ("answer",) in cache, len(cache)
    (True, 1)
    """

    def __init__(self):
        self._entries: dict[Hashable, Any] = {}

    def get(self, key: Hashable, default=None):
        """The value stored under ``key``, else ``default``."""
        return self._entries.get(key, default)

    def put(self, key: Hashable, value) -> None:
        """Store ``value`` under ``key`` (replacing any earlier one)."""
        self._entries[key] = value

    def cached(self, key: Hashable, compute: Callable[[], Any]):
        """The value under ``key``, computed by ``compute()`` and stored the first time."""
        if key not in self._entries:
            self._entries[key] = compute()
        return self._entries[key]

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()

    def __contains__(self, key) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"TrunkCache({len(self)} entries)"

    def __deepcopy__(self, memo):
        return self

    def __getstate__(self):
        return {"_entries": {}}
