"""A PromQL interpreter for the expressions the generated rules use, over a recorded history.

The expressions are parsed by ``promql_parser`` (Prometheus's own grammar) and evaluated with
Prometheus 2.x semantics, the version the tests check against with ``promtool``:

- an instant selector takes a series' latest sample in ``[t - 5m, t]`` unless a stale marker
  came after it; a range selector takes the samples in ``[t - range, t]`` (both ends included,
  as in 2.x; Prometheus 3 made the left end open);
- ``rate`` / ``increase`` extrapolate like Prometheus's ``extrapolatedRate`` (counter resets,
  the zero point of a counter, 1.1x the average sample spacing);
- binary operators match one-to-one on every label but ``__name__`` (or ``on`` / ``ignoring``);
  arithmetic drops the metric name, comparisons filter unless ``bool``;
- aggregations group ``by`` / ``without`` and keep the order in which groups first appear.

Anything else raises :class:`UnsupportedExpression` naming the construct and the expression:
an evaluator that silently approximates would tell the demo an alert fires when it does not.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import promql_parser
from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]
"""A label set, sorted by name (``__name__`` included while a series keeps its name)."""
Vector = list[tuple[Labels, float]]
Value = float | Vector

NAME = "__name__"
LOOKBACK_MS = 5 * 60 * 1000
"""Prometheus's default lookback delta for instant selectors."""
UP = "up"


class PromQLError(ValueError):
    """An expression that Prometheus would also refuse to evaluate (duplicate series, ...)."""


class UnsupportedExpression(PromQLError):
    """A construct this interpreter does not implement."""


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _delta_ms(delta: timedelta | None) -> int:
    if delta is None:
        return 0
    return round(delta.total_seconds() * 1000)


def labels_of(mapping: Mapping[str, str]) -> Labels:
    return tuple(sorted(mapping.items()))


def _without_name(labels: Labels) -> Labels:
    return tuple(pair for pair in labels if pair[0] != NAME)


def _text(labels: Labels) -> str:
    name = dict(labels).get(NAME, "")
    inner = ",".join(f'{k}="{v}"' for k, v in labels if k != NAME)
    return f"{name}{{{inner}}}"


# --- the recorded history ------------------------------------------------------------------------


class _Series:
    """One series: real samples in time order, stale markers apart, and its counter resets."""

    __slots__ = ("labels", "resets", "stale", "ts", "values")

    def __init__(self, labels: Labels) -> None:
        self.labels = labels
        self.ts: list[int] = []
        self.values: list[float] = []
        self.stale: list[int] = []
        self.resets: list[int] = []
        """Indices ``i`` with ``values[i] < values[i - 1]``."""

    def add(self, t: int, value: float) -> None:
        if self.ts and t <= self.ts[-1]:
            i = bisect_left(self.ts, t)
            if i < len(self.ts) and self.ts[i] == t:
                old = self.values[i]
                if old == value or (math.isnan(old) and math.isnan(value)):
                    return  # the same sample again (a re-evaluated step)
                raise PromQLError(
                    f"series {_text(self.labels)}: a sample at {t / 1000:g}s is already "
                    f"recorded with value {old!r}; got {value!r}"
                )
            self.ts.insert(i, t)
            self.values.insert(i, value)
            self._reindex()
            return
        if self.values and value < self.values[-1]:
            self.resets.append(len(self.values))
        self.ts.append(t)
        self.values.append(value)

    def mark_stale(self, t: int) -> None:
        if not self.stale or t > self.stale[-1]:
            self.stale.append(t)
        elif t not in self.stale:
            insort(self.stale, t)

    def _reindex(self) -> None:
        v = self.values
        self.resets = [i for i in range(1, len(v)) if v[i] < v[i - 1]]

    def at(self, t: int) -> float | None:
        """The value an instant selector sees at ``t``: the latest sample within the lookback,
        unless a stale marker came after it."""
        i = bisect_right(self.ts, t) - 1
        if i < 0:
            return None
        sampled = self.ts[i]
        if sampled < t - LOOKBACK_MS:
            return None
        if self.stale:
            j = bisect_right(self.stale, t) - 1
            if j >= 0 and self.stale[j] >= sampled:
                return None
        return self.values[i]

    def window(self, lo: int, hi: int) -> tuple[int, int]:
        """Indices ``[i, j)`` of the samples in ``[lo, hi]``."""
        return bisect_left(self.ts, lo), bisect_right(self.ts, hi)


