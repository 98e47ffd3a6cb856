"""The server's pure parts and its in-process pieces: body parsing, the error translator,
job statistics, the scheduler and the leader election on real stores."""

from __future__ import annotations

import io
import logging
import threading
import time
from datetime import timedelta

import pyarrow as pa
import pyarrow.ipc
import pytest
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select

from smote_monitor.errors import InvalidInputError, StoreUnavailableError
from smote_monitor.records import utcnow
from smote_monitor.server.bodies import ARROW_STREAM, parse_json, rows_frame
from smote_monitor.server.errors import HTTPProblem, MalformedBodyError, error_response
from smote_monitor.server.leader import Role, leadership_for
from smote_monitor.server.outage import StoreOutage
from smote_monitor.server.scheduler import JobScheduler, ScheduledJob
from smote_monitor.server.service import is_loopback, parse_listen
from smote_monitor.store import Store
from smote_monitor.store.jobs import JOB_DURATION_BUCKETS, record_job_run
from smote_monitor.store.leader import SCHEDULER_LEASE, acquire_lease, lease_holder
from smote_monitor.store.models import JobStat


def arrow_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pyarrow.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


# --- bodies -------------------------------------------------------------------------------


def test_json_rows_become_a_frame() -> None:
    frame = rows_frame(b'{"rows": [{"id": 1, "p": 0.5}, {"id": 2, "p": null}]}', None)
    assert list(frame.columns) == ["id", "p"]
    assert frame["id"].tolist() == [1, 2]


def test_arrow_stream_becomes_a_frame() -> None:
    table = pa.table({"id": [1, 2, 3], "region": ["eu", "us", "eu"]})
    frame = rows_frame(arrow_bytes(table), f"{ARROW_STREAM}; charset=binary")
    assert frame.to_dict("list") == {"id": [1, 2, 3], "region": ["eu", "us", "eu"]}


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        (b'{"rows": []}', InvalidInputError, "rows"),
        (b'{"rows": {"a": 1}}', InvalidInputError, "rows"),
        (b'{"rows": [1]}', InvalidInputError, "rows.0"),
        (b'{"rows": [{"a": [1]}]}', InvalidInputError, "rows.0.a"),
        (b'{"rows": [{"a": 1}], "extra": 1}', InvalidInputError, "extra"),
        (b'{"rows": [{"a": "x\\u0000"}]}', InvalidInputError, "body.rows.0.a"),
        (b'{"rows": [{"a": Infinity}]}', MalformedBodyError, "body"),
        (b"[", MalformedBodyError, "body"),
    ],
)
def test_bad_json_rows_name_the_field(body: bytes, error: type, field: str) -> None:
    with pytest.raises(error) as raised:
        rows_frame(body, "application/json")
    assert raised.value.field == field


def test_bad_arrow_is_malformed() -> None:
    with pytest.raises(MalformedBodyError, match="Arrow IPC stream"):
        rows_frame(b"\x00\x01garbage", ARROW_STREAM)
    empty = pa.table({"id": pa.array([], pa.int64())})
    with pytest.raises(InvalidInputError, match="at least one row"):
        rows_frame(arrow_bytes(empty), ARROW_STREAM)


def test_other_content_types_are_415() -> None:
    with pytest.raises(HTTPProblem) as raised:
        rows_frame(b"a,b", "text/csv")
    assert raised.value.status == 415


def test_parse_json_refuses_nan() -> None:
    with pytest.raises(MalformedBodyError, match="no NaN"):
        parse_json(b'{"a": NaN}')


# --- the translator -----------------------------------------------------------------------


def body_of(exc: BaseException) -> tuple[int, dict[str, object]]:
    import json

    response = error_response(exc)
    return response.status_code, json.loads(bytes(response.body))["error"]


def test_one_translator_for_every_error() -> None:
    assert body_of(InvalidInputError("a.b", 3, "a string"))[0] == 422
    assert body_of(MalformedBodyError("body", "x", "JSON"))[0] == 400
    status, error = body_of(
        RequestValidationError(
            [
                {
                    "loc": ("query", "limit"),
                    "msg": "Input should be a valid integer",
                    "type": "x",
                    "input": "ten",
                }
            ]
        )
    )
    assert (status, error["field"], error["value"], error["expected"]) == (
        422,
        "limit",
        "ten",
        "a valid integer",
    )
    response = error_response(StoreUnavailableError("the store is unreachable: refused"))
    assert (response.status_code, response.headers["retry-after"]) == (503, "5")
    status, error = body_of(RuntimeError("secret internals"))
    assert status == 500 and "secret" not in str(error)


def test_long_values_are_shortened() -> None:
    _, error = body_of(InvalidInputError("body", "x" * 10_000, "short"))
    assert isinstance(error["value"], str) and len(error["value"]) <= 200


def test_listen_parsing() -> None:
    assert parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen("[::1]:80") == ("::1", 80)
    with pytest.raises(ValueError, match="--listen: got 'x:0'"):
        parse_listen("x:0")
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


# --- job statistics and the scheduler -----------------------------------------------------


