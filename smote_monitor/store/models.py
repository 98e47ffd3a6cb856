"""SQLAlchemy 2 typed models of the store. Alembic migrations (``smote_monitor/migrations``)
create and evolve these tables; a test checks the two agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("dataset_id", "run_key", name="uq_runs_dataset_run_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    run_key: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    variant: Mapped[str | None] = mapped_column(String(32))
    params: Mapped[dict[str, Any]]
    seed: Mapped[int | None] = mapped_column(BigInteger)
    class_counts_before: Mapped[dict[str, Any]]
    class_counts_after: Mapped[dict[str, Any]]
    n_synthetic: Mapped[int | None] = mapped_column(BigInteger)
    synthetic_ratio: Mapped[float | None] = mapped_column(Float)
    validation_gap: Mapped[float | None] = mapped_column(Float)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    feature_schema: Mapped[list[Any] | None]
    feature_schema_hash: Mapped[str | None] = mapped_column(String(128))
    near_duplicate_ratio: Mapped[float | None] = mapped_column(Float)
    neighbor_distance_quantiles: Mapped[dict[str, Any]]
    code_version: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any] | None]
    content_hash: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    gate_passed: Mapped[bool | None] = mapped_column(Boolean)
    gate_checks: Mapped[list[Any]]
    # Added by migration 0002 (leakage check).
    leakage_suspected: Mapped[bool | None] = mapped_column(Boolean)
    leakage_evidence: Mapped[dict[str, Any] | None]
    # Added by migration 0004: why a succeeded run has no training profiles.
    profile_error: Mapped[str | None] = mapped_column(Text)

    dataset: Mapped[Dataset] = relationship(lazy="joined")
    metrics: Mapped[list[RunMetric]] = relationship(
        cascade="all, delete-orphan", order_by="RunMetric.id", lazy="selectin"
    )
    audit_rows: Mapped[list[AuditRow]] = relationship(
        cascade="all, delete-orphan", order_by="AuditRow.position", lazy="selectin"
    )


class RunMetric(Base):
    __tablename__ = "run_metrics"
    __table_args__ = (UniqueConstraint("run_id", "split", "metric", name="uq_run_metrics_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    split: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)


class AuditRow(Base):
    """Provenance sample of a run: which real rows each audited synthetic row came from."""

    __tablename__ = "run_audit_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    parent: Mapped[int] = mapped_column(BigInteger)
    neighbor: Mapped[int] = mapped_column(BigInteger)
    gap: Mapped[float] = mapped_column(Float)
    row: Mapped[int | None] = mapped_column(BigInteger)
    distance: Mapped[float | None] = mapped_column(Float)


class ReferenceProfile(Base):
    """What drift computations need of one feature of a run's training data (migration 0003).

    ``split`` is ``real`` (the pre-SMOTE rows) or ``augmented`` (after SMOTE); ``payload`` is
    ``FeatureProfile.to_dict()``.
    """

    __tablename__ = "reference_profiles"
    __table_args__ = (
        UniqueConstraint("run_id", "split", "feature", name="uq_reference_profiles_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    split: Mapped[str] = mapped_column(String(16))
    feature: Mapped[str] = mapped_column(String(200))
    column_type: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    n: Mapped[int] = mapped_column(BigInteger)
    n_missing: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]]


class Evaluation(Base):
    """One evaluation of a dataset's production window against a reference (migration 0003)."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    reference_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(24))  # production | synthetic_shift
    window: Mapped[str] = mapped_column(String(64))
    evaluated_at: Mapped[datetime] = mapped_column(index=True)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    n_rows: Mapped[int] = mapped_column(BigInteger)
    n_labeled: Mapped[int] = mapped_column(BigInteger)
    drift_share: Mapped[float | None] = mapped_column(Float)
    dataset_drift: Mapped[bool | None] = mapped_column(Boolean)
    # Where the window was folded (migration 0008): local (one process) | dask, with the number
    # of partitions merged (NULL for local).
    engine: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    partitions: Mapped[int | None] = mapped_column(Integer)

    dataset: Mapped[Dataset] = relationship(lazy="joined")
    drift: Mapped[list[DriftResultRow]] = relationship(
        cascade="all, delete-orphan", order_by="DriftResultRow.id", lazy="selectin"
    )
    slices: Mapped[list[SliceResultRow]] = relationship(
        cascade="all, delete-orphan", order_by="SliceResultRow.id", lazy="selectin"
    )


class DriftResultRow(Base):
    __tablename__ = "drift_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), index=True
    )
    feature: Mapped[str] = mapped_column(String(200))
    column_type: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)  # NaN is stored as NULL
    threshold: Mapped[float | None] = mapped_column(Float)  # NULL when flagged (migration 0005)
    drifted: Mapped[bool] = mapped_column(Boolean)
    mode: Mapped[str] = mapped_column(String(16))
    n_reference: Mapped[int] = mapped_column(BigInteger)
    n_current: Mapped[int] = mapped_column(BigInteger)


