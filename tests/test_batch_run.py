"""planner.batch.run: county tasks on a Dask cluster (in-process, or 1 worker process where a worker must die).

The county functions here are small and real: they read the county's demand file with
the project's reader and write ``summary.json`` and ``done.json`` as the county task does;
the end-to-end test runs the real :func:`planner.batch.county.run_county`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner._atomic import atomic_write
from planner._errors import ConfigError
from planner.batch.county import DONE_FILE
from planner.batch.inputs import make_tasks, read_manifest
from planner.batch.run import Progress, parse_memory, run_batch
from planner.batch.tasks import BatchSettings, CountyInputs, CountyOutcome, CountyTask
from planner.inputs.tables import read_table
from planner.settings import TIERS, Config, Tier

SETTINGS = BatchSettings(config=Config(), tiers=TIERS)


# ------------------------------------------------------------- county functions
def population_county(task: CountyTask, *, settings: BatchSettings) -> CountyOutcome:
    """Read the county's demand (a PlannerError for a bad file), write its summary, then done.json."""
    read = read_table(task.county.demand, kind="demand", coords="wgs84")
    summary = {"population": float(read.frame["population"].sum()), "rows": len(read.frame)}
    out = Path(task.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "summary.json") as fh:
        json.dump(summary, fh)
    with (out.parent / "calls.txt").open("a") as fh:  # one line per run of a county, in the order they ran
        fh.write(task.county.code + "\n")
    with atomic_write(out / DONE_FILE) as fh:
        json.dump({"key": task.key}, fh)
    return CountyOutcome(code=task.county.code, name=task.county.name, status="ok", summary=summary)


def tally(task: CountyTask) -> int:
    """Count one attempt of the county (a line in a file beside its folder); the number of attempts so far."""
    marker = Path(task.out_dir).with_suffix(".attempts")
    marker.parent.mkdir(parents=True, exist_ok=True)
    with marker.open("a") as fh:
        fh.write("x\n")
    return len(marker.read_text().splitlines())


def flaky_county(task: CountyTask, *, settings: BatchSettings) -> CountyOutcome:
    """County ``B`` raises on its first attempt, ``C`` on every attempt."""
    attempt = tally(task)
    if task.county.code == "C" or (task.county.code == "B" and attempt == 1):
        msg = f"attempt {attempt} of {task.county.code}"
        raise RuntimeError(msg)
    return population_county(task, settings=settings)


def dies_once_county(task: CountyTask, *, settings: BatchSettings) -> CountyOutcome:
    """County ``K`` ends its worker process on its first attempt."""
    if task.county.code == "K" and tally(task) == 1:
        os._exit(1)
    return population_county(task, settings=settings)


def hungry_county(task: CountyTask, *, settings: BatchSettings) -> CountyOutcome:
    """County ``BIG`` fills 2 GB, far past the worker's limit, and holds it."""
    if task.county.code == "BIG":
        tally(task)
        block = np.ones(2 << 30, dtype=np.uint8)
        import time

        time.sleep(10)
        return CountyOutcome(code="BIG", name="", status="ok", summary={"bytes": int(block.sum())})
    return population_county(task, settings=settings)


# ------------------------------------------------------------------- fixtures
def demand_file(path: Path, population: list[int]) -> Path:
    lon = 116.0 + 0.01 * np.arange(len(population))
    frame = pd.DataFrame(
        {"编号": [f"D{i}" for i in range(len(population))], "人口": population, "经度": lon, "纬度": 27.0}
    )
    frame.to_csv(path, index=False)
    return path


def county_task(root: Path, code: str, population: list[int], *, key: str = "k1", pad: int = 0) -> CountyTask:
    folder = root / "in" / code
    folder.mkdir(parents=True, exist_ok=True)
    demand = demand_file(folder / "demand.csv", population)
    county = CountyInputs(
        code=code,
        name=f"县{code}",
        roads=str(folder / "roads.gpkg"),
        stations=str(folder / "stations.csv"),
        demand=str(demand),
        bounds=(116.0, 27.0, 116.1, 27.1),
        size_bytes=demand.stat().st_size + pad,
    )
    return CountyTask(county=county, neighbours=(), out_dir=str(root / "out" / "counties" / code), key=key)


