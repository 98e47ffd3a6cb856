"""The status page (``GET /``) of a real ``serve`` process, on SQLite and on PostgreSQL.

A reference run is recorded, then production predictions and labels are pushed over HTTP: one
slice misses every fraud (recall far below the SLO), one catches them all, two carry hostile
names, one a very long name, and 25 more have a single labelled row each (more slices than a
chart draws). The page must show the datasets, the degraded slice flagged and listed first,
every name as text, the run reports linked; an empty store and a store that is down get a page
that says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from smote_monitor.server.status_page import LABEL_CHARS, ROWS_DRAWN
from tests.conftest import UNREACHABLE_URL
from tests.server.e2e import record_reference, status, wait_for
from tests.server.helpers import ServerProcess, run_record, write_config

pytestmark = pytest.mark.slow

SCRIPT_SLICE = "<script>alert(1)</script>"
IMG_SLICE = '"><img src=x onerror=alert(2)>'
HOSTILE_FEATURE = "<img src=x onerror=alert(3)>"
LONG_SLICE = "a-very-long-region-name-" + "x" * 100
DEGRADED = "region=eu"
HEALTHY = "region=us"
SPARSE_REGIONS = [f"r{i:02d}" for i in range(25)]

DATASETS: dict[str, Any] = {
    "fraud": {
        "target": "is_fraud",
        "prediction": "predicted_label",
        "id_column": "event_id",
        "timestamp_column": "ts",
        "slices": ["region"],
        "evaluate_every": "1s",
        "windows": ["1h"],
        "slo": {"min_slice_support": 5},
    },
    # Runs only, recorded over HTTP: its latest one fails the gate.
    "churn": {"id_column": "customer_id", "evaluate_every": "1h"},
}


def start_fed_server(directory: Path, store_url: str) -> ServerProcess:
    """A running server whose store holds a reference run, a gate-failed run and an evaluated
    window with a degraded slice (the caller closes it)."""
    config = write_config(directory, store_url, datasets=DATASETS)
    rng = np.random.default_rng(0)
    y = (rng.random(1000) < 0.1).astype(int)
    X = pd.DataFrame({"amount": rng.normal(size=1000) + y, HOSTILE_FEATURE: rng.normal(size=1000)})
    record_reference(config, X, y)
    server = ServerProcess(config)
    try:
        server.wait_ready()
        with server.client() as http:
            feed(http)
    except BaseException:
        server.close()
        raise
    return server


def feed(http: httpx.Client) -> None:
    """Push the production window and a gate-failed run; wait until the window is evaluated."""
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    rng = np.random.default_rng(1)
    rows: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []

    def add(region: str, n: int, predicted: int, label: int) -> None:
        for _ in range(n):
            event = len(rows)
            rows.append(
                {
                    "event_id": event,
                    "ts": at,
                    "predicted_label": predicted,
                    "region": region,
                    # amount drifts (shifted by 3), the hostile-named feature does not
                    "amount": 3.0 + (event % 7) / 7,
                    HOSTILE_FEATURE: float(rng.normal()),
                }
            )
            labels.append({"event_id": event, "is_fraud": label})

    add("eu", 40, predicted=0, label=1)  # every fraud missed: recall 0
    add("us", 40, predicted=1, label=1)  # every fraud caught
    add(SCRIPT_SLICE, 8, predicted=1, label=1)
    add(IMG_SLICE, 8, predicted=1, label=1)
    add(LONG_SLICE, 8, predicted=1, label=1)
    for region in SPARSE_REGIONS:
        add(region, 1, predicted=1, label=1)
    pushed = http.post("/api/v1/datasets/fraud/predictions", json={"rows": rows})
    assert pushed.status_code == 200, pushed.text
    joined = http.post("/api/v1/datasets/fraud/labels", json={"rows": labels})
    assert joined.status_code == 200, joined.text
    failing = run_record(
        "churn-weekly",
        dataset="churn",
        metrics={"train": {"f1": 0.9}, "validation": {"f1": 0.6, "recall": 0.5, "precision": 0.7}},
    )
    recorded = http.post("/api/v1/runs", json=failing)
    assert recorded.status_code == 201, recorded.text

    def evaluated() -> dict[str, Any] | None:
        window = status(http)["windows"]["1h"]
        # every row and label in, drift computed (a cycle can store a window with no rows)
        if window is None or window["labelled_rows"] < len(labels) or window["rows"] < len(rows):
            return None
        if not window["drift"]["features"]:
            return None
        return window

    wait_for(evaluated, "an evaluation of the pushed window")


@pytest.fixture(scope="module")
def server(module_store_url: str, module_dir: Path) -> Iterator[ServerProcess]:
    process = start_fed_server(module_dir, module_store_url)
    try:
        yield process
    finally:
        process.close()


@pytest.fixture(scope="module")
def page(server: ServerProcess) -> httpx.Response:
    with server.client() as http:
        return http.get("/")


class _Tags(HTMLParser):
    """Every start tag of a document, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def section(html: str, dataset: str) -> str:
    found = re.search(rf'<section class="[^"]*" id="dataset-{dataset}">(.*?)</section>', html, re.S)
    assert found is not None, f"no section of {dataset}"
    return found.group(1)


def figure(html: str, kind: str) -> str:
    found = re.search(rf'<figure class="{kind}">(.*?)</figure>', html, re.S)
    assert found is not None, f"no {kind} figure"
    return found.group(1)


