"""The HTTP API of DESIGN.md: runs, pushed predictions and labels, dataset status, health.

Routes parse and answer; the work is the tracking layer's (``Monitor.record``, the same path
as ``smote-monitor record``) and the evaluation layer's (push, status). Bodies are read here,
not by FastAPI, so that the size limit (``limits.py``) and the record validation of
``smote_monitor.records`` apply exactly as they do elsewhere.
"""

from __future__ import annotations

import hmac
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool

from smote_monitor.config import DATASET_NAME_PATTERN, Settings
from smote_monitor.errors import InvalidInputError, RunConflictError, StoreUnavailableError
from smote_monitor.records import Outcome, run_document
from smote_monitor.server.bodies import parse_json, require_json, rows_frame
from smote_monitor.server.errors import HTTPProblem, error_body
from smote_monitor.store import Store
from smote_monitor.store.database import SchemaOutdatedError
from smote_monitor.tracking.monitor import Monitor

log = logging.getLogger(__name__)

API = "/api/v1"
INT64_MAX = 2**63 - 1
RUNS_LIMIT_MAX = 1000


@dataclass
class Context:
    """What the routes share: set once by ``create_app``."""

    settings: Settings
    store: Store
    monitor: Monitor
    token: str | None
    registry: CollectorRegistry
    role_provider: Any  # Callable[[], str]


def context(request: Request) -> Context:
    ctx = request.app.state.context
    assert isinstance(ctx, Context)
    return ctx


_bearer = HTTPBearer(auto_error=False, description="Needed for writes when a token is configured.")


def require_writer(
    ctx: Annotated[Context, Depends(context)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Writes need ``Authorization: Bearer <token>`` when a token is configured."""
    if ctx.token is None:
        return
    given = credentials.credentials if credentials is not None else ""
    # Constant time: a timing difference must not reveal how much of the token was right.
    if credentials is None or not hmac.compare_digest(given.encode(), ctx.token.encode()):
        raise HTTPProblem(
            401,
            "Authorization: a valid bearer token is required for writes"
            if credentials is not None
            else "Authorization: missing; expected 'Bearer <token>' (writes need the token)",
            field="Authorization",
            value="Bearer <redacted>" if credentials is not None else None,
            expected="Bearer <the token in the server's auth_token_env variable>",
            headers={"WWW-Authenticate": 'Bearer realm="smote-monitor"'},
        )


Ctx = Annotated[Context, Depends(context)]
Writer = [Depends(require_writer)]
RunId = Annotated[int, PathParam(ge=1, le=INT64_MAX, description="Run id, as listed.")]
DatasetName = Annotated[str, PathParam(min_length=1, max_length=64, description="Dataset name.")]

router = APIRouter()


# --- runs ---------------------------------------------------------------------------------


def _parse_records(data: Any) -> tuple[list[Any], bool]:
    """The body's records (one, or a list); the tracking layer validates each of them."""
    many = isinstance(data, list)
    items = data if many else [data]
    if many and not items:
        raise InvalidInputError("body", data, "a run record, or a non-empty list of them")
    return items, many


def _store_runs(ctx: Context, records: list[Any], many: bool) -> JSONResponse:
    """Validate every record, then store them all or none, in one transaction (the same path
    as ``smote-monitor record``: the gate and leakage are never taken from the client)."""
    try:
        stored = ctx.monitor.record_many(records)
    except RunConflictError as exc:
        body = error_body(
            str(exc),
            field="run_key",
            value=None,
            expected="a new run_key, or the same content as the stored run; nothing was stored",
        )
        return JSONResponse(body, status_code=409)
    results = []
    for item in stored:
        # strict: an outage raises, so there is always an outcome (nothing is spooled here)
        assert item.outcome is not None
        results.append(
            {
                "id": item.outcome.run_id,
                "dataset": item.record.dataset,
                "run_key": item.record.run_key,
                "action": item.outcome.action,
            }
        )
    created = any(result["action"] == "created" for result in results)
    status = 201 if created else 200
    if many:
        return JSONResponse({"results": results}, status_code=status)
    headers = {"Location": f"{API}/runs/{results[0]['id']}"}
    return JSONResponse(results[0], status_code=status, headers=headers)


@router.post(
    f"{API}/runs",
    dependencies=Writer,
    status_code=201,
    summary="Record SMOTE runs (the JSON of `smote-monitor record`)",
    responses={
        200: {"description": "Already stored with the same content (or an open run filled in)"},
        201: {"description": "Created"},
        409: {"description": "The run_key is stored with different content"},
        422: {"description": "Invalid record; nothing was written"},
        503: {"description": "Store unavailable; nothing was written"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/RunInput"},
                            {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/RunInput"},
                            },
                        ]
                    }
                }
            },
        }
    },
)
async def post_runs(request: Request, ctx: Ctx) -> JSONResponse:
    require_json(request.headers.get("content-type"))
    data = parse_json(await request.body())
    records, many = _parse_records(data)
    return await run_in_threadpool(_store_runs, ctx, records, many)


