"""What a resampling run did: :class:`ResampleReport` and the provenance of synthetic rows."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import tracemalloc
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Provenance", "ResampleReport"]

#: Quantiles reported for the distances of interpolation pairs, keyed by ``str(q)``.
QUANTILES = (0.0, 0.25, 0.5, 0.75, 0.95, 1.0)
#: Synthetic rows listed in ``ResampleReport.provenance_sample``.
PROVENANCE_SAMPLE = 100
#: Budget of (synthetic, real) pairs for the near-duplicate search: every synthetic row not
#: already within the threshold of its own parent or neighbour is searched when they fit,
#: otherwise ``budget // n_real`` of them (at least ``NEAR_DUPLICATE_MIN_SAMPLE``), spread
#: evenly. Those rows are rarely near a real row (the share found is a small correction to the
#: exact parent/neighbour count), so a small sample keeps the estimate tight; at 20M pairs the
#: search cost as much as imbalanced-learn's whole SMOTE fit on 100k rows.
NEAR_DUPLICATE_PAIRS = 2_000_000
NEAR_DUPLICATE_MIN_SAMPLE = 64
#: Default near-duplicate threshold, as a share of the median interpolation-pair distance.
NEAR_DUPLICATE_SHARE = 0.01


@dataclass
class Provenance:
    """Where each synthetic row came from: ``x = X[parent] + gap · (X[neighbor] − X[parent])``.

    Attributes
    ----------
    row : ndarray of shape (n_synthetic,)
        Position of the synthetic row in the resampled output.
    parent : ndarray of shape (n_synthetic,)
        Row of the input X the synthetic row starts from.
    neighbor : ndarray of shape (n_synthetic,)
        Row of the input X it moves towards.
    gap : ndarray of shape (n_synthetic,)
        Interpolation factor, in [0, 1) (in [0, 0.5) for Borderline-2's steps towards another
        class).
    distance : ndarray of shape (n_synthetic,)
        Euclidean distance between parent and neighbour (with SMOTENC's categorical term).
    """

    row: NDArray[np.intp]
    parent: NDArray[np.intp]
    neighbor: NDArray[np.intp]
    gap: NDArray[np.float64]
    distance: NDArray[np.float64]

    @classmethod
    def empty(cls) -> Provenance:
        """Return the provenance of a run that generated nothing."""
        i = np.empty(0, dtype=np.intp)
        f = np.empty(0, dtype=np.float64)
        return cls(i, i.copy(), i.copy(), f, f.copy())

    def take(self, keep: NDArray[np.intp], row: NDArray[np.intp]) -> Provenance:
        """Return the entries ``keep`` with new output positions ``row``."""
        return Provenance(
            row, self.parent[keep], self.neighbor[keep], self.gap[keep], self.distance[keep]
        )

    def __len__(self) -> int:
        return int(self.row.shape[0])

    def __repr__(self) -> str:
        # One entry per synthetic row in each of five arrays: too much to print.
        names = ", ".join(f.name for f in fields(self))
        return f"{type(self).__name__}(n_synthetic={len(self)}, fields={names})"


@dataclass
class ResampleReport:
    """Summary of one ``fit_resample`` call, JSON-serialisable through :meth:`to_dict`.

    Class labels are keyed by ``str(label)`` everywhere, so ``1`` and ``"1"`` share a key.

    Attributes
    ----------
    variant : str
        Sampler class name (``"SMOTE"``, ``"BorderlineSMOTE"``, …).
    params : dict
        The sampler's parameters as plain values (``random_state`` included; a Generator is
        recorded as ``"Generator"``, a callable by its name, a nested sampler as a dict).
    seed : int or None
        ``random_state`` when it is an int.
    class_counts_before, class_counts_after : dict of str to int
        Rows per class, keyed by ``str(label)``, in sorted-label order.
    n_samples_before, n_samples_after : int
    n_synthetic : int
        Synthetic rows in the output.
    n_removed : int
        Rows removed by cleaning (TomekLinks, EditedNearestNeighbours, or the cleaning step of
        SMOTETomek / SMOTEENN; synthetic rows removed included).
    synthetic_ratio : float
        ``n_synthetic / n_samples_after``.
    neighbor_distance_quantiles : dict of str to float
        Quantiles of the parent–neighbour distances of the synthetic rows, keyed by
        ``str(q)`` for q in 0.0, 0.25, 0.5, 0.75, 0.95, 1.0; empty when nothing was generated.
    near_duplicate_ratio : float or None
        Share of synthetic rows whose closest real (input) row is at distance
        ``<= near_duplicate_threshold``. Rows that close to their own parent or neighbour are
        counted exactly; the others are searched against every real row, all of them or, when
        there are many, ``near_duplicate_sample_size`` spread evenly, and the share found there
        is scaled to their number. None when nothing was generated.
    near_duplicate_threshold : float or None
        The distance used; by default 1 % of the median parent–neighbour distance, so it
        follows the scale of the data.
    near_duplicate_sample_size : int
        Synthetic rows searched against every real row.
    duration_seconds : float
        Wall time of the resampling (input checks, neighbour search, output), without the
        report's own statistics.
    peak_memory_bytes : int
        Peak resident memory (RSS) above its level at the start of the call: the kernel's
        high-water mark when the call set the process's peak, else 2 ms sampling (tracemalloc
        off Linux); never less than the bytes of the arrays the call returned, which it
        allocated and still holds (a small run may build them from memory the allocator
        already had resident, so RSS alone need not grow).
    feature_schema : list of dict
        ``{"name": str, "dtype": str}`` per input column (``x0, x1, …`` for arrays).
    feature_schema_hash : str
        sha256 of the schema's canonical JSON; equal for equal names and dtypes.
    provenance_sample : list of dict
        Up to 100 synthetic rows, spread evenly: ``{"row", "parent", "neighbor", "gap",
        "distance"}``; the full arrays are the sampler's ``provenance_``.
    """

    variant: str
    params: dict[str, Any]
    seed: int | None
    class_counts_before: dict[str, int]
    class_counts_after: dict[str, int]
    n_samples_before: int
    n_samples_after: int
    n_synthetic: int
    n_removed: int
    synthetic_ratio: float
    neighbor_distance_quantiles: dict[str, float]
    near_duplicate_ratio: float | None
    near_duplicate_threshold: float | None
    near_duplicate_sample_size: int
    duration_seconds: float
    peak_memory_bytes: int
    feature_schema: list[dict[str, str]]
    feature_schema_hash: str
    provenance_sample: list[dict[str, float | int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain Python types (``json.dumps`` accepts it as is)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResampleReport:
        """Rebuild a report from :meth:`to_dict`'s output; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"Unknown ResampleReport field(s): {unknown}.")
        return cls(**data)


