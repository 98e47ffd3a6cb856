"""The writer: rule groups and runbooks to text, every file stamped "generated — do not edit"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from alerts.burnrate import MAX_THRESHOLD, SLO_PERIOD, error_budget
from alerts.model import AlertModel, DatasetAlerts
from alerts.rule_groups import Group, alert_names, dataset_file, rule_files
from alerts.runbooks import RUNBOOKS, runbook_markdown

COMMAND = "smote-monitor alerts render"
STAMP = f"generated — do not edit; rendered by `{COMMAND}`"
RULES_SUFFIX = ".rules.yml"


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line PromQL, keys in the generator's order."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)


def _dataset_header(dataset: DatasetAlerts) -> list[str]:
    budget = error_budget(dataset.minority_recall)
    lines = [
        f"Dataset {dataset.name}: minority recall objective {dataset.minority_recall:g} "
        f"(error budget {budget:g} of minority events over {SLO_PERIOD}), "
        f"burn_rate_policy {dataset.burn_rate_policy}.",
        "Burn-rate tiers (threshold = factor x budget; budget share = factor x long window / "
        f"{SLO_PERIOD}; factors whose threshold would pass {MAX_THRESHOLD:g} are capped):",
    ]
    lines += [f"  - {tier.describe()}" for tier in dataset.burn_rates]
    lines.append(
        f"Slice alerts need >= {dataset.min_slice_support} minority events in their window."
    )
    return lines


def rules_text(groups: list[Group], header: list[str]) -> str:
    comment = "\n".join(
        f"# {line}".rstrip() for line in [STAMP, "from the config's SLOs.", *header]
    )
    return f"{comment}\n{_yaml({'groups': groups})}"


def render_rules(model: AlertModel) -> dict[str, str]:
    """File name → text of every rule file of the model."""
    headers = {dataset_file(d.name): _dataset_header(d) for d in model.datasets}
    scaled = (
        [
            f"TIME-SCALED x{model.time_scale:g} for tests: ranges, for: and age thresholds are "
            "shortened (names and window labels keep the nominal windows). Not for production."
        ]
        if model.time_scale != 1.0
        else []
    )
    return {
        name: rules_text(groups, [*scaled, *headers.get(name, ["The monitor's own health."])])
        for name, groups in rule_files(model).items()
    }


def render_runbooks(model: AlertModel) -> dict[str, str]:
    """File name → text of the runbook of every alert the model's rules define."""
    names = alert_names(rule_files(model))
    missing = sorted(set(names) - set(RUNBOOKS))
    if missing:
        raise ValueError(f"alerts without a runbook: {missing}")
    return {f"{name}.md": f"<!-- {STAMP}. -->\n{runbook_markdown(name)}" for name in names}


def write(files: dict[str, str], directory: Path, *, suffix: str) -> list[Path]:
    """Write ``files`` into ``directory``; earlier generated files (stamped, ``suffix``) that are
    no longer produced — a dataset removed from the config — are deleted. Returns the written
    paths."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob(f"*{suffix}"):
        if old.name not in files and STAMP in old.read_text(encoding="utf-8"):
            old.unlink()
    written = []
    for name, text in files.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
