"""Tests for planner.inputs.osm_population: calibration, plausibility, unnamed settlements.

Hand-built OSM files (tests.helpers.OsmWriter) whose expected populations are computed
here from geodesic building areas, and (shared) 贵溪.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from planner.inputs.osm_population import (
    CALIBRATION_RANGE,
    FLOOR_AREA_PER_PERSON_M2,
    JOIN_DISTANCE_M,
    PLACE_CATEGORIES,
    PLACE_TYPE_CATEGORY,
    extract_demand,
)
from planner.inputs.osm_sheets import write_demand_sheet
from planner.inputs.population_source import FLAGGED_SOURCES
from planner.inputs.tables import read_demand
from tests.helpers import OsmWriter

SHARED = Path(__file__).resolve().parents[2] / "shared"
GEOD = Geod(ellps="WGS84")
#: Names the old extract gave unnamed building cells.
GRID_NAME = re.compile(r"b\d+")


def _block(w: OsmWriter, x0: float, y0: float, *, n: int, size_m: float, levels: int) -> float:
    """``n`` square houses of ``size_m`` with ``levels`` storeys in a row east of (x0, y0); their floor area (m²)."""
    floor = 0.0
    for k in range(n):
        _, corners = w.ring(
            x0 + k * (size_m + 10), y0, size_m, size_m, building="house", **{"building:levels": str(levels)}
        )
        lons, lats = zip(*corners, strict=True)
        floor += abs(GEOD.polygon_area_perimeter(lons, lats)[0]) * levels
    return floor


def _villages(tmp_path: Path, ratios: list[float]) -> tuple[Path, dict[str, float]]:
    """Villages 5 km apart with buildings; the first ``len(ratios)`` tagged ``ratio × building estimate``.

    Returns the file and each untagged village's building estimate (persons).
    """
    rural = FLOOR_AREA_PER_PERSON_M2["rural"]
    w = OsmWriter()
    untagged: dict[str, float] = {}
    for k in range(len(ratios) + 2):
        x = 5000.0 * k
        floor = _block(w, x + 50, 50, n=3 + k, size_m=30, levels=3)
        name = f"第{k + 1}村"
        if k < len(ratios):
            w.node(x, 0, place="village", name=name, population=str(round(ratios[k] * floor / rural)))
        else:
            w.node(x, 0, place="village", name=name)
            untagged[name] = floor / rural
    return w.write(tmp_path / "villages.osm"), untagged


# ----------------------------------------------------------------------- calibration
def test_calibration_on_tagged_places(tmp_path: Path) -> None:
    ratios = [2.0, 2.5, 3.0, 10.0]  # the median (2.75) is robust to the outlier
    path, untagged = _villages(tmp_path, ratios)
    df = extract_demand(path).set_index("name")
    for name, raw in untagged.items():
        assert df.loc[name, "population"] == pytest.approx(raw * 2.75, rel=1e-2)
        assert df.loc[name, "method"].startswith("buildings×2.7")
        assert df.loc[name, "population_source"] == "estimate" and df.loc[name, "estimated"]
    tagged = df["population_source"] == "osm_tag"
    assert tagged.sum() == len(ratios) and not df.loc[tagged, "estimated"].any()
    # off: the plain building estimate
    plain = extract_demand(path, calibrate=False).set_index("name")
    for name, raw in untagged.items():
        assert plain.loc[name, "population"] == pytest.approx(raw, rel=2e-3)
        assert plain.loc[name, "method"] == "buildings"


def test_calibration_needs_three_tags_and_is_clipped(tmp_path: Path) -> None:
    path, untagged = _villages(tmp_path, [3.0, 3.0])
    df = extract_demand(path).set_index("name")
    for name, raw in untagged.items():  # two tags: not enough to calibrate
        assert df.loc[name, "population"] == pytest.approx(raw, rel=2e-3)
    path, untagged = _villages(tmp_path, [40.0, 40.0, 40.0])
    df = extract_demand(path).set_index("name")
    for name, raw in untagged.items():  # ×40 is no calibration but a different data set: clipped
        assert df.loc[name, "population"] == pytest.approx(raw * CALIBRATION_RANGE[1], rel=2e-3)


# ---------------------------------------------------------------------- plausibility
def test_plausibility_table() -> None:
    for key, cat in PLACE_CATEGORIES.items():
        assert 0 < cat.low <= cat.typical <= cat.high, key
        assert cat.floor_area in FLOOR_AREA_PER_PERSON_M2, key
    assert set(PLACE_TYPE_CATEGORY.values()) <= set(PLACE_CATEGORIES)
    # a 社区 of a few hundred people is flagged
    assert PLACE_CATEGORIES["community"].low > 300


def test_estimates_below_the_range_take_the_typical_value_above_are_flagged(tmp_path: Path) -> None:
    """One tiny house does not make a 社区 of 8 people: the typical 社区, marked, the 8 kept aside."""
    w = OsmWriter()
    w.node(0, 0, place="quarter", name="东街社区")
    small = _block(w, 30, 30, n=1, size_m=10, levels=3)  # one house: ~8 people
    w.node(5000, 0, place="hamlet", name="大岩苏家")
    big = _block(w, 5030, 30, n=10, size_m=40, levels=5)  # ~1,700 people in a 自然村
    w.node(10000, 0, place="village", name="花园村")
    fine = _block(w, 10030, 30, n=10, size_m=20, levels=3)  # ~256 people: inside a 行政村's range
    w.node(15000, 0, place="quarter", name="信江社区", population="50")  # a tag is data: never flagged
    _block(w, 15030, 30, n=1, size_m=10, levels=3)
    w.node(20000, 0, place="quarter", name="西街社区")  # no buildings: the typical 社区
    df = extract_demand(w.write(tmp_path / "flags.osm")).set_index("name")
    east = df.loc["东街社区"]
    assert east["population"] == PLACE_CATEGORIES["community"].typical
    assert east["population_source"] == "typical_low_buildings" and east["category"] == "community"
    assert east["building_population"] == pytest.approx(small / FLOOR_AREA_PER_PERSON_M2["urban"], rel=2e-3)
    assert east["buildings"] == 1 and east["estimated"] and east["method"] == "default:quarter"
    hamlet = df.loc["大岩苏家"]  # too many people: kept, flagged
    assert hamlet["population"] == pytest.approx(big / FLOOR_AREA_PER_PERSON_M2["rural"], rel=2e-3)
    assert hamlet["population"] > PLACE_CATEGORIES["natural_village"].high
    assert hamlet["population_source"] == "estimate_high" and hamlet["category"] == "natural_village"
    assert hamlet["building_population"] == hamlet["population"]
    village = df.loc["花园村"]
    assert village["population"] == pytest.approx(fine / FLOOR_AREA_PER_PERSON_M2["rural"], rel=2e-3)
    assert PLACE_CATEGORIES["admin_village"].low < village["population"] < PLACE_CATEGORIES["admin_village"].high
    assert village["population_source"] == "estimate" and village["building_population"] == village["population"]
    tagged = df.loc["信江社区"]  # a tag is data: never replaced, its one house shown beside it
    assert tagged["population"] == 50 and tagged["population_source"] == "osm_tag" and not tagged["estimated"]
    assert 0 < tagged["building_population"] < 50
    west = df.loc["西街社区"]
    assert west["population"] == PLACE_CATEGORIES["community"].typical
    assert west["population_source"] == "estimate_default" and west["buildings"] == 0
    assert np.isnan(west["building_population"])


def test_calibrated_estimate_is_compared_with_the_range(tmp_path: Path) -> None:
    """×2.5 lifts 城南社区 (~740 by its buildings) into a 社区's range; 城北社区 (~20 after ×2.5) is not."""
    urban, rural = FLOOR_AREA_PER_PERSON_M2["urban"], FLOOR_AREA_PER_PERSON_M2["rural"]
    w = OsmWriter()
    for k in range(3):
        floor = _block(w, 5000.0 * k + 50, 50, n=4, size_m=30, levels=3)
        w.node(5000.0 * k, 0, place="village", name=f"第{k + 1}村", population=str(round(2.5 * floor / rural)))
    south = _block(w, 15050, 50, n=10, size_m=30, levels=3)
    w.node(15000, 0, place="quarter", name="城南社区")
    north = _block(w, 20050, 50, n=1, size_m=10, levels=3)
    w.node(20000, 0, place="quarter", name="城北社区")
    df = extract_demand(w.write(tmp_path / "calibrated.osm")).set_index("name")
    low = PLACE_CATEGORIES["community"].low
    assert south / urban < low < 2.5 * south / urban
    s = df.loc["城南社区"]
    assert s["population"] == pytest.approx(2.5 * south / urban, rel=1e-2) and s["population_source"] == "estimate"
    assert s["method"].startswith("buildings×2.5")
    n = df.loc["城北社区"]
    assert n["population"] == PLACE_CATEGORIES["community"].typical
    assert n["population_source"] == "typical_low_buildings"
    assert n["building_population"] == pytest.approx(2.5 * north / urban, rel=1e-2)


