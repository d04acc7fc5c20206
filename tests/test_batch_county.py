"""A batch county task: its figures equal one whole-province run for its demand; halo widened; resume; bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.batch.county import DONE_FILE, read_done, run_county
from planner.batch.tasks import BatchSettings, CountyTask
from planner.cli.coverage import run_coverage
from planner.settings import Config

#: Figures that count the county's demand (the station count includes the halo's stations).
DEMAND_FIGURES = (
    "demand",
    "population",
    "covered_population",
    "outside_population",
    "percent_population",
    "off_network_population",
    "unreachable_population",
    "uncovered",
)


def _settings(**kw: object) -> BatchSettings:
    cfg = Config()
    return BatchSettings(config=cfg, tiers=tuple(cfg.standards), isochrones=False, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def whole_runs(two_counties, tmp_path_factory):  # type: ignore[no-untyped-def]
    """``planner coverage`` over the whole roads and every station, for each county's demand alone."""
    paths, counties = two_counties
    out = tmp_path_factory.mktemp("whole")
    settings = _settings()
    return {
        c.code: run_coverage(
            network_path=paths["roads"],
            stations_path=paths["stations"],
            demand_path=c.demand,
            out_dir=out / c.code,
            config=settings.config,
            tiers=settings.tiers,
            isochrones=False,
        )
        for c in counties
    }


def _figures(summary: dict) -> dict:  # type: ignore[type-arg]
    return {tier: {k: s.get(k) for k in DEMAND_FIGURES} for tier, s in summary["tiers"].items()}


@pytest.mark.slow
@pytest.mark.parametrize("which", [0, 1])
def test_county_equals_the_whole_run_for_its_demand(two_counties, whole_runs, tmp_path, which):  # type: ignore[no-untyped-def]
    _, counties = two_counties
    county, other = counties[which], counties[1 - which]
    task = CountyTask(county=county, neighbours=(other,), out_dir=str(tmp_path / county.code), key="k")
    out = run_county(task, settings=_settings())
    assert out.status == "ok", out.message
    assert out.summary is not None
    assert _figures(out.summary) == _figures(whole_runs[county.code])
    batch = out.summary["batch"]
    assert batch["halo_stations"] > 0
    assert batch["widened"] == 0 and batch["halo_short"] == {}
    # the neighbour's stations matter: without them some tier covers fewer people
    alone = run_county(
        CountyTask(county=county, neighbours=(), out_dir=str(tmp_path / "alone"), key="k"), settings=_settings()
    )
    assert alone.summary is not None
    lost = {
        tier: out.summary["tiers"][tier]["covered_population"] - alone.summary["tiers"][tier]["covered_population"]
        for tier in out.summary["tiers"]
    }
    assert lost == pytest.approx(batch["cross_border_population"])
    assert any(v > 0 for v in lost.values())
    # the county's files are those of planner coverage, done.json last
    files = {p.name for p in (tmp_path / county.code).iterdir()}
    written = {"summary.json", "demand.csv", "gaps.csv", "stations.csv", "coverage.gpkg", "report.xlsx", DONE_FILE}
    assert written <= files
    assert out.peak_rss_mb > 0 and out.n_nodes > 0


@pytest.mark.slow
def test_narrow_halo_is_widened_until_the_figures_are_exact(two_counties, whole_runs, tmp_path):  # type: ignore[no-untyped-def]
    _, (a, b) = two_counties
    task = CountyTask(county=a, neighbours=(b,), out_dir=str(tmp_path / "narrow"), key="k")
    narrow = run_county(task, settings=_settings(halo_factor=0.1, max_widen=0))
    assert narrow.status == "ok" and narrow.message  # says the halo was too narrow
    assert narrow.summary is not None and narrow.summary["batch"]["halo_short"]
    widened = run_county(
        CountyTask(county=a, neighbours=(b,), out_dir=str(tmp_path / "wide"), key="k"),
        settings=_settings(halo_factor=0.1, max_widen=8),
    )
    assert widened.status == "ok" and widened.message == ""
    assert widened.widened > 0
    assert widened.summary is not None
    assert _figures(widened.summary) == _figures(whole_runs[a.code])
    assert widened.n_nodes > narrow.n_nodes


