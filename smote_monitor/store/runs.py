"""Reading and writing SMOTE runs. Each write is one transaction; recording is idempotent."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

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
from smote_monitor.store.database import Store
from smote_monitor.store.models import AuditRow, Dataset, Run, RunMetric

if TYPE_CHECKING:  # the drift engine pulls in scipy.stats: keep it off the CLI's start-up path
    from smote_monitor.drift import FeatureProfile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SaveOutcome:
    """What :func:`save_run` did: ``created`` a new run, ``updated`` an open or failed one, or
    found the very same run already stored (``duplicate``)."""

    run_id: int
    action: str  # "created" | "updated" | "duplicate"


def open_run(store: Store, dataset: str, run_key: str, started_at: datetime) -> int:
    """Insert a ``running`` row for the key, or return the existing run's id."""
    for attempt in (1, 2):
        try:
            with store.write() as session:
                existing = _find(session, dataset, run_key)
                if existing is not None:
                    return existing.id
                run = Run(
                    dataset=dataset_row(session, dataset),
                    run_key=run_key,
                    status=RunStatus.RUNNING.value,
                    started_at=started_at,
                    **_EMPTY_JSON,
                )
                session.add(run)
                session.flush()
                return run.id
        except IntegrityError:
            # Another process inserted the same key (or dataset) between our read and write.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def save_run(
    store: Store,
    record: RunRecord,
    profiles: Mapping[str, Mapping[str, FeatureProfile]] | None = None,
) -> SaveOutcome:
    """Store a finished (or failed) run exactly once.

    - no run with the key: insert it;
    - the key's run is ``running`` (opened by ``track_run``) or ``failed`` (a retry): fill it in,
      counting the attempt over a failed run — unless the record is that very failure again
      (same content, error and start time: a redelivery, ``duplicate``);
    - the key's run succeeded with the same content: nothing to do (``duplicate``);
    - succeeded with different content: :class:`RunConflictError`, nothing written.

    ``profiles`` (``{"real": {feature: profile}, "augmented": {...}}``) are stored with the run,
    and the synthetic shift between the two splits is stored as an evaluation, in the same
    transaction.
    """
    content_hash = record.content_hash()
    for attempt in (1, 2):
        try:
            with store.write() as session:
                run = _find(session, record.dataset, record.run_key)
                if run is None:
                    run = Run(dataset=dataset_row(session, record.dataset), run_key=record.run_key)
                    session.add(run)
                    action = "created"
                elif _same_failure(run, record, content_hash):
                    return SaveOutcome(run.id, "duplicate")
                elif run.status == RunStatus.SUCCEEDED.value:
                    if run.content_hash == content_hash:
                        return SaveOutcome(run.id, "duplicate")
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
                if profiles:
                    _add_profiles_and_shift(session, run, profiles)
                return SaveOutcome(run.id, action)
        except IntegrityError:
            if attempt == 2:
                raise
            log.debug("run %s/%s inserted concurrently; retrying", record.dataset, record.run_key)
    raise AssertionError("unreachable")


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


def _add_profiles_and_shift(
    session: Session, run: Run, profiles: Mapping[str, Mapping[str, FeatureProfile]]
) -> None:
    from smote_monitor.drift import synthetic_shift
    from smote_monitor.store import evaluations

    evaluations.add_profiles(session, run, profiles)
    real, augmented = profiles.get(evaluations.REAL), profiles.get(evaluations.AUGMENTED)
    if not real or not augmented:
        return
    shift = synthetic_shift(real, augmented)
    evaluations.add_evaluation(
        session,
        dataset=run.dataset.name,
        kind=evaluations.SYNTHETIC_SHIFT,
        window="run",
        evaluated_at=run.finished_at or utcnow(),
        reference_run_id=run.id,
        drift=shift,
        kinds={name: p.kind.value for name, p in real.items()},
        n_rows=sum(run.class_counts_after.values()),
    )


def get_run(store: Store, run_id: int) -> Run | None:
    with store.read() as session:
        return session.get(Run, run_id)


def find_run(store: Store, dataset: str, run_key: str) -> Run | None:
    with store.read() as session:
        return _find(session, dataset, run_key)


def list_runs(
    store: Store, *, dataset: str | None = None, status: str | None = None, limit: int = 50
) -> Sequence[Run]:
    """Newest first."""
    query = select(Run).join(Run.dataset).order_by(Run.started_at.desc(), Run.id.desc())
    if dataset is not None:
        query = query.where(Dataset.name == dataset)
    if status is not None:
        query = query.where(Run.status == status)
    with store.read() as session:
        return session.scalars(query.limit(limit)).all()


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


def _find(session: Session, dataset: str, run_key: str) -> Run | None:
    query = select(Run).join(Run.dataset).where(Dataset.name == dataset, Run.run_key == run_key)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=Run)
    return session.scalars(query).one_or_none()


def dataset_row(session: Session, name: str) -> Dataset:
    """The dataset row of that name, created on first use."""
    dataset = session.scalars(select(Dataset).where(Dataset.name == name)).one_or_none()
    if dataset is None:
        dataset = Dataset(name=name, created_at=utcnow())
        session.add(dataset)
        session.flush()
    return dataset


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
