"""Defect 10: the help and the README describe the commands and flags that exist, as they are."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from smote_monitor.cli.app import app

from .cli_helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    # typer ships its own copy of click: a group is what has sub-commands
    found = []
    for name, command in getattr(group, "commands", {}).items():
        path = (*prefix, name)
        found.append(path)
        found += _commands(command, path)
    return found


COMMANDS = _commands(typer.main.get_group(app))


def test_no_help_shows_a_bool_metavar_and_flags_take_no_value(tmp_path: Path) -> None:
    assert ("runs", "show") in COMMANDS and ("report",) in COMMANDS
    for command in [(), *COMMANDS]:
        shown = run_cli(*command, "--help", cwd=tmp_path)
        assert shown.returncode == 0, (command, shown.stderr)
        assert "<bool>" not in shown.stdout, (command, shown.stdout)


def test_every_command_the_help_and_readme_name_exists(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    helps = " ".join(run_cli(*c, "--help", cwd=tmp_path).stdout for c in [(), *COMMANDS])
    helps = " ".join(helps.replace("│", " ").split())
    existing = {" ".join(c) for c in COMMANDS}
    mentions = [
        (text, match)
        for text, pattern in (
            (readme, r"`smote-monitor ([a-z]+(?: [a-z]+)?)"),
            (readme, r"`((?:runs|db|spool|dashboards|alerts) [a-z]+)"),
            (helps, r"`(?:smote-monitor )?([a-z]+(?: [a-z]+)?)`"),
        )
        for match in re.finditer(pattern, text)
    ]
    assert len(mentions) > 10
    for text, match in mentions:
        name = match.group(1)
        # "runs list ID", "record FILE": the longest prefix that is a command
        if name in existing or name.split()[0] in existing:
            continue
        # a command still to be built may be named only as such ("the daemon, next")
        around = text[max(0, match.start() - 120) : match.end() + 120]
        assert "next" in around, (name, around, sorted(existing))


def test_report_takes_p_as_evaluate_does(tmp_path: Path) -> None:
    for command in ("evaluate", "report"):
        shown = run_cli(command, "--help", cwd=tmp_path)
        assert re.search(r"--production\s+-p\b", shown.stdout), shown.stdout


def test_readme_claims_no_metrics_endpoint_before_serve_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    existing = {" ".join(c) for c in COMMANDS}
    if "serve" not in existing:
        assert "exports Prometheus metrics" not in readme
        assert "export it all to Prometheus" not in (ROOT / "smote_monitor/cli/app.py").read_text()


def test_the_readme_tracking_snippet_passes_its_own_gate() -> None:
    from smote_monitor.config import SLOConfig

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    snippet = readme.split("## Recording runs from a training pipeline")[1].split("```")[1]
    train = float(re.search(r'train=\{"f1": ([0-9.]+)\}', snippet).group(1))  # type: ignore[union-attr]
    validation = dict(
        (k, float(v))
        for k, v in re.findall(
            r'"(f1|recall|precision)": ([0-9.]+)', snippet.split("validation=")[1]
        )
    )
    slo = SLOConfig()
    assert train - validation["f1"] < slo.validation_gap_max
    assert validation["recall"] >= slo.minority_recall
    assert validation["precision"] >= slo.minority_precision
