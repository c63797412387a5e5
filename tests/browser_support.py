"""Pytest plugin: open folium maps in headless Chromium, fully offline.

Registered from ``tests/conftest.py`` (``pytest_plugins = ["browser_support"]``).

Folium pages load Leaflet, jQuery, Bootstrap, Font Awesome, awesome-markers and
plugin assets from CDNs, and tiles from tile servers; none is reachable here. Every
request the page makes goes through :func:`_route`:

* the page itself and its sibling files are served from the map's folder under the
  made-up origin ``http://maps.localhost`` (so relative links and fetches work as
  they would on a web server; nothing listens on that address);
* a CDN URL listed in :data:`CDN_ROUTES` is answered from ``tests/browser/node_modules``
  (versions pinned in ``tests/browser/package.json`` to the ones folium references);
* a tile URL (:data:`TILE_URL`) gets a blank 256 x 256 PNG;
* anything else is aborted and recorded in :attr:`BrowserMap.unrouted`.

Fixtures
--------
``browser_assets``
    Session-scoped path of ``tests/browser/node_modules``, checked against
    ``package.json``.
``browser``
    Session-scoped Playwright ``Browser`` (Debian's ``/usr/bin/chromium``, or
    ``$PROXIMITY_CHROMIUM``). Fails (does not skip) with a setup hint when Chromium or
    the npm assets are missing; ``PROXIMITY_SKIP_BROWSER=1`` skips instead.
``open_map``
    ``open_map(path, **options) -> BrowserMap``; every map it opened is closed at the
    end of the test. For one page shared by a module, call :func:`load_map` from a
    module-scoped fixture that takes ``browser``.

Tests using either fixture are marked ``browser`` automatically.
"""

from __future__ import annotations

import importlib.util
import json
import mimetypes
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

TESTS_DIR = Path(__file__).resolve().parent
ASSETS_DIR = TESTS_DIR / "browser"
NODE_MODULES = ASSETS_DIR / "node_modules"
ARTIFACTS_DIR = TESTS_DIR / "_artifacts"
LOCAL_ORIGIN = "http://maps.localhost"
SETUP_HINT = (
    "run `bash scripts/setup.sh --browser` (installs Debian's chromium and runs "
    "`npm ci` in tests/browser), or set PROXIMITY_SKIP_BROWSER=1 to skip browser tests"
)
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DEFAULT_TIMEOUT_MS = 30_000  # generous: a loaded 2-core machine may take over 10 s to render the overview


def chromium_path() -> Path:
    """The Chromium executable the tests drive (``$PROXIMITY_CHROMIUM`` overrides)."""
    return Path(os.environ.get("PROXIMITY_CHROMIUM", "/usr/bin/chromium"))


def _rotate_css() -> tuple[bytes, str]:
    # folium links leaflet.awesome.rotate.min.css from its GitHub repository, not from
    # a package: it only defines .fa-rotate-N classes (Icon(angle=N)), so generate it.
    rules = (f".fa-rotate-{n}{{-webkit-transform:rotate({n}deg);transform:rotate({n}deg)}}" for n in range(360))
    return "".join(rules).encode(), "text/css"


_JSDELIVR = "https://cdn.jsdelivr.net/npm/"
_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs/"
_AWESOME = _CDNJS + "Leaflet.awesome-markers/2.0.2/"
_FOLIUM_GH = "https://cdn.jsdelivr.net/gh/python-visualization/folium"
# An absolute path (joining it to NODE_MODULES keeps it); found without importing folium.
_FOLIUM_TEMPLATES = str(Path(importlib.util.find_spec("folium").origin).parent / "templates") + "/"

