"""The status page (``GET /``): every configured dataset on one server-rendered HTML page.

For a user who has no Grafana yet, and for the demo. Per dataset: the latest run and its gate,
recall per slice with its 95 % Wilson interval against the SLO line and drift per feature as
inline SVG, the recent runs with links to their reports, and the conditions that fire. No
JavaScript: the page reloads itself every :data:`REFRESH_SECONDS` with ``<meta http-equiv>``.

Nothing is computed twice: the windows, slices, verdicts and drift come from
:func:`smote_monitor.evaluation.status.dataset_status` (what ``GET
/api/v1/datasets/{dataset}/status`` returns), the runs from the repository and the run document
the runs routes return. This module only orders, caps and draws them.

Slice and feature names come from production data: they reach the browser only through the
template's autoescaping (``templates/status.html``), never through string formatting here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from smote_monitor.config import DatasetConfig, Settings, stale_after_seconds
from smote_monitor.conventions import (
    DRIFT_EMPTY,
    DRIFT_MISSING,
    MONITOR_STORE_UP,
    OUTCOME_ERROR,
    OUTCOME_GATE_FAILED,
    OUTCOME_RUNNING,
)
from smote_monitor.errors import InvalidInputError, StoreUnavailableError
from smote_monitor.records import run_document, utcnow
from smote_monitor.store import Store
from smote_monitor.store.database import SchemaOutdatedError
from smote_monitor.store.evaluations import DASK, on_dask
from smote_monitor.store.models import ReferenceProfile

log = logging.getLogger(__name__)

REFRESH_SECONDS = 30
RECENT_RUNS = 10
"""Runs listed per dataset, newest first."""
ROWS_DRAWN = 20
"""Slices (features) drawn per chart: the worst ones; the rest are counted under the chart."""
NAMES_LISTED = 10
"""Slice or feature names spelled out in one firing condition; the rest are counted."""
LABEL_CHARS = 30
"""Characters of a name drawn in a chart; the whole name is its tooltip (SVG ``<title>``)."""

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
"""The page runs no script at all: should a name ever slip past escaping, the browser refuses
to run it (and says so in its console)."""

# Chart geometry (SVG user units: one CSS pixel each, the SVG shrinks on a narrower page).
WIDTH = 760
"""A chart's narrowest width; a chart is wider when its value labels need the room."""
NAME_X = 6
PLOT_X0, PLOT_X1 = 230, 520
VALUE_X = 532
"""Where each row's value label (verdict · value, interval, support) starts."""
VALUE_CHAR_WIDTH = 7.0
"""Room per character of a value label (11 px): a wide sans at weight 600 (DejaVu Sans Bold,
Debian's system-ui) draws these labels at 6.0-6.5 per character, its digits at 7.7."""
RIGHT_MARGIN = 8
ROW_HEIGHT = 22
TOP = 30
"""Above the first row: the SLO line's label (baseline TOP - 18) with an 11 px line's ascent
above it, then the ticks (baseline TOP - 8)."""
BOTTOM = 10

# Slices in the order they are listed: what needs attention first.
_SLICE_RANK = {"below_slo": 0, "inconclusive": 2, "meets_slo": 3, "insufficient_support": 4}
_VERDICT_TEXT = {
    "below_slo": "below SLO",
    "inconclusive": "inconclusive",
    "meets_slo": "meets SLO",
    "insufficient_support": "too few minority rows",
}


# --- what the template draws ----------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One row of a chart: a slice's recall or a feature's drift."""

    name: str
    label: str
    """``name`` cut to :data:`LABEL_CHARS` for drawing."""
    css: str
    """``below``, ``precision``, ``inconclusive``, ``meets``, ``insufficient`` (slices);
    ``drifted``, ``stable``, ``broken`` (features)."""
    verdict: str
    value_text: str
    y: float
    x: float | None = None
    """The point (slices) or the bar's end (features); None when there is no value."""
    low: float | None = None
    high: float | None = None
    """The interval's whisker (slices)."""

    @property
    def value_label(self) -> str:
        """The text right of the plot; the chart's width is reserved from its length."""
        return f"{self.verdict} · {self.value_text}"


@dataclass(frozen=True)
class Chart:
    kind: str  # "slices" | "drift"
    window: str
    bars: list[Bar]
    not_drawn: int
    not_drawn_flagged: int
    line_x: float
    line_label: str
    height: float
    width: float
    ticks: list[tuple[float, str]]
    caption: str


@dataclass(frozen=True)
class Condition:
    """Something that needs attention, named plainly, with the slices or features concerned."""

    name: str
    detail: str
    names: list[str] = field(default_factory=list)
    more: int = 0


