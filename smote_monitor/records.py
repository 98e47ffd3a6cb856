"""The run record: the one validated shape of a SMOTE run, whatever door it came in by.

The Python API, ``smote-monitor record``, the HTTP API and the spool all build a
:class:`RunRecord`; validation happens here once. Every error names the field, the value and what
was expected, and is raised before anything is written.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, NoReturn, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from smote_monitor import jsonio
from smote_monitor.config import DATASET_NAME_EXPECTED, DATASET_NAME_PATTERN
from smote_monitor.conventions import (
    OUTCOME_ERROR,
    OUTCOME_GATE_FAILED,
    OUTCOME_PASSED,
    OUTCOME_RUNNING,
    SPLITS,
)
from smote_monitor.errors import InvalidInputError


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


KNOWN_VARIANTS: tuple[str, ...] = (
    # smote_core and imbalanced-learn over-samplers and combinations.
    "SMOTE",
    "BorderlineSMOTE",
    "ADASYN",
    "SMOTENC",
    "SMOTEN",
    "SVMSMOTE",
    "KMeansSMOTE",
    "SMOTETomek",
    "SMOTEENN",
    "RandomOverSampler",
    # Any other object with fit_resample; its class is kept in params["sampler_class"].
    "custom",
)
# The store's column sizes (store/models.py); a test stores a value at each limit.
RUN_KEY_MAX = 128
METRIC_NAME_MAX = 64
HASH_MAX = 128
VERSION_MAX = 200
FEATURE_NAME_MAX = 200
TAG_VALUE_MAX = 500
TEXT_MAX = 20_000

RATIO_METRICS: tuple[str, ...] = (
    "f1",
    "recall",
    "precision",
    "accuracy",
    "balanced_accuracy",
    "specificity",
    "sensitivity",
    "roc_auc",
    "pr_auc",
    "average_precision",
    "false_positive_rate",
    "false_negative_rate",
    "true_positive_rate",
    "true_negative_rate",
    "npv",
    "jaccard",
)
"""Metrics that are shares, bounded to [0, 1]. Every other metric (log_loss, mse, rmse, mae,
brier, mcc, …) need only be a finite number."""


class Outcome(StrEnum):
    """How a run ended (:attr:`RunRecord.outcome`): the words of ``conventions``, as an enum for
    the CLI's ``--status`` and the API."""

    PASSED = OUTCOME_PASSED
    GATE_FAILED = OUTCOME_GATE_FAILED
    ERROR = OUTCOME_ERROR
    RUNNING = OUTCOME_RUNNING


