"""The bounds of the slice settings, declared once: the config validates with them and the
engine checks its arguments with them (this module imports nothing heavy, so the config can)."""

from __future__ import annotations

from typing import Any

from smote_monitor.errors import InvalidInputError

DEFAULT_MIN_SLICE_SUPPORT = 30
"""The SLO default: below this many labelled minority rows a slice is too noisy to alert on."""
MIN_SLICE_SUPPORT_LOWEST = 1
"""A slice with no minority row has no recall to judge."""

DEFAULT_MAX_SLICE_VALUES = 50
"""Distinct values per slice column kept as their own slice (series) by default."""
MAX_SLICE_VALUES_RANGE = (1, 10_000)


def check_min_slice_support(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_SLICE_SUPPORT_LOWEST:
        raise InvalidInputError(field, value, f"an int >= {MIN_SLICE_SUPPORT_LOWEST}")
    return value


def check_max_slice_values(value: Any, field: str) -> int:
    low, high = MAX_SLICE_VALUES_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInputError(field, value, f"an int in [{low}, {high}]")
    return value
