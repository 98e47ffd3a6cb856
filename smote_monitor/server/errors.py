"""Every error the HTTP API answers, as one JSON shape, through one translator.

``{"error": {"field": ..., "value": ..., "expected": ..., "message": ...}}``: the field that was
wrong, the value received (shortened), what would have been accepted, and the sentence a person
reads. Pydantic/FastAPI request validation, our :class:`InvalidInputError` and
:class:`ConfigError`, conflicts, missing resources and store outages all pass through
:func:`error_response`.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from smote_monitor.config import ConfigError
from smote_monitor.errors import (
    InvalidInputError,
    RunConflictError,
    SmoteMonitorError,
    StoreUnavailableError,
)
from smote_monitor.store.database import SchemaOutdatedError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
"""What a client told 503 waits before it retries (``Retry-After``)."""

VALUE_MAX_CHARS = 200


class HTTPProblem(SmoteMonitorError):
    """An answer other than success, raised from a route: status, and the error's fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        expected: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.value = value
        self.expected = expected
        self.headers = headers or {}


class MalformedBodyError(InvalidInputError):
    """The body could not be parsed at all (not JSON, not an Arrow stream): 400, not 422."""


def shown(value: Any) -> Any:
    """``value`` as the error shows it: JSON-safe, and short (a 30 MB body is not echoed)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return value if len(value) <= VALUE_MAX_CHARS else value[: VALUE_MAX_CHARS - 3] + "..."
    try:
        text = json.dumps(value, allow_nan=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    else:
        if len(text) <= VALUE_MAX_CHARS:
            return json.loads(text)
    return text if len(text) <= VALUE_MAX_CHARS else text[: VALUE_MAX_CHARS - 3] + "..."


def error_body(
    message: str, *, field: str | None = None, value: Any = None, expected: str | None = None
) -> dict[str, Any]:
    return {
        "error": {"field": field, "value": shown(value), "expected": expected, "message": message}
    }


def error_response(exc: BaseException) -> JSONResponse:
    """The one translator: an exception to its status code and JSON error body."""
    status, headers = 500, {}
    field: str | None = None
    value: Any = None
    expected: str | None = None
    message = str(exc)
    if isinstance(exc, HTTPProblem):
        status, headers = exc.status, exc.headers
        field, value, expected = exc.field, exc.value, exc.expected
    elif isinstance(exc, InvalidInputError):
        status = 400 if isinstance(exc, MalformedBodyError) else 422
        field, value, expected = exc.field, exc.value, exc.expected
    elif isinstance(exc, RequestValidationError):
        status = 422
        field, value, expected, message = _first_validation_error(exc)
    elif isinstance(exc, ConfigError):
        status, field, expected = 422, "config", "a valid configuration"
    elif isinstance(exc, RunConflictError):
        status, field = 409, "run_key"
    elif isinstance(exc, StoreUnavailableError | SchemaOutdatedError):
        status, headers = 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        message = f"{message}; nothing was written, retry later"
    elif isinstance(exc, StarletteHTTPException):
        status, headers = exc.status_code, dict(exc.headers or {})
        message = str(exc.detail)
    else:
        message = "internal error; the server log has the details"
    body = error_body(message, field=field, value=value, expected=expected)
    return JSONResponse(body, status_code=status, headers=headers)


def _first_validation_error(exc: RequestValidationError) -> tuple[str, Any, str, str]:
    item = exc.errors()[0]
    loc = [str(part) for part in item.get("loc", ())]
    # ("query", "limit") names the parameter "limit"; the source is in the message.
    source = loc[0] if loc and loc[0] in ("query", "path", "header", "body", "cookie") else None
    field = ".".join(loc[1:] if source else loc) or (source or "request")
    value = item.get("input")
    if item.get("type") == "missing":
        expected = "a value (it is required)"
    else:
        expected = str(item.get("msg", "a valid value")).removeprefix("Input should be ")
        expected = expected.removeprefix("Value error, ").removeprefix("expected ")
    where = f" ({source} parameter)" if source in ("query", "path", "header") else ""
    message = f"{field}{where}: got {shown(value)!r}; expected {expected}"
    return field, value, expected, message


async def handle(request: Request, exc: Exception) -> JSONResponse:
    """Starlette exception handler for every exception class the API answers."""
    response = error_response(exc)
    if response.status_code >= 500 and not isinstance(
        exc, StoreUnavailableError | SchemaOutdatedError | HTTPProblem
    ):
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return response
