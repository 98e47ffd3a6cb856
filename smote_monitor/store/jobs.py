"""The job_stats table: runs, failures and durations of each scheduled job, shared by replicas.

Counts only grow (they back ``smote_monitor_job_failures_total`` and the duration histogram),
and they live in the store, so they survive restarts and a change of leader.
"""

from __future__ import annotations

import bisect
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from smote_monitor.conventions import JOB_DURATION_BUCKETS
from smote_monitor.records import utcnow
from smote_monitor.store.models import JobStat

ERROR_MAX = 2000
"""Characters of the last error kept (a traceback-sized message is truncated)."""


def record_job_run(
    session: Session,
    job: str,
    duration: float,
    error: str | None,
    *,
    at: datetime | None = None,
) -> JobStat:
    """Count one run of ``job`` (failed when ``error`` is given) inside the caller's transaction."""
    query = select(JobStat).where(JobStat.job == job)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    stat = session.scalars(query).one_or_none()
    if stat is None:
        stat = JobStat(
            job=job,
            runs=0,
            failures=0,
            duration_sum=0.0,
            duration_buckets=[0] * len(JOB_DURATION_BUCKETS),
        )
        session.add(stat)
    when = at or utcnow()
    buckets = list(stat.duration_buckets or [0] * len(JOB_DURATION_BUCKETS))
    # Cumulative: a run counts in every bucket whose bound it does not exceed.
    for index in range(bisect.bisect_left(JOB_DURATION_BUCKETS, duration), len(buckets)):
        buckets[index] += 1
    stat.duration_buckets = buckets
    stat.runs = (stat.runs or 0) + 1
    stat.duration_sum = (stat.duration_sum or 0.0) + duration
    if error is None:
        stat.last_success_at = when
    else:
        stat.failures = (stat.failures or 0) + 1
        stat.last_failure_at = when
        stat.last_error = error[:ERROR_MAX]
    session.flush()
    return stat


def job_stats(session: Session) -> list[JobStat]:
    return list(session.scalars(select(JobStat).order_by(JobStat.job)))
