"""``smote-monitor demo`` runs the whole loop on the bundled real dataset, on the SQLite default:
a recorded run, production replayed through the daemon's HTTP API with late labels, the
evaluation cycles, the alerts the generated rules would fire, and an output folder a user can
deploy from; ``--serve`` keeps the daemon running with that data."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.alerts.conftest import installed_tool, run_tool
from tests.server.helpers import free_port

from .cli_helpers import run_cli

pytestmark = pytest.mark.slow

DATASET = "lending_club"


def _section(out: str, start: str, end: str | None = None) -> str:
    tail = out.split(start, 1)[1]
    return tail.split(end, 1)[0] if end else tail


@pytest.fixture(scope="module")
def first_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One demo run in a fresh folder (through a pipe with no $COLUMNS): the folder, stdout."""
    folder = tmp_path_factory.mktemp("demo")
    shown = run_cli("demo", cwd=folder, columns=None, timeout=600)
    assert shown.returncode == 0, shown.stderr
    return folder, shown.stdout


def test_demo_replays_production_through_the_daemon_and_says_what_would_page(
    first_demo: tuple[Path, str],
) -> None:
    tmp_path, out = first_demo
    assert "modeldata::lending_club" in out
    assert "4,928 train / 1,971 validation / 2,958 production" in out
    assert "class counts 0: 4,670 → 4,670, 1: 258 → 4,670" in out
    assert "SLOs set to what this model reaches on validation" in out
    assert "gate passed" in out
    assert (tmp_path / "smote-monitor.db").exists()
    # three simulated hours of one production pass each, through the HTTP push routes
    assert "8,874 predictions pushed as Arrow" in out
    assert "36 evaluation cycles; /metrics scraped 180 times" in out

    # drift: the injected features flagged in the degraded hour only, no other feature ever
    served = _section(out, "window 1h (served):", "window 1h (drifted+degraded):")
    broken = _section(out, "window 1h (drifted+degraded):", "alerts that would fire")
    assert served.split("\n", 1)[0].endswith("drifted features: none")
    assert "drifted features: int_rate, annual_inc" in " ".join(broken.split()[:30])
    drift_rows = {
        line.split()[0]: line
        for line in _section(out, "drift per feature", "window 1h (served)").splitlines()
        if line.startswith(" ")
        and line.split()
        and line.split()[0] not in ("feature",)
        and not line.strip().startswith("─")
    }
    assert {"int_rate", "annual_inc", "revol_util"} <= set(drift_rows)
    for feature, line in drift_rows.items():
        if feature in ("int_rate", "annual_inc"):
            assert line.count("drifted") == 1, line  # flagged in the degraded hour only
        else:
            assert "drifted" not in line, line

    # slices: healthy hours below no SLO; the degraded hour: 60-month loans, 36-month not
    assert "below 0.65" not in served
    degraded_rows = {line.split()[0]: line for line in broken.splitlines() if "term=" in line}
    assert "below 0.65" in degraded_rows["term=term_60"]
    assert "below 0.65" not in degraded_rows["term=term_36"]

    # alerts: exactly one page, the degraded slice's recall burn, routed to the pager
    alerts = _section(out, "alerts that would fire", "wrote ")
    pages = [line.split() for line in alerts.splitlines() if " page " in line]
    assert pages == [["SmoteMinorityRecallBudgetBurn", "term=term_60", "page", "pager"]]
    assert any(
        line.split()[:2] == ["SmoteFeatureDriftDetected", "int_rate"]
        for line in alerts.splitlines()
    )

    demo = tmp_path / "smote-monitor-demo"
    summary = json.loads((demo / "summary.json").read_text())
    assert summary["run"]["gate_passed"] is True
    target = summary["slo"]["minority_recall"]
    (term_60,) = [
        s for s in summary["windows"]["drifted+degraded"]["slices"] if s["slice"] == "term=term_60"
    ]
    assert term_60["sufficient"] and term_60["recall_upper"] < target  # excludes the target
    assert {
        (a["alert"], a["labels"].get("slice"), tuple(a["receivers"]))
        for a in summary["alerts"]
        if a["severity"] == "page"
    } == {("SmoteMinorityRecallBudgetBurn", "term=term_60", ("pager",))}
    for name in ("run-report.html", "drift-report.html"):
        assert "<html" in (demo / name).read_text()[:2000].lower()
    assert sorted(p.name for p in (demo / "dashboards").glob("*.json")) == [
        "smote-debug.json",
        "smote-executive.json",
        "smote-oncall.json",
    ]
    # the written configs are what Prometheus and Alertmanager accept (promtool checks the
    # rule files the Prometheus config loads, too)
    run_tool(installed_tool("promtool"), "check", "config", str(demo / "prometheus.yml"))
    run_tool(installed_tool("amtool"), "check-config", str(demo / "alertmanager.yml"))


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue[str], text: str, timeout: float) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} not printed within {timeout}s:\n{''.join(seen)}")


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode())


