"""Tests for planner.inputs.tables and planner.inputs._validate: good samples, the bad corpus, fuzzing."""

import json
import logging
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner._errors import InputError
from planner.i18n import set_language
from planner.inputs._validate import InputProblemsError, normalise_header, parse_coordinates, parse_population
from planner.inputs.coords import from_wgs84, to_wgs84
from planner.inputs.limits import Limits
from planner.inputs.tables import (
    combine_demand,
    read_areas,
    read_candidates,
    read_demand,
    read_demand_files,
    read_stations,
    read_table,
)

DATA = Path(__file__).parent / "data"
GOOD = DATA / "good"
BAD = DATA / "bad"
STATIONS_CSV = GOOD / "stations.csv"
DEMAND_CSV = GOOD / "demand.csv"

# What tests/data/good/stations.csv says, typed out by hand (independent of the reader).
EXPECTED_STATIONS = pd.DataFrame(
    {
        "id": ["S01", "S02", "S03", "S04"],
        "tier": ["county", "township", "village", "enterprise"],
        "lon": [118.1702, 118.1551, 118.2208, 118.1893],
        "lat": [36.1853, 36.1702, 36.2011, 36.1654],
        "services": ["法律咨询、就业服务、心理疏导", "妈妈小屋、四点半课堂", "AED、急救包", "职工书屋"],
        "township": ["历山街道", "南麻街道", "东里镇", "南麻街道"],
        "source_row": [2, 3, 4, 5],
    }
)


def _check_stations(df: pd.DataFrame) -> None:
    assert list(df.columns) == [
        "id",
        "name",
        "tier",
        "lon",
        "lat",
        "organisation",
        "services",
        "address",
        "township",
        "source_row",
    ]
    for col in EXPECTED_STATIONS.columns:
        if col in ("lon", "lat"):
            np.testing.assert_allclose(df[col].to_numpy(), EXPECTED_STATIONS[col].to_numpy(), atol=1e-12)
        else:
            assert df[col].tolist() == EXPECTED_STATIONS[col].tolist(), col
    assert df["name"].iloc[0] == "沂源县党群服务中心"
    assert df["organisation"].iloc[3] == "鲁阳纺织有限公司"


@pytest.fixture(autouse=True)
def _chinese():
    set_language("zh")
    yield
    set_language("zh")


# ============================================================== good samples, every format
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_encodings_and_delimiters(tmp_path, encoding, delimiter):
    frame = pd.read_csv(STATIONS_CSV, dtype=str, keep_default_na=False)
    path = tmp_path / "站点.csv"
    frame.to_csv(path, sep=delimiter, index=False, encoding=encoding)
    _check_stations(read_stations(path))


def test_gbk_file_is_detected_and_logged(tmp_path, caplog):
    path = tmp_path / "gbk.csv"
    path.write_bytes(STATIONS_CSV.read_text(encoding="utf-8").encode("gbk"))
    with caplog.at_level(logging.INFO, logger="planner"):
        _check_stations(read_stations(path))
    assert "GBK" in caplog.text


def test_title_row_above_header_and_header_variants(tmp_path):
    text = (
        "沂源县群团服务站点一览表,,,,\n"
        " ID , 站点名称 ,Level,LNG（GCJ-02）,【纬度】\n"
        "1,东里村群团服务站,驿站,118.2208,36.2011\n"
    )
    path = tmp_path / "title.csv"
    path.write_text(text, encoding="utf-8")
    df = read_stations(path)
    assert df["id"].tolist() == ["1"] and df["tier"].tolist() == ["village"]
    assert df["source_row"].tolist() == [3]  # spreadsheet row numbers count the title row


@pytest.mark.parametrize("header", ["容量", "服务能力", "服务人口上限", "capacity"])
def test_station_and_candidate_capacity_columns(tmp_path, header):
    text = (
        f"编号,名称,层级,经度,纬度,{header}\n"
        "1,甲站,村,118.22,36.20,3000\n2,乙站,村,118.23,36.21,\n3,丙站,村,118.24,36.22,1.2万\n"
    )
    path = tmp_path / "s.csv"
    path.write_text(text, encoding="utf-8")
    df = read_stations(path)
    np.testing.assert_array_equal(df["capacity"].to_numpy(float), [3000.0, np.nan, 12000.0])  # empty: tier default
    cands = tmp_path / "c.csv"
    cands.write_text(f"编号,经度,纬度,{header}\nA,118.22,36.20,500\n", encoding="utf-8")
    assert read_candidates(cands)["capacity"].tolist() == [500.0]
    assert "capacity" not in read_stations(STATIONS_CSV).columns  # no column: nothing added


