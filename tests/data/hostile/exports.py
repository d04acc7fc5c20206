"""Hostile names in the exports: the demo county renamed with payloads, and an OSM file whose names are payloads.

:func:`named_county` gives the generated demo county with every station, organisation, demand
point and township named by a payload of :data:`tests.data.hostile.NAMES`, in turn (the
payloads are data that must come out of every export as data). :func:`write_named_osm`
writes a tiny OSM XML file with one community centre per payload, for ``planner extract``.
:func:`workbook_cells` and :func:`csv_rows` open an export back as a spreadsheet would, and
:func:`shown_in_a_sheet` says what a cell must hold for a payload.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.cell.cell import Cell

from planner.demo.county import DemoCounty, generate_county, write_demo
from planner.settings import Config
from planner.workspace.scenario import BASELINE_SCENARIO, Scenario
from planner.workspace.workspace import Workspace
from tests.data.hostile import NAMES
from tests.helpers import local_lonlat

#: What a spreadsheet treats as the start of a formula (OWASP CSV injection).
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would read ``text`` as a formula (written independently of the code under test)."""
    return text.startswith(FORMULA_STARTS)


def _in_turn(n: int, names: Sequence[str], *, offset: int = 0) -> list[str]:
    return [names[(k + offset) % len(names)] for k in range(n)]


def formula_text(rows: list[list[str]]) -> list[str]:
    """Cells of CSV ``rows`` a spreadsheet reads as formulas (text starting one; a number like ``-2.0`` is none)."""
    out = []
    for cell in (c for r in rows for c in r if is_formula_like(c)):
        try:
            float(cell)
        except ValueError:
            out.append(cell)
    return out


def shown_in_a_sheet(text: str) -> str:
    """What a workbook or CSV cell must hold for ``text``: ``'`` before a formula start (OWASP), else ``text``."""
    return "'" + text if is_formula_like(text) else text


def workbook_cells(data: bytes) -> list[Cell]:
    """Every cell of an ``.xlsx`` file (opened fully, so each cell keeps its ``data_type``)."""
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=False)
    try:
        return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c, Cell)]
    finally:
        wb.close()


def csv_rows(data: bytes) -> list[list[str]]:
    """The rows of a CSV file as a spreadsheet splits them (UTF-8 with BOM; CR, LF and CR LF end a row)."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def named_demo_county(*, names: Sequence[str] = NAMES, offset: int = 0, label: str = "示例县") -> DemoCounty:
    """The demo county (:func:`generate_county`) with its names replaced by ``names`` in turn.

    Station ``k`` is named ``names[k]`` and run by ``names[k + 1]``; demand point ``k`` is
    named ``names[k]``; township ``k`` (of 14) is named ``names[k + offset]`` in the
    township layer and in the demand table (so ``offset=14`` names them by the rest of
    :data:`NAMES`).
    """
    county = generate_county(seed=2024)
    stations = county.stations.copy()
    stations["name"] = _in_turn(len(stations), names)
    stations["organisation"] = _in_turn(len(stations), names, offset=1)
    townships = county.townships.copy()
    renamed = dict(zip(townships["name"], _in_turn(len(townships), names, offset=offset), strict=True))
    townships["name"] = townships["name"].map(renamed)
    demand = county.demand.copy()
    demand["name"] = _in_turn(len(demand), names)
    demand["township"] = pd.Series(demand["township"].astype(object).map(renamed), dtype=object)
    return replace(county, stations=stations, demand=demand, townships=townships, label=label)


def named_county(*, names: Sequence[str] = NAMES, offset: int = 0, label: str = "示例县") -> tuple[Workspace, Scenario]:
    """:func:`named_demo_county` as a workspace (labelled ``label``) and its stations, like ``from_demo``."""
    county = named_demo_county(names=names, offset=offset, label=label)
    ws = Workspace(network=county.network, demand=county.demand, config=Config(), areas=county.townships,
                   label=county.label)  # fmt: skip
    return ws, Scenario(name=BASELINE_SCENARIO, stations=county.stations)


def write_named_inputs(directory: Path, *, names: Sequence[str] = NAMES) -> dict[str, Path]:
    """The files of :func:`named_demo_county` as a user would give them (:func:`write_demo`'s paths).

    The stations and demand sheets hold the payloads as they are (CSV with CR LF rows, so a
    name holding a carriage return stays in its cell); roads and townships as the demo writes them.
    """
    county = named_demo_county(names=names)
    paths = write_demo(directory, county=county)
    sheets = {
        "stations": county.stations[["id", "name", "tier", "lon", "lat", "organisation", "services"]],
        "demand": county.demand[["id", "name", "population", "lon", "lat", "township", "kind"]],
    }
    for key, frame in sheets.items():
        frame.to_csv(paths[key], index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return paths


def _attribute(text: str) -> str:
    """``text`` as an XML attribute value: markup escaped, tab and carriage return as character references."""
    out = text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace("\t", "&#9;").replace("\r", "&#13;").replace("\n", "&#10;")


def write_named_osm(path: Path, *, names: Sequence[str] = NAMES) -> Path:
    """A tiny OSM XML file whose names are ``names``: for each non-blank one a community centre and a village.

    The centres (``amenity=community_centre``, operator and street the name too) are village
    stations for ``planner extract``; the villages (``place=village``, 100 people) its demand
    points; a residential road runs beside them.
    """
    kept = [n for n in names if n.strip()]
    nodes, refs = [], []

    def node(i: int, x_m: float, y_m: float, tags: dict[str, str]) -> None:
        lon, lat = local_lonlat(x_m, y_m)
        body = "".join(f'<tag k="{key}" v="{_attribute(v)}"/>' for key, v in tags.items())
        nodes.append(f'<node id="{i}" version="1" lat="{lat:.9f}" lon="{lon:.9f}">{body}</node>')

    for k, name in enumerate(kept):
        node(
            k + 1, 300.0 * k, 0.0, {"amenity": "community_centre", "name": name, "operator": name, "addr:street": name}
        )
        node(2000 + k, 300.0 * k, 60.0, {"place": "village", "name": name, "population": "100"})
        node(1000 + k, 300.0 * k, 20.0, {})
        refs.append(f'<nd ref="{1000 + k}"/>')
    way = f'<way id="5000" version="1">{"".join(refs)}<tag k="highway" v="residential"/></way>'
    body = "\n".join([*nodes, way])
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n{body}\n</osm>\n', "utf-8")
    return path
