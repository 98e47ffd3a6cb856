"""``smote-monitor report``: an Evidently HTML drift report of a run or of a production file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from smote_monitor.cli._context import EXIT_BAD_INPUT, console, fail, state
from smote_monitor.store import Store

if TYPE_CHECKING:
    import pandas as pd


def report(
    ctx: typer.Context,
    run_id: int | None = typer.Option(
        None, "--run", help="Run id (see `runs list`): its real vs augmented training data."
    ),
    dataset: str | None = typer.Option(
        None, "--dataset", "-d", help="Dataset: its latest reference run vs --production."
    ),
    production: Path | None = typer.Option(
        None,
        "--production",
        "-p",
        help="CSV/Parquet file, glob or directory of production rows.",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        dir_okay=False,
        help="HTML file to write (default: smote-report-run-<id>.html or "
        "smote-report-<dataset>-<utc time>.html in the current directory).",
    ),
) -> None:
    """Render Evidently's data drift report (HTML) for a run or for a production window.

    With --run, the run's real (pre-SMOTE) training data is the reference and its augmented
    data the current side: how far SMOTE moved each feature. With --dataset and --production,
    the latest reference run's real training data is compared with the production rows.
    Training data is rebuilt from the stored profiles (see smote_monitor.reports).
    """
    from smote_monitor.drift.reference import AUGMENTED, REAL
    from smote_monitor.evaluation.reference import reference_profiles
    from smote_monitor.reports import column_kinds, profiles_to_frame, run_report
    from smote_monitor.store.profiles import load_profiles

    if (run_id is None) == (dataset is None):
        given = "both" if run_id is not None else "neither"
        fail(f"--run/--dataset: got {given}; expected exactly one of them", EXIT_BAD_INPUT)
    if run_id is not None and production is not None:
        fail(
            f"--production: got {str(production)!r} with --run; expected it only with --dataset",
            EXIT_BAD_INPUT,
        )
    store = Store(state(ctx).settings.database_url, create=False)

    if run_id is not None:
        from smote_monitor.store.runs import get_run

        with store.read() as session:
            run = get_run(session, run_id)
            real_profiles = load_profiles(session, run_id, REAL)
            current_profiles = load_profiles(session, run_id, AUGMENTED)
        if run is None:
            fail(
                f"--run: got {run_id}; no run has that id (see `smote-monitor runs list`)",
                EXIT_BAD_INPUT,
            )
        if not real_profiles or not current_profiles:
            missing = REAL if not real_profiles else AUGMENTED
            fail(
                f"--run: got {run_id}; it has no {missing} profiles, expected a run with real and "
                "augmented profiles (this run was recorded before profiles existed, or by "
                "observe_run without data)",
                EXIT_BAD_INPUT,
            )
        title = f"{run.dataset.name} run {run_id} ({run.run_key}): real vs augmented"
        target = output or Path(f"smote-report-run-{run_id}.html")
        reference = profiles_to_frame(real_profiles)
        current = profiles_to_frame(current_profiles)
        # Column kinds come from the real profiles; both splits were profiled with them.
        numerical, categorical = column_kinds(real_profiles)
    else:
        assert dataset is not None
        if production is None:
            fail(
                "--production: got nothing; expected a CSV/Parquet file of production rows "
                "with --dataset",
                EXIT_BAD_INPUT,
            )
        reference_run, real_profiles = reference_profiles(store, dataset, REAL)
        numerical, categorical = column_kinds(real_profiles)
        with console.status(f"reading {production}"):
            current = _production_frame(production, numerical, categorical)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        title = f"{dataset}: run {reference_run.id} (real) vs {production.name}"
        target = output or Path(f"smote-report-{dataset}-{stamp}.html")
        reference = profiles_to_frame(real_profiles)

    with console.status("rendering the Evidently report (Evidently takes a few seconds)"):
        summary = run_report(
            reference,
            current,
            numerical=numerical,
            categorical=categorical,
            title=title,
            output=target.resolve(),
        )
    console.print(f"wrote {summary.path}", highlight=False, soft_wrap=True)
    console.print(
        f"drift share {summary.drift_share:.3f} ({summary.n_drifted} of "
        f"{len(numerical) + len(categorical)} features drifted, Evidently's DataDriftPreset)",
        highlight=False,
    )


def _production_frame(path: Path, numerical: list[str], categorical: list[str]) -> pd.DataFrame:
    """The production rows restricted to the reference's features, numeric columns as floats."""
    from smote_monitor.drift.columns import as_float_array
    from smote_monitor.errors import InvalidInputError
    from smote_monitor.sources.files import read_production

    frame = read_production(path)
    for name in [*numerical, *categorical]:
        if name not in frame.columns:
            raise InvalidInputError(
                f"production.{name}",
                f"columns {sorted(map(str, frame.columns))}",
                f"a column {name!r} in {path}, as in the reference profiles",
            )
    current = frame[[*numerical, *categorical]].copy()
    for name in numerical:
        current[name] = as_float_array(current[name], f"production.{name}")
    return current
