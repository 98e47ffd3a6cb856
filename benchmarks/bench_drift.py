"""Benchmark: smote-monitor's drift engine against Evidently 0.7's DataDriftPreset.

Generates reference and current frames of ``--rows`` × 20 columns (15 float, 2 wide-range int,
3 string categorical; 5 columns shifted in the current frame) from seeded chunks, so every
subprocess rebuilds the same data. Each engine runs in its own subprocess so that its peak RSS
is its own; time covers the drift computation only (profiles + methods for us, ``Report.run``
for Evidently), not data generation.

Runs: ``ours`` (default settings: sketch past the exact cap), ``ours-exact`` (exact cap above
the row count), ``evidently``, and ``stream`` (``--stream-rows`` rows per side fed in batches,
nothing but the accumulators kept).

Usage::

    python benchmarks/bench_drift.py                      # 1M × 20, all runs (Evidently ~4 min)
    python benchmarks/bench_drift.py --rows 100000 --skip-evidently
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

CHUNK = 250_000
N_FLOAT, N_INT, N_CAT = 15, 2, 3
SHIFTED = {"f00", "f01", "f02", "i00", "c00"}
CATEGORIES = np.array([f"cat_{k:02d}" for k in range(12)], dtype=object)
# Evidently's display names of the methods its automatic choice can pick.
EVIDENTLY_NAMES = {
    "K-S p_value": "ks",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "PSI": "psi",
    "Kullback-Leibler divergence": "kl_div",
    "Hellinger distance": "hellinger",
}


def chunks(rows: int, current: bool, seed: int = 20261128) -> Iterator[pd.DataFrame]:
    """The frame in seeded chunks of at most ``CHUNK`` rows (identical in every process)."""
    for i, start in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - start)
        rng = np.random.default_rng([seed, int(current), i])
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
            shift = 15 if current and name in SHIFTED else 0
            cols[name] = rng.integers(0, 100, n) + shift
        for j in range(N_CAT):
            name = f"c{j:02d}"
            p = np.linspace(1.0, 2.0, CATEGORIES.size)
            if current and name in SHIFTED:
                p = p[::-1]
            cols[name] = CATEGORIES[rng.choice(CATEGORIES.size, n, p=p / p.sum())]
        yield pd.DataFrame(cols)


def frame(rows: int, current: bool) -> pd.DataFrame:
    """The whole frame, filled chunk by chunk into preallocated columns (no concat copy)."""
    columns: dict[str, np.ndarray] = {}
    start = 0
    for chunk in chunks(rows, current):
        for name in chunk.columns:
            if name not in columns:
                columns[name] = np.empty(rows, dtype=chunk[name].dtype)
            columns[name][start : start + len(chunk)] = chunk[name].to_numpy()
        start += len(chunk)
    # copy=False keeps pandas from consolidating the columns into a second 2-D copy.
    return pd.DataFrame(columns, copy=False)


def peak_rss_mb() -> float:
    """Peak resident memory since the last :func:`reset_peak` (VmHWM), else since start."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Start measuring peak memory now, with the input frames already in memory.

    Both engines get the same treatment: generation temporaries are returned to the OS
    (``malloc_trim``) and the kernel's high-water mark is reset (``clear_refs`` 5, Linux ≥ 4.0),
    so the peak is that of the computation holding its inputs, not of generating them.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def run_ours(rows: int, exact: bool, batched: bool = False) -> dict[str, Any]:
    from smote_monitor.drift import (
        ProfileSettings,
        WindowAccumulator,
        build_profiles,
        compute_drift,
        resolve_kinds,
    )

    settings = ProfileSettings(exact_cap=rows + 1) if exact else ProfileSettings()
    if not batched:
        ref, cur = frame(rows, False), frame(rows, True)
        reset_peak()
        start = time.perf_counter()
        reference = build_profiles(ref, settings=settings)
        window = WindowAccumulator.for_reference(reference).update(cur)
        result = compute_drift(reference, window.profiles)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "columns": _ours_columns(result)}
    # The same data fed as the daemon would, chunk by chunk; generation time is subtracted.
    clock = {"generating": 0.0}
    start = time.perf_counter()
    ref_chunks = _timed(chunks(rows, False), clock)
    first = next(ref_chunks)
    reference_acc = WindowAccumulator(resolve_kinds(first), settings).update(first)
    for batch in ref_chunks:
        reference_acc.update(batch)
    reference = reference_acc.profiles
    window = WindowAccumulator.for_reference(reference)
    for batch in _timed(chunks(rows, True), clock):
        window.update(batch)
    result = compute_drift(reference, window.profiles)
    seconds = time.perf_counter() - start - clock["generating"]
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "columns": _ours_columns(result)}


def _timed(source: Iterator[pd.DataFrame], clock: dict[str, float]) -> Iterator[pd.DataFrame]:
    while True:
        begin = time.perf_counter()
        batch = next(source, None)
        clock["generating"] += time.perf_counter() - begin
        if batch is None:
            return
        yield batch


