"""The building blocks the three dashboards share: variables, run annotations, panel kinds.

Panels are Grafana's SDK builders; this module only fixes the choices every smote-monitor panel
makes the same way (datasource variable, units, threshold colours, SLO lines).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

with warnings.catch_warnings():
    # The SDK warns at import that the classic dashboard schema has a v2 successor; Grafana 12
    # still provisions the classic JSON from files, and that is what we render.
    warnings.simplefilter("ignore", DeprecationWarning)
    from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
    from grafana_foundation_sdk.builders import common as common_builders
    from grafana_foundation_sdk.builders import dashboard as builders
    from grafana_foundation_sdk.builders import prometheus as prom_builders
    from grafana_foundation_sdk.cog import builder as cogbuilder
    from grafana_foundation_sdk.cog import variants as cogvariants
    from grafana_foundation_sdk.models import common, units
    from grafana_foundation_sdk.models import dashboard as models
    from grafana_foundation_sdk.models import prometheus as prom_models

from dashboards import queries
from smote_monitor.config import DEFAULT_LISTEN
from smote_monitor.conventions import (
    LABEL_DATASET,
    LABEL_FEATURE,
    LABEL_RUN_ID,
    LABEL_SLICE,
    LABEL_VARIANT,
    LABEL_WINDOW,
    RUN_INFO,
    RUN_LAST_TIMESTAMP_SECONDS,
    SLICE_RECALL,
    MetricSpec,
)

DATASOURCE = common.DataSourceRef(type_val="prometheus", uid=f"${{{queries.VAR_DATASOURCE}}}")
DASHBOARD_TAG = "smote-monitor"
STAMP = "generated — do not edit, by `smote-monitor dashboards render`"
"""Ends every dashboard's description: the JSON is rendered from the catalog, never hand-edited."""

# Colours of threshold steps: Grafana's named palette.
OK, WARN, BAD = "green", "orange", "red"
SLO_LINE = "dashed+area"
# Grafana's custom-unit syntax: burn rates read as multiples ("2.5×").
BURN_RATE_UNIT = "suffix:×"


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL target of a panel: its expression and legend."""

    expr: str
    legend: str = ""
    instant: bool = False
    table: bool = False


def _target(query: Query, ref_id: str) -> prom_builders.Dataquery:
    target = prom_builders.Dataquery().expr(query.expr).ref_id(ref_id).datasource(DATASOURCE)
    if query.legend:
        target = target.legend_format(query.legend)
    target = target.instant() if query.instant else target.range()
    if query.table:
        target = target.format(prom_models.PromQueryFormat.TABLE)
    return target


def _targets(queries_: Sequence[Query]) -> list[cogbuilder.Builder[cogvariants.Dataquery]]:
    return [_target(query, chr(ord("A") + i)) for i, query in enumerate(queries_)]


def steps(base: str, *rest: tuple[float, str]) -> builders.ThresholdsConfig:
    """Absolute thresholds: ``base`` colour below the first value, then each (value, colour)."""
    return (
        builders.ThresholdsConfig()
        .mode(models.ThresholdsMode.ABSOLUTE)
        .steps(
            [models.Threshold(value=None, color=base)]
            + [models.Threshold(value=value, color=colour) for value, colour in rest]
        )
    )


def at_least(target: float) -> builders.ThresholdsConfig:
    """An SLO a value must reach (recall, precision, support): red below the target."""
    return steps(BAD, (target, OK))


def at_most(limit: float) -> builders.ThresholdsConfig:
    """An SLO a value must stay under (validation gap, burn rate): red from the limit."""
    return steps(OK, (limit, BAD))


def within(low: float, high: float) -> builders.ThresholdsConfig:
    """A band a value must stay in (synthetic ratio)."""
    return steps(BAD, (low, OK), (high, BAD))


def timeseries_panel(
    title: str,
    description: str,
    queries_: Sequence[Query],
    *,
    unit: str,
    thresholds: builders.ThresholdsConfig | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    width: int = 12,
    height: int = 8,
    bars: bool = False,
) -> timeseries.Panel:
    """A time series; with ``thresholds`` the SLO is drawn as a dashed line over a shaded area."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets(queries_))
        .unit(unit)
        .span(width)
        .height(height)
        .legend(
            common_builders.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .calcs(["lastNotNull", "min"])
        )
        .tooltip(common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI))
    )
    if thresholds is not None:
        panel = panel.thresholds(thresholds).thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(
                common.GraphThresholdsStyleMode(SLO_LINE)
            )
        )
    if minimum is not None:
        panel = panel.min(minimum)
    if maximum is not None:
        panel = panel.max(maximum)
    if bars:
        panel = panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(60)
    return panel