# ------------------------------------------------------------------ unnamed clusters
def test_unnamed_clusters_join_the_nearest_named_place(tmp_path: Path) -> None:
    w = OsmWriter()
    w.node(0, 0, place="quarter", name="城南社区")
    own = _block(w, 30, 30, n=2, size_m=20, levels=4)
    # beyond the quarter's 1 km catchment, within the join distance: its people go to 城南社区
    near = _block(w, 1300, 0, n=3, size_m=12, levels=2)
    w.node(1900, 700, place="hamlet")  # an unnamed place nearer to the cluster is no join target
    # far from any named place: one next to a named road, one with no road near
    road_side = _block(w, 6000, 0, n=2, size_m=12, levels=2)
    w.line([(5800, 60), (6300, 60)], highway="residential", name="建设路")
    w.line([(6000, 400), (6300, 400)], highway="footway")  # no name: not used
    lone = _block(w, 12000, 0, n=1, size_m=12, levels=2)
    df = extract_demand(w.write(tmp_path / "clusters.osm"))
    assert JOIN_DISTANCE_M >= 1300
    by_name = df.set_index("name")
    q = by_name.loc["城南社区"]
    assert q["buildings"] == 5
    assert q["building_population"] == pytest.approx((own + near) / FLOOR_AREA_PER_PERSON_M2["urban"], rel=2e-3)
    # the joined cluster does not turn a 社区 into ~110 people: the typical 社区, marked
    assert q["population"] == PLACE_CATEGORIES["community"].typical
    assert q["population_source"] == "typical_low_buildings"
    alone = df[df["category"] == "settlement"].sort_values("lon")
    assert alone["name"].tolist() == ["未命名居民点 2（建设路附近）", "未命名居民点 3"]
    assert alone["id"].tolist() == ["u1", "u2"]
    np.testing.assert_allclose(
        alone["population"], np.array([road_side, lone]) / FLOOR_AREA_PER_PERSON_M2["all"], rtol=1e-3
    )
    assert (alone["population_source"] == "estimate").all()
    # the unnamed hamlet keeps its typical population and gets a readable name too
    hamlet = df[df["category"] == "natural_village"]
    assert hamlet["name"].tolist() == ["未命名居民点 1"]
    assert not df["name"].str.fullmatch(GRID_NAME.pattern).any() and (df["name"] != "").all()
    assert df["id"].is_unique and df["name"].is_unique


