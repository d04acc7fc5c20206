"""The province's files, from its counties' outcomes: workbook, GeoPackage, summary and overview maps.

Every figure comes from the counties' own ``summary.json`` (the same dict ``planner coverage``
writes, :func:`planner.report.files.report_files`); nothing is recomputed from demand
points. :func:`province_figures` puts them into tables, :func:`write_province_outputs`
writes the files into the batch's folder, all of them or none
(:func:`planner._atomic.atomic_output_dir`):

- ``province.xlsx`` — one row per county × tier (coverage rank, mode, standard and every
  figure of the county's summary: :data:`COUNTY_FIGURES`), ranked per tier from the lowest
  coverage up; the province totals per tier; the counties that failed with their messages;
  and the definition of every column (labels and definitions from the one table of
  figures, :mod:`planner.coverage.figures`). Text cells are data, never formulas
  (:func:`planner._text.neutralise_cell`).
- ``province.gpkg`` — the county polygons (the boundary where known, else the bounding
  box) with the figures as columns ``<figure>_<tier>`` (``percent_population_village``),
  one row per county, and the province totals as a table.
- ``summary.json`` — the province totals per tier, each county's figures and rank, the
  failures, the settings and how many counties ended in each status.
- ``overview_<tier>.png`` and ``overview.html`` — the counties coloured by population
  covered per tier (:mod:`planner.batch.province_maps`); the web map has one layer per
  tier and loads nothing from the internet.

Province totals are formed from the counties' figures by the rule of each figure
(:func:`total_rule`): people and points are summed, the percentages are recomputed from
the sums (never averaged), the population-weighted means are weighted by the counties'
populations, and quantiles and inequality indices, which no sum of county figures gives,
are left empty. Counties that failed are in none of them.
"""

from __future__ import annotations

import io
import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from shapely.geometry.base import BaseGeometry

from planner._atomic import atomic_output_dir
from planner._text import neutralise_cell
from planner.batch.tasks import BatchSettings, CountyInputs, CountyOutcome
from planner.coverage.figures import (
    EQUITY_FIGURES,
    HEADLINE_FIGURES,
    definition,
    figure,
    label,
    percent_population,
    unit,
)
from planner.i18n import get_language, t
from planner.report.exports import _cell_value, _display_width
from planner.report.files import summary_json
from planner.settings import TIERS, Tier

logger = logging.getLogger(__name__)

__all__ = [
    "COUNTY_FIGURES",
    "PROVINCE_FILES",
    "ProvinceFigures",
    "province_figures",
    "province_geopackage",
    "province_summary",
    "province_workbook",
    "total_rule",
    "write_province_outputs",
]

#: The province's files besides one ``overview_<tier>.png`` per tier.
PROVINCE_FILES: tuple[str, ...] = ("province.xlsx", "province.gpkg", "summary.json", "overview.html")

#: Equity figures of a county × tier row: every one of ``summary["equity"][tier]`` but
#: ``within_population`` and ``percent_within``, which are the covered population and its share again.
EQUITY_COLUMN_FIGURES: tuple[str, ...] = tuple(
    f.key for f in EQUITY_FIGURES if f.key not in ("within_population", "percent_within")
)
#: The figures of one county × tier (``summary["tiers"][tier]``, then ``summary["equity"][tier]``).
COUNTY_FIGURES: tuple[str, ...] = (*HEADLINE_FIGURES, *EQUITY_COLUMN_FIGURES)
#: Figures whose province total is the sum of the counties'.
_SUMMED = frozenset({k for k in COUNTY_FIGURES if figure(k).kind in ("count", "population")})
#: Percentages recomputed from the province's sums: figure → (numerator, denominator).
_RATIOS: Mapping[str, tuple[str, str]] = {"percent_population": ("covered_population", "population")}
#: Population-weighted means: the province's is the counties' weighted by their population.
_WEIGHTED = frozenset({"mean_min", "mean_access"})

_COUNTY_COLUMNS = ("tier", "rank", "code", "name", "mode", "standard_minutes", *COUNTY_FIGURES)
_TOTAL_COLUMNS = ("tier", "mode", "standard_minutes", "counties", *COUNTY_FIGURES)
_FAILURE_COLUMNS = ("code", "name", "status", "message")
_WITH_FIGURES = ("ok", "skipped")

Rule = Literal["sum", "ratio", "weighted", "none"]


