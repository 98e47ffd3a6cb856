"""The configuration model: the YAML of DESIGN.md, validated, every key overridable from the env.

Precedence, highest first: environment variables ``SMOTE_MONITOR_<KEY>`` (nested keys joined by
``__``, e.g. ``SMOTE_MONITOR_DATASETS__FRAUD__SLO__MINORITY_RECALL=0.85``), then the YAML file,
then the defaults below. A bad value raises :class:`ConfigError` whose message gives the key path,
the value and what was expected.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from smote_monitor.conventions import DEFAULT_MAX_SERIES
from smote_monitor.errors import InvalidInputError, SmoteMonitorError
from smote_monitor.slices.limits import (
    DEFAULT_MAX_SLICE_VALUES,
    DEFAULT_MIN_SLICE_SUPPORT,
    MAX_SLICE_VALUES_RANGE,
    check_min_slice_support,
)

if TYPE_CHECKING:  # the drift engine pulls in scipy.stats: keep it off the CLI's start-up path
    from smote_monitor.drift import ProfileSettings

ENV_PREFIX = "SMOTE_MONITOR_"
CONFIG_ENV = f"{ENV_PREFIX}CONFIG"
DEFAULT_CONFIG_PATH = Path("smote-monitor.yaml")
DEFAULT_DATABASE_URL = "sqlite:///smote-monitor.db"
DATABASE_URL_EXPECTED = (
    f"an SQLAlchemy URL of a supported backend, such as {DEFAULT_DATABASE_URL} or "
    "postgresql+psycopg://user@host/db"
)
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
DEFAULT_LISTEN = "127.0.0.1:9464"
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 30.0

DATASET_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DATASET_NAME_EXPECTED = (
    "1-64 characters: letters, digits, '_', '.', '-', starting with a letter or digit"
)

_DURATION = re.compile(r"^(\d+)(s|m|h|d|w)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> int:
    """Seconds in a duration such as ``"30s"``, ``"5m"``, ``"1h"``, ``"7d"``."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"expected a positive duration like 30s, 5m, 1h, 7d; got {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def stale_after_seconds(evaluate_every: str) -> int:
    """When a dataset's evaluation is stale: no successful evaluation for three evaluation
    periods, and at least 15 minutes (the ``SmoteProductionDataStale`` alert and the status
    page both read this)."""
    return max(3 * duration_seconds(evaluate_every), 900)


def _check_duration(text: str) -> str:
    duration_seconds(text)
    return text


Duration = Annotated[str, AfterValidator(_check_duration)]


def check_database_url(url: Any) -> str:
    """The one check of a store URL, for the config, ``--database-url`` and ``Store(url)``.

    Raises
    ------
    InvalidInputError
        Not text, not an SQLAlchemy URL, or a backend smote-monitor does not support.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not isinstance(url, str):
        raise InvalidInputError("database_url", url, DATABASE_URL_EXPECTED)
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise InvalidInputError("database_url", url, DATABASE_URL_EXPECTED) from None
    if backend not in SUPPORTED_BACKENDS:
        raise InvalidInputError("database_url", url, DATABASE_URL_EXPECTED)
    return url


def _database_url(url: str) -> str:
    try:
        return check_database_url(url)
    except InvalidInputError as exc:
        raise ValueError(f"got {url!r}; expected {exc.expected}") from None


Ratio = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SLOConfig(_Strict):
    """Service-level objectives of one dataset; the release gate and the alerts read them."""

    minority_recall: Ratio = 0.80
    minority_precision: Ratio = 0.70
    minority_f1: Ratio = 0.75
    validation_gap_max: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = 0.05
    synthetic_ratio: tuple[Ratio, Ratio] = (0.1, 0.5)
    retrain_success: Ratio = 0.95
    min_slice_support: int = DEFAULT_MIN_SLICE_SUPPORT

    @field_validator("min_slice_support")
    @classmethod
    def _support(cls, value: int) -> int:
        # The engine's own check, so config and engine share one bound and one message.
        try:
            return check_min_slice_support(value, "min_slice_support")
        except InvalidInputError as exc:
            raise ValueError(f"got {value!r}; expected {exc.expected}") from None

    @field_validator("synthetic_ratio")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] > value[1]:
            raise ValueError(f"expected [low, high] with low <= high; got {list(value)}")
        return value


class DriftConfig(_Strict):
    """Memory bounds of the dataset's drift profiles (reference runs and production windows).

    A key left out takes the engine's default (:class:`smote_monitor.drift.ProfileSettings`,
    which also owns the bounds checked here).
    """

    # Distinct numeric values kept exactly per feature; beyond it, a mergeable histogram.
    exact_cap: int | None = None
    # Histogram bins are at most std / resolution wide.
    resolution: int | None = None
    # Occupied histogram bins per feature; more coarsen the grid by powers of two.
    max_bins: int | None = None

    @field_validator("exact_cap", "resolution", "max_bins")
    @classmethod
    def _engine_bounds(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return value
        # Imported only when a bound is configured, so a plain config loads without scipy.
        from smote_monitor.drift import ProfileSettings

        try:
            ProfileSettings(**{str(info.field_name): value})
        except InvalidInputError as exc:
            raise ValueError(f"got {value!r}; expected {exc.expected}") from None
        return value

    def profile_settings(self) -> ProfileSettings:
        """The engine's settings: the configured keys over its defaults."""
        from smote_monitor.drift import ProfileSettings

        return ProfileSettings(**self.model_dump(exclude_none=True))


