"""Resolving ``sampling_strategy`` into per-class targets, as imbalanced-learn 0.14 does.

Class counts come from the sorted labels; "the majority" is the first label (in sorted order)
with the largest count, "the minority" the first with the smallest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["resolve_cleaning", "resolve_over_sampling"]


def _counts(classes: NDArray[Any], counts: NDArray[np.intp]) -> dict[Any, int]:
    return {_key(c): int(n) for c, n in zip(classes, counts, strict=True)}


def _key(label: Any) -> Any:
    """Return a label as the plain Python value used as a dict key."""
    return label.item() if hasattr(label, "item") else label


def resolve_over_sampling(
    strategy: float | str | dict[Any, int] | Callable[..., dict[Any, int]],
    y: NDArray[Any],
    classes: NDArray[Any],
    counts: NDArray[np.intp],
) -> dict[Any, int]:
    """Return ``{label: number of rows to generate}`` for every targeted class.

    Parameters
    ----------
    strategy : float, str, dict or callable
        float α (binary only): the minority grows to ``int(α · n_majority)``, an error when
        that adds no row; 'auto' and
        'not majority': every class but the majority grows to the majority count; 'minority':
        only the minority; 'not minority': every class but the minority; 'all': every class;
        dict (or a callable of y returning one): desired total rows per class.
    y : ndarray of shape (n_samples,)
        Labels, passed to a callable strategy.
    classes, counts : ndarray of shape (n_classes,)
        Sorted labels and their counts.

    Returns
    -------
    dict
        Label -> rows to generate, in sorted-label order.
    """
    stats = _counts(classes, counts)
    n_major = int(counts.max())
    major = classes[int(np.argmax(counts))]
    minor = classes[int(np.argmin(counts))]
    if isinstance(strategy, str):
        pick = {
            "auto": lambda c: c != major,
            "not majority": lambda c: c != major,
            "minority": lambda c: c == minor,
            "not minority": lambda c: c != minor,
            "all": lambda c: True,
        }[strategy]
        return {c: (n_major - n if pick(c) else 0) for c, n in stats.items() if pick(c)}
    if callable(strategy):
        strategy = strategy(y)
        if not isinstance(strategy, dict):
            raise ValueError(
                f"A callable sampling_strategy must return a dict; got {type(strategy).__name__}."
            )
    if isinstance(strategy, dict):
        return _from_dict(strategy, stats)
    if len(stats) != 2:
        raise ValueError(
            f"sampling_strategy can be a float only when the target is binary; y has "
            f"{len(stats)} classes. For multi-class, use a dict."
        )
    out = {c: int(n_major * float(strategy) - n) for c, n in stats.items() if c != major}
    for c, n in out.items():
        if n <= 0:
            # As imbalanced-learn: a float that adds no row is an error, not a silent no-op.
            raise ValueError(
                f"sampling_strategy={strategy} asks for {int(n_major * float(strategy))} rows "
                f"of class {c!r}, which already has {stats[c]}: it would generate no row. Use "
                f"a float of at least {(stats[c] + 1) / n_major:.4g}."
            )
    return out


def _from_dict(strategy: dict[Any, Any], stats: dict[Any, int]) -> dict[Any, int]:
    unknown = [k for k in strategy if k not in stats]
    if unknown:
        raise ValueError(
            f"sampling_strategy names class(es) {unknown} not present in y; y has classes "
            f"{list(stats)}."
        )
    out: dict[Any, int] = {}
    for c in stats:
        if c not in strategy:
            continue
        want = strategy[c]
        if isinstance(want, bool) or not isinstance(want, int | np.integer):
            raise ValueError(
                f"sampling_strategy[{c!r}] must be an int (desired number of rows); got {want!r}."
            )
        if want < 0:
            raise ValueError(
                f"sampling_strategy[{c!r}] must be >= 0 (desired number of rows); got {want}."
            )
        if want < stats[c]:
            raise ValueError(
                f"sampling_strategy[{c!r}] asks for {want} rows but class {c!r} already has "
                f"{stats[c]}; an over-sampler can only add rows."
            )
        out[c] = int(want) - stats[c]
    return out


def resolve_cleaning(
    strategy: str | list[Any] | Callable[..., Any],
    y: NDArray[Any],
    classes: NDArray[Any],
    counts: NDArray[np.intp],
) -> list[Any]:
    """Return the labels whose rows a cleaner may remove, in sorted order.

    Parameters
    ----------
    strategy : str, list or callable
        'auto' and 'not minority': every class but the minority; 'majority': only the
        majority; 'not majority': every class but the majority; 'all': every class; a list of
        labels; a callable of y returning a list or dict (its keys).
    y : ndarray of shape (n_samples,)
        Labels, passed to a callable strategy.
    classes, counts : ndarray of shape (n_classes,)
        Sorted labels and their counts.

    Returns
    -------
    list
    """
    stats = _counts(classes, counts)
    major = classes[int(np.argmax(counts))]
    minor = classes[int(np.argmin(counts))]
    if isinstance(strategy, str):
        pick = {
            "auto": lambda c: c != minor,
            "not minority": lambda c: c != minor,
            "majority": lambda c: c == major,
            "not majority": lambda c: c != major,
            "all": lambda c: True,
        }[strategy]
        return [c for c in stats if pick(c)]
    chosen = strategy(y) if callable(strategy) else strategy
    chosen = list(chosen)
    unknown = [k for k in chosen if k not in stats]
    if unknown:
        raise ValueError(
            f"sampling_strategy names class(es) {unknown} not present in y; y has classes "
            f"{list(stats)}."
        )
    return [c for c in stats if c in chosen]
