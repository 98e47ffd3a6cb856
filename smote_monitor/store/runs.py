"""The runs table: SMOTE runs, their metrics and audit rows (repositories on the caller's
``Session``; the transaction and its retries belong to ``smote_monitor.tracking.persist``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from smote_monitor.conventions import (
    OUTCOME_ERROR,
    OUTCOME_GATE_FAILED,
    OUTCOME_PASSED,
    OUTCOME_RUNNING,
)
from smote_monitor.errors import RunConflictError
from smote_monitor.records import (
    FeatureField,
    GateCheck,
    GateResult,
    LeakageResult,
    ProvenanceRow,
    RunRecord,
    RunStatus,
    utcnow,
)
from smote_monitor.store.datasets import dataset_row
from smote_monitor.store.models import AuditRow, Dataset, Run, RunMetric

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SaveOutcome:
    """What :func:`save_run` did: ``created`` a new run, ``updated`` an open or failed one, or
    found the very same run already stored (``duplicate``)."""

    run_id: int
    action: str  # "created" | "updated" | "duplicate"


def add_running(session: Session, dataset: str, run_key: str, started_at: datetime) -> Run:
    """The key's run: the existing one, or a new ``running`` row (``track_run`` entering)."""
    existing = find_run(session, dataset, run_key)
    if existing is not None:
        return existing
    run = Run(
        dataset=dataset_row(session, dataset),
        run_key=run_key,
        status=RunStatus.RUNNING.value,
        started_at=started_at,
        **_EMPTY_JSON,
    )
    session.add(run)
    session.flush()
    return run


def save_run(session: Session, record: RunRecord) -> tuple[Run, SaveOutcome]:
    """Store a finished (or failed) run exactly once, inside the caller's transaction.

    - no run with the key: insert it;
    - the key's run is ``running`` (opened by ``track_run``) or ``failed`` (a retry): fill it in,
      counting the attempt over a failed run — unless the record is that very failure again
      (same content, error and start time: a redelivery, ``duplicate``);
    - the key's run succeeded with the same content: nothing to do (``duplicate``);
    - succeeded with different content: :class:`RunConflictError`, nothing written.
    """
    content_hash = record.content_hash()
    run = find_run(session, record.dataset, record.run_key)
    if run is None:
        run = Run(dataset=dataset_row(session, record.dataset), run_key=record.run_key)
        session.add(run)
        action = "created"
    elif _same_failure(run, record, content_hash):
        return run, SaveOutcome(run.id, "duplicate")
    elif run.status == RunStatus.SUCCEEDED.value:
        if run.content_hash == content_hash:
            return run, SaveOutcome(run.id, "duplicate")
        raise RunConflictError(
            f"run_key {record.run_key!r} of dataset {record.dataset!r} is already "
            f"stored as run {run.id} ({run.status}) with different content; use a new "
            "run_key for a new run"
        )
    else:
        action = "updated"
        if run.status == RunStatus.FAILED.value:
            run.attempts += 1
        # Delete the old child rows before inserting new ones under the same keys.
        run.metrics.clear()
        run.audit_rows.clear()
        session.flush()
    _fill(run, record, content_hash)
    session.flush()
    return run, SaveOutcome(run.id, action)


def _same_failure(run: Run, record: RunRecord, content_hash: str) -> bool:
    """Is ``record`` the stored failed attempt itself, delivered again (a spool replay)?

    The content hash leaves the error and the clock out (it identifies a run's result); a failed
    attempt is identified by its error and start time too, so a new attempt — even one failing
    the same way — is counted rather than dropped.
    """
    return (
        run.status == RunStatus.FAILED.value
        and record.status is RunStatus.FAILED
        and run.content_hash == content_hash
        and run.error == record.error
        and run.started_at == record.started_at
    )


def get_run(session: Session, run_id: int) -> Run | None:
    return session.get(Run, run_id)


def find_run(session: Session, dataset: str, run_key: str) -> Run | None:
    """The run of (dataset, run_key); locked for the transaction on PostgreSQL."""
    query = select(Run).join(Run.dataset).where(Dataset.name == dataset, Run.run_key == run_key)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=Run)
    return session.scalars(query).one_or_none()


_SUCCEEDED = Run.status == RunStatus.SUCCEEDED.value
_WHERE_OUTCOME: dict[str, ColumnElement[bool]] = {
    # The stored columns behind RunRecord.outcome; a test checks each word against it.
    OUTCOME_PASSED: and_(_SUCCEEDED, or_(Run.gate_passed.is_(True), Run.gate_passed.is_(None))),
    OUTCOME_GATE_FAILED: and_(_SUCCEEDED, Run.gate_passed.is_(False)),
    OUTCOME_ERROR: Run.status == RunStatus.FAILED.value,
    OUTCOME_RUNNING: Run.status == RunStatus.RUNNING.value,
}


