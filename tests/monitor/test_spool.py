"""The training job must not die because monitoring is down; nothing is lost or doubled."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from smote_monitor import Monitor, StoreUnavailableError
from smote_monitor.drift.reference import REAL
from smote_monitor.records import parse_run_record
from smote_monitor.store import Store, migrate
from smote_monitor.store.database import SchemaOutdatedError
from smote_monitor.store.evaluations import shift_of_run
from smote_monitor.store.profiles import load_profiles
from smote_monitor.store.runs import list_runs, run_to_record
from smote_monitor.tracking.spool import Spool, spool_name
from tests.store_access import read

from ..conftest import UNREACHABLE_URL
from .cli_helpers import run_cli
from .test_records import VALID

TRAINING_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from imblearn.over_sampling import SMOTE
    from smote_monitor import Monitor

    store_url, spool_dir = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.1).astype(int)
    X = rng.normal(size=(500, 3)) + y[:, None]
    monitor = Monitor.from_url(store_url, spool_dir=spool_dir)
    with monitor.track_run(dataset="fraud", run_key="nightly-42") as run:
        X_res, y_res = run.resample(SMOTE(random_state=0), X, y)
        run.log_validation(train={"f1": 0.9}, validation={"f1": 0.88, "recall": 0.82,
                                                          "precision": 0.71})
    print("training finished with", len(y_res), "rows")
""")


