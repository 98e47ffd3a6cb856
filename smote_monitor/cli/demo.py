"""``smote-monitor demo``: the whole loop on a bundled real dataset."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from smote_monitor.cli._context import console, state
from smote_monitor.cli.runs import runs_list, runs_show
from smote_monitor.cli.tables import Cell, Column, print_table
from smote_monitor.demo.outputs import SERVE_LISTEN

SLICES_SHOWN = 8

VERDICTS = {
    "below_slo": "[red]below {target:.2f}[/]",
    "meets_slo": "meets",
    "inconclusive": "inconclusive",
    "insufficient_support": "[dim]too few bad loans[/]",
}


def _rate(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M UTC")


def demo(
    ctx: typer.Context,
    seed: int = typer.Option(0, "--seed", help="Seed of the split, of SMOTE and of the replay."),
    out: Path = typer.Option(
        Path("smote-monitor-demo"),
        "--out",
        "-o",
        file_okay=False,
        help="Folder for the run and drift reports, the alert rules, the Alertmanager and "
        "Prometheus configs and the dashboards.",
    ),
    serve: bool = typer.Option(
        False,
        "--serve",
        help="Keep the daemon running with the demo's data afterwards (for Prometheus and "
        "Grafana); Ctrl-C stops it.",
    ),
    listen: str = typer.Option(
        SERVE_LISTEN,
        "--listen",
        metavar="HOST:PORT",
        help="Where --serve listens; the written prometheus.yml scrapes it.",
    ),
) -> None:
    """Run the whole loop on real loan data (modeldata::lending_club, 5 % bad loans).

    Splits train / validation / production before resampling; records a SMOTE run with its
    release gate; sets the SLOs to what the model reaches on validation; then replays the
    production split through the daemon's HTTP API on a simulated clock — two hours as served,
    one hour with int_rate and annual_inc drifted and the model degraded on 60-month loans,
    labels arriving 1-20 minutes after their predictions — with an evaluation cycle every 5
    minutes and /metrics scraped every minute. Prints drift per feature, recall per slice with
    95 % intervals, and the alerts the generated rules would fire and where they would route.

    Uses the configured store: without a config, the embedded SQLite file ./smote-monitor.db.
    Running it again records no new run (the run_key is idempotent) and replaces the dataset's
    production state with a fresh replay.
    """
    from smote_monitor.demo import run_demo
    from smote_monitor.server.service import parse_listen

    parse_listen(listen)  # a bad --listen fails now, not after the replay
    settings = state(ctx).settings
    with console.status("starting") as status:

        def step(message: str) -> None:
            status.update(message)
            console.print(f"[dim]·[/] {message}", highlight=False)

        result = run_demo(settings, seed=seed, out=out, step=step, scrape_target=listen)
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
    if result.run_id is None or result.replay is None:
        console.print("[yellow]the store was unreachable: the run was spooled, nothing replayed[/]")
        return
    console.print()
    runs_show(ctx, run_id=result.run_id, as_json=False)
    console.print()
    runs_list(ctx, dataset=None, status=None, limit=10, as_json=False)
    _print_replay(result)
    _print_drift(result)
    for phase, window in result.windows.items():
        _print_slices(phase, window, slo.minority_recall, slo.min_slice_support)
    _print_alerts(result)
    console.print()
    for name, path in result.outputs.items():
        console.print(f"wrote {name}: {path}", highlight=False, soft_wrap=True)
    console.print(
        f"\ninjected: drift in {', '.join(result.injected)}; the model degraded on "
        f"{result.degraded_slice}"
    )
    if serve:
        _serve(result, out.resolve(), listen)
        return
    console.print(
        "next: `smote-monitor demo --serve` to keep the daemon running for Prometheus and "
        "Grafana; `smote-monitor serve --help` to run it on your own data"
    )


def _print_replay(result: Any) -> None:
    replayed = result.replay
    start, degraded_from, end = result.simulated
    console.print()
    console.print(
        f"[bold]production replayed through the daemon[/] ({_clock(start)} to {_clock(end)} "
        f"simulated; drift and degradation from {_clock(degraded_from)}): "
        f"{replayed.predictions:,} predictions pushed as Arrow, {replayed.labels:,} labels as "
        f"JSON ({replayed.labels_joined:,} joined, {replayed.pending:,} predictions still "
        f"waiting for theirs); {replayed.cycles} evaluation cycles; /metrics scraped "
        f"{replayed.scrapes} times ({replayed.series:,} series)",
        highlight=False,
    )


def _print_drift(result: Any) -> None:
    phases = list(result.windows)
    by_phase = {
        phase: {f["feature"]: f for f in window["drift"]["features"]}
        for phase, window in result.windows.items()
    }
    features = list(by_phase[phases[-1]])
    rows: list[list[Cell]] = []
    for feature in features:
        cells: list[Cell] = [Text(feature), str(by_phase[phases[-1]][feature]["method"])]
        for phase in phases:
            found = by_phase[phase].get(feature)
            if found is None:
                cells.append("-")
                continue
            mark = "[red]drifted[/]" if found["drifted"] else "ok"
            cells.append(f"{_rate(found['value'])} {mark}")
        rows.append(cells)
    rows.sort(key=lambda row: (str(row[-1]).endswith("ok"), str(row[0])))
    console.print()
    labels = ", ".join(f"{phase}: {w['rows']:,} loans" for phase, w in result.windows.items())
    print_table(
        console,
        f"drift per feature, 1h window at the end of each phase ({labels})",
        [
            Column("feature", key=True),
            Column("method", drop=2),
            *(Column(phase, justify="right") for phase in phases),
        ],
        rows,
    )


def _print_slices(phase: str, window: dict[str, Any], target: float, support: int) -> None:
    console.print()
    drifted = [f["feature"] for f in window["drift"]["features"] if f["drifted"]]
    console.print(
        f"[bold]window 1h ({phase})[/]: {window['rows']:,} loans, {window['labelled_rows']:,} "
        f"labelled so far; drifted features: {', '.join(drifted) or 'none'}",
        highlight=False,
    )
    rows: list[list[Cell]] = []
    for s in window["slices"]:
        rows.append(
            [
                Text(s["slice"]),
                str(s["support"]),
                _rate(s["recall"]),
                f"[{_rate(s['recall_lower'])}, {_rate(s['recall_upper'])}]",
                _rate(s["precision"]),
                VERDICTS[s["recall_slo"]].format(target=target),
            ]
        )
    rows.sort(key=lambda row: -int(str(row[1])))
    print_table(
        console,
        f"slices with at least {support} bad loans first",
        [
            Column("slice", key=True),
            Column("bad", justify="right"),
            Column("recall", justify="right"),
            Column("95 % interval", drop=1),
            Column("precision", justify="right", drop=2),
            Column("recall SLO"),
        ],
        rows[:SLICES_SHOWN],
    )


def _print_alerts(result: Any) -> None:
    console.print()
    if not result.alerts:
        console.print("no alert would fire at the end of the replay")
        return
    order = {"page": 0, "ticket": 1, "info": 2}
    rows: list[list[Cell]] = []
    for alert in sorted(result.alerts, key=lambda a: (order.get(a.severity, 3), a.name)):
        about = alert.labels.get("slice") or alert.labels.get("feature") or ""
        severity = f"[bold red]{alert.severity}[/]" if alert.severity == "page" else alert.severity
        rows.append([Text(alert.name), Text(about), severity, Text(", ".join(alert.receivers))])
    print_table(
        console,
        "alerts that would fire at the end of the replay (the generated rules over the scraped "
        "/metrics, routed by alerts/alertmanager.yml)",
        [
            Column("alert", key=True),
            Column("slice or feature", key=True),
            Column("severity"),
            Column("routes to"),
        ],
        rows,
    )


def _serve(result: Any, out: Path, listen: str) -> None:
    from smote_monitor.server.service import Service

    console.print(
        f"\nserving the demo's data on http://{listen} (status page at /, metrics at "
        "/metrics); evaluations now run every 5 minutes on the real clock.\n"
        f"  Prometheus:   prometheus --config.file={out / 'prometheus.yml'}\n"
        f"  Alertmanager: prometheus-alertmanager --config.file={out / 'alertmanager.yml'}\n"
        f"  Grafana:      provision {out / 'grafana-provisioning'} and mount "
        f"{out / 'dashboards'} as the dashboards folder\n"
        "Ctrl-C stops it.",
        highlight=False,
        soft_wrap=True,
    )
    code = Service(result.settings, listen=listen).run()
    raise typer.Exit(code)
