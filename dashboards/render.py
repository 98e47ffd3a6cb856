"""The writer: every dashboard as Grafana JSON, plus the provisioning files that load them.

Output is deterministic (sorted keys, fixed uids, no timestamps), so the committed files can be
compared byte for byte with a fresh render (``tests/dashboards``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from dashboards import debug, executive, oncall
from dashboards.panels import STAMP, models
from smote_monitor.config import SLOConfig

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "json"
DEFAULT_PROVISIONING = HERE / "provisioning"

# Where Grafana finds the JSON folder: mount dashboards/json there (see provisioning/).
GRAFANA_DASHBOARDS_PATH = "/var/lib/grafana/dashboards/smote-monitor"
DATASOURCE_NAME = "Prometheus"
DATASOURCE_UID = "smote-prometheus"
DATASOURCE_URL = "http://prometheus:9090"
GRAFANA_FOLDER = "smote-monitor"

BUILDERS: tuple[Callable[[SLOConfig | None], models.Dashboard], ...] = (
    executive.build,
    oncall.build,
    debug.build,
)


def _json_text(data: object) -> str:
    # ensure_ascii=False keeps the stamp's dash literal, so the "generated — do not edit" scan
    # (tests/monitor/test_conventions.py) recognises the file.
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dashboard_json(dashboard: models.Dashboard) -> dict[str, object]:
    """The dashboard as plain JSON data (what Grafana imports)."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    loaded: dict[str, object] = json.loads(json.dumps(dashboard, cls=JSONEncoder))
    return loaded


def dashboards(slo: SLOConfig | None = None) -> dict[str, str]:
    """File name → JSON text of every dashboard, drawn against ``slo`` (default: the SLO
    defaults)."""
    rendered = {}
    for build in BUILDERS:
        board = build(slo)
        rendered[f"{board.uid}.json"] = _json_text(dashboard_json(board))
    return rendered


def _yaml_header() -> str:
    return f"# {STAMP}\n"


def provisioning() -> dict[str, str]:
    """Relative path → text of Grafana's provisioning files: the Prometheus datasource the
    dashboards' default points at, and a file provider loading the JSON folder."""
    datasource = (
        _yaml_header()
        + "# Point url at your Prometheus; the dashboards also offer a datasource picker.\n"
        "apiVersion: 1\n"
        "datasources:\n"
        f"  - name: {DATASOURCE_NAME}\n"
        "    type: prometheus\n"
        f"    uid: {DATASOURCE_UID}\n"
        "    access: proxy\n"
        f"    url: {DATASOURCE_URL}\n"
        "    isDefault: true\n"
        "    editable: false\n"
        "    jsonData:\n"
        "      timeInterval: 15s\n"
    )
    provider = (
        _yaml_header()
        + f"# Mount dashboards/json at {GRAFANA_DASHBOARDS_PATH} (read-only is fine).\n"
        "apiVersion: 1\n"
        "providers:\n"
        "  - name: smote-monitor\n"
        "    type: file\n"
        f"    folder: {GRAFANA_FOLDER}\n"
        "    disableDeletion: true\n"
        "    allowUiUpdates: false\n"
        "    updateIntervalSeconds: 60\n"
        "    options:\n"
        f"      path: {GRAFANA_DASHBOARDS_PATH}\n"
        "      foldersFromFilesStructure: false\n"
    )
    return {
        "datasources/prometheus.yml": datasource,
        "dashboards/smote-monitor.yml": provider,
    }


def _write(directory: Path, files: dict[str, str]) -> list[Path]:
    written = []
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def outputs(
    out: Path = DEFAULT_OUT,
    provisioning_out: Path | None = DEFAULT_PROVISIONING,
    slo: SLOConfig | None = None,
) -> list[tuple[Path, dict[str, str]]]:
    """Each directory :func:`render` writes, with its files (relative path → text)."""
    written = [(out, dashboards(slo))]
    if provisioning_out is not None:
        written.append((provisioning_out, provisioning()))
    return written


def render(
    out: Path = DEFAULT_OUT,
    provisioning_out: Path | None = DEFAULT_PROVISIONING,
    slo: SLOConfig | None = None,
) -> list[Path]:
    """Write the dashboards' JSON into ``out`` and, unless ``provisioning_out`` is None, the
    provisioning files under it; return the paths written."""
    return [
        path
        for directory, files in outputs(out, provisioning_out, slo)
        for path in _write(directory, files)
    ]