def ratio_timeseries(
    title: str,
    description: str,
    queries_: Sequence[Query],
    *,
    thresholds: builders.ThresholdsConfig | None = None,
    width: int = 12,
) -> timeseries.Panel:
    """A time series of a 0–1 ratio, shown as a percentage."""
    return timeseries_panel(
        title,
        description,
        queries_,
        unit=units.PercentUnit,
        thresholds=thresholds,
        minimum=0,
        maximum=1,
        width=width,
    )


def stat_panel(
    title: str,
    description: str,
    query: Query,
    *,
    unit: str,
    thresholds: builders.ThresholdsConfig,
    width: int = 6,
    height: int = 6,
) -> stat.Panel:
    """The latest value, coloured by its thresholds, with a sparkline."""
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets([query]))
        .unit(unit)
        .thresholds(thresholds)
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.AREA)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .span(width)
        .height(height)
    )


def bar_gauge_panel(
    title: str,
    description: str,
    query: Query,
    *,
    unit: str,
    thresholds: builders.ThresholdsConfig,
    width: int = 12,
    height: int = 8,
) -> bargauge.Panel:
    """The latest value of each series as a horizontal bar (one per feature, per quantile…)."""
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets([query]))
        .unit(unit)
        .thresholds(thresholds)
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .span(width)
        .height(height)
    )


def table_panel(
    title: str,
    description: str,
    queries_: Sequence[Query],
    *,
    unit: str = units.Short,
    transformations: Sequence[models.DataTransformerConfig] = (),
    links: Sequence[builders.DashboardLink] = (),
    width: int = 12,
    height: int = 8,
) -> table.Panel:
    """Instant queries as a table; ``links`` become data links on every cell."""
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets(queries_))
        .unit(unit)
        .span(width)
        .height(height)
    )
    for transformation in transformations:
        panel = panel.with_transformation(transformation)
    if links:
        panel = panel.data_links(list(links))
    return panel


def transformation(id_: str, options: dict[str, object]) -> models.DataTransformerConfig:
    return models.DataTransformerConfig(id_val=id_, options=options)


def run_report_link() -> builders.DashboardLink:
    """A data link to the run's HTML report, served by the daemon at the configured base URL."""
    base = f"${{{queries.VAR_REPORT_BASE_URL}}}"
    return (
        builders.DashboardLink("Run report")
        .url(f"{base}/api/v1/runs/${{__data.fields.{LABEL_RUN_ID}}}/report")
        .target_blank(True)
    )


def recent_runs_table(*, width: int = 12) -> table.Panel:
    """Every run that was the dataset's latest during the time range (``smote_run_info`` names
    only the latest run, so its values over the range are the recent runs), each row linking to
    its report."""
    recent = f"max_over_time({queries.by_dataset(RUN_INFO)}[{queries.RANGE}])"
    return table_panel(
        "Recent SMOTE runs",
        "Runs finished during the time range (run id, variant); click a row for the run's "
        "HTML report, served by smote-monitor.",
        [Query(recent, instant=True, table=True)],
        transformations=[
            transformation(
                "organize",
                {
                    "excludeByName": {"Time": True, "Value": True, "__name__": True},
                    "indexByName": {LABEL_DATASET: 0, LABEL_RUN_ID: 1, LABEL_VARIANT: 2},
                },
            ),
            transformation("sortBy", {"sort": [{"field": LABEL_RUN_ID, "desc": True}]}),
        ],
        links=[run_report_link()],
        width=width,
        height=6,
    )


def row(title: str) -> builders.Row:
    return builders.Row(title)


# --- Variables ---------------------------------------------------------------------------------


def datasource_variable() -> builders.DatasourceVariable:
    return (
        builders.DatasourceVariable(queries.VAR_DATASOURCE).label("Prometheus").type("prometheus")
    )