@dataclass(frozen=True)
class RecordedSeries:
    """A series as :meth:`SeriesHistory.series` returns it (timestamps in seconds)."""

    labels: Mapping[str, str]
    samples: Sequence[tuple[float, float]]
    stale_markers: Sequence[float]


class SeriesHistory:
    """Samples by series, indexed by metric name: what Prometheus's TSDB would hold."""

    def __init__(self) -> None:
        self._by_name: dict[str, dict[Labels, _Series]] = {}
        self._generation: dict[str, int] = {}
        self._targets: dict[tuple[str, str], set[tuple[str, Labels]]] = {}

    # -- writing --

    def add_scrape(
        self,
        timestamp: float,
        exposition: str,
        *,
        job: str = "smote-monitor",
        instance: str = "127.0.0.1:9464",
        honor_labels: bool = False,
    ) -> None:
        """One scrape of a /metrics text exposition at ``timestamp`` (unix seconds), labelled
        job/instance like Prometheus does, plus ``up{job,instance}=1``.

        An exposed ``job`` or ``instance`` label is renamed ``exported_job`` /
        ``exported_instance`` unless ``honor_labels`` (Prometheus's scrape option of that
        name). A series the previous scrape of the target had and this one lacks gets a stale
        marker, as Prometheus writes one."""
        t = _ms(timestamp)
        target = {"job": job, "instance": instance}
        seen: set[tuple[str, Labels]] = set()
        for family in text_string_to_metric_families(exposition):
            for sample in family.samples:
                labels = dict(sample.labels)
                for label, value in target.items():
                    if label in labels and not honor_labels:
                        labels[f"exported_{label}"] = labels.pop(label)
                    if honor_labels:
                        labels.setdefault(label, value)
                    else:
                        labels[label] = value
                at = t if sample.timestamp is None else _ms(float(sample.timestamp))
                key = labels_of({**labels, NAME: sample.name})
                self._series(sample.name, key).add(at, float(sample.value))
                seen.add((sample.name, key))
        self._add(UP, target, t, 1.0)
        seen.add((UP, labels_of({**target, NAME: UP})))
        self._end_scrape((job, instance), seen, t)

    def add_failed_scrape(
        self, timestamp: float, *, job: str = "smote-monitor", instance: str = "127.0.0.1:9464"
    ) -> None:
        """A scrape that failed (the target is down): ``up{job,instance}=0``, and every series
        the target exposed before goes stale."""
        t = _ms(timestamp)
        target = {"job": job, "instance": instance}
        self._add(UP, target, t, 0.0)
        self._end_scrape((job, instance), {(UP, labels_of({**target, NAME: UP}))}, t)

    def add_sample(
        self, name: str, labels: Mapping[str, str], timestamp: float, value: float
    ) -> None:
        """One sample of the series ``name{labels}`` (labels exactly as given)."""
        self._add(name, labels, _ms(timestamp), float(value))

    def add_stale_marker(self, name: str, labels: Mapping[str, str], timestamp: float) -> None:
        """The series ended at ``timestamp``: instant selectors stop seeing it from there."""
        self._series(name, labels_of({**labels, NAME: name})).mark_stale(_ms(timestamp))

    def _add(self, name: str, labels: Mapping[str, str], t: int, value: float) -> None:
        if NAME in labels and labels[NAME] != name:
            raise PromQLError(f"labels: __name__={labels[NAME]!r} contradicts the name {name!r}")
        self._series(name, labels_of({**labels, NAME: name})).add(t, value)

    def _series(self, name: str, labels: Labels) -> _Series:
        if NAME not in dict(labels):
            labels = labels_of({**dict(labels), NAME: name})
        family = self._by_name.setdefault(name, {})
        series = family.get(labels)
        if series is None:
            series = family[labels] = _Series(labels)
            self._generation[name] = self._generation.get(name, 0) + 1
        return series

    def _end_scrape(self, target: tuple[str, str], seen: set[tuple[str, Labels]], t: int) -> None:
        for name, labels in self._targets.get(target, set()) - seen:
            self._by_name[name][labels].mark_stale(t)
        self._targets[target] = seen

    def _write_recorded(self, name: str, labels: Labels, t: int, value: float) -> None:
        self._series(name, labels).add(t, value)

    def _stale_recorded(self, name: str, labels: Labels, t: int) -> None:
        self._series(name, labels).mark_stale(t)

    # -- reading --

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def series(self, name: str | None = None) -> list[RecordedSeries]:
        """Every series (of ``name``), sorted by labels, with its samples and stale markers."""
        names = [name] if name is not None else self.names()
        out = []
        for n in names:
            for labels in sorted(self._by_name.get(n, {})):
                s = self._by_name[n][labels]
                out.append(
                    RecordedSeries(
                        labels=dict(labels),
                        samples=[(t / 1000, v) for t, v in zip(s.ts, s.values, strict=True)],
                        stale_markers=[t / 1000 for t in s.stale],
                    )
                )
        return out

    def _family(self, name: str) -> Mapping[Labels, _Series]:
        return self._by_name.get(name, {})

    def _version(self, name: str | None) -> int:
        if name is None:
            return sum(self._generation.values())
        return self._generation.get(name, 0)


