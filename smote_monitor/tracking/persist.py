"""The one transaction that stores a run: its record, its training profiles and the synthetic
shift between them, together or not at all.

Every door that stores a run — ``track_run``, ``observe_run``, ``Monitor.record`` (and so
``smote-monitor record``), the spool's replay — goes through :func:`persist_run`; what must be
computed (the synthetic shift) is computed here, before the write, so the store's repositories
only read and write rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smote_monitor.drift.reference import AUGMENTED, REAL, Profiles
from smote_monitor.errors import RunConflictError, StoreUnavailableError
from smote_monitor.records import RunRecord, utcnow
from smote_monitor.store import Store
from smote_monitor.store.database import SchemaOutdatedError
from smote_monitor.store.evaluations import SYNTHETIC_SHIFT, add_evaluation, delete_shift_of_run
from smote_monitor.store.profiles import replace_profiles
from smote_monitor.store.runs import SaveOutcome, add_running, save_run

if TYPE_CHECKING:
    from smote_monitor.drift import DatasetDrift

log = logging.getLogger(__name__)

T = TypeVar("T")

STORE_UNUSABLE = (StoreUnavailableError, SchemaOutdatedError)
"""Why a store cannot take a run right now: a training job spools instead (unless strict). A
schema behind this version (PostgreSQL waits for `smote-monitor db upgrade`) is an outage of the
store, not of the run."""


def open_run(store: Store, dataset: str, run_key: str, started_at: datetime) -> int:
    """Mark the key's run ``running`` (or find it) and return its id."""
    return _write_retrying(
        store, lambda session: add_running(session, dataset, run_key, started_at).id
    )


def persist_run(store: Store, record: RunRecord, profiles: Profiles | None = None) -> SaveOutcome:
    """Store a finished run exactly once (see :func:`smote_monitor.store.runs.save_run`).

    With ``profiles`` (``{"real": {feature: profile}, "augmented": {...}}``) the run keeps them
    and the synthetic shift between the two splits is stored as its evaluation, in the same
    transaction. A new attempt under a key replaces what an earlier attempt left (profiles,
    shift); a duplicate changes nothing.
    """
    return persist_runs(store, [(record, profiles)])[0]


def persist_runs(
    store: Store, runs: Sequence[tuple[RunRecord, Profiles | None]]
) -> list[SaveOutcome]:
    """Store several finished runs all or nothing, in one transaction, as :func:`persist_run`.

    A conflict in any of them writes none; with more than one run its
    :class:`RunConflictError` names the record (``record 1 (fraud/k1): …``).
    """
    shifts = [_shift(profiles) for _, profiles in runs]

    def write(session: Session) -> list[SaveOutcome]:
        outcomes = []
        for index, ((record, profiles), shift) in enumerate(zip(runs, shifts, strict=True)):
            try:
                outcomes.append(_save(session, record, profiles, shift))
            except RunConflictError as exc:
                if len(runs) == 1:
                    raise
                raise RunConflictError(f"{record_label(index, record)}: {exc}") from exc
        return outcomes

    return _write_retrying(store, write)


def record_label(index: int, record: RunRecord | dict[str, Any]) -> str:
    """How an error names one record of several: ``record 1 (fraud/k1)``, or ``record 1``
    when it has no run key of its own yet."""
    if isinstance(record, RunRecord):
        return f"record {index} ({record.dataset}/{record.run_key})"
    dataset, run_key = record.get("dataset"), record.get("run_key")
    if isinstance(dataset, str) and isinstance(run_key, str):
        return f"record {index} ({dataset}/{run_key})"
    return f"record {index}"


def _shift(profiles: Profiles | None) -> DatasetDrift | None:
    real, augmented = (profiles or {}).get(REAL), (profiles or {}).get(AUGMENTED)
    if not (real and augmented):
        return None
    from smote_monitor.drift import synthetic_shift

    return synthetic_shift(real, augmented)


def _save(
    session: Session, record: RunRecord, profiles: Profiles | None, shift: DatasetDrift | None
) -> SaveOutcome:
    run, outcome = save_run(session, record)
    if outcome.action == "duplicate":
        return outcome
    replace_profiles(session, run.id, profiles or {})
    delete_shift_of_run(session, run.id)
    real = (profiles or {}).get(REAL)
    if shift is not None and real is not None:
        add_evaluation(
            session,
            dataset=record.dataset,
            kind=SYNTHETIC_SHIFT,
            window="run",
            evaluated_at=run.finished_at or utcnow(),
            reference_run_id=run.id,
            drift=shift,
            kinds={name: p.kind.value for name, p in real.items()},
            n_rows=sum(run.class_counts_after.values()),
        )
    return outcome


def _write_retrying(store: Store, write: Callable[[Session], T]) -> T:
    """Run ``write`` in one write transaction; once more when another process inserted the
    same run key (or dataset) between our read and our write."""
    for attempt in (1, 2):
        try:
            with store.write() as session:
                return write(session)
        except IntegrityError:
            if attempt == 2:
                raise
            log.debug("concurrent insert of the same run or dataset; retrying")
    raise AssertionError("unreachable")
