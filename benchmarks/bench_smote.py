"""smote_core against imbalanced-learn 0.14 on the same data, each in its own process.

Data: X ~ N(0, I_d) float64 (d = 20, or 10 for case h), the minority rows shifted by +0.5 on
every feature, y in {0, 1} with the minority placed at random (seed 0). For each case both
libraries run in a fresh subprocess (same machine, same run, one after the other); the parent
reports

- fit: wall time of the process's first ``fit_resample`` (cold: what a pipeline that resamples
  once per run pays),
- warm fit: the median of ``--repeats`` fits after the first in a second process on the same
  data (cases up to 100k rows; a single fit of a small case swings by 2x on this machine), 5x
  as many for the small cases f-h, whose fits take milliseconds,
- process: wall time of the whole subprocess (interpreter start, imports, data, fit, exit),
- peak RSS: the subprocess's maximum resident set size (data included),

the ratios imblearn / ours (>1 means ours is faster) and ours / imblearn for memory, and
whether the class counts are equal.

Usage::

    python benchmarks/bench_smote.py                 # cases a-h
    python benchmarks/bench_smote.py --cases f,g,h   # the small inputs only
    python benchmarks/bench_smote.py --quick         # 10x fewer rows, for a smoke run
    python benchmarks/bench_smote.py --repeats 9     # more warm fits of the small cases
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

# case: (sampler, rows, minority share, target, features)
CASES = {
    "a": ("SMOTE", 100_000, 0.01, "whole process >= 3x faster", 20),
    "b": ("SMOTE", 1_000_000, 0.01, "fit >= 1.5x faster, peak <= 70%", 20),
    "c": ("SMOTE", 1_000_000, 0.10, "fit >= 1.5x faster", 20),
    "d": ("BorderlineSMOTE", 1_000_000, 0.01, "fit >= 1.5x faster", 20),
    "e": ("ADASYN", 100_000, 0.01, "fit >= 1.5x faster", 20),
    # Small inputs: a user swapping imports times a warm fit of a few milliseconds.
    "f": ("SMOTE", 10_000, 0.01, "warm fit >= 1x (parity)", 20),
    "g": ("SMOTE", 10_000, 0.10, "warm fit >= 1x (parity)", 20),
    "h": ("SMOTE", 2_000, 0.10, "warm fit >= 1x (parity)", 10),
}
#: Cases up to this many rows run 5x the warm repeats.
SMALL_ROWS = 10_000


def worker(impl: str, case: str, quick: bool, repeats: int) -> None:
    """Run one case with one library and print a JSON line (runs in the subprocess)."""
    import resource

    import numpy as np

    sampler_name, n, share, _, n_features = CASES[case]
    if quick:
        n //= 10
    if impl == "imblearn":
        from imblearn import over_sampling as lib
    else:
        import smote_core as lib  # type: ignore[no-redef]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, n_features))
    y = np.zeros(n, dtype=np.int64)
    y[rng.choice(n, int(n * share), replace=False)] = 1
    X[y == 1] += 0.5
    times = []
    for _ in range(1 + (repeats if n <= 100_000 else 0)):
        sampler = getattr(lib, sampler_name)(random_state=0)
        t0 = time.perf_counter()
        _, y_res = sampler.fit_resample(X, y)
        times.append(time.perf_counter() - t0)
        if len(times) == 1:
            # Peak RSS of one fit, before repeats could add anything.
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    counts = np.bincount(y_res).tolist()
    warm = float(np.median(times[1:])) if len(times) > 1 else None
    print(json.dumps({"fit": times[0], "warm": warm, "counts": counts, "rss": rss}))


def run(impl: str, case: str, quick: bool, repeats: int) -> dict[str, float]:
    """One process with a single fit (fit, process, peak), then one with the warm repeats."""
    result = _subprocess(impl, case, quick, 0)
    rows = CASES[case][1]
    if repeats and rows <= 100_000:
        repeats *= 5 if rows <= SMALL_ROWS else 1
        result["warm"] = _subprocess(impl, case, quick, repeats)["warm"]
    return result


def _subprocess(impl: str, case: str, quick: bool, repeats: int) -> dict[str, float]:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", impl, "--cases", case]
    cmd += ["--repeats", str(repeats)]
    if quick:
        cmd.append("--quick")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{impl} case {case} failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)}"
    )
    parser.add_argument("--quick", action="store_true", help="10x fewer rows")
    parser.add_argument(
        "--repeats", type=int, default=5, help="warm fits after the first (cases <= 100k rows)"
    )
    parser.add_argument("--worker", choices=["imblearn", "smote_core"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {sorted(CASES)}")
    if args.worker:
        worker(args.worker, cases[0], args.quick, args.repeats)
        return
    header = (
        "| case | sampler | rows | features | minority | imblearn fit s | ours fit s | fit speedup "
        "| imblearn warm fit s | ours warm fit s | warm speedup "
        "| imblearn process s | ours process s | process speedup | imblearn peak MiB "
        "| ours peak MiB | peak ours/imblearn | counts equal | target |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for case in cases:
        name, n, share, target, n_features = CASES[case]
        ref = run("imblearn", case, args.quick, args.repeats)
        ours = run("smote_core", case, args.quick, args.repeats)
        rows = n // 10 if args.quick else n
        mib = 1024 * 1024
        print(
            f"| {case} | {name} | {rows:,} | {n_features} | {share:.0%} "
            f"| {ref['fit']:.2f} | {ours['fit']:.2f} "
            f"| {ref['fit'] / ours['fit']:.2f}x | {_warm(ref, ours)} "
            f"| {ref['process']:.2f} | {ours['process']:.2f} "
            f"| {ref['process'] / ours['process']:.2f}x | {ref['rss'] / mib:.0f} "
            f"| {ours['rss'] / mib:.0f} | {ours['rss'] / ref['rss']:.0%} "
            f"| {'yes' if ref['counts'] == ours['counts'] else 'NO'} | {target} |",
            flush=True,
        )


def _warm(ref: dict[str, float], ours: dict[str, float]) -> str:
    if ref.get("warm") is None or ours.get("warm") is None:
        return "– | – | –"
    return f"{ref['warm']:.4f} | {ours['warm']:.4f} | {ref['warm'] / ours['warm']:.2f}x"


if __name__ == "__main__":
    main()