def test_bad_capacity_names_file_row_and_column(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("编号,名称,层级,经度,纬度,容量\n1,甲站,村,118.22,36.20,-5\n2,乙站,村,118.23,36.21,很多\n", "utf-8")
    with pytest.raises(InputError) as exc:
        read_stations(path)
    text = exc.value.message("zh")
    assert "s.csv" in text and "容量" in text and "-5" in text and "很多" in text
    assert re.search(r"\b2\b", text) and re.search(r"\b3\b", text)  # rows 2 and 3


def test_normalise_header():
    assert normalise_header(" 所属乡镇（街道） ") == normalise_header("所属乡镇(街道)") == "所属乡镇街道"
    assert normalise_header("Longitude") == "longitude"


def test_xlsx_picks_matching_sheet_and_sheet_argument(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "说明"
    notes.append(["本表由县总工会整理"])
    notes.append(["坐标为高德坐标"])
    data = wb.create_sheet("站点")
    frame = pd.read_csv(STATIONS_CSV, dtype=str, keep_default_na=False)
    data.append(list(frame.columns))
    for rec in frame.itertuples(index=False):
        row = list(rec)
        row[3], row[4] = float(row[3]), float(row[4])  # numbers as Excel stores them
        data.append(row)
    other = wb.create_sheet("村")
    other.append(["序号", "村名", "人口", "经度", "纬度"])
    other.append([1, "东里村", 1850, 118.2213, 36.2032])
    path = tmp_path / "stations.xlsx"
    wb.save(path)
    _check_stations(read_stations(path))
    demand = read_demand(path, sheet="村")
    assert demand["id"].tolist() == ["1"]  # integral Excel number -> "1", not "1.0"
    assert demand["population"].tolist() == [1850.0]
    with pytest.raises(InputError, match=r"没有名为“不存在”的工作表.*说明、站点、村"):
        read_stations(path, sheet="不存在")


def _station_geodataframe():
    gpd = pytest.importorskip("geopandas")
    frame = pd.read_csv(STATIONS_CSV, dtype=str, keep_default_na=False)
    geometry = gpd.points_from_xy(frame["经度"].astype(float), frame["纬度"].astype(float))
    return gpd.GeoDataFrame(frame.drop(columns=["经度", "纬度"]), geometry=geometry, crs=4326)


def test_geojson_points(tmp_path):
    path = tmp_path / "stations.geojson"
    _station_geodataframe().to_file(path, driver="GeoJSON")
    df = read_stations(path)
    _check_stations(df.assign(source_row=df["source_row"] + 1))  # features count from 1


def test_gpkg_projected_is_reprojected_and_layer_chosen(tmp_path):
    gpd = pytest.importorskip("geopandas")
    path = tmp_path / "stations.gpkg"
    areas = gpd.GeoDataFrame(
        {"名称": ["东里镇"]},
        geometry=gpd.GeoSeries.from_wkt(["POLYGON ((118.2 36.2, 118.3 36.2, 118.3 36.3, 118.2 36.2))"]),
        crs=4326,
    )
    areas.to_file(path, layer="乡镇", driver="GPKG")
    _station_geodataframe().to_crs(3857).to_file(path, layer="站点", driver="GPKG")
    df = read_stations(path)  # picks the point layer, not the first (polygon) one
    np.testing.assert_allclose(df["lon"], EXPECTED_STATIONS["lon"], atol=1e-9)
    np.testing.assert_allclose(df["lat"], EXPECTED_STATIONS["lat"], atol=1e-9)
    assert read_areas(path)["name"].tolist() == ["东里镇"]


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_coordinate_conversion_applied(tmp_path, system):
    # googollee/eviltransform TESTS: WGS (121.5272106, 31.1774276) <-> GCJ (121.531541859215, 31.17530398364597)
    wgs = (121.5272106, 31.1774276)
    src_lon, src_lat = (float(x) for x in from_wgs84(*wgs, system=system))
    if system == "gcj02":
        assert abs(src_lon - 121.531541859215) < 1e-8 and abs(src_lat - 31.17530398364597) < 1e-8
    path = tmp_path / "s.csv"
    path.write_text(f"名称,层级,经度,纬度\n站,村,{src_lon!r},{src_lat!r}\n", encoding="utf-8")
    df = read_stations(path, coords=system)
    assert abs(df["lon"].iloc[0] - wgs[0]) < 2e-7 and abs(df["lat"].iloc[0] - wgs[1]) < 2e-7
    plain = read_stations(path)
    assert abs(plain["lon"].iloc[0] - src_lon) < 1e-12  # no conversion by default


def test_unknown_coords_system(tmp_path):
    with pytest.raises(InputError, match="未知的坐标系“mars”"):
        read_stations(STATIONS_CSV, coords="mars")  # type: ignore[arg-type]


def test_demand_good_sample_and_kinds():
    df = read_demand(DEMAND_CSV)
    assert list(df.columns) == [
        "id",
        "name",
        "population",
        "lon",
        "lat",
        "township",
        "kind",
        "population_source",
        "source_row",
    ]
    assert (df["population_source"] == "").all()  # no 人口来源 column
    assert df["population"].tolist() == [1850.0, 1204.0, 12000.0, 560.0]  # 1,204 and 1.2万 understood
    # no 类型 column: every row is residents, also 鲁阳纺织有限公司 (names are not used to guess a kind)
    assert df["kind"].tolist() == ["residents"] * 4
    assert df["id"].tolist() == ["1", "2", "3", "4"]


def test_demand_without_population_weighs_one(tmp_path, caplog):
    path = tmp_path / "d.csv"
    path.write_text("名称,类型,lng,lat\n东里村,行政村,118.22,36.20\n胜利社区,社区,118.17,36.19\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="planner"):
        df = read_demand(path)
    assert df["population"].tolist() == [1.0, 1.0]
    assert df["kind"].tolist() == ["village", "community"]
    assert any(r.levelname == "WARNING" and "没有人口列" in r.getMessage() for r in caplog.records)
    assert "no id column" in caplog.text
    assert df["id"].tolist() == ["row2", "row3"]


def test_demand_and_enterprise_files_combine_with_distinct_ids(tmp_path):
    demand = tmp_path / "d.csv"
    demand.write_text("名称,人口,经度,纬度\n东风村,800,117.22,28.29\n西山村,500,117.2,28.3\n", encoding="utf-8")
    ent = tmp_path / "e.csv"
    ent.write_text("名称,人口,经度,纬度\n冶炼厂,2400,117.21,28.28\n", encoding="utf-8")
    parts = read_demand_files(demand, enterprises=ent)
    both = combine_demand(parts)
    assert both["id"].tolist() == ["row2", "row3", "ent-row2"]
    assert both["kind"].tolist() == ["residents", "residents", "enterprise"]
    assert [k.source for _, _, k in parts] == ["none", "file"]
    clash = tmp_path / "e2.csv"
    clash.write_text("编号,名称,人口,经度,纬度\nrow3,冶炼厂,2400,117.21,28.28\n", encoding="utf-8")
    with pytest.raises(InputError, match="row3") as exc:
        combine_demand(read_demand_files(demand, enterprises=clash))
    assert exc.value.key == "inputs.demand_id_in_two_files"
    assert f"{demand} 第 3 行；{clash} 第 2 行" in str(exc.value)


def test_dms_in_bad_corpus_reads_correctly():
    df = read_stations(BAD / "度分秒坐标_有效.csv")
    np.testing.assert_allclose(df["lon"], [118 + 13 / 60 + 14.9 / 3600, 118 + 12 / 60 + 18.4 / 3600], atol=1e-12)
    np.testing.assert_allclose(df["lat"], [36 + 12 / 60 + 4.0 / 3600, 36 + 11 / 60 + 55.7 / 3600], atol=1e-12)


@pytest.mark.parametrize(
    ("text", "axis", "expected"),
    [
        ("117°12'30.5\"E", "lon", 117 + 12 / 60 + 30.5 / 3600),
        ("117度12分30.5秒", "lon", 117 + 12 / 60 + 30.5 / 3600),
        ("28°18′N", "lat", 28 + 18 / 60),
        ("28° 18′ 36″ S", "lat", -(28 + 18 / 60 + 36 / 3600)),
        ("W 73°59′", "lon", -(73 + 59 / 60)),
        ("东经117.5°", "lon", 117.5),
        ("１１７．２", "lon", 117.2),  # full-width digits from Chinese input methods
        (" 117.208500 ", "lon", 117.2085),
        ("-33.5", "lat", -33.5),
    ],
)
def test_parse_coordinates_accepts(text, axis, expected):
    values, empty, bad = parse_coordinates(pd.Series([text]), axis=axis)
    assert not empty[0] and not bad[0]
    assert values[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("text", "axis"),
    [("28°18′N", "lon"), ("117°75′E", "lon"), ("三十六度", "lat"), ("E117°N", "lon"), ("inf", "lon"), ("1e999", "lat")],
)
def test_parse_coordinates_rejects(text, axis):
    values, empty, bad = parse_coordinates(pd.Series([text]), axis=axis)
    assert bad[0] and np.isnan(values[0]) and not empty[0]


def test_parse_population():
    values, empty, bad = parse_population(pd.Series(["1,234", "1.5万", "560人", "", "很多", "-3"]))
    assert values[:3].tolist() == [1234.0, 15000.0, 560.0]
    assert empty.tolist() == [False, False, False, True, False, False]
    assert bad.tolist() == [False, False, False, False, True, False]
    assert values[5] == -3.0


def test_read_areas_geojson_and_repair(tmp_path):
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"乡镇": "东里镇"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[118.2, 36.2], [118.3, 36.2], [118.3, 36.3], [118.2, 36.2]]],
                },
            },
            # a self-intersecting "bow tie" as hand-digitised boundaries often are
            {
                "type": "Feature",
                "properties": {"乡镇": "南麻街道"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[118.1, 36.1], [118.2, 36.2], [118.2, 36.1], [118.1, 36.2], [118.1, 36.1]]],
                },
            },
        ],
    }
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    gdf = read_areas(path)
    assert gdf["name"].tolist() == ["东里镇", "南麻街道"]
    assert gdf.geometry.is_valid.all()
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.iloc[1].area == pytest.approx(0.005, rel=1e-9)  # two triangles of 0.0025


