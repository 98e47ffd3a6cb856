"""Defect 6: every failure a CLI user can meet is a message and an exit code, never a traceback.

Read-only paths are real ones that refuse even root (``/sys/kernel``, ``/proc``): chmod does not
stop root, and nothing here is mocked.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .cli_helpers import run_cli
from .test_records import VALID
from .test_report import AUGMENTED, REAL, _store_run, _training

EXIT_BAD_INPUT = 2
EXIT_STORE_DOWN = 3
EXIT_PERMISSION = 4


def _flat(text: str) -> str:
    return " ".join(text.split())


def _clean(done: subprocess.CompletedProcess[str], code: int) -> str:
    stderr = done.stderr
    assert done.returncode == code, (done.returncode, done.stdout, stderr)
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) <= 3, stderr
    return _flat(stderr)


def test_record_of_a_binary_file_is_bad_input(sqlite_url: str, tmp_path: Path) -> None:
    source = tmp_path / "run.json"
    source.write_bytes(b"\x7fELF\x02\x01\x01\x00\xd0\xff\xfe")
    done = run_cli("--database-url", sqlite_url, "record", str(source), cwd=tmp_path)
    assert f"{source}: not UTF-8 text" in _clean(done, EXIT_BAD_INPUT)


@pytest.mark.parametrize(
    "command",
    [["runs", "list"], ["runs", "show", "1"], ["db", "status"], ["db", "upgrade"], ["record", "-"]],
)
def test_a_file_that_is_not_a_database_is_named(tmp_path: Path, command: list[str]) -> None:
    text = tmp_path / "README.md"
    text.write_text("# not a database\n" * 200)
    done = run_cli(
        "--database-url", f"sqlite:///{text}", *command, cwd=tmp_path, stdin=json.dumps(VALID)
    )
    assert f"{text} is not a SQLite database" in _clean(done, EXIT_BAD_INPUT)
    assert text.read_text() == "# not a database\n" * 200


@pytest.mark.parametrize("command", [["runs", "list"], ["runs", "show", "1"], ["db", "status"]])
def test_read_only_commands_never_create_a_store(tmp_path: Path, command: list[str]) -> None:
    database = tmp_path / "new" / "store.db"
    done = run_cli("--database-url", f"sqlite:///{database}", *command, cwd=tmp_path)
    message = _clean(done, EXIT_BAD_INPUT)
    assert f"no store at {database} (run `smote-monitor init` or record a run first)" in message
    assert list(tmp_path.iterdir()) == []
    # nor in an existing directory
    (tmp_path / "new").mkdir()
    again = run_cli("--database-url", f"sqlite:///{database}", *command, cwd=tmp_path)
    assert "no store at" in _clean(again, EXIT_BAD_INPUT)
    assert list((tmp_path / "new").iterdir()) == []


def test_a_store_directory_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    url = ["--database-url", "sqlite:////proc/nope/x.db"]
    read = run_cli(*url, "runs", "list", cwd=tmp_path)
    assert "no store at /proc/nope/x.db" in _clean(read, EXIT_BAD_INPUT)
    upgrade = run_cli(*url, "db", "upgrade", cwd=tmp_path)
    message = _clean(upgrade, EXIT_STORE_DOWN)
    assert "cannot create the directory /proc/nope of the store /proc/nope/x.db" in message
    assert "No such file or directory" in message
    init = run_cli(*url, "init", cwd=tmp_path)
    assert "cannot create the directory /proc/nope" in _clean(init, EXIT_STORE_DOWN)
    assert list(tmp_path.iterdir()) == []


def test_a_store_that_refuses_writes_is_a_permission_problem(tmp_path: Path) -> None:
    done = run_cli("--database-url", "sqlite:////sys/kernel/x.db", "db", "upgrade", cwd=tmp_path)
    message = _clean(done, EXIT_PERMISSION)
    assert "permission denied" in message and "/sys/kernel/x.db" in message
    assert "unreachable" not in message


def test_init_in_a_read_only_directory_is_a_permission_problem(tmp_path: Path) -> None:
    done = run_cli("init", "/sys/kernel/smote-monitor.yaml", cwd=tmp_path)
    message = _clean(done, EXIT_PERMISSION)
    assert "permission denied" in message and "/sys/kernel/smote-monitor.yaml" in message
    assert list(tmp_path.iterdir()) == []


def test_init_force_on_a_directory_is_bad_input_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    done = run_cli("init", "conf", "--force", cwd=tmp_path)
    assert "conf is a directory; expected the path of a config file" in _clean(done, EXIT_BAD_INPUT)
    assert [p.name for p in tmp_path.iterdir()] == ["conf"]
    assert list((tmp_path / "conf").iterdir()) == []


@pytest.mark.slow
def test_report_into_a_read_only_directory_is_a_permission_problem(
    sqlite_url: str, tmp_path: Path
) -> None:
    run_id = _store_run(sqlite_url, "r1", {REAL: _training(0), AUGMENTED: _training(1)})
    out = "/sys/kernel/report.html"
    done = run_cli(
        "--database-url", sqlite_url, "report", "--run", str(run_id), "-o", out, cwd=tmp_path
    )
    message = _clean(done, EXIT_PERMISSION)
    assert "permission denied" in message and out in message