# --- evaluation ---------------------------------------------------------------------------------


class Context:
    """One evaluation run over a history: the memo of subquery steps already computed."""

    def __init__(self, history: SeriesHistory) -> None:
        self.history = history
        self.memo: dict[tuple[int, int], Vector] = {}


class Node:
    kind = "vector"  # "scalar", "vector" or "matrix"

    def eval(self, ctx: Context, t: int) -> Any:
        """The node's instant value at ``t``. Range nodes (``kind == "matrix"``) have none: they
        are read through ``windows`` by the function that takes them, and the compiler refuses a
        range vector anywhere else, so reaching this is a compiler defect worth a clear error."""
        raise PromQLError(f"a {self.kind} node ({type(self).__name__}) has no instant value")


class Expr:
    """A compiled expression: ``evaluate(history, at)`` answers an instant query."""

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            ast = promql_parser.parse(text)
        except ValueError as error:
            raise PromQLError(f"expr: cannot parse {text!r}: {error}") from error
        self.root = _Compiler(text).compile(ast)
        if self.root.kind == "matrix":
            raise UnsupportedExpression(
                f"expr {text!r}: a range vector at the top; a rule must give a vector or scalar"
            )

    def evaluate(self, history: SeriesHistory, at: float) -> Value:
        return self.eval(Context(history), _ms(at))

    def eval(self, ctx: Context, t: int) -> Value:
        result = self.root.eval(ctx, t)
        if isinstance(result, float):
            return result
        return result


def compile_expr(text: str) -> Expr:
    return Expr(text)


def query(history: SeriesHistory, expr: str, at: float) -> Value:
    """The instant query ``expr`` at ``at`` (unix seconds): a float for a scalar, else a list
    of (labels, value)."""
    return Expr(expr).evaluate(history, at)


# --- nodes ---------------------------------------------------------------------------------------


class _Number(Node):
    kind = "scalar"

    def __init__(self, value: float) -> None:
        self.value = value

    def eval(self, ctx: Context, t: int) -> float:
        return self.value


class _Time(Node):
    kind = "scalar"

    def eval(self, ctx: Context, t: int) -> float:
        return t / 1000


_MATCHERS: dict[str, Callable[[str], Callable[[str], bool]]] = {
    "=": lambda v: lambda s: s == v,
    "!=": lambda v: lambda s: s != v,
    "=~": lambda v: (lambda r: lambda s: r.fullmatch(s) is not None)(re.compile(f"(?:{v})")),
    "!~": lambda v: (lambda r: lambda s: r.fullmatch(s) is None)(re.compile(f"(?:{v})")),
}
# promql_parser's MatchOp values are not hashable: keyed by their names.
_MATCH_OPS = {
    "MatchOp.Equal": "=",
    "MatchOp.NotEqual": "!=",
    "MatchOp.Re": "=~",
    "MatchOp.NotRe": "!~",
}


