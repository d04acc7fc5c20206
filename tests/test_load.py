"""Tests for planner.network.load: downloading through osmnx (offline: errors only)."""

from __future__ import annotations

import pytest

from planner._errors import NetworkError
from planner.network.load import download_network

# --------------------------------------------------------------------- download


def test_download_needs_place_or_bbox() -> None:
    with pytest.raises(NetworkError, match=r"place|地名"):
        download_network()
    with pytest.raises(NetworkError, match=r"place|地名"):
        download_network(place="x", bbox=(1, 2, 3, 4))


def test_download_failure_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    import osmnx as ox
    import requests

    calls: list[tuple] = []

    def offline(*args: object, **kwargs: object) -> None:
        calls.append((args, kwargs))
        msg = "Failed to establish a new connection"
        raise requests.exceptions.ConnectionError(msg)

    monkeypatch.setattr(ox, "graph_from_place", offline)
    monkeypatch.setattr(ox, "graph_from_bbox", offline)
    with pytest.raises(NetworkError, match=r"贵溪市.*ConnectionError") as exc:
        download_network(place="贵溪市, 江西省, 中国")
    assert "internet" in exc.value.message("en")
    with pytest.raises(NetworkError, match=r"117\.19"):
        download_network(bbox=(117.19, 28.28, 117.26, 28.32))
    assert calls[0][1] == {"network_type": "all", "simplify": False, "retain_all": True}
    assert calls[1][0] == ((117.19, 28.28, 117.26, 28.32),)