def test_read_areas_errors(tmp_path):
    with pytest.raises(InputError, match=r"第 1 个要素：几何类型是 Point"):
        path = tmp_path / "pts.geojson"
        _station_geodataframe().rename(columns={"名称": "name"}).to_file(path, driver="GeoJSON")
        read_areas(path)
    with pytest.raises(InputError, match="必须是 GeoJSON"):
        read_areas(STATIONS_CSV)
    with pytest.raises(InputError, match=r"缺少必需的列“名称/name”"):
        path = tmp_path / "noname.geojson"
        path.write_text(
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {"code": 1},
                            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
                        }
                    ],
                }
            ),
            encoding="utf-8",
        )
        read_areas(path)


# ============================================================== bad corpus: one test per file
def _msg(exc: pytest.ExceptionInfo) -> str:
    return str(exc.value)


def test_bad_missing_lon_column_suggests_closest():
    with pytest.raises(InputError) as exc:
        read_stations(BAD / "缺少经度列.csv")
    assert re.search(r"缺少经度列\.csv.*缺少必需的列“经度/lon”.*“经读”列是不是它", _msg(exc), re.S)


def test_bad_swapped_lonlat():
    with pytest.raises(InputError) as exc:
        read_stations(BAD / "经纬度填反.csv")
    assert re.search(r"经纬度填反\.csv.*“经度”列和“纬度”列的数值像是填反了.*经度 36\.2011", _msg(exc), re.S)
    assert "第 2 行" not in _msg(exc)  # one problem, not one per row out of range


