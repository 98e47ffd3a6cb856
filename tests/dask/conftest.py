"""One real Dask cluster per test module: two worker processes of one thread each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

dask = pytest.importorskip("dask", reason="the smote-monitor[dask] extra is not installed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    import dask.config
    from distributed import LocalCluster

    from smote_monitor.evaluation.partitioned import PINNED_THREADS

    # One retry after a worker dies, so a test of a worker killed on every try fails quickly.
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env=PINNED_THREADS,
        ) as local,
    ):
        yield local


@pytest.fixture(scope="module")
def client(cluster: object) -> Iterator[object]:
    from distributed import Client

    with Client(cluster) as c:
        yield c
