"""The README says what the code does: its reference section is the generated one, every command
marked runnable runs as written, and every command, metric and alert it names exists.

Runnable blocks are fenced ```bash blocks on the line right after a marker comment:

- ``<!-- runnable -->``: run in a fresh, empty scratch directory (the test's ``tmp_path``), so
  the block must create what it uses (a store file, a JSON record) — as a reader would in an
  empty folder;
- ``<!-- runnable: repository root -->``: run from the repository root, for commands that take
  repository paths (``python -m deploy.render --check``); such blocks only check, and the test
  fails if one leaves the working tree changed.

Each block runs as one ``bash -e -o pipefail`` script, with the directory of this interpreter
first on ``PATH`` (so ``smote-monitor`` and ``python`` are this environment's) and the repository
first on ``PYTHONPATH``. ``SMOTE_MONITOR_*`` variables of the caller are removed, so a developer's
own config or store does not leak in. Blocks that create virtual environments, start the daemon
or run the demo (the Quick start, ``serve``) are not marked.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from alerts.reference import COMMAND, END, START, reference_markdown, replace_section
from smote_monitor import conventions
from smote_monitor.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = re.compile(r"^<!-- runnable(?:: (?P<where>[a-z ]+))? -->$")
WHERE_SCRATCH = None
WHERE_ROOT = "repository root"
BLOCK_TIMEOUT = 120  # seconds; every marked block takes a few


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def bash_blocks(text: str) -> list[tuple[int, str | None, bool, str]]:
    """Every fenced bash block: (line number, where it runs, whether it is marked, script)."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```bash":
            end = lines.index("```", i + 1)
            marker = MARKER.match(lines[i - 1]) if i > 0 else None
            where = marker.group("where") if marker else None
            blocks.append((i + 1, where, marker is not None, "\n".join(lines[i + 1 : end])))
            i = end
        elif MARKER.match(lines[i]) and not (i + 1 < len(lines) and lines[i + 1] == "```bash"):
            raise AssertionError(f"README.md:{i + 1}: a runnable marker not followed by ```bash")
        i += 1
    return blocks


RUNNABLE = [
    (line, where, script) for line, where, marked, script in bash_blocks(_readme()) if marked
]


# --- the generated reference -----------------------------------------------------------------


def test_the_readme_reference_section_is_the_generated_one() -> None:
    text = _readme()
    assert text.count(START) == 1 and text.count(END) == 1
    assert replace_section(text, reference_markdown()) == text, (
        f"README.md's metric and alert reference is stale: run `{COMMAND}` and commit"
    )


def test_the_reference_lists_every_metric_and_every_alert() -> None:
    section = _readme().split(START)[1].split(END)[0]
    for spec in conventions.CATALOG:
        assert f"| `{spec.sample_name}` |" in section, spec.name
    for alert in _alert_names():
        assert f"| `{alert}` |" in section, alert


def test_replace_section_refuses_a_file_without_its_markers() -> None:
    with pytest.raises(ValueError, match="expected one"):
        replace_section("# no markers\n", "x")
    assert replace_section(f"a\n{START}\nold\n{END}\nb\n", "new") == f"a\n{START}\nnew\n{END}\nb\n"


def test_check_fails_with_a_hint_on_a_stale_copy_and_write_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from alerts.reference import EXIT_STALE, main

    copy = tmp_path / "README.md"
    copy.write_text(f"# title\n\n{START}\nold text\n{END}\n\n## after\n", encoding="utf-8")
    assert main(["--check", str(copy)]) == EXIT_STALE
    assert COMMAND in capsys.readouterr().err
    assert main(["--write", str(copy)]) == 0
    assert main(["--check", str(copy)]) == 0
    text = copy.read_text(encoding="utf-8")
    assert text.startswith("# title\n") and text.endswith(f"{END}\n\n## after\n")
    assert main(["--check", str(tmp_path / "missing.md")]) == 2


# --- every command in the README runs as written ------------------------------------------------


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOTE_MONITOR_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _tree_state() -> str | None:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout if done.returncode == 0 else None


def test_the_readme_marks_its_quick_commands_runnable() -> None:
    scripts = [script for _, _, script in RUNNABLE]
    assert len(scripts) >= 5
    assert {where for _, where, _ in RUNNABLE} <= {WHERE_SCRATCH, WHERE_ROOT}
    for script in scripts:
        # slow or long-lived: not for this test (the Quick start, the daemon, the demo)
        assert not re.search(r"\bvenv\b|smote-monitor\b.*\b(?:serve|demo)\b", script), script


@pytest.mark.parametrize(
    ("line", "where", "script"), RUNNABLE, ids=[f"README.md:{line}" for line, _, _ in RUNNABLE]
)
def test_every_runnable_readme_block_runs_as_written(
    line: int, where: str | None, script: str, tmp_path: Path
) -> None:
    cwd = ROOT if where == WHERE_ROOT else tmp_path
    before = _tree_state() if where == WHERE_ROOT else None
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, (
        f"README.md:{line} exited {done.returncode} in {cwd}\n--- script\n{script}\n"
        f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )
    if before is not None:
        assert _tree_state() == before, f"README.md:{line} changed the working tree"


