"""One rule for turning results into JSON: :func:`to_jsonable`.

Used wherever the toolkit writes JSON (``metrics.json``, model sidecars,
``.npz`` metadata), so a NumPy scalar, an array or an undefined number is
written the same way everywhere.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """A copy of ``obj`` that :func:`json.dumps` accepts with ``allow_nan=False``.

    Dict keys become strings; tuples, lists and arrays become lists; NumPy
    integers, floats and booleans become Python ones; a non-finite float
    (NaN, ±inf: an undefined value) becomes ``None`` (JSON ``null``), never
    the non-standard ``NaN`` token. Anything else is returned unchanged (and
    ``json.dumps`` raises ``TypeError`` if it cannot store it).
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        return float(obj) if math.isfinite(float(obj)) else None
    return obj
