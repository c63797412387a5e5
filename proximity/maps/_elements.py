"""Folium elements of the proximity maps: panels, shared polygons, compact point layers.

Folium writes one JavaScript object (and, for popups, one HTML template) per marker and
one full copy of the GeoJSON per layer. These elements write the data once, as compact
JSON, and build the Leaflet objects in the browser, which keeps a commune page with
1,500 firms under a megabyte and the overview's ten choropleths on one copy of the
polygons. They are ordinary folium elements: a map using them still renders in a
notebook and saves with ``Map.save``.

Every string these elements put into the page as HTML was escaped by the caller with
:func:`proximity._html.escape` / :func:`~proximity._html.html_table`; :func:`js` further
keeps JSON inert inside ``<script>`` (no ``</script>`` can close it).

Jinja
-----
branca renders each element's script to text and then compiles that text *again* as a
Jinja template (``Element(script(...))``): a name such as ``{{ 7*7 }}`` in a folium
``Tooltip`` or ``Popup`` shows ``49``, and Jinja expressions can reach Python objects
(template injection at build time). These elements render their output once
(:class:`DirectRender`), :func:`js` encodes ``{{``, ``{%`` and ``{#`` inside JSON strings,
and :func:`inert` turns braces into character references in HTML given to folium's own
``Tooltip``/``Popup``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import MarkerCluster
from jinja2 import Template

__all__ = [
    "JS",
    "Attribution",
    "DirectRender",
    "Features",
    "Fit",
    "GeoJsonShapes",
    "Group",
    "HeadTag",
    "LegendSwitch",
    "Panel",
    "Pin",
    "Points",
    "PolygonLayer",
    "PackedShapes",
    "Routes",
    "SharedPolygons",
    "Stylesheet",
    "encode_polygons",
    "inert",
    "js",
]


class JS(str):
    """A JavaScript expression written as it is by :func:`js` (e.g. ``PROX_SHARED.support``).

    Only for expressions this package writes itself, never for text from the data.
    """


def js(value: Any) -> str:
    """JSON for a ``<script>`` block: compact, no NaN; ``<``, line separators and Jinja openers escaped.

    JSON structure never contains ``{{``, ``{%`` or ``{#``, so these only occur inside
    strings, where ``\\u007b`` is the same character. A :class:`JS` expression is written
    as it is.
    """
    if isinstance(value, JS):
        return str(value)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.replace("{{", "{\\u007b").replace("{%", "\\u007b%").replace("{#", "\\u007b#")


def inert(html: str) -> str:
    """Escaped HTML made safe for folium's own Tooltip/Popup (braces as character references)."""
    return html.replace("{", "&#123;").replace("}", "&#125;")


class _Raw(Element):
    """Already rendered text, written as it is (not compiled as a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


def root_figure(element: Element) -> Figure:
    """The :class:`~branca.element.Figure` at the root of ``element``'s tree.

    branca types ``get_root()`` as a plain ``Element``; the root of a folium map (and of
    every element added to one) is the Figure that ``folium.Map`` creates.
    """
    return cast(Figure, element.get_root())


class DirectRender(MacroElement):
    """A MacroElement whose header/html/script are rendered once, not re-parsed by Jinja.

    Same as :meth:`branca.element.MacroElement.render` with :class:`_Raw` in place of
    ``Element``: faster on large data, and data text cannot act as Jinja code.
    """

    def get_name(self) -> str:
        """The element's JavaScript name (computed once: templates ask for it many times)."""
        key = (self._name, self._id)
        cached = self.__dict__.get("_direct_name")
        if cached is None or cached[0] != key:
            cached = self._direct_name = (key, super().get_name())
        return cached[1]

    # branca's own MacroElement.render returns None as well, against Element.render's `-> str`
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        figure = root_figure(self)
        module = self._template.module.__dict__
        for part, target in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            macro = module.get(part)
            if macro is not None:
                # the templates' indentation is dropped (no JavaScript string spans lines)
                text = "\n".join(filter(None, (line.strip() for line in str(macro(self, kwargs)).splitlines())))
                target.add_child(_Raw(text), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


CSS = """
.prox-panel{background:rgba(255,255,255,.96);padding:7px 10px;border-radius:6px;
 box-shadow:0 1px 6px rgba(0,0,0,.35);font:13px/1.38 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
 color:#1f1f1f;max-width:300px}
.prox-panel a{color:#0b5394}
.prox-panel h1{font-size:16px;font-weight:700;margin:0 0 3px;line-height:1.25}
.prox-panel h2{font-size:13px;font-weight:700;margin:8px 0 3px}
.prox-sub{color:#555;font-size:12px}
.prox-note{background:#fff4d6;border-left:3px solid #d99a00;padding:3px 6px;margin-top:6px;font-size:12px}
.prox-links{margin-top:6px;font-size:12px}
.prox-links a{margin-right:10px;white-space:nowrap}
.prox-legend{min-width:170px}
.prox-legend .prox-leg-title{font-weight:700;margin-bottom:2px}
.prox-legend .prox-leg-sub{color:#555;font-size:11px;margin-bottom:4px}
.prox-legend .prox-leg-row{display:flex;align-items:center;font-size:12px;margin:1px 0;white-space:nowrap}
.prox-sw{display:inline-block;width:20px;height:13px;border:1px solid rgba(0,0,0,.45);margin-right:7px;flex:none}
.prox-legend .prox-leg-n{color:#777;margin-left:6px}
.prox-panel.prox-sources-box{max-width:440px}
.prox-sources{font-size:11.5px}
.prox-sources summary{cursor:pointer;font-weight:700;font-size:12px}
.prox-sources ul{margin:4px 0 0;padding-left:16px;max-height:calc(100vh - 420px);min-height:90px;overflow-y:auto}
.prox-sources li{margin:1px 0}
.prox-sources .prox-caveat{color:#8a5a00}
table.proximity-table{border-collapse:collapse;font-size:12px;caption-side:top;margin:0}
table.proximity-table caption{caption-side:top;color:#111;font-weight:700;font-size:13px;padding:0 0 4px;text-align:left}
table.proximity-table th{text-align:left;font-weight:600;color:#444;padding:1px 10px 1px 0;vertical-align:top}
table.proximity-table td{padding:1px 0;vertical-align:top}
.prox-popup-link{display:inline-block;margin-top:6px;font-weight:600}
.prox-pcard .prox-pkpi{margin:4px 0 6px;font-size:13px}
.prox-pcard .prox-pkpi b{font-size:15px;color:#253494}
.prox-pcols{display:flex;gap:16px;align-items:flex-start}
.prox-reach{margin:6px 0 2px;font-size:12.5px;max-width:380px}
.prox-reach ul{margin:2px 0 0;padding-left:16px}
.prox-pcols caption{font-size:12px!important;color:#555!important;font-weight:600!important}
.leaflet-tooltip.prox-tip{font:12.5px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.prox-tip-name{font-weight:700;font-size:13.5px}
.prox-tip-line b{font-size:13px}
.prox-tip-sub{color:#444}
.leaflet-control-layers-expanded{padding:6px 9px 6px 7px;font:12px/1.3 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-height:calc(100vh - 40px);overflow-y:auto}
.leaflet-control-layers-base:not(:empty)::before{content:"Colour municipalities by";display:block;font-weight:700;margin-bottom:2px}
.leaflet-control-layers-overlays:not(:empty)::before{content:"Show";display:block;font-weight:700;margin-bottom:2px}
.leaflet-control-layers-list label{margin-bottom:1px}
.prox-ico{display:inline-block;width:16px;text-align:center;margin-right:3px}
.prox-card{max-width:330px;width:330px;max-height:calc(100vh - 150px);overflow-y:auto}
.prox-card summary{cursor:pointer;list-style-position:inside}
.prox-kpi{display:flex;align-items:baseline;gap:8px;margin:4px 0 2px}
.prox-kpi .big{font-size:26px;font-weight:700;color:#253494}
.prox-bar{display:flex;align-items:center;font-size:12px;margin:2px 0}
.prox-bar .lbl{width:92px;flex:none}
.prox-bar .track{position:relative;flex:1;height:10px;background:#e8e8e8;border-radius:2px;margin:0 6px}
.prox-bar .fill{position:absolute;left:0;top:0;bottom:0;background:#2c7fb8;border-radius:2px}
.prox-bar .med{position:absolute;top:-3px;bottom:-3px;width:2px;background:#d7301f}
.prox-bar .val{width:36px;text-align:right;flex:none;font-variant-numeric:tabular-nums}
.prox-ind{border-collapse:collapse;font-size:12px;width:100%}
.prox-ind th,.prox-ind td{padding:1px 4px 1px 0;text-align:right;font-variant-numeric:tabular-nums}
.prox-ind th:first-child,.prox-ind td:first-child{text-align:left}
.prox-ind thead th{color:#555;font-weight:600;border-bottom:1px solid #ccc}
.prox-better{color:#1a7f37}.prox-worse{color:#b42318}.prox-same{color:#666}
.prox-routes{list-style:none;padding:0;margin:2px 0;font-size:12px}
.prox-routes li{margin:1px 0}
.prox-dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:5px}
.prox-minutes{font-weight:700}
.prox-cluster{background:rgba(255,255,255,.75);box-shadow:0 0 0 1px rgba(0,0,0,.25)}
.prox-cluster div{color:#fff;font-weight:700;opacity:.92}
.leaflet-control-attribution{font-size:10.5px;max-width:70vw}
path.leaflet-interactive:focus{outline:none}
.leaflet-tooltip.prox-label{padding:1px 5px;font-weight:700;font-size:12px;border-radius:3px}
"""


class Stylesheet(Element):
    """The maps' CSS, in the page header (add it to the map's root figure header)."""

    _template = Template("<style>{{ this.css }}</style>")

    def __init__(self, css: str = CSS) -> None:
        super().__init__()
        self._name = "ProximityStylesheet"
        self.css = css


class Panel(DirectRender):
    """A Leaflet control holding fixed HTML (already escaped), in a corner of the map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
            div.innerHTML = {{ this.html_js }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, position: str = "topleft", css_class: str = "") -> None:
        super().__init__()
        self._name = "ProximityPanel"
        self.position = position
        self.css_class = ("prox-panel " + css_class).strip()
        self.html_js = js(html)


class Attribution(DirectRender):
    """Adds (escaped) text to the map's attribution control."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.html_js }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "ProximityAttribution"
        self.html_js = js(html)


class SharedPolygons(DirectRender):
    """Municipality polygons written once, and the tooltip/popup binder of their layers.

    ``collection`` is a GeoJSON FeatureCollection whose features carry, in their
    properties: ``c`` (class of each variable, -1 for no data), ``v`` (the formatted
    values), ``h`` and ``f`` (tooltip head and foot HTML), ``card`` (popup HTML) and ``n``
    (the escaped name). ``labels`` are the variables' names (escaped HTML). Either may be
    a :class:`JS` expression naming shared data; ``ids`` then keeps only those features.
    ``link_ids`` (with ``link_prefix``) adds to their cards a link to ``<prefix><id>.html``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.data_js }};
        {%- if this.ids_js %}
        {{ this.get_name() }} = (function (all, ids) {
            var keep = {};
            for (var i = 0; i < ids.length; i++) { keep[ids[i]] = true; }
            return {type: "FeatureCollection", features: all.features.filter(function (f) { return keep[f.id] === true; })};
        })({{ this.get_name() }}, {{ this.ids_js }});
        {%- endif %}
        var {{ this.get_name() }}_labels = {{ this.labels_js }};
        var {{ this.get_name() }}_links = {{ this.links_js }};
        function {{ this.get_name() }}_bind(feature, layer, k) {
            var p = feature.properties;
            var line = k > 0 ? '<div class="prox-tip-line">' + {{ this.get_name() }}_labels[k] + ': <b>' + p.v[k] + '</b></div>' : '';
            var card = p.card;
            if ({{ this.get_name() }}_links.ids.indexOf(feature.id) >= 0) {
                card += '<a class="prox-popup-link" href="' + {{ this.get_name() }}_links.prefix + feature.id + '.html">Open the page of ' + p.n + ' \u2192</a>';
            }
            layer.bindTooltip(p.h + line + p.f, {sticky: true, className: "prox-tip", direction: "top", offset: [0, -8]});
            // keep the card clear of the panels (title, legend on the left; layers on the right)
            layer.bindPopup(card, {maxWidth: 420, minWidth: 300, autoPanPaddingTopLeft: [320, 20], autoPanPaddingBottomRight: [260, 20]});
        }
        {% endmacro %}
        """
    )

    def __init__(
        self,
        collection: dict | JS,
        labels: list[str] | JS,
        *,
        ids: list[str] | None = None,
        link_ids: Sequence[str] = (),
        link_prefix: str = "",
    ) -> None:
        super().__init__()
        self._name = "ProximityPolygons"
        self.data_js = js(collection)
        self.ids_js = js([str(i) for i in ids]) if ids is not None else ""
        self.labels_js = js(labels)
        # INSEE codes and a relative prefix: the href holds no text from the data but digits
        self.links_js = js({"ids": [str(i) for i in link_ids], "prefix": link_prefix})


class DirectLayer(Layer, DirectRender):
    """A folium Layer (listed by the LayerControl) rendered as :class:`DirectRender`, its
    ``addTo`` (when shown) written directly rather than through a compiled template."""

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # as DirectRender.render
        DirectRender.render(self, **kwargs)
        parent = self._parent  # set: DirectRender.render needs the map's Figure at the root
        if self.show and parent is not None:
            root_figure(self).script.add_child(
                _Raw(f"{self.get_name()}.addTo({parent.get_name()});"), name=self.get_name() + "_add"
            )


class Group(DirectLayer):
    """A Leaflet feature group in the LayerControl, for elements drawn into it (``name`` is escaped HTML)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.featureGroup();
        {% endmacro %}
        """
    )

    def __init__(self, name: str, *, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "ProximityGroup"


class PolygonLayer(DirectLayer):
    """One view of :class:`SharedPolygons`: coloured by the classes of variable ``k``.

    A base layer (``overlay=False``) appears as a radio button in the LayerControl.
    Every path gets the CSS classes ``prox-m prox-m-<feature id>`` (tests and styling).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(null, {
            style: function (f) {
                var c = f.properties.c[{{ this.k }}];
                return {fillColor: c < 0 ? {{ this.nodata|tojson }} : {{ this.colors_js }}[c],
                        fillOpacity: {{ this.fill_opacity }}, color: {{ this.line_color|tojson }},
                        weight: {{ this.weight }}, opacity: 0.9,
                        className: "prox-m prox-m-" + f.id};
            },
            onEachFeature: function (f, layer) {
                {{ this.shared }}_bind(f, layer, {{ this.k }});
                layer.on({
                    mouseover: function (e) { e.target.setStyle({weight: {{ this.weight }} + 2, color: "#111"}); e.target.bringToFront(); },
                    mouseout: function (e) { {{ this.get_name() }}.resetStyle(e.target); }
                });
            }
        });
        {{ this.get_name() }}.addData({{ this.shared }});
        {{ this.get_name() }}.proxKey = {{ this.k }};
        {% endmacro %}
        """
    )

    def __init__(
        self,
        shared: SharedPolygons,
        k: int,
        colors: list[str],
        *,
        name: str,
        overlay: bool = False,
        show: bool = True,
        nodata: str = "#cfcfcf",
        fill_opacity: float = 0.78,
        line_color: str = "#505050",
        weight: float = 0.6,
    ) -> None:
        super().__init__(name=name, overlay=overlay, control=True, show=show)
        self._name = "ProximityPolygonLayer"
        self.shared = shared.get_name()
        self.k = int(k)
        self.colors_js = js(colors)
        self.nodata = nodata
        self.fill_opacity = float(fill_opacity)
        self.line_color = line_color
        self.weight = float(weight)


class LegendSwitch(DirectRender):
    """A legend control showing the legend of the active base layer (``proxKey``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", "prox-panel prox-legend");
            div.innerHTML = {{ this.legends_js }}[{{ this.initial }}];
            L.DomEvent.disableClickPropagation(div);
            this._div = div;
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {{ this._parent.get_name() }}.on("baselayerchange", function (e) {
            if (e.layer && e.layer.proxKey !== undefined) {
                {{ this.get_name() }}._div.innerHTML = {{ this.legends_js }}[e.layer.proxKey];
            }
        });
        {% endmacro %}
        """
    )

    def __init__(self, legends: list[str], *, initial: int = 0, position: str = "bottomleft") -> None:
        super().__init__()
        self._name = "ProximityLegend"
        self.legends_js = js(legends)
        self.initial = int(initial)
        self.position = position


class Points(JSCSSMixin, DirectLayer):
    """Many points as awesome markers or circle markers, optionally clustered, from one JSON array.

    Parameters
    ----------
    rows : list of list
        ``[lat, lon, style, value_0, value_1, …]``: ``style`` is a key of ``styles``,
        values are escaped HTML strings ('' hides the row in the popup).
    fields : list of str
        Popup labels of the values (escaped HTML).
    styles : dict
        For ``kind="awesome"``: ``{"icon", "markerColor", "opacity"}`` (Font Awesome
        icon names); for ``kind="circle"``: Leaflet path options (``radius``,
        ``color``, ``fillColor``…).
    kind : {"awesome", "circle"}
    cluster : dict or None
        Leaflet.markercluster options; None: no clustering.
    caption : str
        Escaped HTML shown above every popup table (e.g. "Synthetic firm").
    tooltip_suffix : str
        Escaped HTML appended to the tooltip (value 0).
    """

    default_js = MarkerCluster.default_js
    default_css = MarkerCluster.default_css

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {%- if this.cluster is not none %}
        var {{ this.get_name() }} = L.markerClusterGroup(Object.assign({{ this.cluster_js }}, {
            iconCreateFunction: function (c) {
                var n = c.getChildCount();
                return L.divIcon({html: '<div style="background:{{ this.cluster_color }}"><span>' + n + "</span></div>",
                                  className: "marker-cluster prox-cluster", iconSize: L.point(40, 40)});
            }
        }));
        {%- else %}
        var {{ this.get_name() }} = L.featureGroup();
        {%- endif %}
        (function () {
            var fields = {{ this.fields_js }}, styles = {{ this.styles_js }}, rows = {{ this.rows_js }};
            var caption = {{ this.caption_js }}, suffix = {{ this.suffix_js }}, icons = {};
            {%- if this.kind == "awesome" %}
            for (var key in styles) {
                icons[key] = L.AwesomeMarkers.icon({icon: styles[key].icon, prefix: "fa", markerColor: styles[key].markerColor, iconColor: "white"});
            }
            {%- endif %}
            function popup(r) {
                var h = '<table class="proximity-table">' + (caption ? "<caption>" + caption + "</caption>" : "");
                for (var j = 0; j < fields.length; j++) {
                    if (r[3 + j] !== "") { h += "<tr><th>" + fields[j] + "</th><td>" + r[3 + j] + "</td></tr>"; }
                }
                return h + "</table>";
            }
            var layers = [];
            for (var i = 0; i < rows.length; i++) {
                var r = rows[i], s = styles[r[2]], m;
                {%- if this.kind == "awesome" %}
                m = L.marker([r[0], r[1]], {icon: icons[r[2]], opacity: s.opacity === undefined ? 1 : s.opacity, riseOnHover: true});
                {%- else %}
                m = L.circleMarker([r[0], r[1]], s);
                {%- endif %}
                m.bindPopup(popup.bind(null, r), {maxWidth: 360});
                m.bindTooltip(r[3] + suffix, {direction: "top", offset: [0, {{ -28 if this.kind == "awesome" else -4 }}]});
                layers.push(m);
            }
            {%- if this.cluster is not none %}
            {{ this.get_name() }}.addLayers(layers);
            {%- else %}
            for (var i = 0; i < layers.length; i++) { {{ this.get_name() }}.addLayer(layers[i]); }
            {%- endif %}
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        rows: list[list[Any]] | JS,
        *,
        fields: list[str] | JS,
        styles: dict[str, dict[str, Any]] | JS,
        name: str,
        kind: str = "awesome",
        cluster: dict[str, Any] | None = None,
        caption: str = "",
        tooltip_suffix: str = "",
        show: bool = True,
        cluster_color: str = "#555555",
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "ProximityPoints"
        # rows (fields, styles) may be a JS expression naming shared data, e.g. JS("PROX_SHARED.support")
        self.cluster_color = cluster_color
        self.kind = kind
        self.cluster = cluster
        self.cluster_js = js(cluster or {})
        self.fields_js = js(fields)
        self.styles_js = js(styles)
        self.rows_js = js(rows)
        self.caption_js = js(caption)
        self.suffix_js = js(tooltip_suffix)
        self.n = None if isinstance(rows, JS) else len(rows)


class HeadTag(Element):
    """Already rendered text in the page header: a ``<script src>``, a ``<link>`` or an inline script."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "ProximityHead"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class GeoJsonShapes(DirectRender):
    """Non-interactive GeoJSON drawn with one style, added to the parent (map or group)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.geoJson({{ this.data_js }}, {style: {{ this.style_js }}, interactive: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, data: dict | JS, style: dict[str, Any]) -> None:
        super().__init__()
        self._name = "ProximityShapes"
        self.data_js = js(data)
        self.style_js = js(style)


def encode_polygons(geoms: Sequence[Any], *, quantum_deg: float) -> list[list[list[list[int]]]]:
    """Polygons (EPSG:4326) as integer grid coordinates, delta-encoded per feature.

    Each feature is a list of polygons, each a list of rings, each a flat list
    ``[dx0, dy0, dx1, dy1, …]`` of steps on a grid of ``quantum_deg`` degrees (longitude
    first; the first step of a feature is from 0, later ones from the previous point,
    across rings). Repeated points are dropped; a ring left with fewer than three points
    keeps its first three (drawn as a sliver, still hoverable at high zoom). The pages
    decode them with :data:`DECODE_JS`.
    """
    scale = 1.0 / quantum_deg
    out = []
    for g in geoms:
        prev = np.zeros(2, dtype=np.int64)
        polys = []
        for poly in shapely.get_parts(g):
            rings = []
            for ring in (poly.exterior, *poly.interiors):
                xy = np.round(shapely.get_coordinates(ring)[:-1] * scale).astype(np.int64)
                if len(xy) > 1:
                    keep = np.r_[True, np.any(np.diff(xy, axis=0) != 0, axis=1)]
                    if keep.sum() >= 3:
                        xy = xy[keep]
                if len(xy) < 3:
                    continue
                steps = np.diff(np.vstack([prev, xy]), axis=0)
                prev = xy[-1]
                rings.append(steps.ravel().tolist())
            if rings:
                polys.append(rings)
        out.append(polys)
    return out


#: ``proxDecode(feature, quantum)``: the Leaflet lat/lng arrays of one feature of
#: :func:`encode_polygons` (a polygon's rings, or a list of polygons).
DECODE_JS = """<script>
function proxDecode(f, q) {
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
</script>"""


class PackedShapes(DirectRender):
    """One non-interactive (Multi)Polygon drawn with one style, its coordinates packed.

    The same drawing as :class:`GeoJsonShapes` in about 40 % of the text: the coordinates
    are integer steps on a grid of ``quantum_deg`` degrees (:func:`encode_polygons`),
    decoded in the page by :data:`DECODE_JS` (added once to the page's header).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.polygon(proxDecode({{ this.data_js }}, {{ this.quantum_js }}), {{ this.style_js }}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, geom: Any, style: dict[str, Any], *, quantum_deg: float) -> None:
        super().__init__()
        self._name = "ProximityPacked"
        self.data_js = js(encode_polygons([geom], quantum_deg=quantum_deg)[0])
        self.quantum_js = js(quantum_deg)
        self.style_js = js({**style, "interactive": False})

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # as DirectRender.render
        root_figure(self).header.add_child(HeadTag(DECODE_JS), name="proximity_decode")
        super().render(**kwargs)


class Routes(DirectRender):
    """Routes to destinations: coloured lines with a tooltip, and a labelled marker at each end.

    ``routes`` items: ``latlon`` (list of [lat, lon]), ``color``, ``tip`` (tooltip of the
    line), ``icon``/``marker`` (Font Awesome icon, awesome-marker colour), ``label`` (the
    permanent label), ``direction``/``offset`` (its placement), ``popup``. Texts are
    escaped HTML.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (routes, group) {
            routes.forEach(function (r) {
                L.polyline(r.latlon, {color: r.color, weight: 4.5, opacity: 0.85})
                    .bindTooltip(r.tip, {sticky: true}).addTo(group);
                L.marker(r.latlon[r.latlon.length - 1], {icon: L.AwesomeMarkers.icon({icon: r.icon, prefix: "fa", markerColor: r.marker, iconColor: "white"})})
                    .bindTooltip(r.label, {permanent: true, className: "prox-label", direction: r.direction, offset: r.offset})
                    .bindPopup(r.popup, {maxWidth: 360}).addTo(group);
            });
        })({{ this.routes_js }}, {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, routes: list[dict[str, Any]]) -> None:
        super().__init__()
        self._name = "ProximityRoutes"
        self.routes_js = js(routes)


class Pin(DirectRender):
    """One awesome marker with a tooltip (escaped HTML)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.marker({{ this.latlon_js }}, {icon: L.AwesomeMarkers.icon({icon: {{ this.icon_js }}, prefix: "fa", markerColor: {{ this.color_js }}, iconColor: "white"})})
            .bindTooltip({{ this.tip_js }}, {sticky: true}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, latlon: list[float], *, icon: str, color: str, tooltip: str) -> None:
        super().__init__()
        self._name = "ProximityPin"
        self.latlon_js = js([float(v) for v in latlon])
        self.icon_js = js(icon)
        self.color_js = js(color)
        self.tip_js = js(tooltip)


class Features(DirectRender):
    """GeoJSON features drawn with their own style, tooltip and popup, in one layer.

    Each feature's properties: ``s`` (Leaflet path options; points become circle markers
    with them, ``radius`` included), ``t`` (tooltip) and optionally ``p`` (popup), both
    escaped HTML. Added to the parent (a map or a feature group).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.geoJson({{ this.data_js }}, {
            style: function (f) { return f.properties.s; },
            pointToLayer: function (f, latlng) { return L.circleMarker(latlng, f.properties.s); },
            onEachFeature: function (f, layer) {
                layer.bindTooltip(f.properties.t, {sticky: true});
                if (f.properties.p) { layer.bindPopup(f.properties.p, {maxWidth: 300}); }
            }
        }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, features: list[dict[str, Any]]) -> None:
        super().__init__()
        self._name = "ProximityFeatures"
        self.data_js = js({"type": "FeatureCollection", "features": features})


class Fit(DirectRender):
    """``map.fitBounds(bounds, padding)`` (folium's FitBounds without a template compile per map)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.fitBounds({{ this.bounds_js }}, {{ this.options_js }});
        {% endmacro %}
        """
    )

    def __init__(
        self, bounds: list[list[float]], *, padding_top_left: tuple[int, int], padding_bottom_right: tuple[int, int]
    ) -> None:
        super().__init__()
        self._name = "ProximityFit"
        self.bounds_js = js(bounds)
        self.options_js = js(
            {"paddingTopLeft": list(padding_top_left), "paddingBottomRight": list(padding_bottom_right)}
        )
