"""``smote-monitor evaluate``: drift and slice SLIs of one production window, now."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from smote_monitor.cli._context import console, print_json, state
from smote_monitor.cli.tables import Cell, Column, print_table
from smote_monitor.conventions import SLICE_OTHER
from smote_monitor.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

    from smote_monitor.config import DatasetConfig, Settings
    from smote_monitor.evaluation.window import WindowResult
    from smote_monitor.store import Store


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}g}"


DRIFT_COLUMNS = (
    Column("feature", key=True),
    Column("method"),
    Column("value"),
    Column("threshold", drop=1),
    Column("drift"),
    Column("mode", drop=3),
    Column("n ref", drop=2),
    Column("n cur", drop=2),
)
SLICE_COLUMNS = (
    Column("slice", key=True),
    Column("support", justify="right"),
    Column("recall"),
    Column("precision", drop=1),
    Column("f1", drop=1),
    Column("fpr", drop=2),
    Column("", drop=-1),  # the verdict goes last
)


def evaluate(
    ctx: typer.Context,
    dataset: str = typer.Option(..., "--dataset", "-d", help="Dataset name (as in the config)."),
    production: str | None = typer.Option(
        None,
        "--production",
        "-p",
        help="Production rows: a CSV or Parquet file, a glob, or a directory of them. Rows with "
        "the target column filled are scored per slice. Without it: one evaluation cycle of the "
        "dataset's configured source and windows, now (what `serve` runs every evaluate_every).",
    ),
    labels: Path | None = typer.Option(
        None,
        "--labels",
        help="Labels arriving separately (id and target columns), joined by the dataset's "
        "id_column without label_lookback: files carry no arrival time, so every label of the "
        "file counts for its prediction in the window (label_lookback applies to pushed "
        "labels). A label given twice counts once, the last one wins. With --dask the file is "
        "read here and sent to each worker once.",
    ),
    window: str = typer.Option("adhoc", "--window", help="Name of the window in the results."),
    dask: str | None = typer.Option(
        None,
        "--dask",
        metavar="SCHEDULER",
        help="Fold the --production files on a Dask cluster, one file per partition, and merge "
        "the partial accumulators (only they cross the network, never rows): tcp://host:8786 "
        "for a running scheduler, or 'local' for a LocalCluster of one single-threaded worker "
        "process per core. Same results as without it, --labels included (joined on the "
        "workers); every file must have the first file's columns. Needs the extra "
        "smote-monitor[dask].",
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Compare a production window with the latest reference run and score it per slice.

    With --production: that window (files), stored as one evaluation. Without: one evaluation
    cycle of the dataset, as the daemon runs it — new rows of its configured source since the
    watermark, pushed rows folded into their time buckets, every configured window stored.

    Drift uses Evidently's methods, thresholds and automatic choice per column, computed on
    stored training profiles, and stored. A feature missing from production or without a
    finite value is stored and shown flagged as drifted (its method reads "missing" or
    "empty"). A missing slice or prediction column stores the drift without slice SLIs and
    exits 2 naming the column.
    """
    from smote_monitor.evaluation.window import SlicesNotScoredError, evaluate_batches
    from smote_monitor.sources.files import production_batches
    from smote_monitor.sources.labels import read_labels, with_labels
    from smote_monitor.store import Store

    settings = state(ctx).settings
    config = settings.dataset(dataset)
    if dask is not None and production is None:
        raise InvalidInputError("dask", dask, "--production files to fold on the cluster")
    if production is None:
        _cycle(settings, dataset, as_json)
        return
    batches = production_batches(production)
    by_id = None
    if labels is not None:
        if config.id_column is None:
            raise InvalidInputError("id_column", None, "the dataset's id column, to join --labels")
        # Read here, with or without --dask: a bad labels file fails before any cluster starts.
        with console.status(f"reading labels {labels}"):
            by_id = read_labels(labels, config.id_column, config.target)
        batches = with_labels(batches, by_id, config.id_column, config.target)
    problem: SlicesNotScoredError | None = None
    # a window needs a reference run: a store that does not exist is not created
    store = Store(settings.database_url, create=False)
    try:
        if dask is not None:
            result = _on_dask(store, settings, dataset, production, dask, window, by_id)
        else:
            with console.status(f"evaluating {production} ({dataset}), batch by batch"):
                result = evaluate_batches(store, settings, dataset, batches, window=window)
    except SlicesNotScoredError as exc:
        result, problem = exc.result, exc
    if as_json:
        print_json(result.to_dict())
    else:
        _print_result(result, config, window, slices_scored=problem is None)
    if problem is not None:
        raise problem  # after the drift it stored is shown: exit 2 with the message


