"""The daemon's life: ``startup()``, ``main_loop()``, ``shutdown()``, as uvicorn's own server.

``smote-monitor serve`` builds one :class:`Service` from the settings and calls :meth:`run`.
The service owns the process's signals: SIGTERM or SIGINT stop new work (no new HTTP
connections, no new scheduled job), let a running evaluation finish within
``shutdown_timeout``, and exit 0. A second signal stops without waiting for HTTP clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import time
from collections.abc import Generator, Mapping
from types import FrameType

import uvicorn
from prometheus_client import CollectorRegistry

from smote_monitor._version import __version__
from smote_monitor.cli._context import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, EXIT_STORE_DOWN
from smote_monitor.config import ConfigError, Settings
from smote_monitor.errors import SmoteMonitorError, StoreUnavailableError
from smote_monitor.server.app import create_app, with_body_limit
from smote_monitor.server.leader import DEFAULT_LEASE_TTL_SECONDS, Leadership, leadership_for
from smote_monitor.server.outage import StoreOutage
from smote_monitor.server.scheduler import JobScheduler, ScheduledJob, evaluation_jobs
from smote_monitor.store import Store
from smote_monitor.store.database import SchemaOutdatedError

log = logging.getLogger(__name__)

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_SHUTDOWN_TIMEOUT",
    "EXIT_STORE_DOWN",
    "Service",
    "StartupError",
    "parse_listen",
]

# The CLI's codes (smote_monitor.cli._context), named for what they mean here.
EXIT_CONFIG = EXIT_BAD_INPUT  # bad --listen, or a public bind without a token
EXIT_SHUTDOWN_TIMEOUT = EXIT_FAILURE  # an evaluation outlived shutdown_timeout
# EXIT_STORE_DOWN: the store's schema is behind (`smote-monitor db upgrade` first). An
# unreachable store does not stop the start: /readyz says 503 until it is back.

SIGNAL_NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "SIGINT"}


class StartupError(SmoteMonitorError):
    """The service refuses to start; ``exit_code`` says why, the message what to do."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def parse_listen(text: str, option: str = "--listen") -> tuple[str, int]:
    """``"127.0.0.1:9464"`` / ``"[::1]:9464"`` → (host, port)."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{option}: got {text!r}; expected HOST:PORT with a port in 1-65535")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handling: the service owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class Service:
    """``smote-monitor serve``: the HTTP API, the leader election and the scheduled jobs.

    Parameters
    ----------
    settings : Settings
    listen : str
        ``HOST:PORT`` to bind.
    allow_unauthenticated : bool
        Serve writes without a token on a non-loopback address (otherwise refused).
    shutdown_timeout : float
        Seconds a running evaluation (and open HTTP requests) get after SIGTERM.
    registry : CollectorRegistry, optional
        What ``/metrics`` serves; default a fresh registry holding the store collector.
    jobs : mapping of name to ScheduledJob, optional
        The scheduled jobs; default one evaluation per configured dataset.
    lease_ttl : float
        Leadership lease (SQLite) and check period (``lease_ttl / 3``, both backends).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        listen: str,
        allow_unauthenticated: bool = False,
        shutdown_timeout: float = 30.0,
        registry: CollectorRegistry | None = None,
        jobs: Mapping[str, ScheduledJob] | None = None,
        lease_ttl: float = DEFAULT_LEASE_TTL_SECONDS,
    ) -> None:
        self.settings = settings
        self.listen = listen
        self.allow_unauthenticated = allow_unauthenticated
        self.shutdown_timeout = shutdown_timeout
        self.registry = registry
        self.lease_ttl = lease_ttl
        self.abandoned_jobs = False  # an evaluation was still running when we gave up on it
        self._jobs = jobs
        self._store: Store | None = None
        self._leadership: Leadership | None = None
        self._scheduler: JobScheduler | None = None
        self._server: _Server | None = None
        self._stop_signal: str | None = None
        self._stop_at: float | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def run(self) -> int:
        """Start, serve until told to stop, stop; the process's exit code."""
        try:
            self.startup()
        except StartupError as exc:
            log.error("not starting: %s", exc)
            self.shutdown(quiet=True)
            return exc.exit_code
        code = EXIT_OK
        try:
            code = self.main_loop()
        finally:
            code = max(code, self.shutdown())
        return code

    def startup(self) -> None:
        host, port = self._bind()
        token = self.settings.auth_token
        if token is None and not is_loopback(host) and not self.allow_unauthenticated:
            env = self.settings.auth_token_env
            raise StartupError(
                f"--listen {self.listen}: refusing to accept unauthenticated writes on a "
                f"non-loopback address; set a token (export {env}=<secret>, the variable the "
                f"config's auth_token_env names) or pass --allow-unauthenticated",
                EXIT_CONFIG,
            )
        store = self._store = Store(self.settings.database_url)
        try:
            store.ensure_schema()
        except SchemaOutdatedError as exc:
            raise StartupError(str(exc), EXIT_STORE_DOWN) from None
        except StoreUnavailableError as exc:
            log.warning(
                "store unreachable at start: %s; serving, /readyz says 503 until it is back", exc
            )
        if self.registry is None:
            from smote_monitor.server.collector import StoreCollector

            self.registry = CollectorRegistry()
            self.registry.register(StoreCollector(store, self.settings))
        jobs = self._jobs if self._jobs is not None else evaluation_jobs(store, self.settings)
        outage = StoreOutage(retry_hint=_retry_hint(jobs, self.lease_ttl / 3))
        self._leadership = leadership_for(store, ttl=self.lease_ttl, outage=outage)
        self._leadership.start()
        self._scheduler = JobScheduler(
            store, jobs, is_leader=self._leadership.is_leader, outage=outage
        )
        self._scheduler.start()
        app = create_app(
            self.settings,
            store,
            role_provider=lambda: self._leadership.role if self._leadership else "follower",
            registry=self.registry,
            auth_token=token,
        )
        config = uvicorn.Config(
            with_body_limit(app, self.settings.max_body_bytes),
            host=host,
            port=port,
            log_config=None,  # the CLI configured logging; uvicorn's loggers propagate to it
            lifespan="on",
            timeout_graceful_shutdown=max(1, round(self.shutdown_timeout)),
            server_header=False,
        )
        self._server = _Server(config)
        if token is None:
            log.warning("writes are unauthenticated: no token in $%s", self.settings.auth_token_env)

    def main_loop(self) -> int:
        """Serve HTTP in this process until a signal; EXIT_OK, or EXIT_FAILURE if unable to
        bind."""
        assert self._server is not None
        previous = {sig: signal.signal(sig, self._on_signal) for sig in SIGNAL_NAMES}
        try:
            asyncio.run(self._serve())
        except SystemExit as exc:  # uvicorn exits when it cannot bind (it logged why)
            log.error("cannot listen on %s (exit %s)", self.listen, exc.code)
            return EXIT_FAILURE
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return EXIT_OK

    def shutdown(self, *, quiet: bool = False) -> int:
        """Stop the scheduler (waiting for a running job), leadership and the store."""
        code = EXIT_OK
        if self._scheduler is not None:
            running = self._scheduler.running
            why = f"{self._stop_signal} received" if self._stop_signal else "the server stopped"
            if running:
                log.info(
                    "stopping: %s; waiting up to %gs for the running evaluation",
                    why,
                    self.shutdown_timeout,
                )
            elif not quiet:
                log.info("stopping: %s", why)
            waited = time.monotonic() - self._stop_at if self._stop_at is not None else 0.0
            if not self._scheduler.shutdown(max(0.0, self.shutdown_timeout - waited)):
                log.error(
                    "an evaluation still runs after %gs; exiting without it (its transaction "
                    "is rolled back, the next leader runs it again)",
                    self.shutdown_timeout,
                )
                self.abandoned_jobs = True
                code = EXIT_SHUTDOWN_TIMEOUT
            self._scheduler = None
        if self._leadership is not None:
            self._leadership.stop()
            self._leadership = None
        if self._store is not None:
            self._store.dispose()
            self._store = None
        if not quiet:
            log.info("stopped")
        return code

    # --- internals ---------------------------------------------------------------------

    def _bind(self) -> tuple[str, int]:
        try:
            return parse_listen(self.listen)
        except ConfigError as exc:
            raise StartupError(str(exc), EXIT_CONFIG) from None

    async def _serve(self) -> None:
        server = self._server
        assert server is not None and self._store is not None
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            role = self._leadership.role if self._leadership else "follower"
            log.info(
                "smote-monitor %s serving on http://%s (store %s, role %s)",
                __version__,
                self.listen,
                self._store.url_for_display,
                role,
            )
            log.info("ready")
        await task

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Only flags here: the main loop does the work (and the logging) outside the handler.
        server = self._server
        if self._stop_signal is not None and server is not None:
            server.force_exit = True  # a second signal: stop waiting for HTTP clients
            return
        self._stop_signal = SIGNAL_NAMES.get(signal.Signals(signum), str(signum))
        self._stop_at = time.monotonic()
        if self._scheduler is not None:
            self._scheduler.stop_accepting()
        if server is not None:
            server.should_exit = True


def _retry_hint(jobs: Mapping[str, ScheduledJob], check_every: float) -> str:
    if not jobs:
        return f"retrying every {check_every:g}s"
    every = min(job.every_seconds for job in jobs.values())
    return f"jobs will retry every {_duration(every)}"


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