def total_rule(key: str) -> Rule:
    """How the province total of figure ``key`` is formed from the counties' figures.

    ``"sum"`` (people and points), ``"ratio"`` (a percentage recomputed from the summed
    people), ``"weighted"`` (a population-weighted mean, weighted by the counties'
    populations) or ``"none"`` (a quantile or an inequality index: no total).
    """
    if key in _SUMMED:
        return "sum"
    if key in _RATIOS:
        return "ratio"
    if key in _WEIGHTED:
        return "weighted"
    return "none"


# =========================================================================== figures


@dataclass(frozen=True)
class ProvinceFigures:
    """The province's tables (canonical column keys; percentages 0–100).

    Attributes
    ----------
    tiers
        Tiers in the tables, in the order of :data:`planner.settings.TIERS`.
    counties
        One row per county with results × tier: :data:`_COUNTY_COLUMNS`, per tier from
        the lowest coverage up (``rank`` 1), unranked counties last.
    totals
        One row per tier: mode, standard, number of counties and every figure's total
        (:func:`total_rule`).
    failures
        One row per county without results: code, name, status and message.
    areas
        One row per county (every county, failed ones too): ``code, name, status`` and
        the county's polygon (EPSG:4326).
    statuses
        How many counties ended in each status (``ok``, ``skipped``, ``failed``,
        ``memory``, ``error``; ``missing``: no outcome came back).
    """

    tiers: tuple[Tier, ...]
    counties: pd.DataFrame
    totals: pd.DataFrame
    failures: pd.DataFrame
    areas: gpd.GeoDataFrame
    statuses: dict[str, int]

    def rate(self, tier: Tier | str) -> dict[str, float | None]:
        """Per county code, the population covered in ``tier`` (percent; ``None``: no rate)."""
        rows = self.counties[self.counties["tier"] == str(tier)]
        return {str(c): _number(p) for c, p in zip(rows["code"], rows["percent_population"], strict=True)}


def _number(value: object) -> float | None:
    """``value`` as a finite float, or ``None`` (missing, NaN, infinite, not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _county_geometry(county: CountyInputs) -> BaseGeometry:
    """The county's boundary polygon, else its bounding box (a boundary that does not parse is logged)."""
    if county.boundary_wkt:
        try:
            geom = shapely.from_wkt(county.boundary_wkt)
        except shapely.errors.GEOSException:
            logger.warning("county %s: boundary is not WKT; drawn as its bounding box", county.code)
        else:
            if geom is not None and not geom.is_empty:
                return shapely.make_valid(geom) if not geom.is_valid else geom
    return shapely.box(*county.bounds)


def _tier_row(summary: Mapping[str, Any], tier: Tier) -> dict[str, Any] | None:
    """The figures of ``tier`` in a county summary, ``None`` when the tier was not evaluated there."""
    head = (summary.get("tiers") or {}).get(str(tier))
    if not isinstance(head, Mapping):
        return None
    equity = (summary.get("equity") or {}).get(str(tier)) or {}
    row: dict[str, Any] = {"mode": head.get("mode"), "standard_minutes": _number(head.get("minutes"))}
    row.update({k: _number(head.get(k)) for k in HEADLINE_FIGURES})
    row.update({k: _number(equity.get(k)) for k in EQUITY_COLUMN_FIGURES})
    row["_weight"] = _number(equity.get("population"))  # the population the equity means are over
    return row


def _ranks(rates: Sequence[float | None]) -> list[int | None]:
    """Rank of each rate, lowest first (1 + how many are lower: ties share a rank); ``None`` for no rate."""
    known = np.array([r for r in rates if r is not None], dtype=np.float64)
    return [None if r is None else int(1 + np.count_nonzero(known < r)) for r in rates]


def _totals(rows: pd.DataFrame) -> dict[str, Any]:
    """The province total of each figure over the county rows of one tier (:func:`total_rule`)."""
    out: dict[str, Any] = {"counties": len(rows)}
    for key in COUNTY_FIGURES:
        rule = total_rule(key)
        values = [_number(v) for v in rows[key]]
        if rule == "sum":
            total = math.fsum(v for v in values if v is not None)
            out[key] = round(total) if figure(key).kind == "count" else total
        elif rule == "weighted":
            weights = [_number(w) or 0.0 for w in rows["_weight"]]
            pairs = [(v, w) for v, w in zip(values, weights, strict=True) if w > 0]
            whole = math.fsum(w for _, w in pairs)
            if whole > 0 and all(v is not None for v, _ in pairs):
                out[key] = math.fsum(v * w for v, w in pairs if v is not None) / whole
            else:
                out[key] = None
        else:
            out[key] = None
    for key, (num, den) in _RATIOS.items():
        out[key] = percent_population(float(out[num]), float(out[den]))
    return out