def schema_hash(schema: list[dict[str, str]]) -> str:
    """Return the sha256 hex digest of the schema's canonical JSON."""
    text = json.dumps([[c["name"], c["dtype"]] for c in schema], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class Measure:
    """Wall time and peak memory of a block (``with Measure() as m: ...``).

    Peak memory is resident memory (RSS) above its level at the start of the block: the
    kernel's high-water mark when the block raised the process's peak, otherwise the largest
    of samples taken every 2 ms by a helper thread and at the end. ``tracemalloc`` would trace
    every allocation under the GIL; measured here it made the threaded k-NN 1.7x slower, so it
    is used only where ``/proc/self/statm`` does not exist (not Linux).

    The helper is one daemon thread per process, started by the first block and idle while no
    block is open: starting and joining a thread per block waited on the scheduler, 1-3 ms of
    a 5 ms fit on a busy machine. Blocks open at once (in several threads) share its samples.

    Memory the allocator already holds is reused without raising RSS, so a small block can
    read as 0; :meth:`holds` raises the peak to at least the bytes of what the block built and
    still holds (its output), an exact lower bound.
    """

    interval = 0.002

    def __enter__(self) -> Measure:
        self._page = _page_size()
        self._base = _rss(self._page)
        if self._base is None:
            self._started = not tracemalloc.is_tracing()
            if self._started:
                tracemalloc.start()
            self._traced_base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
        else:
            self._hwm = _max_rss()
            self._peak_rss = self._base
            _SAMPLER.add(self)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.duration = time.perf_counter() - self._t0
        if self._base is None:
            self.peak = max(0, tracemalloc.get_traced_memory()[1] - self._traced_base)
            if self._started:
                tracemalloc.stop()
            return
        _SAMPLER.discard(self)
        peak = max(self._peak_rss, _rss(self._page) or 0)
        hwm = _max_rss()
        if hwm > self._hwm:
            # This block set the process's peak: the kernel's mark is exact.
            peak = max(peak, hwm)
        self.peak = max(0, peak - self._base)

    def holds(self, *arrays: Any) -> None:
        """Count ``arrays``, built inside the block and alive after it, in the peak."""
        self.peak = max(self.peak, sum(nbytes(a) for a in arrays))


class _Sampler:
    """The thread sampling RSS every ``Measure.interval`` while some block is open."""

    def __init__(self) -> None:
        self.reset()
        if hasattr(os, "register_at_fork"):
            # A fork's child has only the forking thread, and the lock may have been held by
            # the sampler at that instant: the child starts afresh.
            os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._lock = threading.Lock()
        self._open: set[Measure] = set()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, measure: Measure) -> None:
        with self._lock:
            self._open.add(measure)
            self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True)
                self._thread.start()

    def discard(self, measure: Measure) -> None:
        with self._lock:
            self._open.discard(measure)

    def _run(self) -> None:
        page = _page_size()
        while True:
            self._wake.wait()
            time.sleep(Measure.interval)
            rss = _rss(page) or 0
            with self._lock:
                for measure in self._open:
                    measure._peak_rss = max(measure._peak_rss, rss)
                if not self._open:
                    self._wake.clear()


