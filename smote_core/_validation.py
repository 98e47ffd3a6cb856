"""Parameter constraints as data, one small validator, and input checks.

Every sampler declares ``_parameter_constraints``: for each ``__init__`` argument, a list of
constraints of which at least one must hold. :func:`validate_params` checks them all and raises
an :class:`InvalidParameterError` that names the parameter, what it accepts and what it got.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Interval",
    "InvalidParameterError",
    "Options",
    "TypeConstraint",
    "check_random_state",
    "validate_params",
]


class InvalidParameterError(ValueError, TypeError):
    """A parameter is outside what the estimator accepts (both a ValueError and a TypeError)."""


class Constraint(ABC):
    """One accepted form of a parameter."""

    @abstractmethod
    def is_satisfied_by(self, value: object) -> bool:
        """Each concrete subclass says how."""


@dataclass(frozen=True)
class Interval(Constraint):
    """Numbers of one kind in an interval; ``None`` bounds are infinite.

    Parameters
    ----------
    kind : {"int", "real"}
        ``"int"`` accepts integers only; ``"real"`` accepts any real number (not bool).
    left, right : float or None
        Bounds.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.
    """

    kind: str
    left: float | None
    right: float | None
    closed: str

    def is_satisfied_by(self, value: object) -> bool:
        if isinstance(value, bool | np.bool_):
            return False
        base = Integral if self.kind == "int" else Real
        if not isinstance(value, base):
            return False
        v = float(value)
        if math.isnan(v):
            return False
        if self.left is not None:
            closed_left = self.closed in ("left", "both")
            if v < self.left or (v == self.left and not closed_left):
                return False
        if self.right is not None:
            closed_right = self.closed in ("right", "both")
            if v > self.right or (v == self.right and not closed_right):
                return False
        return True

    def __str__(self) -> str:
        left = "-inf" if self.left is None else _num(self.left)
        right = "inf" if self.right is None else _num(self.right)
        lb = "[" if self.closed in ("left", "both") and self.left is not None else "("
        rb = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        noun = "an int" if self.kind == "int" else "a float"
        return f"{noun} in the range {lb}{left}, {right}{rb}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of strings."""

    options: frozenset[str]

    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, str) and value in self.options

    def __str__(self) -> str:
        return "a str among {" + ", ".join(repr(o) for o in sorted(self.options)) + "}"


@dataclass(frozen=True)
class TypeConstraint(Constraint):
    """Any value passing ``check``, described as ``description``."""

    check: Callable[[object], bool]
    description: str

    def is_satisfied_by(self, value: object) -> bool:
        return self.check(value)

    def __str__(self) -> str:
        return self.description


NONE = TypeConstraint(lambda v: v is None, "None")
DICT = TypeConstraint(lambda v: isinstance(v, dict), "a dict")
LIST = TypeConstraint(lambda v: isinstance(v, list), "a list")
CALLABLE = TypeConstraint(callable, "a callable")
RANDOM_STATE = TypeConstraint(
    lambda v: (
        v is None
        or isinstance(v, np.random.Generator)
        or (isinstance(v, Integral) and not isinstance(v, bool) and 0 <= int(v) < 2**63)
    ),
    "an int in the range [0, 2**63), a numpy.random.Generator or None",
)


def validate_params(estimator: Any) -> None:
    """Check every parameter of ``estimator`` against its ``_parameter_constraints``.

    Parameters
    ----------
    estimator : object
        Has ``_parameter_constraints`` (name -> list of :class:`Constraint`) and one attribute
        per name.

    Raises
    ------
    InvalidParameterError
        Naming the first parameter that satisfies none of its constraints.
    """
    name = type(estimator).__name__
    for param, constraints in estimator._parameter_constraints.items():
        value = getattr(estimator, param)
        if any(c.is_satisfied_by(value) for c in constraints):
            continue
        accepted = [str(c) for c in constraints]
        expected = accepted[0] if len(accepted) == 1 else ", ".join(accepted[:-1])
        if len(accepted) > 1:
            expected += f" or {accepted[-1]}"
        raise InvalidParameterError(
            f"The '{param}' parameter of {name} must be {expected}. Got {value!r} instead."
        )


def check_random_state(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """Return the one generator a run draws from.

    Parameters
    ----------
    random_state : int, numpy.random.Generator or None
        An int seeds a new PCG64 generator (same seed, same output); a Generator is used as
        given (and advanced); None draws fresh OS entropy.

    Returns
    -------
    numpy.random.Generator
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(None if random_state is None else int(random_state))


def check_finite(X: NDArray[np.floating], name: str = "X") -> None:
    """Raise a ValueError when ``X`` holds NaN or infinity, saying where."""
    # One reduction without a temporary; only a non-finite sum pays for the exact search.
    with np.errstate(over="ignore", invalid="ignore"):
        total = X.sum(dtype=np.float64) if X.size else 0.0
    if np.isfinite(total):
        return
    nan = np.isnan(X)
    if nan.any():
        row, col = (int(i[0]) for i in np.nonzero(nan))
        raise ValueError(
            f"Input {name} contains NaN (first at row {row}, column {col}). SMOTE interpolates "
            "between rows and cannot use missing values; impute or drop them first."
        )
    inf = ~np.isfinite(X)
    if inf.any():
        row, col = (int(i[0]) for i in np.nonzero(inf))
        raise ValueError(
            f"Input {name} contains infinity (first at row {row}, column {col}). SMOTE "
            "interpolates between rows and needs finite values."
        )
