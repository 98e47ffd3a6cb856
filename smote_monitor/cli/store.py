"""``init``, ``db …`` and ``spool …``: setting up and maintaining the store."""

from __future__ import annotations

import os
import tempfile
from importlib.resources import files
from pathlib import Path

import typer

from smote_monitor.cli._context import (
    EXIT_BAD_INPUT,
    EXIT_STORE_DOWN,
    console,
    exit_code_for,
    fail,
    print_json,
    print_plain,
    state,
)
from smote_monitor.config import resolve_settings
from smote_monitor.errors import SmoteMonitorError, path_error
from smote_monitor.store import Store
from smote_monitor.tracking.spool import Spool

db_app = typer.Typer(help="Inspect and migrate the SQL store.", no_args_is_help=True)
spool_app = typer.Typer(help="Runs recorded while the store was unreachable.", no_args_is_help=True)

EXAMPLE_CONFIG = "example-config.yaml"


def example_config_text() -> str:
    return files("smote_monitor").joinpath(EXAMPLE_CONFIG).read_text(encoding="utf-8")


def init(
    ctx: typer.Context,
    path: Path = typer.Argument(Path("smote-monitor.yaml"), help="Where to write the config."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing config file."),
) -> None:
    """Write a commented example config and create (or upgrade) the store it names.

    The config appears only once its store exists: when the store cannot be created, no config
    is written (an existing one is kept).
    """
    if path.is_dir():
        fail(f"{path} is a directory; expected the path of a config file", EXIT_BAD_INPUT)
    if path.exists() and not force:
        fail(f"{path} exists; pass --force to overwrite it", EXIT_BAD_INPUT)
    if not path.parent.is_dir():
        fail(f"{path}: the directory {path.parent} does not exist", EXIT_BAD_INPUT)
    try:
        fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        # The draft's name would mislead: the user asked for `path`.
        error = path_error(exc, str(path), "write the config")
        fail(str(error), exit_code_for(error))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(example_config_text())
        settings = resolve_settings(draft, database_url=state(ctx).database_url)
        status = Store(settings.database_url).upgrade()
        os.replace(draft, path)
    except SmoteMonitorError as exc:
        fail(f"{exc}; {path} was not written", exit_code_for(exc))
    finally:
        Path(draft).unlink(missing_ok=True)
    console.print(f"wrote {path}; store {status.url} is at schema revision {status.revision}")
    console.print(
        "next: edit the datasets section, then record runs with the Python API or "
        "`smote-monitor record`"
    )


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Migrate the store's schema to this version; every row is kept."""
    store = Store(state(ctx).settings.database_url)
    before = store.status()
    after = store.upgrade()
    if before.revision == after.revision:
        console.print(f"store {after.url} is up to date (revision {after.revision})")
    else:
        console.print(
            f"store {after.url} upgraded: {before.revision or 'empty'} → {after.revision}"
        )


@db_app.command("status")
def db_status(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable.")
) -> None:
    """Show the store's backend and schema revision."""
    status = Store(state(ctx).settings.database_url, auto_upgrade=False, create=False).status()
    if as_json:
        print_json(
            {
                "url": status.url,
                "backend": status.backend,
                "revision": status.revision,
                "head": status.head,
                "up_to_date": status.up_to_date,
            }
        )
        return
    mark = "up to date" if status.up_to_date else "needs `smote-monitor db upgrade`"
    console.print(
        f"{status.url} ({status.backend}): revision {status.revision or 'none'}, "
        f"head {status.head} — {mark}"
    )


@spool_app.command("replay")
def spool_replay(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable."),
    into_current_store: bool = typer.Option(
        False,
        "--into-current-store",
        help="Also store entries that name no store (spooled by an older smote-monitor) in this "
        "store. Entries meant for another store are never moved.",
    ),
) -> None:
    """Store every spooled run meant for this store; each is stored exactly once, however often
    this runs. Entries meant for another store stay in the spool, untouched."""
    settings = state(ctx).settings
    spool = Spool(settings.spool_dir)
    store = Store(settings.database_url)
    result = spool.replay(store, into_current_store=into_current_store)
    if as_json:
        print_json(
            {
                "stored": result.stored,
                "duplicates": result.duplicates,
                "rejected": [{"file": f, "reason": r} for f, r in result.rejected],
                "remaining": result.remaining,
                "waiting_for_other_stores": [
                    {"store": url, "entries": n} for url, n in sorted(result.waiting.items())
                ],
                "without_store": result.untargeted,
            }
        )
    else:
        console.print(
            f"stored {result.stored}, already stored {result.duplicates}, "
            f"rejected {len(result.rejected)}, still waiting {result.remaining} "
            f"(spool: {spool.directory})"
        )
        for name, reason in result.rejected:
            print_plain(f"  rejected {name}: {reason}")
        for url, count in sorted(result.waiting.items()):
            print_plain(
                f"{_entries(count)} for {url}, not this store ({store.url_for_display}); "
                "left in the spool"
            )
        if result.untargeted:
            names = "names" if result.untargeted == 1 else "name"
            print_plain(
                f"{_entries(result.untargeted, verb=names)} no store (spooled by an older "
                "smote-monitor); `smote-monitor spool replay --into-current-store` stores "
                "them in this one"
            )
    if result.remaining:
        fail("the store became unreachable during replay; run it again later", EXIT_STORE_DOWN)


def _entries(count: int, *, verb: str | None = None) -> str:
    noun = "entry" if count == 1 else "entries"
    return f"{count} {noun} {verb or ('waits' if count == 1 else 'wait')}"


@spool_app.command("list")
def spool_list(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable.")
) -> None:
    """List the runs waiting in the spool, each with the store it is meant for."""
    spool = Spool(state(ctx).settings.spool_dir)
    entries = spool.entries()
    if as_json:
        print_json(
            [
                {
                    "file": entry.path.name,
                    "dataset": entry.dataset,
                    "run_key": entry.run_key,
                    "store": entry.store,
                    "error": entry.error,
                }
                for entry in entries
            ]
        )
        return
    for entry in entries:
        if entry.error is not None:
            print_plain(f"{entry.path.name} → unreadable ({entry.error})")
        else:
            print_plain(f"{entry.path.name} → {entry.store or '(no store named)'}")
    console.print(f"{len(entries)} waiting in {spool.directory}")
