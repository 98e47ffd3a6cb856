"""Windows folded on a real Dask cluster (two worker processes) equal the same windows
evaluated in one process, whatever the partitioning; bad partitions and dying workers store
nothing."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import pandas as pd
import pytest
from sqlalchemy import func, select

from smote_monitor import Monitor
from smote_monitor.errors import DistributedJobError, InvalidInputError
from smote_monitor.evaluation import partitioned
from smote_monitor.evaluation.partitioned import (
    PINNED_THREADS,
    WORKER_MALLOC,
    connect,
    evaluate_files_on_dask,
    evaluate_frame_on_dask,
)
from smote_monitor.evaluation.window import (
    SlicesNotScoredError,
    WindowResult,
    evaluate_batches,
    evaluate_frame,
)
from smote_monitor.sources.files import production_batches
from smote_monitor.sources.labels import read_labels, with_labels
from smote_monitor.store.models import Evaluation

from .data import (
    CONFIG,
    assert_identical,
    folded,
    production,
    record_runs,
    stored,
    write_labels,
    write_partitions,
)

N_ROWS = 12_000
PARTITIONINGS = {
    "one file": [0, N_ROWS],
    "three equal": [0, 4000, 8000, N_ROWS],
    "uneven, with empty files": [0, 0, 17, 3000, 3000, 3001, 9000, 11_999, N_ROWS],
}


def _monitor(url: str, tmp_path: Path) -> Monitor:
    path = tmp_path / "smote-monitor.yaml"
    path.write_text(CONFIG.format(url=url, spool=tmp_path / "spool"))
    mon = Monitor.from_config(path)
    record_runs(mon)
    return mon


@pytest.fixture
def monitor(sqlite_url: str, tmp_path: Path) -> Monitor:
    return _monitor(sqlite_url, tmp_path)


def _evaluations(mon: Monitor) -> int:
    with mon.store.read() as session:
        return int(session.scalar(select(func.count()).select_from(Evaluation)) or 0)


def _stored(mon: Monitor, result: WindowResult) -> tuple[Any, ...]:
    """The stored record of ``result``'s evaluation, and where the store says it was folded."""
    with mon.store.read() as session:
        evaluation = session.get(Evaluation, result.evaluation_id)
        assert evaluation is not None
        return stored(evaluation), folded(evaluation)


def _one_process(mon: Monitor, dataset: str, pattern: str) -> WindowResult:
    """What ``smote-monitor evaluate -p PATTERN`` computes."""
    return evaluate_batches(mon.store, mon.settings, dataset, production_batches(pattern))


@pytest.mark.parametrize("partitioning", list(PARTITIONINGS))
def test_exact_mode_equals_one_process_bit_for_bit(
    monitor: Monitor, client: Any, tmp_path: Path, partitioning: str
) -> None:
    pattern = write_partitions(production(N_ROWS), tmp_path / "p", PARTITIONINGS[partitioning])
    one = _one_process(monitor, "fraud", pattern)
    on_dask = evaluate_files_on_dask(monitor.store, monitor.settings, "fraud", pattern, client)
    assert_identical(one, on_dask)
    assert on_dask.partitions == len(PARTITIONINGS[partitioning]) - 1 and one.partitions is None
    assert on_dask.to_dict()["engine"] == "dask" and one.to_dict()["engine"] == "local"
    (record, where), (one_record, one_where) = _stored(monitor, on_dask), _stored(monitor, one)
    assert record == one_record  # the same values; only where they were folded differs
    assert where == ("dask", on_dask.partitions) and one_where == ("local", None)
    # The window is the one the test means: drift, unseen categories, NaN/inf, folded shops.
    assert on_dask.drift.drifted
    by_feature = {r.feature: r for r in on_dask.drift.features}
    assert by_feature["amount"].n_current < N_ROWS  # NaN and ±inf dropped
    assert by_feature["device"].drifted  # 'tablet' never seen in training
    assert on_dask.folded_rows["shop"] > 0  # 7 shops, max_slice_values 3
    labels = {m.slice for m in on_dask.slices}
    assert "shop=(other)" in labels and "region=(other)" in labels


