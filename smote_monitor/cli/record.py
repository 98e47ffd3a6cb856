"""``smote-monitor record``: store a run described in JSON (for non-Python pipelines)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import typer

from smote_monitor.cli._context import (
    EXIT_BAD_INPUT,
    exit_code_for,
    fail,
    print_json,
    print_plain,
    state,
)
from smote_monitor.errors import InvalidInputError, RunConflictError
from smote_monitor.records import input_schema
from smote_monitor.tracking.monitor import Monitor


def record(
    ctx: typer.Context,
    source: Path | None = typer.Argument(
        None,
        metavar="FILE",
        help="JSON file with one run record (or a list of them); '-' reads standard input.",
        allow_dash=True,
        show_default=False,
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
    schema: bool = typer.Option(
        False, "--schema", help="Print the JSON Schema of a run record and exit."
    ),
) -> None:
    """Validate and store SMOTE run records.

    A record needs at least "dataset" and "variant", and describes a finished run ("status"
    succeeded, the default, or failed); `smote-monitor record --schema` prints every field.
    "gate" and "leakage" are refused: smote-monitor computes the gate from the metrics and the
    dataset's SLO. The output of `runs show --json` is accepted back: its "computed" object is
    discarded and computed again. A list is stored all or nothing, in one transaction:
    everything is validated before anything is written, and a record that conflicts with a
    stored run writes none of them (the message names the record). The same (dataset, run_key)
    recorded twice is stored once.
    """
    if schema:
        print_json(input_schema())
        return
    if source is None:
        fail("FILE: missing; give a JSON file, '-' for standard input, or --schema", EXIT_BAD_INPUT)
    text = _read_stdin() if str(source) == "-" else _read(source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{source}: not valid JSON ({exc})", EXIT_BAD_INPUT)
    monitor = Monitor(state(ctx).settings)
    try:
        recorded = monitor.record_many(data if isinstance(data, list) else [data])
    except (InvalidInputError, RunConflictError) as exc:
        fail(f"{exc}; nothing was written", exit_code_for(exc))
    results = [
        {
            "dataset": item.record.dataset,
            "run_key": item.record.run_key,
            "run_id": item.outcome.run_id if item.outcome else None,
            "action": item.action,
        }
        for item in recorded
    ]
    if as_json:
        print_json(results if isinstance(data, list) else results[0])
        return
    for result in results:
        print_plain(
            f"{result['dataset']}/{result['run_key']}: {result['action']}"
            + (f" (run {result['run_id']})" if result["run_id"] else "")
        )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        _not_text(str(path), exc)
    except OSError as exc:
        fail(f"{path}: cannot read ({exc.strerror})", EXIT_BAD_INPUT)


def _read_stdin() -> str:
    try:
        return sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        _not_text("standard input", exc)


def _not_text(source: str, exc: UnicodeDecodeError) -> NoReturn:
    fail(
        f"{source}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
        "expected a JSON run record or a list of them",
        EXIT_BAD_INPUT,
    )
