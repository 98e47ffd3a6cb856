"""The whole alerting chain, end to end (issue 9, item 5): a real ``smote-monitor serve`` fed
labelled production data over HTTP, a real Prometheus scraping it and evaluating the generated
rules (time-scaled: 1h -> 20s), a real Alertmanager routing with the example configuration, and
webhook receivers standing in for the pager and the ticket system.

What must hold:

- a slice whose minority recall collapses (with enough minority events) pages
  (SmoteMinorityRecallBudgetBurn, severity page) at /pager; a tiny slice with the same collapse
  but fewer than ``min_slice_support`` events in the window never does;
- a run with a synthetic ratio out of range tickets (SmoteSyntheticRatioOutOfRange) at /ticket,
  never at /pager;
- while a run is open (SmoteRetrainInProgress), the dataset's tickets are inhibited, as
  Alertmanager's own API reports;
- every query of every rendered dashboard returns data from this Prometheus.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

from smote_core import SMOTE
from smote_monitor import Monitor
from smote_monitor import conventions as c
from tests.dashboards.helpers import panel_exprs, variable_queries
from tests.server.e2e import record_reference
from tests.server.helpers import REPO, ServerProcess, free_port, write_config

pytestmark = pytest.mark.slow

PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
AMTOOL = "/usr/bin/amtool"
DATASET = "fraud"
MIN_SLICE_SUPPORT = 20
TIME_SCALE = 1 / 180
"""1h -> 20s, 5m -> 10s (the floor), 15m -> 10s, 1d -> 480s."""
PUSH_EVERY = 0.5
TINY_EVERY = 4
"""The tiny slice gets one (missed) minority row every TINY_EVERY pushes: 10 in the 20s the page
tier's 1h window is scaled to, under MIN_SLICE_SUPPORT."""

CONFIG = {
    "target": "is_fraud",
    "prediction": "predicted_label",
    "id_column": "event_id",
    "timestamp_column": "ts",
    "slices": ["region"],
    "evaluate_every": "1s",
    "windows": ["1h", "24h"],
    "slo": {"minority_recall": 0.8, "min_slice_support": MIN_SLICE_SUPPORT},
}

PAGE_WINDOW_SECONDS = 20
"""The page tier's 1h window, scaled."""
TINY_OBSERVED = 1.5 * PAGE_WINDOW_SECONDS
"""Pushes go on at least this long before the tiny slice is judged never paged: its window full."""
PAGE_TIMEOUT = 60.0
STEP_TIMEOUT = 30.0
START_TIMEOUT = 30.0

# Dashboard template variables: a value each that exists in the scenario, Grafana's built-ins
# as sensible durations.
VARIABLES = {
    "dataset": DATASET,
    "slice": "region=us",
    "window": "1h",
    "feature": "amount",
    "__rate_interval": "1m",
    "__interval": "10s",
    "__range": "5m",
}

QUIET = (
    c.ALERT_PRODUCTION_DATA_STALE,
    c.ALERT_MONITOR_DOWN,
    c.ALERT_MONITOR_JOB_FAILING,
    c.ALERT_VALIDATION_GAP_HIGH,
    c.ALERT_RUN_DURATION_SPIKE,
    c.ALERT_RUN_MEMORY_SPIKE,
)
"""Alerts nothing in the scenario may cause."""

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], what: str, timeout: float = STEP_TIMEOUT) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.TransportError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


# --- the webhook receivers -----------------------------------------------------------------------


@dataclass
class Received:
    """One alert as a webhook got it."""

    path: str
    at: float
    """time.monotonic() of the POST."""
    status: str
    labels: dict[str, str]


@dataclass
class Webhooks:
    """Every POST to /pager and /ticket, alert by alert."""

    port: int = 0
    alerts: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [a for a in self.alerts if a.path == path]

    def first(self, path: str, **labels: str) -> Received | None:
        return next(
            (
                a
                for a in self.at(path)
                if a.status == "firing" and all(a.labels.get(k) == v for k, v in labels.items())
            ),
            None,
        )


@pytest.fixture
def webhooks() -> Iterator[Webhooks]:
    hooks = Webhooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            now = time.monotonic()
            with hooks.lock:
                hooks.alerts.extend(
                    Received(self.path, now, alert["status"], alert["labels"])
                    for alert in body["alerts"]
                )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hooks.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hooks
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- Prometheus and Alertmanager -----------------------------------------------------------------


