"""Schemathesis fuzzes the live server from its own /openapi.json: no answer may be a 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.helpers import ServerProcess, write_config

pytestmark = pytest.mark.slow

TOKEN = "fuzz-token"


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    config = write_config(tmp_path, sqlite_url, max_body_bytes=1024 * 1024)
    with ServerProcess(config, env={"SMOTE_MONITOR_TOKEN": TOKEN}) as process:
        process.wait_ready()
        yield process


def test_no_server_errors(server: ServerProcess, tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st is not None, "schemathesis' `st` is not installed next to this Python"
    command = [
        st,
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "20",
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "8",
        "--workers",
        "1",
        "-H",
        f"Authorization: Bearer {TOKEN}",
        "--request-timeout",
        "60",
    ]
    # In tmp_path: schemathesis keeps a cache directory (.schemathesis) in its working directory.
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, (
        f"{result.stdout}\n{result.stderr}\n--- server log:\n{server.log}"
    )
    assert "Traceback" not in server.log
