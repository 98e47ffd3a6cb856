"""The root ``smote-monitor`` command and its sub-commands."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from smote_monitor._version import __version__
from smote_monitor.cli import alerts as alerts_cli
from smote_monitor.cli import dashboards, demo, evaluate, record, report, runs, serve, store
from smote_monitor.cli._context import (
    CLIState,
    configure_logging,
    exit_code_for,
    print_error,
)
from smote_monitor.config import CONFIG_ENV
from smote_monitor.errors import SmoteMonitorError, path_error


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def _flags_show_no_metavar() -> None:
    """Render flags (``--json``, ``--force``, ``--help``) without a value column.

    typer 0.29 gives every option the type column of its annotation, so a flag reads
    ``--json <bool>`` as if it took a value. One patch here covers every command, the options
    typer and click add (``--help``, completion) included; an option with an explicit metavar
    keeps it.
    """
    from typer.core import TyperOption

    rendered = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and self.metavar is None:
            return None
        return rendered(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_metavar()

app = typer.Typer(
    name="smote-monitor",
    help=(
        "Observability for models trained with SMOTE: record every SMOTE run, watch production "
        "drift and per-slice minority recall, and run the sidecar (`serve`: HTTP API, "
        "Prometheus /metrics, scheduled evaluations). Start with `demo`.\n\n"
        "Settings come from --config (or $SMOTE_MONITOR_CONFIG, or ./smote-monitor.yaml when "
        "present), overridden by SMOTE_MONITOR_* environment variables. Without any, the store "
        "is the embedded SQLite file ./smote-monitor.db."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"smote-monitor {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        envvar=CONFIG_ENV,
        dir_okay=False,
        help="YAML config file (see `smote-monitor init`).",
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="Store URL, overriding the config: sqlite:///path.db or postgresql+psycopg://…",
    ),
    log_level: LogLevel = typer.Option(LogLevel.INFO, "--log-level", help="Log verbosity."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    configure_logging(log_level)
    ctx.obj = CLIState(config_path=config, database_url=database_url)


app.command("init")(store.init)
app.command("record")(record.record)
app.add_typer(runs.app, name="runs")
app.add_typer(store.db_app, name="db")
app.add_typer(store.spool_app, name="spool")
app.command("evaluate")(evaluate.evaluate)
app.command("demo")(demo.demo)
app.command("report")(report.report)
app.add_typer(alerts_cli.app, name="alerts")
app.command("serve")(serve.serve)
app.add_typer(dashboards.app, name="dashboards")


def main() -> None:
    try:
        app()
    except SmoteMonitorError as exc:
        # Our errors already say what is wrong and what was expected: no traceback.
        print_error(str(exc))
        sys.exit(exit_code_for(exc))
    except OSError as exc:
        # The last net: a file the command had to read or write, named with the system's reason.
        if exc.filename is None:
            raise
        error = path_error(exc, str(exc.filename), "use")
        print_error(str(error))
        sys.exit(exit_code_for(error))