def _query_variable(name: str, label: str, query: str) -> builders.QueryVariable:
    return (
        builders.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models.VariableSort.ALPHABETICAL_ASC)
    )


def dataset_variable() -> builders.QueryVariable:
    """Every dataset that has recorded a run."""
    return _query_variable(
        queries.VAR_DATASET, "Dataset", queries.label_values(RUN_INFO, LABEL_DATASET)
    )


def slice_variable() -> builders.QueryVariable:
    """The dataset's slices (``all`` included), several at once; All matches every slice."""
    return (
        _query_variable(queries.VAR_SLICE, "Slice", queries.label_values(SLICE_RECALL, LABEL_SLICE))
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def window_variable() -> builders.QueryVariable:
    """The dataset's rolling windows (the config's ``windows``)."""
    return _query_variable(
        queries.VAR_WINDOW, "Window", queries.label_values(SLICE_RECALL, LABEL_WINDOW)
    )


def feature_variable(spec: MetricSpec) -> builders.QueryVariable:
    return (
        _query_variable(queries.VAR_FEATURE, "Feature", queries.label_values(spec, LABEL_FEATURE))
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def report_base_url_variable() -> builders.TextBoxVariable:
    """Where the daemon serves run reports, as the browser reaches it."""
    return (
        builders.TextBoxVariable(queries.VAR_REPORT_BASE_URL)
        .label("smote-monitor URL")
        .description("Base URL of `smote-monitor serve`, as your browser reaches it.")
        .default_value(f"http://{DEFAULT_LISTEN}")
    )


# --- Annotations and the dashboard ------------------------------------------------------------


def run_annotation() -> builders.AnnotationQuery:
    """A marker wherever the dataset's latest-run timestamp moved: one per finished SMOTE run,
    titled with the run id and variant of ``smote_run_info``."""
    changed = f"changes({queries.by_dataset(RUN_LAST_TIMESTAMP_SECONDS)}[{queries.INTERVAL}]) > 0"
    expr = f"{queries.by_dataset(RUN_INFO)} and on ({LABEL_DATASET}) ({changed})"
    return (
        builders.AnnotationQuery()
        .name("SMOTE runs")
        .datasource(DATASOURCE)
        .enable(True)
        .icon_color("purple")
        .expr(expr)
        .title_format(f"SMOTE run {{{{{LABEL_RUN_ID}}}}}")
        .text_format(f"{{{{{LABEL_VARIANT}}}}} on {{{{{LABEL_DATASET}}}}}")
        .tag_keys(f"{LABEL_DATASET},{LABEL_VARIANT}")
    )


def dashboard(
    uid: str,
    title: str,
    description: str,
    variables: Sequence[cogbuilder.Builder[models.VariableModel]],
) -> builders.Dashboard:
    """A smote-monitor dashboard: uid, tags, variables, run annotations, links to its siblings."""
    board = (
        builders.Dashboard(title)
        .uid(uid)
        .description(f"{description} ({STAMP})")
        .tags([DASHBOARD_TAG])
        .readonly()
        .time("now-7d", "now")
        .refresh("1m")
        .timezone("browser")
        .tooltip(models.DashboardCursorSync.CROSSHAIR)
        .with_variable(datasource_variable())
        .annotation(run_annotation())
        .links(
            [
                builders.DashboardLink("SMOTE dashboards")
                .type(models.DashboardLinkType.DASHBOARDS)
                .tags([DASHBOARD_TAG])
                .as_dropdown(True)
                .include_vars(True)
                .keep_time(True)
            ]
        )
    )
    for variable in variables:
        board = board.with_variable(variable)
    return board


def add(board: builders.Dashboard, *items: cogbuilder.Builder[models.Panel]) -> builders.Dashboard:
    """The dashboard with the panels appended, laid out left to right, top to bottom."""
    for item in items:
        board = board.with_panel(item)
    return board


def finish(board: builders.Dashboard) -> models.Dashboard:
    """The built dashboard, its panels numbered in layout order: stable ids keep panel links
    (``viewPanel=3``) working across renders."""
    built = board.build()
    for number, panel in enumerate(built.panels or (), start=1):
        panel.id_val = number
    return built