def test_bad_unknown_tier():
    with pytest.raises(InputError) as exc:
        read_stations(BAD / "层级写成省级.csv")
    assert re.search(r"层级写成省级\.csv.*第 3 行，“层级”列：无法识别层级“省级”", _msg(exc), re.S)


def test_bad_duplicate_id():
    with pytest.raises(InputError) as exc:
        read_stations(BAD / "编号重复.csv")
    assert re.search(r"第 4 行，“编号”列：编号“S01”重复（第 2 行已使用）", _msg(exc))


def test_bad_empty_file():
    with pytest.raises(InputError, match=r"空文件\.csv 是空的"):
        read_stations(BAD / "空文件.csv")


def test_bad_header_only():
    with pytest.raises(InputError, match=r"只有表头\.csv[\s\S]*只有表头，没有数据行"):
        read_stations(BAD / "只有表头.csv")


def test_bad_binary_junk():
    with pytest.raises(InputError, match=r"二进制乱码\.csv 不是文本表格"):
        read_stations(BAD / "二进制乱码.csv")


def test_bad_gbk_broken_byte():
    with pytest.raises(InputError, match=r"GBK坏字节\.csv：按 GBK/GB18030 编码解读时，第 4 行含有无效字节"):
        read_stations(BAD / "GBK坏字节.csv")


def test_bad_utf8_broken_byte():
    # must not be "rescued" as GBK (that would silently give garbled names)
    with pytest.raises(InputError, match=r"UTF8坏字节\.csv：按 UTF-8 编码解读时，第 3 行含有无效字节"):
        read_stations(BAD / "UTF8坏字节.csv")


def test_bad_negative_population():
    with pytest.raises(InputError, match=r"人口为负\.csv[\s\S]*第 3 行，“人口”列：人口 -40 是负数"):
        read_demand(BAD / "人口为负.csv")


def test_bad_population_text():
    with pytest.raises(InputError, match=r"第 2 行，“人口”列：人口“约两千”不是数字"):
        read_demand(BAD / "人口不是数字.csv")


def test_bad_text_in_latitude():
    with pytest.raises(InputError, match=r"纬度写成文字\.csv[\s\S]*第 3 行，“纬度”列：“三十六度”不是有效坐标"):
        read_stations(BAD / "纬度写成文字.csv")


def test_bad_out_of_range():
    with pytest.raises(InputError, match=r"第 3 行，“经度”列：坐标 1181\.551 超出范围（应在 -180 到 180 之间）"):
        read_stations(BAD / "坐标超出范围.csv")


def test_bad_projected_metres():
    with pytest.raises(InputError) as exc:
        read_stations(BAD / "投影坐标.csv")
    assert "第 2 行，“经度”列：坐标 39515321.4 看起来是投影坐标" in _msg(exc)
    assert "第 2 行，“纬度”列：坐标 4006123.7 看起来是投影坐标" in _msg(exc)


def test_bad_unquoted_comma():
    with pytest.raises(InputError, match=r"第 3 行：这一行有 8 个单元格，但表头只有 6 列"):
        read_stations(BAD / "逗号未加引号.csv")


def test_bad_empty_longitude():
    with pytest.raises(InputError, match=r"第 2 行，“经度”列：坐标为空"):
        read_stations(BAD / "经度为空.csv")


def test_bad_old_excel():
    with pytest.raises(InputError, match=r"旧版Excel\.xls 是旧版 Excel（\.xls）格式"):
        read_stations(BAD / "旧版Excel.xls")


def test_bad_unsupported_extension():
    with pytest.raises(InputError, match=r"不支持的文件类型“\.docx”（.*站点\.docx）"):
        read_stations(BAD / "站点.docx")


def test_bad_xlsx_renamed_csv():
    with pytest.raises(InputError, match=r"改名的xlsx\.csv 的扩展名是 \.csv，但内容其实是 Excel"):
        read_stations(BAD / "改名的xlsx.csv")


def test_bad_not_xlsx():
    with pytest.raises(InputError, match=r"无法读取 Excel 文件 .*不是xlsx\.xlsx"):
        read_stations(BAD / "不是xlsx.xlsx")


def test_bad_broken_geojson():
    with pytest.raises(InputError, match=r"无法读取地理数据文件 .*不是geojson\.geojson"):
        read_stations(BAD / "不是geojson.geojson")


def test_bad_polygons_as_stations():
    with pytest.raises(InputError, match=r"面要素\.geojson[\s\S]*第 1 个要素：几何类型是 Polygon，需要点"):
        read_stations(BAD / "面要素.geojson")