class _Selector(Node):
    """``name{matchers} offset d``: series matched once per change of the name's series."""

    def __init__(
        self, name: str | None, matchers: list[tuple[str, str, str]], offset: int, text: str
    ) -> None:
        self.name = name
        self.matchers = matchers
        self.tests = [(label, _MATCHERS[op](value)) for label, op, value in matchers]
        self.offset = offset
        self.text = text
        self._cache: tuple[int, int, list[_Series]] | None = None

    def matching(self, history: SeriesHistory) -> list[_Series]:
        version = history._version(self.name)
        if self._cache is not None and self._cache[:2] == (id(history), version):
            return self._cache[2]
        names = [self.name] if self.name is not None else history.names()
        found = []
        for name in names:
            for labels, series in history._family(name).items():
                have = dict(labels)
                if all(test(have.get(label, "")) for label, test in self.tests):
                    found.append(series)
        found.sort(key=lambda s: s.labels)
        self._cache = (id(history), version, found)
        return found

    def eval(self, ctx: Context, t: int) -> Vector:
        at = t - self.offset
        out = []
        for series in self.matching(ctx.history):
            value = series.at(at)
            if value is not None:
                out.append((series.labels, value))
        return out


@dataclass
class _Window:
    """The samples of one series in a range: ``ts[i:j]``, ``values[i:j]``."""

    labels: Labels
    ts: list[int]
    values: list[float]
    i: int
    j: int
    resets: list[int]


class _MatrixSelector(Node):
    kind = "matrix"

    def __init__(self, selector: _Selector, range_ms: int) -> None:
        self.selector = selector
        self.range = range_ms

    def windows(self, ctx: Context, t: int) -> Iterator[_Window]:
        hi = t - self.selector.offset
        lo = hi - self.range
        for s in self.selector.matching(ctx.history):
            i, j = s.window(lo, hi)
            if j > i:
                yield _Window(s.labels, s.ts, s.values, i, j, s.resets)

    def bounds(self, t: int) -> tuple[int, int]:
        hi = t - self.selector.offset
        return hi - self.range, hi


