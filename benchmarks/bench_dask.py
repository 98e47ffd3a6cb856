"""Benchmark: one production window evaluated in one process and on a Dask LocalCluster.

Writes ``--rows`` × 20 features (15 float, 2 int, 3 string categorical; 5 shifted) plus a slice,
target and prediction column as ``--partitions`` Parquet files, records a reference run, then
evaluates the files three ways, each in a subprocess of its own so that its peak RSS is its own:

- ``one``: :func:`evaluate_batches` over :func:`production_batches` — what
  ``smote-monitor evaluate -p FILES`` runs;
- ``dask-1`` / ``dask-2``: :func:`evaluate_files_on_dask` on a LocalCluster of 1 / 2 worker
  processes, one thread each, numeric thread pools pinned (what ``--dask local`` starts). The
  cluster starts before the clock does.

Printed per run: wall time of the evaluation and its speed-up over ``one`` (same files, same
run of the benchmark), the client's CPU seconds and peak RSS (workers are other processes; for
``one`` the CPU seconds show how many cores its threads already keep busy), the seconds
workers spent folding partitions and merging parts (Dask's task stream), bytes of each
partition's accumulators as they left their worker, and whether every drift value, verdict,
slice count and row count equals the single-process run's. ``--rss-rows`` also runs
``dask-2`` over the first partitions holding that many rows, to show the client's peak RSS
does not grow with the window.

Usage::

    python benchmarks/bench_dask.py                          # 20M × 20 in 40 partitions
    python benchmarks/bench_dask.py --rows 1000000 --partitions 8
    python benchmarks/bench_dask.py --data /tmp/bench-20M --rss-rows 5000000 \\
        --out benchmarks/results/bench_dask.txt              # files written once, reused
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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
    tasks: dict[str, float] = {}
    if mode == "one":
        cpu = _cpu()
        start = time.perf_counter()
        result = evaluate_batches(mon.store, mon.settings, "bench", production_batches(pattern))
        seconds = time.perf_counter() - start
        cpu = _cpu() - cpu
    else:
        from distributed import Client, get_task_stream

        from smote_monitor.evaluation.partitioned import evaluate_files_on_dask, local_cluster

        workers = int(mode.split("-")[1])
        # The cluster `evaluate --dask local` starts, with this many workers.
        with local_cluster(workers) as cluster, Client(cluster) as client:
            with get_task_stream(client) as stream:
                cpu = _cpu()
                start = time.perf_counter()
                result = evaluate_files_on_dask(mon.store, mon.settings, "bench", pattern, client)
                seconds = time.perf_counter() - start
                cpu = _cpu() - cpu
            for task in stream.data:
                kind = "fold" if "fold" in str(task["key"]) else "merge"
                for span in task["startstops"]:
                    if span["action"] == "compute":
                        tasks[kind] = tasks.get(kind, 0.0) + span["stop"] - span["start"]
    return {
        "mode": mode,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "task_seconds": tasks,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "part_bytes": list(result.part_bytes),
        "n_rows": result.n_rows,
        "n_labeled": result.n_labeled,
        "drift": [
            [r.feature, r.method, r.value, r.threshold, r.drifted, r.mode]
            for r in result.drift.features
        ],
        "slices": [m.to_dict() for m in result.slices],
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _uptime() -> str:
    with open("/proc/loadavg") as f:
        one, five, fifteen = f.read().split()[:3]
    return f"load average {one}, {five}, {fifteen} (1, 5, 15 min)"


@contextlib.contextmanager
def _data(args: argparse.Namespace) -> Iterator[tuple[Path, str, float | None]]:
    """The benchmark's root (config, store, files), written unless ``--data`` holds it."""
    if args.data is None:
        with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
            started = time.perf_counter()
            pattern = prepare(Path(tmp), args.rows, args.partitions, args.training_rows)
            yield Path(tmp), pattern, time.perf_counter() - started
        return
    root = args.data
    pattern = str(root / "production" / "*.parquet")
    written = None
    if not (root / "smote-monitor.yaml").exists():
        root.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        prepare(root, args.rows, args.partitions, args.training_rows)
        written = time.perf_counter() - started
    yield root, pattern, written