def run_stream(rows: int) -> dict[str, Any]:
    from smote_monitor.drift import WindowAccumulator, compute_drift, resolve_kinds

    start = time.perf_counter()
    batches = chunks(rows, False)
    first = next(batches)
    # Column kinds come from the first batch, as a training pipeline streaming its rows would.
    reference_acc = WindowAccumulator(resolve_kinds(first)).update(first)
    for batch in batches:
        reference_acc.update(batch)
    reference = reference_acc.profiles
    window = WindowAccumulator.for_reference(reference)
    for batch in chunks(rows, True):
        window.update(batch)
    result = compute_drift(reference, window.profiles)
    seconds = time.perf_counter() - start
    state_bytes = len(json.dumps(window.to_dict()))
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "columns": _ours_columns(result),
        "window_state_json_bytes": state_bytes,
    }


def _ours_columns(result: Any) -> dict[str, Any]:
    return {
        r.feature: {"method": r.method, "value": r.value, "drifted": r.drifted, "mode": r.mode}
        for r in result.features
    }


def run_evidently(rows: int) -> dict[str, Any]:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref, cur = frame(rows, False), frame(rows, True)
    reset_peak()
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(cur, ref)
    seconds = time.perf_counter() - start
    columns: dict[str, Any] = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if "column" not in config:
            continue
        method = EVIDENTLY_NAMES[config["method"]]
        value, threshold = float(metric["value"]), float(config["threshold"])
        # Evidently's own rules: ks drifts at p <= t, the other tests at p < t, distances at >= t.
        if method == "ks":
            drifted = value <= threshold
        elif method in ("chisquare", "z"):
            drifted = value < threshold
        else:
            drifted = value >= threshold
        columns[config["column"]] = {"method": method, "value": value, "drifted": drifted}
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "columns": columns}


def child(role: str, rows: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--role", role, "--rows", str(rows)]
    # Same allocator setting for every engine: large freed buffers go back to the OS at once, so
    # peak RSS measures live memory rather than glibc's retained arenas.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(name: str, ours: dict[str, Any], anchor: dict[str, Any], anchor_name: str) -> None:
    cols = sorted(anchor["columns"])
    same_method = all(ours["columns"][c]["method"] == anchor["columns"][c]["method"] for c in cols)
    same_verdict = all(
        ours["columns"][c]["drifted"] == anchor["columns"][c]["drifted"] for c in cols
    )
    diff = max(abs(ours["columns"][c]["value"] - anchor["columns"][c]["value"]) for c in cols)
    drifted = sorted(c for c in cols if anchor["columns"][c]["drifted"])
    print(
        f"  {name} vs {anchor_name}: methods equal={same_method}, "
        f"every verdict equal={same_verdict}, max |value diff|={diff:.3g}; "
        f"drifted per {anchor_name}: {drifted}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stream-rows", type=int, default=10_000_000)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--skip-stream", action="store_true")
    parser.add_argument(
        "--role",
        choices=["ours", "ours-exact", "ours-batched", "evidently", "stream"],
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args()
    if args.role:
        runners = {
            "ours": lambda: run_ours(args.rows, exact=False),
            "ours-exact": lambda: run_ours(args.rows, exact=True),
            "ours-batched": lambda: run_ours(args.rows, exact=False, batched=True),
            "evidently": lambda: run_evidently(args.rows),
            "stream": lambda: run_stream(args.rows),
        }
        print(json.dumps(runners[args.role]()))
        return
    print(
        f"reference and current: {args.rows:,} rows x 20 columns each ({sorted(SHIFTED)} shifted)"
    )
    results = {name: child(name, args.rows) for name in ("ours", "ours-exact", "ours-batched")}
    if not args.skip_evidently:
        results["evidently"] = child("evidently", args.rows)
    for name, res in results.items():
        modes = sorted({c.get("mode", "-") for c in res["columns"].values()})
        print(
            f"{name:>10}: {res['seconds']:8.2f} s   peak RSS {res['peak_rss_mb']:7.0f} MB   "
            f"modes {modes}"
        )
    compare("ours", results["ours"], results["ours-exact"], "ours-exact")
    if "evidently" in results:
        ev = results["evidently"]
        for name in ("ours", "ours-exact", "ours-batched"):
            res = results[name]
            print(
                f"  {name}: {ev['seconds'] / res['seconds']:.1f}x faster than Evidently, "
                f"peak memory {res['peak_rss_mb'] / ev['peak_rss_mb']:.2f} of Evidently's"
            )
            compare(name, res, ev, "evidently")
    if not args.skip_stream:
        stream = child("stream", args.stream_rows)
        modes = sorted({c["mode"] for c in stream["columns"].values()})
        drifted = sorted(c for c, v in stream["columns"].items() if v["drifted"])
        print(
            f"streaming {args.stream_rows:,} rows per side in batches of {CHUNK:,}: "
            f"{stream['seconds']:.1f} s, peak RSS {stream['peak_rss_mb']:.0f} MB, modes {modes}, "
            f"window state {stream['window_state_json_bytes'] / 1e6:.1f} MB as JSON; "
            f"drifted: {drifted}"
        )


if __name__ == "__main__":
    main()