@router.get(f"{API}/runs", summary="List runs, newest first")
def get_runs(
    ctx: Ctx,
    dataset: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Outcome | None = None,
    limit: Annotated[int, Query(ge=1, le=RUNS_LIMIT_MAX)] = 50,
) -> dict[str, Any]:
    from smote_monitor.store.runs import list_runs, run_to_record

    with ctx.store.read() as session:
        runs = list_runs(
            session, dataset=dataset, outcome=outcome.value if outcome else None, limit=limit
        )
        return {"runs": [run_document(r.id, run_to_record(r), report=False) for r in runs]}


def _no_run(run_id: int) -> HTTPProblem:
    return HTTPProblem(
        404,
        f"run_id: got {run_id}; no run has that id (see GET {API}/runs)",
        field="run_id",
        value=run_id,
        expected="the id of a stored run",
    )


@router.get(f"{API}/runs/{{run_id}}", summary="One run, in full")
def get_run(run_id: RunId, ctx: Ctx) -> dict[str, Any]:
    from smote_monitor.store.runs import get_run as find
    from smote_monitor.store.runs import run_to_record

    with ctx.store.read() as session:
        run = find(session, run_id)
        if run is None:
            raise _no_run(run_id)
        return run_document(run.id, run_to_record(run))


@router.get(
    f"{API}/runs/{{run_id}}/report",
    response_class=HTMLResponse,
    summary="Evidently drift report (HTML) of the run's real vs augmented training data",
    responses={404: {"description": "No such run"}, 409: {"description": "No profiles"}},
)
def get_run_report(run_id: RunId, ctx: Ctx) -> HTMLResponse:
    from smote_monitor.drift.reference import AUGMENTED, REAL
    from smote_monitor.reports import column_kinds, profiles_to_frame, run_report
    from smote_monitor.store.profiles import load_profiles
    from smote_monitor.store.runs import get_run as find

    with ctx.store.read() as session:
        run = find(session, run_id)
        if run is None:
            raise _no_run(run_id)
        title = f"{run.dataset.name} run {run_id} ({run.run_key}): real vs augmented"
        real = load_profiles(session, run_id, REAL)
        augmented = load_profiles(session, run_id, AUGMENTED)
    if not real or not augmented:
        missing = REAL if not real else AUGMENTED
        raise HTTPProblem(
            409,
            f"run_id: got {run_id}; it has no {missing} profiles, expected a run with real and "
            "augmented profiles (recorded before profiles existed, or without data)",
            field="run_id",
            value=run_id,
            expected="a run with real and augmented profiles",
        )
    numerical, categorical = column_kinds(real)
    with tempfile.TemporaryDirectory(prefix="smote-report-") as tmp:
        summary = run_report(
            profiles_to_frame(real),
            profiles_to_frame(augmented),
            numerical=numerical,
            categorical=categorical,
            title=title,
            output=Path(tmp) / "report.html",
        )
        html = summary.path.read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"X-Drift-Share": f"{summary.drift_share:.6f}"})


# --- datasets: pushed rows and status ------------------------------------------------------


def _known_dataset(ctx: Context, dataset: str) -> None:
    if dataset not in ctx.settings.datasets or not DATASET_NAME_PATTERN.match(dataset):
        known = ", ".join(sorted(ctx.settings.datasets)) or "none configured"
        raise HTTPProblem(
            404,
            f"dataset: got {dataset!r}; expected a dataset of the server's config ({known})",
            field="dataset",
            value=dataset,
            expected="a dataset of the server's config",
        )


