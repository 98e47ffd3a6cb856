"""The FastAPI application of ``smote-monitor serve``: routes, auth, errors, body limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from smote_monitor._version import __version__
from smote_monitor.config import ConfigError, Settings
from smote_monitor.errors import InvalidInputError, RunConflictError, StoreUnavailableError
from smote_monitor.records import input_schema
from smote_monitor.server import errors
from smote_monitor.server.limits import BodyLimitMiddleware
from smote_monitor.server.routes import Context, router
from smote_monitor.store import Store
from smote_monitor.store.database import SchemaOutdatedError
from smote_monitor.tracking.monitor import Monitor

_TRANSLATED: tuple[type[Exception], ...] = (
    errors.HTTPProblem,
    InvalidInputError,
    ConfigError,
    RequestValidationError,
    RunConflictError,
    StoreUnavailableError,
    SchemaOutdatedError,
    StarletteHTTPException,
    Exception,  # last: anything unexpected is a 500 without a traceback in the body
)


def create_app(
    settings: Settings,
    store: Store,
    *,
    role_provider: Callable[[], str],
    registry: CollectorRegistry | None = None,
    auth_token: str | None = None,
) -> FastAPI:
    """The ASGI application.

    Parameters
    ----------
    settings, store
        The deployment's settings and its store (opened by the caller).
    role_provider
        ``"leader"`` or ``"follower"``, asked at each ``/readyz``.
    registry
        What ``/metrics`` serves; the collector reading the store is registered there by the
        caller. Default: an empty registry.
    auth_token
        The bearer token writes need. Default ``settings.auth_token`` (from the environment
        variable ``auth_token_env`` names); None leaves writes open.
    """
    app = FastAPI(
        title="smote-monitor",
        version=__version__,
        description="Runs, production predictions and labels of models trained with SMOTE.",
    )
    # Outages must raise (503) instead of spooling runs into the daemon's working directory.
    monitor = Monitor(settings.model_copy(update={"strict": True}), store=store)
    app.state.context = Context(
        settings=settings,
        store=store,
        monitor=monitor,
        token=auth_token if auth_token is not None else settings.auth_token,
        registry=registry if registry is not None else CollectorRegistry(),
        role_provider=role_provider,
    )
    for exc_class in _TRANSLATED:
        app.add_exception_handler(exc_class, errors.handle)
    app.include_router(router)
    app.openapi = _openapi_with_records(app)  # type: ignore[method-assign]
    return app


def with_body_limit(app: ASGIApp, max_body_bytes: int) -> ASGIApp:
    """``app`` behind the request body limit (outermost, so nothing buffers before it)."""
    return BodyLimitMiddleware(app, max_body_bytes=max_body_bytes)


def _openapi_with_records(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI's schema plus ``RunInput`` (what ``smote-monitor record`` takes), which the
    runs route reads itself (see routes)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            record = input_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(record.pop("$defs", {}))
            components["RunInput"] = record
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi
