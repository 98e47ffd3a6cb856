"""``Monitor``: the handle training pipelines hold — ``track_run``, ``observe_run``, ``record``."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smote_monitor.config import Settings, load_settings, resolve_settings
from smote_monitor.drift.reference import Profiles
from smote_monitor.errors import InvalidInputError
from smote_monitor.records import RunRecord, RunStatus, parse_finished_record
from smote_monitor.store import Store
from smote_monitor.store.runs import SaveOutcome
from smote_monitor.tracking.gate import evaluate_gate
from smote_monitor.tracking.persist import STORE_UNUSABLE, persist_runs, record_label
from smote_monitor.tracking.run import TrackedRun
from smote_monitor.tracking.spool import ReplayResult, Spool

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recorded:
    """One record of :meth:`Monitor.record_many`: the run as validated, and what storing it did
    (``None``: the store was down and it was spooled)."""

    record: RunRecord
    outcome: SaveOutcome | None

    @property
    def action(self) -> str:
        return self.outcome.action if self.outcome is not None else "spooled"


class Monitor:
    """Records SMOTE runs in the store.

    Examples
    --------
    >>> mon = Monitor.from_url("sqlite:///smote-monitor.db")          # doctest: +SKIP
    >>> with mon.track_run(dataset="fraud", run_key="2026-11-28") as run:  # doctest: +SKIP
    ...     X_res, y_res = run.resample(SMOTE(random_state=0), X_train, y_train)
    ...     run.log_validation(train={"f1": 0.95}, validation={"f1": 0.88, "recall": 0.83,
    ...                        "precision": 0.74}, X_val=X_val, y_val=y_val)
    """

    def __init__(self, settings: Settings, *, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store if store is not None else Store(settings.database_url)
        self.spool = Spool(settings.spool_dir)

    @classmethod
    def from_url(
        cls,
        database_url: str,
        *,
        spool_dir: str | os.PathLike[str] | None = None,
        strict: bool | None = None,
    ) -> Monitor:
        """A monitor on the store at ``database_url`` with default SLOs.

        ``strict=True`` raises :class:`StoreUnavailableError` (or ``SchemaOutdatedError``)
        instead of spooling when the store is down (or its schema is behind). ``spool_dir`` and
        ``strict`` default to the settings (``SMOTE_MONITOR_SPOOL_DIR``,
        ``SMOTE_MONITOR_STRICT``).
        """
        settings = resolve_settings(database_url=database_url, discover=False)
        update: dict[str, Any] = {}
        if strict is not None:
            update["strict"] = strict
        if spool_dir is not None:
            update["spool_dir"] = os.fspath(spool_dir)
        return cls(settings.model_copy(update=update))

    @classmethod
    def from_config(cls, path: str | os.PathLike[str]) -> Monitor:
        return cls(load_settings(path))

    def track_run(
        self,
        dataset: str,
        run_key: str | None = None,
        *,
        tags: dict[str, str] | None = None,
        code_version: str | None = None,
        model_version: str | None = None,
    ) -> TrackedRun:
        """Open a run; see :class:`TrackedRun`. The same (dataset, run_key) is one run."""
        return TrackedRun(self, dataset, run_key, tags or {}, code_version, model_version)

    def observe_run(
        self,
        *,
        dataset: str,
        X_before: Any,
        y_before: Any,
        X_after: Any,
        y_after: Any,
        params: dict[str, Any] | None = None,
        variant: str = "SMOTE",
        run_key: str | None = None,
        train: dict[str, float] | None = None,
        validation: dict[str, float] | None = None,
        X_val: Any = None,
        y_val: Any = None,
        tags: dict[str, str] | None = None,
        client: Client | None = None,
    ) -> RunRecord:
        """Record a resampling done elsewhere (e.g. with imbalanced-learn) in one call.

        Every argument is validated before the store is touched: bad input raises
        :class:`InvalidInputError` and leaves no run behind (no ``running`` row, no ``failed``
        run).

        A training set that does not fit in memory may be given as Dask collections:
        ``X_before, X_after`` as ``dask.dataframe.DataFrame`` and ``y_before, y_after`` as
        ``dask.dataframe.Series`` (all four or none). The run is then counted and profiled
        partition by partition on the cluster of ``client`` (default: the client running in
        this process), and records what the same rows computed would give; ``X_val, y_val``
        are held in memory (Dask ones are computed). See :mod:`smote_monitor.tracking.on_dask`.
        """
        run = self.track_run(dataset, run_key, tags=tags)
        # Refused before the training data are counted (on a cluster, perhaps).
        merged = run.check_validation(train=train, validation=validation, X_val=X_val, y_val=y_val)
        run.observe(
            X_before,
            y_before,
            X_after,
            y_after,
            params=params or {},
            variant=variant,
            client=client,
        )
        run._log_checked_validation(merged, X_val, y_val)
        run._store(None)
        assert run.record is not None
        return run.record

    def record(self, record: RunRecord | dict[str, Any]) -> SaveOutcome | None:
        """Validate and store a complete run record (what ``smote-monitor record`` does).

        The gate is always evaluated here, against the dataset's SLO: a record carrying ``gate``
        or ``leakage`` is refused (:class:`InvalidInputError`), since those are smote-monitor's
        findings, not a client's (leakage needs the validation data: ``track_run`` or
        ``observe_run`` with ``X_val, y_val``). Returns None when the store was down and the
        record was spooled.
        """
        return self._persist([(self._finished(record), None)])[0]

    def record_many(self, records: Sequence[RunRecord | dict[str, Any]]) -> list[Recorded]:
        """Validate and store several run records all or nothing, in one transaction.

        Every record is validated before the store is touched, and a conflict with a stored run
        writes none of them; either error names the record (``record 1 (fraud/k1): …``) when
        there are several. When the store is down every record is spooled.
        """
        parsed = []
        for index, item in enumerate(records):
            try:
                parsed.append(self._finished(item))
            except InvalidInputError as exc:
                if len(records) == 1:
                    raise
                label = record_label(index, item if isinstance(item, dict) else {})
                raise exc.within(label) from None
        outcomes = self._persist([(record, None) for record in parsed])
        return [Recorded(r, o) for r, o in zip(parsed, outcomes, strict=True)]

    def _finished(self, record: RunRecord | dict[str, Any]) -> RunRecord:
        parsed = parse_finished_record(record)
        config = self.settings.recorded_dataset(parsed.dataset)
        if parsed.status is RunStatus.SUCCEEDED:
            parsed.gate = evaluate_gate(parsed, config.slo)
        return parsed

    def persist(self, record: RunRecord, profiles: Profiles | None = None) -> SaveOutcome | None:
        return self._persist([(record, profiles)])[0]

    def _persist(
        self, runs: Sequence[tuple[RunRecord, Profiles | None]]
    ) -> list[SaveOutcome | None]:
        """Store the runs in one transaction; spool each of them when the store is down."""
        try:
            outcomes: list[SaveOutcome | None] = list(persist_runs(self.store, runs))
        except STORE_UNUSABLE as exc:
            if self.settings.strict:
                raise
            for record, profiles in runs:
                self._spool(record, profiles, exc)
            return [None] * len(runs)
        if self.spool.pending():
            self.replay_spool()
        return outcomes

    def _spool(self, record: RunRecord, profiles: Profiles | None, down: Exception) -> None:
        """Keep a run the store could not take; never raise (training must not die for it).

        When the spool cannot be written either (disk full, read-only directory) the run is
        lost to monitoring: the error log names both failures. Strict mode never gets here, it
        raised the store's error already.
        """
        try:
            path = self.spool.put(self.store, record, profiles)
        except OSError as exc:
            log.error(
                "run %s/%s is NOT recorded: store unavailable (%s), and it could not be spooled "
                "to %s either (%s)",
                record.dataset,
                record.run_key,
                down,
                self.spool.directory,
                exc,
            )
            return
        log.warning(
            "store unavailable (%s); run %s/%s spooled to %s, it will be stored on the next "
            "successful write or by `smote-monitor spool replay`",
            down,
            record.dataset,
            record.run_key,
            path,
        )

    def replay_spool(self) -> ReplayResult:
        """Store the spooled runs meant for this store (after every successful write).

        Entries meant for another store, and old entries that name none, stay in the spool.
        """
        result = self.spool.replay(self.store)
        if result.stored or result.duplicates:
            log.info("spool replay: %d stored, %d already stored", result.stored, result.duplicates)
        for url, count in result.waiting.items():
            log.info(
                "spool: %d %s for %s, not this store (%s); left in %s",
                count,
                "entry waits" if count == 1 else "entries wait",
                url,
                self.store.url_for_display,
                self.spool.directory,
            )
        if result.untargeted:
            log.warning(
                "spool: %d %s no store (spooled by an older smote-monitor) and %s not replayed "
                "automatically; `smote-monitor spool replay --into-current-store` stores them here",
                result.untargeted,
                "entry names" if result.untargeted == 1 else "entries name",
                "is" if result.untargeted == 1 else "are",
            )
        return result

    def close(self) -> None:
        self.store.dispose()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