def _subset(root: Path, rows: int) -> tuple[str, int, int]:
    """A glob of the first files holding at least ``rows`` rows (symlinked), its rows, files."""
    import pyarrow.parquet as pq

    files = sorted((root / "production").glob("*.parquet"))
    subset = root / f"first-{rows}"
    subset.mkdir(exist_ok=True)
    total = 0
    chosen = 0
    for file in files:
        if total >= rows:
            break
        link = subset / file.name
        if not link.exists():
            link.symlink_to(file)
        total += pq.ParquetFile(file).metadata.num_rows
        chosen += 1
    return str(subset / "*.parquet"), total, chosen


def _equal(run: dict[str, Any], base: dict[str, Any]) -> str:
    """Whether every value equals the single-process run's, and which differ if not."""
    differ = [
        f"{a[0]}.{key}"
        for a, b in zip(run["drift"], base["drift"], strict=True)
        for key, x, y in zip(
            ("method", "value", "threshold", "drifted", "mode"), a[1:], b[1:], strict=True
        )
        if x != y
    ]
    if run["slices"] != base["slices"]:
        differ.append("slices")
    for key in ("n_rows", "n_labeled"):
        if run[key] != base[key]:
            differ.append(key)
    return "yes" if not differ else "NO: " + ", ".join(differ)


def _spawn(mode: str, root: Path, pattern: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--_run", mode, str(root), pattern],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--partitions", type=int, default=40)
    parser.add_argument("--training-rows", type=int, default=200_000)
    parser.add_argument("--workers", default="1,2", help="worker counts to run, comma-separated")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    parser.add_argument(
        "--data", type=Path, help="directory of the files and store: written once, then reused"
    )
    parser.add_argument(
        "--use-rows", type=int, help="time only the first files of --data holding this many rows"
    )
    parser.add_argument(
        "--rss-rows", type=int, help="also run dask-2 over this many rows, for its client RSS"
    )
    parser.add_argument(
        "--_run", nargs=3, metavar=("MODE", "ROOT", "PATTERN"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args._run:
        print(json.dumps(run(*args._run)))
        return
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    lines = [f"$ {command}", f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, before: {_uptime()}"]
    print("\n".join(lines), flush=True)
    with _data(args) as (root, pattern, written):
        files = sorted((root / "production").glob("*.parquet"))
        if args.use_rows:
            pattern, _, used = _subset(root, args.use_rows)
            files = files[:used]
        head = (
            f"bench_dask: {len(files)} Parquet partitions of {N_FLOAT + N_INT + N_CAT} features; "
            f"{os.cpu_count()} cores"
        )
        head += f" (data written in {written:.1f} s)" if written is not None else " (data reused)"
        lines.append(head)
        print(head, flush=True)
        results = []
        for mode in ["one", *(f"dask-{w}" for w in args.workers.split(","))]:
            results.append(_spawn(mode, root, pattern))
            results[-1]["load"] = _uptime()
        base = results[0]
        for r in results:
            line = (
                f"{r['mode']:>7}: {r['n_rows']:,} rows  {r['seconds']:7.2f} s  "
                f"speed-up {base['seconds'] / r['seconds']:4.2f}×  "
                f"client CPU {r['cpu_seconds']:6.2f} s  "
                f"client peak RSS {r['peak_rss_mb']:7.1f} MB"
            )
            if r["task_seconds"]:
                line += (
                    f"  worker compute: fold {r['task_seconds'].get('fold', 0.0):6.2f} s, "
                    f"merge {r['task_seconds'].get('merge', 0.0):5.2f} s"
                )
            if r["part_bytes"]:
                sizes = r["part_bytes"]
                line += (
                    f"  bytes per partition to the reduce: mean {np.mean(sizes):,.0f}, "
                    f"max {max(sizes):,}"
                )
            line += f"  every value equal to one process: {_equal(r, base)}"
            line += f"  [after: {r['load']}]"
            lines.append(line)
            print(line, flush=True)
        if args.rss_rows:
            subset, rows, chosen = _subset(root, args.rss_rows)
            small = _spawn("dask-2", root, subset)
            big = next((r for r in results if r["mode"] == "dask-2"), None)
            line = (
                f"client peak RSS of dask-2: {small['peak_rss_mb']:.1f} MB at {rows:,} rows "
                f"({chosen} partitions)"
            )
            if big is not None:
                line += f", {big['peak_rss_mb']:.1f} MB at {big['n_rows']:,} rows"
            line += f"  [after: {_uptime()}]"
            lines.append(line)
            print(line, flush=True)
    report = "\n".join(lines)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