# ---------------------------------------------------------------------- tests
def test_a_bad_county_is_reported_while_the_others_complete(tmp_path: Path) -> None:
    tasks = [county_task(tmp_path, code, pop) for code, pop in (("A", [100, 250]), ("B", [7]), ("C", [1, 2, 3]))]
    Path(tasks[1].county.demand).write_text("名称,备注\n甲,乙\n", encoding="utf-8")  # no coordinates
    out = run_batch(tasks, settings=SETTINGS, workers=2, processes=False, progress=False, county_fn=population_county)
    assert [o.code for o in out] == ["A", "B", "C"]
    assert [o.status for o in out] == ["ok", "failed", "ok"]
    assert "demand.csv" in out[1].message and "经度" in out[1].message
    for o, task in zip(out, tasks, strict=True):
        if o.status == "ok":
            assert o.summary == {
                "population": float(pd.read_csv(task.county.demand)["人口"].sum()),
                "rows": 3 if o.code == "C" else 2,
            }
            assert o.seconds > 0 and o.peak_rss_mb > 0 and o.worker
    assert not (Path(tasks[1].out_dir) / DONE_FILE).exists()


def test_an_exception_is_retried_then_reported_as_error(tmp_path: Path) -> None:
    tasks = [county_task(tmp_path, code, [10 * (i + 1)]) for i, code in enumerate("ABC")]
    out = run_batch(
        tasks, settings=SETTINGS, workers=2, processes=False, progress=False, retries=2, county_fn=flaky_county
    )
    assert [o.status for o in out] == ["ok", "ok", "error"]
    assert out[2].message == "RuntimeError: attempt 3 of C"  # 1 + 2 retries
    attempts = [len(Path(t.out_dir).with_suffix(".attempts").read_text().splitlines()) for t in tasks]
    assert attempts == [1, 2, 3]


def test_a_rerun_skips_the_counties_done_for_the_same_key(tmp_path: Path) -> None:
    tasks = [county_task(tmp_path, code, [5, 6 + i]) for i, code in enumerate("ABC")]
    first = run_batch(tasks, settings=SETTINGS, workers=1, processes=False, progress=False, county_fn=population_county)
    assert [o.status for o in first] == ["ok"] * 3
    tasks[1] = county_task(tmp_path, "B", [5, 7], key="k2")  # B's inputs or settings changed
    again = run_batch(tasks, settings=SETTINGS, workers=1, processes=False, progress=False, county_fn=population_county)
    assert [o.status for o in again] == ["skipped", "ok", "skipped"]
    assert [o.summary for o in again] == [o.summary for o in first]
    calls = (tmp_path / "out" / "counties" / "calls.txt").read_text().splitlines()
    assert sorted(calls) == ["A", "B", "B", "C"]


def test_the_largest_counties_go_first(tmp_path: Path) -> None:
    pads = {"A": 10, "B": 5000, "C": 300, "D": 90000, "E": 0}
    tasks = [county_task(tmp_path, code, [1], pad=pad) for code, pad in pads.items()]
    out = run_batch(tasks, settings=SETTINGS, workers=1, processes=False, progress=False, county_fn=population_county)
    assert [o.code for o in out] == list(pads)  # outcomes in the order of the tasks
    ran = (tmp_path / "out" / "counties" / "calls.txt").read_text().splitlines()
    assert ran == sorted(pads, key=lambda c: -pads[c])


def test_a_killed_worker_has_its_county_rerun(tmp_path: Path) -> None:
    tasks = [county_task(tmp_path, code, [3, 4]) for code in ("K", "L")]
    out = run_batch(tasks, settings=SETTINGS, workers=1, progress=False, retries=2, county_fn=dies_once_county)
    assert [o.status for o in out] == ["ok", "ok"]
    assert len(Path(tasks[0].out_dir).with_suffix(".attempts").read_text().splitlines()) == 2
    assert out[0].summary == {"population": 7.0, "rows": 2}


@pytest.mark.slow
def test_a_county_past_the_memory_limit_is_reported_not_retried_forever(tmp_path: Path) -> None:
    tasks = [county_task(tmp_path, "BIG", [1], pad=10**9), county_task(tmp_path, "S", [2, 3])]
    out = run_batch(
        tasks,
        settings=SETTINGS,
        workers=1,
        memory_limit="700MB",
        retries=1,
        progress=False,
        county_fn=hungry_county,
    )
    assert [o.status for o in out] == ["memory", "ok"]
    assert "--memory-limit" in out[0].message
    assert len(Path(tasks[0].out_dir).with_suffix(".attempts").read_text().splitlines()) == 2  # 1 + 1 retry
    assert out[1].summary == {"population": 5.0, "rows": 2}


