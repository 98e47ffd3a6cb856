"""The HTTP API of a real `smote-monitor serve` process, on SQLite and on PostgreSQL.

One server per backend for the whole module (starting one costs about a second).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.helpers import ServerProcess, run_record, write_config

pytestmark = pytest.mark.slow

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(module_store_url: str, module_dir: Path) -> Iterator[ServerProcess]:
    config = write_config(module_dir, module_store_url, max_body_bytes=LIMIT)
    with ServerProcess(config, env={"SMOTE_MONITOR_TOKEN": TOKEN}) as process:
        process.wait_ready()
        yield process


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


def test_healthz_and_readyz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["role"] == "leader"


def test_post_a_run_then_read_it(client: httpx.Client) -> None:
    created = client.post("/api/v1/runs", json=run_record("read-it"), headers=AUTH)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["action"] == "created"
    assert created.headers["location"] == f"/api/v1/runs/{body['id']}"

    run = client.get(f"/api/v1/runs/{body['id']}").json()
    assert run["run_key"] == "read-it"
    assert run["variant"] == "SMOTE"
    # computed by smote-monitor from the dataset's SLOs, under "computed" as in `runs show --json`
    assert run["computed"]["gate"]["passed"] is True and run["computed"]["outcome"] == "passed"
    listed = client.get("/api/v1/runs", params={"dataset": "fraud", "limit": 100}).json()["runs"]
    assert body["id"] in [r["computed"]["id"] for r in listed]
    assert client.get("/api/v1/runs", params={"outcome": "error"}).json()["runs"] == []


def test_duplicate_is_200_and_conflict_409(client: httpx.Client) -> None:
    first = client.post("/api/v1/runs", json=run_record("dup"), headers=AUTH)
    again = client.post("/api/v1/runs", json=run_record("dup"), headers=AUTH)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "action": "duplicate"}

    conflict = client.post("/api/v1/runs", json=run_record("dup", seed=1), headers=AUTH)
    assert conflict.status_code == 409
    error = conflict.json()["error"]
    assert error["field"] == "run_key" and "'dup'" in error["message"]
    assert "different content" in error["message"]


def test_a_list_of_records(client: httpx.Client) -> None:
    answer = client.post(
        "/api/v1/runs", json=[run_record("list-a"), run_record("list-b")], headers=AUTH
    )
    assert answer.status_code == 201
    assert [r["action"] for r in answer.json()["results"]] == ["created", "created"]


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        (run_record("bad-ratio", synthetic_ratio=2), "synthetic_ratio", "less than or equal to 1"),
        (run_record("bad-variant", variant="SMOOTE"), "variant", "one of"),
        ({"variant": "SMOTE", "run_key": "no-dataset"}, "dataset", "required"),
        (run_record("bad-extra", colour="red"), "colour", "unknown key"),
        (run_record("bad-gate", gate={"passed": True, "checks": []}), "gate", "computed by"),
        # a list is validated whole before anything is stored; the message names the record
        ([run_record("bad-list-ok"), run_record("bad-list", seed="x")], "seed", "integer"),
    ],
)
def test_a_bad_record_is_422_naming_the_field_and_nothing_is_stored(
    client: httpx.Client, body: object, field: str, expected: str
) -> None:
    answer = client.post("/api/v1/runs", json=body, headers=AUTH)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["field"] == field
    assert expected in error["expected"]
    assert set(error) == {"field", "value", "expected", "message"}
    keys = {r["run_key"] for r in client.get("/api/v1/runs?limit=1000").json()["runs"]}
    assert not keys & {
        "bad-ratio",
        "bad-variant",
        "no-dataset",
        "bad-extra",
        "bad-gate",
        "bad-list-ok",
        "bad-list",
    }


@pytest.mark.parametrize(
    ("content", "status", "expected"),
    [
        (b"{not json", 400, "a valid JSON document"),
        (b'{"dataset": "fraud", "variant": "SMOTE", "seed": NaN}', 400, "no NaN"),
        (b"\xff\xfe", 400, "UTF-8"),
        (b"[]", 422, "non-empty list"),
        (b'"a string"', 422, "JSON object"),
    ],
)
def test_malformed_json_names_the_problem(
    client: httpx.Client, content: bytes, status: int, expected: str
) -> None:
    answer = client.post(
        "/api/v1/runs", content=content, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert answer.status_code == status, answer.text
    assert expected in answer.json()["error"]["expected"]


def test_query_and_path_errors_are_json_naming_the_parameter(client: httpx.Client) -> None:
    limit = client.get("/api/v1/runs", params={"limit": 0})
    assert limit.status_code == 422
    assert limit.json()["error"]["field"] == "limit"
    outcome = client.get("/api/v1/runs", params={"outcome": "bogus"})
    assert outcome.json()["error"]["field"] == "outcome"
    assert client.get("/api/v1/runs/not-a-number").json()["error"]["field"] == "run_id"
    missing = client.get("/api/v1/runs/987654")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "field": "run_id",
        "value": 987654,
        "expected": "the id of a stored run",
        "message": "run_id: got 987654; no run has that id (see GET /api/v1/runs)",
    }
    assert client.get("/no/such/route").status_code == 404


def test_report_of_a_run_without_profiles_is_409(client: httpx.Client) -> None:
    run_id = client.post("/api/v1/runs", json=run_record("no-profiles"), headers=AUTH).json()["id"]
    answer = client.get(f"/api/v1/runs/{run_id}/report")
    assert answer.status_code == 409
    assert "profiles" in answer.json()["error"]["message"]
    assert client.get("/api/v1/runs/987654/report").status_code == 404


def test_writes_need_the_token_reads_do_not(server: ServerProcess, client: httpx.Client) -> None:
    missing = client.post("/api/v1/runs", json=run_record("auth"))
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = client.post(
        "/api/v1/runs", json=run_record("auth"), headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    basic = client.post(
        "/api/v1/runs", json=run_record("auth"), headers={"Authorization": f"Basic {TOKEN}"}
    )
    assert basic.status_code == 401
    for path in ("predictions", "labels"):
        pushed = client.post(f"/api/v1/datasets/fraud/{path}", json={"rows": [{"a": 1}]})
        assert pushed.status_code == 401
    assert "auth" not in {r["run_key"] for r in client.get("/api/v1/runs").json()["runs"]}
    assert client.post("/api/v1/runs", json=run_record("auth"), headers=AUTH).status_code == 201
    assert client.get("/api/v1/runs").status_code == 200
    assert TOKEN not in server.log


def test_a_body_over_the_limit_is_413(client: httpx.Client) -> None:
    big = b'{"pad": "' + b"x" * LIMIT + b'"}'
    declared = client.post(
        "/api/v1/runs", content=big, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["error"]["field"] == "body"
    assert str(LIMIT) in declared.json()["error"]["expected"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        yield b'{"pad": "'
        for _ in range(8):
            yield b"x" * (LIMIT // 4)
        yield b'"}'

    chunked = client.post(
        "/api/v1/runs", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert chunked.status_code == 413
    assert chunked.json()["error"]["field"] == "body"


def test_a_declared_huge_body_is_refused_before_it_is_sent(server: ServerProcess) -> None:
    """Content-Length says 10 GB, and the server answers without waiting for a byte of it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/runs HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {TOKEN}\r\n".encode()
            + b"Content-Length: 10000000000\r\n\r\n{"
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer
    assert json.loads(body)["error"]["field"] == "body"


