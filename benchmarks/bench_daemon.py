"""The sidecar under load, against a real ``smote-monitor serve`` on loopback.

Prints, for SQLite and PostgreSQL (``--postgres URL``, default the CI database):

- push ingestion of 20-feature rows over HTTP: JSON and Arrow IPC, rows/s;
- the same push rate with 0, 1M and 10M predictions pending their labels (``--pending``);
- one evaluation cycle over N new rows × 20 features, windows [1h, 24h]: seconds and the
  process's peak RSS at each N (``--cycle-rows``);
- /metrics scrape time (p50, p99) and size at 10 datasets × 50 features × 20 slices × 2 windows.

Usage::

    .venv/bin/python benchmarks/bench_daemon.py                      # everything
    .venv/bin/python benchmarks/bench_daemon.py --only push --backends sqlite

The targets of the sidecar issue: JSON >= 50,000 rows/s, Arrow >= 500,000 rows/s; the rate at
10M pending >= 80 % of the rate at 0; a 1M-row cycle under 10 s with flat peak RSS; scrape p99
under 250 ms. Nothing here asserts them: the figures are printed for the record.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from smote_core import SMOTE  # noqa: E402
from smote_monitor import Monitor  # noqa: E402
from tests.server.helpers import ServerProcess, write_config  # noqa: E402

FEATURES = [f"f{i:02d}" for i in range(20)]
ARROW = "application/vnd.apache.arrow.stream"
NOW = datetime.now(UTC)


def dataset_config(n_slices: int = 1) -> dict[str, Any]:
    return {
        "target": "label",
        "prediction": "prediction",
        "id_column": "id",
        "timestamp_column": "ts",
        "slices": [f"s{i}" for i in range(n_slices)],
        "evaluate_every": "1h",
        "windows": ["1h", "24h"],
        "label_lookback": "7d",
    }


def record_reference(config: Path, dataset: str, features: list[str]) -> None:
    monitor = Monitor.from_config(config)
    rng = np.random.default_rng(0)
    n = 5000
    y = (rng.random(n) < 0.1).astype(int)
    X = pd.DataFrame(rng.normal(size=(n, len(features))), columns=features)
    with monitor.track_run(dataset=dataset, run_key="reference") as run:
        run.resample(SMOTE(random_state=0), X, y)
    monitor.close()


def frame(start: int, n: int, seed: int, minutes: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=FEATURES)
    out.insert(0, "id", np.arange(start, start + n))
    stamps = NOW - pd.to_timedelta(rng.integers(0, minutes * 60, n), unit="s")
    out.insert(1, "ts", pd.Series(stamps).dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    out.insert(2, "prediction", rng.integers(0, 2, n))
    out.insert(3, "s0", rng.choice(["eu", "us", "apac"], n))
    return out


def arrow_bytes(data: pd.DataFrame) -> bytes:
    import pyarrow as pa

    table = pa.Table.from_pandas(data, preserve_index=False)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def push_rate(server: ServerProcess, start: int, kind: str, batch: int, batches: int) -> float:
    """Rows/s of ``batches`` pushes of ``batch`` rows (bodies built before the clock starts)."""
    bodies = []
    for i in range(batches):
        data = frame(start + i * batch, batch, seed=start + i)
        if kind == "json":
            bodies.append(
                (json.dumps({"rows": data.to_dict("records")}).encode(), "application/json")
            )
        else:
            bodies.append((arrow_bytes(data), ARROW))
    with httpx.Client(base_url=server.url, timeout=600) as http:
        began = time.perf_counter()
        for body, content_type in bodies:
            answer = http.post(
                "/api/v1/datasets/bench/predictions",
                content=body,
                headers={"Content-Type": content_type},
            )
            answer.raise_for_status()
            # Every id is new: a repeated one would measure the duplicate path instead.
            assert answer.json()["duplicates"] == 0, answer.json()
        elapsed = time.perf_counter() - began
    return batch * batches / elapsed


def prefill_pending(url: str, n: int, start: int) -> None:
    """``n`` predictions waiting for their labels, written straight into the table."""
    from smote_monitor.store import Store
    from smote_monitor.store.datasets import dataset_row
    from smote_monitor.store.slice_state import insert_new_predictions, load_batch_keys

    store = Store(url)
    stamp = (NOW - timedelta(days=1)).timestamp()
    step = 200_000
    for offset in range(0, n, step):
        rows = [(f"p{start + offset + i}", stamp, "0", "eu") for i in range(min(step, n - offset))]
        with store.write() as session:
            dataset_id = dataset_row(session, "bench").id
            load_batch_keys(session, [r[0] for r in rows])
            insert_new_predictions(session, dataset_id, rows)
    store.dispose()


def bench_push(name: str, url: str, args: argparse.Namespace, workdir: Path) -> None:
    config = write_config(workdir, url, datasets={"bench": dataset_config()})
    record_reference(config, "bench", FEATURES)
    with ServerProcess(config, lease_ttl=None) as server:
        server.wait_ready()
        push_rate(server, 10**9, "json", 1000, 1)  # warm-up: the reference is loaded once
        pending = 0
        for target in args.pending:
            if target > pending:
                prefill_pending(url, target - pending, pending)
                pending = target
            # Disjoint ids per format and pending level: a repeated id would measure duplicates.
            json_rate = push_rate(server, 10**10 + pending * 10, "json", 10_000, 5)
            arrow_rate = push_rate(server, 2 * 10**10 + pending * 10, "arrow", 100_000, 3)
            print(
                f"{name:10} push  pending {pending:>10,}  JSON {json_rate:>10,.0f} rows/s  "
                f"Arrow {arrow_rate:>10,.0f} rows/s",
                flush=True,
            )


def bench_cycle(name: str, url: str, args: argparse.Namespace, workdir: Path) -> None:
    """One evaluation cycle in a fresh process per size: its peak RSS is the cycle's."""
    for n in args.cycle_rows:
        directory = workdir / f"cycle-{n}"
        directory.mkdir()
        db = url if not url.startswith("sqlite") else f"sqlite:///{directory}/store.db"
        if not url.startswith("sqlite"):
            db = fresh_postgres(url)
        config = write_config(directory, db, datasets={"bench": dataset_config()})
        record_reference(config, "bench", FEATURES)
        child = subprocess.run(
            [sys.executable, __file__, "--cycle-child", str(config), str(n)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        print(f"{name:10} cycle {child.stdout.strip()}", flush=True)


def cycle_child(config: Path, n: int) -> None:
    from smote_monitor.config import load_settings
    from smote_monitor.evaluation.job import evaluate_dataset
    from smote_monitor.evaluation.push import push_predictions
    from smote_monitor.store import Store

    settings = load_settings(config)
    store = Store(settings.database_url)
    step = 100_000
    for offset in range(0, n, step):
        push_predictions(store, settings, "bench", frame(offset, min(step, n - offset), offset))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    evaluate_dataset(store, settings, "bench")
    elapsed = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"rows {n:>10,}  cycle {elapsed:6.2f} s  peak RSS {peak / 1024:7.0f} MB "
        f"(before the cycle {before / 1024:.0f} MB)"
    )


def bench_scrape(name: str, url: str, args: argparse.Namespace, workdir: Path) -> None:
    from smote_monitor.drift.engine import DatasetDrift, DriftResult
    from smote_monitor.slices.counts import Confusion
    from smote_monitor.slices.metrics import metrics_of
    from smote_monitor.store import Store
    from smote_monitor.store import counters as counter_rows
    from smote_monitor.store.datasets import dataset_row
    from smote_monitor.store.evaluations import PRODUCTION, add_evaluation

    datasets = {f"d{i}": dataset_config(2) for i in range(10)}
    config = write_config(workdir, url, datasets=datasets)
    features = [f"f{i:02d}" for i in range(50)]
    for dataset in datasets:
        record_reference(config, dataset, features[:5])
    store = Store(url)
    with store.write() as session:
        for dataset in datasets:
            for window in ("1h", "24h"):
                add_evaluation(
                    session,
                    dataset=dataset,
                    kind=PRODUCTION,
                    window=window,
                    evaluated_at=NOW,
                    reference_run_id=None,
                    drift=DatasetDrift(
                        [
                            DriftResult(f, "wasserstein", 0.05, 0.1, False, "exact", 1000, 1000)
                            for f in features
                        ],
                        0.0,
                        0.5,
                        False,
                    ),
                    kinds=dict.fromkeys(features, "numeric"),
                    slices=[
                        metrics_of(f"s{c}=v{k}", Confusion(40, 5, 900, 10), 30)
                        for c in range(2)
                        for k in range(10)
                    ],
                    n_rows=1000,
                    n_labeled=100,
                )
            dataset_id = dataset_row(session, dataset).id
            counter_rows.add(
                session,
                dataset_id,
                {
                    (counter_rows.SLICE_PREDICTIONS, f"s0=v{k}", o): 5
                    for k in range(20)
                    for o in ("tp", "fp", "tn", "fn")
                },
            )
    store.dispose()
    with ServerProcess(config, lease_ttl=None) as server:
        server.wait_ready()
        times, size = [], 0
        with server.client() as http:
            for _ in range(args.scrapes):
                began = time.perf_counter()
                answer = http.get("/metrics")
                times.append(time.perf_counter() - began)
                size = sum(
                    1 for line in answer.text.splitlines() if line and not line.startswith("#")
                )
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(
            f"{name:10} scrape p50 {statistics.median(times) * 1000:6.1f} ms  p99 "
            f"{p99 * 1000:6.1f} ms  {size:,} series over {len(times)} scrapes",
            flush=True,
        )


def fresh_postgres(base: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"smote_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--only", default="push,cycle,scrape")
    parser.add_argument("--pending", default="0,1000000,10000000")
    parser.add_argument("--cycle-rows", default="100000,1000000,5000000")
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--cycle-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cycle_child:
        cycle_child(Path(args.cycle_child[0]), int(args.cycle_child[1]))
        return
    args.pending = [int(x) for x in args.pending.split(",")]
    args.cycle_rows = [int(x) for x in args.cycle_rows.split(",")]
    print(f"bench_daemon on {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    for backend in args.backends.split(","):
        for part in args.only.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                workdir = Path(tmp)
                url = (
                    f"sqlite:///{workdir}/store.db"
                    if backend == "sqlite"
                    else fresh_postgres(args.postgres)
                )
                {"push": bench_push, "cycle": bench_cycle, "scrape": bench_scrape}[part](
                    backend, url, args, workdir
                )


if __name__ == "__main__":
    main()