def test_bad_dms_valid_file_is_not_an_error():
    assert len(read_stations(BAD / "度分秒坐标_有效.csv")) == 2


def test_every_bad_file_has_a_test():
    tested = {
        "缺少经度列.csv",
        "经纬度填反.csv",
        "层级写成省级.csv",
        "编号重复.csv",
        "空文件.csv",
        "只有表头.csv",
        "二进制乱码.csv",
        "GBK坏字节.csv",
        "UTF8坏字节.csv",
        "人口为负.csv",
        "人口不是数字.csv",
        "纬度写成文字.csv",
        "坐标超出范围.csv",
        "投影坐标.csv",
        "逗号未加引号.csv",
        "经度为空.csv",
        "旧版Excel.xls",
        "站点.docx",
        "改名的xlsx.csv",
        "不是xlsx.xlsx",
        "不是geojson.geojson",
        "面要素.geojson",
        "度分秒坐标_有效.csv",
    }
    present = {p.name for p in BAD.iterdir() if p.suffix != ".py"}
    assert present == tested


# ============================================================== other errors
def test_file_not_found():
    with pytest.raises(InputError, match=r"找不到文件 .*不存在\.csv"):
        read_stations(DATA / "不存在.csv")


def test_too_large_with_override():
    with pytest.raises(InputError, match=r"太大.*上限 0\.0 MB"):
        read_stations(STATIONS_CSV, limits=Limits(file_bytes=10))


def test_all_problems_collected_and_listed_with_cap(tmp_path):
    # 30 different unknown tiers (one spelling on many rows is one problem: see test_unknown_tier_reported_once)
    lines = ["编号,名称,层级,经度,纬度"] + [f"S{i},站{i},省级{i},118.1,36.1" for i in range(30)]
    lines.append("S0,站x,村,abc,36.1")
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputProblemsError) as exc:
        read_stations(path)
    err = exc.value
    assert len(err.problems) == 32  # 30 tiers + duplicate S0 + text longitude: nothing lost
    assert {p.key for p in err.problems} == {"inputs.unknown_tier", "inputs.duplicate_id", "inputs.coord_not_number"}
    text = str(err)
    assert text.count("\n  - ") == 21  # 20 problems + the "more" line
    assert "另有 12 处问题未列出" in text
    rows = [p.row for p in err.problems]
    assert rows == sorted(rows)  # listed in row order, whatever check found them
    assert text.index("第 2 行") < text.index("第 3 行")


def test_english_messages(tmp_path):
    set_language("en")
    with pytest.raises(InputError) as exc:
        read_stations(BAD / "层级写成省级.csv")
    assert "row 3, column '层级': unknown tier '省级'" in str(exc.value)
    assert "第" not in exc.value.message("en") and "第 3 行" in exc.value.message("zh")


