"""``smote-monitor evaluate -p FILES --dask SCHEDULER`` in a subprocess, as a user runs it;
and Dask stays out of every process that does not ask for it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smote_monitor import Monitor
from tests.monitor.cli_helpers import run_cli

from .data import CONFIG, production, record_runs, write_labels, write_partitions


@pytest.fixture
def configured(sqlite_url: str, tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "smote-monitor.yaml"
    path.write_text(CONFIG.format(url=sqlite_url, spool=tmp_path / "spool"))
    record_runs(Monitor.from_config(path))
    pattern = write_partitions(production(6000), tmp_path / "p", [0, 1000, 1000, 6000])
    return path, pattern


def _evaluate(config: Path, pattern: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "--config", str(config), "evaluate", "-d", "fraud", "-p", pattern, *args,
        cwd=config.parent,
    )  # fmt: skip


def _values(output: dict[str, Any]) -> dict[str, Any]:
    ignored = {"evaluation_id", "engine", "partitions"}
    return {k: v for k, v in output.items() if k not in ignored}


def test_evaluate_on_an_existing_cluster_prints_and_stores_what_evaluate_does(
    configured: tuple[Path, str], cluster: Any
) -> None:
    config, pattern = configured
    one = _evaluate(config, pattern, "--json")
    on_dask = _evaluate(config, pattern, "--json", "--dask", cluster.scheduler_address)
    assert one.returncode == 0, one.stderr
    assert on_dask.returncode == 0, on_dask.stderr
    mine, theirs = json.loads(one.stdout), json.loads(on_dask.stdout)
    assert _values(theirs) == _values(mine)
    assert (theirs["engine"], theirs["partitions"]) == ("dask", 3)
    assert (mine["engine"], mine["partitions"]) == ("local", None)
    assert theirs["evaluation_id"] == mine["evaluation_id"] + 1
    table = _evaluate(config, pattern, "--dask", cluster.scheduler_address)
    assert table.returncode == 0, table.stderr
    assert "on Dask, 3 partitions" in table.stdout


@pytest.mark.slow
def test_evaluate_on_a_local_cluster(configured: tuple[Path, str]) -> None:
    config, pattern = configured
    one = _evaluate(config, pattern, "--json")
    on_dask = _evaluate(config, pattern, "--json", "--dask", "local")
    assert on_dask.returncode == 0, on_dask.stderr
    assert _values(json.loads(on_dask.stdout)) == _values(json.loads(one.stdout))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dask", "nowhere"], "dask: got 'nowhere'; expected a scheduler address"),
    ],
)
def test_bad_dask_options_exit_2_naming_them_and_store_nothing(
    configured: tuple[Path, str], args: list[str], message: str
) -> None:
    config, pattern = configured
    before = sorted(p.name for p in config.parent.iterdir())
    done = _evaluate(config, pattern, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert sorted(p.name for p in config.parent.iterdir()) == before


def _evaluations(config: Path) -> int:
    from sqlalchemy import func, select

    from smote_monitor.store.models import Evaluation

    with Monitor.from_config(config).store.read() as session:
        return int(session.scalar(select(func.count()).select_from(Evaluation)) or 0)


def test_labels_on_a_cluster_print_and_store_what_evaluate_with_labels_does(
    configured: tuple[Path, str], cluster: Any
) -> None:
    config, pattern = configured
    labels = str(write_labels(production(6000), config.parent / "labels.csv"))
    one = _evaluate(config, pattern, "--labels", labels, "--json")
    on_dask = _evaluate(
        config, pattern, "--labels", labels, "--json", "--dask", cluster.scheduler_address
    )
    assert one.returncode == 0, one.stderr
    assert on_dask.returncode == 0, on_dask.stderr
    mine, theirs = json.loads(one.stdout), json.loads(on_dask.stdout)
    assert _values(theirs) == _values(mine)
    assert (theirs["engine"], theirs["partitions"]) == ("dask", 3)
    without = json.loads(_evaluate(config, pattern, "--json").stdout)
    assert without["n_labeled"] != theirs["n_labeled"]  # the labels file's labels were scored


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("event_id", "labels.is_fraud"),  # no target column
        ("is_fraud", "labels.event_id"),  # no id column
    ],
)
def test_a_bad_labels_file_fails_as_without_dask_and_stores_nothing(
    configured: tuple[Path, str], cluster: Any, columns: str, message: str
) -> None:
    config, pattern = configured
    labels = config.parent / "labels.csv"
    labels.write_text(f"{columns}\n1\n2\n")
    before = _evaluations(config)
    one = _evaluate(config, pattern, "--labels", str(labels))
    on_dask = _evaluate(
        config, pattern, "--labels", str(labels), "--dask", cluster.scheduler_address
    )
    assert (one.returncode, on_dask.returncode) == (2, 2)
    assert message in on_dask.stderr
    assert on_dask.stderr == one.stderr
    assert _evaluations(config) == before


def test_a_file_lacking_the_id_column_fails_naming_it_as_without_dask(
    configured: tuple[Path, str], cluster: Any
) -> None:
    config, pattern = configured
    frame = production(6000)
    labels = str(write_labels(frame, config.parent / "labels.csv"))
    broken = Path(pattern).parent / "part-002.parquet"
    frame.iloc[1000:].drop(columns=["event_id"]).to_parquet(broken, index=False)
    before = _evaluations(config)
    one = _evaluate(config, pattern, "--labels", labels)
    on_dask = _evaluate(config, pattern, "--labels", labels, "--dask", cluster.scheduler_address)
    assert (one.returncode, on_dask.returncode) == (2, 2)
    # The value is cut to its start: the file's name is at its end.
    assert "production.event_id: got '" in on_dask.stderr and "part-002.par" in on_dask.stderr
    assert on_dask.stderr == one.stderr
    assert _evaluations(config) == before


def test_dask_without_production_files_is_refused(configured: tuple[Path, str]) -> None:
    config, _ = configured
    done = run_cli(
        "--config", str(config), "evaluate", "-d", "fraud", "--dask", "local", cwd=config.parent
    )
    assert done.returncode == 2
    assert "dask: got 'local'; expected --production files" in done.stderr


@pytest.mark.parametrize(
    "code",
    [
        "import smote_monitor.cli",
        "import smote_monitor, smote_monitor.evaluation.window, smote_monitor.drift.reference",
        # the CLI's start-up as `smote-monitor --help` runs it
        "import sys; from smote_monitor.cli import main; sys.argv = ['smote-monitor', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass",
    ],
)
def test_nothing_but_the_dask_path_imports_dask(code: str) -> None:
    check = "\nimport sys; print(sorted(m for m in sys.modules if m.split('.')[0] in "
    check += "('dask', 'distributed')))"
    done = subprocess.run(
        [sys.executable, "-c", code + check],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
