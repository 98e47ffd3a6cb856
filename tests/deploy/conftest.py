"""The deploy files, parsed once: every Kubernetes object of deploy/kubernetes by file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
INSTALL_HINT = "apt-get install prometheus prometheus-alertmanager (CI installs it: see .ci/run)"


def manifest_files() -> list[Path]:
    """Every YAML file under deploy/kubernetes except the kustomizations (not API objects)."""
    return sorted(p for p in KUBERNETES.rglob("*.yaml") if p.name != "kustomization.yaml")


def load_objects(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def one(kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of ``kind`` (and ``name``) in deploy/kubernetes."""
    found = [
        obj
        for path in manifest_files()
        for obj in load_objects(path)
        if obj["kind"] == kind and (name is None or obj["metadata"].get("name") == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed; {INSTALL_HINT}")
    return path
