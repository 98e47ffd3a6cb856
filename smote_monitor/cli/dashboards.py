"""``smote-monitor dashboards render``: write the Grafana dashboards and provisioning files."""

from __future__ import annotations

from pathlib import Path

import typer

from smote_monitor.cli._context import check_generated, console, print_json, state

app = typer.Typer(
    help="Grafana dashboards generated from the metric catalog.", no_args_is_help=True
)


@app.command("render")
def render(
    ctx: typer.Context,
    out: Path = typer.Option(
        Path("dashboards/json"),
        "--out",
        "-o",
        file_okay=False,
        help="Directory for the dashboards' JSON (one <uid>.json each).",
    ),
    provisioning: Path | None = typer.Option(
        Path("dashboards/provisioning"),
        "--provisioning",
        file_okay=False,
        help="Directory for Grafana's provisioning files (datasource, dashboard provider).",
    ),
    no_provisioning: bool = typer.Option(
        False, "--no-provisioning", help="Write the dashboards' JSON only."
    ),
    dataset: str | None = typer.Option(
        None,
        "--slo-dataset",
        help="Draw SLO lines at this dataset's configured targets (default: the SLO defaults, "
        "as committed).",
    ),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; fail when the files on disk differ (for CI)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Render the executive, on-call and debugging dashboards from the metric catalog.

    The output is deterministic: re-rendering unchanged code rewrites identical files.
    """
    # The SDK is imported only here, so the CLI's start-up does not pay for it.
    from dashboards.render import outputs
    from dashboards.render import render as render_dashboards

    slo = state(ctx).settings.dataset(dataset).slo if dataset is not None else None
    provisioning_out = None if no_provisioning else provisioning
    if check:
        check_generated(
            outputs(out, provisioning_out, slo),
            "dashboard files",
            "smote-monitor dashboards render",
        )
        return
    written = render_dashboards(out, provisioning_out, slo)
    if as_json:
        print_json({"written": [str(path) for path in written]})
        return
    for path in written:
        console.print(f"wrote {path}")