def test_population_source_survives_the_sheet(tmp_path: Path) -> None:
    w = OsmWriter()
    w.node(0, 0, place="village", name="第1村", population="800")
    w.node(5000, 0, place="village", name="第2村")
    _block(w, 5050, 50, n=10, size_m=30, levels=3)  # ~580 people: a 行政村
    w.node(10000, 0, place="quarter", name="东街社区")
    _block(w, 10030, 30, n=1, size_m=10, levels=3)
    w.node(15000, 0, place="hamlet", name="黄坑")
    df = extract_demand(w.write(tmp_path / "sheet.osm"))
    assert set(df["population_source"]) == {"osm_tag", "estimate", "typical_low_buildings", "estimate_default"}
    for suffix in (".csv", ".xlsx"):
        back = read_demand(write_demand_sheet(df, tmp_path / f"demand{suffix}"))
        assert back["population_source"].tolist() == df["population_source"].tolist()
    sheet = pd.read_csv(tmp_path / "demand.csv", encoding="utf-8-sig", dtype=str).set_index("名称")
    assert list(sheet.columns[-3:]) == ["人口来源", "建筑数", "建筑估算人口"]
    assert sheet.loc["第1村", "人口来源"] == "OSM标注"
    east = sheet.loc["东街社区"]
    assert east["人口来源"] == "估算（建筑数据不全，按类型典型值，请核实）"
    assert east["人口"] == f"{PLACE_CATEGORIES['community'].typical:.0f}" and 0 < int(east["建筑估算人口"]) < 100
    assert pd.isna(sheet.loc["黄坑", "建筑估算人口"])  # no buildings: no building estimate


# --------------------------------------------------------------------- shared data
@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared not present")
def test_guixi_estimates_plausible_or_flagged() -> None:
    """贵溪: 社区 with one or two mapped houses (22–101 people by them) are typical 社区, marked; no b1…b8."""
    df = extract_demand(SHARED / "data" / "guixi_center.osm").set_index("name")
    low = PLACE_CATEGORIES["community"].low
    for name in ("炼厂社区", "化肥厂社区", "东街社区", "信江社区"):
        row = df.loc[name]
        assert row["category"] == "community"
        assert row["population"] >= low and row["population_source"] == "typical_low_buildings", name
        assert 0 < row["building_population"] < low and row["buildings"] >= 1, name
    typical = df["population_source"] == "typical_low_buildings"
    cats = df.loc[typical, "category"].map(PLACE_CATEGORIES)
    assert all(r < c.low for c, r in zip(cats, df.loc[typical, "building_population"], strict=True))
    est = df[df["estimated"]]
    cats = est["category"].map(PLACE_CATEGORIES)
    inside = [c.low <= p <= c.high for c, p in zip(cats, est["population"], strict=True)]
    assert (est["population_source"].isin(FLAGGED_SOURCES) == ~np.array(inside)).all()
    assert not df.index.str.fullmatch(GRID_NAME.pattern).any()
    assert not df["id"].str.fullmatch(GRID_NAME.pattern).any() and (df.index != "").all()
    assert df["estimated"].all()  # the file tags only the city (城区人口), which is not a demand point