#: URL prefix -> file or folder under tests/browser/node_modules (or absolute) (a URL equal to a
#: file entry, or under a folder entry), or a callable producing (body, content type).
#: Versions are the ones folium 0.20.0 / branca 0.8.2 reference; keep in step with
#: tests/browser/package.json (test_browser_smoke checks both against folium).
CDN_ROUTES: dict[str, str | Callable[[], tuple[bytes, str]]] = {
    # folium.Map defaults (folium/folium.py _default_js, _default_css)
    _JSDELIVR + "leaflet@1.9.3/": "leaflet/",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    _CDNJS + "jquery/3.7.1/": "jquery/dist/",
    _JSDELIVR + "bootstrap@5.2.2/": "bootstrap/",
    _JSDELIVR + "@fortawesome/fontawesome-free@6.2.0/": "@fortawesome/fontawesome-free/",
    _AWESOME + "leaflet.awesome-markers.js": "drmonty-leaflet-awesome-markers/js/leaflet.awesome-markers.js",
    _AWESOME + "leaflet.awesome-markers.css": "drmonty-leaflet-awesome-markers/css/leaflet.awesome-markers.css",
    _AWESOME + "images/": "drmonty-leaflet-awesome-markers/css/images/",
    # Bootstrap 3.0.0's glyphicons stylesheet is not on npm; the 3.3.7 glyphicons-only
    # build has the same class names (a superset) and the font files beside it.
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": "glyphicons-only-bootstrap/css/bootstrap.min.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/fonts/": "glyphicons-only-bootstrap/fonts/",
    _FOLIUM_GH + "/folium/templates/leaflet.awesome.rotate.min.css": _rotate_css,
    # other files folium links from its own repository ship in the folium wheel
    _FOLIUM_GH + "/folium/templates/": _FOLIUM_TEMPLATES,
    _FOLIUM_GH + "@main/folium/templates/": _FOLIUM_TEMPLATES,
    # branca colormaps (legends) and folium.plugins we may use
    _CDNJS + "d3/3.5.5/": "d3/",
    _CDNJS + "leaflet.markercluster/1.1.0/": "leaflet.markercluster/dist/",
    _JSDELIVR + "leaflet-search@2.9.7/": "leaflet-search/",
    # jsdelivr minifies on the fly; the package has only the source file.
    _JSDELIVR + "leaflet.fullscreen@3.0.0/Control.FullScreen.min.js": "leaflet.fullscreen/Control.FullScreen.js",
    _JSDELIVR + "leaflet.fullscreen@3.0.0/": "leaflet.fullscreen/",
    _CDNJS + "leaflet-minimap/3.6.1/": "leaflet-minimap/src/",
    "https://unpkg.com/leaflet.featuregroup.subgroup@1.0.2/": "leaflet.featuregroup.subgroup/",
    _CDNJS + "leaflet-groupedlayercontrol/0.6.1/": "leaflet-groupedlayercontrol/dist/",
}

#: Raster tile servers folium/xyzservices use; answered with a blank tile.
TILE_URL = re.compile(
    r"^https?://([a-z0-9-]+\.)*("
    r"tile\.openstreetmap\.(org|fr)|basemaps\.cartocdn\.com|tile\.opentopomap\.org"
    r"|server\.arcgisonline\.com|tiles\.stadiamaps\.com|tile\.thunderforest\.com"
    r")/"
)

_CONTENT_TYPES = {
    ".js": "application/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".gif": "image/gif",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".eot": "application/vnd.ms-fontobject",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".geojson": "application/geo+json",
}


def _content_type(path: Path) -> str:
    return _CONTENT_TYPES.get(path.suffix.lower()) or (mimetypes.guess_type(path.name)[0] or "application/octet-stream")


def resolve_cdn(url: str) -> Path | Callable[[], tuple[bytes, str]] | None:
    """Map a CDN URL to its local file (which may not exist) or generator.

    Returns ``None`` when no entry of :data:`CDN_ROUTES` covers ``url``. Query strings
    and fragments (``?v=4.7.0``, ``#iefix`` in font URLs) are ignored.
    """
    bare = url.split("#", 1)[0].split("?", 1)[0]
    for prefix in sorted(CDN_ROUTES, key=len, reverse=True):
        target = CDN_ROUTES[prefix]
        if bare == prefix and callable(target):
            return target
        if callable(target):
            continue
        if prefix.endswith("/") and bare.startswith(prefix):
            rest = unquote(bare[len(prefix) :])
            base = (NODE_MODULES / target).resolve()
            local = (base / rest).resolve()
            return local if local.is_relative_to(base) else None
        if bare == prefix:
            return NODE_MODULES / target
    return None


@cache
def blank_tile_png() -> bytes:
    """A 256 x 256 light-grey PNG with a darker right and bottom edge (tiles show)."""
    fill, edge = b"\xf2\xef\xe9", b"\xd9\xd6\xd0"
    row = b"\x00" + fill * 255 + edge
    raw = row * 255 + b"\x00" + edge * 256

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def setup_problems() -> list[str]:
    """What is missing for browser tests: Chromium, node_modules, wrong versions."""
    problems = []
    exe = chromium_path()
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        problems.append(f"no Chromium executable at {exe}")
    wanted = json.loads((ASSETS_DIR / "package.json").read_text(encoding="utf-8"))
    if not NODE_MODULES.is_dir():
        problems.append(f"{NODE_MODULES} does not exist")
        return problems
    for name, version in wanted["dependencies"].items():
        manifest = NODE_MODULES / name / "package.json"
        if not manifest.is_file():
            problems.append(f"npm package {name} is not installed")
            continue
        found = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        if found != version:
            problems.append(f"npm package {name} is {found}, package.json pins {version}")
    return problems