def test_record_job_run_counts_cumulative_buckets(store_url: str) -> None:
    store = Store(store_url)
    with store.write() as session:
        record_job_run(session, "evaluate:a", 0.3, None)
        record_job_run(session, "evaluate:a", 7.0, "boom")
    with store.read() as session:
        stat = session.scalars(select(JobStat)).one()
    assert (stat.runs, stat.failures, stat.last_error) == (2, 1, "boom")
    assert stat.duration_sum == pytest.approx(7.3)
    expected = [sum(d <= bound for d in (0.3, 7.0)) for bound in JOB_DURATION_BUCKETS]
    assert stat.duration_buckets == expected
    assert stat.last_success_at is not None and stat.last_failure_at is not None
    store.dispose()


def test_scheduler_runs_on_the_leader_only_and_one_failure_does_not_stop_others(
    sqlite_url: str,
) -> None:
    store = Store(sqlite_url)
    calls: list[str] = []

    def ok() -> None:
        calls.append("ok")

    def broken() -> None:
        raise RuntimeError("bad data")

    leading = {"now": False}
    jobs = {
        "evaluate:ok": ScheduledJob("evaluate:ok", 3600, ok),
        "evaluate:broken": ScheduledJob("evaluate:broken", 3600, broken),
    }
    scheduler = JobScheduler(store, jobs, is_leader=lambda: leading["now"])
    scheduler.start()
    assert scheduler.run_job("evaluate:ok") is False and calls == []  # a follower
    leading["now"] = True
    assert scheduler.run_job("evaluate:broken") is False
    assert scheduler.run_job("evaluate:ok") is True and calls == ["ok"]
    with store.read() as session:
        stats = {s.job: (s.runs, s.failures) for s in session.scalars(select(JobStat))}
    assert stats == {"evaluate:ok": (1, 0), "evaluate:broken": (1, 1)}
    scheduler.stop_accepting()
    assert scheduler.run_job("evaluate:ok") is False
    scheduler.shutdown(timeout=1)
    store.dispose()


def test_scheduler_waits_for_a_running_job_within_the_timeout(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    release = threading.Event()
    job = ScheduledJob("evaluate:slow", 3600, lambda: release.wait(10))
    scheduler = JobScheduler(store, {job.name: job}, is_leader=lambda: True)
    scheduler.start()
    worker = threading.Thread(target=scheduler.run_job, args=[job.name])
    worker.start()
    while scheduler.running == 0:
        time.sleep(0.01)
    assert scheduler.shutdown(timeout=0.2) is False  # still running: gave up waiting
    release.set()
    worker.join(5)
    assert scheduler.shutdown(timeout=1) is True
    store.dispose()


def test_outage_is_logged_once_and_stats_flushed_after(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(sqlite_url)
    store.ensure_schema()
    down = {"now": True}
    real_write = store.write

    def write():  # type: ignore[no-untyped-def]
        if down["now"]:
            raise StoreUnavailableError("the store is unreachable: refused")
        return real_write()

    store.write = write  # type: ignore[method-assign]
    outage = StoreOutage(retry_hint="jobs will retry every 5m")
    job = ScheduledJob("evaluate:a", 300, lambda: None)
    scheduler = JobScheduler(store, {job.name: job}, is_leader=lambda: True, outage=outage)
    scheduler.start()
    with caplog.at_level(logging.INFO, logger="smote_monitor.server.outage"):
        for _ in range(5):
            scheduler.run_job(job.name)
        down["now"] = False
        scheduler.run_job(job.name)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "store unreachable: the store is unreachable: refused; jobs will retry every 5m",
        "store reachable again",
    ]
    with store.read() as session:
        assert session.scalars(select(JobStat)).one().runs == 6  # counted while down, kept
    scheduler.shutdown(timeout=1)
    store.dispose()


# --- leader election ----------------------------------------------------------------------


def test_lease_goes_to_one_holder_until_it_expires(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    now, ttl = utcnow(), timedelta(seconds=15)
    with store.write() as session:
        assert acquire_lease(session, SCHEDULER_LEASE, "a", ttl=ttl, now=now)
    with store.write() as session:
        assert not acquire_lease(session, SCHEDULER_LEASE, "b", ttl=ttl, now=now)
        assert acquire_lease(session, SCHEDULER_LEASE, "a", ttl=ttl, now=now)  # renewal
    later = now + timedelta(seconds=16)
    with store.write() as session:
        assert acquire_lease(session, SCHEDULER_LEASE, "b", ttl=ttl, now=later)
        assert lease_holder(session, SCHEDULER_LEASE, now=later) == "b"
    store.dispose()


def test_exactly_one_leader_and_a_clean_handover(store_url: str) -> None:
    store_a, store_b = Store(store_url), Store(store_url)
    store_a.ensure_schema()
    a = leadership_for(store_a, ttl=1.5, outage=StoreOutage())
    b = leadership_for(store_b, ttl=1.5, outage=StoreOutage())
    try:
        assert a.check() is Role.LEADER
        assert b.check() is Role.FOLLOWER
        assert a.check() is Role.LEADER  # keeping it
        assert b.check() is Role.FOLLOWER
        a.stop()  # releases: b need not wait for expiry
        assert b.check() is Role.LEADER
        assert a.is_leader() is False
    finally:
        a.stop()
        b.stop()
        store_a.dispose()
        store_b.dispose()


def test_leader_of_an_unreachable_store_is_a_follower() -> None:
    from tests.conftest import UNREACHABLE_URL

    store = Store(UNREACHABLE_URL)
    outage = StoreOutage()
    leadership = leadership_for(store, ttl=3, outage=outage)
    assert leadership.check() is Role.FOLLOWER
    assert outage.down
    leadership.stop()
