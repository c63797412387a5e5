"""The territory overview: the milieu index per municipality, its components and the
nearest-gateway times as switchable choropleths, gateways and support bodies as markers."""

from __future__ import annotations

import functools
import os
from collections.abc import Collection, Mapping
from typing import Any

import folium
import numpy as np
import xyzservices

from .._html import escape
from ..errors import InputError
from . import _prepare as P
from ._elements import (
    Attribution,
    Fit,
    LegendSwitch,
    Panel,
    Points,
    PolygonLayer,
    SharedPolygons,
    Stylesheet,
    root_figure,
)

__all__ = ["overview_map"]

GATEWAY_LAYERS = (
    ("airport", "Airports", None),
    ("seaport", "Seaports", None),
    ("tgv_station", "TGV stations", None),
    ("rail_station", "Regional rail stations", None),
    (
        "motorway_access",
        "Motorway access",
        {"showCoverageOnHover": False, "maxClusterRadius": 35, "disableClusteringAtZoom": 11},
    ),
)
#: CARTO's light basemap (written out: xyzservices' "CartoDB.Positron" warns about API keys).
TILES = "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png"
TILES_ATTR = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors &copy; <a href="https://carto.com/attributions">CARTO</a>'
SUPPORT_CLUSTER = {
    "showCoverageOnHover": False,
    "maxClusterRadius": 40,
    "disableClusteringAtZoom": 16,
    "spiderfyOnMaxZoom": True,
}


@functools.cache
def tile_provider() -> xyzservices.TileProvider:
    """The basemap as an xyzservices provider: folium then skips its search of every
    provider's name for the URL (7 ms per map, a tenth of a commune page)."""
    return xyzservices.TileProvider(
        name="cartodb_light",
        url=TILES,
        attribution=TILES_ATTR,
        html_attribution=TILES_ATTR,
        subdomains="abcd",
        max_zoom=19,
    )


def icon_label(icon: str, color: str, text: str) -> str:
    """A LayerControl label with its marker icon (escaped text)."""
    return f'<span class="prox-ico"><i class="fa fa-{icon}" style="color:{color}"></i></span>{escape(text)}'


def base_map(
    ctx: P.Context,
    bounds: list[list[float]],
    *,
    padding_top_left: tuple[int, int] = (10, 10),
    padding_bottom_right: tuple[int, int] = (10, 10),
    css: bool = True,
) -> folium.Map:
    """A light basemap (tiles not in the layer control), the CSS (unless ``css=False``: the
    caller links it), the attribution, fitted to ``bounds`` with room for the panels
    (quarter zoom steps, so the fit is tight)."""
    bounds = [[round(float(v), P.COORD_DECIMALS) for v in corner] for corner in bounds]
    (s, w), (n, e) = bounds
    m = folium.Map(
        location=[round((s + n) / 2, P.COORD_DECIMALS), round((w + e) / 2, P.COORD_DECIMALS)],
        zoom_start=9,
        tiles=None,
        control_scale=True,
        zoomSnap=0.25,
        zoomDelta=0.5,
    )
    folium.TileLayer(tiles=tile_provider(), attr=TILES_ATTR, subdomains="abcd", max_zoom=19, control=False).add_to(m)
    if css:
        root_figure(m).header.add_child(Stylesheet(), name="proximity_css")
    Attribution(f"Data: {escape(ctx.short_attribution)} (see Sources)").add_to(m)
    Fit(bounds, padding_top_left=padding_top_left, padding_bottom_right=padding_bottom_right).add_to(m)
    return m


def add_markers(
    ctx: P.Context, m: folium.Map, *, hidden: Collection[str] = (), show_support: bool = True
) -> list[Points]:
    """Gateways (one layer per group; ``hidden`` groups unticked) and support bodies (clustered)."""
    rows_by_group, fields = P.gateway_rows(ctx.gateways)
    styles = P.gateway_styles()
    layers = []
    for group, title, cluster in GATEWAY_LAYERS:
        rows = rows_by_group.get(group, [])
        if not rows:
            continue
        _, icon, _, color = P.GATEWAY_STYLES[group]
        show = group not in hidden
        layer = Points(
            rows,
            fields=fields,
            styles=styles,
            name=icon_label(icon, color, f"{title} ({len(rows)})"),
            cluster=cluster,
            show=show,
            cluster_color=color,
        )
        layer.add_to(m)
        layers.append(layer)
    rows, fields, styles = P.support_rows(ctx.support)
    if rows:
        layer = Points(
            rows,
            fields=fields,
            styles=styles,
            name=icon_label("graduation-cap", "#72b026", f"Support bodies ({len(rows)})"),
            cluster=SUPPORT_CLUSTER,
            show=show_support,
            cluster_color="#5a8f1f",
        )
        layer.add_to(m)
        layers.append(layer)
    return layers