def test_a_sketched_window_stays_within_the_bound_with_the_same_verdicts(
    monitor: Monitor, client: Any, tmp_path: Path
) -> None:
    pattern = write_partitions(production(N_ROWS), tmp_path / "p", PARTITIONINGS["three equal"])
    one = _one_process(monitor, "sketched", pattern)
    on_dask = evaluate_files_on_dask(monitor.store, monitor.settings, "sketched", pattern, client)
    modes = {r.feature: r.mode for r in on_dask.drift.features}
    assert modes["amount"] == "sketch"  # 12,000 distinct amounts past an exact cap of 1,000
    for mine, theirs in zip(one.drift.features, on_dask.drift.features, strict=True):
        assert (theirs.method, theirs.drifted, theirs.mode) == (
            mine.method,
            mine.drifted,
            mine.mode,
        )
        # The sketch's documented bound: normed Wasserstein within 0.002 per sketched side.
        assert theirs.value == pytest.approx(mine.value, abs=0.004)
    assert [m.to_dict() for m in on_dask.slices] == [m.to_dict() for m in one.slices]


@pytest.mark.parametrize("npartitions", [1, 5])
def test_a_dask_dataframe_equals_the_same_rows_in_one_process(
    monitor: Monitor, client: Any, npartitions: int
) -> None:
    frame = production(N_ROWS)
    one = evaluate_frame(monitor.store, monitor.settings, "fraud", frame)
    on_dask = evaluate_frame_on_dask(
        monitor.store,
        monitor.settings,
        "fraud",
        dd.from_pandas(frame, npartitions=npartitions, sort=False),
        client,
    )
    assert_identical(one, on_dask)
    assert on_dask.partitions == npartitions


def test_read_parquet_partitions_equal_the_files_in_one_process(
    monitor: Monitor, client: Any, tmp_path: Path
) -> None:
    pattern = write_partitions(production(N_ROWS), tmp_path / "p", PARTITIONINGS["three equal"])
    one = _one_process(monitor, "fraud", pattern)
    on_dask = evaluate_frame_on_dask(
        monitor.store, monitor.settings, "fraud", dd.read_parquet(pattern), client
    )
    assert_identical(one, on_dask)


def test_postgres_stores_the_same_record(postgres_url: str, client: Any, tmp_path: Path) -> None:
    mon = _monitor(postgres_url, tmp_path)
    pattern = write_partitions(production(N_ROWS), tmp_path / "p", PARTITIONINGS["three equal"])
    one = _one_process(mon, "fraud", pattern)
    on_dask = evaluate_files_on_dask(mon.store, mon.settings, "fraud", pattern, client)
    assert_identical(one, on_dask)
    (record, where), (one_record, one_where) = _stored(mon, on_dask), _stored(mon, one)
    assert record == one_record
    assert where == ("dask", 3) and one_where == ("local", None)


def test_a_file_lacking_a_column_is_refused_by_name_and_nothing_is_stored(
    monitor: Monitor, client: Any, tmp_path: Path
) -> None:
    frame = production(N_ROWS)
    directory = tmp_path / "p"
    pattern = write_partitions(frame, directory, PARTITIONINGS["three equal"])
    broken = directory / "part-001.parquet"
    frame.iloc[4000:8000].drop(columns=["hour"]).to_parquet(broken, index=False)
    before = _evaluations(monitor)
    with pytest.raises(InvalidInputError, match=r"production\.hour") as caught:
        evaluate_files_on_dask(monitor.store, monitor.settings, "fraud", pattern, client)
    assert caught.value.value == str(broken)
    assert "a column of every partition" in str(caught.value)
    assert _evaluations(monitor) == before


def test_a_column_every_file_lacks_is_flagged_as_in_one_process(
    monitor: Monitor, client: Any, tmp_path: Path
) -> None:
    frame = production(N_ROWS).drop(columns=["hour"])
    pattern = write_partitions(frame, tmp_path / "p", PARTITIONINGS["three equal"])
    one = _one_process(monitor, "fraud", pattern)
    on_dask = evaluate_files_on_dask(monitor.store, monitor.settings, "fraud", pattern, client)
    assert_identical(one, on_dask)
    assert on_dask.missing_features == {"hour": str(tmp_path / "p" / "part-000.parquet")}
    assert on_dask.problems() == one.problems() != []