@pytest.mark.slow
def test_rerun_with_the_same_key_is_skipped(two_counties, tmp_path):  # type: ignore[no-untyped-def]
    _, (a, b) = two_counties
    task = CountyTask(county=a, neighbours=(b,), out_dir=str(tmp_path / a.code), key="first")
    first = run_county(task, settings=_settings())
    assert first.status == "ok"
    assert json.loads((tmp_path / a.code / DONE_FILE).read_text(encoding="utf-8"))["key"] == "first"
    again = run_county(task, settings=_settings())
    assert again.status == "skipped"
    assert again.summary == first.summary == read_done(tmp_path / a.code, "first")
    assert read_done(tmp_path / a.code, "other") is None
    changed = run_county(
        CountyTask(county=a, neighbours=(b,), out_dir=str(tmp_path / a.code), key="other"), settings=_settings()
    )
    assert changed.status == "ok"


def test_bad_demand_file_is_reported_not_raised(two_counties, tmp_path):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    _, (a, b) = two_counties
    bad = tmp_path / "demand.csv"
    bad.write_text("编号,名称,经度,纬度\nD1,甲村,abc,27.4\n", encoding="utf-8")
    county = replace(a, demand=str(bad))
    out = run_county(
        CountyTask(county=county, neighbours=(b,), out_dir=str(tmp_path / "out"), key="k"), settings=_settings()
    )
    assert out.status == "failed"
    assert str(bad) in out.message or bad.name in out.message
    assert not (Path(tmp_path) / "out" / DONE_FILE).exists()


@pytest.mark.slow
def test_siting_proposes_sites_inside_the_county(two_counties, tmp_path):  # type: ignore[no-untyped-def]
    import pandas as pd

    from planner.settings import Tier

    _, (a, b) = two_counties
    settings = _settings(site_tier=Tier.VILLAGE, site_k=3, site_time_limit_s=20.0)
    out = run_county(CountyTask(county=a, neighbours=(b,), out_dir=str(tmp_path / a.code), key="k"), settings=settings)
    assert out.status == "ok", out.message
    assert out.summary is not None
    siting = out.summary["batch"]["siting"]
    sites = siting["sites"]
    assert [s["rank"] for s in sites] == [1, 2, 3]
    w, s_, e, n = a.bounds
    assert all(w <= s["lon"] <= e and s_ <= s["lat"] <= n for s in sites)
    written = pd.read_csv(tmp_path / a.code / "proposals.csv", encoding="utf-8-sig")
    assert written["site_id"].astype(str).tolist() == [s["site_id"] for s in sites]
    assert written["newly_covered_population"].tolist() == pytest.approx([s["gain"] for s in sites])
    assert all(s["gain"] > 0 for s in sites)


def test_a_neighbour_without_stations_does_not_stop_the_county(two_counties, whole_runs, tmp_path):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    _, (a, b) = two_counties
    empty = tmp_path / "stations.csv"
    empty.write_text("编号,名称,层级,经度,纬度\n", encoding="utf-8")
    out = run_county(
        CountyTask(county=a, neighbours=(replace(b, stations=str(empty)),), out_dir=str(tmp_path / "o"), key="k"),
        settings=_settings(),
    )
    assert out.status == "ok", out.message
    assert out.summary is not None and out.summary["batch"]["halo_stations"] == 0


def test_a_county_without_stations_is_served_by_its_neighbours(two_counties, tmp_path):  # type: ignore[no-untyped-def]
    """A header-only station sheet (the split writes one for a county without stations): all it has is across."""
    from dataclasses import replace

    _, (a, b) = two_counties
    empty = tmp_path / "stations.csv"
    empty.write_text("编号,名称,层级,经度,纬度\n", encoding="utf-8")
    out = run_county(
        CountyTask(county=replace(a, stations=str(empty)), neighbours=(b,), out_dir=str(tmp_path / "o"), key="k"),
        settings=_settings(),
    )
    assert out.status == "ok", out.message
    assert out.summary is not None
    batch = out.summary["batch"]
    assert batch["own_stations"] == 0 and batch["halo_stations"] > 0
    for tier, s in out.summary["tiers"].items():
        assert batch["cross_border_population"][tier] == s["covered_population"]
    assert sum(s["covered_population"] for s in out.summary["tiers"].values()) > 0
