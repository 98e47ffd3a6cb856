"""Values as people read them: "–" for nothing, binary units, durations, counts with commas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smote_monitor import jsonio

MISSING = "–"

_BYTE_UNITS = ("KiB", "MiB", "GiB", "TiB")


def size(n_bytes: int | None) -> str:
    """``12900000`` → ``"12.3 MiB"`` (binary units, as tracemalloc and RSS are counted)."""
    if n_bytes is None:
        return MISSING
    if n_bytes < 1024:
        return f"{n_bytes} B"
    value = float(n_bytes)
    for unit in _BYTE_UNITS:
        value /= 1024
        if value < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def duration(seconds: float | None) -> str:
    """``0.0123`` → ``"12 ms"``, ``2.345`` → ``"2.35 s"``, ``83.5`` → ``"1 min 24 s"``."""
    if seconds is None:
        return MISSING
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest} s"
    hours, rest = divmod(round(seconds / 60), 60)
    return f"{hours} h {rest:02d} min"


def count(value: int | None) -> str:
    return MISSING if value is None else f"{value:,}"


def class_counts(before: Mapping[str, int], after: Mapping[str, int]) -> str:
    """``"0: 9,340 → 9,340, 1: 517 → 4,670"``: each class before and after resampling."""
    labels = sorted({*before, *after}, key=_label_order)
    if not labels:
        return MISSING
    return ", ".join(
        f"{label}: {count(before.get(label))} → {count(after.get(label))}" for label in labels
    )


def params(values: Mapping[str, Any]) -> str:
    """``"k_neighbors=5, sampling_strategy=auto"``; nested values as compact JSON."""
    if not values:
        return MISSING
    return ", ".join(f"{key}={_param(values[key])}" for key in sorted(values))


def _param(value: Any) -> str:
    if isinstance(value, str):
        return value
    return jsonio.dumps(value)


def _label_order(label: str) -> tuple[int, float, str]:
    # numeric class labels in numeric order ("2" before "10"), others after, alphabetically
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)
