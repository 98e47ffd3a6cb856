"""``python -m alerts.reference``: the README's metric and alert reference, generated.

Two tables, built from what the code exports rather than from prose: every metric family of the
catalog (:mod:`smote_monitor.conventions`), and every alert the rule generator emits for the
example config (the same model ``alerts/rules/`` is rendered from), with its severity, the
receiver the example Alertmanager config routes it to, and its runbook. The text replaces what
lies between :data:`START` and :data:`END` in the README; ``--check`` fails when it differs
(``tests/test_readme.py`` runs it too).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Any

import yaml

from alerts.model import build_model
from alerts.routing import route
from alerts.rule_groups import MONITOR_FILE, rule_files
from alerts.runbooks import RUNBOOKS
from smote_monitor import conventions as c
from smote_monitor.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "smote_monitor" / "example-config.yaml"
ALERTMANAGER = ROOT / "alerts" / "alertmanager.yml"
COMMAND = "python -m alerts.reference --write README.md"
START = "<!-- reference:start -->"
END = "<!-- reference:end -->"

EXIT_STALE = 1
EXIT_BAD_FILE = 2


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + dot.strip() if dot else text


def metric_table() -> list[str]:
    lines = ["| metric | type | labels | help |", "|---|---|---|---|"]
    for spec in c.CATALOG:
        labels = ", ".join(f"`{label}`" for label in spec.labels) or "—"
        lines.append(
            f"| `{spec.sample_name}` | {spec.type.value} | {labels} | {_cell(spec.help)} |"
        )
    return lines


def _alert_rules() -> list[dict[str, Any]]:
    """The example config's alerting rules, the dataset's first and the monitor's own last."""
    files = rule_files(build_model(load_settings(EXAMPLE_CONFIG)))
    ordered = sorted(files.items(), key=lambda item: item[0] == MONITOR_FILE)
    return [
        rule
        for _, groups in ordered
        for group in groups
        for rule in group["rules"]
        if "alert" in rule
    ]


def alert_table() -> list[str]:
    """One row per alert name; an alert several rules define (burn-rate tiers, the monitor's
    two ways of being down) lists each rule's severity once, in rule order."""
    routes = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
    by_name: dict[str, list[dict[str, Any]]] = {}
    for rule in _alert_rules():
        by_name.setdefault(rule["alert"], []).append(rule)
    lines = [
        "| alert | severity → receiver | what it means | runbook |",
        "|---|---|---|---|",
    ]
    for name, rules in by_name.items():
        routed: dict[str, str] = {}
        for rule in rules:
            labels = {"alertname": name, c.LABEL_DATASET: "fraud", **rule["labels"]}
            severity = rule["labels"][c.ALERT_LABEL_SEVERITY]
            routed.setdefault(severity, ", ".join(route(routes, labels)))
        severities = "; ".join(f"`{s}` → {receiver}" for s, receiver in routed.items())
        runbook = rules[0]["annotations"]["runbook_url"]
        meaning = _first_sentence(RUNBOOKS[name].meaning)
        lines.append(f"| `{name}` | {severities} | {_cell(meaning)} | [{runbook}]({runbook}) |")
    return lines


def reference_markdown() -> str:
    """The generated section, markers excluded."""
    lines = [
        f"<!-- generated — do not edit; rendered by `{COMMAND}` -->",
        "",
        "### Metrics",
        "",
        "Every family `/metrics` exports, from the catalog (`smote_monitor/conventions.py`). "
        "Counters are listed by their sample name (`_total`).",
        "",
        *metric_table(),
        "",
        "### Alerts",
        "",
        "Every alert the rule generator writes (`alerts/rules/`, rendered from "
        "`smote_monitor/example-config.yaml`), with the receiver the example Alertmanager "
        "config (`alerts/alertmanager.yml`) routes each severity to. Thresholds come from each "
        "dataset's `slo:`; the runbook says what to check first.",
        "",
        *alert_table(),
    ]
    return "\n".join(lines)


def replace_section(text: str, section: str) -> str:
    """``text`` with what lies between the markers replaced by ``section``."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"expected one {START} followed by one {END}")
    before, rest = text.split(START)
    _, after = rest.split(END)
    return f"{before}{START}\n{section}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alerts.reference", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, metavar="FILE", help="Rewrite the section in FILE.")
    mode.add_argument(
        "--check", type=Path, metavar="FILE", help="Write nothing; exit 1 when FILE's is stale."
    )
    args = parser.parse_args(argv)
    path: Path = args.write or args.check
    try:
        current = path.read_text(encoding="utf-8")
        wanted = replace_section(current, reference_markdown())
    except (OSError, ValueError) as error:
        print(f"{path}: {error}", file=sys.stderr)
        return EXIT_BAD_FILE
    if args.write:
        if wanted != current:
            path.write_text(wanted, encoding="utf-8")
        print(f"wrote the reference section of {path}")
        return 0
    if wanted == current:
        print(f"the reference section of {path} is up to date")
        return 0
    diff = difflib.unified_diff(
        current.splitlines(), wanted.splitlines(), str(path), "generated", lineterm="", n=1
    )
    print("\n".join(diff), file=sys.stderr)
    print(f"{path}: the reference section is stale; run `{COMMAND}`", file=sys.stderr)
    return EXIT_STALE


if __name__ == "__main__":
    sys.exit(main())
