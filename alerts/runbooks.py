"""One runbook page (markdown) per alert: what it means, what to check first, how to mitigate,
when to escalate. Pure: alert name in, text out; the writer stamps and stores the pages."""

from __future__ import annotations

from dataclasses import dataclass

from smote_monitor import conventions as c

SERVER = "http://127.0.0.1:9464"  # the daemon's default listen address (config key ``listen``)


@dataclass(frozen=True, slots=True)
class Runbook:
    meaning: str
    checks: tuple[str, ...]
    mitigation: tuple[str, ...]
    escalation: str


def _confusion_query() -> str:
    counters = c.SLICE_PREDICTIONS.sample_name
    return (
        f'`sum by (slice, outcome) (increase({counters}{{dataset="DATASET"}}[1h]))` '
        "in Prometheus: the per-slice confusion counts (tp, fp, tn, fn) of the last hour"
    )


def _drift_query() -> str:
    return (
        f'`{c.FEATURE_DRIFT_SCORE.sample_name}{{dataset="DATASET"}}` and '
        f'`{c.FEATURE_DRIFT_DETECTED.sample_name}{{dataset="DATASET"}} == 1`: drift per feature'
    )


RUNS_LIST = "`smote-monitor runs list -d DATASET` — the latest runs, their outcome and gate"
RUNS_SHOW = (
    "`smote-monitor runs show ID` — the run's variant, k, sampling strategy, seed, class counts "
    "before/after, synthetic ratio, validation metrics and gap, leakage verdict"
)
REPORT_RUN = (
    "`smote-monitor report --run ID` (or `GET /api/v1/runs/{id}/report`) — how far SMOTE moved "
    "each feature, real vs augmented training data"
)
REPORT_PRODUCTION = (
    "`smote-monitor report -d DATASET --production PATH` — production rows vs the reference run"
)
STATUS = (
    f"`curl -s {SERVER}/api/v1/datasets/DATASET/status` — the dataset's latest run, windows, "
    "SLIs per slice and drift"
)
RUN_INFO = (
    f'`{c.RUN_INFO.sample_name}{{dataset="DATASET"}}` — the id and variant of the latest '
    "finished run"
)

ROLL_BACK = (
    "Roll back the model: redeploy the previous model version whose run passed its gate "
    "(`smote-monitor runs list -d DATASET` shows which)."
)
PAUSE_AUGMENTATION = (
    "Pause augmentation: retrain without the SMOTE step, or with a smaller sampling_strategy / "
    "k_neighbors, and compare the validation gap."
)
SILENCE = (
    "If the cause is known and being fixed, silence the alert for the dataset: "
    "`amtool silence add alertname=ALERT dataset=DATASET --duration=4h --comment=...`."
)

ESCALATE_MODEL = (
    "Escalate to the model owner (the team that trains DATASET) when the page persists 30 "
    "minutes after a rollback, or when no earlier model passed its gate."
)
ESCALATE_PIPELINE = (
    "Escalate to the training-pipeline owner when two consecutive runs show it; this is a "
    "ticket, handled in working hours."
)
ESCALATE_PLATFORM = (
    "Escalate to the platform on-call (who runs smote-monitor, its store and Prometheus) when "
    "the daemon does not come back within 15 minutes."
)