class Tool:
    """A Prometheus or Alertmanager process on 127.0.0.1, its output in a log file."""

    def __init__(self, name: str, command: list[str], port: int, log: Path) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log
        self._log = log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8")[-4000:]

    def wait_ready(self) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log}")
            return httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200

        wait_for(ready, f"{self.name} ready", START_TIMEOUT)

    def get(self, path: str, **params: Any) -> Any:
        answer = httpx.get(self.url + path, params=params, timeout=10)
        assert answer.status_code == 200, f"{path} {params}: {answer.status_code} {answer.text}"
        return answer.json()

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            self._log.close()


def alertmanager_config(hooks: Webhooks) -> dict[str, Any]:
    """alerts/alertmanager.yml with the webhooks pointed at the test's receivers and second-long
    timings; routes, matchers and inhibitions untouched."""
    config: dict[str, Any] = yaml.safe_load(
        (REPO / "alerts" / "alertmanager.yml").read_text(encoding="utf-8")
    )
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = hooks.url(f"/{receiver['name']}")
    route = config["route"]
    route.update(group_wait="1s", group_interval="1s", repeat_interval="1s")
    for sub in route["routes"]:
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if key in sub:
                sub[key] = "1s"
    # The scheduled-retrain mute (02:00-04:00 UTC in the example) moves to an hour half a day
    # from now, so the tickets route still carries it but a run at any hour is not muted.
    hour = (datetime.now(UTC).hour + 12) % 24
    hour = min(hour, 22)
    for interval in config["time_intervals"]:
        interval["time_intervals"] = [
            {"times": [{"start_time": f"{hour:02d}:00", "end_time": f"{hour + 1:02d}:00"}]}
        ]
    return config


