"""Benchmark: one production window evaluated in one process and on a Dask LocalCluster.

Writes ``--rows`` × 20 features (15 float, 2 int, 3 string categorical; 5 shifted) plus a slice,
target and prediction column as ``--partitions`` Parquet files, records a reference run, then
evaluates the files three ways, each in a subprocess of its own so that its peak RSS is its own:

- ``one``: :func:`evaluate_batches` over :func:`production_batches` — what
  ``smote-monitor evaluate -p FILES`` runs;
- ``dask-1`` / ``dask-2``: :func:`evaluate_files_on_dask` on a LocalCluster of 1 / 2 worker
  processes, one thread each, numeric thread pools pinned (what ``--dask local`` starts). The
  cluster starts before the clock does.

Printed per run: wall time of the evaluation, the client's peak RSS (workers are other
processes), bytes of each partition's accumulators as they left their worker, and whether
every drift value, verdict and slice count equals the single-process run's.

Usage::

    python benchmarks/bench_dask.py                          # 20M × 20 in 40 partitions
    python benchmarks/bench_dask.py --rows 1000000 --partitions 8
    python benchmarks/bench_dask.py --out benchmarks/results/bench_dask.txt
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

N_FLOAT, N_INT, N_CAT = 15, 2, 3
SHIFTED = {"f00", "f01", "f02", "i00", "c00"}
CATEGORIES = np.array([f"cat_{k:02d}" for k in range(12)], dtype=object)
REGIONS = np.array(["eu", "us", "apac", "latam", "mena"], dtype=object)
CONFIG = """
database_url: sqlite:///{root}/store.db
spool_dir: {root}/spool
datasets:
  bench:
    target: is_fraud
    prediction: predicted
    positive_class: 1
    slices: [region]
    categorical: [region, c00, c01, c02]
"""


def rows_of(n: int, current: bool, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([20261202, int(current), seed])
    cols: dict[str, Any] = {}
    for j in range(N_FLOAT):
        name = f"f{j:02d}"
        shift = 0.3 if current and name in SHIFTED else 0.0
        if j % 3 == 0:
            cols[name] = rng.normal(10.0 * j + shift, 1.0 + j / 10, n)
        elif j % 3 == 1:
            cols[name] = rng.lognormal(shift, 0.5, n)
        else:
            cols[name] = rng.uniform(shift, 1.0 + shift, n)
    for j in range(N_INT):
        name = f"i{j:02d}"
        cols[name] = rng.integers(0, 100, n) + (15 if current and name in SHIFTED else 0)
    for j in range(N_CAT):
        name = f"c{j:02d}"
        p = np.linspace(1.0, 2.0, CATEGORIES.size)
        if current and name in SHIFTED:
            p = p[::-1]
        cols[name] = CATEGORIES[rng.choice(CATEGORIES.size, n, p=p / p.sum())]
    cols["region"] = REGIONS[rng.integers(0, REGIONS.size, n)]
    y = (rng.random(n) < 0.05).astype(np.int64)
    cols["is_fraud"] = y
    cols["predicted"] = np.where(rng.random(n) < 0.85, y, 1 - y)
    return pd.DataFrame(cols)


def prepare(root: Path, rows: int, partitions: int, training_rows: int) -> str:
    from smote_monitor import Monitor

    (root / "smote-monitor.yaml").write_text(CONFIG.format(root=root))
    mon = Monitor.from_config(root / "smote-monitor.yaml")
    train = rows_of(training_rows, False, 0)
    y = train.pop("is_fraud").to_numpy()
    train = train.drop(columns=["predicted"])
    mon.observe_run(
        dataset="bench", X_before=train, y_before=y, X_after=train, y_after=y, params={}
    )
    data = root / "production"
    data.mkdir()
    bounds = np.linspace(0, rows, partitions + 1).astype(int)
    for i in range(partitions):
        part = rows_of(int(bounds[i + 1] - bounds[i]), True, i + 1)
        part.to_parquet(data / f"part-{i:04d}.parquet", index=False)
    return str(data / "*.parquet")


def run(mode: str, root: str, pattern: str) -> dict[str, Any]:
    """One evaluation in this process (the subprocess's body)."""
    from smote_monitor import Monitor
    from smote_monitor.evaluation.window import evaluate_batches
    from smote_monitor.sources.files import production_batches

    mon = Monitor.from_config(Path(root) / "smote-monitor.yaml")
    if mode == "one":
        start = time.perf_counter()
        result = evaluate_batches(mon.store, mon.settings, "bench", production_batches(pattern))
        seconds = time.perf_counter() - start
    else:
        from distributed import Client, LocalCluster

        from smote_monitor.evaluation.partitioned import PINNED_THREADS, evaluate_files_on_dask

        workers = int(mode.split("-")[1])
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env=PINNED_THREADS,
            ) as cluster,
            Client(cluster) as client,
        ):
            start = time.perf_counter()
            result = evaluate_files_on_dask(mon.store, mon.settings, "bench", pattern, client)
            seconds = time.perf_counter() - start
    return {
        "mode": mode,
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "part_bytes": list(result.part_bytes),
        "n_rows": result.n_rows,
        "drift": [
            [r.feature, r.method, r.value, r.threshold, r.drifted, r.mode]
            for r in result.drift.features
        ],
        "slices": [m.to_dict() for m in result.slices],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--partitions", type=int, default=40)
    parser.add_argument("--training-rows", type=int, default=200_000)
    parser.add_argument("--workers", default="1,2", help="worker counts to run, comma-separated")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    parser.add_argument(
        "--_run", nargs=3, metavar=("MODE", "ROOT", "PATTERN"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args._run:
        print(json.dumps(run(*args._run)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        pattern = prepare(root, args.rows, args.partitions, args.training_rows)
        lines = [
            f"bench_dask: {args.rows:,} rows × 20 features in {args.partitions} Parquet "
            f"partitions; reference {args.training_rows:,} rows; {os.cpu_count()} cores "
            f"(data written in {time.perf_counter() - started:.1f} s)",
        ]
        results = []
        for mode in ["one", *(f"dask-{w}" for w in args.workers.split(","))]:
            done = subprocess.run(
                [sys.executable, __file__, "--_run", mode, str(root), pattern],
                capture_output=True,
                text=True,
                check=True,
            )
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        base = results[0]
        for r in results:
            equal = r["drift"] == base["drift"] and r["slices"] == base["slices"]
            line = (
                f"{r['mode']:>7}: {r['seconds']:7.2f} s  "
                f"speed-up {base['seconds'] / r['seconds']:4.2f}×  "
                f"client peak RSS {r['peak_rss_mb']:7.1f} MB"
            )
            if r["part_bytes"]:
                sizes = r["part_bytes"]
                line += (
                    f"  bytes per partition to the reduce: mean {np.mean(sizes):,.0f}, "
                    f"max {max(sizes):,}"
                )
            line += f"  every value equal to one process: {'yes' if equal else 'NO'}"
            lines.append(line)
        report = "\n".join(lines)
        print(report)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