@dataclass(frozen=True)
class RunRow:
    id: int
    run_key: str
    outcome: str
    started_at: str
    finished_at: str
    variant: str
    synthetic_ratio: str
    validation_gap: str
    report_url: str | None
    note: str


@dataclass(frozen=True)
class GateRow:
    check: str
    passed: bool
    message: str


@dataclass
class DatasetPanel:
    name: str
    problem: str | None = None
    """Why the dataset's status could not be read (a config the status route refuses)."""
    conditions: list[Condition] = field(default_factory=list)
    runs: list[RunRow] = field(default_factory=list)
    latest: RunRow | None = None
    gate_run: RunRow | None = None
    gate: list[GateRow] = field(default_factory=list)
    leakage: str | None = None
    reference: dict[str, Any] | None = None
    last_evaluation: str | None = None
    windows: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    pending: dict[str, int] = field(default_factory=dict)
    slo: dict[str, Any] = field(default_factory=dict)

    @property
    def firing(self) -> bool:
        return bool(self.conditions)


@dataclass(frozen=True)
class Page:
    status_code: int
    html: str
    headers: dict[str, str]


# --- the page -----------------------------------------------------------------------------


def render_status_page(store: Store, settings: Settings, *, now: datetime | None = None) -> Page:
    """The page for every configured dataset; a banner (503) when the store cannot be read."""
    now = now or utcnow()
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-store"}
    try:
        panels = [_panel(store, settings, name, now) for name in sorted(settings.datasets)]
    except (StoreUnavailableError, SchemaOutdatedError) as exc:
        log.warning("status page: the store could not be read: %s", exc)
        html = _render(
            store_error=str(exc),
            store=store.url_for_display,
            datasets=sorted(settings.datasets),
            panels=[],
            now=now,
        )
        return Page(503, html, {**headers, "Retry-After": str(REFRESH_SECONDS)})
    html = _render(
        store_error=None,
        store=store.url_for_display,
        datasets=sorted(settings.datasets),
        panels=panels,
        now=now,
    )
    return Page(200, html, headers)


def _render(**values: Any) -> str:
    return _template().render(
        refresh=REFRESH_SECONDS,
        store_up=MONITOR_STORE_UP.name,
        geometry=_GEOMETRY,
        when=_when,
        **values,
    )


_GEOMETRY = {
    "name_x": NAME_X,
    "plot_x0": PLOT_X0,
    "plot_x1": PLOT_X1,
    "value_x": VALUE_X,
    "row_height": ROW_HEIGHT,
    "top": TOP,
}


_environment: Environment | None = None


