"""Every field of a run record is validated; the error names the field, value and expectation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from smote_monitor import InvalidInputError, Monitor
from smote_monitor.records import parse_run_record
from smote_monitor.store import Store
from smote_monitor.store.models import Dataset
from smote_monitor.store.runs import list_runs
from tests.store_access import read

from .cli_helpers import run_cli

VALID = {
    "dataset": "fraud",
    "run_key": "2026-11-28",
    "variant": "SMOTE",
    "params": {"k_neighbors": 5, "random_state": 0},
    "seed": 0,
    "class_counts_before": {"0": 900, "1": 100},
    "class_counts_after": {"0": 900, "1": 900},
    "n_synthetic": 800,
    "metrics": {
        "train": {"f1": 0.95},
        "validation": {"f1": 0.92, "recall": 0.85, "precision": 0.75},
    },
}

BAD = [
    ({"dataset": ""}, "dataset", "''", "1-64 characters"),
    ({"dataset": "fraud detection"}, "dataset", "'fraud detection'", "letters, digits"),
    ({"dataset": "../etc"}, "dataset", "'../etc'", "starting with a letter or digit"),
    ({"run_key": ""}, "run_key", "''", "at least 1 character"),
    ({"run_key": " padded"}, "run_key", "' padded'", "without leading or trailing spaces"),
    ({"variant": "SMOOTE"}, "variant", "'SMOOTE'", "one of SMOTE, BorderlineSMOTE"),
    ({"variant": None}, "variant", "None", "required for a succeeded run"),
    ({"status": "done"}, "status", "'done'", "'running', 'succeeded' or 'failed'"),
    ({"n_synthetic": -1}, "n_synthetic", "-1", "greater than or equal to 0"),
    ({"n_synthetic": 5000}, "n_synthetic", "5000", "at most the rows after resampling \\(1800\\)"),
    ({"n_synthetic": 1.5}, "n_synthetic", "1.5", "a valid integer"),
    ({"class_counts_before": {"0": -3}}, "class_counts_before.0", "-3", "greater than or equal"),
    ({"class_counts_after": {"1": "many"}}, "class_counts_after.1", "'many'", "a valid integer"),
    ({"synthetic_ratio": 1.2}, "synthetic_ratio", "1.2", "less than or equal to 1"),
    ({"synthetic_ratio": 0.3}, "synthetic_ratio", "0.3", "n_synthetic / rows after resampling"),
    ({"duration_seconds": -1.0}, "duration_seconds", "-1.0", "greater than or equal to 0"),
    ({"duration_seconds": float("inf")}, "duration_seconds", "inf", "finite number"),
    ({"peak_memory_bytes": -10}, "peak_memory_bytes", "-10", "greater than or equal to 0"),
    ({"metrics": {"train": {"f1": 1.5}}}, "metrics.train.f1", "1.5", "less than or equal to 1"),
    ({"metrics": {"train": {"f1": float("nan")}}}, "metrics.train.f1", "nan", "finite number"),
    ({"metrics": {"holdout": {"f1": 0.5}}}, "metrics", "", "split 'holdout': expected one of"),
    ({"params": {"alpha": float("nan")}}, "params.alpha", "nan", "a finite number"),
    ({"params": {"k": [float("nan")]}}, "params.k.0", "nan", "a finite number"),
    ({"params": {"a": {"b": [1, float("-inf")]}}}, "params.a.b.1", "-inf", "a finite number"),
    ({"report": {"quantiles": {"0.5": float("inf")}}}, "report.quantiles.0.5", "inf", "finite"),
    ({"near_duplicate_ratio": -0.1}, "near_duplicate_ratio", "-0.1", "greater than or equal"),
    (
        {"finished_at": "2020-01-01T00:00:00Z", "started_at": "2021-01-01T00:00:00Z"},
        "finished_at",
        "'2020-01-01T00:00:00\\+00:00'",
        "not before started_at",
    ),
    ({"started_at": "yesterday"}, "started_at", "'yesterday'", "valid datetime"),
    ({"colour": "red"}, "colour", "'red'", "no such field"),
    (
        {"audit_sample": [{"parent": 1, "neighbor": 2, "gap": 2.0}]},
        "audit_sample.0.gap",
        "2.0",
        "less than or equal to 1",
    ),
    # Type confusion: JSON text or booleans where numbers belong are refused, never coerced.
    ({"synthetic_ratio": "0.3", "n_synthetic": None}, "synthetic_ratio", "'0.3'", "a valid number"),
    ({"synthetic_ratio": True, "n_synthetic": None}, "synthetic_ratio", "True", "a valid number"),
    ({"seed": "7"}, "seed", "'7'", "a valid integer"),
    ({"seed": True}, "seed", "True", "a valid integer"),
    ({"seed": 7.0}, "seed", "7.0", "a valid integer"),
    ({"duration_seconds": "12"}, "duration_seconds", "'12'", "a valid number"),
    ({"duration_seconds": False}, "duration_seconds", "False", "a valid number"),
    (
        {"metrics": {"validation": {"f1": "0.9"}}},
        "metrics.validation.f1",
        "'0.9'",
        "a valid number",
    ),
    ({"metrics": {"train": {"f1": True}}}, "metrics.train.f1", "True", "a valid number"),
    (
        {"neighbor_distance_quantiles": {"0.5": "1"}},
        "neighbor_distance_quantiles.0.5",
        "'1'",
        "number",
    ),
    # Every value must fit the store's column: the store never sees what it cannot hold.
    ({"metrics": {"train": {"f" * 65: 0.5}}}, "metrics.train", "'fff", "1-64 characters"),
    ({"metrics": {"train": {"": 0.5}}}, "metrics.train", "''", "1-64 characters"),
    ({"run_key": "k" * 129}, "run_key", "'kkk", "at most 128 characters"),
    ({"code_version": "v" * 201}, "code_version", "'vvv", "at most 200 characters"),
    ({"feature_schema_hash": "h" * 129}, "feature_schema_hash", "'hhh", "at most 128 characters"),
    (
        {"feature_schema": [{"name": "n" * 201, "dtype": "float64"}]},
        "feature_schema.0.name",
        "'nnn",
        "at most 200 characters",
    ),
    ({"peak_memory_bytes": 2**63}, "peak_memory_bytes", str(2**63), "less than or equal to"),
    ({"seed": 10**23}, "seed", str(10**23), "less than or equal to 9223372036854775807"),
    ({"seed": 2**63}, "seed", str(2**63), "less than or equal to 9223372036854775807"),
    (
        {"seed": -(2**63) - 1},
        "seed",
        str(-(2**63) - 1),
        "greater than or equal to -9223372036854775808",
    ),
]


BAD_IDS = [case[1] + ":" + str(i) for i, case in enumerate(BAD)]
# Only a stored record (track_run's own) carries a leakage verdict; a client's is refused whole
# (tests/monitor/test_computed_fields.py), so this bad evidence is checked on the stored model.
STORED_ONLY_BAD = [
    (
        {"leakage": {"suspected": False, "evidence": {"share": [float("nan")]}}},
        "leakage.evidence.share.0",
        "nan",
        "a finite number",
    ),
]


def _assert_names(message: str, field: str, value: str, expected: str) -> None:
    """The message names the field, shows the value and says what was expected."""
    assert message.startswith(f"{field}: got "), message
    assert re.search(re.escape(value) if "\\" not in value else value, message), message
    assert re.search(expected, message), message


@pytest.mark.parametrize(
    ("change", "field", "value", "expected"),
    [*BAD, *STORED_ONLY_BAD],
    ids=[*BAD_IDS, "leakage.evidence"],
)
def test_bad_field_is_named_with_value_and_expectation(
    change: dict[str, object], field: str, value: str, expected: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_run_record({**VALID, **change})
    assert info.value.field == field
    _assert_names(str(info.value), field, value, expected)


def test_missing_dataset_is_named() -> None:
    data = dict(VALID)
    del data["dataset"]
    with pytest.raises(InvalidInputError, match=r"^dataset: got None; expected a value"):
        parse_run_record(data)


def test_non_object_record_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"^record: got \[1, 2\]; expected a JSON object"):
        parse_run_record([1, 2])


def test_an_integer_is_a_valid_float_and_a_64_bit_seed_is_kept() -> None:
    record = parse_run_record({**VALID, "duration_seconds": 12, "seed": 2**63 - 1})
    assert record.duration_seconds == 12.0 and isinstance(record.duration_seconds, float)
    assert record.seed == 2**63 - 1


def test_synthetic_ratio_is_derived_from_counts() -> None:
    record = parse_run_record(VALID)
    assert record.synthetic_ratio == pytest.approx(800 / 1800)
    assert record.validation_gap == pytest.approx(0.95 - 0.92)


def test_content_hash_ignores_clock_readings_but_not_content() -> None:
    first = parse_run_record({**VALID, "duration_seconds": 1.0})
    retried = parse_run_record({**VALID, "duration_seconds": 2.5, "tags": {"retry": "1"}})
    different = parse_run_record({**VALID, "seed": 1})
    assert first.content_hash() == retried.content_hash()
    assert first.content_hash() != different.content_hash()


FINISHED_ONLY = (
    {"status": "running"},
    "status",
    "'running'",
    "'succeeded' or 'failed': a recorded run has finished",
)


def _nothing_written(url: str) -> None:
    store = Store(url)
    assert read(store, list_runs) == []
    with store.read() as session:
        assert session.scalars(select(Dataset)).all() == []


@pytest.mark.parametrize(
    ("change", "field", "value", "expected"), [*BAD, FINISHED_ONLY], ids=[*BAD_IDS, "running"]
)
def test_bad_record_writes_nothing(
    sqlite_url: str, change: dict[str, object], field: str, value: str, expected: str
) -> None:
    monitor = Monitor.from_url(sqlite_url)
    with pytest.raises(InvalidInputError) as info:
        monitor.record({**VALID, **change})
    _assert_names(str(info.value), field, value, expected)
    _nothing_written(sqlite_url)


@pytest.mark.parametrize(
    ("change", "field", "value", "expected"), [*BAD, FINISHED_ONLY], ids=[*BAD_IDS, "running"]
)
def test_bad_record_from_the_cli_exits_2_and_writes_nothing(
    sqlite_url: str,
    tmp_path: Path,
    change: dict[str, object],
    field: str,
    value: str,
    expected: str,
) -> None:
    payload = json.dumps({**VALID, **change})  # NaN and Infinity travel as JSON's extensions
    done = run_cli("--database-url", sqlite_url, "record", "-", cwd=tmp_path, stdin=payload)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    message = done.stderr.removeprefix("error: ")
    _assert_names(message, field, value, expected)
    assert message.rstrip().endswith("; nothing was written")
    _nothing_written(sqlite_url)