def test_memory_limits_and_bad_options() -> None:
    assert parse_memory("2GB", workers=1) == 2_000_000_000
    assert parse_memory("1 GiB", workers=1) == 1 << 30
    assert parse_memory(12345, workers=1) == 12345
    import psutil

    total = psutil.virtual_memory().total
    assert parse_memory(None, workers=4) == int(total * 0.8 / 4)
    assert parse_memory("50%", workers=1) == int(total * 0.5)
    for bad in ("lots", "-1GB", "0"):
        with pytest.raises(ConfigError):
            parse_memory(bad, workers=1)
    with pytest.raises(ConfigError):
        run_batch([], settings=SETTINGS, workers=0, county_fn=population_county)
    with pytest.raises(ConfigError):
        run_batch([], settings=SETTINGS, retries=-1, county_fn=population_county)


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    class Tty:
        def __init__(self, tty: bool) -> None:
            self.text, self.tty = "", tty

        def write(self, s: str) -> int:
            self.text += s
            return len(s)

        def flush(self) -> None:
            pass

        def isatty(self) -> bool:
            return self.tty

    term, pipe = Tty(True), Tty(False)
    for stream in (term, pipe):
        bar = Progress(total=4, done=1, stream=stream)  # type: ignore[arg-type]
        bar.update(CountyOutcome(code="A", name="", status="ok"))
        bar.update(CountyOutcome(code="B", name="", status="failed"))
        bar.close()
    assert pipe.text == ""
    last = term.text.rstrip("\n").rsplit("\r", 1)[-1]
    assert "3/4" in last and "#" * 22 in last and "#" * 23 not in last
    assert "1" in last.split("3/4", 1)[1]


# ----------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def three_counties(demo_strips: dict[str, object]) -> Path:
    """Three strips of the demo county and their manifest (:func:`conftest.demo_strips`)."""
    root = demo_strips["root"]
    assert isinstance(root, Path)
    return root


#: Tiers of the end-to-end runs (every strip has stations of these tiers).
E2E_TIERS = (Tier.TOWNSHIP, Tier.VILLAGE)


def test_real_county_tasks_end_to_end_and_resumed(three_counties: Path, tmp_path: Path) -> None:
    settings = BatchSettings(config=Config(), tiers=E2E_TIERS, isochrones=False)
    counties = read_manifest(three_counties / "counties.csv")
    tasks = make_tasks(counties, settings=settings, out_dir=tmp_path)
    out = run_batch(tasks, settings=settings, workers=2, processes=False, progress=False)
    assert [o.status for o in out] == ["ok"] * 3, [o.message for o in out]
    for o, c in zip(out, counties, strict=True):
        assert o.summary is not None
        own = pd.read_csv(c.demand)
        residents = own.loc[own["类型"] != "企业", "人口"].sum()
        for tier in E2E_TIERS:
            assert o.summary["tiers"][str(tier)]["population"] == pytest.approx(residents)
        assert (Path(tasks[counties.index(c)].out_dir) / "summary.json").is_file()
    again = run_batch(tasks, settings=settings, workers=2, processes=False, progress=False)
    assert [o.status for o in again] == ["skipped"] * 3
    assert [o.summary for o in again] == [o.summary for o in out]


