"""One municipality's page: where its firms can get to, how fast, and how it compares."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any, cast

import folium
import numpy as np
import pandas as pd
import pyproj
import shapely
from branca.element import Figure

from .._html import escape, format_value
from ..errors import InputError
from . import _prepare as P
from ._elements import (
    JS,
    GeoJsonShapes,
    Group,
    HeadTag,
    PackedShapes,
    Panel,
    Pin,
    Points,
    PolygonLayer,
    Routes,
    SharedPolygons,
    Stylesheet,
    js,
)
from .overview import _check_tolerance, _linked, base_map, icon_label

__all__ = ["municipality_map"]

#: Fill colours of the isochrones, shortest first.
ISOCHRONE_COLORS = ("#08519c", "#4292c6", "#9ecae1", "#c6dbef")
COMMUNE_COLOR = "#111111"
SME_COLORS = {"exporter": "#e6550d", "sme": "#6a51a3"}
#: Permanent labels at the route destinations: text and placement (spread out: several
#: destinations often sit in the same city centre).
LABEL_NAMES = {
    "airport": "Airport",
    "seaport": "Seaport",
    "tgv_station": "TGV",
    "motorway_access": "Motorway",
    "chamber_of_commerce": "CCI",
}
LABEL_PLACES: dict[str, dict[str, Any]] = {
    "airport": {"direction": "right", "offset": (12, -22)},
    "seaport": {"direction": "right", "offset": (12, -22)},
    "tgv_station": {"direction": "top", "offset": (0, -44)},
    "motorway_access": {"direction": "bottom", "offset": (0, 2)},
    "chamber_of_commerce": {"direction": "left", "offset": (-12, -22)},
}
SME_CLUSTER_ABOVE = 150  # more SMEs than this are clustered
SME_CLUSTER = {
    "showCoverageOnHover": False,
    "maxClusterRadius": 45,
    "disableClusteringAtZoom": 16,
    "chunkedLoading": True,
}


def check_insee(insee: Any, munis_index: pd.Index) -> str:
    """The INSEE code as a string, checked against the territory."""
    if isinstance(insee, bool) or not isinstance(insee, str | int | np.integer):
        raise InputError(f"insee must be an INSEE code string such as '34172', got {type(insee).__name__}")
    code = str(insee)
    if code not in munis_index:
        example = munis_index[0] if len(munis_index) else "34172"
        raise InputError(
            f"insee {code!r} is not a municipality of this territory; pass one of its INSEE codes "
            f"(scores.municipalities.index), e.g. {example!r}"
        )
    return code


def check_minutes(minutes: Any) -> tuple[float, ...]:
    values = [minutes] if isinstance(minutes, int | float) and not isinstance(minutes, bool) else minutes
    try:
        out = tuple(sorted({float(v) for v in values}))
    except (TypeError, ValueError):
        out = ()
    if not out or any(not math.isfinite(v) or v <= 0 for v in out) or len(out) > len(ISOCHRONE_COLORS):
        raise InputError(
            f"minutes must be 1 to {len(ISOCHRONE_COLORS)} positive numbers of minutes, got {minutes!r}; e.g. minutes=(15, 30, 45)"
        )
    return out


def municipality_map(
    territory: Any,
    scores: Any,
    insee: str,
    *,
    minutes: Sequence[float] = (15, 30, 45),
    neighbours_m: float = 5000.0,
    cell_m: float = 250.0,
    link_pages: bool | Collection[str] = False,
) -> folium.Map:
    """The page of one municipality: isochrones, routes to its gateways, its SMEs, a scorecard.

    The map is zoomed on the municipality and its shortest isochrone. From its population
    centre — the population origin (:func:`proximity.scores.population_origins`, a network
    node inside it) nearest to their population-weighted mean — it draws the areas
    reachable by car within ``minutes`` and the fastest routes to its nearest airport,
    seaport, TGV station, motorway access and chamber of commerce, labelled with their
    minutes (:func:`proximity.traveltime.route`). Its SMEs are small markers (clustered
    when many) labelled synthetic when they are; support bodies are clustered markers and
    all gateways an optional layer. The neighbouring municipalities are drawn with their
    index class. A scorecard gives the index, rank and rank interval, the four components
    and the main indicators against the territory's median, the routes, and links to the
    overview and the table (``../overview.html``, ``../index.html``, as written by
    :func:`build_maps`).

    Parameters
    ----------
    territory : proximity.territory.Territory
    scores : proximity.scores.ScoreResult
        The territory's scores.
    insee : str
        INSEE code of the municipality (e.g. ``"34172"``, Montpellier).
    minutes : sequence of float, default (15, 30, 45)
        Isochrone thresholds (1 to 4 values).
    neighbours_m : float, default 5000
        Municipalities within this distance (metres) are drawn around it.
    cell_m : float, default 250
        Grid cell of the isochrones (metres): see :func:`proximity.traveltime.isochrones`.
    link_pages : bool or collection of str, default False
        Link neighbours' cards to their pages (``<insee>.html`` beside this one) and add
        the links back to the overview and the table.

    Returns
    -------
    folium.Map

    Raises
    ------
    InputError
        Unknown ``insee``, ``scores`` of another territory, or a bad option.

    Examples
    --------
    With ``s = proximity.scores.score_territory(t)`` (about a minute, so the example is
    not run as a doctest):

    >>> municipality_map(t, s, "34172")  # doctest: +SKIP
    <folium.folium.Map object at ...>
    """
    munis = P.check_inputs(territory, scores)
    code = check_insee(insee, munis.index)
    mins = check_minutes(minutes)
    cell = check_cell(cell_m)
    neighbours_m = _check_tolerance(neighbours_m)
    linked = _linked(link_pages, munis.index)
    ctx = P.prepare(territory, scores)
    P.compute_travel(
        ctx, [code], minutes=mins, cell_m=cell, tolerance_m=P.ISO_SIMPLIFY_CELLS * cell, progress=lambda msg: None
    )
    return _municipality(ctx, code, neighbours_m=neighbours_m, linked=linked)


def check_cell(cell_m: Any) -> float:
    if isinstance(cell_m, bool) or not isinstance(cell_m, int | float) or not cell_m > 0:
        raise InputError(f"cell_m must be a positive number of metres, got {cell_m!r}; e.g. cell_m=250")
    return float(cell_m)


def _bar(value: float, median: float, lo: float, hi: float, label: str, text: str, median_text: str) -> str:
    span = hi - lo if hi > lo else 1.0
    pos = min(100.0, max(0.0, (value - lo) / span * 100.0))
    med = min(100.0, max(0.0, (median - lo) / span * 100.0))
    return (
        f'<div class="prox-bar" title="{escape(median_text)}"><span class="lbl">{escape(label)}</span>'
        f'<span class="track"><span class="fill" style="width:{pos:.1f}%"></span>'
        f'<span class="med" style="left:{med:.1f}%"></span></span><span class="val">{escape(text)}</span></div>'
    )


def _compare(value: float, median: float, lower_is_better: bool) -> str:
    if not (math.isfinite(value) and math.isfinite(median)):
        return '<span class="prox-same">–</span>' if math.isfinite(value) else '<span class="prox-worse">▼</span>'
    tol = max(abs(median) * 0.05, 1e-9)
    if abs(value - median) <= tol:
        return '<span class="prox-same" title="about the median">≈</span>'
    better = (value < median) == lower_is_better
    return (
        '<span class="prox-better" title="better than the median">▲</span>'
        if better
        else '<span class="prox-worse" title="worse than the median">▼</span>'
    )


def _num(value: float, minutes: bool) -> str:
    if not math.isfinite(value):
        return "none" if minutes else "n/a"
    if minutes or abs(value) >= 10:
        return format_value(round(value))
    return format_value(value, decimals=1)


def scorecard_html(ctx: P.Context, insee: str, *, links: bool) -> str:
    """The scorecard panel of a municipality (escaped HTML)."""
    rows = P.cached(ctx, "rows", lambda: ctx.munis.drop(columns=ctx.munis.geometry.name).to_dict("index"))
    row = rows[insee]
    med = P.cached(ctx, "medians", lambda: ctx.medians.to_dict())
    n = ctx.n
    T = f"{ctx.catchment_minutes:g}"
    parts = [
        f'<details open><summary><h1 style="display:inline">{escape(row["name"])}</h1></summary>',
        (
            f'<div class="prox-sub">INSEE {escape(row["insee"])} · {escape(row["epci_name"])} · '
            f"{escape(P.fmt_int(row['population']))} inhabitants</div>"
        ),
    ]
    if links:
        parts.append(
            '<div class="prox-links"><a href="../overview.html">← Overview map</a>'
            '<a href="../index.html">All municipalities</a></div>'
        )
    index = float(row["index"])
    parts.append(
        f'<div class="prox-kpi"><span class="big">{escape(P.VARIABLES[0].fmt(index))}</span>'
        f"<span>milieu index (0–100)<br>rank <b>{int(row['rank'])}</b> of {n} "
        f"({int(row['rank_low'])}–{int(row['rank_high'])} if the weights vary)</span></div>"
    )
    ranges = P.cached(
        ctx,
        "ranges",
        lambda: {
            v.key: (float(ctx.munis[v.key].astype(float).min()), float(ctx.munis[v.key].astype(float).max()))
            for v in P.VARIABLES[:5]
        },
    )
    idx_lo, idx_hi = ranges["index"]
    parts.append(
        _bar(
            index,
            float(med["index"]),
            min(0.0, idx_lo),
            max(100.0, idx_hi),
            "Index",
            P.VARIABLES[0].fmt(index),
            f"median of the {n} municipalities: {med['index']:.1f}",
        )
    )
    parts.append(f'<h2>Components <span class="prox-sub">(0–1; red tick: median of the {n})</span></h2>')
    for var in P.VARIABLES[1:5]:
        lo, hi = ranges[var.key]
        v = float(row[var.key])
        parts.append(
            _bar(
                v,
                float(med[var.key]),
                min(0.0, lo),
                max(1.0, hi),
                var.label,
                var.fmt(v),
                f"{var.description}; median {med[var.key]:.2f}",
            )
        )
    parts.append(
        '<h2>Main indicators <span class="prox-sub">(population-weighted)</span></h2><table class="prox-ind"><thead><tr><th></th><th>here</th><th>median</th><th></th></tr></thead><tbody>'
    )
    for key, label, lower in P.INDICATORS:
        if key not in row:
            continue
        if key == "smes_within_t" and not ctx.synthetic:
            label = label.replace(" (synthetic)", "")
        v, md = float(row[key]), float(med.get(key, np.nan))
        parts.append(
            f"<tr><td>{escape(label.format(T=T))}</td><td>{escape(_num(v, lower))}</td>"
            f"<td>{escape(_num(md, lower))}</td><td>{_compare(v, md, lower)}</td></tr>"
        )
    parts.append("</tbody></table>")
    reach = P.world_reach_html(ctx, ctx.munis.loc[insee])
    if reach:
        parts.append(f"<h2>World reach</h2>{reach}")
    routes = ctx.routes.get(insee, [])
    parts.append("<h2>Fastest routes from the population centre</h2>")
    if routes:
        items = "".join(
            f'<li><span class="prox-dot" style="background:{P.ROUTE_COLORS[r["group"]]}"></span>'
            f'{escape(_cap(_target_label(r["group"])))}: <span class="prox-minutes">{r["minutes"]:.0f} min</span>, '
            f"{r['km']:.0f} km — {escape(r['name'])}</li>"
            for r in routes
        )
        parts.append(f'<ul class="prox-routes">{items}</ul>')
    else:
        parts.append('<div class="prox-sub">No destination reachable on the modelled network.</div>')
    missing = [label for g, label in P.ROUTE_TARGETS if g not in {r["group"] for r in routes}]
    if routes and missing:
        parts.append(f'<div class="prox-sub">Not reachable on the network: {escape(", ".join(missing))}.</div>')
    if ctx.synthetic:
        parts.append(
            f'<div class="prox-note"><b>SMEs are synthetic</b> (generated, not real firms): '
            f"the {escape(P.fmt_int(row.get('n_smes', 0)))} firms drawn here and SME counts are illustrative.</div>"
        )
    parts.append("</details>")
    return "".join(parts)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _target_label(group: str) -> str:
    return dict(P.ROUTE_TARGETS).get(group, group)


def legend_html(minutes: Sequence[float], groups: Sequence[str], *, synthetic: bool) -> str:
    rows = ['<div class="prox-leg-title">Reachable by car</div>']
    for i, t in enumerate(minutes):
        rows.append(
            f'<div class="prox-leg-row"><span class="prox-sw" style="background:{ISOCHRONE_COLORS[i]};opacity:.75"></span>'
            f"within {t:g} min</div>"
        )
    rows.append(
        f'<div class="prox-leg-row"><span class="prox-sw" style="background:none;border:3px solid {COMMUNE_COLOR}"></span>the municipality</div>'
    )
    rows.extend(
        f'<div class="prox-leg-row"><span class="prox-sw" style="background:{P.ROUTE_COLORS[g]};height:4px;border:0"></span>'
        f"route to the {escape(_target_label(g))}</div>"
        for g in groups
    )
    label = "SME (synthetic)" if synthetic else "SME"
    rows.append(
        f'<div class="prox-leg-row"><span class="prox-dot" style="background:{SME_COLORS["sme"]}"></span>{label}'
        f'<span class="prox-dot" style="background:{SME_COLORS["exporter"]};margin-left:8px"></span>exporter</div>'
    )
    return "".join(rows)


def _texts(values: pd.Series | None, n: int) -> np.ndarray:
    """Text of each value ('' for missing), as an object array."""
    if values is None:
        return np.full(n, "", dtype=object)
    return values.astype("string").fillna("").astype(object).to_numpy()


def sme_rows(smes: pd.DataFrame, *, synthetic: bool) -> list[list[Any]]:
    """Marker rows of SMEs (escaped texts), column by column."""
    n = len(smes)
    if not n:
        return []
    name = _texts(smes.get("name"), n)
    naf = _texts(smes.get("naf"), n)
    section = _texts(smes.get("naf_section"), n)
    size = _texts(smes.get("size_label"), n)
    ids = smes.index.astype(str).to_numpy()
    exp = smes["exporter"].astype("boolean").fillna(False).to_numpy(bool) if "exporter" in smes else np.zeros(n, bool)
    syn = (
        smes["synthetic"].astype("boolean").fillna(synthetic).to_numpy(bool)
        if "synthetic" in smes
        else np.full(n, synthetic)
    )
    lat = np.round(smes.geometry.y.to_numpy(), P.COORD_DECIMALS)
    lon = np.round(smes.geometry.x.to_numpy(), P.COORD_DECIMALS)
    rows = []
    for i in range(n):
        activity = (f"NAF {naf[i]}" + (f" (section {section[i]})" if section[i] else "")) if naf[i] else ""
        rows.append(
            [
                float(lat[i]),
                float(lon[i]),
                "exporter" if exp[i] else "sme",
                escape(name[i] or ids[i]),
                escape(activity),
                escape(size[i]),
                "yes" if exp[i] else "no",
                "SYNTHETIC — not a real firm" if syn[i] else "",
            ]
        )
    return rows


def _sme_rows_by_commune(ctx: P.Context) -> dict[str, list[list[Any]]]:
    """Marker rows of every SME, by commune (computed once for the map set)."""
    if "commune" not in ctx.smes:
        return {}
    rows = sme_rows(ctx.smes, synthetic=ctx.synthetic)
    out: dict[str, list[list[Any]]] = {}
    for commune, row in zip(ctx.smes["commune"].astype("string").fillna("").to_numpy(), rows, strict=True):
        out.setdefault(str(commune), []).append(row)
    return out


#: Smallest extent of a commune page's first view (metres), around the population centre.
MIN_VIEW_M = 30_000.0


def _view_bounds(
    ctx: P.Context, insee: str, commune: Any, isos: list[tuple[float, Any]]
) -> tuple[float, float, float, float]:
    """The commune and its shortest isochrone, widened to at least :data:`MIN_VIEW_M` across."""
    crs = ctx.territory.csr.crs
    fwd = P.cached(ctx, "to_projected", lambda: pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True))
    inv = P.cached(ctx, "to_wgs84", lambda: pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True))
    parts = [ctx.projected.loc[insee]]
    if isos and not isos[0][1].is_empty:
        parts.append(shapely.transform(isos[0][1], lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1]))))
    minx, miny, maxx, maxy = shapely.total_bounds(parts)
    if ctx.centres is not None and insee in ctx.centres.index:
        c = ctx.centres.geometry.loc[insee]
        cx, cy = c.x, c.y
    else:
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half = MIN_VIEW_M / 2
    minx, maxx = min(minx, cx - half), max(maxx, cx + half)
    miny, maxy = min(miny, cy - half), max(maxy, cy + half)
    (x0, x1), (y0, y1) = inv.transform([minx, maxx], [miny, maxy])
    return x0, y0, x1, y1


#: Relative paths of the shared assets, from a commune page (``communes/<insee>.html``).
SHARED_SCRIPT = "../assets/communes.js"
SHARED_CSS = "../assets/proximity.css"


def _head(ctx: P.Context, m: folium.Map, near: list[str], *, shared: bool) -> None:
    """``PROX_SHARED`` for the page: the shared script (and stylesheet), or the page's part of it inline."""
    root = cast(Figure, m.get_root())
    if shared:
        root.header.add_child(HeadTag(f'<script src="{SHARED_SCRIPT}"></script>'), name="proximity_shared")
        root.header.add_child(HeadTag(f'<link rel="stylesheet" href="{SHARED_CSS}">'), name="proximity_css")
    else:
        data = P.shared_data(ctx, near)
        root.header.add_child(HeadTag(f"<script>var PROX_SHARED = {js(data)};</script>"), name="proximity_shared")
        root.header.add_child(Stylesheet(), name="proximity_css")


def _municipality(
    ctx: P.Context, insee: str, *, neighbours_m: float, linked: set[str] | None, shared: bool = False
) -> folium.Map:
    """The page of ``insee``; ``shared``: it loads the shared assets (``../assets/``) written by :func:`build_maps`."""
    row = ctx.munis.loc[insee]
    isos = sorted(ctx.isochrones.get(insee, []), key=lambda p: p[0])
    commune = ctx.polygons(0.0).loc[insee]
    minx, miny, maxx, maxy = _view_bounds(ctx, insee, commune, isos)
    # room for the scorecard (left), the layer control (top right) and the legend (bottom right)
    m = base_map(
        ctx, [[miny, minx], [maxy, maxx]], padding_top_left=(350, 20), padding_bottom_right=(220, 20), css=False
    )
    near = ctx.neighbours(insee, neighbours_m)
    _head(ctx, m, near, shared=shared)

    GeoJsonShapes(
        JS("PROX_SHARED.outline"), {"color": "#555", "weight": 1.5, "dashArray": "6 4", "opacity": 0.8}
    ).add_to(m)
    polygons = SharedPolygons(
        JS("PROX_SHARED.communes"),
        JS("PROX_SHARED.labels"),
        ids=near,
        link_ids=[c for c in near if linked is not None and c in linked],
        link_prefix="",
    )
    polygons.add_to(m)
    # outlines only (the fill stays hoverable): colours would blend with the isochrones
    PolygonLayer(
        polygons,
        0,
        ctx.classes["index"].colors,
        name=f"Municipalities nearby ({len(near)}): hover for scores",
        overlay=True,
        fill_opacity=0.0,
        line_color="#707070",
        weight=1.0,
    ).add_to(m)

    if isos:
        group = Group(name="Reachable by car in " + " / ".join(f"{t:g}" for t, _ in isos) + " min")
        for i in reversed(range(len(isos))):
            geom = isos[i][1]
            if geom.is_empty:
                continue
            color = ISOCHRONE_COLORS[i]
            PackedShapes(
                geom,
                {"color": color, "weight": 1, "fillColor": color, "fillOpacity": 0.22, "opacity": 0.7},
                quantum_deg=10.0**-P.TRAVEL_DECIMALS,
            ).add_to(group)
        group.add_to(m)

    PackedShapes(
        commune,
        {"color": COMMUNE_COLOR, "weight": 3.5, "fill": False, "opacity": 0.95},
        quantum_deg=10.0**-P.COORD_DECIMALS,
    ).add_to(m)

    routes = ctx.routes.get(insee, [])
    if routes:
        rg = Group(name="Fastest routes to the nearest gateways")
        items = []
        for r in routes:
            target = _target_label(r["group"])
            style = P.GATEWAY_STYLES.get(r["group"]) or P.SUPPORT_STYLES[r["group"]]
            items.append(
                {
                    "latlon": r["latlon"],
                    "color": P.ROUTE_COLORS[r["group"]],
                    "tip": escape(
                        f"To the nearest {target}, {r['name']}: {r['minutes']:.0f} min, {r['km']:.0f} km by car"
                    ),
                    "icon": style[1],
                    "marker": style[2],
                    "label": f"{escape(LABEL_NAMES[r['group']])} {r['minutes']:.0f} min",
                    "direction": LABEL_PLACES[r["group"]]["direction"],
                    "offset": list(LABEL_PLACES[r["group"]]["offset"]),
                    "popup": (
                        f'<table class="proximity-table"><caption>{escape(r["name"])}</caption>'
                        f"<tr><th>Nearest {escape(target)}</th><td>{r['minutes']:.0f} min, {r['km']:.0f} km by car</td></tr>"
                        f"<tr><th>From</th><td>population centre of {escape(row['name'])}</td></tr></table>"
                    ),
                }
            )
        Routes(items).add_to(rg)
        rg.add_to(m)

    centres = ctx.centres
    if centres is not None and insee in centres.index:
        c = P.cached(ctx, "centres_4326", lambda: centres.to_crs("EPSG:4326"))
        if insee not in c.index:  # centres added since (municipality_map on another commune)
            c = ctx.cache["centres_4326"] = centres.to_crs("EPSG:4326")
        pt = c.geometry.loc[insee]
        Pin(
            [round(pt.y, P.COORD_DECIMALS), round(pt.x, P.COORD_DECIMALS)],
            icon="house",
            color="black",
            tooltip=escape(f"Population centre of {row['name']}: isochrones and routes start here"),
        ).add_to(m)

    smes = P.cached(ctx, "sme_rows", lambda: _sme_rows_by_commune(ctx)).get(insee, [])
    if len(smes):
        styles = {
            k: {"radius": 4, "color": "#ffffff", "weight": 1, "fillColor": c, "fillOpacity": 0.9}
            for k, c in SME_COLORS.items()
        }
        Points(
            smes,
            fields=["Name", "Activity", "Size", "Exporter", "Data"],
            styles=styles,
            kind="circle",
            name=f'<span class="prox-ico"><span class="prox-dot" style="background:{SME_COLORS["sme"]}"></span></span>'
            f"SMEs{', SYNTHETIC' if ctx.synthetic else ''} ({len(smes)})",
            cluster=SME_CLUSTER if len(smes) > SME_CLUSTER_ABOVE else None,
            cluster_color=SME_COLORS["sme"],
            caption="Synthetic firm (not a real firm)" if ctx.synthetic else "",
            tooltip_suffix=" (synthetic)" if ctx.synthetic else "",
        ).add_to(m)

    rows, _, _ = P.cached(ctx, "support_rows", lambda: P.support_rows(ctx.support))
    if rows:
        Points(
            JS("PROX_SHARED.support.rows"),
            fields=JS("PROX_SHARED.support.fields"),
            styles=JS("PROX_SHARED.support.styles"),
            name=icon_label("graduation-cap", "#72b026", f"Support bodies ({len(rows)})"),
            cluster={"showCoverageOnHover": False, "maxClusterRadius": 40, "disableClusteringAtZoom": 16},
            cluster_color="#5a8f1f",
        ).add_to(m)
    by_group, _ = P.cached(ctx, "gateway_rows", lambda: P.gateway_rows(ctx.gateways))
    n_gateways = sum(len(rs) for rs in by_group.values())
    if n_gateways:
        Points(
            JS("PROX_SHARED.gateways.rows"),
            fields=JS("PROX_SHARED.gateways.fields"),
            styles=JS("PROX_SHARED.gateways.styles"),
            name=icon_label("plane", "#0067a3", f"All gateways ({n_gateways})"),
            cluster={"showCoverageOnHover": False, "maxClusterRadius": 30},
            show=False,
            cluster_color="#0067a3",
        ).add_to(m)

    Panel(scorecard_html(ctx, insee, links=linked is not None), position="topleft", css_class="prox-card").add_to(m)
    # bottom-right corner, stacked upwards: sources box, then the legend above it
    Panel(JS("PROX_SHARED.sources"), position="bottomright", css_class="prox-sources-box").add_to(m)
    Panel(
        legend_html([t for t, _ in isos], [r["group"] for r in routes], synthetic=ctx.synthetic),
        position="bottomright",
        css_class="prox-legend",
    ).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    return m
