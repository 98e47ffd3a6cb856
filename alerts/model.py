"""The plain model the rule generator reads: what each dataset must achieve, nothing else.

Built from validated :class:`~smote_monitor.config.Settings` (the spec); the generators never see
the config classes, so their inputs are easy to build in tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.burnrate import BurnRateAlert, Policy, burn_rate_alerts
from smote_monitor.config import DatasetConfig, Settings, duration_seconds, stale_after_seconds

DEFAULT_RUNBOOK_BASE_URL = "alerts/runbooks"
"""Where runbook_url points by default: the runbooks' path relative to the repository root."""

# Thresholds that have no SLO key of their own (documented in each alert's runbook).
NEAR_DUPLICATE_RATIO_MAX = 0.05
"""Share of synthetic rows that are near-copies of a real row above which privacy is at risk."""
RESOURCE_SPIKE_FACTOR = 2.0
"""A run's duration or peak memory above this multiple of the median of the last 7 days."""
RESOURCE_HISTORY = "7d"
RUN_DURATION_FLOOR_SECONDS = 60.0
"""Runs shorter than this never count as a duration spike (noise of small jobs)."""
RUN_MEMORY_FLOOR_BYTES = 256 * 1024 * 1024
"""Runs using less than this never count as a memory spike."""
FALSE_POSITIVE_RISE_FACTOR = 2.0
"""The 1h false positive rate above this multiple of the 1d rate is a rise."""
RETRAIN_SUCCESS_WINDOW = "7d"
SYNTHETIC_SHIFT_WINDOW = "1d"
"""How long a change of the synthetic ratio between consecutive runs keeps its alert firing."""
SYNTHETIC_SHIFT_MIN = 0.01
MIN_SCALED_SECONDS = 10
"""The shortest range or ``for:`` a time-scaled model emits: rate() needs a few scrapes in its
range (the tests that scale the rules scrape every second), and a ``for:`` must outlast a fresh
Prometheus's wait before its first scrape (about 5 s, during which ``absent()`` of every series is
true): at 5 s, SmoteMonitorDown paged at the start of the end-to-end test now and then."""


@dataclass(frozen=True, slots=True)
class DatasetAlerts:
    """One dataset's objectives and alerting choices."""

    name: str
    minority_recall: float
    minority_precision: float
    validation_gap_max: float
    synthetic_ratio: tuple[float, float]
    retrain_success: float
    min_slice_support: int
    burn_rate_policy: Policy
    burn_rates: tuple[BurnRateAlert, ...]
    evaluate_every: str
    shortest_window: str

    @property
    def synthetic_shift_max(self) -> float:
        """A change of the synthetic ratio between consecutive runs larger than a quarter of the
        allowed range (0.1 for [0.1, 0.5]) is a shift."""
        low, high = self.synthetic_ratio
        return round(max((high - low) / 4, SYNTHETIC_SHIFT_MIN), 6)

    @property
    def stale_after_seconds(self) -> int:
        """See :func:`smote_monitor.config.stale_after_seconds`."""
        return stale_after_seconds(self.evaluate_every)


@dataclass(frozen=True, slots=True)
class AlertModel:
    datasets: tuple[DatasetAlerts, ...]
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL
    time_scale: float = 1.0
    """Factor on every range, offset, ``for:`` and age threshold of the rules; 1 writes them as
    designed. Below 1 only for tests and demos that must see alerts fire within seconds (1/180
    maps 1h to 20s; nothing goes under :data:`MIN_SCALED_SECONDS`). Recording-rule names and the
    window labels keep the nominal windows, so queries of the real rules work on scaled ones."""

    def __post_init__(self) -> None:
        if not 0.0 < self.time_scale <= 1.0:
            raise ValueError(f"time_scale: got {self.time_scale!r}; expected 0 < scale <= 1")

    def runbook_url(self, alert: str) -> str:
        return f"{self.runbook_base_url.rstrip('/')}/{alert}.md"

    def seconds(self, duration: str | int) -> int:
        """Seconds of ``duration`` (text like 1h, or seconds) under :attr:`time_scale`."""
        nominal = duration if isinstance(duration, int) else duration_seconds(duration)
        if self.time_scale == 1.0:
            return nominal
        return max(round(nominal * self.time_scale), MIN_SCALED_SECONDS)

    def span(self, duration: str) -> str:
        """``duration`` as the rules write it: unchanged at scale 1, else in seconds (20s)."""
        return duration if self.time_scale == 1.0 else f"{self.seconds(duration)}s"


def dataset_alerts(name: str, config: DatasetConfig) -> DatasetAlerts:
    slo = config.slo
    return DatasetAlerts(
        name=name,
        minority_recall=slo.minority_recall,
        minority_precision=slo.minority_precision,
        validation_gap_max=slo.validation_gap_max,
        synthetic_ratio=slo.synthetic_ratio,
        retrain_success=slo.retrain_success,
        min_slice_support=slo.min_slice_support,
        burn_rate_policy=config.burn_rate_policy,
        burn_rates=burn_rate_alerts(slo.minority_recall, config.burn_rate_policy),
        evaluate_every=config.evaluate_every,
        shortest_window=min(config.windows, key=duration_seconds, default="1h"),
    )


def build_model(
    settings: Settings,
    *,
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL,
    time_scale: float = 1.0,
) -> AlertModel:
    """The alert model of every dataset the settings list, in name order (``time_scale``: see
    :attr:`AlertModel.time_scale`)."""
    return AlertModel(
        datasets=tuple(
            dataset_alerts(name, settings.datasets[name]) for name in sorted(settings.datasets)
        ),
        runbook_base_url=runbook_base_url,
        time_scale=time_scale,
    )