def _status_page_in_a_browser(url: str) -> None:
    """The demo's status page in Debian's chromium: a silent console, the degraded slice under
    a firing recall condition and drawn below its SLO, every chart label inside its SVG; a
    screenshot in test-artifacts/demo-status-page.png."""
    from playwright.sync_api import expect, sync_playwright

    from tests.server.helpers import REPO
    from tests.server.test_status_page_browser import chromium_path, clipped_labels

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            said: list[str] = []
            page.on(
                "console",
                lambda m: (
                    said.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
                ),
            )
            page.on("pageerror", lambda error: said.append(f"page error: {error}"))
            response = page.goto(url, wait_until="load")
            assert response is not None and response.status == 200
            artifact = REPO / "test-artifacts" / "demo-status-page.png"
            artifact.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(artifact), full_page=True)
            assert said == []
            section = page.locator("#dataset-lending_club")
            condition = section.locator("li.condition", has_text="Minority recall below SLO")
            expect(condition).to_contain_text("term=term_60")
            row = section.locator('figure.slices svg.chart g.row[data-name="term=term_60"]')
            expect(row.first).to_have_class(re.compile(r"\bbelow\b"))
            healthy = section.locator('figure.slices svg.chart g.row[data-name="term=term_36"]')
            expect(healthy.first).not_to_have_class(re.compile(r"\bbelow\b"))
            assert not clipped_labels(page, DATASET)
        finally:
            browser.close()


def test_demo_serve_keeps_the_daemon_running_with_the_demo_data_and_a_rerun_records_no_run(
    first_demo: tuple[Path, str],
) -> None:
    # the second run in the same folder: the same run (idempotent), a fresh replay
    tmp_path = first_demo[0]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOTE_MONITOR_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "smote_monitor", "demo", "--serve", "--listen", f"127.0.0.1:{port}"],
        cwd=tmp_path,
        env={**env, "COLUMNS": "80", "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _lines(process)
        out = _wait_for(lines, "Ctrl-C stops it", timeout=600)
        # an 80-column terminal: the slice and run key stay whole on one line
        assert [line for line in out.splitlines() if line.startswith(" term=term_60 ")]
        assert [line for line in out.splitlines() if "lending_club   demo-seed-0" in line]
        assert f"prometheus --config.file={tmp_path / 'smote-monitor-demo' / 'prometheus.yml'}" in (
            " ".join(out.split())
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                metrics = _get(f"http://127.0.0.1:{port}/metrics")
                break
            except OSError:
                assert time.monotonic() < deadline, "the daemon did not answer"
                time.sleep(0.5)
        assert 'smote_slice_recall{dataset="lending_club",slice="term=term_60",window="1h"}' in (
            metrics
        )
        assert "term=term_60" in _get(f"http://127.0.0.1:{port}/")
        _status_page_in_a_browser(f"http://127.0.0.1:{port}/")
        prometheus = (tmp_path / "smote-monitor-demo" / "prometheus.yml").read_text()
        assert f"127.0.0.1:{port}" in prometheus
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    runs = json.loads(run_cli("runs", "list", "--json", cwd=tmp_path).stdout)
    assert len(runs) == 1
    run = runs[0]
    assert (run["dataset"], run["run_key"], run["variant"]) == (
        "lending_club",
        "demo-seed-0",
        "SMOTE",
    )
    # 4,928 training loans, 258 bad: SMOTE grows the bad loans to the 4,670 good ones.
    assert run["class_counts_after"] == {"0": 4670, "1": 4670}
    assert run["n_synthetic"] == 4670 - 258
    assert run["computed"]["gate"]["passed"] is True
    assert len(run["computed"]["gate"]["checks"]) == 5
    assert run["computed"]["leakage"]["suspected"] is False
    assert len(run["audit_sample"]) > 0
