"""Maps of the planner tools: incubator siting and export groups.

Built from the same pieces as the overview (basemap, stylesheet, panels, sources box,
attribution); text from data goes through :func:`proximity._html.escape`.
"""

from __future__ import annotations

from typing import Any

import branca.colormap as bcm
import folium
import geopandas as gpd

from .._html import escape, html_table
from ..errors import InputError
from . import _prepare as P
from ._elements import Attribution, Features, Group, Panel, Stylesheet, root_figure
from .overview import TILES_ATTR, tile_provider

__all__ = ["siting_map", "groups_map"]

_ROUND = P.COORD_DECIMALS


def _base(territory: Any, bounds: list[list[float]]) -> folium.Map:
    (s, w), (n, e) = bounds
    m = folium.Map(location=[(s + n) / 2, (w + e) / 2], zoom_start=9, tiles=None, control_scale=True, zoomSnap=0.25)
    folium.TileLayer(tiles=tile_provider(), attr=TILES_ATTR, subdomains="abcd", max_zoom=19, control=False).add_to(m)
    root_figure(m).header.add_child(Stylesheet(), name="proximity_css")
    _lines, pairs, short = P.source_texts(territory.manifest.name)
    firms = P.smes_source(territory)
    if firms is not None:
        pairs, short = [*pairs, firms], f"{short}, {territory.smes.attrs.get('source_label', 'SIRENE')}"
    Attribution(f"Data: {escape(short)} (see Sources)").add_to(m)
    Panel(
        P.sources_html(pairs, synthetic=territory.synthetic_smes), position="bottomright", css_class="prox-sources-box"
    ).add_to(m)
    m.fit_bounds(bounds)
    return m


def _bounds(gdf: gpd.GeoDataFrame) -> list[list[float]]:
    x0, y0, x1, y1 = gdf.to_crs("EPSG:4326").total_bounds
    return [[round(y0, _ROUND), round(x0, _ROUND)], [round(y1, _ROUND), round(x1, _ROUND)]]


def _title(title: str, lines: list[str]) -> str:
    body = "".join(f'<div class="prox-sub">{escape(t)}</div>' for t in lines)
    return f"<h1>{escape(title)}</h1>{body}"


