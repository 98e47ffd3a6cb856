"""``smote-monitor runs list|show``: read recorded SMOTE runs."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.text import Text

from smote_monitor.cli._context import EXIT_BAD_INPUT, console, fail, print_json, state
from smote_monitor.cli.formatting import MISSING, class_counts, count, duration, params, size
from smote_monitor.cli.tables import Cell, Column, print_table
from smote_monitor.conventions import (
    OUTCOME_ERROR,
    OUTCOME_GATE_FAILED,
    OUTCOME_PASSED,
    OUTCOME_RUNNING,
)
from smote_monitor.records import OUTCOMES, Outcome, RunRecord, run_document
from smote_monitor.store import Store
from smote_monitor.store.runs import get_run, list_runs, run_to_record

app = typer.Typer(help="List and inspect recorded SMOTE runs.", no_args_is_help=True)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


_OUTCOME_COLOUR = {
    OUTCOME_PASSED: "green",
    OUTCOME_GATE_FAILED: "red",
    OUTCOME_ERROR: "red",
    OUTCOME_RUNNING: "yellow",
}


def _outcome(record: RunRecord) -> str:
    """One word per run, as smote_runs_total counts them (plus running)."""
    return f"[{_OUTCOME_COLOUR[record.outcome]}]{record.outcome}[/]"


def _gate(record: RunRecord) -> str:
    if record.gate is None:
        return "–"
    return "[green]passed[/]" if record.gate.passed else "[red]failed[/]"


RUNS_COLUMNS = (
    Column("id", justify="right"),
    Column("dataset", key=True),
    Column("run key", key=True),
    Column("outcome"),
    Column("variant", drop=2),
    Column("ratio", drop=1),
    Column("gap", drop=1),
    Column("started", drop=3),
)


@app.command("list")
def runs_list(
    ctx: typer.Context,
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Only this dataset."),
    status: Outcome | None = typer.Option(
        None, "--status", help="Only runs with this outcome: " + ", ".join(OUTCOMES) + "."
    ),
    limit: int = typer.Option(
        20, "--limit", "-n", min=1, max=10_000, help="How many, newest first."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List runs, newest first."""
    store = Store(state(ctx).settings.database_url, create=False)
    with store.read() as session:
        runs = list_runs(
            session, dataset=dataset, outcome=status.value if status else None, limit=limit
        )
    records = [(run.id, run_to_record(run)) for run in runs]
    if as_json:
        print_json([run_document(run_id, record, report=False) for run_id, record in records])
        return
    rows: list[list[Cell]] = [
        [
            str(run_id),
            Text(record.dataset),
            Text(record.run_key),
            _outcome(record),
            record.variant or "–",
            _fmt(record.synthetic_ratio, 2),
            _fmt(record.validation_gap, 2),
            record.started_at.strftime("%m-%d %H:%M"),
        ]
        for run_id, record in records
    ]
    print_table(console, f"SMOTE runs ({store.url_for_display})", RUNS_COLUMNS, rows)
    if not records:
        console.print("no runs recorded yet")


@app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: int = typer.Argument(..., help="Run id, as `runs list` prints it."),
    as_json: bool = typer.Option(False, "--json", help="The full record as JSON."),
) -> None:
    """Show one run: parameters, class counts, metrics, gate checks, leakage evidence.

    With --json: the run's fields as `smote-monitor record` takes them (so the output can be
    recorded back), and what smote-monitor computed (id, outcome, validation_gap, gate, leakage)
    under "computed", which `record` discards and computes again.
    """
    with Store(state(ctx).settings.database_url, create=False).read() as session:
        run = get_run(session, run_id)
    if run is None:
        fail(
            f"run_id: got {run_id}; no run has that id (see `smote-monitor runs list`)",
            EXIT_BAD_INPUT,
        )
    record = run_to_record(run)
    if as_json:
        print_json(run_document(run_id, record))
        return

    def out(text: str, highlight: bool | None = None) -> None:
        console.print(text, emoji=False, highlight=highlight)

    # Markup is ours; every stored value is escaped (a run key "[red]x[/red]" prints as it is).
    key = escape(f"{record.dataset}/{record.run_key}")
    out(f"[bold]run {run_id}[/]  {key}  {_outcome(record)}")
    out(
        f"  variant {escape(record.variant or MISSING)}  seed {count(record.seed)}  "
        f"params {escape(params(record.params))}",
        highlight=False,
    )
    out(
        f"  started {record.started_at:%Y-%m-%d %H:%M:%S}  finished "
        f"{record.finished_at:%Y-%m-%d %H:%M:%S}"
        if record.finished_at
        else "  not finished"
    )
    counts = class_counts(record.class_counts_before, record.class_counts_after)
    out(escape(f"  class counts {counts}"), highlight=False)
    out(
        f"  synthetic rows {count(record.n_synthetic)}  ratio {_fmt(record.synthetic_ratio)}  "
        f"near-duplicates {_fmt(record.near_duplicate_ratio)}",
        highlight=False,
    )
    out(
        f"  duration {duration(record.duration_seconds)}  "
        f"peak memory {size(record.peak_memory_bytes)}",
        highlight=False,
    )
    for split, values in record.metrics.items():
        out(escape(f"  {split}: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(values.items()))))
    out(f"  validation gap {_fmt(record.validation_gap)}")
    if record.gate is not None:
        out(f"  gate {_gate(record)}")
        for check in record.gate.checks:
            out(escape(f"    {'✓' if check.passed else '✗'} {check.message}"), highlight=False)
    if record.leakage is not None:
        out(
            f"  leakage {'[red]suspected[/]' if record.leakage.suspected else 'not found'}: "
            f"{record.leakage.evidence.get('validation_rows_equal_to_synthetic', 0)} validation "
            "rows equal synthetic rows; validation balance "
            + (
                "matches the augmented set"
                if record.leakage.evidence.get("validation_balance_matches_augmented")
                else "looks real"
            )
        )
    if record.error:
        out(escape(f"  error: {record.error}"), highlight=False)
    if record.profile_error:
        out(
            "  [yellow]no training profiles[/] (drift can't use it): "
            + escape(record.profile_error),
            highlight=False,
        )
    if record.audit_sample:
        out(f"  audit sample: {len(record.audit_sample)} synthetic rows with parent/neighbour/gap")