def list_runs(
    session: Session, *, dataset: str | None = None, outcome: str | None = None, limit: int = 50
) -> Sequence[Run]:
    """Newest first; ``outcome`` is one of :data:`smote_monitor.records.OUTCOMES`."""
    query = select(Run).join(Run.dataset).order_by(Run.started_at.desc(), Run.id.desc())
    if dataset is not None:
        query = query.where(Dataset.name == dataset)
    if outcome is not None:
        query = query.where(_WHERE_OUTCOME[outcome])
    return session.scalars(query.limit(limit)).all()


def count_runs(session: Session, dataset: str) -> int:
    query = select(func.count(Run.id)).join(Run.dataset).where(Dataset.name == dataset)
    return session.scalar(query) or 0


def latest_succeeded_run(session: Session, dataset: str) -> Run | None:
    """The dataset's newest succeeded run (whether or not it has profiles)."""
    query = (
        select(Run)
        .join(Run.dataset)
        .where(Dataset.name == dataset, Run.status == RunStatus.SUCCEEDED.value)
        .order_by(Run.finished_at.desc(), Run.id.desc())
        .limit(1)
    )
    return session.scalars(query).one_or_none()


def run_to_record(run: Run) -> RunRecord:
    """The stored run as a :class:`RunRecord` (what ``runs show --json`` and the API return)."""
    metrics: dict[str, dict[str, float]] = {}
    for metric in run.metrics:
        metrics.setdefault(metric.split, {})[metric.metric] = metric.value
    return RunRecord.model_construct(
        dataset=run.dataset.name,
        run_key=run.run_key,
        status=RunStatus(run.status),
        started_at=run.started_at,
        finished_at=run.finished_at,
        variant=run.variant,
        params=run.params,
        seed=run.seed,
        class_counts_before=run.class_counts_before,
        class_counts_after=run.class_counts_after,
        n_synthetic=run.n_synthetic,
        synthetic_ratio=run.synthetic_ratio,
        duration_seconds=run.duration_seconds,
        peak_memory_bytes=run.peak_memory_bytes,
        feature_schema=[FeatureField(**f) for f in run.feature_schema]
        if run.feature_schema is not None
        else None,
        feature_schema_hash=run.feature_schema_hash,
        near_duplicate_ratio=run.near_duplicate_ratio,
        neighbor_distance_quantiles=run.neighbor_distance_quantiles,
        code_version=run.code_version,
        model_version=run.model_version,
        tags=run.tags,
        error=run.error,
        profile_error=run.profile_error,
        metrics=metrics,
        gate=GateResult(passed=run.gate_passed, checks=[GateCheck(**c) for c in run.gate_checks])
        if run.gate_passed is not None
        else None,
        leakage=LeakageResult(suspected=run.leakage_suspected, evidence=run.leakage_evidence or {})
        if run.leakage_suspected is not None
        else None,
        audit_sample=[
            ProvenanceRow(
                parent=a.parent, neighbor=a.neighbor, gap=a.gap, row=a.row, distance=a.distance
            )
            for a in run.audit_rows
        ],
        report=run.report,
    )


_EMPTY_JSON: dict[str, Any] = {
    "params": {},
    "class_counts_before": {},
    "class_counts_after": {},
    "neighbor_distance_quantiles": {},
    "tags": {},
    "gate_checks": [],
}


def _fill(run: Run, record: RunRecord, content_hash: str) -> None:
    run.status = record.status.value
    run.started_at = record.started_at
    run.finished_at = None if record.status is RunStatus.RUNNING else record.finished_at or utcnow()
    run.variant = record.variant
    run.params = dict(record.params)
    run.seed = record.seed
    run.class_counts_before = dict(record.class_counts_before)
    run.class_counts_after = dict(record.class_counts_after)
    run.n_synthetic = record.n_synthetic
    run.synthetic_ratio = record.synthetic_ratio
    run.validation_gap = record.validation_gap
    run.duration_seconds = record.duration_seconds
    run.peak_memory_bytes = record.peak_memory_bytes
    run.feature_schema = (
        [field.model_dump() for field in record.feature_schema]
        if record.feature_schema is not None
        else None
    )
    run.feature_schema_hash = record.feature_schema_hash
    run.near_duplicate_ratio = record.near_duplicate_ratio
    run.neighbor_distance_quantiles = dict(record.neighbor_distance_quantiles)
    run.code_version = record.code_version
    run.model_version = record.model_version
    run.tags = dict(record.tags)
    run.error = record.error
    run.profile_error = record.profile_error
    run.report = record.report
    run.content_hash = content_hash
    run.attempts = run.attempts or 1
    run.gate_passed = record.gate.passed if record.gate is not None else None
    run.gate_checks = (
        [check.model_dump() for check in record.gate.checks] if record.gate is not None else []
    )
    run.leakage_suspected = record.leakage.suspected if record.leakage is not None else None
    run.leakage_evidence = record.leakage.evidence if record.leakage is not None else None
    run.metrics = [
        RunMetric(split=split, metric=name, value=value)
        for split, values in record.metrics.items()
        for name, value in values.items()
    ]
    run.audit_rows = [
        AuditRow(position=i, **row.model_dump()) for i, row in enumerate(record.audit_sample)
    ]
