"""The ``smote-monitor`` command, run for real in a subprocess."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from smote_monitor.config import load_settings

from .cli_helpers import run_cli
from .test_records import VALID


def test_version_and_help_of_every_command(tmp_path: Path) -> None:
    version = run_cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("smote-monitor ")
    for command in (
        ["init"],
        ["record"],
        ["runs", "list"],
        ["runs", "show"],
        ["db", "upgrade"],
        ["db", "status"],
        ["spool", "replay"],
        ["spool", "list"],
        ["demo"],
        ["evaluate"],
        ["report"],
    ):
        shown = run_cli(*command, "--help", cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert "Usage:" in shown.stdout and len(shown.stdout.splitlines()) > 5


def test_init_writes_a_valid_commented_config_and_creates_the_store(tmp_path: Path) -> None:
    done = run_cli("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = tmp_path / "smote-monitor.yaml"
    assert "# smote-monitor configuration" in config.read_text()
    settings = load_settings(config)
    assert settings.datasets["fraud"].slo.minority_recall == 0.80
    tables = (
        sqlite3.connect(tmp_path / "smote-monitor.db")
        .execute("SELECT name FROM sqlite_master WHERE type='table'")
        .fetchall()
    )
    assert {"runs", "datasets", "run_metrics", "alembic_version"} <= {t[0] for t in tables}
    again = run_cli("init", cwd=tmp_path)
    assert again.returncode == 2 and "exists; pass --force" in again.stderr


def test_init_writes_no_config_when_the_store_cannot_be_created(tmp_path: Path) -> None:
    down = ["--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/x"]
    done = run_cli(*down, "init", cwd=tmp_path)
    assert done.returncode == 3
    assert "the store is unreachable" in done.stderr
    assert "smote-monitor.yaml was not written" in done.stderr
    assert list(tmp_path.iterdir()) == []
    # --force over an existing config keeps it when the store fails
    (tmp_path / "smote-monitor.yaml").write_text("database_url: sqlite:///mine.db\n")
    again = run_cli(*down, "init", "--force", cwd=tmp_path)
    assert again.returncode == 3
    assert (tmp_path / "smote-monitor.yaml").read_text() == "database_url: sqlite:///mine.db\n"
    assert [p.name for p in tmp_path.iterdir()] == ["smote-monitor.yaml"]


def test_record_from_file_and_stdin_then_list_and_show(store_url: str, tmp_path: Path) -> None:
    source = tmp_path / "run.json"
    source.write_text(json.dumps(VALID))
    url = ["--database-url", store_url]
    first = run_cli(*url, "record", str(source), "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["action"] == "created"
    again = run_cli(*url, "record", "-", "--json", cwd=tmp_path, stdin=json.dumps(VALID))
    assert json.loads(again.stdout)["action"] == "duplicate"

    listed = run_cli(*url, "runs", "list", "--json", cwd=tmp_path)
    runs = json.loads(listed.stdout)
    assert [(r["dataset"], r["run_key"], r["status"]) for r in runs] == [
        ("fraud", "2026-11-28", "succeeded")
    ]
    table = run_cli(*url, "runs", "list", cwd=tmp_path)
    assert "2026-11-28" in table.stdout and "passed" in table.stdout

    shown = run_cli(*url, "runs", "show", str(runs[0]["computed"]["id"]), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "validation minority recall 0.85 meets >= 0.8" in shown.stdout
    detail = json.loads(
        run_cli(*url, "runs", "show", str(runs[0]["computed"]["id"]), "--json", cwd=tmp_path).stdout
    )
    assert detail["class_counts_after"] == {"0": 900, "1": 900}
    assert detail["computed"]["gate"]["passed"] is True


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            '{"dataset": "fraud", "variant": "SMOTE", "synthetic_ratio": 2}',
            "synthetic_ratio: got 2; expected less than or equal to 1",
        ),
        ('{"dataset": "fr aud", "variant": "SMOTE"}', "dataset: got 'fr aud'"),
        (
            '[{"dataset": "a", "variant": "SMOTE"}, {"dataset": "b", "variant": "SMOTE", '
            '"n_synthetic": -2}]',
            "record 1: n_synthetic: got -2",
        ),
        ("{not json", "not valid JSON"),
    ],
)
def test_record_rejects_bad_input_and_writes_nothing(
    sqlite_url: str, tmp_path: Path, payload: str, message: str
) -> None:
    done = run_cli("--database-url", sqlite_url, "record", "-", cwd=tmp_path, stdin=payload)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    listed = run_cli("--database-url", sqlite_url, "runs", "list", "--json", cwd=tmp_path)
    # a refused record never touches the store, which a read does not create either
    assert listed.returncode == 2 and "no store at" in listed.stderr


@pytest.mark.parametrize(
    ("config", "stdin", "shown"),
    [
        (
            None,
            '{"dataset": "fraud", "variant": "[bold]SMOTE[/bold]"}',
            "variant: got '[bold]SMOTE[/bold]'; expected one of",
        ),
        (
            "datasets:\n  fraud: {slo: {synthetic_ratio: [0.6, 0.2]}}\n",
            None,
            "synthetic_ratio: expected [low, high] with low <= high; got [0.6, 0.2]",
        ),
        ("a: [unclosed\nb: [x]\n", None, "b: [x]\n"),
        ("a: [unclosed\nb: [x]\n", None, "expected ',' or ']', but got ':'"),
        (None, '{"dataset": "fraud", "variant": ":thumbs_up:"}', "got ':thumbs_up:'"),
    ],
)
def test_error_messages_are_printed_verbatim(
    sqlite_url: str, tmp_path: Path, config: str | None, stdin: str | None, shown: str
) -> None:
    # Rich markup in a message (a user's value, a YAML excerpt) must not be interpreted.
    args = ["--database-url", sqlite_url]
    if config is not None:
        (tmp_path / "c.yaml").write_text(config)
        args += ["--config", str(tmp_path / "c.yaml")]
    command = ["record", "-"] if stdin is not None else ["runs", "list"]
    done = run_cli(*args, *command, cwd=tmp_path, stdin=stdin)
    assert done.returncode == 2
    assert shown in done.stderr


def test_run_keys_are_shown_verbatim(sqlite_url: str, tmp_path: Path) -> None:
    key = "[red]nightly[/red] :fire:"
    url = ["--database-url", sqlite_url]
    recorded = run_cli(
        *url, "record", "-", cwd=tmp_path, stdin=json.dumps({**VALID, "run_key": key})
    )
    assert recorded.returncode == 0, recorded.stderr
    assert f"fraud/{key}: created" in recorded.stdout
    assert key in run_cli(*url, "runs", "list", cwd=tmp_path).stdout
    assert f"fraud/{key}" in run_cli(*url, "runs", "show", "1", cwd=tmp_path).stdout


def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("listen: nowhere\n")
    done = run_cli("--config", str(config), "runs", "list", cwd=tmp_path)
    assert done.returncode == 2
    assert "listen: expected host:port with a port in 1-65535; got 'nowhere'" in done.stderr


def test_unknown_run_id_is_a_clear_error(sqlite_url: str, tmp_path: Path) -> None:
    # an existing, empty store: a missing one is "no store at" (test_cli_errors)
    assert run_cli("--database-url", sqlite_url, "db", "upgrade", cwd=tmp_path).returncode == 0
    done = run_cli("--database-url", sqlite_url, "runs", "show", "999", cwd=tmp_path)
    assert done.returncode == 2
    assert "run_id: got 999; no run has that id" in done.stderr


def test_store_down_exits_3_with_the_reason(tmp_path: Path) -> None:
    done = run_cli(
        "--database-url",
        "postgresql+psycopg://postgres@127.0.0.1:1/x",
        "runs",
        "list",
        cwd=tmp_path,
    )
    assert done.returncode == 3
    assert "the store is unreachable" in done.stderr


def test_db_upgrade_and_status(store_url: str, tmp_path: Path) -> None:
    url = ["--database-url", store_url]
    if store_url.startswith("sqlite"):
        # `db status` only reads: a SQLite file that does not exist is not created
        missing = run_cli(*url, "db", "status", "--json", cwd=tmp_path)
        assert missing.returncode == 2 and "no store at" in missing.stderr
    else:
        before = json.loads(run_cli(*url, "db", "status", "--json", cwd=tmp_path).stdout)
        assert before["revision"] is None and before["up_to_date"] is False
    upgraded = run_cli(*url, "db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0 and "upgraded: empty →" in upgraded.stdout
    after = json.loads(run_cli(*url, "db", "status", "--json", cwd=tmp_path).stdout)
    assert after["up_to_date"] is True
    again = run_cli(*url, "db", "upgrade", cwd=tmp_path)
    assert "up to date" in again.stdout
