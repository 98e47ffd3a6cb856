"""``python -m deploy.render``: the committed rendered artifacts, wrapped as Kubernetes objects.

The alert rules (``alerts/rules/*.rules.yml``), the Alertmanager example
(``alerts/alertmanager.yml``), the dashboards (``dashboards/json/*.json``) and Grafana's
provisioning (``dashboards/provisioning/``) have generators of their own and are committed. This
module reads those files and writes, into ``deploy/kubernetes/monitoring/``, the objects a
cluster takes them in: a PrometheusRule and a rules ConfigMap, the Alertmanager config Secret,
and the Grafana ConfigMaps. Contents are carried unchanged, except the datasource's URL (the
in-cluster Prometheus). Run it after `smote-monitor alerts render` or `dashboards render`;
``--check`` (CI, tests/deploy) fails when the committed files differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = Path("deploy/kubernetes/monitoring")
COMMAND = "python -m deploy.render"
STAMP = f"generated — do not edit; rendered by `{COMMAND}`"

RULES_DIR = Path("alerts/rules")
RULES_GLOB = "*.rules.yml"
ALERTMANAGER = Path("alerts/alertmanager.yml")
DASHBOARDS_DIR = Path("dashboards/json")
DATASOURCE = Path("dashboards/provisioning/datasources/prometheus.yml")
DASHBOARD_PROVIDER = Path("dashboards/provisioning/dashboards/smote-monitor.yml")

# The Prometheus Operator creates the Service prometheus-operated beside every Prometheus it
# runs; kube-prometheus-stack runs it in the namespace monitoring.
PROMETHEUS_URL = "http://prometheus-operated.monitoring.svc:9090"
# What the in-cluster datasource changes: a cluster's Grafana usually has a default datasource
# named Prometheus already, and Grafana refuses to provision a second default or a second one
# of that name. Unset, the dashboards' datasource picker starts on the default Prometheus.
DATASOURCE_OVERRIDES = {"name": "smote-monitor", "url": PROMETHEUS_URL, "isDefault": False}
LABELS = {"app.kubernetes.io/name": "smote-monitor", "app.kubernetes.io/part-of": "fraud-model"}
# kube-prometheus-stack's Prometheus selects rules (and ServiceMonitors) by this label.
OPERATOR_LABELS = {**LABELS, "release": "kube-prometheus-stack"}
# The labels Grafana's k8s-sidecar (kube-prometheus-stack, the Grafana chart) watches for.
GRAFANA_DASHBOARD_LABEL = {"grafana_dashboard": "1"}
GRAFANA_DATASOURCE_LABEL = {"grafana_datasource": "1"}

PROMETHEUS_RULE = "prometheusrule.yaml"
RULES_CONFIGMAP = "prometheus-rules-configmap.yaml"
ALERTMANAGER_SECRET = "alertmanager-secret.yaml"
DASHBOARDS_CONFIGMAP = "grafana-dashboards-configmap.yaml"
PROVISIONING_CONFIGMAPS = "grafana-provisioning-configmaps.yaml"


class _Dumper(yaml.SafeDumper):
    """Multi-line text as literal blocks, so embedded files read as themselves."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _documents(objects: list[dict[str, Any]], comments: list[str]) -> str:
    header = "\n".join(f"# {line}".rstrip() for line in [STAMP, *comments])
    body = "---\n".join(
        yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)
        for obj in objects
    )
    return f"{header}\n{body}"


def _metadata(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "labels": dict(labels)}


def _text(root: Path, path: Path) -> str:
    return (root / path).read_text(encoding="utf-8")


def _rule_files(root: Path) -> dict[str, str]:
    files = {
        p.name: p.read_text(encoding="utf-8") for p in sorted((root / RULES_DIR).glob(RULES_GLOB))
    }
    if not files:
        raise FileNotFoundError(
            f"no {RULES_GLOB} in {root / RULES_DIR}: run `smote-monitor alerts render`"
        )
    return files


def prometheus_rule(root: Path) -> str:
    groups = [
        group for text in _rule_files(root).values() for group in yaml.safe_load(text)["groups"]
    ]
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _metadata("smote-monitor", OPERATOR_LABELS),
        "spec": {"groups": groups},
    }
    return _documents(
        [rule],
        [
            f"from {RULES_DIR}/{RULES_GLOB} (every group of every file, in file-name order).",
            "For Prometheus Operator users. The label release: kube-prometheus-stack is what that",
            "chart's Prometheus selects rules by; use your Prometheus' ruleSelector instead.",
        ],
    )


