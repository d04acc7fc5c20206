"""Downloads for reports: an Excel workbook, CSV with BOM and a GeoPackage, as bytes.

The app offers these as download buttons, so every function returns ``bytes`` and
writes nothing outside a private temporary folder. Headers and values (tier, travel
mode, status) are rendered in the active language (Chinese by default) through
:mod:`planner.i18n`; the column keys stay the canonical English names in code.

Workbook sheets (Chinese / English names):

- 汇总 / Summary — per tier: mode, N minutes, stations, demand points, population,
  covered population, percent, people outside the circle, uncovered villages, and a
  note saying why a tier has no demand points;
- 乡镇 / Townships — per township and tier;
- 缺口 / Gaps — uncovered demand ranked by population;
- 站点 / Stations — per station: load (covered population), capacity, load ratio and
  whether it is overloaded (:data:`planner.coverage.figures.STATION_FIGURES`);
- 建议站点 / Proposals — proposed new sites;
- 方案对比 / Comparison — scenario comparison (:func:`planner.workspace.scenario.compare`).

When any demand population is an estimate (the demand sheet's 人口来源 column), the gap
sheet shows that column and the title rows of the summary and gap sheets carry a note saying
so (:func:`estimate_note`).

Text cells and headers (names, townships, services, the title row) are data, never formulas:
one that a spreadsheet would read as a formula is written with a leading ``'``
(:func:`planner._text.neutralise_cell`), in the workbook and in :func:`csv_bytes` alike; the
GeoPackage keeps the text as it is.

Each sheet has a title row (the label, e.g. that the demo county is generated data),
a frozen bold header row, fitted column widths and number formats (thousands,
minutes, percent).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from numpy.typing import NDArray

from planner._atomic import scratch_dir
from planner._text import csv_bytes, neutralise_cell
from planner.coverage.analyse import AREA_COLUMNS, CoverageResult
from planner.coverage.figures import (
    ACCESS_COLUMN_FIGURES,
    ACCESS_FIGURES,
    EQUITY_FIGURES,
    HEADLINE_FIGURES,
    STATION_FIGURES,
    figure,
    label,
    no_demand_text,
)
from planner.i18n import get_language, t
from planner.report._xlsx import Column, Sheet, workbook_bytes
from planner.settings import TIERS
from planner.workspace.scenario import COMPARISON_COLUMNS

logger = logging.getLogger(__name__)

__all__ = [
    "DEMAND_COLUMNS",
    "SHEETS",
    "csv_bytes",
    "demand_table",
    "estimate_note",
    "excel_workbook",
    "geopackage_bytes",
    "localise",
    "summary_frame",
]

#: Sheet keys in workbook order (names come from ``exports.sheet.<key>``).
SHEETS: tuple[str, ...] = (
    "summary",
    "townships",
    "gaps",
    "stations",
    "access",
    "equity",
    "proposals",
    "comparison",
)

#: Number format per column key that is not a figure (figures: :attr:`planner.coverage.figures.Figure.excel_format`).
_FORMATS: dict[str, str] = {
    "population": "#,##0",
    "newly_covered_population": "#,##0",
    "covered_population_before": "#,##0",
    "covered_population_after": "#,##0",
    "delta_population": "+#,##0;-#,##0;0",
    "minutes": "0.0",
    "standard_minutes": "0",
    "beyond_min": "0.0",
    "percent_before": "0.00%",
    "percent_after": "0.00%",
    "lon": "0.000000",
    "lat": "0.000000",
    "newly_covered": "#,##0",
    "lost": "#,##0",
    "rank": "0",
}
#: Columns holding percentages 0–100 (written as fractions with a percent format).
_PERCENT = frozenset({"percent_population", "percent_before", "percent_after", "percent_within"})
#: Sheets whose title row carries the note that populations are estimated (:func:`estimate_note`).
_NOTED_SHEETS = frozenset({"summary", "gaps"})
#: Sheets whose figure columns are named (and formatted) by the figures table.
_FIGURE_SHEETS = frozenset({"summary", "townships", "stations", "access", "equity"})
#: Columns named and formatted by the figures table on those sheets.
_FIGURE_COLUMNS = frozenset(
    {*HEADLINE_FIGURES, *STATION_FIGURES, *(f.key for f in ACCESS_FIGURES), *(f.key for f in EQUITY_FIGURES)}
)
#: Columns whose values are translated (``tier.x``, ``mode.x``, ``exports.status.x`` ...).
_VALUE_KEYS: dict[str, str] = {
    "tier": "tier",
    "mode": "mode",
    "status": "exports.status",
    "change": "exports.change",
    "source": "exports.source",
    "population_source": "population.source",
    "method": "access.method",
}

_SUMMARY_COLUMNS = ("tier", "mode", "standard_minutes", *HEADLINE_FIGURES, "note")
_TOWNSHIP_COLUMNS = AREA_COLUMNS
_GAP_COLUMNS = (
    "rank",
    "tier",
    "township",
    "name",
    "id",
    "population",
    "population_source",
    "minutes",
    "beyond_min",
    "station_id",
    "status",
    "lon",
    "lat",
)
_STATION_COLUMNS = ("tier", "id", "name", "township", *STATION_FIGURES, "on_network", "lon", "lat")
_PROPOSAL_COLUMNS = ("rank", "tier", "site_id", "name", "township", "newly_covered_population", "source", "lon", "lat")
_COMPARISON_COLUMNS = COMPARISON_COLUMNS
#: The accessibility sheet: one row per demand point and tier (:func:`planner.workspace.access.access_tables`),
#: its ``value`` / ``normalised`` columns named by the figures table.
_ACCESS_COLUMNS = (
    "tier",
    "township",
    "name",
    "id",
    "population",
    "access_value",
    "access_normalised",
    "minutes",
    "method",
)
#: The equity sheet: per tier the county row, then one row per township.
_EQUITY_COLUMNS = ("tier", "township", "demand", "population", *(f.key for f in EQUITY_FIGURES))


def access_sheet(access: pd.DataFrame | None) -> pd.DataFrame:
    """The accessibility frame with its columns under their figure keys (the 可达性 sheet)."""
    if access is None:
        return pd.DataFrame(columns=list(_ACCESS_COLUMNS))
    renamed = access.rename(columns={k: v for k, v in ACCESS_COLUMN_FIGURES.items() if k in ("value", "normalised")})
    return _select(renamed, _ACCESS_COLUMNS)


def equity_sheet(equity: pd.DataFrame | None, *, lang: str | None = None) -> pd.DataFrame:
    """The equity frame with the county rows named (the 公平性 sheet; each tier's first row is the county)."""
    out = _select(equity, _EQUITY_COLUMNS)
    if len(out):
        county = ~out["tier"].astype(str).duplicated()  # each tier's first row is the whole county
        out["township"] = out["township"].astype(object).where(~county, t("exports.whole_county", lang=lang))
    return out


# =========================================================================== tables

#: Columns of ``demand.csv`` and the demand layer, in order (the first six are the documented contract;
#: ``population_source`` only when the demand table says where any population comes from).
DEMAND_COLUMNS: tuple[str, ...] = (
    "id",
    "tier",
    "minutes",
    "station_id",
    "covered",
    "snap_m",
    "name",
    "township",
    "population",
    "population_source",
    "status",
    "interval_min",
    "beyond_min",
    "on_main_network",
    "stranded",
    "lon",
    "lat",
)


def demand_table(result: CoverageResult) -> pd.DataFrame:
    """The per demand point × tier table in the documented column order."""
    d = result.demand
    return d[[c for c in DEMAND_COLUMNS if c in d]]


def estimate_note(summary: dict[str, Any], *, lang: str | None = None, short: bool = False) -> str | None:
    """The note that populations are estimates (``summary["population_estimates"]``), or None.

    The CLI summary and the workbook print the full note; ``short=True`` gives the one
    line under the app's figures (how many points, how many at their type's typical value).
    """
    est = summary.get("population_estimates")
    if not est:
        return None
    return t(
        "population.estimated_caption" if short else "population.estimated_note",
        lang=lang,
        estimated=est["estimated_points"],
        count=est["points"],
        population=f"{est['estimated_population']:,.0f}",
        typical=est["typical_points"],
        flagged=est["flagged_points"],
    )


def layer_names() -> dict[str, str]:
    """GeoPackage layer names in the active language."""
    keys = ("demand", "stations", "isochrones", "station_isochrones", "areas", "summary", "township_figures")
    return {k: t(f"report.layer.{k}") for k in keys}


def summary_frame(result: CoverageResult, *, lang: str | None = None) -> pd.DataFrame:
    """Per-tier figures as a table with canonical column keys.

    Columns ``tier, mode, standard_minutes``, the headline figures
    (:data:`planner.coverage.figures.HEADLINE_FIGURES`), taken from ``result.summary`` as they
    are, and ``note``: why a tier has no demand points
    (:func:`planner.coverage.figures.no_demand_text` in ``lang``), empty otherwise.
    """
    tiers: dict[str, dict[str, Any]] = result.summary.get("tiers", {})
    rows = []
    for tier in [str(x) for x in TIERS if str(x) in tiers]:
        s = tiers[tier]
        row: dict[str, Any] = {"tier": tier, "mode": s["mode"], "standard_minutes": s["minutes"]}
        row.update({k: s[k] for k in HEADLINE_FIGURES})
        if row["percent_population"] is None:
            row["percent_population"] = np.nan
        reason = s.get("no_demand_reason")
        row["note"] = no_demand_text(reason, lang=lang) if reason else ""
        rows.append(row)
    return pd.DataFrame(rows, columns=list(_SUMMARY_COLUMNS))


def _select(df: pd.DataFrame | None, columns: Sequence[str]) -> pd.DataFrame:
    if df is None:
        return pd.DataFrame(columns=list(columns))
    return df[[c for c in columns if c in df.columns]].reset_index(drop=True)


def _translate_value(prefix: str, value: object, lang: str | None) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return value
    key = f"{prefix}.{value}"
    text = t(key, lang=lang)
    return value if text.startswith(key) else text


def localise(df: pd.DataFrame, *, lang: str | None = None, figures: bool = False) -> pd.DataFrame:
    """Rename canonical columns to headers and translate tier / mode / status values.

    With ``figures`` (per-tier and per-township tables), columns that are figures are
    named by :func:`planner.coverage.figures.label`; otherwise (per demand point tables) by the
    column names. Unknown columns keep their names; unknown values are left as they are.
    """
    out = df.copy()
    for col, prefix in _VALUE_KEYS.items():
        if col in out.columns:
            uniq = pd.unique(out[col].astype(object))
            mapping = {u: _translate_value(prefix, u, lang) for u in uniq}
            out[col] = out[col].astype(object).map(mapping)
    return out.rename(columns={c: _header(str(c), lang, figures=figures) for c in out.columns})


def _header(col: str, lang: str | None, *, figures: bool = False) -> str:
    if figures and col in _FIGURE_COLUMNS:
        return label(col, lang=lang)
    key = f"exports.col.{col}"
    text = t(key, lang=lang)
    return col if text.startswith(key) else text


# =========================================================================== Excel


def _display_width(value: object) -> int:
    text = str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _cell_value(col: str, value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            return None
        return v / 100.0 if col in _PERCENT else v
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    return neutralise_cell(value)


def _column_width(values: pd.Series) -> int:
    """The widest display width (:func:`_display_width`) of a column's values written as text."""
    if not len(values):
        return 0
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "fiub":  # ASCII: the length of str(value)
        return int(np.char.str_len(values.to_numpy().astype(str)).max())
    best = 0
    for text in sorted((str(v) for v in pd.unique(values.to_numpy(dtype=object))), key=len, reverse=True):
        if 2 * len(text) <= best or best >= 40:  # no shorter text can be wider; widths stop at 40
            break
        best = max(best, _display_width(text))
    return best


def _cells(col: str, values: pd.Series) -> NDArray[Any]:
    """A column's cell values (:func:`_cell_value`): float, integer and boolean columns stay arrays."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        arr = values.to_numpy()
        if dtype.kind == "f":
            arr = arr.astype(np.float64) / 100.0 if col in _PERCENT else arr.astype(np.float64)
        return arr
    objects = values.to_numpy(dtype=object)
    missing = pd.isna(objects)
    if all(isinstance(v, str) for v in objects[~missing]):  # text: only the formula guard to apply
        texts = [None if m else neutralise_cell(v) for v, m in zip(objects, missing, strict=True)]
        return np.array(texts, dtype=object)
    return np.array([_cell_value(col, v) for v in objects], dtype=object)


def _sheet(*, key: str, frame: pd.DataFrame, title: str, lang: str | None) -> Sheet:
    """One workbook sheet: title row, header row, the frame's rows with number formats, fitted widths."""
    cols = [str(c) for c in frame.columns]
    shown = localise(frame, lang=lang, figures=key in _FIGURE_SHEETS)
    headers = [str(neutralise_cell(str(h))) for h in shown.columns]
    columns, widths = [], []
    for j, col in enumerate(cols):
        fmt = figure(col).excel_format if key in _FIGURE_SHEETS and col in _FIGURE_COLUMNS else _FORMATS.get(col)
        values = shown.iloc[:, j]
        columns.append(Column(values=_cells(col, values), number_format=fmt))
        longest = _column_width(values)
        widths.append(max(8, max(_display_width(shown.columns[j]), min(longest, 40)) + 2))
    return Sheet(
        name=t(f"exports.sheet.{key}", lang=lang),
        title=str(neutralise_cell(title)),
        headers=headers,
        columns=columns,
        widths=widths,
        n_rows=len(shown),
        empty_note=t("exports.none", lang=lang),
    )


def excel_workbook(
    *,
    result: CoverageResult,
    proposals: pd.DataFrame | None = None,
    comparison: pd.DataFrame | None = None,
    access: pd.DataFrame | None = None,
    equity: pd.DataFrame | None = None,
    label: str = "",
    lang: str | None = None,
) -> bytes:
    """An ``.xlsx`` workbook of coverage statistics for reports.

    Parameters
    ----------
    result
        Coverage result (:func:`planner.coverage.analyse.analyse` or
        :meth:`planner.workspace.workspace.Workspace.evaluate`).
    proposals
        Proposed sites (:meth:`planner.workspace.workspace.Workspace.propose`); sheet left empty
        with a note when ``None``.
    comparison
        Scenario comparison (:func:`planner.workspace.scenario.compare`); likewise.
    access, equity
        Accessibility per demand point and equity per tier and township
        (:func:`planner.workspace.access.access_tables`); likewise.
    label
        Shown in every sheet's title row (e.g. the demo county's label saying the data
        are generated).
    lang
        ``"zh"`` or ``"en"``; default the active language.

    Returns
    -------
    bytes
        The workbook file.
    """
    lang = lang or get_language()
    frames: dict[str, pd.DataFrame] = {
        "summary": summary_frame(result, lang=lang),
        "townships": _select(result.areas, _TOWNSHIP_COLUMNS),
        "gaps": _select(result.gaps, _GAP_COLUMNS),
        "stations": _select(result.stations, _STATION_COLUMNS),
        "access": access_sheet(access),
        "equity": equity_sheet(equity, lang=lang),
        "proposals": _select(proposals, _PROPOSAL_COLUMNS),
        "comparison": _select(comparison, _COMPARISON_COLUMNS),
    }
    note = estimate_note(result.summary, lang=lang)
    sheets = []
    for key in SHEETS:
        sheet_title = t(f"exports.title.{key}", lang=lang)
        title = t("exports.title_row", lang=lang, label=label, title=sheet_title) if label else sheet_title
        if note and key in _NOTED_SHEETS:  # in the title row: the rows below stay one table
            title = f"{title}　{note}"
        sheets.append(_sheet(key=key, frame=frames[key], title=title, lang=lang))
    data = workbook_bytes(
        sheets, title=label or t("exports.title.summary", lang=lang), creator=t("exports.creator", lang=lang)
    )
    logger.info("excel workbook: %d bytes, %s", len(data), ", ".join(f"{k}={len(v)}" for k, v in frames.items()))
    return data


# =========================================================================== CSV and GeoPackage


def _points(df: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        df.reset_index(drop=True),
        geometry=gpd.points_from_xy(df["lon"].astype(float), df["lat"].astype(float)),
        crs="EPSG:4326",
    )


def _demand_layer(result: CoverageResult) -> gpd.GeoDataFrame:
    d = demand_table(result).copy()
    d["covered"] = d["covered"].astype("object").where(d["covered"].notna(), None)
    return _points(d)


def geopackage_bytes(
    *,
    result: CoverageResult,
    isochrones: gpd.GeoDataFrame | None = None,
    station_isochrones: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    proposals: pd.DataFrame | None = None,
) -> bytes:
    """The GeoPackage of a result: every layer, and the figures as attribute tables.

    Layers (names in the active language, :func:`layer_names`): demand points, stations,
    gaps, isochrones, per-station isochrones, township polygons, proposals; tables
    ``summary`` (one row per tier, :func:`summary_frame`) and ``township_figures``
    (:attr:`~planner.coverage.analyse.CoverageResult.areas`). Attribute names are the canonical
    keys of :mod:`planner.coverage.figures`; all layers are EPSG:4326 and open in QGIS.
    """
    names = layer_names()
    layers: list[tuple[str, Callable[[], pd.DataFrame]]] = [
        (names["demand"], lambda: _demand_layer(result)),
        (names["stations"], lambda: _points(result.stations)),
    ]
    if len(result.gaps):
        layers.append((t("exports.layer.gaps"), lambda: _gap_layer(result.gaps)))
    if isochrones is not None and len(isochrones):
        layers.append((names["isochrones"], lambda: isochrones.to_crs("EPSG:4326")))
    if station_isochrones is not None and len(station_isochrones):
        layers.append((names["station_isochrones"], lambda: station_isochrones.to_crs("EPSG:4326")))
    if areas is not None and len(areas):
        layers.append((names["areas"], lambda: areas.to_crs("EPSG:4326")))
    if proposals is not None and len(proposals):
        layers.append((t("exports.layer.proposals"), lambda: _points(proposals)))
    layers.append((names["summary"], lambda: summary_frame(result)))
    layers.append((names["township_figures"], lambda: result.areas.reset_index(drop=True)))
    with scratch_dir(prefix="planner-gpkg-") as tmp:  # a full temporary disk is an OutputError
        path = tmp / "export.gpkg"
        for k, (name, make) in enumerate(layers):
            pyogrio.write_dataframe(make(), path, layer=name, driver="GPKG", append=k > 0)
        data = path.read_bytes()
    logger.info("geopackage: %d bytes, layers %s", len(data), ", ".join(n for n, _ in layers))
    return data


def _gap_layer(gaps: pd.DataFrame) -> gpd.GeoDataFrame:
    g = gaps.copy()
    if "covered" in g:
        g["covered"] = g["covered"].astype("object").where(g["covered"].notna(), None)
    return _points(g)