def test_a_missing_slice_column_stores_the_drift_and_says_so_as_in_one_process(
    monitor: Monitor, client: Any, tmp_path: Path
) -> None:
    frame = production(N_ROWS).drop(columns=["shop"])
    pattern = write_partitions(frame, tmp_path / "p", PARTITIONINGS["three equal"])
    with pytest.raises(SlicesNotScoredError) as one:
        _one_process(monitor, "fraud", pattern)
    with pytest.raises(SlicesNotScoredError, match=r"production\.shop") as on_dask:
        evaluate_files_on_dask(monitor.store, monitor.settings, "fraud", pattern, client)
    assert str(on_dask.value).split(";")[:2] == str(one.value).split(";")[:2]
    assert_identical(one.value.result, on_dask.value.result)


def test_a_label_outside_the_classes_fails_on_the_worker_and_nothing_is_stored(
    monitor: Monitor, client: Any, tmp_path: Path
) -> None:
    frame = production(N_ROWS)
    frame.loc[9000, "is_fraud"] = 7.0
    pattern = write_partitions(frame, tmp_path / "p", PARTITIONINGS["three equal"])
    before = _evaluations(monitor)
    with pytest.raises(InvalidInputError, match=r"is_fraud: got \[7\.0\]"):
        evaluate_files_on_dask(monitor.store, monitor.settings, "fraud", pattern, client)
    assert _evaluations(monitor) == before


def _labelled_one_process(mon: Monitor, pattern: str, labels: pd.Series) -> WindowResult:
    """What ``smote-monitor evaluate -d fraud -p PATTERN --labels L`` computes."""
    batches = with_labels(production_batches(pattern), labels, "event_id", "is_fraud")
    return evaluate_batches(mon.store, mon.settings, "fraud", batches)


@pytest.mark.parametrize("partitioning", ["one file", "uneven, with empty files"])
def test_labels_joined_on_the_workers_equal_one_process_bit_for_bit(
    monitor: Monitor, client: Any, tmp_path: Path, partitioning: str
) -> None:
    frame = production(N_ROWS)
    pattern = write_partitions(frame, tmp_path / "p", PARTITIONINGS[partitioning])
    labels = read_labels(write_labels(frame, tmp_path / "labels.csv"), "event_id", "is_fraud")
    one = _labelled_one_process(monitor, pattern, labels)
    on_dask = evaluate_files_on_dask(
        monitor.store, monitor.settings, "fraud", pattern, client, labels=labels
    )
    assert_identical(one, on_dask)
    (record, where), (one_record, _) = _stored(monitor, on_dask), _stored(monitor, one)
    assert record == one_record and where == ("dask", len(PARTITIONINGS[partitioning]) - 1)
    # The labels file's labels were scored, not the files' own target column.
    assert on_dask.n_labeled == int(labels.index.isin(frame["event_id"].astype(str)).sum())
    without = evaluate_files_on_dask(monitor.store, monitor.settings, "fraud", pattern, client)
    assert without.n_labeled == int(frame["is_fraud"].notna().sum()) != on_dask.n_labeled


def test_labels_joined_into_a_dask_dataframe_equal_one_process(
    monitor: Monitor, client: Any, tmp_path: Path
) -> None:
    frame = production(N_ROWS).drop(columns=["is_fraud"])  # labels come only from the file
    labels = read_labels(write_labels(frame, tmp_path / "labels.csv"), "event_id", "is_fraud")
    (joined,) = with_labels([frame], labels, "event_id", "is_fraud")
    one = evaluate_frame(monitor.store, monitor.settings, "fraud", joined)
    on_dask = evaluate_frame_on_dask(
        monitor.store,
        monitor.settings,
        "fraud",
        dd.from_pandas(frame, npartitions=4, sort=False),
        client,
        labels=labels,
    )
    assert_identical(one, on_dask)
    assert on_dask.n_labeled > 0 and on_dask.partitions == 4


