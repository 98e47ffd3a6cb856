"""The demo's production traffic, replayed through the daemon's own HTTP API on a simulated clock.

Three simulated hours end at the current minute: two hours of the production split as served,
then one hour with drift injected and the model degraded on one slice. Each hour is one seeded
pass over the production split without replacement (fresh prediction ids, timestamps spread
over the hour). Every label arrives :data:`LABEL_DELAY` after its prediction, so labels cross
the hour boundaries and some predictions are still waiting for theirs at the end.

Every simulated minute the due predictions are pushed as an Arrow IPC stream and the due labels
as JSON to ``POST /api/v1/datasets/{dataset}/predictions`` and ``/labels`` of a real server on
a loopback port, and ``/metrics`` is scraped into a :class:`~alerts.promql.SeriesHistory` at
that simulated time. Every ``evaluate_every`` the daemon's own evaluation cycle
(:func:`~smote_monitor.evaluation.job.evaluate_dataset`) runs at the simulated time. The alerts
that would fire are then the generated rules evaluated over that history
(:func:`alerts.evaluate.evaluate_rules`) and routed through the example Alertmanager
configuration (:func:`alerts.routing.route`): the same rules and routes a real deployment
loads, not a second copy of their logic.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smote_monitor.config import Settings, duration_seconds
from smote_monitor.errors import SmoteMonitorError
from smote_monitor.store import Store

log = logging.getLogger(__name__)

SERVED_HOURS = 2
DEGRADED_HOURS = 1
HOUR = 3600
STEP_SECONDS = 60
"""Simulated seconds between pushes, and between scrapes of /metrics."""
LABEL_DELAY = (60.0, 1200.0)
"""A label arrives 1 to 20 simulated minutes after its prediction (uniformly)."""
RULES_LOOKBACK = 2 * HOUR
"""The rules are evaluated, once a simulated minute, over this much of the end of the replay:
longer than every ``for:`` of the rules and the page tier's 1h window."""
ARROW, JSON = "application/vnd.apache.arrow.stream", "application/json"


class ReplayError(SmoteMonitorError):
    """The daemon refused a replayed request (status and its body in the message)."""


@dataclass
class Traffic:
    """What production sends: predictions (id, timestamp, prediction, slices, features) and
    labels (id, target, timestamp), each sorted by its timestamp (Unix seconds)."""

    predictions: pd.DataFrame
    labels: pd.DataFrame
    start: float
    end: float
    degraded_from: float


def build_traffic(
    served: pd.DataFrame,
    degraded: pd.DataFrame,
    *,
    id_column: str,
    ts_column: str,
    target: str,
    columns: Sequence[str],
    seed: int,
    end: float,
) -> Traffic:
    """One seeded pass of ``served`` per served hour, then of ``degraded``, ending at ``end``.

    ``columns``: what a prediction row carries besides its id and timestamp (the prediction,
    slice and feature columns); the target goes into the label rows only."""
    rng = np.random.default_rng(seed)
    start = end - (SERVED_HOURS + DEGRADED_HOURS) * HOUR
    hours = [served] * SERVED_HOURS + [degraded] * DEGRADED_HOURS
    parts = []
    for hour, frame in enumerate(hours):
        order = rng.permutation(len(frame))
        rows = frame.iloc[order].reset_index(drop=True)
        stamps = start + hour * HOUR + np.sort(rng.uniform(0, HOUR, len(rows)))
        ids = [f"h{hour}-{i:05d}" for i in range(len(rows))]
        parts.append(rows.assign(**{id_column: ids, ts_column: stamps}))
    every = pd.concat(parts, ignore_index=True)
    predictions = every[[id_column, ts_column, *columns]]
    label_ts = every[ts_column].to_numpy() + rng.uniform(*LABEL_DELAY, len(every))
    labels = pd.DataFrame(
        {id_column: every[id_column], target: every[target].astype(int), ts_column: label_ts}
    ).sort_values(ts_column, kind="stable", ignore_index=True)
    return Traffic(predictions, labels, start, end, start + SERVED_HOURS * HOUR)


class _Client:
    """Keep-alive HTTP/1.1 to the daemon on loopback (a few hundred requests)."""

    def __init__(self, port: int, token: str | None) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, body: bytes | None = None, kind: str = "") -> bytes:
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = kind
        self._connection.request(method, path, body=body, headers=headers)
        response = self._connection.getresponse()
        data = response.read()
        if response.status >= 300:
            text = data.decode("utf-8", "replace")[:500]
            raise ReplayError(f"{method} {path}: the daemon answered {response.status}: {text}")
        return data

    def close(self) -> None:
        self._connection.close()


def _arrow(frame: pd.DataFrame) -> bytes:
    """The rows as an Arrow IPC stream, as the push route reads them."""
    import pyarrow as pa

    from smote_monitor.evaluation.push import ipc_stream

    return ipc_stream(pa.Table.from_pandas(frame, preserve_index=False))


def _json_rows(frame: pd.DataFrame) -> bytes:
    return json.dumps({"rows": frame.to_dict(orient="records")}).encode()


