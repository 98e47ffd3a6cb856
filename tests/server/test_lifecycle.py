"""The process around the API: refusing to start, stopping on SIGTERM, a store that is down,
and replicas electing one leader."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from smote_monitor.cli._context import EXIT_BAD_INPUT, EXIT_OK
from tests.conftest import UNREACHABLE_URL
from tests.server.helpers import ServerProcess, run_record, write_config

pytestmark = pytest.mark.slow

TAKEOVER_BOUND = 15.0
"""Seconds within which a follower leads after the leader is killed: the tests run with a lease
TTL of 3s (checks every 1s), so lease expiry + one check, with margin for a slow CI machine."""


def roles(*servers: ServerProcess) -> list[str]:
    return [httpx.get(s.url + "/readyz", timeout=10).json()["role"] for s in servers]


def wait_for_role(server: ServerProcess, role: str, timeout: float) -> float:
    started = time.monotonic()
    server.wait_until(lambda r: r.status_code == 200 and r.json()["role"] == role, timeout=timeout)
    return time.monotonic() - started


def test_a_public_bind_without_a_token_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db")
    with ServerProcess(config, host="0.0.0.0") as server:
        assert server.wait_exit() == EXIT_BAD_INPUT
        assert "export SMOTE_MONITOR_TOKEN=" in server.log
        assert "--allow-unauthenticated" in server.log


def test_a_public_bind_is_allowed_when_asked_for(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db")
    with ServerProcess(config, "--allow-unauthenticated", host="0.0.0.0") as server:
        server.wait_ready()
        assert "writes are unauthenticated" in server.log
        assert server.terminate() == EXIT_OK


def test_a_public_bind_with_a_token_starts(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db", auth_token_env="MY_TOKEN")
    with ServerProcess(config, host="0.0.0.0", env={"MY_TOKEN": "t0ken"}) as server:
        server.wait_ready()
        assert server.terminate() == EXIT_OK


def test_a_bad_listen_is_a_config_error(tmp_path: Path) -> None:
    from tests.monitor.cli_helpers import run_cli

    config = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db")

    result = run_cli("--config", str(config), "serve", "--listen", "nowhere", cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT
    assert "--listen: got 'nowhere'; expected HOST:PORT" in result.stderr


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db")
    with ServerProcess(config) as server:
        server.wait_ready()
        assert "serving on http://127.0.0.1:" in server.log and "role leader" in server.log
        assert server.terminate() == EXIT_OK
        log = server.log
        assert "stopping: SIGTERM received" in log
        assert log.rstrip().endswith("stopped")


def test_serve_help_explains(tmp_path: Path) -> None:
    from tests.monitor.cli_helpers import run_cli

    result = run_cli("serve", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in ("--listen", "--allow-unauthenticated", "--shutdown-timeout"):
        assert option in result.stdout
    assert "--lease-ttl" not in result.stdout


def test_store_down_readyz_503_writes_503_healthz_200(tmp_path: Path) -> None:
    config = write_config(tmp_path, UNREACHABLE_URL)
    with ServerProcess(config) as server:
        server.wait_alive()
        ready = httpx.get(server.url + "/readyz", timeout=10)
        assert ready.status_code == 503
        assert "unreachable" in ready.json()["reason"]
        assert ready.json()["role"] == "follower"
        write = httpx.post(server.url + "/api/v1/runs", json=run_record("down"), timeout=10)
        assert write.status_code == 503
        assert write.headers["retry-after"] == "5"
        assert "nothing was written" in write.json()["error"]["message"]
        assert httpx.get(server.url + "/api/v1/runs", timeout=10).status_code == 503
        assert not (tmp_path / "spool").exists()  # HTTP never spools: the client retries
        time.sleep(2.5)  # a few leader checks fail meanwhile: logged once, not each time
        assert server.log.count("store unreachable") <= 2, server.log
        assert "Traceback" not in server.log
        assert server.terminate() == EXIT_OK


def test_sqlite_second_serve_is_a_follower_then_takes_over(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/s.db")
    with ServerProcess(config) as first:
        first.wait_ready()
        with ServerProcess(config) as second:
            second.wait_ready()
            assert roles(first, second) == ["leader", "follower"]
            assert "role leader" not in second.log
            first.kill()
            took = wait_for_role(second, "leader", TAKEOVER_BOUND)
            assert took < TAKEOVER_BOUND
            assert "role leader" in second.log


@pytest.mark.postgres
def test_postgres_replicas_elect_one_leader_and_fail_over(
    postgres_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, postgres_url)
    with ServerProcess(config) as first, ServerProcess(config) as second:
        first.wait_ready()
        second.wait_ready()
        time.sleep(1.5)  # a check period: both have tried the lock at least twice
        both = roles(first, second)
        assert sorted(both) == ["follower", "leader"], both
        leader, follower = (first, second) if both[0] == "leader" else (second, first)
        leader.kill()  # kill -9: no clean release, the lock goes with the connection
        took = wait_for_role(follower, "leader", TAKEOVER_BOUND)
        assert took < TAKEOVER_BOUND
        # A third replica joining now follows.
        with ServerProcess(config) as third:
            third.wait_ready()
            assert roles(follower, third) == ["leader", "follower"]