def test_a_file_lacking_the_id_column_is_refused_as_in_one_process_and_nothing_is_stored(
    monitor: Monitor, client: Any, tmp_path: Path
) -> None:
    frame = production(N_ROWS)
    directory = tmp_path / "p"
    pattern = write_partitions(frame, directory, PARTITIONINGS["three equal"])
    broken = directory / "part-002.parquet"
    frame.iloc[8000:].drop(columns=["event_id"]).to_parquet(broken, index=False)
    labels = read_labels(write_labels(frame, tmp_path / "labels.csv"), "event_id", "is_fraud")
    before = _evaluations(monitor)
    with pytest.raises(InvalidInputError) as one:
        _labelled_one_process(monitor, pattern, labels)
    with pytest.raises(InvalidInputError, match=r"production\.event_id") as on_dask:
        evaluate_files_on_dask(
            monitor.store, monitor.settings, "fraud", pattern, client, labels=labels
        )
    assert on_dask.value.value == str(broken)
    assert str(on_dask.value) == str(one.value)
    assert "to join --labels by id" in str(on_dask.value)
    assert _evaluations(monitor) == before


def test_labels_need_the_dataset_id_column(monitor: Monitor, client: Any, tmp_path: Path) -> None:
    frame = production(N_ROWS)
    pattern = write_partitions(frame, tmp_path / "p", PARTITIONINGS["three equal"])
    labels = read_labels(write_labels(frame, tmp_path / "labels.csv"), "event_id", "is_fraud")
    before = _evaluations(monitor)
    with pytest.raises(InvalidInputError, match="id_column: got None; expected the dataset's id"):
        evaluate_files_on_dask(
            monitor.store, monitor.settings, "sketched", pattern, client, labels=labels
        )
    assert _evaluations(monitor) == before


def test_the_status_says_where_the_last_evaluation_of_a_window_was_folded(
    monitor: Monitor, client: Any, tmp_path: Path
) -> None:
    from smote_monitor.evaluation.status import dataset_status
    from smote_monitor.server.status_page import render_status_page

    pattern = write_partitions(production(N_ROWS), tmp_path / "p", PARTITIONINGS["three equal"])
    evaluate_files_on_dask(monitor.store, monitor.settings, "fraud", pattern, client, window="1h")
    status = dataset_status(monitor.store, monitor.settings, "fraud")
    window = status["windows"]["1h"]
    assert (window["engine"], window["partitions"], window["rows"]) == ("dask", 3, N_ROWS)
    assert status["windows"]["24h"] is None
    page = render_status_page(monitor.store, monitor.settings)
    assert page.status_code == 200 and "on Dask, 3 partitions" in page.html

    evaluate_batches(
        monitor.store, monitor.settings, "fraud", production_batches(pattern), window="1h"
    )
    window = dataset_status(monitor.store, monitor.settings, "fraud")["windows"]["1h"]
    assert (window["engine"], window["partitions"]) == ("local", None)
    assert "on Dask" not in render_status_page(monitor.store, monitor.settings).html


def _read_or_die(file: str, marker: str, times: int) -> pd.DataFrame:
    """Read a file; kill this worker process the first ``times`` times it is asked to."""
    done = len(os.listdir(marker))
    if done < times:
        Path(marker, f"death-{done}").touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return pd.read_parquet(file)


def _dying_frame(pattern: str, marker: Path, times: int) -> dd.DataFrame:
    import glob

    files = sorted(glob.glob(pattern))
    marker.mkdir()
    meta = pd.read_parquet(files[0]).iloc[:0]
    # Only the middle partition's reader dies.
    readers = [(f, str(marker), times if i == 1 else 0) for i, f in enumerate(files)]
    return dd.from_map(lambda args: _read_or_die(*args), readers, meta=meta, enforce_metadata=False)


# The two tests below kill workers, so each runs on a cluster of its own (own_client): a
# worker that does not come back leaves no later test without workers, and nothing waits for
# it to return.


@pytest.mark.slow
def test_a_worker_killed_mid_job_is_retried_and_the_result_is_unchanged(
    monitor: Monitor, own_client: Any, tmp_path: Path
) -> None:
    pattern = write_partitions(production(N_ROWS), tmp_path / "p", PARTITIONINGS["three equal"])
    one = _one_process(monitor, "fraud", pattern)
    frame = _dying_frame(pattern, tmp_path / "deaths", times=1)
    on_dask = evaluate_frame_on_dask(monitor.store, monitor.settings, "fraud", frame, own_client)
    assert len(os.listdir(tmp_path / "deaths")) == 1  # a worker really died once
    assert_identical(one, on_dask)


