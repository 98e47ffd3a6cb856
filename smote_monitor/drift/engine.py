"""Drift of a window against reference profiles: one result per feature and a dataset share."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from smote_monitor.conventions import DRIFT_EMPTY, DRIFT_MISSING
from smote_monitor.drift.profile import FeatureProfile, Mode
from smote_monitor.drift.stattests import METHODS, Method, choose_method
from smote_monitor.errors import InvalidInputError

#: Evidently's default: the dataset drifts when at least half of its features do.
DEFAULT_DRIFT_SHARE = 0.5


@dataclass(frozen=True)
class DriftResult:
    """The drift verdict of one feature (fields independent of any dataset or window).

    Attributes
    ----------
    feature : str
    method : str
        Key of :data:`~smote_monitor.drift.stattests.METHODS`, or a flag of a broken feature
        (``compute_drift(..., flag_unusable=True)``): ``missing`` (no profile of the feature in
        the window: its column is absent) or ``empty`` (no finite value in the window).
    value : float
        p-value (``ks``, ``chisquare``, ``z``) or distance (the others); NaN when flagged.
    threshold : float
        NaN when flagged.
    drifted : bool
        Always ``True`` when flagged: a feature that broke upstream is the incident to report.
    mode : {'exact', 'sketch'}
        ``'sketch'`` when either side was summarised past the exact cap (the reference's mode
        when flagged).
    n_reference, n_current : int
        Rows compared after cleaning.
    """

    feature: str
    method: str
    value: float
    threshold: float
    drifted: bool
    mode: Mode
    n_reference: int
    n_current: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (NaN stays a float NaN)."""
        return asdict(self)


@dataclass(frozen=True)
class DatasetDrift:
    """Drift of every feature of a window and the dataset-level verdict.

    Attributes
    ----------
    features : list of DriftResult
        In the order of the reference profiles.
    share : float
        Share of features that drifted.
    share_threshold : float
        The dataset drifts when ``share`` reaches it (Evidently's ``drift_share``).
    drifted : bool
        ``share >= share_threshold``.
    """

    features: list[DriftResult]
    share: float
    share_threshold: float
    drifted: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            "features": [r.to_dict() for r in self.features],
            "share": self.share,
            "share_threshold": self.share_threshold,
            "drifted": self.drifted,
        }


def _method_for(
    reference: FeatureProfile, current: FeatureProfile | None, method: str, field: str
) -> Method:
    """The table entry of ``method``, checked against the feature's kind and profile mode.

    ``field`` is the caller's name for the choice (``method`` of :func:`feature_drift`,
    ``methods.<feature>`` of :func:`compute_drift`), so the message names what was passed.
    """
    spec = METHODS.get(method)
    if spec is None:
        raise InvalidInputError(field, method, f"one of {', '.join(METHODS)}")
    if not spec.accepts(reference.kind):
        accepted = ", ".join(kind.value for kind in spec.kinds)
        raise InvalidInputError(
            field,
            method,
            f"a method for {reference.kind.value} features ({method} accepts {accepted})",
        )
    sketched = reference.mode == "sketch" or (current is not None and current.mode == "sketch")
    if spec.needs_counts and sketched:
        raise InvalidInputError(
            field,
            method,
            f"a method that works on summarised numeric data "
            f"({', '.join(n for n, m in METHODS.items() if not m.needs_counts)}): this feature "
            "has more distinct values than the exact cap",
        )
    return spec