@dataclass
class BrowserMap:
    """One page opened by :func:`load_map`, with everything it did recorded.

    Attributes
    ----------
    page : playwright.sync_api.Page
        The live page (``page.locator(...)``, ``page.hover(...)``, ...).
    url : str
        ``http://maps.localhost/<path relative to root>``.
    console_errors, console_warnings : list of str
        ``console.error`` / ``console.warn`` messages, with their source location.
    page_errors : list of str
        Uncaught exceptions.
    dialogs : list of str
        ``alert``/``confirm``/``prompt`` dialogs (dismissed), as ``"type: message"``.
    unrouted : list of str
        External requests that matched no route and were aborted.
    missing : list of str
        Requests that matched a route but had no file (answered 404).
    served, tiles : list of str
        CDN URLs answered from node_modules; tile URLs answered with a blank tile.
    """

    page: object
    url: str
    console_errors: list[str] = field(default_factory=list)
    console_warnings: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    unrouted: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    served: list[str] = field(default_factory=list)
    tiles: list[str] = field(default_factory=list)
    _context: object = None

    def xss_sentinel(self) -> object:
        """``window.__xss``: 0 unless some injected script changed it."""
        return self.page.evaluate("window.__xss")

    def problems(self) -> list[str]:
        """Every sign of a broken or unsafe page, one line each (empty if clean)."""
        found = [f"console error: {m}" for m in self.console_errors]
        found += [f"page error: {m}" for m in self.page_errors]
        found += [f"dialog: {m}" for m in self.dialogs]
        found += [f"unrouted request (aborted): {u}" for u in self.unrouted]
        found += [f"no local file for: {u}" for u in self.missing]
        sentinel = self.xss_sentinel()
        if sentinel != 0:
            found.append(f"window.__xss was changed to {sentinel!r}: injected script ran")
        return found

    def assert_clean(self) -> None:
        """Fail the test if :meth:`problems` found anything."""
        problems = self.problems()
        assert not problems, f"{self.url} is not clean:\n  " + "\n  ".join(problems)

    def close(self) -> None:
        """Close the page's browser context."""
        if self._context is not None:
            self._context.close()
            self._context = None


def _fulfil(route, body: bytes, content_type: str, status: int = 200) -> None:
    route.fulfill(
        status=status,
        body=body,
        headers={
            "Content-Type": content_type,
            # fonts are fetched in CORS mode; the page's origin differs from the CDN's
            "Access-Control-Allow-Origin": "*",
            "Cache-Control": "no-store",
        },
    )


def _make_router(record: BrowserMap, root: Path) -> Callable:
    def route_request(route, request) -> None:
        url = request.url
        if url.startswith(("data:", "blob:")):
            route.continue_()
            return
        if url.startswith(("file://", LOCAL_ORIGIN + "/")):
            if url.startswith("file://"):
                local = Path(unquote(urlsplit(url).path)).resolve()
            else:
                local = (root / unquote(urlsplit(url).path).lstrip("/")).resolve()
            if local.is_dir():
                local = local / "index.html"
            if local.is_relative_to(root) and local.is_file():
                _fulfil(route, local.read_bytes(), _content_type(local))
            else:
                record.missing.append(url)
                _fulfil(route, b"not found", "text/plain", status=404)
            return
        if TILE_URL.match(url):
            record.tiles.append(url)
            _fulfil(route, blank_tile_png(), "image/png")
            return
        target = resolve_cdn(url)
        if target is None:
            record.unrouted.append(url)
            route.abort("blockedbyclient")
        elif callable(target):
            record.served.append(url)
            _fulfil(route, *target())
        elif target.is_file():
            record.served.append(url)
            _fulfil(route, target.read_bytes(), _content_type(target))
        else:
            record.missing.append(f"{url} (expected {target})")
            _fulfil(route, b"not found", "text/plain", status=404)

    return route_request