# --- every command, metric and alert the README names exists ----------------------------------


def _group() -> Any:
    return typer.main.get_group(app)


def _options_with_values(command: Any) -> set[str]:
    return {
        opt
        for param in command.params
        if getattr(param, "opts", None) and not getattr(param, "is_flag", False)
        for opt in param.opts
        if opt.startswith("-")
    }


_STOP = {"&&", "||", "|", ";", ">", ">>", "<", "2>", "&"}


def unknown_subcommands(script: str) -> list[str]:
    """``smote-monitor …`` invocations in ``script`` whose command path is not a real one."""
    root = _group()
    global_options = _options_with_values(root)
    problems = []
    for line in script.splitlines():
        for match in re.finditer(r"(?:^|[\s/])smote-monitor(?=\s|$)(.*)", line):
            rest = match.group(1).split(" #")[0]
            try:
                tokens = shlex.split(rest)
            except ValueError:
                tokens = rest.split()
            words: list[str] = []
            i = 0
            while i < len(tokens) and tokens[i] not in _STOP:
                token = tokens[i]
                if token.startswith("-"):
                    skip = token in global_options and "=" not in token and not words
                    i += 2 if skip else 1
                    continue
                words.append(token)
                i += 1
            group, path = root, []
            for word in words:
                commands = getattr(group, "commands", None)
                if not commands or word not in commands:
                    break
                group = commands[word]
                path.append(word)
            if words and not path:
                problems.append(f"{line.strip()!r}: {words[0]!r} is no smote-monitor command")
            elif getattr(group, "commands", None) and (len(path) == len(words)):
                # a group needs a sub-command ("db" alone only prints help)
                if not any(t in ("--help", "-h") for t in tokens):
                    problems.append(f"{line.strip()!r}: {' '.join(path)} needs a sub-command")
            elif getattr(group, "commands", None) and len(words) > len(path):
                problems.append(
                    f"{line.strip()!r}: {words[len(path)]!r} is no sub-command of {' '.join(path)}"
                )
    return problems


def test_the_subcommand_check_catches_a_renamed_command() -> None:
    assert unknown_subcommands("smote-monitor -c x.yaml runs list --json") == []
    assert unknown_subcommands(".venv/bin/smote-monitor demo && true") == []
    assert unknown_subcommands("smote-monitor --help") == []
    assert unknown_subcommands("smote-monitor reocrd run.json")
    assert unknown_subcommands("smote-monitor --database-url sqlite:///x.db db upgrad")
    assert unknown_subcommands("smote-monitor db")


def test_every_smote_monitor_command_in_a_readme_bash_block_exists() -> None:
    blocks = bash_blocks(_readme())
    scripts = [script for _, _, _, script in blocks]
    assert sum("smote-monitor" in script for script in scripts) >= 5
    problems = [
        f"README.md:{line}: {problem}"
        for line, _, _, script in blocks
        for problem in unknown_subcommands(script)
    ]
    assert problems == []


def _alert_names() -> set[str]:
    return {
        value
        for name, value in vars(conventions).items()
        if name.startswith("ALERT_") and not name.startswith("ALERT_LABEL_")
    }


def test_every_metric_alert_and_dashboard_the_readme_names_exists() -> None:
    text = _readme()
    metrics = {spec.sample_name for spec in conventions.CATALOG} | {
        spec.name for spec in conventions.CATALOG
    }
    named = set(
        re.findall(
            r"(?<![\w.:/])(smote_(?:run|runs|feature|dataset|synthetic|slice|production|drift"
            r"|monitor)_[a-z0-9_]*[a-z0-9])",
            text,
        )
    )
    # smote_monitor.… is the package; dataset_slice:… are recording rules
    unknown = {n for n in named if n not in metrics and not n.startswith("smote_monitor_test")}
    assert unknown == set(), sorted(unknown)
    alerts = set(re.findall(r"\bSmote[A-Z][A-Za-z]+\b", text))
    assert alerts and alerts <= _alert_names(), sorted(alerts - _alert_names())
    dashboards = set(re.findall(r"`(smote-(?:executive|oncall|debug|[a-z]+))`", text)) - {
        "smote-monitor"
    }
    assert dashboards <= set(conventions.DASHBOARD_UIDS), sorted(dashboards)


def test_every_gate_check_the_readme_names_exists() -> None:
    gate = (ROOT / "smote_monitor" / "tracking" / "gate.py").read_text(encoding="utf-8")
    checks = set(re.findall(r'_(?:at_most|at_least|within)\(\s*"(\w+)"', gate))
    checks |= set(re.findall(r'check="(\w+)"', gate))
    named = set(re.findall(r"gate check `(\w+)`", _readme()))
    assert named and named <= checks, (sorted(named - checks), sorted(checks))