def test_missing_column_lists_headers_when_nothing_close(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("名称,层级,备注\n站,村,无\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"缺少必需的列“经度/lon”。请添加这一列.*表中现有的列：名称、层级、备注"):
        read_stations(path)


# ============================================================== property tests: only InputError
# PLANNER_FUZZ_EXAMPLES=2000 for a thorough local run; 60 keeps CI fast.
FUZZ = settings(
    max_examples=int(os.environ.get("PLANNER_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _only_input_errors(fn, path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            fn(path)
        except InputError as exc:
            assert str(exc)  # renders without KeyError/format trouble
            assert "inputs." not in str(exc)  # every key was found in the catalogue


@FUZZ
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".geojson", ".tsv"]))
def test_random_bytes_only_input_error(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    _only_input_errors(read_stations, path)
    _only_input_errors(read_demand, path)


_CELL = st.one_of(
    st.text(alphabet="0123456789.-,;\"'°′″度分秒NSEW 村社区县乡镇省级\t", max_size=12),
    st.sampled_from(["县级", "村", "社区", "企业", "省级", "", "118.2", "36.1", "1.2万", "-5", "1e999", "nan"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_HEADERS = st.lists(
    st.sampled_from(["编号", "名称", "层级", "经度", "纬度", "人口", "类型", "lng", "lat", "x", "备注", "", "经度"]),
    max_size=7,
)


@FUZZ
@given(
    headers=_HEADERS,
    rows=st.lists(st.lists(_CELL, max_size=8), max_size=8),
    delim=st.sampled_from([",", "\t", ";"]),
    encoding=st.sampled_from(["utf-8", "gbk", "utf-8-sig"]),
)
def test_random_csv_shapes_only_input_error(tmp_path, headers, rows, delim, encoding):
    def quote(cell: str) -> str:
        return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',;\t"\n') else cell

    text = "\n".join(delim.join(quote(c) for c in r) for r in [headers, *rows])
    path = tmp_path / "fuzz.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    _only_input_errors(read_stations, path)
    _only_input_errors(read_demand, path)


@FUZZ
@given(
    coords=st.lists(st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)), min_size=1, max_size=10),
    system=st.sampled_from(["wgs84", "gcj02", "bd09"]),
)
def test_random_coordinates(tmp_path, coords, system):
    path = tmp_path / "c.csv"
    body = "".join(f"S{i},站{i},村,{lon!r},{lat!r}\n" for i, (lon, lat) in enumerate(coords))
    path.write_text("编号,名称,层级,经度,纬度\n" + body, encoding="utf-8")
    try:
        df = read_stations(path, coords=system)
    except InputError:
        ok = [np.isfinite(lon) and np.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90 for lon, lat in coords]
        swapped = all(18 <= lon <= 54 and 73 <= lat <= 135 for lon, lat in coords)
        assert not all(ok) or swapped  # rejected only for a real reason
        return
    lon_in = np.array([c[0] for c in coords])
    lat_in = np.array([c[1] for c in coords])
    expect_lon, expect_lat = to_wgs84(lon_in, lat_in, system=system)
    np.testing.assert_allclose(df["lon"], expect_lon, rtol=0, atol=1e-9)
    np.testing.assert_allclose(df["lat"], expect_lat, rtol=0, atol=1e-9)


# ============================================================== more shapes
def test_single_row_swapped_is_named(tmp_path):
    path = tmp_path / "one_swapped.csv"
    path.write_text("名称,层级,经度,纬度\n甲,村,118.22,36.20\n乙,村,36.19,118.21\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_stations(path)
    assert "第 3 行，“纬度”列：这一行的经度 36.19 和纬度 118.21 好像填反了" in str(exc.value)
    assert "超出范围" not in str(exc.value)


def test_blank_and_short_rows(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text(
        "名称,层级,经度,纬度,地址\n甲,村,118.22,36.20\n,,,,\n\n乙,社区,118.21,36.19,胜利路\n", encoding="utf-8"
    )
    df = read_stations(path)
    assert df["name"].tolist() == ["甲", "乙"]
    assert df["source_row"].tolist() == [2, 5]  # blank rows skipped but counted
    assert df["address"].tolist() == ["", "胜利路"]  # a short row is padded, not an error


def test_geojson_empty_multipoint_and_null_geometry(tmp_path):
    def write(name, features):
        path = tmp_path / name
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
        return path

    with pytest.raises(InputError, match=r"没有任何要素"):
        read_stations(write("empty.geojson", []))
    props = {"名称": "甲", "层级": "村"}
    one = {"type": "MultiPoint", "coordinates": [[118.2, 36.2]]}
    two = {"type": "MultiPoint", "coordinates": [[118.2, 36.2], [118.3, 36.3]]}
    df = read_stations(write("mp.geojson", [{"type": "Feature", "properties": props, "geometry": one}]))
    assert (df["lon"].iloc[0], df["lat"].iloc[0]) == (118.2, 36.2)
    with pytest.raises(InputError, match=r"第 1 个要素：几何类型是 MultiPoint"):
        read_stations(write("mp2.geojson", [{"type": "Feature", "properties": props, "geometry": two}]))
    fallback = {**props, "经度": 118.1, "纬度": 36.1}
    df = read_stations(write("null.geojson", [{"type": "Feature", "properties": fallback, "geometry": None}]))
    assert (df["lon"].iloc[0], df["lat"].iloc[0]) == (118.1, 36.1)
    with pytest.raises(InputError, match=r"第 1 个要素：缺少点位置"):
        read_stations(write("null2.geojson", [{"type": "Feature", "properties": props, "geometry": None}]))


@FUZZ
@given(data=st.binary(max_size=1500), suffix=st.sampled_from([".geojson", ".gpkg", ".json"]))
def test_random_bytes_areas_only_input_error(tmp_path, data, suffix):
    path = tmp_path / f"areas{suffix}"
    path.write_bytes(data)
    _only_input_errors(read_areas, path)


def test_population_overflow_is_input_error(tmp_path):
    # found by hypothesis: 1.8e304 × 万 overflows to inf
    path = tmp_path / "big.csv"
    path.write_text("人口,经度,纬度\n1.797693134862316e+304万,118.2,36.2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"第 2 行，“人口”列：人口“1\.797693134862316e\+304万”不是数字"):
        read_demand(path)


def test_read_areas_empty_collection(tmp_path):
    path = tmp_path / "none.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(InputError, match=r"none\.geojson 中没有任何要素"):
        read_areas(path)


def test_xlsx_title_rows_and_problem_location(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append(["沂源县群团服务站点统计表"])
    ws.append([])
    ws.append(["编号", "名称", "层级", "经度", "纬度"])
    ws.append([1, "甲", "村", 118.2, 36.2])
    ws.append([2, "乙", "省级", 118.3, 36.3])
    path = tmp_path / "title.xlsx"
    wb.save(path)
    with pytest.raises(InputError, match=r"title\.xlsx \[汇总\][\s\S]*第 5 行，“层级”列：无法识别层级“省级”"):
        read_stations(path)


# ============================================================== headers and tiers as planners write them (issue 12)
def _csv(tmp_path: Path, name: str, header: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_village_name_header_gives_real_names(tmp_path):
    path = _csv(
        tmp_path,
        "村庄.csv",
        "编号,村庄名称,人口,经度,纬度",
        ["d1,上清村,1200,117.05,28.25", "d2,下清村,800,117.06,28.26"],
    )
    assert read_demand(path)["name"].tolist() == ["上清村", "下清村"]


@pytest.mark.parametrize(
    ("header", "column"),
    [
        *((h, "name") for h in ("村庄名称", "村名", "社区名称", "站点名称", "单位名称", "企业名称", "村（社区）名称",
                                "村(社区)名称", "村居名称", "名 称")),
        *((h, "population") for h in ("常住人口", "户籍人口", "人口数", "总人口（人）", "人口（人）", "人数",
                                      "人口（2023年）", "常住人口数")),
        *((h, "township") for h in ("所属街道", "镇街", "所属镇街", "乡镇（街道）", "所属乡镇（街道）", "所属乡镇名称",
                                    "乡镇名称", "乡镇/街道")),
    ],
)  # fmt: skip
def test_header_variants_are_accepted(tmp_path, header, column):
    cols = {"name": "名称", "population": "人口", "township": "所属乡镇"}
    cols[column] = header
    path = _csv(tmp_path, "d.csv", f"编号,{cols['name']},{cols['population']},{cols['township']},经度,纬度",
                ["d1,上清村,1200,塘湾镇,117.05,28.25"])  # fmt: skip
    df, report, _ = read_table(path, kind="demand")
    assert report.header(column) == header
    assert df.loc[0, ["name", "population", "township"]].tolist() == ["上清村", 1200.0, "塘湾镇"]
    assert report.ignored == ()


def test_township_name_header_is_the_township_not_the_name(tmp_path):
    # 所属乡镇名称 holds both 乡镇 and 名称: it is the township's name, never the point's
    path = _csv(tmp_path, "d.csv", "所属乡镇名称,名称,人口,经度,纬度", ["塘湾镇,上清村,1200,117.05,28.25"])
    df, report, _ = read_table(path, kind="demand")
    assert (df.loc[0, "name"], df.loc[0, "township"]) == ("上清村", "塘湾镇")
    assert report.header("township") == "所属乡镇名称"
    only = _csv(tmp_path, "e.csv", "所属乡镇名称,人口,经度,纬度", ["塘湾镇,1200,117.05,28.25"])
    df, report, _ = read_table(only, kind="demand")
    assert df.loc[0, "township"] == "塘湾镇" and report.header("name") is None


@pytest.mark.parametrize("order", [("常住人口", "户籍人口"), ("户籍人口", "常住人口")])
def test_resident_population_wins_over_registered_in_any_order(tmp_path, order):
    values = {"常住人口": "1500", "户籍人口": "1800"}
    path = _csv(tmp_path, "d.csv", f"名称,{order[0]},{order[1]},经度,纬度",
                [f"上清村,{values[order[0]]},{values[order[1]]},117.05,28.25"])  # fmt: skip
    df, report, _ = read_table(path, kind="demand")
    assert df["population"].tolist() == [1500.0]
    assert report.header("population") == "常住人口"
    assert report.duplicates == (("户籍人口", "population"),)


def test_id_column_wins_over_a_row_counter(tmp_path):
    path = _csv(tmp_path, "s.csv", "序号,编号,名称,层级,经度,纬度", ["1,S07,甲,村,117.05,28.25"])
    assert read_stations(path)["id"].tolist() == ["S07"]


def test_no_header_means_two_columns_of_one_reader():
    from planner.inputs.tables import COLUMN_SPECS

    for kind, specs in COLUMN_SPECS.items():
        owners: dict[str, str] = {}
        for spec in specs:
            for alias in spec.aliases:
                key = normalise_header(alias)
                assert owners.setdefault(key, spec.name) == spec.name, (kind, alias)


def test_tier_written_as_village_or_community_on_eleven_rows(tmp_path):
    rows = [f"S{i},站{i},村/社区,117.0{i % 10},28.2{i % 10}" for i in range(11)]
    path = _csv(tmp_path, "站点.csv", "编号,名称,层级,经度,纬度", rows)
    assert read_stations(path)["tier"].tolist() == ["village"] * 11


@pytest.mark.parametrize(
    ("word", "tier"),
    [("村／社区", "village"), ("乡镇/街道", "township"), ("县（市、区）", "county"), ("工会", "enterprise")],
)
def test_tier_spellings_in_a_sheet(tmp_path, word, tier):
    path = _csv(tmp_path, "站点.csv", "编号,名称,层级,经度,纬度", [f"S1,甲,{word},117.05,28.25"])
    assert read_stations(path)["tier"].tolist() == [tier]


def test_unknown_tier_reported_once_with_its_rows(tmp_path):
    rows = [f"S{i},站{i},党群中心,117.05,28.25" for i in range(11)]  # rows 2–12
    rows += ["S11,站11,村,117.05,28.25", "S12,站12,,117.05,28.25", "S13,站13,党群中心,117.05,28.25"]
    path = _csv(tmp_path, "站点.csv", "编号,名称,层级,经度,纬度", rows)
    with pytest.raises(InputProblemsError) as exc:
        read_stations(path)
    err = exc.value
    assert [p.key for p in err.problems] == ["inputs.unknown_tier", "inputs.tier_empty"]
    text = err.message("zh")
    assert text.count("党群中心") == 1
    assert "第 2–12、15 行，“层级”列：无法识别层级“党群中心”" in text
    assert "第 14 行，“层级”列：层级为空" in text
    assert "rows 2–12, 15, column '层级': unknown tier '党群中心'" in err.message("en")
    assert err.columns is not None and err.columns.header("tier") == "层级"  # the error carries the column report


# ------------------------------------------------------------- zipped shapefiles


def _shapefile_stations():
    """The good stations as a CGCS2000 Gauss-Kruger layer, headers short enough for a .dbf (10 bytes)."""
    return _station_geodataframe().rename(columns={"所属乡镇（街道）": "所属乡镇"}).to_crs(4549)


@pytest.mark.parametrize(
    ("encoding", "cpg", "gbk_names"),
    [("GBK", "GBK", False), ("GBK", None, True), ("UTF-8", None, False), ("UTF-8", "UTF-8", True)],
)
def test_zipped_shapefile_points_equal_the_geopackage(tmp_path, encoding, cpg, gbk_names):
    from tests.data.hostile.archives import shapefile_parts, shapefile_zip

    layer = _shapefile_stations()
    if encoding == "UTF-8":  # 3 bytes a Chinese character: headers in English, values in Chinese
        english = {"编号": "id", "名称": "name", "层级": "tier", "服务项目": "services", "所属乡镇": "township"}
        layer = layer.drop(columns=["运营单位", "地址"]).rename(columns=english)
    gpkg = tmp_path / "stations.gpkg"
    layer.to_file(gpkg, driver="GPKG")
    parts = shapefile_parts(layer, tmp_path / "src", stem="站点", encoding=encoding, cpg=cpg)
    path = shapefile_zip(tmp_path / "站点.zip", parts, stem="站点", gbk_names=gbk_names)
    a, b = read_stations(gpkg), read_stations(path)
    pd.testing.assert_frame_equal(b, a)
    np.testing.assert_allclose(b["lon"], EXPECTED_STATIONS["lon"], atol=1e-9)  # the .prj was honoured
    np.testing.assert_allclose(b["lat"], EXPECTED_STATIONS["lat"], atol=1e-9)
    assert (
        b["name"].tolist()[0] == "沂源县党群服务中心"
        and b["township"].tolist() == EXPECTED_STATIONS["township"].tolist()
    )


def test_zipped_shapefile_demand_and_areas(tmp_path):
    gpd = pytest.importorskip("geopandas")
    from tests.data.hostile.archives import shapefile_parts, shapefile_zip

    frame = pd.read_csv(DEMAND_CSV, dtype=str, keep_default_na=False)
    points = gpd.points_from_xy(frame["经度"].astype(float), frame["纬度"].astype(float))
    layer = gpd.GeoDataFrame(frame.drop(columns=["经度", "纬度"]), geometry=points, crs=4326)
    path = shapefile_zip(tmp_path / "村.zip", shapefile_parts(layer, tmp_path / "d", stem="村", cpg=None), stem="村")
    demand, from_csv = read_demand(path), read_demand(DEMAND_CSV)
    assert demand["name"].tolist() == from_csv["name"].tolist()
    np.testing.assert_allclose(demand["population"], from_csv["population"])
    np.testing.assert_allclose(demand["lon"], from_csv["lon"], atol=1e-9)
    enterprises = read_table(path, kind="enterprises").frame
    assert enterprises["id"].tolist() == demand["id"].tolist() and set(enterprises["kind"]) == {"enterprise"}
    areas = gpd.GeoDataFrame(
        {"乡镇": ["东里镇"]},
        geometry=gpd.GeoSeries.from_wkt(["POLYGON ((118.2 36.2, 118.3 36.2, 118.3 36.3, 118.2 36.2))"]),
        crs=4326,
    ).to_crs(4549)
    zipped = shapefile_zip(tmp_path / "乡镇.zip", shapefile_parts(areas, tmp_path / "a", stem="乡镇"), stem="乡镇")
    got = read_areas(zipped)
    assert got["name"].tolist() == ["东里镇"] and got.crs.equals("EPSG:4326")


def test_hostile_zipped_points_are_input_errors(tmp_path):
    from tests.data.hostile.archives import nested_zip, shapefile_parts, shapefile_zip

    parts = shapefile_parts(_shapefile_stations(), tmp_path / "src", stem="站点")
    with pytest.raises(InputError) as err:
        read_stations(nested_zip(tmp_path / "a.zip", parts))
    assert err.value.key == "inputs.zip.nested_archive" and "备份/道路.zip" in str(err.value)
    two = shapefile_zip(tmp_path / "b.zip", parts, stem="站点", extra={f"旧站点{s}": d for s, d in parts.items()})
    with pytest.raises(InputError, match=r"旧站点\.shp") as err:
        read_stations(two)
    assert err.value.key == "inputs.zip.several_shapefiles"
    assert len(read_stations(two, sheet="站点")) == 4  # the caller names one


def test_the_quote_an_export_puts_before_a_formula_is_dropped_on_reading(tmp_path):
    """A sheet the planner exported (``'=1+1``, planner._text.neutralise_cell) reads back as the names it came from."""
    text = (
        "编号,名称,层级,经度,纬度,运营单位\n"
        "'-1,'=1+1,村,118.2208,36.2011,\"'@SUM(1,1)\"\n"
        "2,'quoted,村,118.2209,'-36.2012,\"'\t=1+1\"\n"
    )
    path = tmp_path / "exported.csv"
    path.write_text(text, encoding="utf-8")
    df = read_stations(path)
    assert df["id"].tolist() == ["-1", "2"]
    assert df["name"].tolist() == ["=1+1", "'quoted"]  # only a quote before a formula start is ours
    assert df["organisation"].tolist() == ["@SUM(1,1)", "=1+1"]
    assert df["lat"].tolist() == [36.2011, -36.2012]
