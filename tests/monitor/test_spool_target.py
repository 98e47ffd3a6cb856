"""A spooled run names the store it was meant for and is replayed only there (defect 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smote_monitor import Monitor
from smote_monitor.records import RunRecord
from smote_monitor.store import Store
from smote_monitor.store.database import store_identity
from smote_monitor.store.runs import list_runs
from smote_monitor.tracking.spool import Spool
from tests.store_access import read

from ..conftest import UNREACHABLE_URL
from .cli_helpers import run_cli
from .test_records import VALID

UNWRITABLE_SQLITE = "sqlite:////sys/x.db"


def _keys(url: str) -> list[str]:
    return sorted(run.run_key for run in read(Store(url), list_runs))


@pytest.mark.parametrize("down_url", [UNWRITABLE_SQLITE, UNREACHABLE_URL])
def test_a_run_spooled_for_one_store_is_never_replayed_into_another(
    sqlite_url: str, tmp_path: Path, down_url: str
) -> None:
    spool_dir = tmp_path / "spool"
    down = Monitor.from_url(down_url, spool_dir=spool_dir)
    assert down.record({**VALID, "run_key": "meant-elsewhere"}) is None
    assert down.record({**VALID, "run_key": "also-elsewhere"}) is None
    before = {p.name: p.read_bytes() for p in Spool(spool_dir).pending()}
    assert len(before) == 2

    # the next, unrelated write into another store leaves them alone
    Monitor.from_url(sqlite_url, spool_dir=spool_dir).record({**VALID, "run_key": "mine"})
    assert _keys(sqlite_url) == ["mine"]
    assert {p.name: p.read_bytes() for p in Spool(spool_dir).pending()} == before

    env = {"SMOTE_MONITOR_SPOOL_DIR": str(spool_dir)}
    url = ["--database-url", sqlite_url]
    done = run_cli(*url, "spool", "replay", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    shown = Store(down_url).url_for_display
    assert f"2 entries wait for {shown}, not this store" in done.stdout
    as_json = json.loads(run_cli(*url, "spool", "replay", "--json", cwd=tmp_path, env=env).stdout)
    assert as_json["stored"] == 0
    assert as_json["waiting_for_other_stores"] == [{"store": shown, "entries": 2}]
    assert _keys(sqlite_url) == ["mine"]
    assert {p.name: p.read_bytes() for p in Spool(spool_dir).pending()} == before

    listed = run_cli(*url, "spool", "list", cwd=tmp_path, env=env)
    assert listed.stdout.count(f"→ {shown}") == 2
    entries = json.loads(run_cli(*url, "spool", "list", "--json", cwd=tmp_path, env=env).stdout)
    assert sorted((e["run_key"], e["store"]) for e in entries) == [
        ("also-elsewhere", shown),
        ("meant-elsewhere", shown),
    ]


def test_the_target_store_takes_its_entries(sqlite_url: str, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir)
    spool.put(Store(sqlite_url), *_record("for-me"))
    spool.put(Store(UNREACHABLE_URL), *_record("for-pg"))
    result = spool.replay(Store(sqlite_url))
    assert (result.stored, result.waiting) == (1, {Store(UNREACHABLE_URL).url_for_display: 1})
    assert _keys(sqlite_url) == ["for-me"]
    assert [e.run_key for e in spool.entries()] == ["for-pg"]


def _record(run_key: str) -> tuple[RunRecord, None]:
    from smote_monitor.records import parse_run_record

    return parse_run_record({**VALID, "run_key": run_key}), None


def test_store_identity_hides_the_password_and_resolves_sqlite_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert store_identity("sqlite:///x.db") == f"sqlite:///{tmp_path.resolve()}/x.db"
    assert store_identity("sqlite:///x.db") == store_identity(f"sqlite:///{tmp_path}/./x.db")
    assert store_identity("postgresql://u:secret@DB.example:5432/m") == store_identity(
        "postgresql+psycopg://u:other@db.example/m"
    )
    assert "secret" not in store_identity("postgresql://u:secret@db/m")
    assert store_identity("postgresql+psycopg://u@db/m") != store_identity(
        "postgresql+psycopg://u@db/n"
    )


def test_old_entries_naming_no_store_are_replayed_only_when_asked(
    sqlite_url: str, tmp_path: Path
) -> None:
    from smote_monitor.records import parse_run_record

    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    record = parse_run_record({**VALID, "run_key": "old"})
    (spool_dir / "fraud--old.json").write_text(
        json.dumps({"record": record.model_dump(mode="json")})
    )
    env = {"SMOTE_MONITOR_SPOOL_DIR": str(spool_dir)}
    url = ["--database-url", sqlite_url]

    Monitor.from_url(sqlite_url, spool_dir=spool_dir).record(VALID)  # automatic replay: no
    done = run_cli(*url, "spool", "replay", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "1 entry names no store" in done.stdout and "--into-current-store" in done.stdout
    assert _keys(sqlite_url) == ["2026-11-28"]
    listed = run_cli(*url, "spool", "list", cwd=tmp_path, env=env)
    assert "fraud--old.json → (no store named)" in listed.stdout

    taken = run_cli(*url, "spool", "replay", "--into-current-store", cwd=tmp_path, env=env)
    assert taken.returncode == 0, taken.stderr
    assert _keys(sqlite_url) == ["2026-11-28", "old"]
    assert Spool(spool_dir).pending() == []
