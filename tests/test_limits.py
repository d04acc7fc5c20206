"""Limits on the work an input file may cause (planner/inputs/limits.py), enforced by every reader.

Each hostile case of issue 14 (tests/data/hostile/limits.py) is refused with its message
key, in-process with limits set low, and through ``planner check`` in a subprocess with a
timeout (on the main of before the limits these either were accepted in full, or ran
until the timeout: the subprocess keeps a hang out of the suite).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from planner._errors import ConfigError, InputError
from planner.inputs.limits import (
    APP_LIMITS,
    CLI_LIMITS,
    LIMITS_ENV,
    Limits,
    app_limits,
    check_geopackage,
    check_workbook,
    cli_limits,
)
from planner.inputs.tables import read_table
from tests.data.hostile import limits as hostile

ROOT = Path(__file__).resolve().parents[1]
#: Seconds a refused case may take in a subprocess (interpreter and imports included, on a busy machine).
REFUSE_WITHIN_S = 60.0


# ============================================================== the limits
def test_cli_defaults_and_app_preset_are_documented_values():
    assert (CLI_LIMITS.station_rows, CLI_LIMITS.demand_rows) == (10_000, 300_000)
    assert APP_LIMITS.demand_rows < CLI_LIMITS.demand_rows
    assert APP_LIMITS.station_rows < CLI_LIMITS.station_rows
    assert APP_LIMITS.file_bytes < CLI_LIMITS.file_bytes
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for value in (CLI_LIMITS.demand_rows, CLI_LIMITS.station_rows, APP_LIMITS.demand_rows, APP_LIMITS.station_rows):
        assert f"{value:,}" in readme


def test_overrides_from_text_env_and_option():
    lim = CLI_LIMITS.with_overrides("demand_rows=2_000_000， cell_chars=5000")
    assert (lim.demand_rows, lim.cell_chars, lim.station_rows) == (2_000_000, 5000, CLI_LIMITS.station_rows)
    env = {LIMITS_ENV: "demand_rows=10,station_rows=20"}
    assert cli_limits("station_rows=30", environ=env) == Limits(demand_rows=10, station_rows=30)
    assert app_limits(environ=env).file_bytes == APP_LIMITS.file_bytes
    assert app_limits(environ=env).demand_rows == 10
    assert cli_limits(None, environ={}) == CLI_LIMITS


@pytest.mark.parametrize(
    ("text", "key"),
    [("rows=5", "limits.unknown"), ("demand_rows", "limits.unknown"), ("demand_rows=-1", "limits.bad_value"),
     ("demand_rows=many", "limits.bad_value")],
)  # fmt: skip
def test_bad_overrides_are_config_errors(text, key):
    with pytest.raises(ConfigError) as err:
        CLI_LIMITS.with_overrides(text)
    assert err.value.key == key


def test_row_limit_of_each_kind():
    lim = Limits(station_rows=3, demand_rows=4, area_features=5)
    assert lim.rows_for("stations") == (3, "station_rows")
    assert lim.rows_for("candidates") == (3, "station_rows")
    assert lim.rows_for("enterprises") == (4, "demand_rows")
    assert lim.rows_for("areas") == (5, "area_features")


# ============================================================== CSV
def _key(path: Path, *, limits: Limits, kind: str = "demand") -> str:
    with pytest.raises(InputError) as err:
        read_table(path, kind=kind, limits=limits)
    return err.value.key


def test_rows_over_the_limit_refused_and_at_the_limit_read(tmp_path):
    lim = Limits(demand_rows=1000)
    at = hostile.demand_csv(tmp_path, rows=1000, name="at.csv")
    assert len(read_table(at, kind="demand", limits=lim).frame) == 1000
    over = hostile.demand_csv(tmp_path, rows=1001, name="over.csv")
    assert _key(over, limits=lim) == "inputs.limit.rows"


def test_far_over_the_row_limit_is_refused_before_the_rows_are_kept(tmp_path):
    big = hostile.demand_csv(tmp_path, rows=200_000)
    t0 = time.perf_counter()
    with pytest.raises(InputError) as err:
        read_table(big, kind="demand", limits=Limits(demand_rows=1000))
    assert err.value.key == "inputs.limit.rows"
    assert "1,000" in str(err.value) and "demand_rows=2000" in str(err.value) and LIMITS_ENV in str(err.value)
    assert time.perf_counter() - t0 < 10


def test_station_rows_limit_names_its_option(tmp_path):
    path = tmp_path / "stations.csv"
    rows = "".join(f"S{i},站{i},村级,116.1,27.4\n" for i in range(30))
    path.write_text("编号,名称,层级,经度,纬度\n" + rows, encoding="utf-8")
    with pytest.raises(InputError, match="station_rows=40") as err:
        read_table(path, kind="stations", limits=Limits(station_rows=20))
    assert err.value.key == "inputs.limit.rows"


def test_blank_lines_count_towards_the_row_limit(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text(hostile.DEMAND_HEADER + "\n" * 5000 + "D1,村,1,116.1,27.4,镇,村\n", encoding="utf-8")
    assert _key(path, limits=Limits(demand_rows=100)) == "inputs.limit.rows"


def test_wide_header_refused_by_line_length(tmp_path):
    wide = hostile.wide_header_csv(tmp_path, columns=2_000_000)
    t0 = time.perf_counter()
    assert _key(wide, limits=CLI_LIMITS) == "inputs.limit.line_chars"
    assert time.perf_counter() - t0 < 10


def test_too_many_columns_and_too_long_cells(tmp_path):
    wide = hostile.wide_header_csv(tmp_path, columns=600)
    assert _key(wide, limits=CLI_LIMITS) == "inputs.limit.columns"
    long_cell = tmp_path / "long.csv"
    long_cell.write_text(hostile.DEMAND_HEADER + "D1," + "村" * 1001 + ",1,116.1,27.4,镇,村\n", encoding="utf-8")
    with pytest.raises(InputError, match="2") as err:
        read_table(long_cell, kind="demand", limits=CLI_LIMITS)
    assert err.value.key == "inputs.limit.cell_chars"
    assert err.value.params["row"] == 2
    assert len(read_table(long_cell, kind="demand", limits=Limits(cell_chars=1001)).frame) == 1


# ============================================================== XLSX
@pytest.mark.parametrize("dimension", [True, False])
def test_workbook_rows_refused_while_streaming(tmp_path, dimension):
    book = hostile.long_rows_xlsx(tmp_path, rows=50_000, dimension=dimension)
    t0 = time.perf_counter()
    assert _key(book, limits=Limits(demand_rows=1000)) == "inputs.limit.rows"
    assert time.perf_counter() - t0 < 10


def test_undeclared_sheet_rows_counted_in_the_raw_stream(tmp_path):
    book = hostile.long_rows_xlsx(tmp_path, rows=5000, dimension=False)
    with pytest.raises(InputError) as err:
        check_workbook(book, file=book.name, limits=CLI_LIMITS, rows=4999, rows_name="demand_rows")
    assert err.value.key == "inputs.limit.rows"
    check_workbook(book, file=book.name, limits=CLI_LIMITS, rows=5001, rows_name="demand_rows")  # 5000 + header
    declared = hostile.long_rows_xlsx(tmp_path, rows=5000, name="declared.xlsx")
    check_workbook(declared, file=declared.name, limits=CLI_LIMITS, rows=10, rows_name="demand_rows")  # read later


def test_workbook_at_the_row_limit_is_read(tmp_path):
    book = hostile.long_rows_xlsx(tmp_path, rows=200)
    frame = read_table(book, kind="demand", limits=Limits(demand_rows=200)).frame
    assert len(frame) == 200
    assert frame["population"].sum() == 200 * 1800


def test_zip_bomb_workbook_refused_before_opening(tmp_path):
    book = hostile.long_rows_xlsx(tmp_path, rows=100_000)  # about 30 MB of sheet XML
    with pytest.raises(InputError) as err:
        check_workbook(book, file=book.name, limits=Limits(xlsx_unzipped_bytes=10 * 2**20), rows=10**6, rows_name="x")
    assert err.value.key == "inputs.limit.xlsx_unzipped"
    assert _key(book, limits=Limits(xlsx_unzipped_bytes=10 * 2**20)) == "inputs.limit.xlsx_unzipped"


# ============================================================== GeoPackage
def test_recursive_view_refused_before_gdal(tmp_path):
    gpkg = hostile.recursive_view_gpkg(tmp_path)
    with pytest.raises(InputError) as err:
        check_geopackage(gpkg, file=gpkg.name, limits=CLI_LIMITS)
    assert err.value.key == "inputs.limit.gpkg_view"
    assert "villages" in str(err.value)
    assert _key(gpkg, limits=CLI_LIMITS) == "inputs.limit.gpkg_view"


def test_metadata_rows_refused_and_a_plain_geopackage_read(tmp_path):
    gpkg = hostile.metadata_gpkg(tmp_path, rows=2000)
    assert _key(gpkg, limits=Limits(gpkg_metadata_rows=1000)) == "inputs.limit.gpkg_metadata"
    assert len(read_table(gpkg, kind="demand", limits=Limits(gpkg_metadata_rows=2000)).frame) == 2


def test_geopackage_features_over_the_row_limit(tmp_path):
    gpkg = hostile.metadata_gpkg(tmp_path, rows=1)  # two points
    assert _key(gpkg, limits=Limits(demand_rows=1)) == "inputs.limit.rows"


def test_road_network_and_project_geopackages_are_checked_too(tmp_path):
    from planner.network.load import load_network
    from planner.workspace.project import load_project

    gpkg = hostile.recursive_view_gpkg(tmp_path)
    with pytest.raises(InputError) as err:
        load_network(gpkg)
    assert err.value.key == "inputs.limit.gpkg_view"
    with pytest.raises(InputError) as err:
        load_project(gpkg)
    assert err.value.key == "inputs.limit.gpkg_view"


def test_not_a_database_is_a_message(tmp_path):
    path = tmp_path / "junk.gpkg"
    path.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(InputError) as err:
        check_geopackage(path, file=path.name, limits=CLI_LIMITS)
    assert err.value.key == "inputs.bad_geo"


# ============================================================== planner check, in a subprocess
_CHECK = "import sys; from planner.cli import main; sys.exit(main(sys.argv[1:]))"


def _check(path: Path, *, limits: str = "") -> tuple[int, str, float]:
    """``planner check PATH --kind demand --lang en`` in a fresh interpreter, killed after a timeout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), LIMITS_ENV: limits}
    cmd = [sys.executable, "-c", _CHECK, "check", str(path), "--kind", "demand", "--lang", "en"]
    t0 = time.perf_counter()
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=REFUSE_WITHIN_S, env=env, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"planner check {path.name} still running after {REFUSE_WITHIN_S:.0f} s")
    return run.returncode, run.stdout + run.stderr, time.perf_counter() - t0


@pytest.mark.parametrize(
    ("case", "limits", "message"),
    [
        ("rows_csv", "demand_rows=1000", "more than 1,000 data rows"),
        ("wide_header", "", "longer than 100,000 characters"),
        ("rows_xlsx", "demand_rows=1000", "more than 1,000 data rows"),
        ("recursive_view", "", "holds views (villages)"),
        ("metadata", "", "has more than 1,000 rows"),
    ],
)
def test_planner_check_refuses_each_hostile_case_in_seconds(tmp_path, case, limits, message):
    make = {
        "rows_csv": lambda: hostile.demand_csv(tmp_path, rows=20_000),
        "wide_header": lambda: hostile.wide_header_csv(tmp_path, columns=2_000_000),
        "rows_xlsx": lambda: hostile.long_rows_xlsx(tmp_path, rows=100_000, dimension=False),
        "recursive_view": lambda: hostile.recursive_view_gpkg(tmp_path),
        "metadata": lambda: hostile.metadata_gpkg(tmp_path, rows=20_000),
    }
    code, out, _ = _check(make[case](), limits=limits)
    assert code == 2, out
    assert message in out
    assert "Traceback" not in out
