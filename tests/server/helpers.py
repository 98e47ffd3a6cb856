"""A real ``smote-monitor serve`` process for tests: started, waited for, always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(directory: Path, database_url: str, **extra: Any) -> Path:
    data: dict[str, Any] = {
        "database_url": database_url,
        "spool_dir": str(directory / "spool"),
        "datasets": {"fraud": {"evaluate_every": "1h"}},
    }
    data.update(extra)
    path = directory / "smote-monitor.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


class ServerProcess:
    """``python -m smote_monitor --config CFG serve --listen 127.0.0.1:PORT [args]``."""

    def __init__(
        self,
        config: Path,
        *args: str,
        host: str = "127.0.0.1",
        env: dict[str, str] | None = None,
        lease_ttl: float | None = 3.0,
    ) -> None:
        self.port = free_port()
        self.host = host
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = config.parent / f"serve-{self.port}.log"
        command = [
            sys.executable,
            "-m",
            "smote_monitor",
            "--config",
            str(config),
            "serve",
            "--listen",
            f"{host}:{self.port}",
            *args,
        ]
        if lease_ttl is not None:
            command += ["--lease-ttl", str(lease_ttl)]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SMOTE_MONITOR_")}
        full_env.update({"PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "200"})
        full_env.update(env or {})
        self._log = self.log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            command,
            cwd=config.parent,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8")

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)

    def wait_until(
        self,
        ready: Callable[[httpx.Response], bool],
        path: str = "/readyz",
        timeout: float = START_TIMEOUT,
    ) -> httpx.Response:
        """Poll ``path`` until ``ready(response)``; fail with the log if it exits or times out."""
        deadline = time.monotonic() + timeout
        last: httpx.Response | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"serve exited with {self.process.returncode} before ready:\n{self.log}"
                )
            try:
                last = httpx.get(self.url + path, timeout=5.0)
            except httpx.TransportError:
                last = None
            if last is not None and ready(last):
                return last
            time.sleep(0.1)
        shown = f"{last.status_code} {last.text}" if last is not None else "no answer"
        raise AssertionError(f"serve not ready after {timeout}s ({shown}):\n{self.log}")

    def wait_ready(self) -> httpx.Response:
        return self.wait_until(lambda r: r.status_code == 200)

    def wait_alive(self) -> httpx.Response:
        return self.wait_until(lambda r: r.status_code == 200, path="/healthz")

    def wait_exit(self, timeout: float = STOP_TIMEOUT) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"serve did not exit within {timeout}s:\n{self.log}") from None

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)

    def close(self) -> None:
        """Always called (fixtures' finally): SIGTERM, then SIGKILL if it lingers."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=STOP_TIMEOUT)
        finally:
            self._log.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_record(run_key: str = "r1", dataset: str = "fraud", **overrides: Any) -> dict[str, Any]:
    """A valid finished run, as `smote-monitor record` takes it."""
    record: dict[str, Any] = {
        "dataset": dataset,
        "run_key": run_key,
        "variant": "SMOTE",
        "params": {"k_neighbors": 5},
        "seed": 0,
        "class_counts_before": {"0": 900, "1": 100},
        "class_counts_after": {"0": 900, "1": 900},
        "n_synthetic": 800,
        "synthetic_ratio": 800 / 1800,
        "metrics": {
            "train": {"f1": 0.9},
            "validation": {"f1": 0.88, "recall": 0.85, "precision": 0.75},
        },
    }
    record.update(overrides)
    return record