def siting_map(territory: Any, plan: Any) -> folium.Map:
    """Incubator siting: candidates by score, chosen sites, covered SMEs and the what-if change.

    Parameters
    ----------
    territory : proximity.territory.Territory
    plan : proximity.planning.IncubatorPlan
    """
    cand = plan.candidates
    if cand.empty:
        raise InputError("the plan has no candidate sites to map")
    m = _base(territory, _bounds(territory.municipalities))
    if plan.what_if is not None:
        wi = plan.what_if.municipalities.copy()
        wi["geometry"] = P.simplified(wi.geometry, tolerance_m=150.0, crs=territory.manifest.crs)
        lim = float(max(abs(wi["index_change"]).max(), 1e-9))
        cmap = bcm.LinearColormap(
            ["#b2182b", "#f7f7f7", "#2166ac"],
            vmin=-lim,
            vmax=lim,
            caption="Change of the milieu index with the incubator",
        )
        props = wi[["name", "index_before", "index_after", "index_change", "rank_before", "rank_after"]].copy()
        props["name"] = props["name"].map(escape)
        props = props.round(3)
        gj = gpd.GeoDataFrame(props, geometry=wi.geometry, crs=wi.crs)
        folium.GeoJson(
            gj.to_json(),
            name="Change of the milieu index (what-if)",
            style_function=lambda f: {
                "fillColor": cmap(f["properties"]["index_change"]),
                "color": "#777",
                "weight": 0.4,
                "fillOpacity": 0.65,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "index_before", "index_after", "index_change", "rank_before", "rank_after"],
                aliases=["Municipality", "Index before", "Index after", "Change", "Rank before", "Rank after"],
            ),
        ).add_to(m)
        cmap.add_to(m)
    # candidates coloured by their multi-criteria score (one GeoJSON layer: small pages)
    lo, hi = float(cand["score"].min()), float(cand["score"].max())
    score_map = bcm.LinearColormap(["#fee8c8", "#fdbb84", "#e34a33"], vmin=lo, vmax=hi if hi > lo else lo + 1e-9)
    cols = [
        c
        for c in (
            "minutes_airport",
            "smes_within_t",
            "exporters_within_t",
            "support_within_t",
            "minutes_tgv",
            "minutes_motorway",
            "score",
            "rank",
        )
        if c in cand
    ]
    props = cand[cols].astype(float).round(2)
    props.insert(0, "name", [escape(n or i) for i, n in zip(cand.index, cand.get("name", cand.index), strict=True)])
    props["pareto"] = cand["pareto"].map(lambda v: "yes" if v else "no") if "pareto" in cand else "no"
    props["fill"] = [score_map(v) for v in cand["score"]]
    gj = gpd.GeoDataFrame(props, geometry=P.round_coords(cand.geometry.to_crs("EPSG:4326").to_numpy()), crs="EPSG:4326")
    aliases = [escape(c.replace("_", " ")) for c in ["name", *cols, "pareto"]]
    folium.GeoJson(
        gj.to_json(),
        name=f"Candidate sites ({len(cand)}), by score",
        marker=folium.CircleMarker(radius=5, weight=1, fill=True, fill_opacity=0.9),
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "color": "#222" if f["properties"]["pareto"] == "yes" else "#999",
            "weight": 2 if f["properties"]["pareto"] == "yes" else 0.5,
        },
        tooltip=folium.GeoJsonTooltip(fields=["name", "rank", "score"], aliases=["Candidate", "Rank", "Score"]),
        popup=folium.GeoJsonPopup(fields=["name", *cols, "pareto"], aliases=aliases),
    ).add_to(m)
    colours = {"maximal_covering": "darkblue", "p_median": "darkgreen"}
    for model, chosen in plan.chosen.groupby("model"):
        g = folium.FeatureGroup(name=f"Chosen sites: {model.replace('_', ' ')} (p={len(chosen)})", show=True)
        for idx, row in chosen.iterrows():
            info = {
                "Site": row.get("name") or idx,
                "Model": model.replace("_", " "),
                "SMEs served": row.get("demand_points"),
                "Weight served": row.get("demand_weight"),
                "Mean minutes": row.get("mean_minutes"),
                "Minutes to airport": row.get("minutes_airport"),
            }
            folium.Marker(
                [round(row.geometry.y, _ROUND), round(row.geometry.x, _ROUND)],
                icon=folium.Icon(color=colours.get(model, "red"), icon="star", prefix="fa"),
                tooltip=escape(f"Chosen ({model.replace('_', ' ')}): {row.get('name') or idx}"),
                popup=folium.Popup(html_table(info), max_width=320),
            ).add_to(g)
        g.add_to(m)
    cov = plan.covered_smes
    if len(cov):
        label = " (synthetic)" if territory.synthetic_smes else ""
        props = gpd.GeoDataFrame(
            {
                "name": [escape(f"{n}{label}") for n in cov.get("name", cov.index)],
                "site": [escape(s) for s in cov["site_id"]],
            },
            geometry=P.round_coords(cov.geometry.to_crs("EPSG:4326").to_numpy()),
            crs="EPSG:4326",
        )
        folium.GeoJson(
            props.to_json(),
            name=f"SMEs covered within {plan.parameters.get('within_minutes', 30):g} min ({len(cov)})",
            show=False,
            marker=folium.CircleMarker(radius=2.5, weight=0, fill=True, fill_color="#444", fill_opacity=0.7),
            tooltip=folium.GeoJsonTooltip(fields=["name", "site"], aliases=["Firm", "Covered by site"]),
        ).add_to(m)
    notes = [
        "Candidates ranked by minutes to the airport, SMEs and exporters within reach, support bodies, TGV and motorway access (editable weights)."
    ]
    if territory.synthetic_smes:
        notes.append(P.SYNTHETIC_NOTE)
    Panel(
        _title("Business incubator for international trade: where?", notes), position="topleft", css_class="prox-title"
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _feature(kind: str, coords: list, style: dict[str, Any], tip: str, popup: str = "") -> dict[str, Any]:
    props: dict[str, Any] = {"s": style, "t": tip}
    if popup:
        props["p"] = popup
    return {"type": "Feature", "geometry": {"type": kind, "coordinates": coords}, "properties": props}


def groups_map(territory: Any, plan: Any) -> folium.Map:
    """Export groups: members coloured by group and the executive's closed tour of each group.

    Tours and members are one GeoJSON layer (unplaced SMEs another), styled per feature,
    so a plan of hundreds of groups stays a small page.

    Parameters
    ----------
    territory : proximity.territory.Territory
    plan : proximity.planning.ExportGroupPlan
    """
    res, sel = plan.result, plan.selected
    if sel.empty:
        raise InputError("the plan has no selected SMEs to map")
    m = _base(territory, _bounds(sel))
    palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4"]
    label = " (synthetic)" if territory.synthetic_smes else ""
    xy = sel.geometry.to_crs("EPSG:4326")
    lonlat = {s: [round(p.x, _ROUND), round(p.y, _ROUND)] for s, p in xy.items()}
    # one GeoJSON layer: tours (lines) and members (circle markers), each with its style and texts
    features: list[dict[str, Any]] = []
    for k, (gid, row) in enumerate(res.groups.iterrows()):
        colour = palette[k % len(palette)]
        members = res.members_of(gid)
        stops = members if row["base_id"] in members else [row["base_id"], *members]
        ring = [lonlat[s] for s in stops]
        features.append(
            _feature(
                "LineString",
                ring + ring[:1],
                {"color": colour, "weight": 2, "opacity": 0.8},
                escape(f"Group {gid}: {row['n']} members, tour {row['tour_minutes']:.0f} min"),
            )
        )
        for s in stops:
            r = sel.loc[s]
            base = s == row["base_id"]
            info = {
                "Firm": f"{r.get('name', s)}{label}",
                "Group": gid,
                "NAF": r.get("naf"),
                "Commune": r.get("commune"),
                "Executive base": "yes" if base else "no",
                "Tour minutes": row["tour_minutes"],
            }
            style = {
                "radius": 5 if base else 3.5,
                "weight": 1,
                "fill": True,
                "fillColor": colour,
                "fillOpacity": 0.95,
                "stroke": base,
                "color": "#222",
            }
            features.append(
                _feature(
                    "Point", lonlat[s], style, escape(f"{r.get('name', s)}{label} — group {gid}"), html_table(info)
                )
            )
    fg = Group(name=f"Export groups ({len(res.groups)}) and tours", show=True)
    Features(features).add_to(fg)
    fg.add_to(m)
    if len(res.unplaced):
        g = Group(name=f"SMEs not placed ({len(res.unplaced)})", show=True)
        style = {"radius": 3, "color": "#999", "weight": 1, "fill": True, "fillColor": "#fff", "fillOpacity": 1}
        Features(
            [
                _feature("Point", lonlat[s], style, escape(f"{sel.loc[s].get('name', s)}{label}: {row['reason']}"))
                for s, row in res.unplaced.iterrows()
            ]
        ).add_to(g)
        g.add_to(m)
    notes = [
        (
            f"{len(res.groups)} groups of 3–5 SMEs sharing one export executive; {res.n_placed} placed, {len(res.unplaced)} not; "
            f"total tour {res.tour_minutes:.0f} min ({res.status}, gap {res.gap:.1%})."
        )
    ]
    if territory.synthetic_smes:
        notes.append(P.SYNTHETIC_NOTE)
    Panel(_title("Export groups", notes), position="topleft", css_class="prox-title").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
