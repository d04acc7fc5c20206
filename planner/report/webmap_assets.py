"""Offline assets of the web map: local copies of Leaflet & co and the standalone HTML page.

Everything works offline: the Leaflet, jQuery, Bootstrap, awesome-markers and Font
Awesome files folium would take from CDNs are shipped in ``planner/static`` and either
referenced through a local URL (Streamlit static serving, ``/app/static/...``) by
:func:`localise_assets` or inlined by :func:`standalone_html`.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path

import branca
import folium

logger = logging.getLogger(__name__)

STATIC_DIR: Path = Path(__file__).resolve().parents[1] / "static"
#: URL under which Streamlit serves ``./static`` of the app folder (``enableStaticServing``).
STATIC_URL: str = "/app/static"

#: folium's CDN asset names mapped to local files under :data:`STATIC_DIR` (None: not needed).
#: Glyphicons (Bootstrap 3) and the awesome-markers rotate CSS are dropped: the maps use
#: Font Awesome icons without rotation. jQuery and Bootstrap's script are dropped too:
#: nothing on these maps calls them, and streamlit-folium loads scripts one after the
#: other (they delayed the first map by ~0.15 s). Bootstrap's stylesheet stays (fonts).
LOCAL_ASSETS: dict[str, str | None] = {
    "leaflet": "leaflet/leaflet.js",
    "jquery": None,
    "bootstrap": None,
    "awesome_markers": "awesome-markers/leaflet.awesome-markers.js",
    "leaflet_css": "leaflet/leaflet.css",
    "bootstrap_css": "bootstrap/bootstrap.min.css",
    "glyphicons_css": None,
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    "awesome_markers_css": "awesome-markers/leaflet.awesome-markers.css",
    "awesome_rotate_css": None,
}


def walk_elements(element: branca.element.Element) -> Iterator[branca.element.Element]:
    """Yield ``element`` and every element below it, depth first."""
    yield element
    for child in element._children.values():
        yield from walk_elements(child)


def localise_assets(m: folium.Map, *, base_url: str = STATIC_URL) -> folium.Map:
    """Point every JS/CSS asset of ``m`` and its children at the local copies.

    Raises
    ------
    ValueError
        If an element needs an asset that has no local copy (a plugin that was not
        vendored): better to fail than to load it from the internet.
    """
    base = base_url.rstrip("/")
    for el in walk_elements(m):
        for attr in ("default_js", "default_css"):
            assets = getattr(el, attr, None)
            if not assets:
                continue
            local: list[tuple[str, str]] = []
            for name, url in assets:
                if url.startswith(base + "/"):
                    local.append((name, url))
                    continue
                if name not in LOCAL_ASSETS:
                    msg = f"no local copy of map asset {name!r} ({url}); vendor it into planner/static"
                    raise ValueError(msg)
                rel = LOCAL_ASSETS[name]
                if rel is not None:
                    local.append((name, f"{base}/{rel}"))
            setattr(el, attr, local)
    return m


_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".woff2":
        mime = "font/woff2"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", text)

    def repl(match: re.Match[str]) -> str:
        ref = match.group(2).strip()
        if ref.startswith(("data:", "#")):
            return match.group(0)
        target = (path.parent / ref.split("?")[0].split("#")[0]).resolve()
        if STATIC_DIR not in target.parents or not target.is_file():
            return "url(data:,)"  # alternative font formats that are not shipped
        return f"url({_data_uri(target)})"

    return _CSS_URL.sub(repl, text)


def _asset_path(url: str, base: str) -> Path | None:
    if not url.startswith(base + "/"):
        return None
    target = (STATIC_DIR / url[len(base) + 1 :]).resolve()
    return target if STATIC_DIR in target.parents and target.is_file() else None


def standalone_html(m: folium.Map, *, base_url: str = STATIC_URL) -> str:
    """Render ``m`` as one self-contained HTML page (all scripts, styles, fonts inlined).

    The page loads nothing from any server, except basemap tiles if the map was built
    with a tile URL.
    """
    localise_assets(m, base_url=base_url)
    page = m.get_root().render()
    base = base_url.rstrip("/")

    def script(match: re.Match[str]) -> str:
        path = _asset_path(match.group(1), base)
        if path is None:
            return match.group(0)
        code = path.read_text(encoding="utf-8")
        code = re.sub(r"//# sourceMappingURL=\S+", "", code).replace("</script", "<\\/script")
        return f"<script>{code}</script>"

    def link(match: re.Match[str]) -> str:
        path = _asset_path(match.group(1), base)
        if path is None:
            return match.group(0)
        return f"<style>{_inline_css(path)}</style>"

    page = re.sub(r'<script src="([^"]+)"></script>', script, page)
    page = re.sub(r'<link rel="stylesheet" href="([^"]+)"\s*/?>', link, page)
    left = re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="(https?://[^"]+|/[^"]*)"', page)
    if left:
        logger.warning("standalone map still references %s", left[:5])
    return page
