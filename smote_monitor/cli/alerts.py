"""``smote-monitor alerts render``: Prometheus rule files (and runbooks) from the config's SLOs."""

from __future__ import annotations

from pathlib import Path

import typer

from smote_monitor.cli._context import (
    EXIT_BAD_INPUT,
    check_generated,
    console,
    fail,
    print_plain,
    state,
)

app = typer.Typer(help="Prometheus alert rules generated from the datasets' SLOs.")

DEFAULT_OUT = Path("alerts/rules")


@app.command("render")
def render(
    ctx: typer.Context,
    out: Path = typer.Option(
        DEFAULT_OUT, "--out", "-o", file_okay=False, help="Directory of the rule files."
    ),
    runbooks: Path | None = typer.Option(
        None,
        "--runbooks",
        file_okay=False,
        help="Also write one runbook page per alert into this directory (the repository keeps "
        "them in alerts/runbooks).",
    ),
    runbook_base_url: str | None = typer.Option(
        None,
        "--runbook-base-url",
        help="Prefix of every alert's runbook_url (default: alerts/runbooks, the repository "
        "path), e.g. https://git.example.com/ml/smote-monitor/blob/main/alerts/runbooks.",
    ),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; fail when the files on disk differ (for CI)."
    ),
    time_scale: float = typer.Option(
        1.0,
        "--time-scale",
        help="Scale every range, for: and age threshold of the rules by this factor (e.g. "
        "0.005556 maps 1h to 20s), for tests and demos that must see alerts fire in seconds; "
        "the names keep the nominal windows. Never for production rules.",
    ),
) -> None:
    """Render one rule file per dataset (burn rates, SLOs, runs, data) and one for the monitor.

    Burn-rate factors are kept feasible: a tier whose threshold (factor x (1 - recall
    objective)) would pass 0.9 gets the largest factor that stays at 0.9; the output says which.
    """
    from alerts.model import DEFAULT_RUNBOOK_BASE_URL, build_model
    from alerts.render import RULES_SUFFIX, render_rules, render_runbooks, write

    if not 0.0 < time_scale <= 1.0:
        fail(f"--time-scale: got {time_scale:g}; expected 0 < scale <= 1", EXIT_BAD_INPUT)
    model = build_model(
        state(ctx).settings,
        runbook_base_url=runbook_base_url or DEFAULT_RUNBOOK_BASE_URL,
        time_scale=time_scale,
    )
    outputs = [(out, render_rules(model), RULES_SUFFIX)]
    if runbooks is not None:
        outputs.append((runbooks, render_runbooks(model), ".md"))

    if check:
        check_generated(
            [(directory, files) for directory, files, _ in outputs],
            "alert files",
            "smote-monitor alerts render",
        )
        return

    for directory, files, suffix in outputs:
        written = write(files, directory, suffix=suffix)
        print_plain(f"wrote {len(written)} files to {directory}")
    if not model.datasets:
        console.print("no datasets in the config: only the monitor's own alerts were written")
    for dataset in model.datasets:
        print_plain(
            f"{dataset.name}: recall objective {dataset.minority_recall:g}, "
            f"burn_rate_policy {dataset.burn_rate_policy}"
        )
        for tier in dataset.burn_rates:
            print_plain(f"  {tier.describe()}")
