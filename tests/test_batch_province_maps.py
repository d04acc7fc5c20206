"""The province's overview maps, drawn from county outcomes whose summaries come from real runs of the demo county."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from matplotlib.figure import Figure

from planner.batch.province import ProvinceFigures, province_figures
from planner.batch.province_maps import (
    COVERAGE_BREAKS_PERCENT,
    NO_RATE_HEX,
    coverage_classes,
    overview_html,
    overview_png,
)
from planner.batch.tasks import BatchSettings, CountyInputs, CountyOutcome
from planner.i18n import t
from planner.report.colours import ACCESS_CLASS_HEX
from planner.report.files import report_files
from planner.settings import TIERS, Config
from planner.workspace.workspace import Workspace

NAMES = {"990101": "$\\x$", "990102": "<script>alert(1)</script>", "990103": "{{ 7*7 }}"}


@pytest.fixture(scope="module")
def figs(demo: tuple[Workspace, Any]) -> ProvinceFigures:
    """Two counties with results (all stations; every fourth station of each tier) and one that failed."""
    ws, scenario = demo
    st = scenario.stations
    summaries = [
        json.loads(report_files(ws, s, include=("summary.json",), isochrones=False)["summary.json"])
        for s in (st, st[st.groupby("tier").cumcount() % 4 == 0])
    ]
    x0, y0, x1, y1 = (
        float(v) for v in (ws.demand.lon.min(), ws.demand.lat.min(), ws.demand.lon.max(), ws.demand.lat.max())
    )
    w = x1 - x0
    counties = [
        CountyInputs(code=c, name=n, roads="r", stations="s", demand="d", bounds=(x0 + k * w, y0, x1 + k * w, y1))
        for k, (c, n) in enumerate(NAMES.items())
    ]
    outcomes = [
        CountyOutcome(code="990101", name=NAMES["990101"], status="ok", summary=summaries[0]),
        CountyOutcome(code="990102", name=NAMES["990102"], status="ok", summary=summaries[1]),
        CountyOutcome(code="990103", name=NAMES["990103"], status="memory", message="over 2 GB"),
    ]
    return province_figures(outcomes=outcomes, counties=counties, settings=BatchSettings(config=Config(), tiers=TIERS))


def test_coverage_classes_follow_the_breaks() -> None:
    b = COVERAGE_BREAKS_PERCENT
    assert len(ACCESS_CLASS_HEX) == len(b) + 1
    assert coverage_classes([None, 0.0, b[0] - 0.01, b[0], b[-1], 100.0]) == [-1, 0, 0, 1, len(b), len(b)]


def test_names_with_dollars_are_drawn_as_text(figs: ProvinceFigures) -> None:
    with pytest.raises(ValueError):  # the same name read as math text does not even draw
        fig = Figure()
        fig.text(0.5, 0.5, NAMES["990101"])
        fig.savefig(io.BytesIO(), format="png")
    for tier in TIERS:
        png = overview_png(figs, tier=tier, lang="en", title="$a$ & <b>")
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_web_map_has_a_layer_per_tier_coloured_by_class(figs: ProvinceFigures) -> None:
    page = overview_html(figs, lang="zh", title="示例省")
    assert page.count("L.geoJson(") == len(TIERS)
    data = [json.loads(m) for m in re.findall(r"L\.geoJson\((\{.*?\}), \{", page)]
    assert len(data) == len(TIERS)
    for tier, layer in zip(TIERS, data, strict=True):
        fills = [f["properties"]["style"]["fillColor"] for f in layer["features"]]
        rates = figs.rate(tier)
        want = [ACCESS_CLASS_HEX[k] if k >= 0 else NO_RATE_HEX for k in coverage_classes([rates.get(c) for c in NAMES])]
        assert fills == want
        assert t(f"tier.{tier}", lang="zh") in layer["features"][0]["properties"]["tip"]
    assert NO_RATE_HEX in {f["properties"]["style"]["fillColor"] for f in data[0]["features"]}  # the failed county


def test_web_map_is_standalone_and_names_are_escaped(figs: ProvinceFigures) -> None:
    page = overview_html(figs, lang="en", title="<b>{{ 6*7 }}</b>")
    assert not re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="[^"]+"', page)
    assert "/app/static" not in page
    assert "cdn.jsdelivr" not in page and "cdnjs" not in page and "code.jquery" not in page
    assert "L.map(" in page and page.count("data:font/woff2;base64,") >= 3  # Leaflet and fonts inlined
    assert "<script>alert(1)" not in page and "\\u0026lt;script\\u0026gt;alert(1)" in page
    assert "{{ 7*7 }}" in page  # a name is data: no template pass reads it
    assert "&lt;b&gt;&#123;&#123; 6*7 &#125;&#125;&lt;/b&gt;" in page and "<b>{{" not in page  # the title too