class SQLSource(_Strict):
    kind: Literal["sql"]
    url: str
    table: str
    labels_table: str | None = None


class FilesSource(_Strict):
    kind: Literal["files"]
    path: str


class PushSource(_Strict):
    kind: Literal["push"] = "push"


ProductionSource = Annotated[SQLSource | FilesSource | PushSource, Field(discriminator="kind")]


class DatasetConfig(_Strict):
    """How to read one model's data, and what it must achieve."""

    target: str = "label"
    positive_class: int | str = 1
    prediction: str = "prediction"
    id_column: str | None = None
    timestamp_column: str | None = None
    slices: list[str] = Field(default_factory=list)
    features: list[str] | None = None
    categorical: list[str] = Field(default_factory=list)
    production: ProductionSource = Field(default_factory=PushSource)
    evaluate_every: Duration = "5m"
    windows: list[Duration] = Field(default_factory=lambda: ["1h", "24h"])
    # Width of the time buckets rolling windows are merged from; each window is a multiple.
    window_bucket: Duration = "5m"
    # How long a prediction waits for its label (choose it longer than the labelling delay).
    label_lookback: Duration = "7d"
    # Distinct values per slice column with a series of their own; more fold into "(other)". The
    # most common training values of a profiled categorical slice column, else first come.
    max_slice_values: Annotated[
        int, Field(ge=MAX_SLICE_VALUES_RANGE[0], le=MAX_SLICE_VALUES_RANGE[1])
    ] = DEFAULT_MAX_SLICE_VALUES
    drift: DriftConfig = Field(default_factory=DriftConfig)
    slo: SLOConfig = Field(default_factory=SLOConfig)
    # Burn-rate alerts on minority recall: "seed" pages at 2x the budget over 1h (5m confirms)
    # and tickets at 1x over 1d (2h confirms); "multiwindow" is the 14.4x/6x/3x/1x set.
    burn_rate_policy: Literal["seed", "multiwindow"] = "seed"

    @model_validator(mode="after")
    def _windows_cover_whole_buckets(self) -> DatasetConfig:
        width = duration_seconds(self.window_bucket)
        for window in self.windows:
            if duration_seconds(window) % width:
                raise ValueError(
                    f"windows: got {window!r}; expected a multiple of window_bucket "
                    f"({self.window_bucket}), so a window is a whole number of buckets"
                )
        if len(set(self.windows)) != len(self.windows) or not self.windows:
            raise ValueError(f"windows: got {self.windows!r}; expected distinct durations")
        return self


