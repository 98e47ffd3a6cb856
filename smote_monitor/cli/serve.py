"""``smote-monitor serve``: the daemon (HTTP API, /metrics, scheduled evaluations)."""

from __future__ import annotations

import logging
import os

import typer

from smote_monitor.cli._context import state
from smote_monitor.server.leader import DEFAULT_LEASE_TTL_SECONDS


def serve(
    ctx: typer.Context,
    listen: str | None = typer.Option(
        None,
        "--listen",
        metavar="HOST:PORT",
        help="Address to bind (default: the config's listen, 127.0.0.1:9464).",
    ),
    allow_unauthenticated: bool = typer.Option(
        False,
        "--allow-unauthenticated",
        help="Accept writes without a token on a non-loopback address (refused otherwise).",
    ),
    shutdown_timeout: float | None = typer.Option(
        None,
        "--shutdown-timeout",
        metavar="SECONDS",
        min=0.0,
        help="On SIGTERM, how long a running evaluation may finish "
        "(default: the config's shutdown_timeout, 30).",
    ),
    lease_ttl: float = typer.Option(DEFAULT_LEASE_TTL_SECONDS, "--lease-ttl", min=0.3, hidden=True),
) -> None:
    """Run the daemon: the HTTP API, /metrics, and the scheduled evaluations.

    Serves DESIGN's routes (/api/v1/runs, /api/v1/datasets/{dataset}/predictions|labels|status,
    /healthz, /readyz, /metrics, /openapi.json) on one port. Writes need `Authorization: Bearer
    <token>` when the variable named by the config's auth_token_env (SMOTE_MONITOR_TOKEN) is
    set; binding a non-loopback address without one is refused unless --allow-unauthenticated.

    Several replicas may share one PostgreSQL store: exactly one (the holder of an advisory
    lock; on SQLite, of a lease) runs the scheduled jobs, and /readyz names each one's role.
    SIGTERM or SIGINT stops taking work, lets a running evaluation finish within
    --shutdown-timeout, and exits 0.
    """
    from smote_monitor.server.service import Service

    settings = state(ctx).settings
    # APScheduler narrates every tick at INFO; our scheduler logs what matters (failures).
    apscheduler = logging.getLogger("apscheduler")
    if apscheduler.getEffectiveLevel() == logging.INFO:
        apscheduler.setLevel(logging.WARNING)
    if shutdown_timeout is None:
        shutdown_timeout = settings.shutdown_timeout
    service = Service(
        settings,
        listen=listen or settings.listen,
        allow_unauthenticated=allow_unauthenticated,
        shutdown_timeout=settings.shutdown_timeout
        if shutdown_timeout is None
        else shutdown_timeout,
        lease_ttl=lease_ttl,
    )
    code = service.run()
    if service.abandoned_jobs:
        # A job thread still runs: interpreter exit would wait for it. Its transaction is
        # rolled back by the store when the connection goes.
        logging.shutdown()
        os._exit(code)
    raise typer.Exit(code)