class _Subquery(Node):
    """``expr[range:step] offset d``: the inner expression at every multiple of ``step`` in
    ``[t - d - range, t - d]``."""

    kind = "matrix"

    def __init__(self, inner: Node, range_ms: int, step_ms: int, offset: int) -> None:
        self.inner = inner
        self.range = range_ms
        self.step = step_ms
        self.offset = offset

    def windows(self, ctx: Context, t: int) -> Iterator[_Window]:
        end = t - self.offset
        start = -((self.range - end) // self.step) * self.step  # ceil((end - range) / step)
        points: dict[Labels, tuple[list[int], list[float]]] = {}
        key = id(self)
        for at in range(start, end + 1, self.step):
            # Steps before the evaluation time cannot change while it runs (everything is
            # written at the evaluation time itself): each is computed once per run.
            memo = ctx.memo.get((key, at)) if at < t else None
            if memo is None:
                value = self.inner.eval(ctx, at)
                memo = [((), value)] if isinstance(value, float) else value
                if at < t:
                    ctx.memo[(key, at)] = memo
            for labels, v in memo:
                ts, vs = points.setdefault(labels, ([], []))
                ts.append(at)
                vs.append(v)
        for labels, (ts, vs) in points.items():
            resets = [k for k in range(1, len(vs)) if vs[k] < vs[k - 1]]
            yield _Window(labels, ts, vs, 0, len(ts), resets)


def _check_unique(vector: Vector, what: str) -> Vector:
    if len(vector) > 1:
        seen = set()
        for labels, _ in vector:
            if labels in seen:
                raise PromQLError(
                    f"{what}: vector cannot contain metrics with the same labelset {_text(labels)}"
                )
            seen.add(labels)
    return vector


def _extrapolated(window: _Window, lo: int, hi: int, range_ms: int, is_rate: bool) -> float | None:
    """Prometheus 2.x's ``extrapolatedRate`` for a counter, in its order of operations."""
    i, j = window.i, window.j
    if j - i < 2:
        return None
    ts, vs = window.ts, window.values
    result = vs[j - 1] - vs[i]
    for k in window.resets[bisect_right(window.resets, i) : bisect_left(window.resets, j)]:
        result += vs[k - 1]
    first_t, last_t = ts[i], ts[j - 1]
    to_start = (first_t - lo) / 1000
    to_end = (hi - last_t) / 1000
    sampled = (last_t - first_t) / 1000
    average = sampled / (j - i - 1)
    if result > 0 and vs[i] >= 0:
        to_zero = sampled * (vs[i] / result)
        if to_zero < to_start:
            to_start = to_zero
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    factor = interval / sampled
    if is_rate:
        factor /= range_ms / 1000
    return result * factor


def _max(values: Sequence[float]) -> float:
    best = values[0]
    for v in values:
        if v > best or math.isnan(best):
            best = v
    return best


def _quantile(q: float, values: Sequence[float]) -> float:
    if not values:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if math.isnan(q):
        return math.nan
    ordered = sorted(values, key=lambda v: (not math.isnan(v), v if not math.isnan(v) else 0.0))
    n = len(ordered)
    rank = q * (n - 1)
    lower = max(0.0, math.floor(rank))
    upper = min(n - 1.0, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[int(lower)] * (1 - weight) + ordered[int(upper)] * weight


class _RateLike(Node):
    def __init__(self, arg: _MatrixSelector, is_rate: bool, text: str) -> None:
        self.arg = arg
        self.is_rate = is_rate
        self.text = text

    def eval(self, ctx: Context, t: int) -> Vector:
        lo, hi = self.arg.bounds(t)
        out = []
        for w in self.arg.windows(ctx, t):
            value = _extrapolated(w, lo, hi, self.arg.range, self.is_rate)
            if value is not None:
                out.append((_without_name(w.labels), value))
        return _check_unique(out, self.text)


class _OverTime(Node):
    def __init__(
        self,
        arg: _MatrixSelector | _Subquery,
        reduce: Callable[[Sequence[float]], float],
        text: str,
    ) -> None:
        self.arg = arg
        self.reduce = reduce
        self.text = text

    def eval(self, ctx: Context, t: int) -> Vector:
        out = [
            (_without_name(w.labels), self.reduce(w.values[w.i : w.j]))
            for w in self.arg.windows(ctx, t)
        ]
        return _check_unique(out, self.text)


class _QuantileOverTime(Node):
    def __init__(self, q: Node, arg: _MatrixSelector | _Subquery, text: str) -> None:
        self.q = q
        self.arg = arg
        self.text = text

    def eval(self, ctx: Context, t: int) -> Vector:
        q = self.q.eval(ctx, t)
        out = [
            (_without_name(w.labels), _quantile(q, w.values[w.i : w.j]))
            for w in self.arg.windows(ctx, t)
        ]
        return _check_unique(out, self.text)


class _Abs(Node):
    def __init__(self, arg: Node, text: str) -> None:
        self.arg = arg
        self.text = text

    def eval(self, ctx: Context, t: int) -> Vector:
        vector = self.arg.eval(ctx, t)
        return _check_unique([(_without_name(lb), abs(v)) for lb, v in vector], self.text)


class _Absent(Node):
    def __init__(self, arg: Node) -> None:
        self.arg = arg
        labels: dict[str, str] = {}
        dropped: set[str] = set()
        if isinstance(arg, _Selector):
            for label, op, value in arg.matchers:
                if label == NAME:
                    continue
                if op == "=" and label not in labels:
                    labels[label] = value
                else:
                    dropped.add(label)
        self.labels = labels_of({k: v for k, v in labels.items() if k not in dropped})

    def eval(self, ctx: Context, t: int) -> Vector:
        if self.arg.eval(ctx, t):
            return []
        return [(self.labels, 1.0)]


class _Negate(Node):
    def __init__(self, arg: Node) -> None:
        self.arg = arg
        self.kind = arg.kind

    def eval(self, ctx: Context, t: int) -> Value:
        value = self.arg.eval(ctx, t)
        if isinstance(value, float):
            return -value
        return [(_without_name(lb), -v) for lb, v in value]


def _div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _div,
}
_COMPARISON: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}
_SET = ("and", "or", "unless")


