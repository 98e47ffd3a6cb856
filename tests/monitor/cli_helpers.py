"""Run the real ``smote-monitor`` command in a subprocess, as a user or a pipeline would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
    columns: int | None = 200,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; stdout is a pipe, never a terminal.

    ``columns`` sets $COLUMNS (the width Rich assumes); None leaves it unset, as in a pipeline
    that redirects the output to a file.
    """
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SMOTE_MONITOR_") and k not in ("COLUMNS", "LINES")
    }
    full_env["NO_COLOR"] = "1"
    if columns is not None:
        full_env["COLUMNS"] = str(columns)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "smote_monitor", *args],
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