def _template() -> Any:
    global _environment
    if _environment is None:
        _environment = Environment(
            loader=PackageLoader("smote_monitor.server", "templates"),
            # Every {{ }} is escaped, in text and in attributes: names are untrusted.
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    return _environment.get_template("status.html")


def _panel(store: Store, settings: Settings, name: str, now: datetime) -> DatasetPanel:
    from smote_monitor.evaluation.status import dataset_status
    from smote_monitor.store.runs import list_runs, run_to_record

    config = settings.datasets[name]
    panel = DatasetPanel(name=name, slo=config.slo.model_dump())
    with store.read() as session:
        runs = [
            run_document(r.id, run_to_record(r), report=False)
            for r in list_runs(session, dataset=name, limit=RECENT_RUNS)
        ]
        with_profiles = _runs_with_profiles(session, [doc["computed"]["id"] for doc in runs])
    panel.runs = [_run_row(doc, doc["computed"]["id"] in with_profiles) for doc in runs]
    if panel.runs:
        panel.latest = panel.runs[0]
    finished = next((doc for doc in runs if doc["computed"]["outcome"] != OUTCOME_RUNNING), None)
    if finished is not None:
        _gate_of(panel, finished, with_profiles)
        panel.conditions = _run_conditions(finished)
    try:
        status = dataset_status(store, settings, name, now=now)
    except InvalidInputError as exc:  # the status route refuses the dataset's config (422)
        panel.problem = str(exc)
        return panel
    panel.reference = status["reference_run"]
    panel.last_evaluation = status["last_evaluation"]
    panel.quarantined = status["quarantined_files"]
    panel.pending = status["pending_labels"]
    panel.windows = [
        _window_view(window, data, config) for window, data in status["windows"].items()
    ]
    panel.conditions = _status_conditions(status, config, now) + panel.conditions
    return panel


def _runs_with_profiles(session: Session, run_ids: Sequence[int]) -> set[int]:
    """Which of the runs have training profiles (the report route needs them)."""
    if not run_ids:
        return set()
    query = select(ReferenceProfile.run_id).where(ReferenceProfile.run_id.in_(run_ids)).distinct()
    return set(session.scalars(query))


def _run_row(doc: dict[str, Any], has_profiles: bool) -> RunRow:
    computed = doc["computed"]
    outcome = computed["outcome"]
    if outcome == OUTCOME_ERROR:
        note = doc.get("error") or "the run failed"
    elif doc.get("profile_error"):
        note = f"no report: {doc['profile_error']}"
    elif outcome != OUTCOME_RUNNING and not has_profiles:
        note = "no report: recorded without training data"
    else:
        note = ""
    return RunRow(
        id=computed["id"],
        run_key=doc["run_key"],
        outcome=outcome,
        started_at=_when(doc.get("started_at")),
        finished_at=_when(doc.get("finished_at")),
        variant=doc.get("variant") or "",
        synthetic_ratio=_number(doc.get("synthetic_ratio")),
        validation_gap=_number(computed.get("validation_gap")),
        report_url=f"/api/v1/runs/{computed['id']}/report" if has_profiles else None,
        note=note,
    )


def _gate_of(panel: DatasetPanel, doc: dict[str, Any], with_profiles: set[int]) -> None:
    computed = doc["computed"]
    panel.gate_run = _run_row(doc, computed["id"] in with_profiles)
    gate = computed.get("gate")
    if gate is not None:
        panel.gate = [
            GateRow(check=c["check"], passed=c["passed"], message=c["message"])
            for c in gate["checks"]
        ]
    leakage = computed.get("leakage")
    if leakage is None:
        panel.leakage = "not checked"
    else:
        panel.leakage = "suspected" if leakage["suspected"] else "not suspected"


# --- firing conditions --------------------------------------------------------------------


def _status_conditions(
    status: dict[str, Any], config: DatasetConfig, now: datetime
) -> list[Condition]:
    """What the status data flags: production windows first, then the evaluation's health."""
    slo = status["slo"]
    found: list[Condition] = []
    for window, data in status["windows"].items():
        if data is None:
            continue
        slices = data["slices"]
        below = [s for s in _ordered_slices(slices) if s["recall_slo"] == "below_slo"]
        if below:
            found.append(
                _listed(
                    "Minority recall below SLO",
                    f"window {window}: the 95 % interval lies below the "
                    f"{slo['minority_recall']:.2f} target",
                    [_slice_summary(s) for s in below],
                )
            )
        precision = [s for s in _ordered_slices(slices) if s["precision_below_slo"]]
        if precision:
            found.append(
                _listed(
                    "Minority precision below SLO",
                    f"window {window}: below the {slo['minority_precision']:.2f} target",
                    [f"{s['slice']} (precision {_number(s['precision'])})" for s in precision],
                )
            )
        features = data["drift"]["features"]
        drifted = [f for f in _ordered_features(features) if f["drifted"]]
        if drifted:
            share = data["drift"]["share"]
            dataset_level = " — dataset drift" if data["drift"]["drifted"] else ""
            found.append(
                _listed(
                    "Feature drift detected",
                    f"window {window}: {len(drifted)} of {len(features)} features "
                    f"(share {_number(share)}){dataset_level}",
                    [_feature_summary(f) for f in drifted],
                )
            )
    stale = _stale(status, config, now)
    if stale is not None:
        found.append(stale)
    files = status["quarantined_files"]
    if files:
        found.append(
            _listed(
                "Production files quarantined",
                f"{len(files)} file(s) could not be read and are left out",
                [f"{f['path']}: {f['reason']}" for f in files],
            )
        )
    return found


def _run_conditions(doc: dict[str, Any]) -> list[Condition]:
    computed = doc["computed"]
    run = f"run {computed['id']} ({doc['run_key']})"
    found = []
    if computed["outcome"] == OUTCOME_ERROR:
        found.append(Condition("Last run failed", f"{run}: {doc.get('error') or 'no error text'}"))
    elif computed["outcome"] == OUTCOME_GATE_FAILED:
        reasons = [c["message"] for c in computed["gate"]["checks"] if not c["passed"]]
        found.append(_listed("Release gate failed", f"{run} did not pass its gate", reasons))
    leakage = computed.get("leakage")
    if leakage is not None and leakage["suspected"]:
        found.append(
            Condition(
                "Leakage suspected",
                f"{run}: validation rows look like the augmented training set "
                "(SMOTE before the split?)",
            )
        )
    return found


def _stale(status: dict[str, Any], config: DatasetConfig, now: datetime) -> Condition | None:
    last = status["last_evaluation"]
    if last is None:
        return None
    limit = stale_after_seconds(config.evaluate_every)
    age = (now - datetime.fromisoformat(last)).total_seconds()
    if age <= limit:
        return None
    return Condition(
        "Evaluation stale",
        f"the last evaluation is {_age(age)} old; one is expected every "
        f"{config.evaluate_every} (stale after {_age(limit)})",
    )


def _listed(name: str, detail: str, items: Sequence[str]) -> Condition:
    return Condition(name, detail, list(items[:NAMES_LISTED]), max(0, len(items) - NAMES_LISTED))


def _slice_summary(s: dict[str, Any]) -> str:
    return (
        f"{s['slice']} (recall {_number(s['recall'])}, interval "
        f"{_number(s['recall_lower'])}–{_number(s['recall_upper'])}, n={s['support']})"
    )


def _feature_summary(f: dict[str, Any]) -> str:
    if f["method"] in (DRIFT_MISSING, DRIFT_EMPTY):
        return f"{f['feature']} ({_BROKEN[f['method']]})"
    return f"{f['feature']} ({f['method']} {_number(f['value'])})"


_BROKEN = {DRIFT_MISSING: "column missing", DRIFT_EMPTY: "no finite value"}


# --- charts -------------------------------------------------------------------------------


def _window_view(window: str, data: dict[str, Any] | None, config: DatasetConfig) -> dict[str, Any]:
    if data is None:
        return {"window": window, "evaluated": False}
    slices = _slice_chart(window, data["slices"], config)
    drift = _drift_chart(window, data["drift"]["features"])
    # one width for a window's two charts: their plots line up however far the page shrinks them
    width = max(slices.width, drift.width)
    return {
        "window": window,
        "evaluated": True,
        "evaluated_at": data["evaluated_at"],
        "rows": data["rows"],
        "labelled_rows": data["labelled_rows"],
        "reference_run_id": data["reference_run_id"],
        "folded_on": on_dask(data["partitions"]) if data["engine"] == DASK else "",
        "slices": replace(slices, width=width),
        "drift": replace(drift, width=width),
    }


def _ordered_slices(slices: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(s: dict[str, Any]) -> tuple[int, float, str]:
        rank = _SLICE_RANK.get(s["recall_slo"], 5)
        if rank > 0 and s["precision_below_slo"]:
            rank = 1
        upper = s["recall_upper"]
        return rank, 2.0 if upper is None else upper, s["slice"]

    return sorted(slices, key=key)


def _slice_chart(window: str, slices: list[dict[str, Any]], config: DatasetConfig) -> Chart:
    target = config.slo.minority_recall
    ordered = _ordered_slices(slices)
    drawn = ordered[:ROWS_DRAWN]
    rest = ordered[ROWS_DRAWN:]
    bars = []
    for i, s in enumerate(drawn):
        verdict = s["recall_slo"]
        css = _SLICE_CSS.get(verdict, "insufficient")
        text = _VERDICT_TEXT.get(verdict, verdict)
        if s["precision_below_slo"]:
            text += ", precision below SLO"
            if verdict != "below_slo":
                css = "precision"
        recall = s["recall"]
        value = (
            f"{_number(recall)} [{_number(s['recall_lower'])}, {_number(s['recall_upper'])}] "
            f"n={s['support']}"
            if recall is not None
            else f"no minority rows (n={s['support']})"
        )
        bars.append(
            Bar(
                name=s["slice"],
                label=_cut(s["slice"]),
                css=css,
                verdict=text,
                value_text=value,
                y=_row_y(i),
                x=_scale(recall),
                low=_scale(s["recall_lower"]),
                high=_scale(s["recall_upper"]),
            )
        )
    flagged = sum(1 for s in rest if s["recall_slo"] == "below_slo" or s["precision_below_slo"])
    return Chart(
        kind="slices",
        window=window,
        bars=bars,
        not_drawn=len(rest),
        not_drawn_flagged=flagged,
        line_x=_scale(target) or PLOT_X0,
        line_label=f"SLO {target:.2f}",
        height=_height(len(bars)),
        width=_width(bars),
        ticks=[(_scale(t) or PLOT_X0, f"{t:g}") for t in (0.0, 0.25, 0.5, 0.75, 1.0)],
        caption=f"Minority recall per slice, window {window}: point and 95 % Wilson interval "
        f"against the SLO of {target:.2f} (minimum support {config.slo.min_slice_support})",
    )


_SLICE_CSS = {
    "below_slo": "below",
    "inconclusive": "inconclusive",
    "meets_slo": "meets",
    "insufficient_support": "insufficient",
}


def _strength(feature: dict[str, Any]) -> float:
    """Where a feature's drift score lies against its threshold, on one scale for every method:
    0 no drift, 1 at the threshold, 2 (the cap) far past it. Distances grow with drift
    (``value / threshold``); p-values shrink with it (1 → 0 below the threshold, then on to 2
    as the p-value falls to 0). Broken features (missing, empty) are drawn at the cap."""
    from smote_monitor.drift.stattests import METHODS

    value, threshold = feature["value"], feature["threshold"]
    if value is None or threshold is None or not threshold > 0:
        return 2.0 if feature["drifted"] else 0.0
    method = METHODS.get(feature["method"])
    if method is not None and method.is_p_value:
        if value >= threshold:
            return (1.0 - value) / (1.0 - threshold) if threshold < 1 else 0.0
        return 1.0 + (threshold - value) / threshold
    return min(2.0, value / threshold)


def _ordered_features(features: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(features, key=lambda f: (not f["drifted"], -_strength(f), f["feature"]))


def _drift_chart(window: str, features: list[dict[str, Any]]) -> Chart:
    from smote_monitor.drift.stattests import METHODS

    ordered = _ordered_features(features)
    drawn = ordered[:ROWS_DRAWN]
    rest = ordered[ROWS_DRAWN:]
    bars = []
    for i, f in enumerate(drawn):
        method = f["method"]
        if method in _BROKEN:
            css, value = "broken", _BROKEN[method]
        else:
            css = "drifted" if f["drifted"] else "stable"
            known = METHODS.get(method)
            word = "p" if known is not None and known.is_p_value else "score"
            direction = "≤" if known is not None and known.is_p_value else "≥"
            value = (
                f"{method} {word} {_number(f['value'], 3)} "
                f"(drift {direction} {_number(f['threshold'], 3)})"
            )
        bars.append(
            Bar(
                name=f["feature"],
                label=_cut(f["feature"]),
                css=css,
                verdict="drifted" if f["drifted"] else "no drift",
                value_text=value,
                y=_row_y(i),
                x=PLOT_X0 + (PLOT_X1 - PLOT_X0) * _strength(f) / 2,
            )
        )
    return Chart(
        kind="drift",
        window=window,
        bars=bars,
        not_drawn=len(rest),
        not_drawn_flagged=sum(1 for f in rest if f["drifted"]),
        line_x=(PLOT_X0 + PLOT_X1) / 2,
        line_label="threshold",
        height=_height(len(bars)),
        width=_width(bars),
        ticks=[(PLOT_X0, "none"), (PLOT_X1, "2× past")],
        caption=f"Drift per feature, window {window}: each score against its method's "
        "threshold (the middle line); drifted features are red",
    )


# --- formatting ----------------------------------------------------------------------------


def _scale(value: float | None) -> float | None:
    """A ratio in [0, 1] to its x on the plot."""
    if value is None or not math.isfinite(value):
        return None
    return PLOT_X0 + (PLOT_X1 - PLOT_X0) * min(1.0, max(0.0, value))


def _row_y(index: int) -> float:
    return TOP + index * ROW_HEIGHT


def _height(rows: int) -> float:
    return TOP + max(rows, 1) * ROW_HEIGHT + BOTTOM


def _width(bars: Sequence[Bar]) -> float:
    """At least :data:`WIDTH`, and room for the longest value label right of :data:`VALUE_X`:
    text past the viewBox is clipped."""
    longest = max((len(bar.value_label) for bar in bars), default=0)
    return float(max(WIDTH, math.ceil(VALUE_X + longest * VALUE_CHAR_WIDTH + RIGHT_MARGIN)))


def _cut(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def _number(value: Any, digits: int = 2) -> str:
    if value is None or isinstance(value, bool):
        return "–"
    if isinstance(value, float) and not math.isfinite(value):
        return "–"
    number = float(value)
    if number != 0 and abs(number) < 10 ** (-digits):
        return f"{number:.1e}"
    return f"{number:.{digits}f}"


def _when(value: str | None) -> str:
    """An ISO time as ``2026-12-02 18:40:05 UTC``."""
    if not value:
        return "–"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _age(seconds: float) -> str:
    units: tuple[tuple[str, int], ...] = (("d", 86400), ("h", 3600), ("min", 60))
    for unit, size in units:
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


__all__ = ["REFRESH_SECONDS", "Page", "render_status_page"]
