"""Which alerts the generated rules would fire over a recorded history, and where they route.

:func:`evaluate_rules` runs the parsed rule groups the way Prometheus's rule manager does
(``promtool test rules`` runs the same loop): at every step each group's rules in order,
recording rules writing their samples back into the history (and stale markers for the series
they stop returning), alerting rules moving pending → firing after ``for:`` and holding on for
``keep_firing_for:``. The PromQL itself is :mod:`alerts.promql`; the routing tree is
:mod:`alerts.routing`. Nothing here knows what the rules say: the demo prints what the rule
files would do, not a second copy of their logic.

>>> history = SeriesHistory()
>>> history.add_sample("smote_run_gate_passed", {"dataset": "fraud"}, 0.0, 0.0)
>>> groups = [{"name": "g", "rules": [{"alert": "GateFailing",
...            "expr": "max by (dataset) (smote_run_gate_passed) == 0",
...            "labels": {"severity": "ticket"},
...            "annotations": {"summary": "{{ $labels.dataset }}: gate {{ $value }}"}}]}]
>>> [(a.name, a.state, a.annotations["summary"]) for a in evaluate_rules(
...     groups, history, start=0.0, end=60.0)]
[('GateFailing', 'firing', 'fraud: gate 0')]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from alerts.promql import (
    NAME,
    Context,
    Expr,
    Labels,
    PromQLError,
    SeriesHistory,
    UnsupportedExpression,
    Vector,
    labels_of,
    query,
)
from alerts.routing import route

__all__ = [
    "AlertState",
    "PromQLError",
    "SeriesHistory",
    "UnsupportedExpression",
    "evaluate_rules",
    "load_groups",
    "parse_duration",
    "query",
    "route",
]

RESOLVED_RETENTION_MS = 15 * 60 * 1000
"""How long Prometheus keeps a resolved alert (inactive; not reported here)."""
ALERTNAME = "alertname"

_RULE_KEYS = {
    "record": {"record", "expr", "labels"},
    "alert": {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"},
}
_GROUP_KEYS = {"name", "rules", "interval"}


@dataclass(frozen=True)
class AlertState:
    """An alert active (pending or firing) at the end of :func:`evaluate_rules`."""

    name: str
    labels: Mapping[str, str]
    """The series' labels, the rule's labels (severity, cause, ...) and ``alertname``."""
    annotations: Mapping[str, str]
    """Templated as Prometheus does, with the alert's labels and its latest value."""
    state: str
    """``"pending"`` (its ``for:`` has not elapsed yet) or ``"firing"``."""
    active_since: float
    """Unix seconds of the evaluation that first returned it."""
    value: float
    """The expression's value at the latest evaluation that returned it."""


# --- durations -----------------------------------------------------------------------------------

_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_UNIT_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)


def parse_duration(text: str, *, field_name: str = "duration") -> float:
    """Seconds of a Prometheus duration (``1h30m``, ``5m``, ``0s``)."""
    match = _DURATION.fullmatch(str(text))
    if text == "0":
        return 0.0
    if not text or match is None:
        raise ValueError(
            f"{field_name}: got {text!r}; expected a Prometheus duration like 5m, 1h30m or 0s"
        )
    ms = sum(int(part) * unit for part, unit in zip(match.groups(), _UNIT_MS, strict=True) if part)
    return ms / 1000


# --- templates -----------------------------------------------------------------------------------


def go_float(value: float) -> str:
    """Go's ``fmt.Sprint(float64)`` (what ``{{ $value }}`` prints): the shortest round-trip
    digits, in %e form when the decimal exponent is below -4 or at least 6 (``1e+06``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + exponent  # value = 0.<digits> x 10^point
    x = point - 1
    neg = "-" if sign else ""
    if x < -4 or x >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{neg}{mantissa}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{neg}{text}{'0' * (point - len(text))}"
    return f"{neg}{text[:point]}.{text[point:]}"


def go_g4(value: float) -> str:
    """Go's ``fmt.Sprintf("%.4g", v)``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.4g}"