@pytest.mark.slow
def test_workers_killed_on_every_try_fail_the_job_clearly_and_nothing_is_stored(
    monitor: Monitor, own_client: Any, tmp_path: Path
) -> None:
    pattern = write_partitions(production(N_ROWS), tmp_path / "p", PARTITIONINGS["three equal"])
    frame = _dying_frame(pattern, tmp_path / "deaths", times=100)
    before = _evaluations(monitor)
    with pytest.raises(DistributedJobError, match=r"workers kept dying.*nothing was stored"):
        evaluate_frame_on_dask(monitor.store, monitor.settings, "fraud", frame, own_client)
    # allowed-failures 1: the task's worker died twice, then the job failed.
    assert len(os.listdir(tmp_path / "deaths")) == 2
    assert _evaluations(monitor) == before


def test_a_cluster_left_without_workers_fails_the_job_by_name_and_nothing_is_stored(
    monitor: Monitor, own_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scheduler holds tasks for a worker that may never come (no-workers-timeout is off by
    # default); the client gives up after NO_WORKERS_TIMEOUT instead of waiting without end.
    monkeypatch.setattr(partitioned, "NO_WORKERS_TIMEOUT", 1.0)
    monkeypatch.setattr(partitioned, "WORKER_POLL_SECONDS", 0.2)
    pattern = write_partitions(production(N_ROWS), tmp_path / "p", PARTITIONINGS["three equal"])
    own_client.cluster.scale(0)
    for _ in range(600):  # the workers close within a minute, or the test says so below
        if not own_client.nthreads():
            break
        time.sleep(0.1)
    assert not own_client.nthreads(), "the cluster's workers did not close within 60 s"
    before = _evaluations(monitor)
    address = own_client.scheduler.address
    with pytest.raises(
        DistributedJobError,
        match=rf"the cluster at {re.escape(address)} has had no workers for \d+ s; nothing was",
    ):
        evaluate_files_on_dask(monitor.store, monitor.settings, "fraud", pattern, own_client)
    assert _evaluations(monitor) == before


def test_a_scheduler_address_is_checked_and_an_unreachable_one_named() -> None:
    with (
        pytest.raises(InvalidInputError, match="dask: got 'nowhere'; expected a scheduler"),
        connect("nowhere"),
    ):
        pass
    with (
        pytest.raises(DistributedJobError, match=re.escape("tcp://127.0.0.1:1")),
        connect("tcp://127.0.0.1:1", timeout=1),
    ):
        pass


def _environment(names: list[str]) -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in names}


def test_workers_of_a_local_cluster_start_with_pinned_threads_and_a_padded_heap(
    client: Any,
) -> None:
    # Dask's default MALLOC_TRIM_THRESHOLD_ alone made every partition's fold 1.4x slower.
    names = [*PINNED_THREADS, *WORKER_MALLOC]
    seen = client.run(_environment, names)
    assert len(seen) == 2
    for environment in seen.values():
        assert environment == {**PINNED_THREADS, **WORKER_MALLOC}


def test_parts_travel_as_accumulators_whose_size_does_not_grow_with_rows(
    monitor: Monitor, client: Any, tmp_path: Path
) -> None:
    def parts(rows: int, name: str) -> WindowResult:
        frame = production(rows, seed=1)
        pattern = write_partitions(frame, tmp_path / name, [0, rows // 2, rows])
        return evaluate_files_on_dask(monitor.store, monitor.settings, "bounded", pattern, client)

    small, big = parts(4_000, "small"), parts(40_000, "big")
    # Two parts per pass, two passes: shop's 7 values overflow max_slice_values 3.
    assert big.n_rows == 10 * small.n_rows and len(big.part_bytes) == 4
    assert {r.mode for r in big.drift.features if r.feature == "amount"} == {"sketch"}
    # Ten times the rows per partition; the parts hold at most 256 bins per feature, not rows.
    assert max(big.part_bytes) < 2 * max(small.part_bytes)
    raw = production(20_000, seed=1).drop(columns=["event_id"]).memory_usage(deep=True).sum()
    assert max(big.part_bytes) < raw / 20
