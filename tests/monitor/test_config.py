"""The configuration model: YAML, environment overrides, and errors that give the key path."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from smote_monitor.cli.store import example_config_text
from smote_monitor.config import (
    ConfigError,
    DatasetConfig,
    Settings,
    SLOConfig,
    SQLSource,
    duration_seconds,
    load_settings,
    resolve_settings,
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smote-monitor.yaml"
    path.write_text(text)
    return path


def test_the_example_config_is_valid_and_has_the_slo_table_defaults(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, example_config_text()))
    fraud = settings.datasets["fraud"]
    assert (fraud.target, fraud.positive_class, fraud.slices) == (
        "is_fraud",
        1,
        ["region", "device"],
    )
    slo = fraud.slo
    assert (slo.minority_recall, slo.minority_precision, slo.minority_f1) == (0.80, 0.70, 0.75)
    assert (slo.validation_gap_max, slo.synthetic_ratio, slo.retrain_success) == (
        0.05,
        (0.1, 0.5),
        0.95,
    )
    assert fraud.production.kind == "push"


def test_the_example_configs_commented_drift_bounds_are_the_engine_defaults(
    tmp_path: Path,
) -> None:
    from smote_monitor.drift import ProfileSettings

    text = example_config_text().replace("    # drift: {", "    drift: {")
    assert "    drift: {" in text
    drift = load_settings(_write(tmp_path, text)).datasets["fraud"].drift
    assert drift.exact_cap is not None
    assert drift.profile_settings() == ProfileSettings()


def test_environment_overrides_file_including_nested_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "database_url: sqlite:///a.db\ndatasets:\n  fraud: {target: y}\n")
    monkeypatch.setenv("SMOTE_MONITOR_DATABASE_URL", "sqlite:///from-env.db")
    monkeypatch.setenv("SMOTE_MONITOR_DATASETS__FRAUD__SLO__MINORITY_RECALL", "0.9")
    settings = load_settings(path)
    assert settings.database_url == "sqlite:///from-env.db"
    assert settings.datasets["fraud"].slo.minority_recall == 0.9
    assert settings.datasets["fraud"].target == "y"


def test_an_environment_override_reaches_a_dataset_named_in_another_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Environment names are case-insensitive: the override arrives as dataset "fraud".
    path = _write(tmp_path, "datasets:\n  Fraud: {target: y}\n")
    monkeypatch.setenv("SMOTE_MONITOR_DATASETS__FRAUD__SLO__MINORITY_RECALL", "0.9")
    settings = load_settings(path)
    assert list(settings.datasets) == ["Fraud"]
    assert settings.datasets["Fraud"].slo.minority_recall == 0.9
    assert settings.datasets["Fraud"].target == "y"


def test_an_environment_override_matching_two_datasets_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "datasets:\n  Fraud: {target: y}\n  FRAUD: {target: z}\n")
    monkeypatch.setenv("SMOTE_MONITOR_DATASETS__FRAUD__TARGET", "w")
    with pytest.raises(
        ConfigError,
        match=r"SMOTE_MONITOR_DATASETS__FRAUD__\*: got dataset 'fraud'; expected one dataset of "
        r"the config, but 'Fraud' and 'FRAUD' differ only in case",
    ):
        load_settings(path)


def test_an_explicit_url_is_not_redirected_by_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMOTE_MONITOR_DATABASE_URL", "sqlite:///from-env.db")
    assert (
        resolve_settings(database_url="sqlite:///explicit.db", discover=False).database_url
        == "sqlite:///explicit.db"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("listen: 9464\n", "listen: got 9464; expected a valid string"),
        (
            "listen: localhost\n",
            "listen: expected host:port with a port in 1-65535; got 'localhost'",
        ),
        ("database_url: smote.db\n", "expected an SQLAlchemy URL"),
        ("datasets:\n  'a b': {}\n", "dataset name 'a b': expected 1-64 characters"),
        (
            "datasets:\n  fraud: {slo: {minority_recall: 1.5}}\n",
            "datasets.fraud.slo.minority_recall: got 1.5; expected less than or equal to 1",
        ),
        (
            "datasets:\n  fraud: {slo: {synthetic_ratio: [0.6, 0.2]}}\n",
            "datasets.fraud.slo.synthetic_ratio: expected [low, high] with low <= high",
        ),
        (
            "datasets:\n  fraud: {evaluate_every: soon}\n",
            "datasets.fraud.evaluate_every: expected a positive duration like 30s, 5m, 1h, 7d; "
            "got 'soon'",
        ),
        (
            "datasets:\n  fraud: {production: {kind: kafka}}\n",
            "datasets.fraud.production.kind: got 'kafka'; expected one of 'sql', 'files', 'push'",
        ),
        (
            "datasets:\n  fraud: {drift: {exact_cap: 10}}\n",
            "datasets.fraud.drift.exact_cap: got 10; expected an int >= 1000",
        ),
        (
            "datasets:\n  fraud: {drift: {max_bins: 4}}\n",
            "datasets.fraud.drift.max_bins: got 4; expected an int >= 16",
        ),
        (
            "datasets:\n  fraud: {drift: {bins: 4}}\n",
            "datasets.fraud.drift.bins: got 4; expected ",
        ),
        ("- a list\n", "got a list at the top level; expected a mapping"),
        ("a: [unclosed\n", "is not valid YAML"),
    ],
)
def test_bad_config_names_the_key_the_value_and_the_expectation(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_write(tmp_path, text))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "path", "model"),
    [
        ("colour: red\n", "colour", Settings),
        ("datasets:\n  fraud: {colour: red}\n", "datasets.fraud.colour", DatasetConfig),
        ("datasets:\n  fraud: {slo: {colour: red}}\n", "datasets.fraud.slo.colour", SLOConfig),
        (
            "datasets:\n  fraud: {production: {kind: sql, url: u, table: t, colour: red}}\n",
            "datasets.fraud.production.sql.colour",
            SQLSource,
        ),
    ],
)
def test_an_unknown_key_is_named_with_the_keys_known_there(
    tmp_path: Path, text: str, path: str, model: type[BaseModel]
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_write(tmp_path, text))
    known = ", ".join(model.model_fields)
    assert f"{path}: got 'red'; expected a known key ({known})" in str(info.value)


def test_drift_profile_settings_come_from_the_config_or_the_engine_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smote_monitor.drift import ProfileSettings

    path = _write(tmp_path, "datasets:\n  fraud: {drift: {exact_cap: 5000}}\n  churn: {}\n")
    monkeypatch.setenv("SMOTE_MONITOR_DATASETS__FRAUD__DRIFT__RESOLUTION", "200")
    settings = load_settings(path)
    assert settings.dataset("fraud").drift.profile_settings() == ProfileSettings(
        exact_cap=5000, resolution=200
    )
    assert settings.dataset("churn").drift.profile_settings() == ProfileSettings()


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml' does not exist"):
        load_settings(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("7d", 604800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds
