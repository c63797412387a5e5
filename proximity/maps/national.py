"""National maps: metropolitan France's communes on one page, a page per département, commune pages.

The input is the national table of a run over France (``municipalities.parquet``: one row
per commune with ``insee``, ``name``, ``departement``, ``population``, ``index``, ``rank``,
``rank_departement``… and polygons), or any table of the same shape over several
départements.

* :func:`national_overview` — every commune on one canvas-rendered map (about 34,700
  polygons), coloured by the milieu index or a component, with a département choropleth
  (population-weighted mean index) to switch to, hover for a commune's score and ranks,
  a search box by name or INSEE code, and the legend.
* :func:`departement_map` — one département: its communes, their national rank and rank in
  the département, their peers (:mod:`proximity.peers`) in the popup, a table to sort by.
* :func:`commune_map` — one commune, built on demand: its ranks, components, and its peers
  on a map of France with a table.
* :func:`build_national_maps` — ``overview.html``, ``departements/<code>.html``,
  ``index.html`` (and the commune pages asked for), written as one staged run
  (:func:`proximity._io.staged_output`): the folder holds one complete set.
* :func:`write_commune_pages` — commune pages on demand into an existing (or new) folder.

Size
----
A GeoJSON of France's communes is hundreds of megabytes. The overview writes the polygons
once, simplified as a coverage (shared borders stay shared:
:func:`shapely.coverage_simplify`, ``simplify_m`` metres), their coordinates as integers on
a grid of ``quantum_deg`` degrees, delta-encoded per polygon, and draws them with Leaflet's
canvas renderer from a few lines of JavaScript; the attributes are columns (one array per
field), class codes one digit per commune. France fits in about 5 MB.

Text
----
Names are data: the pages' HTML built in Python is escaped with
:func:`proximity._html.escape`; the overview's tooltips, popups and search results are
built in the browser (from JSON made inert by :func:`~._elements.js`) and escape every
name with their own ``esc`` before using it as HTML, or set it as ``textContent``. Links
hold only INSEE and département codes, which are checked against their patterns.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from jinja2 import Template

from .._html import escape, format_value
from .._io import atomic_path, staged_output
from ..errors import InputError, MissingColumnError
from ..milieu import COMPONENTS
from . import _prepare as P
from ._elements import Attribution, DirectRender, Features, Fit, Panel, Stylesheet, encode_polygons, js

__all__ = [
    "build_national_maps",
    "read_national",
    "check_national",
    "commune_map",
    "departement_map",
    "national_overview",
    "write_commune_pages",
]

#: Columns a national table must have (besides the geometry).
REQUIRED = ("insee", "name", "departement", "population", "index", "rank", "rank_departement")
INSEE_RE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
DEP_RE = re.compile(r"^(?:\d{2}|2[AB])$")
#: Default simplification (metres) and coordinate grid (degrees) of the overview.
OVERVIEW_SIMPLIFY_M = 500.0
OVERVIEW_QUANTUM_DEG = 1e-3
#: Same for the département pages (one département: finer).
DEPARTEMENT_SIMPLIFY_M = 60.0
DEPARTEMENT_QUANTUM_DEG = 1e-4
#: Same for the commune pages (the commune and its peers).
COMMUNE_SIMPLIFY_M = 40.0
CLASSES = 6
#: Variables the communes can be coloured by: column, label.
VARIABLES = (("index", "Milieu index"), *((c, c.capitalize()) for c in COMPONENTS))

NATIONAL_CSS = """
.prox-search{width:300px}
.prox-search input{width:100%;box-sizing:border-box;font-size:14px;padding:5px 8px;border:1px solid #aab;border-radius:4px}
.prox-search ul{list-style:none;margin:4px 0 0;padding:0;max-height:260px;overflow-y:auto}
.prox-search li{padding:3px 4px;cursor:pointer;border-radius:3px;font-size:12.5px}
.prox-search li:hover,.prox-search li.prox-active{background:#e6ecff}
.prox-search .prox-none{color:#777;cursor:default}
.prox-legend select{font-size:12px;margin:2px 0 6px;max-width:230px}
.prox-panel.prox-dpanel{max-width:470px}
.prox-dtable{max-height:calc(100vh - 150px);overflow-y:auto;width:450px}
.prox-dtable table{border-collapse:collapse;font-size:12px;width:100%}
.prox-dtable th,.prox-dtable td{padding:2px 5px;border-bottom:1px solid #eee;text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.prox-dtable th:nth-child(2),.prox-dtable td:nth-child(2){text-align:left;white-space:normal;min-width:120px}
.prox-dtable th{white-space:normal!important;vertical-align:bottom}
.prox-dtable thead th{position:sticky;top:0;background:#eef0f5}
.prox-dtable tbody tr{cursor:pointer}
.prox-dtable tbody tr:hover{background:#f1f5ff}
.prox-peers{border-collapse:collapse;font-size:12px;margin-top:4px}
.prox-peers th,.prox-peers td{padding:1px 6px 1px 0;text-align:right;font-variant-numeric:tabular-nums}
.prox-peers th:nth-child(2),.prox-peers td:nth-child(2){text-align:left}
.prox-peers tr.prox-self{font-weight:700;background:#fff4d6}
.prox-ccard{max-width:520px;width:520px;max-height:calc(100vh - 60px);overflow-y:auto}
.prox-peers.prox-comp td:first-child{text-align:left}
.prox-pcard table.proximity-table caption{white-space:nowrap}
.leaflet-popup-content a.prox-popup-link{font-size:13px}
"""


# --------------------------------------------------------------------------- checks
def check_national(table: Any) -> gpd.GeoDataFrame:
    """A validated copy of a national commune table, indexed and sorted by INSEE code.

    Parameters
    ----------
    table : GeoDataFrame
        One row per commune with the columns :data:`REQUIRED` and (Multi)Polygon
        geometry in a known CRS (``municipalities.parquet`` of a national run).

    Returns
    -------
    GeoDataFrame
        In EPSG:2154, indexed by INSEE code (str), sorted.

    Raises
    ------
    InputError
        Not a GeoDataFrame, no CRS, empty, duplicate or malformed INSEE or département
        codes, ranks that are not whole numbers.
    MissingColumnError
        A required column is missing.
    """
    if not isinstance(table, gpd.GeoDataFrame):
        raise InputError(
            f"table must be a GeoDataFrame of communes (e.g. geopandas.read_parquet('DIR/municipalities.parquet')), "
            f"got {type(table).__name__}"
        )
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise MissingColumnError(
            f"table lacks the column(s) {missing}; pass the municipalities.parquet of a national run "
            "(proximity run --territory france), which has them"
        )
    if table.crs is None:
        raise InputError("table has no CRS; set it (e.g. table.set_crs('EPSG:2154')) before drawing it")
    if not len(table):
        raise InputError("table has no communes; pass the national table of a run")
    t = table.copy()
    t["insee"] = t["insee"].astype(str)
    t["departement"] = t["departement"].astype(str)
    problems = []
    bad = t.loc[~t["insee"].map(lambda c: bool(INSEE_RE.match(c))), "insee"]
    if len(bad):
        problems.append(f"INSEE codes not of the form 34172 or 2A004: {sorted(map(repr, bad))[:5]}")
    dup = t["insee"][t["insee"].duplicated()]
    if len(dup):
        problems.append(f"duplicate INSEE codes {sorted(set(dup))[:5]} (keep one row per commune)")
    badd = t.loc[~t["departement"].map(lambda c: bool(DEP_RE.match(c))), "departement"]
    if len(badd):
        problems.append(f"département codes not of the form 34 or 2A: {sorted(set(map(repr, badd)))[:5]}")
    for c in ("rank", "rank_departement", "population"):
        v = pd.to_numeric(t[c], errors="coerce")
        if v.isna().any() or (v != np.round(v)).any():
            problems.append(f"{c!r} must be whole numbers for every commune")
    kinds = set(t.geometry.geom_type.dropna())
    if t.geometry.isna().any() or not kinds <= {"Polygon", "MultiPolygon"}:
        problems.append(
            f"geometry must be a (Multi)Polygon for every commune, found {sorted(kinds)} and {int(t.geometry.isna().sum())} missing"
        )
    if problems:
        raise InputError("national table: " + "; ".join(problems))
    t = t.set_index(pd.Index(t["insee"].to_numpy(), name=None)).sort_index()
    return t.to_crs("EPSG:2154")


def _check_number(value: Any, name: str, *, lo: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value < lo:
        raise InputError(f"{name} must be a number >= {lo:g}, got {value!r}")
    return float(value)


# --------------------------------------------------------------------------- shared data
@dataclass
class _Classes:
    codes: np.ndarray  # -1: no data
    colors: list[str]
    labels: list[str]
    counts: list[int]


def quantile_classes(values: Sequence[float] | np.ndarray, *, k: int = CLASSES) -> _Classes:
    """Quantile classes (about as many communes in each), light (low) to dark (high).

    Natural breaks (Fisher-Jenks) are quadratic in the number of values: too slow for
    France's 34,700 communes without numba; quantiles also read as "the top sixth".
    """
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    codes = np.full(len(v), -1, dtype=int)
    if not ok.any():
        return _Classes(codes, [], [], [])
    breaks = np.unique(np.quantile(v[ok], np.arange(1, k) / k))
    breaks = breaks[breaks < v[ok].max()]
    codes[ok] = np.searchsorted(breaks, v[ok], side="left")
    n = int(codes[ok].max()) + 1
    colors = P._palette(P.YLGNBU, n)
    labels, counts = [], []
    for i in range(n):
        members = v[codes == i]
        counts.append(len(members))
        labels.append(f"{_fmt(members.min())} – {_fmt(members.max())}" if len(members) else "–")
    return _Classes(codes, colors, labels, counts)


def _fmt(v: float) -> str:
    return "n/a" if not np.isfinite(v) else (f"{v:.1f}" if abs(v) >= 1.5 else f"{v:.2f}")


def _simplified(geoms: gpd.GeoSeries, tolerance_m: float) -> gpd.GeoSeries:
    """Coverage simplification in EPSG:2154, returned in EPSG:4326."""
    g = geoms.to_crs("EPSG:2154")
    vals = shapely.coverage_simplify(g.values, tolerance_m) if tolerance_m > 0 else g.values
    return gpd.GeoSeries(vals, index=g.index, crs="EPSG:2154").to_crs("EPSG:4326")


@dataclass
class _Nat:
    """What the national pages share, computed once."""

    t: gpd.GeoDataFrame
    dep_names: dict[str, str]
    region_names: dict[str, str]
    dep_table: pd.DataFrame  # per département: name, n, population, mean_index, rank, best
    classes: dict[str, _Classes]
    dep_classes: _Classes
    variables: list[tuple[str, str]]
    attribution: str
    sources: str
    synthetic: bool
    peers_ok: bool
    cache: dict[Any, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.t)


def _names() -> tuple[dict[str, str], dict[str, str]]:
    from .. import area

    try:
        deps = {c: str(r.get("nom", c)) for c, r in area.metro_departements().items()}
        regions = {c: str(r.get("nom", c)) for c, r in area._regions().items()}
    except Exception:  # the national files are optional for drawing: codes then
        deps, regions = {}, {}
    return deps, regions


def _with_peers(t: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, bool]:
    """The table with its peers (computed when absent and the features are there)."""
    from .. import peers as peers_mod

    if "peers" in t.columns and "peer_rank_index" in t.columns:
        return t, True
    needed = {c for f in peers_mod.DEFAULT_FEATURES for c in peers_mod.FEATURES[f][0]}
    if not needed <= set(t.columns) or len(t) <= peers_mod.DEFAULT_K:
        return t, False
    return peers_mod.add_peers(t), True


def _prepare(table: Any, *, synthetic_smes: bool = True) -> _Nat:
    t = check_national(table)
    t, peers_ok = _with_peers(t)
    dep_names, region_names = _names()
    variables = [(c, label) for c, label in VARIABLES if c in t.columns]
    classes = {c: quantile_classes(t[c].to_numpy(dtype=float)) for c, _ in variables}
    pop = t["population"].astype(float)
    rows = []
    for dep, g in t.groupby("departement", sort=True):
        w = pop.loc[g.index]
        idx = g["index"].astype(float)
        ok = np.isfinite(idx)
        mean = (
            float(np.average(idx[ok], weights=w[ok]))
            if ok.any() and w[ok].sum() > 0
            else float(idx[ok].mean())
            if ok.any()
            else np.nan
        )
        best = g.sort_values("rank").iloc[0]
        rows.append(
            {
                "departement": dep,
                "name": dep_names.get(dep, dep),
                "n": len(g),
                "population": int(w.sum()),
                "mean_index": mean,
                "best_insee": best["insee"],
                "best_name": str(best["name"]),
                "best_rank": int(best["rank"]),
            }
        )
    dep_table = pd.DataFrame(rows).set_index("departement")
    dep_table["rank"] = dep_table["mean_index"].rank(ascending=False, method="first").astype("Int64")
    dep_classes = quantile_classes(
        dep_table["mean_index"].to_numpy(dtype=float), k=min(CLASSES, max(1, len(dep_table)))
    )
    try:
        _, pairs, short = P.source_texts("france")
        sources = P.sources_html(pairs, synthetic=synthetic_smes)
    except Exception:  # without the national manifest: a shorter line
        short, sources = "IGN, INSEE, OpenStreetMap contributors", ""
    return _Nat(
        t=t,
        dep_names=dep_names,
        region_names=region_names,
        dep_table=dep_table,
        classes=classes,
        dep_classes=dep_classes,
        variables=variables,
        attribution=short,
        sources=sources,
        synthetic=synthetic_smes,
        peers_ok=peers_ok,
    )


def _legend_rows(c: _Classes, *, high_first: bool = True) -> str:
    order = reversed(range(len(c.colors))) if high_first else range(len(c.colors))
    rows = "".join(
        f'<div class="prox-leg-row"><span class="prox-sw" style="background:{c.colors[i]}"></span>'
        f'{escape(c.labels[i])}<span class="prox-leg-n">({c.counts[i]})</span></div>'
        for i in order
    )
    nodata = int((c.codes < 0).sum())
    if nodata:
        rows += f'<div class="prox-leg-row"><span class="prox-sw" style="background:{P.NODATA}"></span>no data<span class="prox-leg-n">({nodata})</span></div>'
    return rows


def _base(nat: _Nat, bounds: list[list[float]], *, pad_tl=(10, 10), pad_br=(10, 10)) -> folium.Map:
    from .overview import TILES_ATTR, tile_provider

    bounds = [[round(float(v), 4) for v in corner] for corner in bounds]
    (s, w), (n, e) = bounds
    m = folium.Map(
        location=[round((s + n) / 2, 4), round((w + e) / 2, 4)],
        zoom_start=6,
        tiles=None,
        control_scale=True,
        zoomSnap=0.25,
        zoomDelta=0.5,
        prefer_canvas=True,
    )
    folium.TileLayer(tiles=tile_provider(), attr=TILES_ATTR, subdomains="abcd", max_zoom=19, control=False).add_to(m)
    root: Any = m.get_root()
    root.header.add_child(Stylesheet(P_CSS()), name="proximity_css")
    Attribution(f"Data: {escape(nat.attribution)}").add_to(m)
    Fit(bounds, padding_top_left=pad_tl, padding_bottom_right=pad_br).add_to(m)
    return m


def P_CSS() -> str:  # the maps' stylesheet with the national additions
    from ._elements import CSS

    return CSS + NATIONAL_CSS


def _bounds(geoms: gpd.GeoSeries) -> list[list[float]]:
    minx, miny, maxx, maxy = geoms.to_crs("EPSG:4326").total_bounds
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def _digits(codes: np.ndarray) -> str:
    """Class codes as one character each ('-' for no data)."""
    return "".join("-" if c < 0 else str(int(c)) for c in codes)


def peer_list(value: Any) -> list[str]:
    """The peers' INSEE codes of one row: a space-separated string (:func:`proximity.peers.add_peers`)
    or a list (as a Parquet list column reads back); none when missing."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple | np.ndarray):
        return [str(v) for v in value]
    return []


def _int_or_none(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def _communes_data(
    nat: _Nat,
    sub: gpd.GeoDataFrame,
    geoms: gpd.GeoSeries,
    *,
    quantum_deg: float,
    pages: Collection[str],
    dep_prefix: str | None,
    commune_prefix: str,
    with_peers: bool,
) -> dict:
    """The JSON of :class:`NationalCommunes` for the communes of ``sub`` (escaped nowhere: the JS escapes)."""
    deps = sorted(set(sub["departement"]))
    dpos = {d: i for i, d in enumerate(deps)}
    t = nat.t
    pos_all = {c: i for i, c in enumerate(t.index)}
    positions = np.array([pos_all[c] for c in sub.index], dtype=int)
    data: dict[str, Any] = {
        "q": quantum_deg,
        "N": nat.n,
        "ids": list(sub.index),
        "names": [str(v) for v in sub["name"]],
        "dep": [dpos[d] for d in sub["departement"]],
        "deps": [[d, nat.dep_names.get(d, d), int(nat.dep_table.loc[d, "n"])] for d in deps],
        "pop": [int(v) for v in sub["population"]],
        "idx": [None if not np.isfinite(v) else round(float(v), 1) for v in sub["index"].astype(float)],
        "rank": [int(v) for v in sub["rank"]],
        "rdep": [int(v) for v in sub["rank_departement"]],
        "vars": [[c, label] for c, label in nat.variables],
        "comp": {
            c: [None if not np.isfinite(v) else round(100 * float(v)) for v in sub[c].astype(float)]
            for c, _ in nat.variables
            if c != "index"
        },
        "codes": {c: _digits(nat.classes[c].codes[positions]) for c, _ in nat.variables},
        "colors": {c: nat.classes[c].colors for c, _ in nat.variables},
        "nodata": P.NODATA,
        "pages": sorted(pos for pos, c in enumerate(sub.index) if c in pages),
        "depPrefix": dep_prefix,
        "communePrefix": commune_prefix,
        "geom": encode_polygons(geoms.loc[sub.index].values, quantum_deg=quantum_deg),
    }
    if with_peers and "rank_low" in sub.columns and "rank_high" in sub.columns:  # the overview keeps it short
        data["rlo"] = [_int_or_none(v) for v in sub["rank_low"]]
        data["rhi"] = [_int_or_none(v) for v in sub["rank_high"]]
    if with_peers and nat.peers_ok:
        # the peers of each commune, as positions in a small lookup of the peers named
        codes = [peer_list(p) for p in sub["peers"]]
        needed = sorted({c for row in codes for c in row})
        ppos = {c: i for i, c in enumerate(needed)}
        pt = t.loc[needed]
        data["peers"] = [[ppos[c] for c in row] for row in codes]
        data["peerInfo"] = [
            [
                str(r["name"]),
                str(r["departement"]),
                None if not np.isfinite(float(r["index"])) else round(float(r["index"]), 1),
                int(r["rank"]),
            ]
            for _, r in pt.iterrows()
        ]
        data["peerRank"] = [_int_or_none(v) for v in sub["peer_rank_index"]]
    return data


def parsed_js(value: Any) -> str:
    """``JSON.parse('…')`` of :func:`~._elements.js` output: V8 parses a large JSON string
    faster than the same object literal. The JSON (``<``, line separators and Jinja openers
    already escaped) goes in a single-quoted string with its backslashes and quotes escaped."""
    text = js(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"JSON.parse('{text}')"


class NationalCommunes(DirectRender):
    """Communes drawn on a canvas from compact columns (see :func:`_communes_data`).

    Tooltips and popups are built on demand from the columns (names escaped by ``esc``);
    a ``select`` in the legend switches the variable (and, with ``deps``, to the
    département choropleth); a search box finds a commune by name or INSEE code. The
    state is exposed as ``window.proxNational`` (tests, and the table rows of a
    département page).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (D, map, DEPS, LEG, opts) {
            function esc(s) {
                return String(s).replace(/[&<>"'`$\\\\{}]/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
            }
            function fmtInt(v) { return String(v).replace(/\\B(?=(\\d{3})+(?!\\d))/g, "\\u202f"); }
            function decode(f, q) {
                var x = 0, y = 0, out = [];
                for (var p = 0; p < f.length; p++) {
                    var rings = [];
                    for (var r = 0; r < f[p].length; r++) {
                        var s = f[p][r], pts = new Array(s.length / 2);
                        for (var i = 0; i < s.length; i += 2) { x += s[i]; y += s[i + 1]; pts[i / 2] = [y * q, x * q]; }
                        rings.push(pts);
                    }
                    out.push(rings);
                }
                return out.length === 1 ? out[0] : out;
            }
            var t0 = performance.now();
            var n = D.ids.length, cur = D.vars[0][0], mode = "communes";
            var renderer = L.canvas({padding: 0.3, tolerance: 1});
            var base = {weight: 0.3, color: "#666", opacity: 0.55, fillOpacity: 0.85, renderer: renderer};
            function fill(i, key) {
                var c = D.codes[key].charCodeAt(i) - 48;
                return c >= 0 && c <= 9 ? D.colors[key][c] : D.nodata;
            }
            var group = L.featureGroup(), layers = new Array(n), pos = {}, pages = {};
            for (var i = 0; i < n; i++) {
                var lay = L.polygon(decode(D.geom[i], D.q), Object.assign({fillColor: fill(i, cur)}, base));
                lay.proxI = i; layers[i] = lay; pos[D.ids[i]] = i; group.addLayer(lay);
            }
            var t1 = performance.now();
            for (var j = 0; j < D.pages.length; j++) { pages[D.pages[j]] = true; }
            function depOf(i) { return D.deps[D.dep[i]]; }
            function idxText(v) { return v === null ? "n/a" : v.toFixed(1); }
            function tip(i) {
                var d = depOf(i);
                var h = '<div class="prox-tip-name">' + esc(D.names[i]) + ' <span class="prox-sub">' + esc(d[1]) + " (" + esc(d[0]) + ")</span></div>"
                    + '<div class="prox-tip-sub">Milieu index <b>' + idxText(D.idx[i]) + "</b> · rank <b>" + fmtInt(D.rank[i]) + "</b> of " + fmtInt(D.N)
                    + " in France · " + D.rdep[i] + " of " + d[2] + " in the département</div>";
                if (cur !== "index") {
                    var v = D.comp[cur][i];
                    h += '<div class="prox-tip-line">' + esc(labelOf(cur)) + ": <b>" + (v === null ? "n/a" : (v / 100).toFixed(2)) + "</b></div>";
                }
                return h;
            }
            function labelOf(key) { for (var k = 0; k < D.vars.length; k++) { if (D.vars[k][0] === key) return D.vars[k][1]; } return key; }
            function card(i) {
                var d = depOf(i);
                var h = '<div class="prox-pcard"><div class="prox-tip-name">' + esc(D.names[i]) + ' <span class="prox-sub">' + esc(D.ids[i]) + "</span></div>"
                    + '<div class="prox-sub">' + esc(d[1]) + " (" + esc(d[0]) + ") · " + fmtInt(D.pop[i]) + " inhabitants</div>"
                    + '<div class="prox-pkpi">Milieu index <b>' + idxText(D.idx[i]) + "</b>/100<br>rank <b>" + fmtInt(D.rank[i]) + "</b> of " + fmtInt(D.N) + " in France"
                    + (D.rlo ? ' <span class="prox-sub">(' + fmtInt(D.rlo[i]) + "–" + fmtInt(D.rhi[i]) + " if the weights vary)</span>" : "")
                    + "<br>rank <b>" + D.rdep[i] + "</b> of " + d[2] + " in the département</div>";
                var rows = "";
                for (var k = 1; k < D.vars.length; k++) {
                    var v = D.comp[D.vars[k][0]][i];
                    rows += "<tr><th>" + esc(D.vars[k][1]) + "</th><td>" + (v === null ? "n/a" : (v / 100).toFixed(2)) + "</td></tr>";
                }
                if (rows) { h += '<table class="proximity-table"><caption>Components (0–1)</caption>' + rows + "</table>"; }
                if (D.peers) {
                    var pr = "";
                    for (var p = 0; p < D.peers[i].length; p++) {
                        var q = D.peerInfo[D.peers[i][p]];
                        pr += "<tr><td>" + (p + 1) + "</td><td>" + esc(q[0]) + " (" + esc(q[1]) + ")</td><td>" + idxText(q[2]) + "</td><td>" + fmtInt(q[3]) + "</td></tr>";
                    }
                    h += '<div class="prox-reach"><b>Rank ' + D.peerRank[i] + " of " + (D.peers[i].length + 1) + " among its peers</b> (communes most like it: population, density, distance to a city, airport)</div>"
                        + '<table class="prox-peers"><tr><th>#</th><th>Peer</th><th>Index</th><th>Rank</th></tr>' + pr + "</table>";
                }
                if (D.depPrefix !== null) {
                    h += '<a class="prox-popup-link" href="' + D.depPrefix + d[0] + '.html">All communes of ' + esc(d[1]) + " →</a><br>";
                }
                if (pages[i]) {
                    h += '<a class="prox-popup-link" href="' + D.communePrefix + D.ids[i] + '.html">Page of ' + esc(D.names[i]) + ", with its peers →</a>";
                }
                return h + "</div>";
            }
            group.bindTooltip(function (l) { return tip(l.proxI); }, {sticky: true, className: "prox-tip", direction: "top", offset: [0, -8]});
            var popupOpts = {maxWidth: 380, minWidth: 280, autoPanPaddingTopLeft: opts.padTL, autoPanPaddingBottomRight: opts.padBR};
            group.bindPopup(function (l) { return card(l.proxI); }, popupOpts);
            group.on("mouseover", function (e) { e.layer.setStyle({weight: 2.2, color: "#111"}); e.layer.bringToFront(); });
            group.on("mouseout", function (e) { e.layer.setStyle({weight: base.weight, color: base.color}); });
            group.addTo(map);
            var t2 = performance.now();

            var depGroup = null, depLines = null;
            if (DEPS) {
                depGroup = L.featureGroup(); depLines = L.featureGroup();
                for (var k = 0; k < DEPS.ids.length; k++) {
                    var ll = decode(DEPS.geom[k], DEPS.q);
                    var c = DEPS.codes.charCodeAt(k) - 48;
                    var dl = L.polygon(ll, {renderer: renderer, weight: 1, color: "#333", fillOpacity: 0.85,
                                            fillColor: c >= 0 && c <= 9 ? DEPS.colors[c] : D.nodata});
                    dl.proxK = k; dl.proxCode = DEPS.ids[k]; depGroup.addLayer(dl);
                    L.polygon(ll, {renderer: renderer, weight: 1.1, color: "#222", opacity: 0.75, fill: false, interactive: false}).addTo(depLines);
                }
                depGroup.bindTooltip(function (l) {
                    var k = l.proxK;
                    return '<div class="prox-tip-name">' + esc(DEPS.names[k]) + " (" + esc(DEPS.ids[k]) + ")</div>"
                        + '<div class="prox-tip-sub">Mean milieu index <b>' + idxText(DEPS.mean[k]) + "</b> · rank <b>" + DEPS.rank[k] + "</b> of " + DEPS.ids.length + "</div>";
                }, {sticky: true, className: "prox-tip"});
                depGroup.bindPopup(function (l) {
                    var k = l.proxK;
                    return '<div class="prox-pcard"><div class="prox-tip-name">' + esc(DEPS.names[k]) + " (" + esc(DEPS.ids[k]) + ")</div>"
                        + '<div class="prox-pkpi">Population-weighted mean index <b>' + idxText(DEPS.mean[k]) + "</b> · rank <b>" + DEPS.rank[k] + "</b> of " + DEPS.ids.length + "</div>"
                        + '<div class="prox-sub">' + fmtInt(DEPS.n[k]) + " communes, " + fmtInt(DEPS.pop[k]) + " inhabitants; best: " + esc(DEPS.best[k]) + "</div>"
                        + '<a class="prox-popup-link" href="' + D.depPrefix + DEPS.ids[k] + '.html">All communes of ' + esc(DEPS.names[k]) + " →</a></div>";
                }, {maxWidth: 340, autoPanPaddingTopLeft: opts.padTL, autoPanPaddingBottomRight: opts.padBR});
                depGroup.on("mouseover", function (e) { e.layer.setStyle({weight: 2.5}); });
                depGroup.on("mouseout", function (e) { e.layer.setStyle({weight: 1}); });
                depLines.addTo(map);
            }

            function restyle(key) {
                cur = key;
                for (var i = 0; i < n; i++) { layers[i].setStyle({fillColor: fill(i, key)}); }
            }
            function setMode(m, key) {
                if (m === "departements") {
                    if (map.hasLayer(group)) { map.removeLayer(group); }
                    if (depLines && map.hasLayer(depLines)) { map.removeLayer(depLines); }
                    depGroup.addTo(map);
                } else {
                    if (depGroup && map.hasLayer(depGroup)) { map.removeLayer(depGroup); }
                    if (!map.hasLayer(group)) { group.addTo(map); }
                    if (depLines && !map.hasLayer(depLines)) { depLines.addTo(map); }
                    if (key !== cur) { restyle(key); }
                }
                mode = m;
                legendBody.innerHTML = LEG[m === "departements" ? "__departements" : key];
            }

            var legendBody;
            var legend = L.control({position: "bottomleft"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "prox-panel prox-legend");
                var label = L.DomUtil.create("div", "prox-leg-title", div);
                label.textContent = "Colour by";
                var sel = L.DomUtil.create("select", "prox-var", div);
                sel.setAttribute("aria-label", "Colour by");
                for (var k = 0; k < D.vars.length; k++) {
                    var o = document.createElement("option"); o.value = "c:" + D.vars[k][0];
                    o.textContent = "Communes: " + D.vars[k][1]; sel.appendChild(o);
                }
                if (DEPS) {
                    var o2 = document.createElement("option"); o2.value = "d:"; o2.textContent = "Départements: mean milieu index"; sel.appendChild(o2);
                }
                sel.addEventListener("change", function () {
                    var v = sel.value;
                    if (v === "d:") { setMode("departements"); } else { setMode("communes", v.slice(2)); }
                });
                legendBody = L.DomUtil.create("div", "", div);
                legendBody.innerHTML = LEG[cur];
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                this._select = sel;
                return div;
            };
            legend.addTo(map);

            function norm(s) {
                return String(s).normalize("NFD").replace(/[\\u0300-\\u036f]/g, "").toLowerCase().replace(/[-'\\u2019\\s]+/g, " ").trim();
            }
            var normNames = null;
            function find(q) {
                var s = norm(q), hits = [];
                if (!s) { return hits; }
                if (/^[0-9][0-9ab][0-9]{0,3}$/.test(s)) {
                    for (var i = 0; i < n && hits.length < 10; i++) { if (D.ids[i].toLowerCase().indexOf(s) === 0) { hits.push(i); } }
                    return hits;
                }
                if (normNames === null) { normNames = D.names.map(norm); }
                var starts = [], contains = [];
                for (var i = 0; i < n; i++) {
                    var k = normNames[i].indexOf(s);
                    if (k === 0) { starts.push(i); } else if (k > 0) { contains.push(i); }
                }
                var byPop = function (a, b) { return D.pop[b] - D.pop[a] || (D.ids[a] < D.ids[b] ? -1 : 1); };
                return starts.sort(byPop).concat(contains.sort(byPop)).slice(0, 10);
            }
            var highlighted = null;
            function go(i) {
                if (mode !== "communes") { legend._select.value = "c:" + cur; setMode("communes", cur); }
                var lay = layers[i];
                map.fitBounds(lay.getBounds(), {maxZoom: opts.maxZoom, animate: false});
                if (highlighted !== null) { layers[highlighted].setStyle({weight: base.weight, color: base.color}); }
                lay.setStyle({weight: 3, color: "#d7301f"}); lay.bringToFront(); highlighted = i;
                L.popup(popupOpts).setLatLng(lay.getCenter()).setContent(card(i)).openOn(map);
            }
            if (opts.search) {
                var search = L.control({position: "topleft"});
                search.onAdd = function () {
                    var div = L.DomUtil.create("div", "prox-panel prox-search");
                    var input = L.DomUtil.create("input", "", div);
                    input.type = "search"; input.id = "prox-search-input"; input.autocomplete = "off";
                    input.placeholder = "Find a commune (name or INSEE)";
                    input.setAttribute("aria-label", "Find a commune by name or INSEE code");
                    var list = L.DomUtil.create("ul", "prox-search-results", div);
                    var hits = [];
                    function show() {
                        hits = find(input.value);
                        list.innerHTML = "";
                        if (input.value.trim() && !hits.length) {
                            var none = L.DomUtil.create("li", "prox-none", list); none.textContent = "No commune found";
                        }
                        hits.forEach(function (i, r) {
                            var li = L.DomUtil.create("li", r === 0 ? "prox-active" : "", list);
                            var d = depOf(i);
                            li.textContent = D.names[i] + " (" + d[0] + ") · " + D.ids[i];
                            li.setAttribute("data-insee", D.ids[i]);
                            li.addEventListener("click", function () { go(i); });
                        });
                    }
                    input.addEventListener("input", show);
                    input.addEventListener("keydown", function (e) { if (e.key === "Enter" && hits.length) { go(hits[0]); } });
                    L.DomEvent.disableClickPropagation(div);
                    L.DomEvent.disableScrollPropagation(div);
                    return div;
                };
                search.addTo(map);
            }
            document.addEventListener("click", function (e) {
                var tr = e.target.closest ? e.target.closest("tr[data-insee]") : null;
                if (tr && pos[tr.getAttribute("data-insee")] !== undefined) { go(pos[tr.getAttribute("data-insee")]); }
            });
            window.proxNational = {map: map, layers: layers, group: group, depGroup: depGroup, pos: pos, go: go, find: find,
                                   setMode: setMode, card: card, tip: tip,
                                   timing: {scriptStart: t0, built: t1, drawn: t2, done: performance.now()}};
        })({{ this.data_js }}, {{ this._parent.get_name() }}, {{ this.deps_js }}, {{ this.legends_js }}, {{ this.opts_js }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict,
        *,
        deps: dict | None,
        legends: dict[str, str],
        search: bool = True,
        max_zoom: int = 12,
        pad_tl: tuple[int, int] = (320, 20),
        pad_br: tuple[int, int] = (20, 20),
    ) -> None:
        super().__init__()
        self._name = "ProximityNational"
        self.data_js = parsed_js(data)
        self.deps_js = parsed_js(deps) if deps is not None else "null"
        self.legends_js = js(legends)
        # popups pan clear of the panels (search, title, legend on the left; tables on the right)
        self.opts_js = js(
            {"search": bool(search), "maxZoom": int(max_zoom), "padTL": list(pad_tl), "padBR": list(pad_br)}
        )


def _legends(nat: _Nat, *, scope: str) -> dict[str, str]:
    out = {}
    for c, label in nat.variables:
        sub = "quantile classes: about as many communes in each; darker = higher" + (
            " (classes of all of France)" if scope != "France" else ""
        )
        out[c] = (
            f'<div class="prox-leg-title">{escape(label)}</div><div class="prox-leg-sub">{escape(sub)}; (n) communes in France</div>'
            + _legend_rows(nat.classes[c])
        )
    out["__departements"] = (
        '<div class="prox-leg-title">Départements: mean milieu index</div>'
        '<div class="prox-leg-sub">population-weighted mean over the communes; quantile classes; (n) départements</div>'
        + _legend_rows(nat.dep_classes)
    )
    return out


def _dep_data(nat: _Nat, geoms: gpd.GeoSeries, *, quantum_deg: float) -> dict:
    """Département polygons (union of the simplified communes: borders match) and their figures."""
    dt = nat.dep_table
    polys = []
    proj = geoms.to_crs("EPSG:2154")
    for dep in dt.index:
        parts = proj.loc[nat.t.index[nat.t["departement"].eq(dep)]].values
        parts = np.unique(shapely.to_wkb(parts))  # re-created communes share their polygon: once
        merged = shapely.coverage_union_all(shapely.from_wkb(parts))
        if not shapely.is_valid(merged):
            merged = shapely.make_valid(shapely.union_all(shapely.from_wkb(parts)))
        polys.append(merged)
    g = gpd.GeoSeries(polys, index=dt.index, crs="EPSG:2154").to_crs("EPSG:4326")
    g = g.map(
        lambda x: (
            shapely.MultiPolygon([p for p in shapely.get_parts(x) if p.geom_type == "Polygon"])
            if x.geom_type == "GeometryCollection"
            else x
        )
    )
    return {
        "q": quantum_deg,
        "ids": list(dt.index),
        "names": [str(v) for v in dt["name"]],
        "mean": [None if not np.isfinite(v) else round(float(v), 1) for v in dt["mean_index"]],
        "rank": [int(v) for v in dt["rank"]],
        "n": [int(v) for v in dt["n"]],
        "pop": [int(v) for v in dt["population"]],
        "best": [
            f"{b} (rank {r:,})".replace(",", "\u202f") for b, r in zip(dt["best_name"], dt["best_rank"], strict=True)
        ],
        "codes": _digits(nat.dep_classes.codes),
        "colors": nat.dep_classes.colors,
        "geom": encode_polygons(g.values, quantum_deg=quantum_deg),
    }


def _title(html: str) -> Panel:
    return Panel(html, position="topright", css_class="prox-title")


def _overview(nat: _Nat, *, simplify_m: float, quantum_deg: float, pages: Collection[str]) -> folium.Map:
    t = nat.t
    geoms = nat.cache.get(("geoms", simplify_m))
    if geoms is None:
        geoms = nat.cache[("geoms", simplify_m)] = _simplified(t.geometry, simplify_m)
    m = _base(nat, _bounds(t.geometry), pad_tl=(320, 10), pad_br=(330, 10))
    data = _communes_data(
        nat,
        t,
        geoms,
        quantum_deg=quantum_deg,
        pages=pages,
        dep_prefix="departements/",
        commune_prefix="communes/",
        with_peers=False,
    )
    deps = _dep_data(nat, geoms, quantum_deg=quantum_deg)
    NationalCommunes(data, deps=deps, legends=_legends(nat, scope="France"), pad_tl=(320, 20), pad_br=(20, 20)).add_to(
        m
    )
    synthetic = (
        '<div class="prox-note"><b>SMEs are synthetic</b> (generated, not real firms): SME-based indicators are illustrative.</div>'
        if nat.synthetic
        else ""
    )
    n_deps = len(nat.dep_table)
    where = f"metropolitan France ({n_deps} départements)" if n_deps >= 90 else f"{n_deps} départements"
    title = (
        "<h1>How well each commune connects its firms to the world</h1>"
        f'<div class="prox-sub">Internationalising-milieu index of the {escape(format_value(nat.n))} communes '
        f"of {where} (0–100, higher is better). Hover a commune for its score "
        "and ranks, click it for its card; find one with the search box; colour by a component or by département below.</div>"
        '<div class="prox-links"><a href="index.html">All départements (table) →</a></div>' + synthetic
    )
    _title(title).add_to(m)
    if nat.sources:
        Panel(nat.sources, position="bottomright", css_class="prox-sources-box").add_to(m)
    return m


def national_overview(
    table: Any,
    *,
    simplify_m: float = OVERVIEW_SIMPLIFY_M,
    quantum_deg: float = OVERVIEW_QUANTUM_DEG,
    link_communes: Collection[str] = (),
    synthetic_smes: bool = True,
) -> folium.Map:
    """Every commune of the table on one map, with the département choropleth and a search box.

    Communes are coloured by the milieu index (quantile classes; a select in the legend
    switches to a component, or to the départements' population-weighted mean index);
    hovering one shows its name, index, national rank and rank in its département;
    clicking it opens its card with a link to its département's page
    (``departements/<code>.html``, as :func:`build_national_maps` writes them). The search
    box finds a commune by name (accent-insensitive, largest first) or INSEE code and zooms
    to it. Polygons are simplified as a coverage and drawn on a canvas (see the module
    docstring for the size).

    Parameters
    ----------
    table : GeoDataFrame
        The national table (see :func:`check_national`).
    simplify_m : float, default 500
        Simplification tolerance (metres).
    quantum_deg : float, default 1e-3
        Grid of the coordinates (degrees; 1e-3 is about 75 m east-west, 111 m north-south).
    link_communes : collection of str
        INSEE codes whose card links to ``communes/<insee>.html``.
    synthetic_smes : bool, default True
        Whether the run used synthetic SMEs (said on the map).

    Returns
    -------
    folium.Map

    Raises
    ------
    InputError, MissingColumnError
        See :func:`check_national`; a bad option.

    Examples
    --------
    ``national/municipalities.parquet`` is the table of a national run (``--territory france``: a long
    computation, not available to the doctests), so the example is not run as a doctest:

    >>> import geopandas as gpd
    >>> t = gpd.read_parquet("national/municipalities.parquet")  # doctest: +SKIP
    >>> save_map(national_overview(t), "maps/overview.html")  # doctest: +SKIP
    """
    simplify_m = _check_number(simplify_m, "simplify_m", lo=0)
    quantum_deg = _check_number(quantum_deg, "quantum_deg", lo=1e-7)
    nat = _prepare(table, synthetic_smes=synthetic_smes)
    return _overview(
        nat, simplify_m=simplify_m, quantum_deg=quantum_deg, pages=_codes(link_communes, nat, "link_communes")
    )


def _codes(codes: Any, nat: _Nat, name: str) -> list[str]:
    if isinstance(codes, str) or not isinstance(codes, Iterable):
        raise InputError(f"{name} must be a list of INSEE codes, got {codes!r}; e.g. {name}=['33063']")
    out = list(dict.fromkeys(str(c) for c in codes))
    unknown = [c for c in out if c not in nat.t.index]
    if unknown:
        raise InputError(
            f"{name}: {unknown[:5]} are not communes of the table; give INSEE codes such as 33063 (Bordeaux)"
        )
    return out


# --------------------------------------------------------------------------- département pages
def _departement(nat: _Nat, dep: str, *, simplify_m: float, quantum_deg: float, pages: Collection[str]) -> folium.Map:
    t = nat.t
    sub = t[t["departement"].eq(dep)]
    geoms = _simplified(sub.geometry, simplify_m)
    name = nat.dep_names.get(dep, dep)
    d: Any = nat.dep_table.loc[dep]
    m = _base(nat, _bounds(sub.geometry), pad_tl=(320, 10), pad_br=(470, 10))
    data = _communes_data(
        nat,
        sub,
        geoms,
        quantum_deg=quantum_deg,
        pages=pages,
        dep_prefix=None,
        commune_prefix="../communes/",
        with_peers=True,
    )
    data["depPrefix"] = None
    legends = _legends(nat, scope="dep")
    NationalCommunes(data, deps=None, legends=legends, max_zoom=13, pad_tl=(320, 20), pad_br=(480, 20)).add_to(m)
    peer_head = "<th>Among peers</th>" if nat.peers_ok else ""
    rows = []
    for insee, r in sub.sort_values("rank_departement").iterrows():
        nm = escape(r["name"])
        if insee in pages:
            nm = f'<a href="../communes/{insee}.html">{nm}</a>'
        peer = f"<td>{_int_or_none(r['peer_rank_index'])}/{len(peer_list(r['peers'])) + 1}</td>" if nat.peers_ok else ""
        idx = float(r["index"])
        rows.append(
            f'<tr data-insee="{insee}"><td>{int(r["rank_departement"])}</td><td>{nm}</td>'
            f"<td>{'n/a' if not np.isfinite(idx) else f'{idx:.1f}'}</td><td>{escape(format_value(int(r['rank'])))}</td>{peer}</tr>"
        )
    table_html = (
        f'<h2>The {len(sub)} communes, best first</h2><div class="prox-sub">Click a row to find the commune on the map.</div>'
        '<div class="prox-dtable"><table><thead><tr><th>Rank here</th><th>Commune</th><th>Index</th>'
        f"<th>Rank in France</th>{peer_head}</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>"
    )
    Panel(table_html, position="topright", css_class="prox-dpanel").add_to(m)
    region = nat.region_names.get(str(sub["region"].iloc[0]), "") if "region" in sub.columns else ""
    mean = float(d["mean_index"])
    title = (
        f"<h1>{escape(name)} ({escape(dep)}): its communes in France</h1>"
        f'<div class="prox-sub">{escape(region)}{" · " if region else ""}{escape(format_value(int(d["n"])))} communes, '
        f"{escape(format_value(int(d['population'])))} inhabitants. Population-weighted mean index "
        f"<b>{'n/a' if not np.isfinite(mean) else f'{mean:.1f}'}</b>, rank {int(d['rank'])} of {len(nat.dep_table)} départements. "
        "Hover a commune for its ranks (in France, in the département); click it for its peers.</div>"
        '<div class="prox-links"><a href="../overview.html">← Map of France</a><a href="../index.html">All départements</a></div>'
    )
    Panel(title, position="topleft", css_class="prox-title").add_to(m)
    return m


def departement_map(
    table: Any,
    departement: str,
    *,
    simplify_m: float = DEPARTEMENT_SIMPLIFY_M,
    quantum_deg: float = DEPARTEMENT_QUANTUM_DEG,
    link_communes: Collection[str] = (),
    synthetic_smes: bool = True,
) -> folium.Map:
    """One département's communes: their national rank, rank in the département and peers.

    The map colours the communes on the national classes (so a dark commune is in the
    top sixth of France); hovering shows the ranks, clicking shows the card with the
    commune's peers and its rank among them. A table lists the communes by rank in the
    département (click a row to find it). Links lead back to ``../overview.html`` and
    ``../index.html`` and, for ``link_communes``, to ``../communes/<insee>.html``.

    Parameters
    ----------
    table : GeoDataFrame
        The national table (ranks are national: pass all of France, not one département).
    departement : str
        Its code (``"34"``, ``"2A"``).
    simplify_m, quantum_deg : float
        As :func:`national_overview` (finer defaults: 60 m, 1e-4°).
    link_communes : collection of str
    synthetic_smes : bool

    Returns
    -------
    folium.Map

    Raises
    ------
    InputError
        ``departement`` is not in the table; see :func:`check_national`.
    """
    simplify_m = _check_number(simplify_m, "simplify_m", lo=0)
    quantum_deg = _check_number(quantum_deg, "quantum_deg", lo=1e-7)
    nat = _prepare(table, synthetic_smes=synthetic_smes)
    dep = _check_dep(departement, nat)
    return _departement(
        nat, dep, simplify_m=simplify_m, quantum_deg=quantum_deg, pages=set(_codes(link_communes, nat, "link_communes"))
    )


def _check_dep(departement: Any, nat: _Nat) -> str:
    dep = str(departement).strip().upper()
    if len(dep) == 1 and dep.isdigit():
        dep = "0" + dep
    if dep not in nat.dep_table.index:
        raise InputError(
            f"departement {departement!r} is not in the table; give one of {', '.join(list(nat.dep_table.index)[:8])}…"
        )
    return dep


# --------------------------------------------------------------------------- commune pages
def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _commune(nat: _Nat, insee: str, *, simplify_m: float, pages: Collection[str]) -> folium.Map:
    if not nat.peers_ok:
        raise MissingColumnError(
            "commune pages show the commune's peers: the table needs a 'peers' column (proximity.peers.add_peers) or the "
            "columns population, area_km2, minutes_city_50k and share_pop_airport_30 to compute them"
        )
    t = nat.t
    r: Any = t.loc[insee]
    peer_codes = [c for c in peer_list(r["peers"]) if c in t.index]
    codes = [insee, *peer_codes]
    geoms = _simplified(t.loc[codes].geometry, simplify_m)
    m = _base(nat, _bounds(t.loc[codes].geometry), pad_tl=(560, 40), pad_br=(40, 40))
    feats = []
    for k, c in enumerate(codes):
        row = t.loc[c]
        me = k == 0
        idx = float(row["index"])
        tipt = (
            f'<div class="prox-tip-name">{"" if me else f"Peer {k}: "}{escape(row["name"])} ({escape(row["departement"])})</div>'
            f'<div class="prox-tip-sub">Milieu index <b>{"n/a" if not np.isfinite(idx) else f"{idx:.1f}"}</b> · rank '
            f"{escape(format_value(int(row['rank'])))} of {escape(format_value(nat.n))}</div>"
        )
        style = {
            "color": "#d7301f" if me else "#253494",
            "weight": 3 if me else 2,
            "fillColor": "#fc8d59" if me else "#41b6c4",
            "fillOpacity": 0.75,
            "radius": 6,
        }
        geom = shapely.geometry.mapping(P.round_coords(np.array([geoms.loc[c]]))[0])
        feats.append({"type": "Feature", "properties": {"s": style, "t": tipt}, "geometry": geom})
        # a dot too: a commune is a few pixels on a map of France
        pt = geoms.loc[c].representative_point()
        feats.append(
            {
                "type": "Feature",
                "properties": {"s": style, "t": tipt},
                "geometry": {"type": "Point", "coordinates": [round(pt.x, 5), round(pt.y, 5)]},
            }
        )
    Features(feats).add_to(m)
    dep = str(r["departement"])
    dname = nat.dep_names.get(dep, dep)
    n_dep = int(nat.dep_table["n"].loc[dep])
    idx = float(r["index"])
    interval = (
        (
            f' <span class="prox-sub">({escape(format_value(int(r["rank_low"])))}–{escape(format_value(int(r["rank_high"])))} '
            "if the weights vary)</span>"
        )
        if {"rank_low", "rank_high"} <= set(t.columns) and pd.notna(r["rank_low"])
        else ""
    )
    comp_rows = []
    for c, label in nat.variables:
        v = t[c].astype(float)
        val = float(r[c])
        nat_rank = int((v > val).sum()) + 1 if np.isfinite(val) else None
        pr = _int_or_none(r.get(f"peer_rank_{c}"))
        comp_rows.append(
            f"<tr><td>{escape(label)}</td><td>{'n/a' if not np.isfinite(val) else (f'{val:.1f}' if c == 'index' else f'{val:.2f}')}</td>"
            f"<td>{escape(format_value(nat_rank)) if nat_rank else 'n/a'}</td><td>{'n/a' if pr is None else f'{pr} of {len(codes)}'}</td></tr>"
        )
    peer_rows = []
    dist = _peer_distances(nat, insee, peer_codes)
    ordered = sorted(
        codes, key=lambda c: (-float(t.loc[c, "index"]) if np.isfinite(float(t.loc[c, "index"])) else np.inf, c)
    )
    for c in ordered:
        row = t.loc[c]
        k = codes.index(c)
        nm = escape(row["name"])
        if c in pages and c != insee:
            nm = f'<a href="{c}.html">{nm}</a>'
        vi = float(row["index"])
        dtext = "—" if k == 0 else f"{dist.get(c, float('nan')):.2f}"
        peer_rows.append(
            f'<tr class="{"prox-self" if c == insee else ""}"><td>{ordered.index(c) + 1}</td><td>{nm} ({escape(row["departement"])})</td>'
            f"<td>{escape(format_value(int(row['population'])))}</td><td>{'n/a' if not np.isfinite(vi) else f'{vi:.1f}'}</td>"
            f"<td>{escape(format_value(int(row['rank'])))}</td><td>{dtext}</td></tr>"
        )
    region = nat.region_names.get(str(r["region"]), str(r["region"])) if "region" in t.columns else ""
    html = (
        f'<h1>{escape(r["name"])} <span class="prox-sub">{escape(insee)}</span></h1>'
        f'<div class="prox-sub">{escape(dname)} ({escape(dep)}){" · " + escape(region) if region else ""} · '
        f"{escape(format_value(int(r['population'])))} inhabitants</div>"
        f'<div class="prox-kpi"><span class="big">{"n/a" if not np.isfinite(idx) else f"{idx:.1f}"}</span><span>milieu index (0–100)</span></div>'
        f"<div>Rank <b>{escape(format_value(int(r['rank'])))}</b> of {escape(format_value(nat.n))} communes in France{interval}</div>"
        f"<div>Rank <b>{int(r['rank_departement'])}</b> of {n_dep} in {escape(dname)}</div>"
        f"<div>Rank <b>{_int_or_none(r['peer_rank_index'])}</b> of {len(codes)} among itself and its peers "
        "(the communes of France most like it: population, density, minutes to a city of 50,000+, share within 30 min of an airport)</div>"
        '<h2>Index and components</h2><table class="prox-peers prox-comp"><tr><th></th><th>Value</th><th>Rank in France</th><th>Among peers</th></tr>'
        + "".join(comp_rows)
        + "</table>"
        '<h2>With its peers, best first</h2><table class="prox-peers"><tr><th>#</th><th>Commune</th><th>Population</th><th>Index</th>'
        "<th>Rank in France</th><th>Distance</th></tr>" + "".join(peer_rows) + "</table>"
        '<div class="prox-sub">Distance: how unlike the commune a peer is, in robust standard deviations of the four features.</div>'
        f'<div class="prox-links"><a href="../departements/{dep}.html">All communes of {escape(dname)} →</a>'
        '<a href="../overview.html">Map of France →</a></div>'
    )
    Panel(html, position="topleft", css_class="prox-ccard").add_to(m)
    return m


def _peer_distances(nat: _Nat, insee: str, peer_codes: list[str]) -> dict[str, float]:
    from .. import peers as peers_mod

    if "z" not in nat.cache:
        try:
            nat.cache["z"] = peers_mod.feature_matrix(nat.t)
        except InputError:
            nat.cache["z"] = None
    z = nat.cache["z"]
    if z is None:
        return {}
    me = z.loc[insee].to_numpy(dtype=float)
    return {c: float(np.sqrt(((z.loc[c].to_numpy(dtype=float) - me) ** 2).sum())) for c in peer_codes}


def commune_map(
    table: Any, insee: str, *, simplify_m: float = COMMUNE_SIMPLIFY_M, synthetic_smes: bool = True
) -> folium.Map:
    """One commune's page: its national rank, rank in its département, and its peers.

    A card gives the index, the national rank (and its interval when the weights vary),
    the rank in the département, the rank among its peers on the index and each
    component, and a table of the commune with its peers (population, index, national
    rank, distance on the structural features); the map shows the commune (orange) and
    its peers (blue) over France. Built on demand (``proximity maps --national DIR
    --commune 33063``).

    Parameters
    ----------
    table : GeoDataFrame
        The national table; its peers are computed (:func:`proximity.peers.add_peers`)
        when it has no ``peers`` column.
    insee : str
        The commune.
    simplify_m : float, default 40
    synthetic_smes : bool

    Returns
    -------
    folium.Map

    Raises
    ------
    InputError
        Unknown ``insee``; see :func:`check_national`.
    MissingColumnError
        No peers and no features to compute them.
    """
    simplify_m = _check_number(simplify_m, "simplify_m", lo=0)
    nat = _prepare(table, synthetic_smes=synthetic_smes)
    (code,) = _codes([insee], nat, "insee")
    return _commune(nat, code, simplify_m=simplify_m, pages=())


# --------------------------------------------------------------------------- the set
def _render(m: folium.Map) -> str:
    return m.get_root().render()


def _write(html: str, target: Path) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return target


def _index_html(nat: _Nat) -> str:
    from .index_page import SCRIPT, STYLE

    rows = []
    for dep, d in nat.dep_table.sort_values("rank").iterrows():
        mean = float(d["mean_index"])
        rows.append(
            f'<tr data-insee="{dep}" data-search="{escape(d["name"])} {dep}"><td class="num" data-v="{int(d["rank"])}">{int(d["rank"])}</td>'
            f'<td data-v="{escape(d["name"])}"><a href="departements/{dep}.html">{escape(d["name"])}</a></td>'
            f'<td data-v="{dep}">{dep}</td>'
            f'<td class="num" data-v="{mean if np.isfinite(mean) else ""}">{"n/a" if not np.isfinite(mean) else f"{mean:.1f}"}</td>'
            f'<td class="num" data-v="{int(d["n"])}">{escape(format_value(int(d["n"])))}</td>'
            f'<td class="num" data-v="{int(d["population"])}">{escape(format_value(int(d["population"])))}</td>'
            f'<td data-v="{escape(d["best_name"])}">{escape(d["best_name"])} ({escape(format_value(int(d["best_rank"])))})</td></tr>'
        )
    head = "".join(
        f'<th class="{k}" scope="col">{escape(h)}</th>'
        for h, k in (
            ("Rank", "num"),
            ("Département", "text"),
            ("Code", "text"),
            ("Mean index", "num"),
            ("Communes", "num"),
            ("Population", "num"),
            ("Best commune (national rank)", "text"),
        )
    )
    title = "Metropolitan France: the internationalising milieu of its départements"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{len(nat.dep_table)} départements, {escape(format_value(nat.n))} communes; "
        "mean index weighted by population. "
        '<a href="overview.html">Open the map of France →</a></p></header><main>'
        '<div class="tools"><input id="q" type="search" placeholder="Search a département…" aria-label="Search départements" '
        'autocomplete="off"><span id="count"></span><span>Click a column header to sort.</span></div>'
        f'<div class="wrap"><table id="municipalities"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + f"</tbody></table></div></main><script>{SCRIPT}</script></body></html>\n"
    )


def build_national_maps(
    table: Any,
    *,
    out: str | os.PathLike,
    departements: Iterable[str] | None = None,
    communes: Iterable[str] = (),
    simplify_m: float = OVERVIEW_SIMPLIFY_M,
    quantum_deg: float = OVERVIEW_QUANTUM_DEG,
    synthetic_smes: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write the national map set: ``overview.html``, ``departements/<code>.html``, ``index.html``.

    With ``communes``, also ``communes/<insee>.html`` for those communes, which the other
    pages then link to. The set is written as one staged run
    (:func:`proximity._io.staged_output`): into a temporary folder beside ``out``, moved in
    only when every page is written, so the folder never holds half a set; pages of a
    previous set that this one does not write are removed, commune pages written on
    demand (:func:`write_commune_pages`) are kept.

    Parameters
    ----------
    table : GeoDataFrame
        The national table (:func:`check_national`).
    out : path
        The maps folder.
    departements : iterable of str, optional
        Département pages to write (default: all of the table's).
    communes : iterable of str
        Commune pages to write with the set.
    simplify_m, quantum_deg : float
        Of the overview (see :func:`national_overview`).
    synthetic_smes : bool
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    list of Path
        The files written, at their final place.

    Raises
    ------
    InputError, MissingColumnError
        See :func:`check_national`; unknown codes; ``out`` not a writable folder.

    Examples
    --------
    ``t`` is the municipalities table of a national run (``--territory france``: a long
    computation, not available to the doctests), so the example is not run as a doctest:

    >>> build_national_maps(t, out="maps/france", communes=["33063"])  # doctest: +SKIP
    """
    if progress is not None and not callable(progress):
        raise InputError(
            f"progress must be a callable taking a message (e.g. print) or None, got {type(progress).__name__}"
        )
    say = progress or (lambda msg: None)
    simplify_m = _check_number(simplify_m, "simplify_m", lo=0)
    quantum_deg = _check_number(quantum_deg, "quantum_deg", lo=1e-7)
    if not isinstance(out, str | os.PathLike):
        raise InputError(f"out must be a folder path (str or Path), got {type(out).__name__}; e.g. out='maps'")
    start = time.perf_counter()
    say("national maps: checking the table and its peers")
    nat = _prepare(table, synthetic_smes=synthetic_smes)
    deps = (
        list(nat.dep_table.index)
        if departements is None
        else [_check_dep(d, nat) for d in _as_list(departements, "departements")]
    )
    pages = _codes(_as_list(communes, "communes"), nat, "communes")
    final = Path(out)
    written: list[Path] = []
    with staged_output(out, command="maps-national") as stage:
        say(f"national maps: overview of {nat.n} communes")
        written.append(
            _write(
                _render(_overview(nat, simplify_m=simplify_m, quantum_deg=quantum_deg, pages=set(pages))),
                stage / "overview.html",
            )
        )
        for i, dep in enumerate(deps, 1):
            m = _departement(
                nat, dep, simplify_m=DEPARTEMENT_SIMPLIFY_M, quantum_deg=DEPARTEMENT_QUANTUM_DEG, pages=set(pages)
            )
            written.append(_write(_render(m), stage / "departements" / f"{dep}.html"))
            if i % 10 == 0:
                say(f"national maps: {i}/{len(deps)} département pages")
        for insee in pages:
            m = _commune(nat, insee, simplify_m=COMMUNE_SIMPLIFY_M, pages=set(pages))
            written.append(_write(_render(m), stage / "communes" / f"{insee}.html"))
        written.append(_write(_index_html(nat), stage / "index.html"))
        rel = [p.relative_to(stage) for p in written]
    say(f"national maps: {len(rel)} files in {time.perf_counter() - start:.0f} s")
    return [final / p for p in rel]


def read_national(folder: str | os.PathLike) -> tuple[gpd.GeoDataFrame, bool]:
    """The national table of a run folder, and whether its SMEs were synthetic.

    Parameters
    ----------
    folder : path
        The ``--out`` folder of ``proximity run --territory france`` (it holds
        ``municipalities.parquet``; ``provenance.json`` tells whether SIRENE firms were used).

    Returns
    -------
    (GeoDataFrame, bool)
        The table (checked: :func:`check_national`) and ``synthetic_smes``.

    Raises
    ------
    InputError
        No ``municipalities.parquet`` in ``folder``, or a table that fails :func:`check_national`.
    DataFileError
        The file cannot be read as GeoParquet.
    """
    from ..errors import DataFileError

    root = Path(folder)
    path = root / "municipalities.parquet"
    if not path.is_file():
        raise InputError(
            f"--national {str(root)!r} has no municipalities.parquet; pass the --out folder of a national run "
            "(proximity run --territory france --out DIR)"
        )
    try:
        table = gpd.read_parquet(path)
    except (OSError, ValueError, ImportError) as exc:
        raise DataFileError(
            f"{str(path)!r} cannot be read as GeoParquet ({exc}); rerun the national run to rewrite it"
        ) from exc
    synthetic = True
    prov = root / "provenance.json"
    if prov.is_file():
        try:
            synthetic = "sirene" not in prov.read_text(encoding="utf-8").lower()
        except OSError:
            synthetic = True
    check_national(table)
    return table, synthetic


def _as_list(values: Any, name: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InputError(f"{name} must be a list of codes, got {values!r}; e.g. {name}=['33']")
    return [str(v) for v in values]


def write_commune_pages(
    table: Any,
    communes: Iterable[str],
    *,
    out: str | os.PathLike,
    synthetic_smes: bool = True,
) -> list[Path]:
    """Commune pages on demand: ``<out>/communes/<insee>.html``, each written atomically.

    The pages link to ``../departements/<code>.html`` and ``../overview.html`` (the set of
    :func:`build_national_maps` in the same folder) and to each other.

    Parameters
    ----------
    table : GeoDataFrame
        The national table.
    communes : iterable of str
        INSEE codes.
    out : path
        The maps folder.
    synthetic_smes : bool

    Returns
    -------
    list of Path

    Raises
    ------
    InputError, MissingColumnError
        Unknown codes; see :func:`commune_map`.

    Examples
    --------
    ``t`` is the municipalities table of a national run (``--territory france``: a long
    computation, not available to the doctests), so the example is not run as a doctest:

    >>> write_commune_pages(t, ["33063"], out="maps/france")  # doctest: +SKIP
    """
    from .._io import check_out_dir

    if not isinstance(out, str | os.PathLike):
        raise InputError(f"out must be a folder path (str or Path), got {type(out).__name__}; e.g. out='maps'")
    nat = _prepare(table, synthetic_smes=synthetic_smes)
    codes = _codes(_as_list(communes, "communes"), nat, "communes")
    if not codes:
        raise InputError("communes is empty; give INSEE codes such as 33063 (Bordeaux)")
    root = check_out_dir(out, option="out")
    pages = set(codes)
    return [
        _write(_render(_commune(nat, c, simplify_m=COMMUNE_SIMPLIFY_M, pages=pages)), root / "communes" / f"{c}.html")
        for c in codes
    ]
