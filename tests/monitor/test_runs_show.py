"""Defect 9 (display): ``runs show`` prints values for people, not Python reprs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smote_monitor.cli.formatting import class_counts, duration, params, size

from .cli_helpers import run_cli
from .test_records import VALID


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "–"),
        (0, "0 B"),
        (512, "512 B"),
        (2048, "2.0 KiB"),
        (12_900_000, "12.3 MiB"),
        (3 * 1024**3, "3.0 GiB"),
    ],
)
def test_sizes_are_in_binary_units(value: int | None, shown: str) -> None:
    assert size(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "–"),
        (0.0123, "12 ms"),
        (2.345, "2.35 s"),
        (83.5, "1 min 24 s"),
        (7500.0, "2 h 05 min"),
    ],
)
def test_durations_read_as_time(value: float | None, shown: str) -> None:
    assert duration(value) == shown


def test_class_counts_and_params_read_as_text() -> None:
    assert (
        class_counts({"0": 9340, "1": 517}, {"0": 9340, "1": 4670})
        == "0: 9,340 → 9,340, 1: 517 → 4,670"
    )
    assert class_counts({}, {}) == "–"
    assert class_counts({"1": 5}, {"0": 7, "1": 7}) == "0: – → 7, 1: 5 → 7"
    assert params({"sampling_strategy": "auto", "k_neighbors": 5}) == (
        "k_neighbors=5, sampling_strategy=auto"
    )
    assert params({}) == "–"
    assert params({"k": [1, 2], "nested": {"a": None}}) == 'k=[1, 2], nested={"a": null}'


def test_runs_show_prints_no_none_no_raw_bytes_no_dict_reprs(
    sqlite_url: str, tmp_path: Path
) -> None:
    url = ["--database-url", sqlite_url]
    full = {**VALID, "duration_seconds": 2.345, "peak_memory_bytes": 12_900_000}
    bare = {"dataset": "fraud", "run_key": "bare", "variant": "SMOTE"}
    for record in (full, bare):
        done = run_cli(*url, "record", "-", cwd=tmp_path, stdin=json.dumps(record))
        assert done.returncode == 0, done.stderr

    shown = run_cli(*url, "runs", "show", "1", cwd=tmp_path).stdout
    assert "params k_neighbors=5, random_state=0" in shown
    assert "class counts 0: 900 → 900, 1: 100 → 900" in shown
    assert "duration 2.35 s" in shown and "peak memory 12.3 MiB" in shown
    assert "{" not in shown and "'" not in shown

    shown = run_cli(*url, "runs", "show", "2", cwd=tmp_path).stdout
    assert "None" not in shown and "{" not in shown, shown
    assert "seed –" in shown and "params –" in shown and "class counts –" in shown
    assert "synthetic rows –" in shown and "duration –" in shown and "peak memory –" in shown