def province_figures(
    *, outcomes: Iterable[CountyOutcome], counties: Iterable[CountyInputs], settings: BatchSettings
) -> ProvinceFigures:
    """The province's tables from the counties' outcomes (see :class:`ProvinceFigures`).

    Parameters
    ----------
    outcomes
        What the county tasks reported. ``ok`` and ``skipped`` ones carry the county's
        ``summary.json``; the others (and an ``ok`` one without a summary) go to the failures.
    counties
        Every county of the batch (boundary or bounds, name). A county without an
        outcome is a failure (``missing``).
    settings
        The batch's settings: the tiers, and each tier's mode and standard for the totals.
    """
    inputs = {c.code: c for c in counties}
    by_code = {o.code: o for o in outcomes}
    codes = list(dict.fromkeys([*inputs, *by_code]))
    tiers = tuple(x for x in TIERS if x in settings.tiers)
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    areas: list[dict[str, Any]] = []
    statuses: Counter[str] = Counter()
    for code in codes:
        county, outcome = inputs.get(code), by_code.get(code)
        name = county.name if county is not None else outcome.name if outcome is not None else code
        status = outcome.status if outcome is not None else "missing"
        statuses[status] += 1
        areas.append({"code": code, "name": name, "status": status,
                      "geometry": _county_geometry(county) if county is not None else None})  # fmt: skip
        if outcome is None or outcome.status not in _WITH_FIGURES or outcome.summary is None:
            message = outcome.message if outcome is not None and outcome.message else ""
            if not message:
                message = t("batch_province.no_outcome" if outcome is None else "batch_province.no_summary")
            failures.append({"code": code, "name": name, "status": status, "message": message})
            continue
        for tier in tiers:
            row = _tier_row(outcome.summary, tier)
            if row is not None:
                rows.append({"tier": str(tier), "code": code, "name": name, **row})
    frame = pd.DataFrame(rows, columns=[c for c in _COUNTY_COLUMNS if c != "rank"] + ["_weight"])
    ranked, totals = [], []
    for tier in tiers:
        part = frame[frame["tier"] == str(tier)].copy()
        ranks = _ranks([_number(p) for p in part["percent_population"]])
        part.insert(1, "rank", pd.Series(ranks, index=part.index, dtype="Int64"))
        ranked.append(part.sort_values(["rank", "code"], na_position="last", kind="stable"))
        std = settings.config.standards[tier]
        totals.append({"tier": str(tier), "mode": str(std.mode), "standard_minutes": std.minutes, **_totals(part)})
    counties_frame = pd.concat(ranked, ignore_index=True) if ranked else frame.assign(rank=pd.Series(dtype="Int64"))
    return ProvinceFigures(
        tiers=tiers,
        counties=counties_frame.drop(columns="_weight")[list(_COUNTY_COLUMNS)],
        totals=pd.DataFrame(totals, columns=list(_TOTAL_COLUMNS)),
        failures=pd.DataFrame(failures, columns=list(_FAILURE_COLUMNS)),
        areas=gpd.GeoDataFrame(areas, columns=["code", "name", "status", "geometry"], crs="EPSG:4326"),
        statuses={s: statuses.get(s, 0) for s in ("ok", "skipped", "failed", "memory", "error", "missing")},
    )


# =========================================================================== workbook


def _header(col: str, *, lang: str) -> str:
    """A column's header: a figure's label (from the figures table), else the batch's own."""
    if col in COUNTY_FIGURES or col in ("rank", "counties"):
        return label(col, lang=lang)
    return t(f"batch_province.col.{col}.label", lang=lang)


def _shown(frame: pd.DataFrame, *, lang: str) -> pd.DataFrame:
    """``frame`` with tier, mode and status values in words (``lang``)."""
    out = frame.copy()
    for col, prefix in (("tier", "tier"), ("mode", "mode"), ("status", "batch_province.status")):
        if col in out:
            out[col] = [t(f"{prefix}.{v}", lang=lang) if isinstance(v, str) and v else v for v in out[col]]
    return out


def _format(col: str) -> str | None:
    if col in COUNTY_FIGURES or col in ("rank", "counties"):
        return figure(col).excel_format
    return {"standard_minutes": "0"}.get(col)


