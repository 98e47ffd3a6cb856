"""Real Dask clusters of two worker processes of one thread each: one per test module, and a
fresh one for each test that kills workers, so a worker that never comes back (a nanny that
fails to restart it on a loaded machine) cannot leave the next tests without workers.

Every wait is bounded: startup and the wait for both workers fail after ``WAIT_SECONDS`` with
a message saying what was waited for, and a task that finds no worker fails after
``NO_WORKERS_SECONDS`` (the scheduler's ``no-workers-timeout``) instead of waiting forever.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

dask = pytest.importorskip("dask", reason="the smote-monitor[dask] extra is not installed")

WORKERS = 2
#: Seconds to wait for a cluster's workers to start or come back, and for it to close.
WAIT_SECONDS = 120
#: Seconds a task may wait without any worker before the scheduler fails it.
NO_WORKERS_SECONDS = 120


@contextmanager
def local_cluster() -> Iterator[Any]:
    """A LocalCluster of ``WORKERS`` processes and a client of it, both workers up."""
    import dask.config
    from distributed import Client

    from smote_monitor.evaluation.partitioned import local_cluster as started

    with dask.config.set(
        {
            # One retry after a worker dies, so a test of a worker killed on every try fails
            # quickly.
            "distributed.scheduler.allowed-failures": 1,
            "distributed.scheduler.no-workers-timeout": f"{NO_WORKERS_SECONDS}s",
        }
    ):
        cluster = started(WORKERS)
    try:
        client = Client(cluster, timeout=WAIT_SECONDS)
        try:
            wait_for_workers(client)
            yield cluster, client
        finally:
            client.close(timeout=WAIT_SECONDS)
    finally:
        cluster.close(timeout=WAIT_SECONDS)


def wait_for_workers(client: Any, n: int = WORKERS, timeout: float = WAIT_SECONDS) -> None:
    """Wait until the cluster has ``n`` workers; fail the test saying so after ``timeout``."""
    try:
        client.wait_for_workers(n, timeout=timeout)
    except TimeoutError:
        have = len(client.scheduler_info(n_workers=-1)["workers"])
        pytest.fail(
            f"the Dask cluster has {have} of {n} workers after {timeout:g} s: a worker did not "
            "start or come back (a loaded machine?)",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def _module_cluster() -> Iterator[tuple[Any, Any]]:
    with local_cluster() as pair:
        yield pair


@pytest.fixture(scope="module")
def cluster(_module_cluster: tuple[Any, Any]) -> Any:
    """The module's cluster (tests that kill workers take ``own_client``)."""
    return _module_cluster[0]


@pytest.fixture(scope="module")
def client(_module_cluster: tuple[Any, Any]) -> Any:
    return _module_cluster[1]


@pytest.fixture
def own_client() -> Iterator[Any]:
    """A client of a cluster of this test's own, closed after it: for tests that kill workers."""
    with local_cluster() as (_, c):
        yield c