# ------------------------------------------------------------------------ CLI
def test_cli_manifest_run_lists_the_failed_county_and_exits_2(
    three_counties: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from planner.cli import main

    manifest = pd.read_csv(three_counties / "counties.csv", dtype=str)
    bad = tmp_path / "bad_demand.csv"
    bad.write_text("名称,人口\n甲村,100\n", encoding="utf-8")  # no coordinates
    manifest.loc[1, "需求文件"] = str(bad)
    for col in ("路网文件", "站点文件", "需求文件"):  # the other paths stay relative to the fixture's folder
        manifest[col] = [p if Path(p).is_absolute() else str(three_counties / p) for p in manifest[col]]
    manifest.to_csv(tmp_path / "counties.csv", index=False)
    out = tmp_path / "out"
    args = ["batch", "--manifest", str(tmp_path / "counties.csv"), "--out", str(out), "--workers", "1", "--quiet"]
    code = main([*args, "--tier", "village", "--no-isochrones", "--lang", "en"])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.out.strip().splitlines()
    assert lines[0].startswith("code | county | status | village / community")
    statuses = {line.split(" | ")[0]: line.split(" | ")[2] for line in lines[1:]}
    assert statuses == {"990101": "done", "990102": "bad inputs", "990103": "done"}
    assert "1 county did not finish" in captured.err and "990102" in captured.err and "bad_demand.csv" in captured.err
    assert "Traceback" not in captured.err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary  # the province's files are written for the counties that finished
    for c in ("990101", "990103"):
        own = json.loads((out / "counties" / c / "summary.json").read_text(encoding="utf-8"))
        pct = own["tiers"]["village"]["percent_population"]
        assert f"{pct:.1f}%" in next(line for line in lines if line.startswith(c))


def test_cli_province_form_splits_and_runs(
    three_counties: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import geopandas as gpd
    import shapely

    from planner.cli import main

    strips = [
        gpd.read_file(three_counties / code / "roads.gpkg").total_bounds for code in ("990101", "990102", "990103")
    ]
    cuts = [strips[0][0] - 0.01, strips[1][0], strips[2][0], strips[2][2] + 0.01]
    s = min(b[1] for b in strips) - 0.01
    n = max(b[3] for b in strips) + 0.01
    boxes = [shapely.box(cuts[k], s, cuts[k + 1], n) for k in range(3)]
    gpd.GeoDataFrame({"code": ["A", "B", "C"], "name": ["甲", "乙", "丙"]}, geometry=boxes, crs=4326).to_file(
        tmp_path / "counties.gpkg"
    )
    whole = three_counties / "whole"
    out = tmp_path / "out"
    args = ["batch", "--network", str(whole / "roads.gpkg"), "--counties", str(tmp_path / "counties.gpkg")]
    args += ["--stations", str(whole / "stations.csv"), "--demand", str(whole / "demand.csv"), "--out", str(out)]
    code = main([*args, "--workers", "1", "--quiet", "--tier", "village", "--no-isochrones", "--lang", "en"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert [line.split(" | ")[:3] for line in captured.out.strip().splitlines()[1:]] == [
        ["A", "甲", "done"],
        ["B", "乙", "done"],
        ["C", "丙", "done"],
    ]
    demand = pd.read_csv(whole / "demand.csv", encoding="utf-8-sig")
    split = sum(len(pd.read_csv(out / "_inputs" / c / "demand.csv", encoding="utf-8-sig")) for c in "ABC")
    assert split == len(demand)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--manifest", "nowhere.csv"], "nowhere.csv"),
        (["--manifest", "m.csv", "--network", "r.gpkg"], "--manifest cannot be used"),
        (["--network", "r.gpkg"], "--counties, --stations, --demand"),
    ],
)
def test_cli_bad_inputs_exit_2_with_a_message(
    extra: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from planner.cli import main

    code = main(["batch", *extra, "--out", str(tmp_path / "out"), "--lang", "en"])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and "Traceback" not in err


def test_cli_shares_new_sites_between_the_counties(
    three_counties: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from planner.cli import main

    out = tmp_path / "out"
    args = ["batch", "--manifest", str(three_counties / "counties.csv"), "--out", str(out), "--workers", "1"]
    args += ["--quiet", "--tier", "village", "--no-isochrones", "--lang", "en"]
    code = main([*args, "--site-tier", "village", "--site-k", "2", "--site-total", "3", "--site-time-limit", "10"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    chosen = pd.read_csv(out / "new_sites.csv", encoding="utf-8-sig", dtype={"code": str})
    assert summary["new_sites"]["total"] == len(chosen) == 3
    assert max(summary["new_sites"]["by_county"].values()) <= 2
    # each county's proposals are its own planner-site ranking, the chosen ones its first
    for code_, grp in chosen.groupby("code"):
        proposals = pd.read_csv(out / "counties" / code_ / "proposals.csv", encoding="utf-8-sig")
        assert len(proposals) == 2
        assert sorted(grp["site_rank"]) == list(range(1, len(grp) + 1))
        assert grp.sort_values("site_rank")["gain"].tolist() == pytest.approx(
            proposals["newly_covered_population"].iloc[: len(grp)].tolist()
        )
    # the gains taken are the largest that keep each county's order
    county_gains = {
        c: json.loads((out / "counties" / c / "summary.json").read_text(encoding="utf-8"))["batch"]["siting"]["sites"]
        for c in ("990101", "990102", "990103")
    }
    best = max(
        sum(s["gain"] for s in county_gains["990101"][:a] + county_gains["990102"][:b] + county_gains["990103"][:c])
        for a in range(3)
        for b in range(3)
        for c in range(3)
        if a + b + c == 3
    )
    assert chosen["gain"].sum() == pytest.approx(best)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--site-k", "2"], "--site-tier"),
        (["--site-tier", "village"], "--site-k"),
        (["--site-tier", "village", "--site-total", "0"], "--site-total must be a positive"),
        (["--halo-factor", "0"], "--halo-factor must be above 0"),
    ],
)
def test_cli_bad_siting_options_exit_2(
    three_counties: Path, extra: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from planner.cli import main

    args = ["batch", "--manifest", str(three_counties / "counties.csv"), "--out", str(tmp_path / "o"), "--lang", "en"]
    code = main([*args, *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and "Traceback" not in err


@pytest.mark.slow
def test_generated_province_both_forms_equal_one_whole_province_run(tmp_path: Path) -> None:
    """Part 2's test on the generated province: each county as one coverage run over the whole province."""
    from planner.batch.split import split_province
    from planner.cli.coverage import run_coverage
    from planner.demo.province import generate_province, write_province

    files = write_province(tmp_path / "in", province=generate_province(n_counties=4, min_nodes=1500, max_nodes=6000))
    root = tmp_path / "in"
    settings = BatchSettings(config=Config(), tiers=TIERS, isochrones=False)
    manifest = read_manifest(root / "counties.csv")
    by_manifest = run_batch(
        make_tasks(manifest, settings=settings, out_dir=tmp_path / "m"), settings=settings, workers=2,
        processes=False, progress=False,
    )  # fmt: skip
    prov = root / "province"
    split = split_province(
        network=prov / "roads.gpkg", counties=prov / "counties.geojson", stations=prov / "stations.csv",
        demand=prov / "demand.csv", out_dir=tmp_path / "p",
    )  # fmt: skip
    by_province = run_batch(
        make_tasks(split, settings=settings, out_dir=tmp_path / "p"), settings=settings, workers=2,
        processes=False, progress=False,
    )  # fmt: skip
    assert files and all(o.status == "ok" for o in (*by_manifest, *by_province))
    keys = ("demand", "population", "covered_population", "outside_population", "uncovered")

    def figures(o: CountyOutcome) -> dict[str, list[object]]:
        assert o.summary is not None
        return {tier: [s[k] for k in keys] for tier, s in o.summary["tiers"].items()}

    assert {o.code: figures(o) for o in by_manifest} == {o.code: figures(o) for o in by_province}
    for o in by_manifest[:2]:
        whole = run_coverage(
            network_path=prov / "roads.gpkg", stations_path=prov / "stations.csv",
            demand_path=root / "counties" / o.code / "demand.csv", out_dir=tmp_path / "whole" / o.code,
            config=settings.config, tiers=settings.tiers, isochrones=False,
        )  # fmt: skip
        assert figures(o) == {tier: [s[k] for k in keys] for tier, s in whole["tiers"].items()}
    assert sum(sum((o.summary or {})["batch"]["cross_border_population"].values()) for o in by_manifest) > 0


def test_a_taken_dashboard_port_does_not_stop_the_cluster(tmp_path: Path) -> None:
    """Dask's HTTP port 8787 may be held by another cluster (or another test run): a local run goes on."""
    import socket

    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("0.0.0.0", 8787))
        holder.listen(1)
    except OSError:
        pass  # already taken by someone else: the same situation
    try:
        tasks = [county_task(tmp_path, "A", [5, 6])]
        out = run_batch(
            tasks, settings=SETTINGS, workers=1, processes=False, progress=False, county_fn=population_county
        )
        assert [o.status for o in out] == ["ok"]
    finally:
        holder.close()
