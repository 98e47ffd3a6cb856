"""``smote-monitor demo``: the whole loop on a bundled real dataset."""

from __future__ import annotations

import typer

from smote_monitor.cli._context import console, state
from smote_monitor.cli.runs import runs_list, runs_show


def demo(
    ctx: typer.Context,
    seed: int = typer.Option(0, "--seed", help="Seed of the split and of SMOTE."),
) -> None:
    """Record a SMOTE run on real loan data (modeldata::lending_club, 5 % bad loans), then
    evaluate two production windows against it: as served, and with interest rates raised.

    Uses the configured store: without a config, the embedded SQLite file ./smote-monitor.db.
    Running it again with the same seed records nothing new (the run_key is idempotent).
    """
    from smote_monitor.demo import run_demo
    from smote_monitor.demo.loop import DATASET

    settings = state(ctx).settings
    with console.status("starting") as status:

        def step(message: str) -> None:
            status.update(message)
            console.print(f"[dim]·[/] {message}", highlight=False)

        result = run_demo(settings, seed=seed, step=step)
    console.print()
    if result.run_id is None:
        console.print("[yellow]the store was unreachable: the run was spooled[/]")
        return
    runs_show(ctx, run_id=result.run_id, as_json=False)
    console.print()
    runs_list(ctx, dataset=None, status=None, limit=10, as_json=False)
    target = settings.dataset(DATASET).slo.minority_recall
    for window in result.windows:
        console.print()
        drifted = [r.feature for r in window.drift.features if r.drifted]
        overall = next(m for m in window.slices if m.slice == "all")
        console.print(
            f"[bold]window {window.window}[/]: {window.n_rows:,} loans; drifted features: "
            f"{', '.join(drifted) or 'none'} ({window.drift.share:.0%}); minority recall "
            f"{overall.recall.value:.3f} [{overall.recall.lower:.3f}, {overall.recall.upper:.3f}]"
            f" over {overall.support} bad loans"
        )
        weak = [
            m.slice
            for m in window.slices
            if m.sufficient and m.recall.upper is not None and m.recall.upper < target
        ]
        if weak:
            console.print(f"  slices whose recall is surely below {target:.2f}: {', '.join(weak)}")
    console.print("\nnext: `smote-monitor evaluate --help` to score your own production data")