def rules_configmap(root: Path) -> str:
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata("smote-monitor-prometheus-rules", LABELS),
        "data": _rule_files(root),
    }
    return _documents(
        [configmap],
        [
            f"from {RULES_DIR}/{RULES_GLOB}, each file unchanged under its own name.",
            "For a Prometheus without the operator: mount it at /etc/prometheus/rules (the",
            "rule_files of deploy/prometheus/prometheus.yml).",
        ],
    )


def alertmanager_secret(root: Path) -> str:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata("alertmanager-smote-monitor", LABELS),
        "type": "Opaque",
        "stringData": {"alertmanager.yaml": _text(root, ALERTMANAGER)},
    }
    return _documents(
        [secret],
        [
            f"from {ALERTMANAGER}, unchanged: routes page / ticket / info, inhibitions during",
            "retrains. Its webhooks are the example's (*.example.internal): a Secret, because",
            "real receivers carry credentials; make yours from a copy kept out of the repository.",
            "Prometheus Operator: set your Alertmanager's spec.configSecret to this Secret's name.",
            "Plain Alertmanager: mount it and pass --config.file=<dir>/alertmanager.yaml.",
        ],
    )


def dashboards_configmap(root: Path) -> str:
    boards = {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted((root / DASHBOARDS_DIR).glob("*.json"))
    }
    if not boards:
        raise FileNotFoundError(
            f"no dashboards in {root / DASHBOARDS_DIR}: run `smote-monitor dashboards render`"
        )
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(
            "smote-monitor-grafana-dashboards", {**LABELS, **GRAFANA_DASHBOARD_LABEL}
        ),
        "data": boards,
    }
    return _documents(
        [configmap],
        [
            f"from {DASHBOARDS_DIR}/*.json, unchanged: smote-executive, smote-oncall, smote-debug.",
            'Grafana\'s k8s-sidecar loads it by the label grafana_dashboard: "1"; a plain Grafana',
            "mounts it where the dashboard provider (grafana-provisioning-configmaps.yaml) looks.",
        ],
    )


def provisioning_configmaps(root: Path) -> str:
    datasources = yaml.safe_load(_text(root, DATASOURCE))
    prometheus = [d for d in datasources["datasources"] if d.get("type") == "prometheus"]
    if len(prometheus) != 1:
        raise ValueError(f"{DATASOURCE}: expected one prometheus datasource, got {len(prometheus)}")
    prometheus[0].update(DATASOURCE_OVERRIDES)
    datasource = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(
            "smote-monitor-grafana-datasource", {**LABELS, **GRAFANA_DATASOURCE_LABEL}
        ),
        "data": {
            DATASOURCE.name: yaml.dump(
                datasources, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True
            )
        },
    }
    provider = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata("smote-monitor-grafana-dashboard-provider", LABELS),
        "data": {DASHBOARD_PROVIDER.name: _text(root, DASHBOARD_PROVIDER)},
    }
    return _documents(
        [datasource, provider],
        [
            f"from {DATASOURCE}, with name smote-monitor, not the default",
            f"(a cluster's Grafana has its own), and url {PROMETHEUS_URL}:",
            "kube-prometheus-stack's in-cluster Prometheus (for yours, change PROMETHEUS_URL in",
            f"deploy/render.py and re-render); and {DASHBOARD_PROVIDER},",
            "unchanged. Plain Grafana: mount the datasource at",
            "/etc/grafana/provisioning/datasources, the provider at .../provisioning/dashboards.",
        ],
    )


def render(root: Path = ROOT) -> dict[str, str]:
    """File name (in ``deploy/kubernetes/monitoring``) → its text, from the files under ``root``."""
    return {
        PROMETHEUS_RULE: prometheus_rule(root),
        RULES_CONFIGMAP: rules_configmap(root),
        ALERTMANAGER_SECRET: alertmanager_secret(root),
        DASHBOARDS_CONFIGMAP: dashboards_configmap(root),
        PROVISIONING_CONFIGMAPS: provisioning_configmaps(root),
    }


def stale(root: Path = ROOT) -> list[Path]:
    """The generated files under ``root`` that differ from what :func:`render` produces."""
    out = root / OUT
    return [
        out / name
        for name, text in render(root).items()
        if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when a committed file differs"
    )
    args = parser.parse_args(argv)
    if args.check:
        differ = stale()
        if differ:
            names = ", ".join(str(p.relative_to(ROOT)) for p in differ)
            print(
                f"{len(differ)} deploy file(s) differ from the generator: {names}; run `{COMMAND}`",
                file=sys.stderr,
            )
            return 1
        print("deploy files are up to date")
        return 0
    out = ROOT / OUT
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (out / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