_SAMPLER = _Sampler()


def nbytes(obj: Any) -> int:
    """Bytes of an array's, Series' or DataFrame's data (0 for what has none, e.g. a list)."""
    memory_usage = getattr(obj, "memory_usage", None)
    if callable(memory_usage) and hasattr(obj, "columns"):
        return int(memory_usage(index=False, deep=False).sum())
    size = getattr(obj, "nbytes", None)
    return int(size) if isinstance(size, int | np.integer) else 0


def _page_size() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return 4096


def _rss(page: int) -> int | None:
    """Current resident set size in bytes, or None without /proc."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * page
    except (OSError, IndexError, ValueError):  # pragma: no cover - not Linux
        return None


def _max_rss() -> int:
    """The process's peak resident set size in bytes (Linux reports KiB)."""
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types (params of a sampler)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, int | float):
        return value
    if isinstance(value, np.random.Generator):
        return "Generator"
    if isinstance(value, dict):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if hasattr(value, "get_params"):
        return {"variant": type(value).__name__, "params": jsonable(value.get_params())}
    if callable(value):
        return getattr(value, "__qualname__", repr(value))
    return repr(value)


def distance_quantiles(distance: NDArray[np.float64]) -> dict[str, float]:
    """Return the report's quantiles of ``distance`` (empty dict for no distances)."""
    if distance.size == 0:
        return {}
    # np.quantile's linear method, by partition: np.quantile's first call imports numpy.ma
    # (~12 ms, inside the timed fit).
    d = distance.ravel()
    pos = np.asarray(QUANTILES) * (d.size - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, d.size - 1)
    part = np.partition(d, sorted({*lo.tolist(), *hi.tolist()}))
    values = part[lo] + (part[hi] - part[lo]) * (pos - lo)
    return {str(q): float(v) for q, v in zip(QUANTILES, values, strict=True)}


def near_duplicates(
    X_real: NDArray[np.floating],
    X_synthetic: NDArray[np.floating],
    threshold: float,
    own_distance: NDArray[np.float64] | None = None,
) -> tuple[float, int]:
    """Return (share of synthetic rows within ``threshold`` of a real row, rows searched).

    ``own_distance`` is each synthetic row's distance to a real row it was built from (its
    parent or neighbour): a row within the threshold of it is counted without a search.
    """
    from ._radius import any_within

    n_syn = X_synthetic.shape[0]
    near = np.zeros(n_syn, dtype=bool) if own_distance is None else own_distance <= threshold
    rest = np.flatnonzero(~near)
    size = max(NEAR_DUPLICATE_MIN_SAMPLE, NEAR_DUPLICATE_PAIRS // max(1, X_real.shape[0]))
    if rest.shape[0] > size:
        rest = rest[np.linspace(0, rest.shape[0] - 1, size).astype(np.intp)]
    found = 0.0
    if rest.shape[0]:
        within = any_within(X_real, X_synthetic[rest], threshold)
        found = float(np.mean(within)) * (n_syn - int(near.sum()))
    return (float(near.sum()) + found) / n_syn, int(rest.shape[0])


def provenance_sample(prov: Provenance) -> list[dict[str, float | int]]:
    """Return up to ``PROVENANCE_SAMPLE`` provenance entries spread evenly."""
    n = len(prov)
    if n == 0:
        return []
    idx = np.linspace(0, n - 1, min(n, PROVENANCE_SAMPLE)).astype(np.intp)
    # Non-decreasing: dropping repeats is np.unique without its numpy.ma import.
    idx = idx[np.concatenate(([True], idx[1:] != idx[:-1]))]
    return [
        {
            "row": int(prov.row[i]),
            "parent": int(prov.parent[i]),
            "neighbor": int(prov.neighbor[i]),
            "gap": float(prov.gap[i]),
            "distance": float(prov.distance[i]),
        }
        for i in idx
    ]