class _Binary(Node):
    def __init__(
        self,
        op: str,
        lhs: Node,
        rhs: Node,
        *,
        return_bool: bool,
        on: bool,
        matching_labels: tuple[str, ...],
        text: str,
    ) -> None:
        self.op = op
        self.lhs = lhs
        self.rhs = rhs
        self.return_bool = return_bool
        self.on = on
        self.matching_labels = matching_labels
        self.text = text
        self.kind = "scalar" if lhs.kind == rhs.kind == "scalar" else "vector"
        self.compare = _COMPARISON.get(op)
        self.arith = _ARITHMETIC.get(op)

    def _signature(self, labels: Labels) -> tuple[tuple[str, str], ...]:
        if self.on:
            return tuple(pair for pair in labels if pair[0] in self.matching_labels)
        return tuple(
            pair for pair in labels if pair[0] != NAME and pair[0] not in self.matching_labels
        )

    def _elem(self, a: float, b: float) -> tuple[float, bool]:
        if self.compare is not None:
            return a, self.compare(a, b)
        assert self.arith is not None
        return self.arith(a, b), True

    def eval(self, ctx: Context, t: int) -> Value:
        lhs = self.lhs.eval(ctx, t)
        rhs = self.rhs.eval(ctx, t)
        if isinstance(lhs, float) and isinstance(rhs, float):
            value, keep = self._elem(lhs, rhs)
            if self.compare is not None:
                return 1.0 if keep else 0.0
            return value
        if self.op in _SET:
            assert not isinstance(lhs, float) and not isinstance(rhs, float)
            return self._set(lhs, rhs)
        if isinstance(rhs, float):
            assert not isinstance(lhs, float)
            return self._scalar(lhs, rhs, swap=False)
        if isinstance(lhs, float):
            return self._scalar(rhs, lhs, swap=True)
        return self._vectors(lhs, rhs)

    def _scalar(self, vector: Vector, scalar: float, *, swap: bool) -> Vector:
        out = []
        drop = self.arith is not None or self.return_bool
        for labels, v in vector:
            a, b = (scalar, v) if swap else (v, scalar)
            value, keep = self._elem(a, b)
            if self.compare is not None and swap:
                value = v  # a comparison keeps the vector's value, whichever side it is on
            if self.return_bool:
                value, keep = (1.0 if keep else 0.0), True
            if keep:
                out.append((_without_name(labels) if drop else labels, value))
        return _check_unique(out, self.text)

    def _vectors(self, lhs: Vector, rhs: Vector) -> Vector:
        right: dict[tuple[tuple[str, str], ...], tuple[Labels, float]] = {}
        for labels, v in rhs:
            sig = self._signature(labels)
            if sig in right:
                raise PromQLError(
                    f"expr {self.text!r}: found duplicate series for the match group {sig} on "
                    f"the right hand-side of the operation: [{_text(labels)}, "
                    f"{_text(right[sig][0])}]; many-to-many matching not allowed"
                )
            right[sig] = (labels, v)
        matched: set[tuple[tuple[str, str], ...]] = set()
        out = []
        for labels, v in lhs:
            sig = self._signature(labels)
            found = right.get(sig)
            if found is None:
                continue
            value, keep = self._elem(v, found[1])
            if self.return_bool:
                value, keep = (1.0 if keep else 0.0), True
            elif not keep:
                continue
            if sig in matched:
                raise PromQLError(
                    f"expr {self.text!r}: multiple matches for labels {sig}: many-to-one "
                    "matching must be explicit (group_left/group_right)"
                )
            matched.add(sig)
            if self.arith is not None or self.return_bool:
                labels = _without_name(labels)
            if self.on:
                labels = tuple(pair for pair in labels if pair[0] in self.matching_labels)
            elif self.matching_labels:
                labels = tuple(pair for pair in labels if pair[0] not in self.matching_labels)
            out.append((labels, value))
        return _check_unique(out, self.text)

    def _set(self, lhs: Vector, rhs: Vector) -> Vector:
        if self.op == "and":
            if not lhs or not rhs:
                return []
            right = {self._signature(labels) for labels, _ in rhs}
            return [(lb, v) for lb, v in lhs if self._signature(lb) in right]
        if self.op == "unless":
            if not rhs:
                return lhs
            right = {self._signature(labels) for labels, _ in rhs}
            return [(lb, v) for lb, v in lhs if self._signature(lb) not in right]
        left = {self._signature(labels) for labels, _ in lhs}
        return [*lhs, *((lb, v) for lb, v in rhs if self._signature(lb) not in left)]


