"""``smote-monitor demo``: the whole loop on a bundled real dataset."""

from __future__ import annotations

import math

import typer
from rich.text import Text

from smote_monitor.cli._context import console, state
from smote_monitor.cli.runs import runs_list, runs_show
from smote_monitor.cli.tables import Cell, Column, print_table


def _rate(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def demo(
    ctx: typer.Context,
    seed: int = typer.Option(0, "--seed", help="Seed of the split and of SMOTE."),
) -> None:
    """Record a SMOTE run on real loan data (modeldata::lending_club, 5 % bad loans), split into
    train / validation / production before resampling, then evaluate two windows of the
    production split: as served, and with drift injected in int_rate and annual_inc and the
    model degraded on 60-month loans.

    Uses the configured store: without a config, the embedded SQLite file ./smote-monitor.db.
    Running it again with the same seed records nothing new (the run_key is idempotent).
    """
    from smote_monitor.demo import run_demo

    settings = state(ctx).settings
    with console.status("starting") as status:

        def step(message: str) -> None:
            status.update(message)
            console.print(f"[dim]·[/] {message}", highlight=False)

        result = run_demo(settings, seed=seed, step=step)
    console.print()
    slo = result.slo
    origin = (
        "SLOs set to what this model reaches on validation (95 % Wilson lower bounds)"
        if result.slo_derived
        else "SLOs from the config"
    )
    console.print(
        f"{origin}: minority recall {slo.minority_recall:.2f}, precision "
        f"{slo.minority_precision:.2f}, F1 {slo.minority_f1:.2f}, validation gap <= "
        f"{slo.validation_gap_max:.2f} (validation recall {result.validation['recall']:.3f}, "
        f"precision {result.validation['precision']:.3f} at threshold {result.threshold:.2f})",
        highlight=False,
    )
    if result.run_id is None:
        console.print("[yellow]the store was unreachable: the run was spooled[/]")
        return
    console.print()
    runs_show(ctx, run_id=result.run_id, as_json=False)
    console.print()
    runs_list(ctx, dataset=None, status=None, limit=10, as_json=False)
    target = slo.minority_recall
    for window in result.windows:
        console.print()
        drifted = [r.feature for r in window.drift.features if r.drifted]
        console.print(
            f"[bold]window {window.window}[/]: {window.n_rows:,} loans; drifted features: "
            f"{', '.join(drifted) or 'none'} ({window.drift.share:.0%})",
            highlight=False,
        )
        rows: list[list[Cell]] = []
        for m in window.slices:
            if not m.sufficient:
                verdict = "[dim]too few bad loans[/]"
            elif m.recall.upper < target:
                verdict = f"[red]below {target:.2f}[/]"
            elif m.recall.lower >= target:
                verdict = "meets"
            else:
                verdict = "inconclusive"
            rows.append(
                [
                    Text(m.slice),
                    str(m.support),
                    _rate(m.recall.value),
                    f"[{_rate(m.recall.lower)}, {_rate(m.recall.upper)}]",
                    _rate(m.precision.value),
                    verdict,
                ]
            )
        rows.sort(key=lambda row: -int(str(row[1])))
        print_table(
            console,
            f"slices with at least {slo.min_slice_support} bad loans first",
            [
                Column("slice", key=True),
                Column("bad", justify="right"),
                Column("recall", justify="right"),
                Column("95 % interval", drop=1),
                Column("precision", justify="right", drop=2),
                Column("recall SLO"),
            ],
            rows[:8],
        )
    console.print(
        f"\ninjected: drift in {', '.join(result.injected)}; the model degraded on "
        f"{result.degraded_slice}"
    )
    console.print("next: `smote-monitor evaluate --help` to score your own production data")
