"""The store cut under load, then restored (PostgreSQL, through a TCP proxy the test controls).

While pushes run in a loop, the proxy closes every connection to PostgreSQL and refuses new
ones. During the cut /readyz is 503, pushes are 503 with Retry-After, /healthz stays 200 and
/metrics still answers, with ``smote_monitor_store_up`` 0. Once restored, /readyz is 200 within
a bound and pushes succeed again; the rows the 200 answers accepted are exactly the production
rows counted (a 503'd push wrote nothing: pushed again, all its rows are new). The outage is
logged once, not once per second.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import make_url

from smote_monitor import conventions as c
from smote_monitor.server.service import EXIT_OK
from tests.server.e2e import key, record_reference, scrape, wait_for
from tests.server.helpers import ServerProcess, write_config

pytestmark = pytest.mark.slow

DATASET = {
    "target": "is_fraud",
    "prediction": "predicted_label",
    "id_column": "event_id",
    "timestamp_column": "ts",
    "slices": ["region"],
    "evaluate_every": "1s",
    "windows": ["1h"],
}
PREDICTIONS = "/api/v1/datasets/fraud/predictions"
BATCH = 50
CUT_SECONDS = 4.0
"""Long enough for several leader checks (every 1s) and evaluation cycles to fail."""
RECOVERY_BOUND = 15.0
"""/readyz is 200 again within this many seconds of the restore."""


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 to ``upstream``: :meth:`cut` closes every connection and
    refuses new ones (accepted, then closed at once), :meth:`restore` forwards again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._stopping = False
        self._thread = threading.Thread(target=self._accept, name="proxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._stopping = True
        self.cut()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                refused = self._cut
            if refused:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            client.settimeout(None)
            with self._lock:
                if self._cut:  # cut while connecting
                    _close(client)
                    _close(server)
                    continue
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open -= {source, sink}
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@dataclass
class Pusher:
    """Pushes batches of new ids in a loop (a thread) and keeps every answer."""

    url: str
    answers: list[tuple[list[dict[str, Any]], int, dict[str, Any], dict[str, str]]] = field(
        default_factory=list
    )
    next_id: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def batch(self) -> list[dict[str, Any]]:
        ts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        rows = [
            {
                "event_id": i,
                "ts": ts,
                "predicted_label": i % 3 == 0,
                "is_fraud": i % 4 == 0,
                "region": "eu" if i % 2 else "us",
                "amount": (i % 100) / 10,
            }
            for i in range(self.next_id, self.next_id + BATCH)
        ]
        self.next_id += BATCH
        for row in rows:
            row["predicted_label"] = int(row["predicted_label"])
            row["is_fraud"] = int(row["is_fraud"])
        return rows

    def push(self, http: httpx.Client, rows: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        answer = http.post(PREDICTIONS, json={"rows": rows})
        body = answer.json()
        self.answers.append((rows, answer.status_code, body, dict(answer.headers)))
        return answer.status_code, body

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30.0) as http:
            while not self.stop.is_set():
                self.push(http, self.batch())
                time.sleep(0.02)

    def statuses(self) -> list[int]:
        return [status for _, status, _, _ in self.answers]


@pytest.fixture
def proxy() -> Iterator[CuttableProxy]:
    running = CuttableProxy(("127.0.0.1", 5432))
    try:
        yield running
    finally:
        running.close()


def test_a_store_cut_under_load_loses_nothing_and_recovers(
    postgres_url: str, proxy: CuttableProxy, tmp_path: Path
) -> None:
    upstream = make_url(postgres_url)
    proxy.upstream = (upstream.host or "127.0.0.1", upstream.port or 5432)
    through_proxy = upstream.set(port=proxy.port).render_as_string(hide_password=False)
    config = write_config(tmp_path, through_proxy, datasets={"fraud": DATASET})
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.2).astype(int)
    record_reference(config, pd.DataFrame({"amount": rng.normal(size=500) + y}), y)

    with ServerProcess(config) as server, server.client() as http:
        server.wait_ready()
        pusher = Pusher(server.url)
        thread = threading.Thread(target=pusher.run, name="pusher", daemon=True)
        thread.start()
        try:
            wait_for(lambda: pusher.statuses().count(200) >= 5, "pushes before the cut", 30)
            proxy.cut()
            cut_at = len(pusher.answers)
            wait_for(lambda: 503 in pusher.statuses()[cut_at:], "a push refused in the cut", 30)
            started = time.monotonic()

            ready = http.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert "unreachable" in ready.json()["reason"]
            assert http.get("/healthz").status_code == 200
            samples = scrape(http)
            assert samples[key(c.MONITOR_STORE_UP)] == 0
            assert key(c.PRODUCTION_ROWS, dataset="fraud") not in samples  # nothing stale
            refused = http.post(PREDICTIONS, json={"rows": pusher.batch()})
            assert refused.status_code == 503, refused.text
            assert int(refused.headers["retry-after"]) > 0
            assert "nothing was written" in refused.json()["error"]["message"]
            time.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - started)))

            proxy.restore()
            restored_at = time.monotonic()
            server.wait_until(lambda r: r.status_code == 200, timeout=RECOVERY_BOUND)
            recovered = time.monotonic() - restored_at
            after_restore = len(pusher.answers)
            wait_for(
                lambda: pusher.statuses()[after_restore:].count(200) >= 5,
                "pushes succeeding after the restore",
                RECOVERY_BOUND,
            )
        finally:
            pusher.stop.set()
            thread.join(timeout=60)
        assert not thread.is_alive()

        statuses = pusher.statuses()
        assert set(statuses) <= {200, 503}, [a for a in pusher.answers if a[1] not in (200, 503)]
        refused_batches = [rows for rows, status, _, _ in pusher.answers if status == 503]
        assert refused_batches, "no push was refused during the cut"
        assert all(int(h["retry-after"]) > 0 for _, s, _, h in pusher.answers if s == 503)
        accepted = sum(body["accepted"] for _, s, body, _ in pusher.answers if s == 200)
        assert accepted == BATCH * statuses.count(200)  # ids are new: each 200 took its batch

        samples = wait_for(
            lambda: (s := scrape(http))[key(c.MONITOR_STORE_UP)] == 1 and s, "store_up 1", 30
        )
        counted = samples[key(c.PRODUCTION_ROWS, dataset="fraud")]
        assert counted == accepted, "the 200 answers and the rows counted disagree"

        # A refused push wrote nothing: pushed again (all in one), every one of its rows is new.
        again = [row for rows in [*refused_batches, _rows_of(refused)] for row in rows]
        status, body = pusher.push(http, again)
        assert status == 200, body
        assert body == {"accepted": len(again), "duplicates": 0, "labels_joined": len(again)}
        samples = scrape(http)
        assert samples[key(c.PRODUCTION_ROWS, dataset="fraud")] == pusher.next_id
        assert samples[key(c.PRODUCTION_LABELED_ROWS, dataset="fraud")] == pusher.next_id

        assert recovered < RECOVERY_BOUND
        log = server.log
        assert server.terminate() == EXIT_OK, log
    # One outage, said once when it starts and once when it ends: not once per second.
    assert log.count("store unreachable:") == 1, log
    assert log.count("store reachable again") == 1, log
    assert log.count("/metrics: the store could not be read") <= 1, log
    assert "Traceback" not in log, log


def _rows_of(response: httpx.Response) -> list[dict[str, Any]]:
    import json

    rows: list[dict[str, Any]] = json.loads(response.request.content)["rows"]
    return rows
