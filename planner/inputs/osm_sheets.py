"""Write extracted stations and demand points as sheets to review and edit.

:func:`write_station_sheet` and :func:`write_demand_sheet` write the tables of
:func:`planner.inputs.osm_extract.extract_stations` and
:func:`planner.inputs.osm_population.extract_demand` as CSV (UTF-8 with BOM, opens in
Excel) or XLSX, with the Chinese headers and words :mod:`planner.inputs.tables` reads
back.

Names, operators and addresses come from OSM, which anyone may edit: text that a spreadsheet
would read as a formula (``=HYPERLINK(...)``) is written with a leading ``'``
(:func:`planner._text.neutralise_frame`), which the readers drop again
(:func:`planner._text.restore_cell`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
import pandas as pd

from planner._atomic import atomic_write
from planner._errors import InputError, OutputError
from planner._text import csv_bytes, neutralise_frame
from planner.inputs.population_source import source_word

__all__ = ["write_demand_sheet", "write_station_sheet"]

#: Sheet headers (read back by :mod:`planner.inputs.tables`).
STATION_HEADERS: Mapping[str, str] = {
    "id": "编号",
    "name": "名称",
    "tier": "层级",
    "lon": "经度",
    "lat": "纬度",
    "organisation": "运营单位",
    "services": "服务项目",
    "address": "地址",
    "rule": "匹配规则",
}
DEMAND_HEADERS: Mapping[str, str] = {
    "id": "编号",
    "name": "名称",
    "population": "人口",
    "lon": "经度",
    "lat": "纬度",
    "township": "所属乡镇",
    "kind": "类型",
    "estimated": "是否估算",
    "method": "估算方法",
    "population_source": "人口来源",
    "buildings": "建筑数",
    "building_population": "建筑估算人口",
}
_TIER_WORDS: Mapping[str, str] = {"county": "县级", "township": "乡镇", "village": "村（社区）", "enterprise": "企业"}
_KIND_WORDS: Mapping[str, str] = {"village": "村", "community": "社区", "enterprise": "企业"}


def _write_sheet(df: pd.DataFrame, path: str | Path, *, headers: Mapping[str, str], sheet_name: str) -> Path:
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InputError("extract.bad_sheet_suffix", file=str(p))
    if not p.parent.is_dir():
        raise InputError("extract.no_folder", file=str(p))
    out = df[list(headers)].rename(columns=dict(headers))
    try:
        if suffix == ".csv":
            with atomic_write(p, mode="wb") as fb:
                fb.write(csv_bytes(out))
        else:
            with atomic_write(p, mode="wb") as fb, pd.ExcelWriter(cast(BinaryIO, fb), engine="openpyxl") as xw:
                neutralise_frame(out).to_excel(xw, index=False, sheet_name=sheet_name)
    except OutputError:  # already says where, why and how to fix
        raise
    except OSError as exc:
        raise InputError("extract.cannot_write", file=str(p), reason=exc.strerror or str(exc)) from None
    return p


def write_station_sheet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write candidate stations as a CSV (UTF-8 with BOM, opens in Excel) or XLSX sheet.

    Headers are 编号, 名称, 层级, 经度, 纬度, 运营单位, 服务项目, 地址, 匹配规则 — read back by
    :func:`planner.inputs.tables.read_stations` (the rule column is extra and ignored there).
    Tiers are written as Chinese words (县级, 乡镇, 村（社区）, 企业). The file is
    replaced atomically.

    Raises
    ------
    InputError
        Suffix other than ``.csv`` / ``.xlsx``, missing folder or a failed write.
    """
    sheet = df.copy()
    sheet["tier"] = sheet["tier"].map(lambda x: _TIER_WORDS.get(str(x), str(x)))
    sheet["lon"] = sheet["lon"].round(7)
    sheet["lat"] = sheet["lat"].round(7)
    return _write_sheet(sheet, path, headers=STATION_HEADERS, sheet_name="站点")


def sheet_population(population: pd.Series) -> pd.Series:
    """Populations as the demand sheet writes them: whole persons, at least 1 (totals are summed from these)."""
    return pd.Series(np.maximum(np.round(population.astype(float)), 1).astype(np.int64), index=population.index)


def write_demand_sheet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write demand points as a CSV (UTF-8 with BOM) or XLSX sheet.

    Headers 编号, 名称, 人口, 经度, 纬度, 所属乡镇, 类型 (村 / 社区 / empty), 是否估算 (是 /
    否), 估算方法, 人口来源 (OSM标注 / 估算 / 估算（类型典型值） /
    估算（建筑数据不全，按类型典型值，请核实） / 估算（偏低，请核实） / 估算（偏高，请核实）,
    :mod:`planner.inputs.population_source`), 建筑数
    (residential buildings counted), 建筑估算人口 (the people of those buildings, also where
    the population used is a tag or a typical value; empty without buildings) — read back by
    :func:`planner.inputs.tables.read_demand` (人口来源 too; 建筑数 and 建筑估算人口 are
    information only). Populations are rounded to whole persons (人口 at least 1).
    """
    sheet = df.copy()
    sheet["population_source"] = sheet["population_source"].map(lambda x: source_word(str(x), lang="zh"))
    sheet["kind"] = sheet["kind"].map(lambda x: _KIND_WORDS.get(str(x), ""))
    sheet["estimated"] = np.where(sheet["estimated"].astype(bool), "是", "否")
    sheet["population"] = sheet_population(sheet["population"])
    sheet["building_population"] = np.round(sheet["building_population"].astype(float)).astype("Int64")
    sheet["lon"] = sheet["lon"].round(7)
    sheet["lat"] = sheet["lat"].round(7)
    return _write_sheet(sheet, path, headers=DEMAND_HEADERS, sheet_name="需求点")