def _sheet(wb: Workbook, *, key: str, frame: pd.DataFrame, title: str, lang: str) -> None:
    """One sheet: a title row, a frozen bold header row, the rows (text through the formula guard), formats."""
    ws = wb.create_sheet(t(f"batch_province.sheet.{key}", lang=lang))
    cols = [str(c) for c in frame.columns]
    headers = [_header(c, lang=lang) if key != "definitions" else t(f"batch_province.def.{c}", lang=lang) for c in cols]
    ws.cell(row=1, column=1, value=neutralise_cell(title)).font = Font(bold=True, size=14)
    if len(cols) > 1:
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(cols))
    fill = PatternFill("solid", fgColor="DDEBF7")
    for j, h in enumerate(headers, start=1):
        c = ws.cell(row=2, column=j, value=neutralise_cell(h))
        c.font, c.fill = Font(bold=True), fill
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    values = _shown(frame, lang=lang).to_numpy(dtype=object)
    for i in range(values.shape[0]):
        ws.append([_cell_value(cols[j], values[i, j]) for j in range(len(cols))])
    for j, col in enumerate(cols, start=1):
        fmt = _format(col) if key != "definitions" else None
        if fmt is not None:
            for (cell,) in ws.iter_rows(min_row=3, max_row=2 + values.shape[0], min_col=j, max_col=j):
                cell.number_format = fmt
        longest = max((_display_width(v) for v in values[:, j - 1]), default=0)
        ws.column_dimensions[get_column_letter(j)].width = max(
            8, min(max(_display_width(headers[j - 1]), longest), 60) + 2
        )
    if values.shape[0] == 0:
        ws.cell(row=3, column=1, value=t("exports.none", lang=lang)).font = Font(italic=True, color="808080")
    ws.freeze_panes = "A3"
    if cols and values.shape[0]:
        ws.auto_filter.ref = f"A2:{get_column_letter(len(cols))}{2 + values.shape[0]}"


def definitions_frame(*, lang: str | None = None) -> pd.DataFrame:
    """The definitions sheet: every column of the other sheets with its header, key, unit, definition and total rule."""
    lang = lang or get_language()
    rows = []
    for col in dict.fromkeys((*_COUNTY_COLUMNS, *_TOTAL_COLUMNS, *_FAILURE_COLUMNS)):
        if col in COUNTY_FIGURES or col in ("rank", "counties"):
            text, what = definition(col, lang=lang), unit(col, lang=lang)
            rule = t(f"batch_province.rule.{total_rule(col)}", lang=lang) if col in COUNTY_FIGURES else ""
        else:
            text, what, rule = t(f"batch_province.col.{col}.definition", lang=lang), "", ""
        rows.append({"header": _header(col, lang=lang), "key": col, "unit": what, "definition": text, "total": rule})
    return pd.DataFrame(rows, columns=["header", "key", "unit", "definition", "total"])


def province_workbook(figs: ProvinceFigures, *, lang: str | None = None, title: str = "") -> bytes:
    """``province.xlsx``: counties × tiers ranked, province totals, failures and the definitions of every column.

    Parameters
    ----------
    figs
        :func:`province_figures`.
    lang
        ``"zh"`` or ``"en"`` (default the active language).
    title
        Put before each sheet's title (e.g. the province's name); user text, written as text.
    """
    lang = lang or get_language()
    wb = Workbook()
    if wb.active is not None:
        wb.remove(wb.active)
    frames = {
        "counties": figs.counties,
        "totals": figs.totals,
        "failures": figs.failures,
        "definitions": definitions_frame(lang=lang),
    }
    for key, frame in frames.items():
        head = t(f"batch_province.title.{key}", lang=lang)
        shown = t("exports.title_row", lang=lang, label=title, title=head) if title else head
        _sheet(wb, key=key, frame=frame, title=shown, lang=lang)
    wb.properties.title = title or t("batch_province.title.counties", lang=lang)
    wb.properties.creator = t("exports.creator", lang=lang)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# =========================================================================== GeoPackage and summary


def _wide(figs: ProvinceFigures) -> gpd.GeoDataFrame:
    """One row per county: code, name, status, then ``rank_<tier>`` and ``<figure>_<tier>`` per tier."""
    out = figs.areas.copy()
    for tier in figs.tiers:
        part = figs.counties[figs.counties["tier"] == str(tier)].set_index("code")
        for col in ("rank", *COUNTY_FIGURES):
            values = out["code"].map(part[col])
            out[f"{col}_{tier}"] = values.astype("Int64") if col == "rank" else values.astype("float64")
    return out