def load_map(
    browser,
    path: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    viewport_px: tuple[int, int] = (1000, 700),
    wait_for: str | None = ".leaflet-container",
    file_url: bool = False,
) -> BrowserMap:
    """Open a local HTML file in a new browser context and wait until it settles.

    Parameters
    ----------
    browser : playwright.sync_api.Browser
        The ``browser`` fixture.
    path : path-like
        The HTML file.
    root : path-like, optional
        Folder served as ``http://maps.localhost/`` (default: the file's folder);
        ``path`` must be inside it.
    viewport_px : (width, height)
        Viewport size in CSS pixels.
    wait_for : str or None
        CSS selector to wait for after load (None: do not wait for one).
    file_url : bool
        Open the page as a ``file://`` URL (as a user double-clicking it): its relative
        links and scripts are read from disk, not served; CDN assets are still routed.

    Returns
    -------
    BrowserMap
        Close it with ``.close()`` (the ``open_map`` fixture does it for you).
    """
    path = Path(path).resolve()
    root_dir = Path(root).resolve() if root is not None else path.parent
    if not path.is_file():
        raise FileNotFoundError(f"load_map: no HTML file at {path}")
    if not path.is_relative_to(root_dir):
        raise ValueError(f"load_map: {path} is not inside root {root_dir}")
    url = path.as_uri() if file_url else f"{LOCAL_ORIGIN}/{quote(path.relative_to(root_dir).as_posix())}"
    context = browser.new_context(
        viewport={"width": viewport_px[0], "height": viewport_px[1]},
        device_scale_factor=1,
        service_workers="block",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    record = BrowserMap(page=page, url=url, _context=context)
    try:
        context.add_init_script("window.__xss = 0;")
        context.route("**/*", _make_router(record, root_dir))

        def on_console(msg) -> None:
            loc = msg.location
            where = f" ({loc.get('url')}:{loc.get('lineNumber')})" if loc else ""
            if msg.type == "error":
                record.console_errors.append(msg.text + where)
            elif msg.type == "warning":
                record.console_warnings.append(msg.text + where)

        def on_dialog(dialog) -> None:
            record.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("console", on_console)
        page.on("pageerror", lambda exc: record.page_errors.append(str(exc)))
        page.on("dialog", on_dialog)
        page.goto(url, wait_until="load")
        if wait_for is not None:
            page.wait_for_selector(wait_for, state="attached")
        page.evaluate("document.fonts.ready.then(() => document.fonts.status)")
        page.wait_for_load_state("networkidle")
    except BaseException:
        record.close()
        raise
    return record


def screenshot(target: BrowserMap | object, name: str) -> Path:
    """Save a PNG of the page's viewport to ``tests/_artifacts/<name>.png``.

    ``target`` is a :class:`BrowserMap` or a Playwright page. Returns the path.
    """
    page = target.page if isinstance(target, BrowserMap) else target
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "screenshot"
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS_DIR / f"{safe}.png"
    page.screenshot(path=str(out), animations="disabled")  # finish fades first
    return out


@pytest.fixture(scope="session")
def browser_assets() -> Path:
    """``tests/browser/node_modules``, checked: fails with a setup hint if incomplete.

    Skips instead when ``PROXIMITY_SKIP_BROWSER=1``.
    """
    if os.environ.get("PROXIMITY_SKIP_BROWSER") == "1":
        pytest.skip("PROXIMITY_SKIP_BROWSER=1: browser tests skipped on request")
    problems = setup_problems()
    if problems:
        pytest.fail(
            "browser tests cannot run: " + "; ".join(problems) + ". Fix: " + SETUP_HINT,
            pytrace=False,
        )
    return NODE_MODULES


@pytest.fixture(scope="session")
def browser(browser_assets) -> Iterator[object]:
    """A headless Chromium (Playwright sync API) shared by the whole session."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(chromium_path()), headless=True, args=list(CHROMIUM_ARGS)
        )
    except Exception as exc:
        playwright.stop()
        pytest.fail(f"could not launch {chromium_path()}: {exc}. Fix: {SETUP_HINT}", pytrace=False)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@pytest.fixture
def open_map(browser) -> Iterator[Callable[..., BrowserMap]]:
    """``open_map(path, **load_map_options) -> BrowserMap``; closed after the test."""
    opened: list[BrowserMap] = []

    def _open(path: str | os.PathLike, **options) -> BrowserMap:
        opened.append(load_map(browser, path, **options))
        return opened[-1]

    yield _open
    for record in opened:
        record.close()


def pytest_collection_modifyitems(config, items) -> None:
    """Mark every test that uses a browser fixture as ``browser``."""
    for item in items:
        if {"browser", "browser_assets", "open_map"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
