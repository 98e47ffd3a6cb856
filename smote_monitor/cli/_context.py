"""What every command shares: the settings, logging, and how results are printed."""

from __future__ import annotations

import logging.config
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO

import typer
from rich.console import Console
from rich.text import Text

from smote_monitor import jsonio
from smote_monitor.config import ConfigError, Settings, resolve_settings

# Exit codes, named so scripts and the tests agree on them.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_STORE_DOWN = 3
EXIT_PERMISSION = 4
"""A path (the store, the config, a report) refuses to be written: permissions, read-only."""

PIPE_WIDTH = 1000
"""Width of output that is not a terminal (a pipe, a file) when $COLUMNS does not say: wide
enough that nothing is cut or wrapped for a terminal that is not there."""


def _width(stream: TextIO) -> int | None:
    """None (Rich asks the terminal, or $COLUMNS) unless the stream is no terminal."""
    if "COLUMNS" in os.environ:
        return None
    isatty = getattr(stream, "isatty", None)
    return None if isatty is not None and isatty() else PIPE_WIDTH


console = Console(width=_width(sys.stdout))
err_console = Console(stderr=True, width=_width(sys.stderr))


@dataclass
class CLIState:
    config_path: Path | None
    database_url: str | None
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = resolve_settings(self.config_path, database_url=self.database_url)
        return self._settings


def state(ctx: typer.Context) -> CLIState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CLIState)
    return obj


def configure_logging(level: str) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "plain",
                    "stream": "ext://sys.stderr",
                }
            },
            "root": {"level": level.upper(), "handlers": ["stderr"]},
            # Alembic narrates every migration step at INFO; one line from us says it happened.
            "loggers": {"alembic": {"level": "WARNING"}},
        }
    )


def print_json(data: Any) -> None:
    sys.stdout.write(jsonio.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def print_plain(text: str, *, console: Console = console) -> None:
    """Print text as it is: no Rich markup, emoji codes or highlighting.

    Anything derived from user input (run keys, values in error messages, YAML excerpts) goes
    through here; "[bold]SMOTE[/bold]" would otherwise print as "SMOTE".
    """
    console.print(Text(text), highlight=False, emoji=False, soft_wrap=True)


def print_error(message: str) -> None:
    err_console.print(
        Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True
    )


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    print_error(message)
    raise typer.Exit(code)


def check_generated(outputs: list[tuple[Path, dict[str, str]]], what: str, command: str) -> None:
    """``--check`` of a generator: write nothing, fail naming every file on disk that differs
    from (or lacks) what ``command`` would write; ``outputs`` maps directories to their files
    (relative path → text)."""
    stale = [
        str(directory / name)
        for directory, files in outputs
        for name, text in files.items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != text
    ]
    if stale:
        fail(
            f"{len(stale)} generated file(s) differ from the config: {', '.join(stale)}; "
            f"run `{command}` and commit the result",
            EXIT_FAILURE,
        )
    print_plain(f"{what} are up to date ({sum(len(files) for _, files in outputs)} files)")


def exit_code_for(exc: BaseException) -> int:
    from smote_monitor.errors import (
        InvalidInputError,
        NotAStoreError,
        PermissionDeniedError,
        StoreNotFoundError,
        StoreUnavailableError,
    )

    # Most specific first: a StorePermissionError is also a StoreUnavailableError.
    if isinstance(exc, PermissionDeniedError):
        return EXIT_PERMISSION
    if isinstance(exc, InvalidInputError | ConfigError | NotAStoreError | StoreNotFoundError):
        return EXIT_BAD_INPUT
    if isinstance(exc, StoreUnavailableError):
        return EXIT_STORE_DOWN
    return EXIT_FAILURE