def _linked(link_pages: bool | Collection[str], munis_index: Any) -> set[str] | None:
    if isinstance(link_pages, bool):
        return set(munis_index) if link_pages else None
    if isinstance(link_pages, str) or not isinstance(link_pages, Collection):
        raise InputError(
            f"link_pages must be True/False or a collection of INSEE codes, got {type(link_pages).__name__}; "
            "e.g. link_pages=['34172']"
        )
    unknown = sorted(set(map(str, link_pages)) - set(munis_index))
    if unknown:
        raise InputError(f"link_pages has INSEE codes that are not municipalities of the territory: {unknown[:5]}")
    return set(map(str, link_pages))


def overview_map(
    territory: Any,
    scores: Any,
    *,
    classes: int = 6,
    simplify_m: float = 100.0,
    link_pages: bool | Collection[str] = False,
    rasters: Mapping[str, Any] | None = None,
) -> folium.Map:
    """The territory overview: a choropleth of the milieu index and of what it is made of.

    One polygon layer per variable, chosen with the radio buttons of the layer control
    (only the index is shown at first): the milieu index (natural-break classes), its four
    components, and the population-weighted minutes to the nearest airport, seaport, TGV
    station, motorway access and chamber of commerce (15-minute bands). Each layer has its
    legend (class ranges and counts). Hovering a municipality shows its name, the layer's
    value, its index and rank; clicking it shows its card (rank interval, components,
    times) and, with ``link_pages``, a link to its page. Gateways and support bodies are
    markers with an icon per kind (motorway exits and support bodies clustered); markers
    off the modelled network are grey (shown, not used in the scores). A title box, a
    note on synthetic SMEs and approximate data, and the attribution of every source
    (:func:`proximity.datasets.attributions`) complete the map.

    Parameters
    ----------
    territory : proximity.territory.Territory
        The territory (:func:`proximity.territory.load_territory`).
    scores : proximity.scores.ScoreResult
        Its scores (:func:`proximity.scores.score_territory`).
    classes : int, default 6
        Number of natural-break classes of the index (3 to 7; components use at most 5).
    simplify_m : float, default 100
        Tolerance in metres of the (shared-border preserving) polygon simplification.
    link_pages : bool or collection of str, default False
        Link each municipality's card to ``communes/<insee>.html`` (True: all; a collection:
        only those INSEE codes), and the title to ``index.html``, as :func:`build_maps`
        writes them.
    rasters : mapping, optional
        Travel-time rasters to add as overlay layers (off at first), each with a colour
        legend: ``{label: path}`` to a GeoTIFF of minutes (e.g. from ``proximity raster``)
        or ``{label: (array, transform)}`` in the territory's projected CRS.

    Returns
    -------
    folium.Map

    Raises
    ------
    InputError
        ``scores`` does not belong to ``territory``, or a bad option.
    MissingColumnError
        ``scores.municipalities`` lacks a mapped column.

    Examples
    --------
    Scoring the territory takes about a minute, so the example is not run as a doctest:

    >>> from proximity.territory import load_territory
    >>> from proximity.scores import score_territory
    >>> from proximity.maps import overview_map
    >>> t = load_territory("herault")  # doctest: +SKIP
    >>> s = score_territory(t)  # doctest: +SKIP
    >>> overview_map(t, s)  # doctest: +SKIP
    <folium.folium.Map object at ...>
    """
    munis = P.check_inputs(territory, scores)
    P.check_classes(classes)
    tolerance = _check_tolerance(simplify_m)
    linked = _linked(link_pages, munis.index)
    overlays = _raster_overlays(rasters or {}, territory.manifest.crs)
    return _overview(P.prepare(territory, scores, k=classes), simplify_m=tolerance, linked=linked, overlays=overlays)