PUSH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["rows"],
                    "additionalProperties": False,
                    "properties": {
                        "rows": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "object"},
                        }
                    },
                }
            },
            "application/vnd.apache.arrow.stream": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    }
}
PUSH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": '{"accepted": n, "duplicates": n, "labels_joined": n}'},
    400: {"description": "Not JSON / not an Arrow stream"},
    404: {"description": "Unknown dataset"},
    422: {"description": "Invalid rows; nothing was written"},
}


async def _push(request: Request, ctx: Context, dataset: str, kind: str) -> dict[str, Any]:
    _known_dataset(ctx, dataset)
    body = await request.body()
    frame = await run_in_threadpool(rows_frame, body, request.headers.get("content-type"))
    from smote_monitor.evaluation.push import push_labels, push_predictions

    function = push_predictions if kind == "predictions" else push_labels
    result = await run_in_threadpool(function, ctx.store, ctx.settings, dataset, frame)
    answer: dict[str, Any] = result.to_dict()
    return answer


@router.post(
    f"{API}/datasets/{{dataset}}/predictions",
    dependencies=Writer,
    summary="Push production predictions (JSON rows or an Arrow IPC stream)",
    responses=PUSH_RESPONSES,
    openapi_extra=PUSH_BODY,
)
async def post_predictions(dataset: DatasetName, request: Request, ctx: Ctx) -> dict[str, Any]:
    return await _push(request, ctx, dataset, "predictions")


@router.post(
    f"{API}/datasets/{{dataset}}/labels",
    dependencies=Writer,
    summary="Push labels of earlier predictions (JSON rows or an Arrow IPC stream)",
    responses=PUSH_RESPONSES,
    openapi_extra=PUSH_BODY,
)
async def post_labels(dataset: DatasetName, request: Request, ctx: Ctx) -> dict[str, Any]:
    return await _push(request, ctx, dataset, "labels")


@router.get(
    f"{API}/datasets/{{dataset}}/status",
    summary="Windows, slice SLIs, drift and SLO compliance of a dataset",
    responses={404: {"description": "Unknown dataset"}},
)
def get_dataset_status(dataset: DatasetName, ctx: Ctx) -> dict[str, Any]:
    _known_dataset(ctx, dataset)
    from smote_monitor.evaluation.status import dataset_status

    status: dict[str, Any] = dataset_status(ctx.store, ctx.settings, dataset)
    return status


# --- the status page ----------------------------------------------------------------------


@router.get(
    "/",
    response_class=HTMLResponse,
    summary="Status page (HTML): every dataset's latest run, gate, slice SLIs, drift and alerts",
    responses={
        200: {"content": {"text/html": {}}, "description": "The page"},
        503: {"content": {"text/html": {}}, "description": "The page's store-unreachable banner"},
    },
)
def status_page(ctx: Ctx) -> HTMLResponse:
    from smote_monitor.server.status_page import render_status_page

    page = render_status_page(ctx.store, ctx.settings)
    return HTMLResponse(page.html, status_code=page.status_code, headers=page.headers)


# --- operations -----------------------------------------------------------------------------


@router.get("/healthz", summary="Alive (200 while the process runs)")
def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get(
    "/readyz",
    summary="Ready: the store is reachable and its schema current (503 otherwise)",
    responses={503: {"description": "Not ready; the body says why"}},
)
def readyz(ctx: Ctx) -> JSONResponse:
    role = str(ctx.role_provider())
    try:
        status = ctx.store.status()
    except (StoreUnavailableError, SchemaOutdatedError) as exc:
        return _not_ready(role, str(exc))
    if not status.up_to_date:
        return _not_ready(
            role,
            f"the store {status.url} is at schema revision {status.revision or 'none'}, this "
            f"smote-monitor needs {status.head}: run `smote-monitor db upgrade`",
        )
    return JSONResponse(
        {"status": "ready", "role": role, "store": status.url, "schema": status.revision}
    )


def _not_ready(role: str, reason: str) -> JSONResponse:
    return JSONResponse(
        {"status": "not ready", "role": role, "reason": reason},
        status_code=503,
        headers={"Retry-After": "5"},
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format 0.0.4)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {}}}},
)
def metrics(ctx: Ctx) -> Response:
    return Response(generate_latest(ctx.registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)