def feature_drift(
    reference: FeatureProfile,
    current: FeatureProfile,
    method: str | None = None,
    threshold: float | None = None,
) -> DriftResult:
    """Drift of one feature.

    Parameters
    ----------
    reference, current : FeatureProfile
        Profiles of the same feature; neither may be empty.
    method : str, optional
        A key of ``METHODS``; default Evidently's automatic choice.
    threshold : float, optional
        Default the method's.

    Raises
    ------
    InvalidInputError
        Empty profile (every value missing), unknown method or one the feature's kind does not
        accept, mismatched kinds.
    """
    name = reference.name
    for side, profile in (("reference", reference), ("current", current)):
        if profile.n == 0:
            raise InvalidInputError(
                f"{side}.{name}",
                f"{profile.n_missing} rows, all NaN/inf/missing",
                "at least one value after dropping NaN and ±inf",
            )
    if current.name != name or current.kind is not reference.kind:
        raise InvalidInputError(
            f"current.{current.name}", current.kind.value, f"a {reference.kind.value} {name}"
        )
    chosen = method if method is not None else choose_method(reference, current)
    spec = _method_for(reference, current, chosen, "method")
    limit = spec.threshold if threshold is None else float(threshold)
    value, mode = spec.compute(reference, current)
    return DriftResult(
        feature=name,
        method=chosen,
        value=value,
        threshold=limit,
        drifted=spec.drifted(value, limit),
        mode=mode,
        n_reference=reference.n,
        n_current=current.n,
    )


def _flagged(reference: FeatureProfile, current: FeatureProfile | None) -> DriftResult:
    """The verdict on a feature the window cannot test: ``missing`` when ``current`` is
    ``None`` (its column is absent), else ``empty`` (no finite value); always drifted."""
    return DriftResult(
        feature=reference.name,
        method=DRIFT_MISSING if current is None else DRIFT_EMPTY,
        value=math.nan,
        threshold=math.nan,
        drifted=True,
        mode=reference.mode,
        n_reference=reference.n,
        n_current=0,
    )


def compute_drift(
    reference: Mapping[str, FeatureProfile],
    current: Mapping[str, FeatureProfile],
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = DEFAULT_DRIFT_SHARE,
    *,
    flag_unusable: bool = False,
) -> DatasetDrift:
    """Drift of a window against reference profiles, feature by feature.

    Everything is validated before anything is computed, and nothing partial is returned: a
    bad feature raises for the whole call (by default).

    Parameters
    ----------
    reference, current : mapping of feature name to FeatureProfile
        ``current`` must cover every reference feature, unless ``flag_unusable``.
    methods, thresholds : mapping of feature name, optional
        Per-feature overrides of the automatic method and of its default threshold.
    drift_share : float, default 0.5
    flag_unusable : bool, default False
        Report a feature absent from ``current`` (method ``missing``) or empty in it (method
        ``empty``) as drifted, counted in the share, instead of raising. A monitor wants this:
        a feature that broke upstream is exactly what it must report. The default stays strict
        for library callers comparing two datasets they built themselves. An empty *reference*
        profile is an error either way.

    Returns
    -------
    DatasetDrift

    Raises
    ------
    InvalidInputError
        A feature missing from ``current`` or empty in it (unless ``flag_unusable``), an
        override naming an unknown feature or method (or one the feature's kind does not
        accept), an empty reference feature, a ``drift_share`` outside (0, 1].
    """
    if not 0 < drift_share <= 1:
        raise InvalidInputError("drift_share", drift_share, "a share in (0, 1]")
    if not reference:
        raise InvalidInputError("reference", {}, "at least one feature profile")
    for field, overrides in (("methods", methods or {}), ("thresholds", thresholds or {})):
        for name in overrides:
            if name not in reference:
                raise InvalidInputError(
                    f"{field}.{name}", name, f"a profiled feature ({len(reference)} profiled)"
                )
    for name, value in (methods or {}).items():
        _method_for(reference[name], current.get(name), value, f"methods.{name}")
    for name in reference:
        if name not in current and not flag_unusable:
            raise InvalidInputError(f"current.{name}", None, "a profile of this reference feature")
    results = [
        _flagged(reference[name], current.get(name))
        if flag_unusable
        and reference[name].n > 0
        and (current.get(name) is None or current[name].n == 0)
        else feature_drift(
            reference[name], current[name], (methods or {}).get(name), (thresholds or {}).get(name)
        )
        for name in reference
    ]
    share = sum(r.drifted for r in results) / len(results)
    return DatasetDrift(
        features=results,
        share=share,
        share_threshold=drift_share,
        drifted=share >= drift_share,
    )
