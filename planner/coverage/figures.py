"""The one table of figures: every number a planner sees, computed once and named once.

Each figure has a key (the column / JSON name), a kind (count, population, percent)
and, in ``planner/i18n/figures.toml``, a zh/en label, unit and definition. The tier
headline (``summary["tiers"][tier]``) and the per-township rows
(:attr:`planner.coverage.analyse.CoverageResult.areas`) are both sums of
:func:`point_figures` over the same per-demand-point status, so township rows add up to
the headline. The app, the workbook, the GeoPackage, the CLI table,
``summary.json`` and the printed map read labels through :func:`label`.

Examples
--------
>>> label("outside_population")
'圈外人口'
>>> label("uncovered", tier="enterprise", lang="en")
'Uncovered enterprises'
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from planner.i18n import t
from planner.settings import DEFAULT_TIER_DEMAND, parse_tier

__all__ = [
    "ACCESS_COLUMN_FIGURES",
    "ACCESS_FIGURES",
    "AREA_FIGURES",
    "COUNT_FIGURES",
    "EQUITY_FIGURES",
    "FIGURES",
    "HEADLINE_FIGURES",
    "NO_DEMAND_REASONS",
    "PROVINCE_FIGURES",
    "STATION_FIGURES",
    "Figure",
    "definition",
    "display",
    "figures_from_status",
    "label",
    "markdown_page",
    "no_demand_text",
    "percent_population",
    "point_figures",
    "unit",
]

Kind = Literal["count", "population", "percent", "minutes", "index", "access", "ratio", "flag"]

#: Why a tier can have no demand points (a tier summary's ``no_demand_reason``; text:
#: :func:`no_demand_text`): the demand data are empty; the tier serves enterprise workers
#: and no row is one; the tier serves residents and every row is enterprise workers.
#: :func:`planner.coverage.analyse.no_demand_reason` decides which.
NO_DEMAND_REASONS: tuple[str, ...] = ("no_rows", "no_enterprise", "no_residents")


@dataclass(frozen=True)
class Figure:
    """One figure: its key and kind (labels, units and definitions live in the i18n table)."""

    key: str
    kind: Kind

    @property
    def excel_format(self) -> str:
        """Number format in the workbook (percent figures are written as fractions)."""
        return _EXCEL_FORMATS[self.kind]


_EXCEL_FORMATS: dict[str, str] = {
    "count": "#,##0",
    "population": "#,##0",
    "percent": "0.00%",
    "minutes": "0.0",
    "index": "0.000",
    "access": "0.000E+00",
    "ratio": "0.0%",
    "flag": "General",
}

#: Every coverage figure, in the order surfaces show them.
FIGURES: tuple[Figure, ...] = (
    Figure("stations", "count"),
    Figure("stations_off_network", "count"),
    Figure("stations_overloaded", "count"),
    Figure("demand", "count"),
    Figure("population", "population"),
    Figure("covered", "count"),
    Figure("covered_population", "population"),
    Figure("percent_population", "percent"),
    Figure("outside_population", "population"),
    Figure("off_network_population", "population"),
    Figure("unreachable_population", "population"),
    Figure("uncovered", "count"),
    Figure("off_network", "count"),
)
#: Accessibility figures (:mod:`planner.coverage.access`), in the order surfaces show them.
ACCESS_FIGURES: tuple[Figure, ...] = (
    Figure("access_value", "access"),
    Figure("access_normalised", "index"),
    Figure("supply", "count"),
    Figure("station_ratio", "access"),
)
#: Column of an accessibility table (``access.csv``, :meth:`AccessResult.frame`) → its figure.
ACCESS_COLUMN_FIGURES: dict[str, str] = {
    "value": "access_value",
    "normalised": "access_normalised",
    "supply": "supply",
    "ratio": "station_ratio",
}
#: Equity figures, in the order of :data:`planner.coverage.equity.EQUITY_COLUMNS` (without ``township``).
EQUITY_FIGURES: tuple[Figure, ...] = (
    Figure("within_population", "population"),
    Figure("percent_within", "percent"),
    Figure("unreached_population", "population"),
    Figure("mean_min", "minutes"),
    Figure("p90_min", "minutes"),
    Figure("gini_min", "index"),
    Figure("palma_min", "index"),
    Figure("mean_access", "access"),
    Figure("gini_access", "index"),
)
#: Figures of one station (the station sheet, the GeoPackage's station layer, ``stations.csv``):
#: its load is ``covered_population``, the people for whom it is the nearest station within
#: the standard (:func:`planner.coverage.analyse.station_capacity_load`).
STATION_FIGURE_LIST: tuple[Figure, ...] = (
    Figure("load_population", "population"),
    Figure("capacity", "population"),
    Figure("load_ratio", "ratio"),
    Figure("overloaded", "flag"),
)
STATION_FIGURES: tuple[str, ...] = ("covered_population", *(f.key for f in STATION_FIGURE_LIST))
#: Figures of a province or prefecture over its counties (:mod:`planner.batch.province`): a
#: county's coverage rank within its tier, and how many counties a province total sums.
PROVINCE_FIGURES: tuple[Figure, ...] = (
    Figure("rank", "count"),
    Figure("counties", "count"),
)
_BY_KEY = {f.key: f for f in (*FIGURES, *STATION_FIGURE_LIST, *ACCESS_FIGURES, *EQUITY_FIGURES, *PROVINCE_FIGURES)}
#: Figures of a tier's headline (the summary sheet, the CLI table, ``summary.json``).
HEADLINE_FIGURES: tuple[str, ...] = tuple(f.key for f in FIGURES)
#: Figures of a township row (stations are not assigned to townships).
AREA_FIGURES: tuple[str, ...] = tuple(k for k in HEADLINE_FIGURES if not k.startswith("stations"))


def figure(key: str) -> Figure:
    """The figure named ``key`` (``KeyError`` for an unknown one)."""
    return _BY_KEY[key]


def label(key: str, *, tier: str | None = None, serves: str | None = None, lang: str | None = None) -> str:
    """Label of a figure.

    ``uncovered`` names what the tier counts, by whom it serves (``serves``: a tier
    summary's ``"serves"``, :data:`planner.settings.TierDemand`; without it the tier's
    default): enterprises for enterprise workers, villages and communities for residents,
    demand points for a tier serving all of them or a column over all tiers (no tier).
    """
    if key == "uncovered":
        if serves is None and tier is not None:
            serves = str(DEFAULT_TIER_DEMAND[parse_tier(tier)])
        if serves == "enterprise":
            return t("figure.uncovered.label_enterprise", lang=lang)
        if serves != "residents":
            return t("figure.uncovered.label_any", lang=lang)
    return t(f"figure.{key}.label", lang=lang)


def unit(key: str, *, lang: str | None = None) -> str:
    """Unit of a figure."""
    return t(f"figure.{key}.unit", lang=lang)


def definition(key: str, *, lang: str | None = None) -> str:
    """Definition of a figure: which demand points it counts, how off-network points enter it."""
    return t(f"figure.{key}.definition", lang=lang)


def no_demand_text(reason: str, *, lang: str | None = None) -> str:
    """Why a tier has no demand points, for people (``reason``: a tier summary's ``no_demand_reason``).

    The reasons are :data:`NO_DEMAND_REASONS`.
    """
    return t(f"figure.no_demand.{reason}", lang=lang)


def point_figures(
    status: NDArray[np.str_] | NDArray[np.object_],
    population: NDArray[np.float64],
) -> dict[str, NDArray[np.float64]]:
    """What each demand point adds to the additive figures (every one but the percentage).

    Parameters
    ----------
    status
        Per demand point: ``covered``, ``uncovered`` (reached after N minutes),
        ``unreachable`` (not reached within the search horizon), ``no_station`` or
        ``off_network`` (:data:`planner.coverage.analyse.STATUSES`).
    population
        Per demand point.

    Returns
    -------
    dict
        :data:`AREA_FIGURES` keys but ``percent_population``; arrays aligned with the
        points, so a figure of any set of points is the sum over it.
    """
    s = np.asarray(status).astype(str)
    p = np.asarray(population, dtype=np.float64)
    cov = s == "covered"
    off = s == "off_network"
    return {
        "demand": np.ones(len(s)),
        "population": p,
        "covered": cov.astype(np.float64),
        "covered_population": np.where(cov, p, 0.0),
        "outside_population": np.where(cov, 0.0, p),
        "off_network_population": np.where(off, p, 0.0),
        "unreachable_population": np.where(~cov & ~off, p, 0.0),
        "uncovered": (~cov).astype(np.float64),
        "off_network": off.astype(np.float64),
    }


#: Figures that count demand points (integers).
COUNT_FIGURES: frozenset[str] = frozenset({"demand", "covered", "uncovered", "off_network"})


def percent_population(covered_population: float, population: float) -> float | None:
    """Covered population ÷ population × 100, rounded to 0.01; ``None`` when the population is 0."""
    return round(100.0 * covered_population / population, 2) if population > 0 else None


def figures_from_status(
    status: NDArray[np.str_] | NDArray[np.object_],
    population: NDArray[np.float64],
) -> dict[str, float | int | None]:
    """The demand figures of a set of demand points: the sums of :func:`point_figures` and the percentage.

    Returns
    -------
    dict
        :data:`AREA_FIGURES` keys; ``percent_population`` is ``None`` when the
        population is 0.
    """
    sums = {k: float(v.sum()) for k, v in point_figures(status, population).items()}
    out: dict[str, float | int | None] = {k: int(v) if k in COUNT_FIGURES else v for k, v in sums.items()}
    out["percent_population"] = percent_population(sums["covered_population"], sums["population"])
    return {k: out[k] for k in AREA_FIGURES}


def display(key: str, value: object) -> str:
    """A figure's value as surfaces print it: ``8,200`` people, ``12`` points, ``80.0%``; ``—`` when undefined."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    kind = figure(key).kind
    if kind == "percent":
        return f"{float(value):.1f}%"  # type: ignore[arg-type]
    if kind == "minutes":
        return f"{float(value):.1f}"  # type: ignore[arg-type]
    if kind == "index":
        return f"{float(value):.3f}"  # type: ignore[arg-type]
    if kind == "access":
        return f"{float(value):.4g}"  # type: ignore[arg-type]
    if kind == "ratio":
        return f"{100.0 * float(value):.1f}%"  # type: ignore[arg-type]
    if kind == "flag":
        return t("figure.flag.yes" if value else "figure.flag.no")
    return f"{float(value):,.0f}"  # type: ignore[arg-type]


def markdown_page(*, lang: str | None = None) -> str:
    """The figures table as a Markdown page (``docs/figures.md`` is generated from it)."""
    head = [
        "| {} | {} | {} | {} |".format(
            *(t(f"figure.page.{k}", lang=lang) for k in ("key", "label", "unit", "definition"))
        ),
        "|---|---|---|---|",
    ]

    def row(key: str, name: str) -> str:
        cells = (f"`{key}`", name, unit(key, lang=lang), definition(key, lang=lang))
        return "| " + " | ".join(html.escape(c, quote=False).replace("|", "\\|") for c in cells) + " |"

    lines = [f"# {t('figure.page.title', lang=lang)}", "", t("figure.page.intro", lang=lang), "", *head]
    for f in FIGURES:
        name = label(f.key, tier="village", lang=lang)
        if f.key == "uncovered":
            name = f"{name} / {label(f.key, tier='enterprise', lang=lang)}"
        lines.append(row(f.key, name))
    lines += ["", f"## {t('figure.page.stations', lang=lang)}", "", t("figure.page.stations_intro", lang=lang), ""]
    lines += [*head, *(row(f.key, label(f.key, lang=lang)) for f in STATION_FIGURE_LIST)]
    lines += ["", f"## {t('figure.page.access', lang=lang)}", "", t("figure.page.access_intro", lang=lang), ""]
    lines += [*head, *(row(f.key, label(f.key, lang=lang)) for f in (*ACCESS_FIGURES, *EQUITY_FIGURES))]
    lines += ["", f"## {t('figure.page.province', lang=lang)}", "", t("figure.page.province_intro", lang=lang), ""]
    lines += [*head, *(row(f.key, label(f.key, lang=lang)) for f in PROVINCE_FIGURES)]
    lines += ["", f"## {t('figure.no_demand.header', lang=lang)}", "", t("figure.no_demand.intro", lang=lang), ""]
    lines += [f"- `{r}`: {html.escape(no_demand_text(r, lang=lang), quote=False)}" for r in NO_DEMAND_REASONS]
    return "\n".join(lines) + "\n"


def page_text() -> str:
    """``docs/figures.md``: the figures table in Chinese, then in English."""
    return markdown_page(lang="zh") + "\n" + markdown_page(lang="en")


if __name__ == "__main__":  # python -m planner.coverage.figures > docs/figures.md
    import sys

    sys.stdout.write(page_text())