def test_metrics_text_format(client: httpx.Client) -> None:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"


def test_openapi_lists_the_routes(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) >= {
        "/api/v1/runs",
        "/api/v1/runs/{run_id}",
        "/api/v1/runs/{run_id}/report",
        "/api/v1/datasets/{dataset}/predictions",
        "/api/v1/datasets/{dataset}/labels",
        "/api/v1/datasets/{dataset}/status",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    assert "RunInput" in schema["components"]["schemas"]


def test_push_to_an_unknown_dataset_is_404(client: httpx.Client) -> None:
    answer = client.post("/api/v1/datasets/nope/predictions", json={"rows": [{}]}, headers=AUTH)
    assert answer.status_code == 404
    assert answer.json()["error"]["field"] == "dataset"
    assert client.get("/api/v1/datasets/nope/status").status_code == 404


def test_malformed_push_bodies(client: httpx.Client) -> None:
    arrow = client.post(
        "/api/v1/datasets/fraud/predictions",
        content=b"not arrow",
        headers={**AUTH, "Content-Type": "application/vnd.apache.arrow.stream"},
    )
    assert arrow.status_code == 400
    assert "Arrow" in arrow.json()["error"]["expected"]
    rows = client.post("/api/v1/datasets/fraud/labels", json={"rows": []}, headers=AUTH)
    assert rows.status_code == 422
    assert rows.json()["error"]["field"] == "rows"
    other = client.post(
        "/api/v1/datasets/fraud/labels",
        content=b"a,b\n1,2\n",
        headers={**AUTH, "Content-Type": "text/csv"},
    )
    assert other.status_code == 415
