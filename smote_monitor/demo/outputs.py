"""What the demo leaves in its output folder, for a user to open or to deploy from:

- ``run-report.html``: Evidently's drift report of the run's real vs SMOTE-augmented training data;
- ``drift-report.html``: the run's real training data vs the drifted production hour;
- ``rules/`` and ``runbooks/``: the alert rules and runbooks generated for the demo's config;
- ``alertmanager.yml``: the example routing (pages to ``pager``, tickets to ``ticket``);
- ``dashboards/`` and ``grafana-provisioning/``: the Grafana dashboards and their provisioning;
- ``prometheus.yml``: a Prometheus config that scrapes ``smote-monitor demo --serve`` and loads
  the rules;
- ``summary.json``: the summary the demo printed, as data.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from smote_monitor.config import SLOConfig
from smote_monitor.errors import path_error
from smote_monitor.store import Store

SERVE_LISTEN = "127.0.0.1:9464"
ALERTMANAGER_LISTEN = "127.0.0.1:9093"


def prometheus_config(scrape_target: str = SERVE_LISTEN) -> str:
    """A Prometheus config scraping the demo daemon and loading ``rules/*.rules.yml`` (paths
    relative to the config file, as Prometheus resolves them)."""
    return (
        "# Written by `smote-monitor demo`: scrapes `smote-monitor demo --serve` and loads the\n"
        "# generated rules. Run: prometheus --config.file=prometheus.yml (from this folder).\n"
        "global:\n"
        "  scrape_interval: 15s\n"
        "  evaluation_interval: 30s\n"
        "rule_files:\n"
        "  - rules/*.rules.yml\n"
        "alerting:\n"
        "  alertmanagers:\n"
        "    - static_configs:\n"
        f"        - targets: ['{ALERTMANAGER_LISTEN}']\n"
        "scrape_configs:\n"
        "  - job_name: smote-monitor\n"
        "    static_configs:\n"
        f"      - targets: ['{scrape_target}']\n"
    )


def _write(path: Path, text: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise path_error(exc, str(path), "write the demo's output") from exc
    return path


def write_outputs(
    out: Path,
    *,
    store: Store,
    run_id: int,
    rule_files: Mapping[str, str],
    runbooks: Mapping[str, str],
    alertmanager: Path,
    slo: SLOConfig,
    drifted_hour: pd.DataFrame,
    summary: Mapping[str, Any],
    scrape_target: str = SERVE_LISTEN,
) -> dict[str, Path]:
    """Write everything listed in the module docstring into ``out``; name → path."""
    from dashboards.render import render as render_dashboards
    from smote_monitor.drift.reference import AUGMENTED, REAL
    from smote_monitor.reports import column_kinds, profiles_to_frame, run_report
    from smote_monitor.store.profiles import load_profiles

    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with store.read() as session:
        real = load_profiles(session, run_id, REAL)
        augmented = load_profiles(session, run_id, AUGMENTED)
    numerical, categorical = column_kinds(real)
    reference = profiles_to_frame(real)
    written["run report"] = run_report(
        reference,
        profiles_to_frame(augmented),
        numerical=numerical,
        categorical=categorical,
        title=f"run {run_id}: real vs SMOTE-augmented training data",
        output=(out / "run-report.html").resolve(),
    ).path
    written["drift report"] = run_report(
        reference,
        drifted_hour,
        numerical=numerical,
        categorical=categorical,
        title=f"run {run_id} (real training data) vs the drifted production hour",
        output=(out / "drift-report.html").resolve(),
    ).path
    for name, text in rule_files.items():
        _write(out / "rules" / name, text)
    for name, text in runbooks.items():
        _write(out / "runbooks" / name, text)
    written["alert rules"] = out / "rules"
    try:
        shutil.copyfile(alertmanager, out / "alertmanager.yml")
    except OSError as exc:
        raise path_error(exc, str(out / "alertmanager.yml"), "write the demo's output") from exc
    written["alertmanager config"] = out / "alertmanager.yml"
    render_dashboards(out / "dashboards", out / "grafana-provisioning", slo=slo)
    written["dashboards"] = out / "dashboards"
    written["prometheus config"] = _write(out / "prometheus.yml", prometheus_config(scrape_target))
    written["summary"] = _write(
        out / "summary.json", json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n"
    )
    return written