class _Group:
    __slots__ = ("count", "labels", "value")

    def __init__(self, labels: Labels, value: float) -> None:
        self.labels = labels
        self.value = value
        self.count = 1


def _sum(group: _Group, v: float) -> None:
    group.value += v


def _agg_max(group: _Group, v: float) -> None:
    if group.value < v or math.isnan(group.value):
        group.value = v


def _agg_min(group: _Group, v: float) -> None:
    if group.value > v or math.isnan(group.value):
        group.value = v


def _count(group: _Group, v: float) -> None:
    group.value = float(group.count)


def _avg(group: _Group, v: float) -> None:
    mean, n = group.value, group.count
    if math.isinf(mean):
        if math.isinf(v) and (mean > 0) == (v > 0):
            return
        if not math.isinf(v) and not math.isnan(v):
            return
    group.value = mean + (v / n - mean / n)


_AGGREGATIONS: dict[str, Callable[[_Group, float], None]] = {
    "sum": _sum,
    "max": _agg_max,
    "min": _agg_min,
    "count": _count,
    "avg": _avg,
}


class _Aggregate(Node):
    def __init__(self, op: str, arg: Node, labels: tuple[str, ...], without: bool) -> None:
        self.op = op
        self.fold = _AGGREGATIONS[op]
        self.arg = arg
        self.labels = frozenset(labels)
        self.without = without

    def eval(self, ctx: Context, t: int) -> Vector:
        groups: dict[Labels, _Group] = {}
        for labels, v in self.arg.eval(ctx, t):
            if self.without:
                key = tuple(p for p in labels if p[0] != NAME and p[0] not in self.labels)
            else:
                key = tuple(p for p in labels if p[0] in self.labels)
            group = groups.get(key)
            if group is None:
                groups[key] = _Group(key, 1.0 if self.op == "count" else v)
                continue
            group.count += 1
            self.fold(group, v)
        return [(key, group.value) for key, group in groups.items()]


class _Paren(Node):
    def __init__(self, inner: Node) -> None:
        self.inner = inner
        self.kind = inner.kind

    def eval(self, ctx: Context, t: int) -> Value:
        return self.inner.eval(ctx, t)


# --- the compiler: promql_parser's AST to nodes, refusing what is not implemented --------------