@contextmanager
def store_down(url: str) -> Iterator[None]:
    """The store at ``url`` refuses connections inside the block, and is back after it.

    A spooled run is replayed only into the store it was meant for, so a test of "down, then
    up again" needs that same store to go down: SQLite through a link from its file to a place
    that cannot be opened (a directory where the file belongs is a misconfigured store, not an
    outage), PostgreSQL through ALLOW_CONNECTIONS false.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(str(parsed.database))
        assert not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to("/proc/nowhere/store.db")
        try:
            yield
        finally:
            path.unlink()
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = parsed.database
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
    try:
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def test_training_completes_while_the_store_is_down_and_replay_stores_once(
    store_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(TRAINING_SCRIPT)
    spool_dir = tmp_path / "spool"

    with store_down(store_url):
        done = subprocess.run(
            [sys.executable, str(script), store_url, str(spool_dir)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert done.returncode == 0, done.stderr
    assert "training finished with" in done.stdout
    assert "store unavailable (" in done.stderr and "spooled to" in done.stderr
    assert [p.name for p in spool_dir.glob("*.json")] == [spool_name("fraud", "nightly-42")]

    env = {"SMOTE_MONITOR_SPOOL_DIR": str(spool_dir)}
    first = run_cli("--database-url", store_url, "spool", "replay", "--json", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["stored"] == 1
    # the same record again (a copy a second machine still held) is not stored twice
    Spool(spool_dir).put(Store(store_url), run_to_record(read(Store(store_url), list_runs)[0]))
    second = run_cli(
        "--database-url", store_url, "spool", "replay", "--json", cwd=tmp_path, env=env
    )
    assert json.loads(second.stdout) == {
        "stored": 0,
        "duplicates": 1,
        "rejected": [],
        "remaining": 0,
        "waiting_for_other_stores": [],
        "without_store": 0,
    }

    runs = read(Store(store_url), list_runs)
    assert [(r.run_key, r.status) for r in runs] == [("nightly-42", "succeeded")]
    assert runs[0].gate_passed is True
    assert list(spool_dir.glob("*.json")) == []
    # the training profiles travelled with the spooled run
    assert list(read(Store(store_url), load_profiles, runs[0].id, REAL)) == ["x0", "x1", "x2"]
    assert read(Store(store_url), shift_of_run, runs[0].id) is not None


def test_the_next_successful_write_replays_the_spool(store_url: str, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    with store_down(store_url):
        down = Monitor.from_url(store_url, spool_dir=spool_dir)
        assert down.record({**VALID, "run_key": "while-down"}) is None
        down.close()
    up = Monitor.from_url(store_url, spool_dir=spool_dir)
    up.record({**VALID, "run_key": "after"})
    assert sorted(r.run_key for r in read(up.store, list_runs)) == ["after", "while-down"]
    assert Spool(spool_dir).pending() == []


def test_strict_mode_raises_instead_of_spooling(tmp_path: Path) -> None:
    monitor = Monitor.from_url(UNREACHABLE_URL, spool_dir=tmp_path / "spool", strict=True)
    with pytest.raises(StoreUnavailableError, match="the store is unreachable"):
        monitor.record(VALID)
    with pytest.raises(StoreUnavailableError):
        monitor.track_run(dataset="fraud").__enter__()
    assert not (tmp_path / "spool").exists()


def test_strict_from_the_environment_holds_unless_from_url_says_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMOTE_MONITOR_STRICT", "true")
    with pytest.raises(StoreUnavailableError):
        Monitor.from_url(UNREACHABLE_URL, spool_dir=tmp_path / "spool").record(VALID)
    lenient = Monitor.from_url(UNREACHABLE_URL, spool_dir=tmp_path / "spool", strict=False)
    assert lenient.record(VALID) is None


def test_a_conflicting_spooled_record_is_kept_aside_with_its_reason(
    sqlite_url: str, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    Monitor.from_url(sqlite_url, spool_dir=spool_dir).record(VALID)
    Spool(spool_dir).put(Store(sqlite_url), parse_run_record({**VALID, "seed": 99}))
    result = Spool(spool_dir).replay(Store(sqlite_url))
    assert result.stored == 0 and len(result.rejected) == 1
    kept = spool_dir / "rejected" / spool_name("fraud", "2026-11-28")
    assert kept.exists()
    assert "different content" in (spool_dir / "rejected" / f"{kept.name}.reason.txt").read_text()


@pytest.mark.parametrize(
    "run_key", ["daily/2026-11-28", "../../escape", "a\\b:c*?", "€" * 128, "k" * 128, ".hidden"]
)
def test_any_run_key_is_spooled_inside_the_spool_and_replayed(
    sqlite_url: str, tmp_path: Path, run_key: str
) -> None:
    spool_dir = tmp_path / "spool"
    Spool(spool_dir).put(Store(sqlite_url), parse_run_record({**VALID, "run_key": run_key}))
    [path] = Spool(spool_dir).pending()
    assert path.parent == spool_dir and len(path.name.encode()) <= 255
    assert path.name.startswith("fraud+")
    assert Spool(spool_dir).replay(Store(sqlite_url)).stored == 1
    assert [r.run_key for r in read(Store(sqlite_url), list_runs)] == [run_key]


def test_spool_names_differ_for_every_dataset_and_key(tmp_path: Path) -> None:
    pairs = [("a--b", "c"), ("a", "b--c"), ("a", "b/c"), ("a", "b_c"), ("a", "B_c")]
    names = {spool_name(dataset, key) for dataset, key in pairs}
    assert len(names) == len(pairs)
    spool = Spool(tmp_path)
    for dataset, key in pairs:
        spool.put(
            Store(UNREACHABLE_URL), parse_run_record({**VALID, "dataset": dataset, "run_key": key})
        )
    assert len(spool.pending()) == len(pairs)


def test_a_file_spooled_under_the_old_naming_is_still_replayed(
    sqlite_url: str, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    record = parse_run_record({**VALID, "run_key": "old"})
    (spool_dir / "fraud--old.json").write_text(
        json.dumps({"record": record.model_dump(mode="json")})
    )
    # it names no store: replayed only when asked (tests/monitor/test_spool_target.py)
    assert Spool(spool_dir).replay(Store(sqlite_url), into_current_store=True).stored == 1
    assert list(spool_dir.glob("*.json")) == []


def test_a_spool_file_being_written_is_not_replayed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.put(Store(UNREACHABLE_URL), parse_run_record(VALID))
    # what a concurrent put() has open: never pending, so a replay cannot take it half-written
    for name in list(tmp_path.iterdir()):
        (tmp_path / f".tmp-{name.name}").write_text('{"rec')
        (tmp_path / "tmpabc.tmp").write_text('{"rec')
    assert [p.name for p in spool.pending()] == [spool_name("fraud", "2026-11-28")]


def test_an_outdated_store_is_treated_as_unavailable_with_a_hint_to_upgrade(
    postgres_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    migrate.upgrade(Store(postgres_url, auto_upgrade=False).engine, "0001")
    spool_dir = tmp_path / "spool"
    strict = Monitor.from_url(postgres_url, spool_dir=spool_dir, strict=True)
    with pytest.raises(SchemaOutdatedError, match="smote-monitor db upgrade"):
        strict.track_run(dataset="fraud").__enter__()

    monitor = Monitor.from_url(postgres_url, spool_dir=spool_dir)
    with monitor.track_run(dataset="fraud", run_key="old-schema") as run:
        run.observe(*([[0.0], [1.0]], [0, 1]) * 2, params={}, variant="SMOTE")
    assert monitor.record({**VALID, "run_key": "recorded"}) is None
    assert len(Spool(spool_dir).pending()) == 2
    assert "run `smote-monitor db upgrade`" in caplog.text and "spooled to" in caplog.text

    Store(postgres_url).upgrade()
    assert Spool(spool_dir).replay(Store(postgres_url)).stored == 2
    assert sorted(r.run_key for r in read(Store(postgres_url), list_runs)) == [
        "old-schema",
        "recorded",
    ]