def province_geopackage(figs: ProvinceFigures, path: Path, *, lang: str | None = None) -> None:
    """Write ``province.gpkg`` at ``path``: the county layer (:func:`_wide`) and the totals table."""
    lang = lang or get_language()
    counties = _wide(figs).set_geometry("geometry")
    pyogrio.write_dataframe(counties, path, layer=t("batch_province.layer.counties", lang=lang), driver="GPKG")
    totals = figs.totals.astype({k: "float64" for k in COUNTY_FIGURES})
    pyogrio.write_dataframe(totals, path, layer=t("batch_province.layer.totals", lang=lang), driver="GPKG", append=True)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): (None if v is pd.NA else v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def province_summary(
    figs: ProvinceFigures, *, settings: BatchSettings, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``summary.json``: totals per tier, each county's figures and rank per tier, failures, settings, counts."""
    per_county: dict[str, dict[str, Any]] = {}
    for row in _records(figs.counties):
        entry = per_county.setdefault(row["code"], {"code": row["code"], "name": row["name"], "tiers": {}})
        entry["tiers"][row.pop("tier")] = {k: row[k] for k in ("rank", "mode", "standard_minutes", *COUNTY_FIGURES)}
    status = dict(zip(figs.areas["code"], figs.areas["status"], strict=True))
    for entry in per_county.values():
        entry["status"] = status.get(entry["code"])
    batch = {f.name: getattr(settings, f.name) for f in fields(settings) if f.name != "config"}
    out: dict[str, Any] = {
        "province": {r.pop("tier"): r for r in _records(figs.totals)},
        "counties": [per_county[c] for c in sorted(per_county)],
        "failures": _records(figs.failures),
        "counts": {**figs.statuses, "counties": sum(figs.statuses.values())},
        "settings": {**batch, "tiers": [str(x) for x in settings.tiers], "config": settings.config.to_dict()},
    }
    if extra:
        out.update(extra)
    return out


# =========================================================================== all files


def write_province_outputs(
    *,
    outcomes: Sequence[CountyOutcome],
    counties: Sequence[CountyInputs],
    out_dir: str | Path,
    settings: BatchSettings,
    lang: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write the province's files into ``out_dir``, all of them or none (see the module docstring).

    Parameters
    ----------
    outcomes
        The county tasks' outcomes (:class:`~planner.batch.tasks.CountyOutcome`).
    counties
        Every county of the batch (:class:`~planner.batch.tasks.CountyInputs`).
    out_dir
        The batch's folder; created if missing. Files of an earlier run with the same
        names are replaced, other files kept.
    settings
        The batch's settings (tiers, standards; written into ``summary.json``).
    lang
        Language of the workbook, the maps and the GeoPackage's layer names (default the active one).
    extra
        Added to ``summary.json`` (e.g. timings; its ``"label"``, a text, is put before
        the titles of the workbook's sheets and the maps).

    Returns
    -------
    dict
        File name → path.

    Raises
    ------
    OutputError
        The folder cannot be written; the files there stay as they were.
    """
    from planner.batch.province_maps import overview_html, overview_png

    lang = lang or get_language()
    figs = province_figures(outcomes=outcomes, counties=counties, settings=settings)
    title = str((extra or {}).get("label") or "")
    names: list[str] = []
    with atomic_output_dir(out_dir) as tmp:
        (tmp / "province.xlsx").write_bytes(province_workbook(figs, lang=lang, title=title))
        province_geopackage(figs, tmp / "province.gpkg", lang=lang)
        summary = province_summary(figs, settings=settings, extra=extra)
        (tmp / "summary.json").write_bytes(summary_json(summary))
        for tier in figs.tiers:
            (tmp / f"overview_{tier}.png").write_bytes(overview_png(figs, tier=tier, lang=lang, title=title))
        (tmp / "overview.html").write_text(overview_html(figs, lang=lang, title=title), encoding="utf-8")
        names = sorted(p.name for p in tmp.iterdir())
    logger.info(
        "province: %d counties (%s), files %s in %s",
        sum(figs.statuses.values()),
        ", ".join(f"{k} {v}" for k, v in figs.statuses.items() if v),
        ", ".join(names),
        out_dir,
    )
    return {name: Path(out_dir) / name for name in names}