RUNBOOKS: dict[str, Runbook] = {
    c.ALERT_MINORITY_RECALL_BUDGET_BURN: Runbook(
        "Production minority recall (tp / (tp + fn) of labelled predictions) of a slice is "
        "spending its error budget faster than the policy allows: the model misses rare "
        "positives (fraud, churn, defects) it used to catch. A page means the burn is fast "
        "enough to spend the month's budget in days; a ticket means a slow, sustained burn. "
        "Only slices with at least min_slice_support minority events in the window alert.",
        (
            _confusion_query(),
            RUN_INFO,
            RUNS_LIST,
            RUNS_SHOW + " — did a new run land just before the burn started?",
            _drift_query(),
            STATUS,
            REPORT_PRODUCTION,
        ),
        (ROLL_BACK, PAUSE_AUGMENTATION, SILENCE),
        ESCALATE_MODEL,
    ),
    c.ALERT_SLICE_RECALL_BELOW_SLO: Runbook(
        "Over a configured window, even the upper bound of the 95 % Wilson interval of a "
        "slice's minority recall is below the objective, with enough labelled minority rows: "
        "the slice is statistically below target, not just unlucky.",
        (
            _confusion_query(),
            STATUS,
            RUNS_SHOW + " — the slice's share of minority rows in training",
            _drift_query(),
        ),
        (
            ROLL_BACK,
            "Oversample the slice's minority rows (a per-slice sampling strategy) in the next run.",
            SILENCE,
        ),
        ESCALATE_PIPELINE,
    ),
    c.ALERT_MINORITY_PRECISION_BELOW_SLO: Runbook(
        "Minority precision (tp / (tp + fp)) of a slice is below its objective: the model "
        "raises too many false alarms. SMOTE that generates synthetic minority rows inside "
        "majority regions does this.",
        (_confusion_query(), RUNS_SHOW, REPORT_RUN, _drift_query()),
        (
            ROLL_BACK,
            PAUSE_AUGMENTATION + " Borderline-SMOTE or SMOTE-Tomek keep synthetic rows off the "
            "majority region.",
        ),
        ESCALATE_PIPELINE,
    ),
    c.ALERT_FALSE_POSITIVE_RATE_RISING: Runbook(
        "The false positive rate (fp / (fp + tn)) of a slice over the last hour is more than "
        "twice its rate over the last day, with enough false positives to be sure.",
        (_confusion_query(), _drift_query(), RUNS_LIST, STATUS),
        (ROLL_BACK, SILENCE),
        ESCALATE_PIPELINE,
    ),
    c.ALERT_VALIDATION_GAP_HIGH: Runbook(
        "The latest run's train minority F1 exceeds its validation minority F1 by more than "
        "validation_gap_max: the model memorised the (synthetic) minority rows.",
        (RUNS_SHOW, REPORT_RUN, RUNS_LIST + " — did the gap grow over the last runs?"),
        (
            "Do not release the model (the gate normally blocks it).",
            PAUSE_AUGMENTATION,
        ),
        ESCALATE_PIPELINE,
    ),
    c.ALERT_SYNTHETIC_RATIO_OUT_OF_RANGE: Runbook(
        "The latest run's synthetic ratio (synthetic rows / rows of the augmented training set) "
        "is outside the configured range: too little augmentation to help, or so much that the "
        "model learns SMOTE's interpolations rather than real data.",
        (RUNS_SHOW + " — class counts before/after, sampling strategy", RUNS_LIST),
        ("Fix the sampling strategy of the pipeline and rerun.", PAUSE_AUGMENTATION),
        ESCALATE_PIPELINE,
    ),
    c.ALERT_SYNTHETIC_RATIO_SHIFT: Runbook(
        "The synthetic ratio changed between consecutive runs by more than a quarter of the "
        "allowed range: the class balance of the training data or the sampling strategy "
        "changed. The alert stays up for a day after the run and then resolves.",
        (
            RUNS_LIST,
            RUNS_SHOW + " on the last two runs: compare class counts before/after",
            REPORT_RUN,
        ),
        ("Confirm the change was intended; otherwise roll back the pipeline change.",),
        ESCALATE_PIPELINE,
    ),
    c.ALERT_RETRAIN_GATE_FAILING: Runbook(
        "The latest finished run failed its release gate: validation recall, precision or gap "
        "missed the objectives, or leakage (synthetic rows in validation) was suspected.",
        (
            RUNS_SHOW + " — the gate's reasons and the leakage verdict",
            REPORT_RUN,
            f'`{c.RUN_LEAKAGE_SUSPECTED.sample_name}{{dataset="DATASET"}}` — 1 when leakage '
            "was suspected",
        ),
        (
            "Keep the previous model in production.",
            "If leakage was suspected, split train/validation before resampling and rerun.",
        ),
        ESCALATE_PIPELINE,
    ),
    c.ALERT_RETRAIN_SUCCESS_RATE_LOW: Runbook(
        "Over the last 7 days, the share of runs that passed their gate is below "
        "retrain_success. Failing runs (outcome gate_failed or error) keep the model from "
        "being refreshed.",
        (
            RUNS_LIST + " (add `--status failed`)",
            f'`sum by (outcome) (increase({c.RUNS.sample_name}{{dataset="DATASET"}}[7d]))`',
            RUNS_SHOW,
        ),
        ("Fix the most frequent failure reason first.",),
        ESCALATE_PIPELINE,
    ),
    c.ALERT_RUN_DURATION_SPIKE: Runbook(
        "The latest run's resampling took more than twice the median of the last 7 days "
        "(runs under a minute never count): more rows, more features, a larger k or a slower "
        "machine.",
        (RUNS_SHOW + " — rows, k, variant, duration", RUNS_LIST),
        ("Check the training data volume; schedule the run with more headroom.",),
        ESCALATE_PIPELINE,
    ),
    c.ALERT_RUN_MEMORY_SPIKE: Runbook(
        "The latest run's peak resampling memory was more than twice the median of the last 7 "
        "days (runs under 256 MiB never count). The next run may be killed for memory.",
        (RUNS_SHOW + " — rows, features, k, peak memory", RUNS_LIST),
        ("Give the training job more memory, or resample in smaller batches.",),
        ESCALATE_PIPELINE,
    ),
    c.ALERT_FEATURE_DRIFT_DETECTED: Runbook(
        "A feature's production distribution in the latest window drifted from the reference "
        "(the real, pre-SMOTE training rows of the reference run), by the method's default "
        "threshold (Evidently's).",
        (_drift_query(), REPORT_PRODUCTION, STATUS, _confusion_query()),
        (
            "If recall holds, retrain on recent data at the next run; if recall is burning, "
            "see SmoteMinorityRecallBudgetBurn.",
        ),
        ESCALATE_PIPELINE,
    ),
    c.ALERT_SYNTHETIC_NEAR_DUPLICATES: Runbook(
        "Too many synthetic rows of the latest run lie almost on top of a real row: the "
        "augmented set nearly copies real (possibly personal) records. A privacy signal.",
        (
            RUNS_SHOW + " — near-duplicate ratio, neighbour-distance quantiles, k",
            REPORT_RUN,
        ),
        (
            "Do not share the augmented set outside the training environment.",
            "Raise k_neighbors or deduplicate the minority class before resampling.",
        ),
        "Escalate to the data-protection contact when the augmented set left the environment.",
    ),
    c.ALERT_PRODUCTION_DATA_STALE: Runbook(
        "The monitor is going blind on the dataset: either no evaluation succeeded for three "
        "evaluation periods, or no production rows arrived during the shortest window.",
        (
            STATUS,
            f"`curl -s {SERVER}/readyz` and the daemon's log",
            "The production source (SQL table, file drop or the pushing service).",
            f"`{c.MONITOR_JOB_FAILURES.sample_name}` — failing evaluation jobs",
        ),
        ("Restore the source; `smote-monitor evaluate` runs one evaluation cycle now.",),
        ESCALATE_PLATFORM,
    ),
    c.ALERT_MONITOR_JOB_FAILING: Runbook(
        "A scheduled job of smote-monitor (evaluation, spool replay, …) failed in the last 15 "
        "minutes and has not succeeded since. Scrape smote-monitor with honor_labels: true so "
        "the job label names the job.",
        (
            "The daemon's log (errors name the job and the cause)",
            f"`curl -s {SERVER}/readyz`",
            "`smote-monitor evaluate` — one cycle in the foreground, errors on the terminal",
        ),
        ("Fix the cause (store, source credentials, disk); the job retries by itself.",),
        ESCALATE_PLATFORM,
    ),
    c.ALERT_MONITOR_DOWN: Runbook(
        "Prometheus scrapes no smote-monitor, or the daemon cannot read its store: no SMOTE "
        "SLI is exported and every other SMOTE alert is blind.",
        (
            f"`curl -s {SERVER}/healthz` and `curl -s {SERVER}/readyz`",
            "The daemon's process / container status and log",
            "The store: `smote-monitor db upgrade` reports whether it can connect",
            "Prometheus' target page for the smote-monitor scrape job",
        ),
        ("Restart `smote-monitor serve`; fix the store connection.",),
        ESCALATE_PLATFORM,
    ),
    c.ALERT_RETRAIN_IN_PROGRESS: Runbook(
        "A SMOTE run of the dataset is open (informational). While it is, Alertmanager holds "
        "back the dataset's tickets; pages still go out.",
        (RUNS_LIST + " (add `--status running`)",),
        ("Nothing to do. A run open for hours is stuck: check the training job.",),
        "None; if the run never finishes, escalate to the training-pipeline owner.",
    ),
}


def runbook_markdown(alert: str) -> str:
    """The page of one alert (without the stamp)."""
    book = RUNBOOKS[alert]
    lines = [f"# {alert}", "", "## Meaning", "", book.meaning, "", "## First checks", ""]
    lines += [f"1. {check}" for check in book.checks]
    lines += ["", "## Mitigation", ""]
    lines += [f"- {step}" for step in book.mitigation]
    lines += ["", "## Escalation", "", book.escalation, ""]
    return "\n".join(lines)