def test_the_page_is_html_with_every_dataset(page: httpx.Response) -> None:
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]  # no script at all
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert '<meta http-equiv="refresh" content="30">' in page.text
    for dataset in DATASETS:
        assert f'href="#dataset-{dataset}"' in page.text
        section(page.text, dataset)
    assert not [tag for tag, _ in tags_of(page.text) if tag == "script"]


def test_the_degraded_slice_is_flagged_and_drawn_first(page: httpx.Response) -> None:
    fraud = section(page.text, "fraud")
    conditions = fraud.split("<h3>Latest run and gate</h3>")[0]
    assert "Minority recall below SLO" in conditions
    assert DEGRADED in conditions and HEALTHY not in conditions
    slices = figure(fraud, "slices")
    rows = re.findall(r'<g class="row (\w+)" data-name="([^"]*)"', slices)
    assert rows[0] == ("below", DEGRADED)
    assert ("meets", HEALTHY) in rows
    # the whisker and point of the degraded slice sit left of the SLO line (recall 0 < 0.80)
    assert 'data-verdict="below SLO"' in slices


def test_drift_per_feature_against_the_threshold(page: httpx.Response) -> None:
    fraud = section(page.text, "fraud")
    drift = figure(fraud, "drift")
    rows = re.findall(r'<g class="row (\w+)" data-name="([^"]*)"', drift)
    assert rows[0] == ("drifted", "amount")
    assert rows[1][0] == "stable"
    assert "Feature drift detected" in fraud


def test_names_from_production_data_are_text(page: httpx.Response) -> None:
    html = page.text
    for hostile in (SCRIPT_SLICE, IMG_SLICE, HOSTILE_FEATURE):
        assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;img src=x onerror=alert(3)&gt;" in html
    tags = tags_of(html)
    assert not [tag for tag, _ in tags if tag in ("script", "img")]
    assert not [attrs for _, attrs in tags if any(k.startswith("on") for k in attrs)]
    # the escaped names still arrive whole, as attribute values the parser reads back
    names = {attrs.get("data-name") for tag, attrs in tags if tag == "g"}
    assert {f"region={SCRIPT_SLICE}", f"region={IMG_SLICE}", HOSTILE_FEATURE} <= names


def test_long_names_are_cut_with_the_whole_name_as_tooltip(page: httpx.Response) -> None:
    slices = figure(section(page.text, "fraud"), "slices")
    name = f"region={LONG_SLICE}"
    assert f"<title>{name} — " in slices
    assert f">{name[: LABEL_CHARS - 1]}…</text>" in slices
    assert f">{name}</text>" not in slices


def test_a_chart_draws_the_worst_slices_and_counts_the_rest(page: httpx.Response) -> None:
    slices = figure(section(page.text, "fraud"), "slices")
    drawn = re.findall(r'<g class="row ', slices)
    total = 1 + 5 + len(SPARSE_REGIONS)  # all, eu, us, the two hostile, the long one, sparse
    assert len(drawn) == ROWS_DRAWN
    assert f"{total - ROWS_DRAWN} more not drawn, none of them flagged" in slices


def test_recent_runs_link_their_reports(server: ServerProcess, page: httpx.Response) -> None:
    fraud = section(page.text, "fraud")
    links = re.findall(r'href="(/api/v1/runs/(\d+)/report)"', fraud)
    assert len(links) == 1
    with server.client() as http:
        report = http.get(links[0][0])
        assert report.status_code == 200
        assert report.headers["content-type"].startswith("text/html")
        listed = http.get("/api/v1/runs", params={"dataset": "fraud"}).json()["runs"]
    assert [str(r["computed"]["id"]) for r in listed] == [links[0][1]]
    assert '<span class="badge passed">passed</span>' in fraud


def test_a_failed_gate_is_a_firing_condition(page: httpx.Response) -> None:
    churn = section(page.text, "churn")
    assert "Release gate failed" in churn
    assert '<span class="badge gate_failed">gate_failed</span>' in churn
    assert "no report: recorded without training data" in churn
    # churn has no id_column-less problem: it is configured for the status route
    assert "Status unavailable" not in churn


def test_the_page_is_documented_as_html(server: ServerProcess) -> None:
    with server.client() as http:
        schema = http.get("/openapi.json").json()
    answers = schema["paths"]["/"]["get"]["responses"]
    assert "text/html" in answers["200"]["content"]
    assert "text/html" in answers["503"]["content"]


def test_an_empty_store_says_what_to_do(sqlite_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, sqlite_url, datasets={"fraud": DATASETS["fraud"]})
    with ServerProcess(config) as server:
        server.wait_ready()
        with server.client() as http:
            page = http.get("/")
    assert page.status_code == 200
    fraud = section(page.text, "fraud")
    assert "No run recorded yet for <strong>fraud</strong>" in fraud
    assert "No evaluation yet" in fraud
    assert "Nothing to check yet" in fraud


def test_no_dataset_configured_says_where_to_add_one(sqlite_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, sqlite_url, datasets={})
    with ServerProcess(config) as server:
        server.wait_ready()
        with server.client() as http:
            page = http.get("/")
    assert page.status_code == 200
    assert 'id="empty-state"' in page.text and "No datasets configured" in page.text


def test_a_store_that_is_down_gets_a_banner_not_an_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, UNREACHABLE_URL, datasets={"fraud": DATASETS["fraud"]})
    with ServerProcess(config) as server:
        server.wait_alive()
        with server.client() as http:
            page = http.get("/")
            metrics = http.get("/metrics")
        log = server.log
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["retry-after"] == "30"
    assert 'id="store-unreachable"' in page.text and "Store unreachable" in page.text
    assert "Configured datasets: fraud." in page.text
    assert metrics.status_code == 200
    assert "Traceback" not in log