@contextmanager
def running_daemon(settings: Settings, store: Store) -> Iterator[int]:
    """The daemon's HTTP application (routes, /metrics from the store) served by uvicorn on a
    free loopback port in a background thread, without the scheduler: the replay runs the
    evaluation cycles itself, on its simulated clock. Yields the port."""
    import uvicorn
    from prometheus_client import CollectorRegistry

    from smote_monitor.server.app import create_app, with_body_limit
    from smote_monitor.server.collector import StoreCollector

    registry = CollectorRegistry()
    registry.register(StoreCollector(store, settings))
    app = create_app(settings, store, role_provider=lambda: "leader", registry=registry)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        with_body_limit(app, settings.max_body_bytes),
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="demo-daemon", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ReplayError("the demo's daemon did not start (see the log above)")
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class ReplayResult:
    """What the replay produced: the evaluations stored at the end of each phase (window →
    evaluation id), the scrapes, and what was pushed."""

    history: Any  # alerts.promql.SeriesHistory
    served_evaluations: dict[str, int]
    degraded_evaluations: dict[str, int]
    predictions: int = 0
    labels: int = 0
    labels_joined: int = 0
    scrapes: int = 0
    cycles: int = 0
    series: int = 0
    pending: int = 0
    """Predictions still waiting for their label at the end."""


def replay(
    port: int,
    store: Store,
    settings: Settings,
    dataset: str,
    traffic: Traffic,
    *,
    progress: Callable[[str], None] = lambda _msg: None,
) -> ReplayResult:
    """Push ``traffic`` minute by simulated minute, evaluate every ``evaluate_every``, scrape
    /metrics every minute (see the module docstring)."""
    from alerts.promql import SeriesHistory
    from smote_monitor.evaluation.job import evaluate_dataset

    config = settings.dataset(dataset)
    assert config.id_column is not None and config.timestamp_column is not None
    every = duration_seconds(config.evaluate_every)
    client = _Client(port, settings.auth_token)
    history = SeriesHistory()
    result = ReplayResult(history, {}, {})
    base = f"/api/v1/datasets/{dataset}"
    p_ts = traffic.predictions[config.timestamp_column].to_numpy()
    l_ts = traffic.labels[config.timestamp_column].to_numpy()
    p_at = l_at = 0
    exposition = ""
    try:
        steps = np.arange(traffic.start + STEP_SECONDS, traffic.end + 1, STEP_SECONDS)
        for number, now in enumerate(steps, start=1):
            p_to = int(np.searchsorted(p_ts, now, side="right"))
            if p_to > p_at:
                body = _arrow(traffic.predictions.iloc[p_at:p_to])
                answer = json.loads(client.request("POST", f"{base}/predictions", body, ARROW))
                result.predictions += answer["accepted"]
                p_at = p_to
            l_to = int(np.searchsorted(l_ts, now, side="right"))
            if l_to > l_at:
                body = _json_rows(traffic.labels.iloc[l_at:l_to])
                answer = json.loads(client.request("POST", f"{base}/labels", body, JSON))
                result.labels += l_to - l_at
                result.labels_joined += answer["labels_joined"]
                l_at = l_to
            if round(now - traffic.start) % every == 0:
                cycle = evaluate_dataset(
                    store, settings, dataset, now=datetime.fromtimestamp(now, UTC)
                )
                result.cycles += 1
                if now == traffic.degraded_from:
                    result.served_evaluations = dict(cycle.windows)
                if now == steps[-1]:
                    result.degraded_evaluations = dict(cycle.windows)
            exposition = client.request("GET", "/metrics").decode()
            history.add_scrape(float(now), exposition)
            result.scrapes += 1
            if number % 30 == 0 or number == len(steps):
                phase = "served" if now <= traffic.degraded_from else "drifted+degraded"
                progress(
                    f"replaying production ({phase}): simulated minute {number} of "
                    f"{len(steps)}, {result.predictions:,} predictions and "
                    f"{result.labels_joined:,} labels joined so far"
                )
        # Each label of the replay joins its own prediction once: the rest still wait.
        result.pending = result.predictions - result.labels_joined
    finally:
        client.close()
    # The last scrape came after the last cycle: the final state's series.
    result.series = sum(1 for line in exposition.splitlines() if line and line[0] != "#")
    return result


@dataclass(frozen=True)
class WouldFire:
    """An alert the generated rules fire at the end of the replay, and where it routes."""

    name: str
    severity: str
    labels: Mapping[str, str]
    receivers: list[str]
    summary: str


def alerts_that_fire(
    rule_files: Mapping[str, str], alertmanager: Mapping[str, Any], history: Any, end: float
) -> list[WouldFire]:
    """The rendered rule files evaluated over ``history`` like Prometheus's rule manager, once
    a simulated minute over the last :data:`RULES_LOOKBACK`; the alerts firing at ``end``,
    routed through ``alertmanager`` (its receivers, in Alertmanager's order)."""
    import yaml

    from alerts.evaluate import evaluate_rules
    from alerts.routing import route

    groups = [g for text in rule_files.values() for g in (yaml.safe_load(text) or {})["groups"]]
    states = evaluate_rules(groups, history, start=end - RULES_LOOKBACK, end=end, interval=60)
    return [
        WouldFire(
            name=state.name,
            severity=str(state.labels.get("severity", "")),
            labels=dict(state.labels),
            receivers=route(alertmanager, state.labels),
            summary=str(state.annotations.get("summary", "")),
        )
        for state in states
        if state.state == "firing"
    ]


def example_alertmanager() -> tuple[Path, dict[str, Any]]:
    """The example Alertmanager configuration shipped in the ``alerts`` package."""
    import yaml

    import alerts

    path = Path(alerts.__file__).parent / "alertmanager.yml"
    return path, yaml.safe_load(path.read_text(encoding="utf-8"))
