"""``TrackedRun``: one SMOTE run in progress, from ``Monitor.track_run`` to its stored record."""

from __future__ import annotations

import logging
import traceback
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from smote_core import Measure
from smote_monitor.drift.reference import Profiles, training_profiles
from smote_monitor.errors import InvalidInputError
from smote_monitor.records import (
    TEXT_MAX,
    RunRecord,
    RunStatus,
    parse_run_record,
    to_input_error,
    utcnow,
)
from smote_monitor.tracking.gate import evaluate_gate
from smote_monitor.tracking.leakage import check_leakage
from smote_monitor.tracking.persist import STORE_UNUSABLE, open_run
from smote_monitor.tracking.resampling import (
    check_xy,
    dask_inputs,
    describe_resampling,
    is_dask,
    sampler_params,
    variant_of,
)

if TYPE_CHECKING:
    from distributed import Client

    from smote_monitor.records import LeakageResult
    from smote_monitor.tracking.monitor import Monitor

log = logging.getLogger(__name__)


class TrackedRun:
    """One SMOTE run in progress; use as a context manager from :meth:`Monitor.track_run`.

    Entering marks the run ``running`` in the store (or notes that the store is down). Leaving
    stores it ``succeeded`` with its gate result, or ``failed`` with the error text when the block
    raised; the block's exception is re-raised, even when storing the failure fails (that is
    logged).
    """

    def __init__(
        self,
        monitor: Monitor,
        dataset: str,
        run_key: str | None,
        tags: dict[str, str],
        code_version: str | None,
        model_version: str | None,
    ) -> None:
        fields: dict[str, Any] = {
            "dataset": dataset,
            "status": RunStatus.RUNNING,
            "tags": tags,
            "code_version": code_version,
            "model_version": model_version,
        }
        if run_key is not None:
            fields["run_key"] = run_key
        self._draft = parse_run_record(fields)  # bad names fail here, before any training
        monitor.settings.recorded_dataset(dataset)
        self._monitor = monitor
        self._fields: dict[str, Any] = {}
        self._metrics: dict[str, dict[str, float]] = {}
        self._data: tuple[Any, Any, Any, Any] | None = None
        self._validation_data: tuple[Any, Any] | None = None
        self._profiles: Profiles | None = None
        self._client: Client | None = None
        """The cluster that holds the run's training data, when it is on Dask."""
        self.run_id: int | None = None
        self.record: RunRecord | None = None

    @property
    def dataset(self) -> str:
        return self._draft.dataset

    @property
    def run_key(self) -> str:
        return self._draft.run_key

    def __enter__(self) -> TrackedRun:
        try:
            self.run_id = open_run(
                self._monitor.store, self.dataset, self.run_key, self._draft.started_at
            )
        except STORE_UNUSABLE as exc:
            if self._monitor.settings.strict:
                raise
            log.warning(
                "store unavailable (%s); run %s/%s continues and will be spooled",
                exc,
                self.dataset,
                self.run_key,
            )
        return self

    def resample(self, sampler: Any, X: Any, y: Any) -> tuple[Any, Any]:
        """Call ``sampler.fit_resample(X, y)``, record what it did, and return its output."""
        if not callable(getattr(sampler, "fit_resample", None)):
            raise InvalidInputError(
                "sampler", sampler, "an object with a fit_resample(X, y) method"
            )
        with Measure() as measurement:
            X_res, y_res = sampler.fit_resample(X, y)
        measurement.holds(*_new_outputs((X, y), (X_res, y_res)))
        report = getattr(sampler, "report_", None)
        to_dict = getattr(report, "to_dict", None)
        report_dict = to_dict() if callable(to_dict) else None
        fields = describe_resampling(
            X_before=X,
            y_before=y,
            X_after=X_res,
            y_after=y_res,
            params=sampler_params(sampler),
            variant=variant_of(sampler),
            report=report_dict,
            measurement=measurement,
        )
        if variant_of(sampler) == "custom":
            fields["params"]["sampler_class"] = type(sampler).__qualname__
        self._check(**fields)
        self._data = (X, y, X_res, y_res)
        self._fields = fields
        self._client = None
        self._profile(X, X_res)
        return X_res, y_res

    def _check(self, **changes: Any) -> None:
        """Validate the run as it would be stored with ``changes``.

        A value the record cannot hold is refused here, by the call that passed it, while the
        pipeline can still react — not when the block ends after training.
        """
        parse_run_record(
            {**self._draft.model_dump(), **self._fields, "metrics": self._metrics, **changes}
        )

    def _profile(self, X_real: Any, X_augmented: Any) -> None:
        config = self._monitor.settings.dataset(self.dataset)
        self._profiles, error = training_profiles(
            X_real, X_augmented, self._fields["feature_schema"], config
        )
        if error is not None:
            self._fields["profile_error"] = error

    def observe(
        self,
        X_before: Any,
        y_before: Any,
        X_after: Any,
        y_after: Any,
        *,
        params: dict[str, Any],
        variant: str,
        client: Client | None = None,
    ) -> None:
        """Record a resampling that happened elsewhere.

        ``X_before, X_after`` may be ``dask.dataframe.DataFrame`` and ``y_before, y_after``
        ``dask.dataframe.Series`` (all four or none): the run is then counted and profiled on
        the cluster of ``client`` (default: the client running in this process), with the
        values of the in-memory path; see :mod:`smote_monitor.tracking.on_dask`.
        """
        if dask_inputs(X_before=X_before, y_before=y_before, X_after=X_after, y_after=y_after):
            self._observe_on_dask(
                X_before, y_before, X_after, y_after, params=params, variant=variant, client=client
            )
            return
        fields = describe_resampling(
            X_before=X_before,
            y_before=y_before,
            X_after=X_after,
            y_after=y_after,
            params=params,
            variant=variant,
        )
        self._check(**fields)
        self._data = (X_before, y_before, X_after, y_after)
        self._fields = fields
        self._client = None
        self._profile(X_before, X_after)

    def _observe_on_dask(
        self,
        X_before: Any,
        y_before: Any,
        X_after: Any,
        y_after: Any,
        *,
        params: dict[str, Any],
        variant: str,
        client: Client | None,
    ) -> None:
        """:meth:`observe` of Dask collections: the same fields, counted on the cluster; the
        run keeps the client for its leakage check."""
        from smote_monitor.tracking import on_dask

        client = on_dask.resolve_client(client)
        # What the record can refuse without the data is refused before the cluster works.
        self._check(variant=variant, params=params)
        fields = on_dask.describe_resampling(
            client,
            X_before=X_before,
            y_before=y_before,
            X_after=X_after,
            y_after=y_after,
            params=params,
            variant=variant,
        )
        self._check(**fields)
        config = self._monitor.settings.dataset(self.dataset)
        profiles, error = on_dask.run_profiles(
            client, X_before, X_after, fields["feature_schema"], config
        )
        if error is not None:
            fields["profile_error"] = error
        self._data = (X_before, y_before, X_after, y_after)
        self._fields = fields
        self._client = client
        self._profiles = profiles

    def log_validation(
        self,
        *,
        train: dict[str, float] | None = None,
        validation: dict[str, float] | None = None,
        test: dict[str, float] | None = None,
        X_val: Any = None,
        y_val: Any = None,
    ) -> None:
        """Minority-class metrics per split: ratios (f1, recall, precision, roc_auc, … — see
        :data:`smote_monitor.records.RATIO_METRICS`) in [0, 1], any other metric (log_loss,
        mse, …) a finite number.

        With ``X_val, y_val`` the run is also checked for leakage of synthetic rows into
        validation.
        """
        merged = self.check_validation(
            train=train, validation=validation, test=test, X_val=X_val, y_val=y_val
        )
        self._log_checked_validation(merged, X_val, y_val)

    def _log_checked_validation(
        self, merged: dict[str, dict[str, float]], X_val: Any, y_val: Any
    ) -> None:
        """:meth:`log_validation` after its :meth:`check_validation` (which returned
        ``merged``): Dask ``X_val, y_val`` are computed and checked, then the run changes."""
        if X_val is not None and (is_dask(X_val) or is_dask(y_val)):
            from smote_monitor.tracking.on_dask import in_memory

            X_val, y_val = in_memory(self._client, X_val, y_val)
            check_xy("X_val", X_val, "y_val", y_val)
        # Only a call whose every argument is valid changes the run.
        self._metrics.update(merged)
        if X_val is not None:
            self._validation_data = (X_val, y_val)

    def check_validation(
        self,
        *,
        train: dict[str, float] | None = None,
        validation: dict[str, float] | None = None,
        test: dict[str, float] | None = None,
        X_val: Any = None,
        y_val: Any = None,
    ) -> dict[str, dict[str, float]]:
        """What :meth:`log_validation` refuses without computing anything on a cluster: the
        metrics, ``X_val`` and ``y_val`` given together, and in-memory ones of equal length.
        Changes nothing; returns the metrics merged with those logged before.
        """
        given = {
            k: v
            for k, v in (("train", train), ("validation", validation), ("test", test))
            if v is not None
        }
        merged = {
            split: {**self._metrics.get(split, {}), **values} for split, values in given.items()
        }
        self._check(metrics={**self._metrics, **merged})
        if (X_val is None) != (y_val is None):
            raise InvalidInputError(
                "X_val" if X_val is None else "y_val", None, "X_val and y_val given together"
            )
        if X_val is not None and not (is_dask(X_val) or is_dask(y_val)):
            check_xy("X_val", X_val, "y_val", y_val)
        return merged

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._store(exc)

    def _store(self, exc: BaseException | None) -> None:
        """Store the finished run (spooled when the store is down)."""
        record = self._finish(exc)
        self.record = record
        try:
            outcome = self._monitor.persist(record, self._profiles)
        except Exception:
            if exc is None:
                raise
            # The block's own exception is what the caller must see; a conflict or an outage
            # while recording the failure would only hide it.
            log.exception(
                "run %s/%s failed and its failure could not be stored; re-raising the run's %s",
                record.dataset,
                record.run_key,
                type(exc).__name__,
            )
            return
        if outcome is not None:
            self.run_id = outcome.run_id
            log.info(
                "run %s/%s stored as run %s (%s, gate %s)",
                record.dataset,
                record.run_key,
                outcome.run_id,
                record.status.value,
                "n/a" if record.gate is None else "passed" if record.gate.passed else "failed",
            )

    def _finish(self, exc: BaseException | None) -> RunRecord:
        """The finished run's record; never raises a validation error.

        Values are validated where they are passed, so this is a last resort: a record that is
        invalid anyway is stored ``failed`` with the reason, because the run itself has finished
        and an exception now would cost the pipeline its trained model.
        """
        # A wall clock stepped back during training must not make the run end before it began.
        finished_at = max(utcnow(), self._draft.started_at)
        try:
            return self._finished_record(exc, finished_at)
        except (InvalidInputError, ValidationError) as invalid:
            reason = invalid if isinstance(invalid, InvalidInputError) else to_input_error(invalid)
            log.error(
                "run %s/%s: the run record could not be validated (%s); it is stored as failed",
                self.dataset,
                self.run_key,
                reason,
            )
            error = f"the run record could not be validated: {reason}"
            if exc is not None:
                error = f"{_error_text(exc)}; {error}"
            fields = self._draft.model_dump(exclude={"status"})
            fields.update(status=RunStatus.FAILED, finished_at=finished_at, error=error[-TEXT_MAX:])
            return parse_run_record(fields)

    def _finished_record(self, exc: BaseException | None, finished_at: datetime) -> RunRecord:
        fields = self._draft.model_dump(exclude={"status"})
        fields.update(self._fields)
        fields["metrics"] = self._metrics
        fields["finished_at"] = finished_at
        if exc is not None:
            fields["status"] = RunStatus.FAILED
            fields["error"] = _error_text(exc)
            return parse_run_record(fields)
        if not self._fields:
            fields["status"] = RunStatus.FAILED
            fields["error"] = "the run block ended without resample() or observe()"
            return parse_run_record(fields)
        fields["status"] = RunStatus.SUCCEEDED
        if self._validation_data is not None and self._data is not None:
            fields["leakage"] = self._leakage(*self._validation_data)
        record = parse_run_record(fields)
        record.gate = evaluate_gate(record, self._monitor.settings.dataset(self.dataset).slo)
        return record

    def _leakage(self, X_val: Any, y_val: Any) -> LeakageResult:
        assert self._data is not None
        if self._client is None:
            return check_leakage(*self._data, X_val, y_val)
        from smote_monitor.tracking import on_dask

        X_real, _, X_augmented, _ = self._data
        return on_dask.check_leakage(
            self._client,
            X_real,
            X_augmented,
            self._fields["class_counts_before"],
            self._fields["class_counts_after"],
            X_val,
            y_val,
        )


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()[-TEXT_MAX:]


def _new_outputs(inputs: tuple[Any, Any], outputs: tuple[Any, Any]) -> list[Any]:
    """The outputs a sampler built afresh (not its input handed back, nor a view of it)."""
    fresh = []
    for given, returned in zip(inputs, outputs, strict=True):
        view = (
            isinstance(returned, np.ndarray)
            and isinstance(given, np.ndarray)
            and np.shares_memory(returned, given)
        )
        if returned is not given and not view:
            fresh.append(returned)
    return fresh