def humanize(v: float) -> str:
    if v == 0 or math.isnan(v) or math.isinf(v):
        return go_g4(v)
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix = p
            v /= 1000
        return f"{go_g4(v)}{prefix}"
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return f"{go_g4(v)}{prefix}"


def humanize1024(v: float) -> str:
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return go_g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix = p
        v /= 1024
    return f"{go_g4(v)}{prefix}"


def humanize_duration(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return go_g4(v)
    if v == 0:
        return f"{go_g4(v)}s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        whole = int(v)
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{go_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return f"{go_g4(v)}{prefix}s"


def humanize_percentage(v: float) -> str:
    return f"{go_g4(v * 100)}%"


_FUNCTIONS: dict[str, Callable[[float], str]] = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizeDuration": humanize_duration,
    "humanizePercentage": humanize_percentage,
}
_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_LABEL_ACTION = re.compile(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)")
_VALUE_PIPE = re.compile(r"\$value(?:\s*\|\s*([A-Za-z0-9]+))?")
_FUNC_VALUE = re.compile(r"([A-Za-z0-9]+)\s+\$value")

_Piece = Callable[[Mapping[str, str], float], str]


def _literal(text: str) -> _Piece:
    return lambda labels, value: text


class Template:
    """The subset of Go templates the generated rules use: ``{{ $labels.x }}``,
    ``{{ $value }}`` and ``{{ $value | f }}`` / ``{{ f $value }}`` for Prometheus's humanize
    functions. Anything else raises, naming the action and where it was found."""

    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.pieces: list[_Piece] = []
        last = 0
        for match in _ACTION.finditer(text):
            if match.start() > last:
                literal = text[last : match.start()]
                self.pieces.append(_literal(literal))
            self.pieces.append(self._action(match.group(1), where))
            last = match.end()
        rest = text[last:]
        if "{{" in rest or "}}" in rest:
            raise UnsupportedExpression(f"{where}: unbalanced template braces in {text!r}")
        if rest:
            self.pieces.append(_literal(rest))

    @staticmethod
    def _action(action: str, where: str) -> _Piece:
        body = action.strip()
        if (match := _LABEL_ACTION.fullmatch(body)) is not None:
            name = match.group(1)
            # Prometheus expands with missingkey=zero: a label the alert lacks is "".
            return lambda labels, value: labels.get(name, "")
        function: str | None = None
        if (match := _VALUE_PIPE.fullmatch(body)) is not None or (
            match := _FUNC_VALUE.fullmatch(body)
        ) is not None:
            function = match.group(1)
        else:
            raise UnsupportedExpression(
                f"{where}: the template action {{{{{action}}}}} is not supported (supported: "
                "$labels.<name>, $value, $value | " + ", ".join(sorted(_FUNCTIONS)) + ")"
            )
        if function is None:
            return lambda labels, value: go_float(value)
        if function not in _FUNCTIONS:
            raise UnsupportedExpression(
                f"{where}: the template function {function!r} in {{{{{action}}}}} is not "
                f"supported (supported: {', '.join(sorted(_FUNCTIONS))})"
            )
        format_ = _FUNCTIONS[function]
        return lambda labels, value: format_(value)

    def expand(self, labels: Mapping[str, str], value: float) -> str:
        return "".join(piece(labels, value) for piece in self.pieces)


# --- rules ---------------------------------------------------------------------------------------


def _vector(value: float | Vector) -> Vector:
    # A rule whose expression is a scalar gives one sample without labels (as Prometheus).
    return [((), value)] if isinstance(value, float) else value


@dataclass
class _Recording:
    name: str
    expr: Expr
    labels: dict[str, str]
    returned: set[Labels] = field(default_factory=set)

    def eval(self, ctx: Context, t: int) -> None:
        out: dict[Labels, float] = {}
        for labels, value in _vector(self.expr.eval(ctx, t)):
            full = labels_of({**dict(labels), NAME: self.name, **self.labels})
            if full in out:
                raise PromQLError(
                    f"recording rule {self.name}: vector contains metrics with the same "
                    f"labelset after applying rule labels: {dict(full)}"
                )
            out[full] = value
        for labels, value in out.items():
            ctx.history._write_recorded(self.name, labels, t, value)
        for labels in self.returned - out.keys():
            ctx.history._stale_recorded(self.name, labels, t)
        self.returned = set(out)


@dataclass
class _Active:
    labels: Labels
    annotations: dict[str, str]
    value: float
    active_at: int
    state: str = "pending"
    resolved_at: int | None = None
    keep_firing_since: int | None = None


@dataclass
class _Alerting:
    name: str
    expr: Expr
    hold_ms: int
    keep_firing_ms: int
    labels: dict[str, Template]
    annotations: dict[str, Template]
    active: dict[Labels, _Active] = field(default_factory=dict)

    def eval(self, ctx: Context, t: int) -> None:
        results: dict[Labels, tuple[float, dict[str, str]]] = {}
        for labels, value in _vector(self.expr.eval(ctx, t)):
            seen = dict(labels)
            alert = {k: v for k, v in labels if k != NAME}
            for label, template in self.labels.items():
                alert[label] = template.expand(seen, value)
            alert[ALERTNAME] = self.name
            key = labels_of(alert)
            if key in results:
                raise PromQLError(
                    f"alert {self.name}: vector contains metrics with the same labelset after "
                    f"applying alert labels: {alert}"
                )
            annotations = {k: tpl.expand(seen, value) for k, tpl in self.annotations.items()}
            results[key] = (value, annotations)
        for found, (value, annotations) in results.items():
            known = self.active.get(found)
            if known is not None and known.state != "inactive":
                known.value = value
                known.annotations = annotations
                continue
            self.active[found] = _Active(found, annotations, value, active_at=t)
        for fingerprint, state in list(self.active.items()):
            if fingerprint not in results:
                keep = False
                if state.state == "firing" and self.keep_firing_ms > 0:
                    if state.keep_firing_since is None:
                        state.keep_firing_since = t
                    keep = t - state.keep_firing_since < self.keep_firing_ms
                if state.state == "pending" or (
                    state.resolved_at is not None and t - state.resolved_at > RESOLVED_RETENTION_MS
                ):
                    del self.active[fingerprint]
                if state.state != "inactive" and not keep:
                    state.state = "inactive"
                    state.resolved_at = t
                if not keep:
                    continue
            else:
                state.keep_firing_since = None
            if state.state == "pending" and t - state.active_at >= self.hold_ms:
                state.state = "firing"

    def states(self) -> list[AlertState]:
        return [
            AlertState(
                name=self.name,
                labels=dict(a.labels),
                annotations=dict(a.annotations),
                state=a.state,
                active_since=a.active_at / 1000,
                value=a.value,
            )
            for a in self.active.values()
            if a.state in ("pending", "firing")
        ]


_Rule = _Recording | _Alerting


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: got {value!r}; expected a mapping of names to strings")
    return {str(k): str(v) for k, v in value.items()}


def _compile_rule(rule: Mapping[str, Any], where: str) -> _Rule:
    kind = "record" if "record" in rule else "alert" if "alert" in rule else None
    if kind is None:
        raise ValueError(f"{where}: got keys {sorted(rule)}; expected 'record' or 'alert'")
    unknown = set(rule) - _RULE_KEYS[kind]
    if unknown:
        raise UnsupportedExpression(
            f"{where}: the rule keys {sorted(unknown)} are not supported (a {kind} rule takes "
            f"{sorted(_RULE_KEYS[kind])})"
        )
    if "expr" not in rule:
        raise ValueError(f"{where}: the rule {rule[kind]!r} has no 'expr'")
    expr = Expr(str(rule["expr"]))
    name = str(rule[kind])
    if kind == "record":
        return _Recording(name, expr, _strings(rule.get("labels"), f"{where}.labels"))
    hold = parse_duration(str(rule.get("for", "0s")), field_name=f"{where}.for")
    keep = parse_duration(
        str(rule.get("keep_firing_for", "0s")), field_name=f"{where}.keep_firing_for"
    )
    return _Alerting(
        name,
        expr,
        round(hold * 1000),
        round(keep * 1000),
        {
            k: Template(v, f"{where}.labels.{k}")
            for k, v in _strings(rule.get("labels"), f"{where}.labels").items()
        },
        {
            k: Template(v, f"{where}.annotations.{k}")
            for k, v in _strings(rule.get("annotations"), f"{where}.annotations").items()
        },
    )


@dataclass
class _Group:
    name: str
    interval_ms: int | None
    rules: list[_Rule]


def compile_groups(groups: Sequence[Mapping[str, Any]]) -> list[_Group]:
    """The groups' rules compiled (every expression parsed and checked as supported)."""
    compiled = []
    for g, group in enumerate(groups):
        where = f"groups[{g}] ({group.get('name', '?')})"
        unknown = set(group) - _GROUP_KEYS
        if unknown:
            raise UnsupportedExpression(
                f"{where}: the group keys {sorted(unknown)} are not supported "
                f"(expected {sorted(_GROUP_KEYS)})"
            )
        interval = group.get("interval")
        interval_ms = (
            None
            if interval is None
            else round(parse_duration(str(interval), field_name=f"{where}.interval") * 1000)
        )
        rules = [
            _compile_rule(rule, f"{where}.rules[{r}]")
            for r, rule in enumerate(group.get("rules") or [])
        ]
        compiled.append(_Group(str(group.get("name", "")), interval_ms, rules))
    return compiled


def evaluate_rules(
    groups: Sequence[Mapping[str, Any]],
    history: SeriesHistory,
    *,
    start: float,
    end: float,
    interval: float = 60.0,
) -> list[AlertState]:
    """Run every group's rules at each step from ``start`` to ``end`` (unix seconds) like
    Prometheus's rule manager, and return the alerts active (pending or firing) at ``end``.

    ``groups``: the parsed rule files' ``groups`` lists (``yaml.safe_load(file)['groups']``,
    possibly from several files concatenated). Groups run in the order given at each step (as
    ``promtool test rules`` with ``group_eval_order``), each at its own ``interval:`` if it has
    one, else every ``interval`` seconds. Recording rules' results are written into
    ``history`` (later rules, ranges over recorded series and later steps see them; evaluating
    the same steps again writes the same samples, which is allowed). Alerting rules honour
    ``for:`` (pending, then firing) and ``keep_firing_for:``."""
    if not interval > 0:
        raise ValueError(f"interval: got {interval!r}; expected a positive number of seconds")
    if end < start:
        raise ValueError(f"end: got {end!r}; expected at least start ({start!r})")
    compiled = compile_groups(groups)
    ctx = Context(history)
    first, last, default = round(start * 1000), round(end * 1000), round(interval * 1000)
    steps: dict[int, list[_Group]] = {}
    for group in compiled:
        every = group.interval_ms or default
        for t in range(first, last + 1, every):
            steps.setdefault(t, []).append(group)
    for t in sorted(steps):
        for group in steps[t]:
            for rule in group.rules:
                rule.eval(ctx, t)
    alerts = [
        state
        for group in compiled
        for rule in group.rules
        if isinstance(rule, _Alerting)
        for state in rule.states()
    ]
    return sorted(alerts, key=lambda a: (a.name, sorted(a.labels.items())))


def load_groups(paths: Iterable[Path | str]) -> list[dict[str, Any]]:
    """The ``groups`` of rule files, concatenated in the order given."""
    groups: list[dict[str, Any]] = []
    for path in paths:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, Mapping) or not isinstance(data.get("groups"), list):
            raise ValueError(f"{path}: expected a rule file with a 'groups' list")
        groups.extend(data["groups"])
    return groups