def start_alertmanager(directory: Path, hooks: Webhooks) -> Tool:
    path = directory / "alertmanager.yml"
    path.write_text(yaml.safe_dump(alertmanager_config(hooks), sort_keys=False), "utf-8")
    check = subprocess.run(
        [AMTOOL, "check-config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    port = free_port()
    return Tool(
        "alertmanager",
        [
            ALERTMANAGER,
            f"--config.file={path}",
            f"--storage.path={directory / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no cluster port (it would listen on 0.0.0.0)
            "--log.level=info",
        ],
        port,
        directory / "alertmanager.log",
    )


def start_prometheus(directory: Path, rules: Path, target: str, alertmanager: str) -> Tool:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules / "*.rules.yml")],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}],
        },
        "scrape_configs": [
            {
                "job_name": "smote-monitor",
                "honor_labels": True,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [target]}],
            }
        ],
    }
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    port = free_port()
    return Tool(
        "prometheus",
        [
            PROMETHEUS,
            f"--config.file={path}",
            f"--storage.tsdb.path={directory / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        port,
        directory / "prometheus.log",
    )


def render_scaled_rules(config: Path, out: Path) -> None:
    """The generated rules of the test's config, time-scaled, through the CLI."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smote_monitor",
            "-c",
            str(config),
            "alerts",
            "render",
            "--out",
            str(out),
            "--time-scale",
            repr(TIME_SCALE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in out.glob("*.rules.yml")) == [
        f"{DATASET}.rules.yml",
        f"{c.RULE_GROUP_PREFIX}.rules.yml",
    ]


# --- production data -----------------------------------------------------------------------------


class Pusher:
    """Labelled production rows every PUSH_EVERY seconds, stamped now: region=us misses every
    minority row, region=eu catches them, region=tiny misses its rare minority rows."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.stop = threading.Event()
        self.first_push: float | None = None
        self.pushes = 0
        self.errors: list[str] = []
        self.next_id = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.rng = np.random.default_rng(1)

    def _rows(self, tick: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        now = datetime.now(UTC).isoformat()
        # (region, true label, predicted label, count)
        plan = [
            ("us", 1, 0, 5),  # every minority row missed: recall 0 (and precision 0)
            ("us", 0, 0, 9),
            ("us", 0, 1, 1),
            ("eu", 1, 1, 5),  # every minority row caught
            ("eu", 0, 0, 9),
            ("eu", 0, 1, 1),
        ]
        if tick % TINY_EVERY == 0:
            plan += [("tiny", 1, 0, 1), ("tiny", 0, 0, 1)]
        predictions, labels = [], []
        for region, truth, predicted, count in plan:
            for _ in range(count):
                self.next_id += 1
                predictions.append(
                    {
                        "event_id": self.next_id,
                        "ts": now,
                        "predicted_label": predicted,
                        "region": region,
                        "amount": float(self.rng.normal() + truth),
                    }
                )
                labels.append({"event_id": self.next_id, "is_fraud": truth})
        return predictions, labels

    def _run(self) -> None:
        tick = 0
        while not self.stop.is_set():
            started = time.monotonic()
            predictions, labels = self._rows(tick)
            try:
                for route, rows in (("predictions", predictions), ("labels", labels)):
                    answer = self.http.post(
                        f"/api/v1/datasets/{DATASET}/{route}", json={"rows": rows}
                    )
                    if answer.status_code != 200:
                        self.errors.append(f"{route}: {answer.status_code} {answer.text}")
            except httpx.HTTPError as exc:
                self.errors.append(repr(exc))
            if self.first_push is None:
                self.first_push = started
            self.pushes += 1
            tick += 1
            self.stop.wait(max(0.0, PUSH_EVERY - (time.monotonic() - started)))

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        self.http.close()


def training_data(seed: int = 0, rows: int = 1000) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.1).astype(int)
    X = pd.DataFrame({"amount": rng.normal(size=rows) + y})
    return X, y


# --- Prometheus and Alertmanager queries ----------------------------------------------------------


def prom_vector(prometheus: Tool, query: str) -> list[dict[str, Any]]:
    data = prometheus.get("/api/v1/query", query=query)
    assert data["status"] == "success", data
    result: list[dict[str, Any]] = data["data"]["result"]
    return result


def am_alerts(alertmanager: Tool, alertname: str) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = alertmanager.get(
        "/api/v2/alerts", filter=f'alertname="{alertname}"'
    )
    return [a for a in alerts if a["labels"].get("dataset") == DATASET]


def substitute(text: str) -> str:
    # Longest names first: $__rate_interval before $__range.
    for name in sorted(VARIABLES, key=len, reverse=True):
        text = text.replace(f"${{{name}}}", VARIABLES[name]).replace(f"${name}", VARIABLES[name])
    assert "$" not in text, f"a variable left unsubstituted: {text}"
    return text


def dashboard_queries() -> tuple[list[tuple[str, str]], list[tuple[str, str, str, str]]]:
    """(where, PromQL) of every panel target and annotation; (where, variable, series, label)
    of every label_values variable; of every rendered dashboard."""
    exprs, variables = [], []
    for path in sorted((REPO / "dashboards" / "json").glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        exprs += [(f"{path.name} {where}", substitute(e)) for where, e in panel_exprs(board)]
        variables += [
            (f"{path.name} variable {name!r}", name, substitute(series), label)
            for name, series, label in variable_queries(board)
        ]
    return exprs, variables


def has_data(result: list[dict[str, Any]]) -> bool:
    """Some series with at least one finite value (a panel of only NaN shows nothing)."""
    return any(
        math.isfinite(float(value))
        for series in result
        for _, value in series.get("values", [series.get("value", [0, "NaN"])])
    )


# --- the test ------------------------------------------------------------------------------------


def test_the_alerting_chain_pages_tickets_inhibits_and_feeds_every_dashboard(
    tmp_path: Path, webhooks: Webhooks
) -> None:
    began = time.monotonic()
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/store.db", datasets={DATASET: CONFIG})
    X, y = training_data()
    record_reference(config, X, y, DATASET)
    rules = tmp_path / "rules"
    render_scaled_rules(config, rules)

    server: ServerProcess | None = None
    prometheus: Tool | None = None
    alertmanager: Tool | None = None
    pusher: Pusher | None = None
    monitor: Monitor | None = None
    try:
        server = ServerProcess(config)
        alertmanager = start_alertmanager(tmp_path, webhooks)
        server.wait_ready()
        alertmanager.wait_ready()
        prometheus = start_prometheus(
            tmp_path, rules, f"127.0.0.1:{server.port}", alertmanager.url.removeprefix("http://")
        )
        prometheus.wait_ready()
        cluster = alertmanager.get("/api/v2/status")["cluster"]
        assert cluster["status"] == "disabled", cluster
        query_start = time.time()
        print(f"\nprocesses up after {time.monotonic() - began:.1f}s")

        # 1. The page: region=us collapses with plenty of minority events (from the first push
        # on, so the first push is the first degrading one).
        pusher = Pusher(server.url)
        pusher.start()
        page = wait_for(
            lambda: webhooks.first(
                "/pager",
                alertname=c.ALERT_MINORITY_RECALL_BUDGET_BURN,
                severity=c.SEVERITY_PAGE,
                dataset=DATASET,
                slice="region=us",
            ),
            "the burn page of region=us at /pager",
            PAGE_TIMEOUT,
        )
        assert pusher.first_push is not None
        time_to_page = page.at - pusher.first_push
        print(f"time to page (first degrading push -> /pager): {time_to_page:.1f}s")
        assert page.labels["long_window"] == "1h", page
        assert not pusher.errors, pusher.errors[:5]

        # 2. The ticket: a run whose synthetic ratio is under the range's low end (0.1).
        monitor = Monitor.from_config(config)
        with monitor.track_run(dataset=DATASET, run_key="low-ratio") as run:
            run.resample(SMOTE(sampling_strategy=0.15, random_state=0), X, y)
            # Gap, recall and precision within the objectives (the gate fails on the ratio
            # alone), and a leakage check: the debug dashboard's gap and leakage panels need them.
            X_val, y_val = training_data(seed=2, rows=300)
            run.log_validation(
                train={"f1": 0.9},
                validation={"f1": 0.88, "recall": 0.85, "precision": 0.75},
                X_val=X_val,
                y_val=y_val,
            )
        finished = time.monotonic()
        assert run.record is not None
        ratio = run.record.synthetic_ratio
        assert ratio is not None and ratio < 0.1, ratio
        ticket = wait_for(
            lambda: webhooks.first(
                "/ticket",
                alertname=c.ALERT_SYNTHETIC_RATIO_OUT_OF_RANGE,
                severity=c.SEVERITY_TICKET,
                dataset=DATASET,
            ),
            "SmoteSyntheticRatioOutOfRange at /ticket",
        )
        print(f"time to ticket (run finished -> /ticket): {ticket.at - finished:.1f}s")

        # 3. Inhibition: a run left open -> SmoteRetrainInProgress -> the tickets inhibited.
        open_run = monitor.track_run(dataset=DATASET, run_key="still-open")
        open_run.__enter__()
        in_progress = wait_for(
            lambda: [
                a
                for a in am_alerts(alertmanager, c.ALERT_RETRAIN_IN_PROGRESS)
                if a["status"]["state"] == "active"
            ],
            "SmoteRetrainInProgress active in Alertmanager",
        )
        source = {a["fingerprint"] for a in in_progress}

        def inhibited() -> list[dict[str, Any]] | None:
            alerts = am_alerts(alertmanager, c.ALERT_SYNTHETIC_RATIO_OUT_OF_RANGE)
            if alerts and all(
                a["status"]["state"] == "suppressed" and set(a["status"]["inhibitedBy"]) == source
                for a in alerts
            ):
                return alerts
            return None

        wait_for(inhibited, "SmoteSyntheticRatioOutOfRange inhibited by SmoteRetrainInProgress")
        # Every ticket-severity alert of the dataset is inhibited now, the pages are not.
        everything = alertmanager.get("/api/v2/alerts")
        ours = [a for a in everything if a["labels"].get("dataset") == DATASET]
        tickets = [a for a in ours if a["labels"]["severity"] == c.SEVERITY_TICKET]
        pages = [a for a in ours if a["labels"]["severity"] == c.SEVERITY_PAGE]
        assert tickets and pages
        assert all(a["status"]["inhibitedBy"] for a in tickets), [
            (a["labels"]["alertname"], a["status"]) for a in tickets
        ]
        assert all(a["status"]["state"] == "active" for a in pages), pages

        # 4. The tiny slice: collapsing too, but under the support the page asks for, over (at
        # least) a full window of its data.
        first_push = pusher.first_push
        wait_for(
            lambda: time.monotonic() - first_push >= TINY_OBSERVED,
            f"{TINY_OBSERVED}s of pushes",
            TINY_OBSERVED + 5,
        )
        tiny = prom_vector(
            prometheus,
            'dataset_slice:smote_slice_recall_errors:ratio_rate1h{slice="region=tiny"}',
        )
        assert tiny and float(tiny[0]["value"][1]) == 1.0, tiny
        tiny_events = prometheus.get(
            "/api/v1/query_range",
            query='dataset_slice:smote_slice_support:rate1h{slice="region=tiny"}'
            f" * {PAGE_WINDOW_SECONDS}",
            start=query_start,
            end=time.time(),
            step="1s",
        )["data"]["result"]
        most = max(float(v) for series in tiny_events for _, v in series["values"])
        assert 0 < most < MIN_SLICE_SUPPORT, most
        tiny_burns = prometheus.get(
            "/api/v1/query_range",
            query=f'ALERTS{{alertname="{c.ALERT_MINORITY_RECALL_BUDGET_BURN}",'
            'severity="page",slice="region=tiny"}',
            start=query_start,
            end=time.time(),
            step="1s",
        )["data"]["result"]
        assert tiny_burns == [], tiny_burns
        assert webhooks.at("/pager") and webhooks.at("/ticket")
        for received in webhooks.at("/ticket"):
            assert received.labels["severity"] == c.SEVERITY_TICKET, received
        for received in webhooks.at("/pager"):
            # Only the burn page: no SmoteMonitorDown from a Prometheus that has not scraped yet.
            assert received.labels["alertname"] == c.ALERT_MINORITY_RECALL_BUDGET_BURN, received
            assert received.labels.get("slice") != "region=tiny", received
            assert received.labels["alertname"] != c.ALERT_SYNTHETIC_RATIO_OUT_OF_RANGE, received
            assert received.labels["severity"] == c.SEVERITY_PAGE, received

        # Nothing the scenario does not cause fired, pending included, at any time: data flows,
        # the daemon is up and its jobs succeed, the run's gap and resources are fine. The one
        # exception is SmoteMonitorDown{reason="not_scraped"} pending until Prometheus's first
        # scrape (rules are evaluated before it; its for: is there for that).
        quiet = prometheus.get(
            "/api/v1/query_range",
            query=f'ALERTS{{alertname=~"{"|".join(QUIET)}"}}'
            f' unless ALERTS{{alertname="{c.ALERT_MONITOR_DOWN}",reason="not_scraped",'
            'alertstate="pending"}',
            start=query_start,
            end=time.time(),
            step="1s",
        )["data"]["result"]
        assert quiet == [], [
            (s["metric"], s["values"][0][0] - query_start, len(s["values"])) for s in quiet
        ]
        firing = prom_vector(prometheus, 'ALERTS{alertstate="firing"}')
        print(
            "firing at the end:",
            ", ".join(
                sorted(
                    {
                        f"{a['metric']['alertname']}[{a['metric']['severity']}"
                        + (f" {a['metric']['slice']}" if "slice" in a["metric"] else "")
                        + "]"
                        for a in firing
                    }
                )
            ),
        )

        # 5. Every dashboard query has data in this Prometheus.
        exprs, variables = dashboard_queries()
        assert exprs and variables
        end = time.time()
        empty = []
        for where, expr in exprs:
            data = prometheus.get(
                "/api/v1/query_range", query=expr, start=query_start, end=end, step="1s"
            )
            assert data["status"] == "success", (where, data)
            if not has_data(data["data"]["result"]):
                empty.append(f"{where}: {expr}")
        for where, name, series, label in variables:
            values = prometheus.get(
                f"/api/v1/label/{label}/values", **{"match[]": series}, start=query_start
            )["data"]
            if VARIABLES[name] not in values:
                empty.append(f"{where}: label_values({series}, {label}) = {values}")
        assert not empty, "dashboard queries without data:\n" + "\n".join(empty)
        assert not pusher.errors, pusher.errors[:5]
        print(f"pushes: {pusher.pushes}; chain done in {time.monotonic() - began:.1f}s")
    finally:
        for closing in (
            pusher.close if pusher else None,
            prometheus.close if prometheus else None,
            alertmanager.close if alertmanager else None,
            server.close if server else None,
            monitor.close if monitor else None,
        ):
            if closing is not None:
                try:
                    closing()
                except Exception as exc:  # keep closing the others
                    print(f"closing: {exc!r}")