def _check_listen(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port with a port in 1-65535; got {value!r}")
    return value


class Settings(BaseSettings):
    """The whole configuration of one smote-monitor deployment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    database_url: Annotated[str, AfterValidator(_database_url)] = DEFAULT_DATABASE_URL
    listen: Annotated[str, AfterValidator(_check_listen)] = DEFAULT_LISTEN
    auth_token_env: str = "SMOTE_MONITOR_TOKEN"
    # Largest HTTP request body `serve` accepts (bytes); larger ones get 413 unread.
    max_body_bytes: Annotated[int, Field(gt=0)] = DEFAULT_MAX_BODY_BYTES
    # How long `serve` waits, on SIGTERM, for a running evaluation (seconds).
    shutdown_timeout: Annotated[float, Field(gt=0, allow_inf_nan=False)] = (
        DEFAULT_SHUTDOWN_TIMEOUT_SECONDS
    )
    spool_dir: Path = Path("smote-monitor-spool")
    strict: bool = False
    # Series one /metrics scrape exports at most; beyond it the lowest-priority series (feature
    # drift, then slice SLIs) are left out and counted in smote_monitor_series_dropped_total.
    max_series: Annotated[int, Field(ge=1)] = DEFAULT_MAX_SERIES
    datasets: dict[str, DatasetConfig] = Field(default_factory=dict)

    @field_validator("datasets")
    @classmethod
    def _dataset_names(cls, value: dict[str, DatasetConfig]) -> dict[str, DatasetConfig]:
        for name in value:
            if not DATASET_NAME_PATTERN.match(name):
                raise ValueError(f"dataset name {name!r}: expected {DATASET_NAME_EXPECTED}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; the environment must win over them.
        return (_EnvDatasetsMatched(settings_cls, env_settings, init_settings), init_settings)

    def dataset(self, name: str) -> DatasetConfig:
        """The dataset's config, or the defaults for a dataset the file does not list."""
        return self.datasets.get(name) or DatasetConfig()

    def recorded_dataset(self, name: str) -> DatasetConfig:
        """The config of a dataset a run is recorded for.

        A config that lists datasets lists every one it monitors: a run for another one is a
        typo or the wrong config, refused rather than kept where no SLO, dashboard or alert
        looks. A config that lists none takes any dataset, with the default SLOs.
        """
        if self.datasets and name not in self.datasets:
            raise InvalidInputError(
                "dataset",
                name,
                f"a dataset the config lists ({', '.join(sorted(self.datasets))}); add it under "
                "`datasets:` to record its runs",
            )
        return self.dataset(name)

    @property
    def auth_token(self) -> str | None:
        return os.environ.get(self.auth_token_env) or None


class ConfigError(SmoteMonitorError, ValueError):
    """The configuration (file, environment or arguments) is invalid."""


class _EnvDatasetsMatched(PydanticBaseSettingsSource):
    """The environment, with its dataset names matched to the file's regardless of case.

    Environment variable names are case-insensitive, so ``SMOTE_MONITOR_DATASETS__FRAUD__…``
    arrives as dataset ``fraud``; it must override the file's ``Fraud``, not add a dataset.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        env: PydanticBaseSettingsSource,
        file: PydanticBaseSettingsSource,
    ) -> None:
        super().__init__(settings_cls)
        self._env, self._file = env, file

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ does the work

    def __call__(self) -> dict[str, Any]:
        data = self._env()
        overrides, named = data.get("datasets"), self._file().get("datasets")
        if isinstance(overrides, dict) and isinstance(named, dict):
            data["datasets"] = {_dataset_named(name, named): v for name, v in overrides.items()}
        return data


def _dataset_named(name: str, named: dict[str, Any]) -> str:
    if name in named:
        return name
    same = [other for other in named if other.casefold() == name.casefold()]
    if len(same) > 1:
        raise ConfigError(
            f"{ENV_PREFIX}DATASETS__{name.upper()}__*: got dataset {name!r}; expected one dataset "
            f"of the config, but {' and '.join(map(repr, same))} differ only in case (environment "
            "names ignore case): rename one of them"
        )
    return same[0] if same else name


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The config model at a key path (``("datasets", "fraud", "slo")`` → SLOConfig), so that
    an unknown key's message lists the keys known there."""
    node: Any = Settings
    for part in loc:
        node = _unwrap(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            if field is None:
                return None
            node = field.annotation
        elif get_origin(node) is dict:  # part is a key of the mapping, e.g. a dataset name
            node = get_args(node)[1]
        elif get_origin(node) in (Union, UnionType):  # a tagged union: part is the tag
            tagged = [m for m in get_args(node) if part in _literal_values(m)]
            if len(tagged) != 1:
                return None
            node = tagged[0]
        else:
            return None
    node = _unwrap(node)
    return node if isinstance(node, type) and issubclass(node, BaseModel) else None


def _unwrap(node: Any) -> Any:
    """Strip Annotated[...] and Optional[...] down to the type inside."""
    while True:
        if get_origin(node) is Annotated:
            node = get_args(node)[0]
        elif get_origin(node) in (Union, UnionType):
            members = [m for m in get_args(node) if m is not type(None)]
            if len(members) != 1:
                return node
            node = members[0]
        else:
            return node


def _literal_values(model: Any) -> set[Any]:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return set()
    return {
        value
        for field in model.model_fields.values()
        if get_origin(field.annotation) is Literal
        for value in get_args(field.annotation)
    }


def _format_errors(error: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "union_tag_invalid":
            ctx = item.get("ctx", {})
            lines.append(
                f"  {path}.{ctx.get('discriminator', 'kind').strip(chr(39))}: got "
                f"{ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
            )
            continue
        if item["type"] == "extra_forbidden":
            model = _model_at(item["loc"][:-1])
            known = f" ({', '.join(model.model_fields)})" if model is not None else ""
            lines.append(f"  {path}: got {item.get('input')!r}; expected a known key{known}")
            continue
        if message.startswith("Value error, "):  # our validators already say value and expectation
            lines.append(f"  {path}: {message.removeprefix('Value error, ')}")
            continue
        value = item.get("input")
        shown = repr(value) if not isinstance(value, dict) else "a mapping"
        expected = message.removeprefix("Input should be ")
        lines.append(f"  {path}: got {shown}; expected {expected}")
    return "\n".join(lines)


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read, merge and validate the configuration.

    Parameters
    ----------
    path : path-like, optional
        YAML file. Without it, only the environment and the defaults apply.
    **overrides
        Values that win over the file (the environment still wins over both).
    """
    data: dict[str, Any] = {}
    source = "environment/defaults"
    if path is not None:
        source = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {source!r} does not exist") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {source!r} is not valid YAML: {exc}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(
                f"config file {source!r}: got a {type(loaded).__name__} at the top level; "
                "expected a mapping of keys such as database_url, datasets"
            )
        data.update(loaded)
    data.update(overrides)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None


def resolve_settings(
    config_path: str | os.PathLike[str] | None = None,
    *,
    database_url: str | None = None,
    discover: bool = True,
) -> Settings:
    """The settings every command and ``Monitor`` use: one path for all of them.

    The file is ``config_path`` when given, else (with ``discover``) ``./smote-monitor.yaml``
    when it exists, else none (environment and defaults only). An explicit ``database_url``
    (``--database-url``, ``Monitor.from_url``) wins over the file and the environment: a URL the
    caller named is the store it meant.
    """
    path = config_path
    if path is None and discover and DEFAULT_CONFIG_PATH.is_file():
        path = DEFAULT_CONFIG_PATH
    settings = load_settings(path)
    if database_url is not None:
        try:
            checked = check_database_url(database_url)
        except InvalidInputError as exc:
            raise ConfigError(str(exc)) from None
        settings = settings.model_copy(update={"database_url": checked})
    return settings