def _on_dask(
    store: Store,
    settings: Settings,
    dataset: str,
    production: str,
    scheduler: str,
    window: str,
    labels: pd.Series | None,
) -> WindowResult:
    try:  # Dask is an optional extra, imported only here
        from smote_monitor.evaluation.partitioned import connect, evaluate_files_on_dask
    except ImportError as exc:
        raise InvalidInputError(
            "dask", scheduler, f"the extra smote-monitor[dask] installed ({exc})"
        ) from exc
    with (
        console.status(f"evaluating {production} ({dataset}) on Dask ({scheduler})"),
        connect(scheduler) as client,
    ):
        return evaluate_files_on_dask(
            store, settings, dataset, production, client, window=window, labels=labels
        )


def _cycle(settings: Settings, dataset: str, as_json: bool) -> None:
    """One evaluation cycle of the dataset's source and windows (``serve``'s job), now."""
    from smote_monitor.evaluation.job import evaluate_dataset
    from smote_monitor.evaluation.status import dataset_status
    from smote_monitor.store import Store
    from smote_monitor.store.evaluations import DASK, on_dask

    store = Store(settings.database_url, create=False)
    with console.status(f"evaluation cycle of {dataset}"):
        cycle = evaluate_dataset(store, settings, dataset)
        status = dataset_status(store, settings, dataset)
    if as_json:
        print_json({"cycle": cycle.to_dict(), "status": status})
        return
    console.print(
        f"[bold]{dataset}[/]: {cycle.source_rows:,} new source rows, {cycle.folded_rows:,} rows "
        "folded into their buckets",
        highlight=False,
    )
    recall = settings.dataset(dataset).slo.minority_recall
    for window, current in status["windows"].items():
        if current is None:
            continue
        drifted = [f["feature"] for f in current["drift"]["features"] if f["drifted"]]
        below = [s["slice"] for s in current["slices"] if s["recall_slo"] == "below_slo"]
        folded = on_dask(current["partitions"]) if current["engine"] == DASK else ""
        console.print(
            f"window {window}: {current['rows']:,} rows, {current['labelled_rows']:,} labelled"
            f"{'; ' + folded if folded else ''}; drifted: {', '.join(drifted) or 'none'}; "
            f"recall surely below {recall:g}: {', '.join(below) or 'no slice'}",
            highlight=False,
            soft_wrap=True,
        )


def _print_result(
    result: WindowResult, config: DatasetConfig, window: str, *, slices_scored: bool
) -> None:
    from smote_monitor.slices import slice_label
    from smote_monitor.store.evaluations import on_dask

    dataset = result.dataset
    drift = result.drift
    console.print(
        f"[bold]{dataset}[/] window {window}: {result.n_rows:,} rows, {result.n_labeled:,} "
        f"labelled; reference run {result.reference_run_id}; evaluation {result.evaluation_id}"
        + ("" if result.partitions is None else f"; {on_dask(result.partitions)}")
    )
    rows: list[list[Cell]] = [
        [
            Text(r.feature),
            r.method,
            _num(r.value),
            _num(r.threshold),
            "[red]yes[/]" if r.drifted else "no",
            r.mode,
            f"{r.n_reference:,}",
            f"{r.n_current:,}",
        ]
        for r in drift.features
    ]
    print_table(console, "feature drift", DRIFT_COLUMNS, rows)
    verdict = "[red]drifted[/]" if drift.drifted else "not drifted"
    console.print(
        f"dataset: {drift.share:.0%} of features drifted (threshold "
        f"{drift.share_threshold:.0%}) → {verdict}"
    )
    for problem in result.problems():
        console.print(f"[red]{problem}[/]")
    if not slices_scored:
        return
    if not result.slices:
        console.print(
            f"no labelled rows: slice SLIs need the target column '{config.target}' (or --labels)"
        )
        return
    target = config.slo.minority_recall
    slice_rows: list[list[Cell]] = []
    for m in result.slices:
        recall = m.recall
        below = recall.upper is not None and recall.upper == recall.upper and recall.upper < target
        slice_rows.append(
            [
                Text(m.slice),
                f"{m.support:,}",
                f"{_num(recall.value)} \\[{_num(recall.lower)}, {_num(recall.upper)}]",
                _num(m.precision.value),
                _num(m.f1.value),
                _num(m.false_positive_rate.value),
                "insufficient support"
                if not m.sufficient
                else "[red]below SLO[/]"
                if below
                else "",
            ]
        )
    print_table(
        console, "minority-class SLIs per slice (95 % Wilson intervals)", SLICE_COLUMNS, slice_rows
    )
    for column, folded in result.folded_rows.items():
        if folded:
            console.print(
                f"{folded:,} rows of rare {column} values folded into "
                f"{slice_label(column, SLICE_OTHER)}"
            )