class SliceResultRow(Base):
    __tablename__ = "slice_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), index=True
    )
    slice: Mapped[str] = mapped_column(String(300))
    tp: Mapped[int] = mapped_column(BigInteger)
    fp: Mapped[int] = mapped_column(BigInteger)
    tn: Mapped[int] = mapped_column(BigInteger)
    fn: Mapped[int] = mapped_column(BigInteger)
    support: Mapped[int] = mapped_column(BigInteger)
    sufficient: Mapped[bool] = mapped_column(Boolean)
    recall: Mapped[float | None] = mapped_column(Float)
    recall_lower: Mapped[float | None] = mapped_column(Float)
    recall_upper: Mapped[float | None] = mapped_column(Float)
    precision: Mapped[float | None] = mapped_column(Float)
    precision_lower: Mapped[float | None] = mapped_column(Float)
    precision_upper: Mapped[float | None] = mapped_column(Float)
    f1: Mapped[float | None] = mapped_column(Float)
    f1_lower: Mapped[float | None] = mapped_column(Float)
    f1_upper: Mapped[float | None] = mapped_column(Float)
    false_positive_rate: Mapped[float | None] = mapped_column(Float)
    false_positive_rate_lower: Mapped[float | None] = mapped_column(Float)
    false_positive_rate_upper: Mapped[float | None] = mapped_column(Float)


ID_MAX = 200
"""Longest prediction id (as text) the late-label join keeps."""
VALUE_MAX = 200
"""Longest class or slice value (as text) kept per prediction."""
SLICE_SEPARATOR = "\x1f"
"""Joins a prediction's (column, value) pairs in one column (the unit separator)."""
PAIR_SEPARATOR = "\x1e"
"""Between a slice column and its value (the record separator); neither may contain it."""


class PendingPrediction(Base):
    """A labelled-or-not production prediction within the label lookback (migration 0005).

    One row per (dataset, prediction id): a push writes only its own rows, and a label finds
    its prediction by the unique key. ``outcome`` is what was counted once labelled, so a
    corrected label is counted under its new outcome; rows expire in bulk by ``ts``.
    """

    __tablename__ = "pending_predictions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "key", name="uq_pending_predictions_key"),
        Index("ix_pending_predictions_dataset_ts", "dataset_id", "ts"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    key: Mapped[str] = mapped_column(String(ID_MAX))
    ts: Mapped[float] = mapped_column(Float)  # Unix seconds of the prediction
    prediction: Mapped[str] = mapped_column(String(VALUE_MAX))
    # The prediction's slice columns and values (store.slice_state.join_slices).
    slices: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(2))
    label: Mapped[str | None] = mapped_column(String(VALUE_MAX))


class EarlyLabel(Base):
    """A label that arrived before its prediction; it waits for it up to the lookback."""

    __tablename__ = "early_labels"
    __table_args__ = (
        UniqueConstraint("dataset_id", "key", name="uq_early_labels_key"),
        Index("ix_early_labels_dataset_ts", "dataset_id", "ts"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    key: Mapped[str] = mapped_column(String(ID_MAX))
    ts: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(VALUE_MAX))


class StagedBatch(Base):
    """Feature columns of accepted predictions waiting to be folded into their time buckets.

    A push stays O(batch): it appends one row here; the evaluation job folds the staged rows
    into the buckets' drift profiles and deletes them in one transaction.
    """

    __tablename__ = "staged_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    n_rows: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # Arrow IPC stream: ts + features
    created_at: Mapped[datetime]


class WindowBucket(Base):
    """Mergeable accumulators of one time bucket of a dataset's production rows.

    ``profiles`` (drift, against the reference run ``reference_run_id``) and ``slice_counts``
    (labelled predictions made in the bucket) merge into any rolling window the buckets cover.
    """

    __tablename__ = "window_buckets"
    __table_args__ = (UniqueConstraint("dataset_id", "start", name="uq_window_buckets_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    start: Mapped[float] = mapped_column(Float)  # Unix seconds
    width: Mapped[int] = mapped_column(Integer)  # seconds
    reference_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    n_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    n_labeled: Mapped[int] = mapped_column(BigInteger, default=0)
    profiles: Mapped[dict[str, Any] | None]
    slice_counts: Mapped[dict[str, Any] | None]


class Counter(Base):
    """A monotonic total exported as a Prometheus counter (never decreases, any replica)."""

    __tablename__ = "counters"
    __table_args__ = (
        UniqueConstraint("dataset_id", "name", "slice", "outcome", name="uq_counters_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    name: Mapped[str] = mapped_column(String(48))
    slice: Mapped[str] = mapped_column(String(300), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="")
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Watermark(Base):
    """How far a production source has been read; written with the results it produced."""

    __tablename__ = "watermarks"
    __table_args__ = (UniqueConstraint("dataset_id", "source", name="uq_watermarks_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    source: Mapped[str] = mapped_column(String(64))
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class QuarantinedFile(Base):
    """A production file that could not be read (corrupt, wrong schema): kept out, listed."""

    __tablename__ = "quarantined_files"
    __table_args__ = (UniqueConstraint("dataset_id", "path", name="uq_quarantined_files_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    path: Mapped[str] = mapped_column(String(1000))
    reason: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[float] = mapped_column(Float)
    quarantined_at: Mapped[datetime]


class JobStat(Base):
    """Runs, failures and durations of one scheduled job, shared by every replica."""

    __tablename__ = "job_stats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(128), unique=True)
    runs: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(BigInteger, default=0)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    duration_sum: Mapped[float] = mapped_column(Float, default=0.0)
    duration_buckets: Mapped[list[Any]]  # cumulative counts per histogram bound


class Lease(Base):
    """Who runs the scheduled jobs on a store without advisory locks (SQLite)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    renewed_at: Mapped[datetime]
    expires_at: Mapped[datetime]