OUTCOMES: tuple[str, ...] = tuple(outcome.value for outcome in Outcome)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The store keeps integers in signed 64-bit columns (``BigInteger``)."""

# Numbers are strict: an int is a valid float, but text and booleans are refused rather than
# coerced (a "0.3" or a true where a ratio belongs is a bug upstream, not a ratio).
Count = Annotated[int, Field(ge=0, le=INT64_MAX, strict=True)]
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX, strict=True)]
Finite = Annotated[float, Field(strict=True, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, strict=True, allow_inf_nan=False)]
Ratio = Annotated[float, Field(ge=0.0, le=1.0, strict=True, allow_inf_nan=False)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_run_key() -> str:
    return uuid.uuid4().hex


class GateCheck(BaseModel):
    """One check of the release gate: what was measured against which target."""

    model_config = ConfigDict(extra="forbid")

    check: str
    passed: bool
    value: Finite | None
    target: str
    message: str


class GateResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passed: bool
    checks: list[GateCheck]

    @property
    def reasons(self) -> list[str]:
        """Messages of the failed checks: why the gate did not pass."""
        return [check.message for check in self.checks if not check.passed]


class LeakageResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suspected: bool
    evidence: dict[str, Any]


class ProvenanceRow(BaseModel):
    """One synthetic row's origin: x = X[parent] + gap · (X[neighbor] − X[parent]).

    ``row`` is the synthetic row's position in the resampled output, ``distance`` the
    parent–neighbour distance, when the sampler reports them.
    """

    model_config = ConfigDict(extra="forbid")

    parent: Count
    neighbor: Count
    gap: Ratio
    row: Count | None = None
    distance: NonNegative | None = None


class FeatureField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=FEATURE_NAME_MAX)]
    dtype: str


class RunInput(BaseModel):
    """A SMOTE run as a client describes it (``Monitor.record``, ``smote-monitor record``, HTTP).

    Everything a run *is*; nothing smote-monitor concludes about it. The gate and the leakage
    verdict are computed by smote-monitor and live on :class:`RunRecord` only, so this model's
    JSON Schema (``smote-monitor record --schema``) is the input format.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    dataset: str
    run_key: Annotated[str, Field(min_length=1, max_length=RUN_KEY_MAX)] = Field(
        default_factory=new_run_key
    )
    status: RunStatus = RunStatus.SUCCEEDED
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    variant: str | None = None
    params: dict[str, JsonValue] = Field(default_factory=dict)
    seed: Int64 | None = None
    class_counts_before: dict[str, Count] = Field(default_factory=dict)
    class_counts_after: dict[str, Count] = Field(default_factory=dict)
    n_synthetic: Count | None = None
    synthetic_ratio: Ratio | None = None
    duration_seconds: NonNegative | None = None
    peak_memory_bytes: Count | None = None
    feature_schema: list[FeatureField] | None = None
    feature_schema_hash: Annotated[str, Field(max_length=HASH_MAX)] | None = None
    near_duplicate_ratio: Ratio | None = None
    neighbor_distance_quantiles: dict[str, NonNegative] = Field(default_factory=dict)
    code_version: Annotated[str, Field(max_length=VERSION_MAX)] | None = None
    model_version: Annotated[str, Field(max_length=VERSION_MAX)] | None = None
    tags: dict[str, Annotated[str, Field(max_length=TAG_VALUE_MAX)]] = Field(default_factory=dict)
    error: Annotated[str, Field(max_length=TEXT_MAX)] | None = None
    # Why the run's training profiles could not be built (the run itself still succeeded).
    profile_error: Annotated[str, Field(max_length=TEXT_MAX)] | None = None
    metrics: dict[str, dict[str, Finite]] = Field(default_factory=dict)
    audit_sample: list[ProvenanceRow] = Field(default_factory=list)
    report: dict[str, Any] | None = None

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, value: str) -> str:
        if not DATASET_NAME_PATTERN.match(value):
            raise ValueError(f"expected {DATASET_NAME_EXPECTED}")
        return value

    @field_validator("run_key")
    @classmethod
    def _run_key(cls, value: str) -> str:
        if not value.isprintable() or value != value.strip():
            raise ValueError("expected printable text without leading or trailing spaces")
        return value

    @field_validator("started_at", "finished_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    @field_validator("variant")
    @classmethod
    def _variant(cls, value: str | None) -> str | None:
        if value is not None and value not in KNOWN_VARIANTS:
            raise ValueError(f"expected one of {', '.join(KNOWN_VARIANTS)}")
        return value

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for split, values in value.items():
            if split not in SPLITS:
                raise ValueError(f"split {split!r}: expected one of {', '.join(SPLITS)}")
            for name, number in values.items():
                if not 0 < len(name) <= METRIC_NAME_MAX:
                    raise InvalidInputError(
                        f"metrics.{split}", name, f"metric names of 1-{METRIC_NAME_MAX} characters"
                    )
                if name in RATIO_METRICS and not 0.0 <= number <= 1.0:
                    bound = (
                        "less than or equal to 1" if number > 1 else "greater than or equal to 0"
                    )
                    raise InvalidInputError(
                        f"metrics.{split}.{name}",
                        number,
                        f"{bound} ({name} is a ratio metric, in [0, 1])",
                    )
        return value

    @field_validator("params", "report")
    @classmethod
    def _finite_json(cls, value: dict[str, Any] | None, info: ValidationInfo) -> Any:
        if value is not None:
            check_finite(value, str(info.field_name))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # Cross-field checks raise InvalidInputError so the message names the field itself.
        if self.status is RunStatus.SUCCEEDED and self.variant is None:
            raise InvalidInputError(
                "variant", None, "the sampler variant (required for a succeeded run)"
            )
        if self.finished_at is not None and self.finished_at < self.started_at:
            raise InvalidInputError(
                "finished_at",
                self.finished_at.isoformat(),
                f"a time not before started_at ({self.started_at.isoformat()})",
            )
        if self.n_synthetic is None and self.synthetic_ratio is None:
            self.__dict__["n_synthetic"] = _added_rows(
                self.class_counts_before, self.class_counts_after
            )
        rows_after = sum(self.class_counts_after.values())
        if (
            self.n_synthetic is not None
            and self.class_counts_after
            and self.n_synthetic > rows_after
        ):
            raise InvalidInputError(
                "n_synthetic",
                self.n_synthetic,
                f"at most the rows after resampling ({rows_after})",
            )
        if self.synthetic_ratio is None and self.n_synthetic is not None and rows_after:
            self.__dict__["synthetic_ratio"] = self.n_synthetic / rows_after
        elif (
            self.synthetic_ratio is not None
            and self.n_synthetic is not None
            and rows_after
            and not math.isclose(self.synthetic_ratio, self.n_synthetic / rows_after, abs_tol=1e-6)
        ):
            raise InvalidInputError(
                "synthetic_ratio",
                self.synthetic_ratio,
                f"n_synthetic / rows after resampling = {self.n_synthetic / rows_after:.6g}",
            )
        return self

    @property
    def validation_gap(self) -> float | None:
        """Train minority F1 minus validation minority F1, when both were logged."""
        train = self.metrics.get("train", {}).get("f1")
        validation = self.metrics.get("validation", {}).get("f1")
        if train is None or validation is None:
            return None
        return train - validation

    def content_hash(self) -> str:
        """Hash of what makes two records of one run_key the same run.

        Timing, memory, timestamps and tags are left out: a retried upload of the same run must be
        recognised as the same run even though its clock readings differ.
        """
        content = self.model_dump(
            mode="json",
            include={
                "dataset",
                "run_key",
                "status",
                "variant",
                "params",
                "seed",
                "class_counts_before",
                "class_counts_after",
                "n_synthetic",
                "synthetic_ratio",
                "feature_schema_hash",
                "metrics",
                "code_version",
                "model_version",
            },
        )
        canonical = jsonio.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class RunRecord(RunInput):
    """A SMOTE run as stored: its input plus what smote-monitor computed (gate, leakage).

    Build with :func:`parse_run_record` to get field-naming errors.
    """

    gate: GateResult | None = None
    leakage: LeakageResult | None = None

    @property
    def outcome(self) -> Outcome:
        """How the run ended, in the one vocabulary of ``smote_runs_total{outcome}``: ``passed``,
        ``gate_failed``, ``error`` (the run failed), or ``running`` while it is open."""
        if self.status is RunStatus.RUNNING:
            return Outcome.RUNNING
        if self.status is RunStatus.FAILED:
            return Outcome.ERROR
        if self.gate is not None and not self.gate.passed:
            return Outcome.GATE_FAILED
        return Outcome.PASSED

    @field_validator("leakage")
    @classmethod
    def _finite_evidence(cls, value: LeakageResult | None) -> LeakageResult | None:
        if value is not None:
            check_finite(value.evidence, "leakage.evidence")
        return value


COMPUTED = "computed"
"""The key under which ``runs show --json`` prints what smote-monitor computed about a run."""
COMPUTED_BY_MONITOR = ("gate", "leakage")
"""Fields a client may never send: smote-monitor computes them itself."""


def input_schema(ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
    """The JSON Schema of what ``smote-monitor record`` (and the API) accepts: the input model,
    plus the ``computed`` object of ``runs show --json``, accepted and discarded."""
    schema = RunInput.model_json_schema(ref_template=ref_template)
    schema["properties"][COMPUTED] = {
        "type": "object",
        "title": "Computed",
        "description": "What `runs show --json` prints about a stored run (id, outcome, "
        "validation_gap, gate, leakage). Discarded on input: smote-monitor computes it again.",
    }
    return schema


def run_document(run_id: int, record: RunRecord, *, report: bool = True) -> dict[str, Any]:
    """A stored run as JSON (``runs show --json``, ``runs list --json``, the API).

    The run's input fields at top level, exactly what ``smote-monitor record`` accepts, and what
    smote-monitor computed under ``"computed"``, which ``record`` discards and computes again:
    the output can be recorded back, and a client's claim can never pass for a finding.
    """
    document = record.model_dump(
        mode="json", exclude={*COMPUTED_BY_MONITOR, *(() if report else ("report",))}
    )
    document[COMPUTED] = {
        "id": run_id,
        "outcome": record.outcome.value,
        "validation_gap": record.validation_gap,
        "gate": record.gate.model_dump(mode="json") if record.gate is not None else None,
        "leakage": record.leakage.model_dump(mode="json") if record.leakage is not None else None,
    }
    return document


def _added_rows(before: dict[str, int], after: dict[str, int]) -> int | None:
    """Synthetic rows of an over-sampler, from the class counts: after − before.

    Only when that is what they mean: the same classes on both sides and none of them shrank
    (SMOTETomek and SMOTEENN also remove rows, so their difference is not a synthetic count).
    """
    if not before or set(before) != set(after):
        return None
    if any(after[label] < count for label, count in before.items()):
        return None
    return sum(after.values()) - sum(before.values())


def check_finite(value: Any, path: str) -> None:
    """Refuse NaN and ±inf anywhere inside a JSON value, naming where (``params.k.0``).

    JSON has no such numbers: PostgreSQL refuses them, SQLite would keep them and hand every
    reader of the row invalid JSON.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInputError(path, value, "a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            check_finite(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_finite(item, f"{path}.{index}")


def parse_run_record(data: Any) -> RunRecord:
    """Validate a mapping (parsed JSON, API arguments) into a :class:`RunRecord`.

    Raises
    ------
    InvalidInputError
        For the first bad field, naming its path, the value and what was expected.
    """
    if isinstance(data, RunRecord):
        return data
    if not isinstance(data, dict):
        raise InvalidInputError("record", data, "a JSON object with at least 'dataset'")
    try:
        return RunRecord.model_validate(data)
    except ValidationError as exc:
        raise to_input_error(exc) from None


def parse_finished_record(data: Any) -> RunRecord:
    """Validate a run recorded from outside (``Monitor.record``, ``smote-monitor record``).

    As :func:`parse_run_record`, minus what smote-monitor computes: a record carrying ``gate`` or
    ``leakage`` is refused; a ``computed`` object (what ``runs show --json`` prints) is discarded.
    And the run must have finished: ``running`` is the state
    ``track_run`` keeps while its block is open, never something to record.
    """
    if isinstance(data, RunRecord):
        claimed = [name for name in COMPUTED_BY_MONITOR if getattr(data, name) is not None]
        if claimed:
            _refuse_computed(claimed[0], getattr(data, claimed[0]))
    elif isinstance(data, dict):
        for name in COMPUTED_BY_MONITOR:
            if name in data:
                _refuse_computed(name, data[name])
        if COMPUTED in data:
            if not isinstance(data[COMPUTED], dict):
                raise InvalidInputError(
                    COMPUTED,
                    data[COMPUTED],
                    "an object (what `runs show --json` prints there; it is discarded and "
                    "computed again)",
                )
            data = {key: value for key, value in data.items() if key != COMPUTED}
    record = parse_run_record(data)
    if record.status is RunStatus.RUNNING:
        raise InvalidInputError(
            "status",
            record.status.value,
            "'succeeded' or 'failed': a recorded run has finished (track_run records a run in "
            "progress)",
        )
    return record


def _refuse_computed(name: str, value: Any) -> NoReturn:
    raise InvalidInputError(
        name,
        value,
        "no such field in a recorded run: the gate and the leakage verdict are computed by "
        "smote-monitor from the metrics, the dataset's SLO and the validation data "
        "(track_run/observe_run with X_val, y_val), never accepted from a client",
    )


def to_input_error(exc: ValidationError) -> InvalidInputError:
    """The first error of a record's validation, naming its field, value and expectation."""
    item = exc.errors()[0]
    raised = item.get("ctx", {}).get("error")
    if isinstance(raised, InvalidInputError):
        return raised
    field = ".".join(str(part) for part in item["loc"]) or "record"
    if item["type"] == "missing":
        return InvalidInputError(field, None, "a value (the field is required)")
    if item["type"] == "extra_forbidden":
        return InvalidInputError(field, item.get("input"), "no such field (unknown key)")
    # Pydantic says "Input should be …"; our validators say "expected …": keep the "…".
    message: str = item["msg"].removeprefix("Value error, ")
    expected = message.removeprefix("Input should be ").removeprefix("expected ") or "a valid value"
    return InvalidInputError(field, item.get("input"), expected)
