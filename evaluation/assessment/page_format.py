"""Number formats of the assessment page: values with units, em dashes for what was not measured."""

from __future__ import annotations

import math

from evaluation.report.html import esc

__all__ = ["DASH", "isnum", "num", "at", "feature_digits", "fmt_value"]

#: Shown for a value that was not measured (or a visit not assessed).
DASH = "—"


def isnum(v) -> bool:
    """A finite number (not a bool)."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def num(v, digits: int = 1, suffix: str = "") -> str:
    """``v`` with ``digits`` decimals (and an escaped suffix), or an em dash when absent; text is escaped."""
    if v is None:
        return DASH
    if not isnum(v):
        return esc(v)              # a hand-edited record: show what is there, as text
    return f"{v:.{digits}f}{esc(suffix)}"


def feature_digits(unit: str | None) -> int:
    """Decimals for a clinical feature: angles, percentages and rates per minute 1; lengths, speeds, times 2."""
    u = (unit or "").strip().lower()
    return 1 if u in ("deg", "°", "degrees", "%") or "/min" in u else 2


def fmt_value(value, unit: str | None) -> str:
    """A feature value rounded for display by :func:`feature_digits` (an em dash when absent)."""
    return num(value, feature_digits(unit))


def at(seq, i):
    """``seq[i]``, or None when ``seq`` is empty or too short."""
    return seq[i] if seq and i is not None and 0 <= i < len(seq) else None