class _Compiler:
    def __init__(self, text: str) -> None:
        self.text = text

    def unsupported(self, construct: str) -> UnsupportedExpression:
        return UnsupportedExpression(
            f"expr {self.text!r}: {construct} is not supported by this evaluator (it implements "
            "what the generated rules use)"
        )

    def compile(self, ast: Any) -> Node:
        p = promql_parser
        if isinstance(ast, p.NumberLiteral):
            return _Number(float(ast.val))
        if isinstance(ast, p.ParenExpr):
            return _Paren(self.compile(ast.expr))
        if isinstance(ast, p.UnaryExpr):
            return _Negate(self.compile(ast.expr))
        if isinstance(ast, p.VectorSelector):
            return self.selector(ast)
        if isinstance(ast, p.MatrixSelector):
            return _MatrixSelector(self.selector(ast.vector_selector), _delta_ms(ast.range))
        if isinstance(ast, p.SubqueryExpr):
            return self.subquery(ast)
        if isinstance(ast, p.Call):
            return self.call(ast)
        if isinstance(ast, p.AggregateExpr):
            return self.aggregate(ast)
        if isinstance(ast, p.BinaryExpr):
            return self.binary(ast)
        raise self.unsupported(f"the expression type {type(ast).__name__} ({ast})")

    def selector(self, ast: Any) -> _Selector:
        if ast.at is not None:
            raise self.unsupported(f"the @ modifier ({ast})")
        if ast.matchers.or_matchers:
            raise self.unsupported(f"'or' inside a selector's braces ({ast})")
        matchers = [(m.name, _MATCH_OPS[str(m.op)], m.value) for m in ast.matchers.matchers]
        name = ast.name
        if name is None:
            names = [v for label, op, v in matchers if label == NAME and op == "="]
            name = names[0] if len(names) == 1 else None
        elif all(label != NAME for label, _, _ in matchers):
            matchers.insert(0, (NAME, "=", name))
        return _Selector(name, matchers, _delta_ms(ast.offset), str(ast))

    def subquery(self, ast: Any) -> _Subquery:
        if ast.at is not None:
            raise self.unsupported(f"the @ modifier ({ast})")
        if ast.step is None:
            raise self.unsupported(
                f"a subquery without a step ({ast}; the default step is the server's "
                "evaluation interval)"
            )
        inner = self.compile(ast.expr)
        return _Subquery(inner, _delta_ms(ast.range), _delta_ms(ast.step), _delta_ms(ast.offset))

    def call(self, ast: Any) -> Node:
        name = ast.func.name
        args = list(ast.args)
        text = f"{name}(...) in {self.text!r}"
        if name in ("rate", "increase"):
            arg = self.compile(args[0])
            if not isinstance(arg, _MatrixSelector):
                raise self.unsupported(f"{name}() of a subquery ({ast})")
            return _RateLike(arg, name == "rate", text)
        if name == "max_over_time":
            return _OverTime(self.range_arg(args[0], ast), _max, text)
        if name == "quantile_over_time":
            return _QuantileOverTime(self.compile(args[0]), self.range_arg(args[1], ast), text)
        if name == "abs":
            return _Abs(self.compile(args[0]), text)
        if name == "absent":
            return _Absent(self.compile(args[0]))
        if name == "time":
            return _Time()
        raise self.unsupported(f"the function {name}()")

    def range_arg(self, ast: Any, call: Any) -> _MatrixSelector | _Subquery:
        arg = self.compile(ast)
        if not isinstance(arg, _MatrixSelector | _Subquery):
            raise self.unsupported(f"a range function over a non-range argument ({call})")
        return arg

    def aggregate(self, ast: Any) -> _Aggregate:
        op = str(ast.op)
        if op not in _AGGREGATIONS:
            raise self.unsupported(f"the aggregation {op}")
        if ast.param is not None:
            raise self.unsupported(f"an aggregation parameter ({ast})")
        labels: tuple[str, ...] = ()
        without = False
        if ast.modifier is not None:
            labels = tuple(ast.modifier.labels)
            without = ast.modifier.type == promql_parser.AggModifierType.Without
        return _Aggregate(op, self.compile(ast.expr), labels, without)

    def binary(self, ast: Any) -> _Binary:
        op = str(ast.op)
        if op not in _ARITHMETIC and op not in _COMPARISON and op not in _SET:
            raise self.unsupported(f"the operator {op}")
        modifier = ast.modifier
        on = False
        matching: tuple[str, ...] = ()
        return_bool = False
        if modifier is not None:
            card = modifier.card
            cards = promql_parser.VectorMatchCardinality
            if card in (cards.ManyToOne, cards.OneToMany) or (
                card == cards.ManyToMany and op not in _SET
            ):
                raise self.unsupported(f"group_left/group_right ({ast})")
            if modifier.matching is not None:
                on = modifier.matching.type == promql_parser.LabelModifierType.Include
                matching = tuple(modifier.matching.labels)
            return_bool = bool(modifier.return_bool)
        return _Binary(
            op,
            self.compile(ast.lhs),
            self.compile(ast.rhs),
            return_bool=return_bool,
            on=on,
            matching_labels=matching,
            text=self.text,
        )


def expressions_of(groups: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """Every rule expression of parsed rule groups."""
    for group in groups:
        for rule in group.get("rules", []):
            yield str(rule["expr"])
