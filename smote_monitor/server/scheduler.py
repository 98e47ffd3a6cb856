"""The scheduled jobs: one per configured dataset, every ``evaluate_every``, on the leader only.

Every replica schedules the same jobs; a job that fires on a follower returns at once, so when
leadership moves the new leader's next tick runs it without any hand-over. Each run is timed
and counted into ``job_stats`` in a transaction of its own; while the store is down the counts
wait in memory and are written once it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler

from smote_monitor.config import Settings, duration_seconds
from smote_monitor.errors import StoreUnavailableError
from smote_monitor.records import utcnow
from smote_monitor.server.outage import StoreOutage
from smote_monitor.store import Store
from smote_monitor.store.database import SchemaOutdatedError
from smote_monitor.store.jobs import record_job_run

log = logging.getLogger(__name__)

_STORE_DOWN = (StoreUnavailableError, SchemaOutdatedError)

MAX_PENDING_STATS = 10_000
"""Job runs counted in memory during an outage; beyond it the oldest are dropped (and said)."""


@dataclass(frozen=True)
class ScheduledJob:
    name: str  # the ``job`` label of the job metrics, e.g. "evaluate:fraud"
    every_seconds: int
    run: Callable[[], object]


@dataclass(frozen=True)
class _Stat:
    job: str
    duration: float
    error: str | None
    at: datetime


def evaluation_jobs(store: Store, settings: Settings) -> dict[str, ScheduledJob]:
    """One evaluation job per configured dataset (``evaluation.job.evaluate_dataset``)."""

    def evaluate(dataset: str) -> Callable[[], object]:
        def run() -> object:
            # At run time: the evaluator is a heavy import the HTTP start need not wait for.
            from smote_monitor.evaluation.job import evaluate_dataset

            return evaluate_dataset(store, settings, dataset)

        return run

    return {
        f"evaluate:{name}": ScheduledJob(
            f"evaluate:{name}", duration_seconds(config.evaluate_every), evaluate(name)
        )
        for name, config in settings.datasets.items()
    }


class JobScheduler:
    """APScheduler 3 ``BackgroundScheduler`` running ``jobs`` while ``is_leader()``."""

    def __init__(
        self,
        store: Store,
        jobs: Mapping[str, ScheduledJob],
        *,
        is_leader: Callable[[], bool],
        outage: StoreOutage | None = None,
    ) -> None:
        self.store = store
        self.jobs = dict(jobs)
        self.is_leader = is_leader
        self.outage = outage or StoreOutage()
        self._scheduler = BackgroundScheduler(
            timezone="UTC",
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )
        self._accepting = threading.Event()
        self._running = 0
        self._idle = threading.Condition()
        self._pending: list[_Stat] = []
        self._pending_lock = threading.Lock()

    @property
    def running(self) -> int:
        """Jobs running now."""
        return self._running

    def start(self) -> None:
        self._accepting.set()
        for job in self.jobs.values():
            self._scheduler.add_job(
                self.run_job, "interval", seconds=job.every_seconds, args=[job.name], id=job.name
            )
        self._scheduler.start()

    def stop_accepting(self) -> None:
        """No job starts from now on; a running one finishes (SIGTERM's first step)."""
        self._accepting.clear()

    def shutdown(self, timeout: float) -> bool:
        """Stop the scheduler and wait up to ``timeout`` seconds for running jobs.

        True when none was left running.
        """
        self.stop_accepting()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._running and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            idle = self._running == 0
        self._flush()
        return idle

    def run_job(self, name: str) -> bool:
        """Run ``name`` now if this replica leads; True when it ran and succeeded."""
        if not self._accepting.is_set() or not self.is_leader():
            return False
        job = self.jobs[name]
        with self._idle:
            self._running += 1
        started = time.perf_counter()
        error: str | None = None
        try:
            job.run()
        except _STORE_DOWN as exc:
            error = str(exc)
            self.outage.failed(exc)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.exception("job %s failed", name)
        finally:
            duration = time.perf_counter() - started
            with self._idle:
                self._running -= 1
                self._idle.notify_all()
        self._count(_Stat(name, duration, error, utcnow()))
        if error is None:
            log.debug("job %s done in %.2fs", name, duration)
        return error is None

    def _count(self, stat: _Stat) -> None:
        with self._pending_lock:
            self._pending.append(stat)
            if len(self._pending) > MAX_PENDING_STATS:
                del self._pending[0]
                log.warning("job statistics: the store is down too long; oldest run not counted")
        self._flush()

    def _flush(self) -> None:
        """Write the counted runs, each in its own transaction; keep them if the store is down."""
        with self._pending_lock:
            pending, self._pending = self._pending, []
        for index, stat in enumerate(pending):
            try:
                with self.store.write() as session:
                    record_job_run(session, stat.job, stat.duration, stat.error, at=stat.at)
            except _STORE_DOWN as exc:
                self.outage.failed(exc)
                with self._pending_lock:
                    self._pending[:0] = pending[index:]
                return
            except Exception:
                log.exception("job statistics of %s not written", stat.job)
                continue
            self.outage.succeeded()