def _raster_overlays(rasters: Mapping[str, Any], crs: str) -> list[tuple[str, str, list, str]]:
    """(label, PNG data URL, bounds, legend HTML) per raster of minutes."""
    import rasterio

    from .. import raster as R

    out = []
    for label, src in rasters.items():
        if isinstance(src, (str, os.PathLike)):
            try:
                with rasterio.open(src) as ds:
                    arr = ds.read(1, masked=True).filled(np.nan).astype(float)
                    transform, src_crs = ds.transform, ds.crs
            except rasterio.errors.RasterioIOError as exc:
                raise InputError(
                    f"raster {str(src)!r} for {label!r} cannot be read ({exc}); pass a GeoTIFF of minutes"
                ) from exc
        else:
            try:
                arr, transform = src
            except (TypeError, ValueError):
                raise InputError(f"raster {label!r} must be a path or an (array, transform) pair") from None
            src_crs = crs
        url, bounds = R.raster_overlay_image(
            np.asarray(arr, dtype=float), transform, src_crs, cmap="travel", vmin=0, vmax=90
        )
        spec = R.raster_legend(cmap="travel", vmin=0, vmax=90, caption=label)
        stops = ", ".join(spec["colors"])
        legend = (
            f'<div class="prox-leg-title">{escape(label)}</div>'
            f'<div style="height:10px;width:200px;background:linear-gradient(to right, {stops})"></div>'
            '<div style="display:flex;justify-content:space-between;width:200px"><span>0</span><span>30</span><span>60</span><span>90+ min</span></div>'
        )
        out.append((label, url, bounds, legend))
    return out


def _check_tolerance(simplify_m: float) -> float:
    if isinstance(simplify_m, bool) or not isinstance(simplify_m, int | float) or not simplify_m >= 0:
        raise InputError(f"simplify_m must be a non-negative number of metres, got {simplify_m!r}; e.g. simplify_m=100")
    return float(simplify_m)


def _overview(
    ctx: P.Context, *, simplify_m: float, linked: set[str] | None, overlays: list | None = None
) -> folium.Map:
    munis = ctx.munis
    minx, miny, maxx, maxy = munis.total_bounds
    m = base_map(
        ctx,
        [[float(miny), float(minx)], [float(maxy), float(maxx)]],
        padding_top_left=(310, 10),
        padding_bottom_right=(250, 10),
    )

    geoms = ctx.polygons(simplify_m)
    shared = SharedPolygons(
        P.polygon_collection(ctx, list(munis.index), geoms),
        [escape(v.label) for v in P.VARIABLES],
        link_ids=[c for c in munis.index if linked is not None and c in linked],
        link_prefix="communes/",
    )
    shared.add_to(m)
    for k, var in enumerate(P.VARIABLES):
        PolygonLayer(
            shared,
            k,
            ctx.classes[var.key].colors,
            name=escape(var.short or var.label),
            overlay=False,
            show=k == 0,
            nodata=P.NODATA,
        ).add_to(m)
    LegendSwitch(ctx.legends, initial=0, position="bottomleft").add_to(m)
    # regional stations and the 53 motorway exits are ticked off: the time layers tell their story
    add_markers(ctx, m, hidden=("rail_station", "motorway_access"))

    links = (
        '<div class="prox-links"><a href="index.html">Table of all municipalities →</a></div>'
        if linked is not None
        else ""
    )
    synthetic = (
        '<div class="prox-note"><b>SMEs are synthetic</b> (generated, not real firms): SME-based counts are illustrative.</div>'
        if ctx.synthetic
        else ""
    )
    dropped = (getattr(ctx.scores, "summary", None) or {}).get("dropped_indicators", {})
    if dropped:  # inputs missing in this territory: said, never scored as zero
        synthetic += (
            '<div class="prox-note"><b>Not in the index here</b> (inputs missing, weights re-normalised): '
            + "; ".join(f"{escape(k)} ({escape(why)})" for k, why in sorted(dropped.items()))
            + "</div>"
        )
    title = (
        f"<h1>{escape(ctx.label)}: how well each municipality connects its firms to the world</h1>"
        f'<div class="prox-sub">Internationalising-milieu index of the {ctx.n} municipalities (0–100, higher is better). '
        "Hover a municipality for its score, click it for its card; switch layers on the right.</div>"
        f"{links}{synthetic}"
        '<div class="prox-note">Some data is approximate or old (support bodies partly 2014, Montpellier only; '
        "port positions rounded to 1–2 km): see Sources.</div>"
    )
    Panel(title, position="topleft", css_class="prox-title").add_to(m)
    for label, url, bounds, legend in overlays or []:
        folium.raster_layers.ImageOverlay(
            image=url, bounds=bounds, opacity=0.65, mercator_project=False, name=escape(label), overlay=True, show=False
        ).add_to(m)
        Panel(legend, position="bottomright", css_class="prox-raster-legend").add_to(m)
    Panel(
        P.sources_html(ctx.source_pairs, synthetic=ctx.synthetic), position="bottomright", css_class="prox-sources-box"
    ).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    return m
