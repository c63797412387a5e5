"""What the maps share: variables and their classes, simplified polygons, texts, and the
per-commune travel data (population centre, isochrones, routes), computed in batches.

Nothing here draws; :mod:`.overview` and :mod:`.municipality` turn it into folium maps.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import shapely

from .. import datasets
from .._html import escape, format_value
from ..errors import InputError, MissingColumnError, UnreachableWarning

#: Decimal places kept in the pages' coordinates (1e-5 degree is about 1 m).
COORD_DECIMALS = 5
#: Decimal places of the isochrones and routes (1e-4 degree is about 10 m, well under
#: their grid cell).
TRAVEL_DECIMALS = 4
#: Simplification of the isochrones drawn, as a share of their grid cell: at 0.8 the
#: cells' staircase outline becomes straight lines, within a cell of the grid's border.
ISO_SIMPLIFY_CELLS = 0.8

NODATA = "#cfcfcf"

# ColorBrewer sequential palettes by number of classes (light to dark).
YLGNBU = {
    3: ["#edf8b1", "#7fcdbb", "#2c7fb8"],
    4: ["#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"],
    5: ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"],
    6: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"],
    7: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"],
}
BUPU = {
    3: ["#e0ecf4", "#9ebcda", "#8856a7"],
    4: ["#edf8fb", "#b3cde3", "#8c96c6", "#88419d"],
    5: ["#edf8fb", "#b3cde3", "#8c96c6", "#8856a7", "#810f7c"],
    6: ["#edf8fb", "#bfd3e6", "#9ebcda", "#8c96c6", "#8856a7", "#810f7c"],
    7: ["#edf8fb", "#bfd3e6", "#9ebcda", "#8c96c6", "#8c6bb1", "#88419d", "#6e016b"],
}

#: Upper bounds (minutes) of the travel-time classes; a last class takes what is longer.
MINUTE_BINS = (15.0, 30.0, 45.0, 60.0, 90.0)


@dataclass(frozen=True)
class Variable:
    """A mapped column of ``ScoreResult.municipalities``."""

    key: str
    label: str
    kind: str  # "index", "component" or "minutes"
    description: str
    short: str = ""  # name in the layer control (default: label)

    @property
    def higher_is_better(self) -> bool:
        return self.kind != "minutes"

    def fmt(self, value: float) -> str:
        """The value as shown in tooltips and tables (plain text)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        if self.kind == "minutes":
            return "not reachable" if not math.isfinite(value) else f"{value:.0f} min"
        if self.kind in ("index", "reach"):
            return f"{value:.1f}"
        return f"{value:.2f}"


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "index",
        "Milieu index",
        "index",
        "Internationalising-milieu index, 0–100 (weighted mean of the four components)",
    ),
    Variable(
        "density",
        "Density",
        "component",
        "Support bodies, students, large firms and gateways within reach; times to gateways (0–1)",
    ),
    Variable(
        "diversity", "Diversity", "component", "Variety of support bodies and of gateway modes within reach (0–1)"
    ),
    Variable("dynamics", "Dynamics", "component", "Growth of rail ridership and of population (0–1)"),
    Variable(
        "directionality",
        "Directionality",
        "component",
        "Governance capacity (EPCI type) and time to the coordinating bodies (0–1)",
    ),
    Variable(
        "minutes_airport",
        "Minutes to the nearest airport",
        "minutes",
        "By car, population-weighted mean over the municipality",
        "Time to airport",
    ),
    Variable(
        "minutes_seaport",
        "Minutes to the nearest seaport",
        "minutes",
        "By car, population-weighted mean over the municipality",
        "Time to seaport",
    ),
    Variable(
        "minutes_tgv_station",
        "Minutes to the nearest TGV station",
        "minutes",
        "By car, population-weighted mean over the municipality",
        "Time to TGV station",
    ),
    Variable(
        "minutes_motorway_access",
        "Minutes to the nearest motorway access",
        "minutes",
        "By car, population-weighted mean over the municipality",
        "Time to motorway",
    ),
    Variable(
        "minutes_chamber_of_commerce",
        "Minutes to the chamber of commerce",
        "minutes",
        "By car, population-weighted mean over the municipality",
        "Time to chamber of commerce",
    ),
    Variable(
        "reach_destinations_gravity",
        "World reach (direct air destinations, decay-weighted)",
        "reach",
        "Distinct airports served by direct flights from the airports in reach, each weighted by the decay of the drive "
        "to the nearest airport serving it (OpenFlights airline routes of 2014), population-weighted mean",
        "World reach",
    ),
)

REQUIRED_COLUMNS = (
    "insee",
    "name",
    "population",
    "epci_name",
    "rank",
    "rank_low",
    "rank_high",
    *(v.key for v in VARIABLES),
)

#: Gateway groups drawn as routes and markers: label, Font Awesome icon, awesome-marker colour, hex colour.
GATEWAY_STYLES: dict[str, tuple[str, str, str, str]] = {
    "airport": ("Airport", "plane", "darkblue", "#0067a3"),
    "seaport": ("Seaport", "ship", "cadetblue", "#436978"),
    "tgv_station": ("TGV station", "train", "red", "#d63e2a"),
    "rail_station": ("Regional rail station", "train", "gray", "#575757"),
    "motorway_access": ("Motorway access", "road", "orange", "#f69730"),
}
SUPPORT_STYLES: dict[str, tuple[str, str, str, str]] = {
    "chamber_of_commerce": ("Chamber of commerce", "building", "darkred", "#a23336"),
    "foreign_trade_service": ("Foreign-trade service", "globe", "darkred", "#a23336"),
    "chamber_of_trades": ("Chamber of trades", "wrench", "darkpurple", "#5b396b"),
    "chamber_of_agriculture": ("Chamber of agriculture", "leaf", "darkgreen", "#728224"),
    "university": ("University", "graduation-cap", "green", "#72b026"),
    "business_school": ("Business school", "briefcase", "green", "#72b026"),
    "engineering_school": ("Engineering school", "gears", "green", "#72b026"),
    "research_institute": ("Research institute", "flask", "green", "#72b026"),
    "higher_education_other": ("Other higher education", "book", "green", "#72b026"),
}
OTHER_SUPPORT_STYLE = ("Support body", "circle-info", "purple", "#d252b9")

#: Destinations of the routes on a commune page: (group, label, source layer).
ROUTE_TARGETS: tuple[tuple[str, str], ...] = (
    ("airport", "airport"),
    ("seaport", "seaport"),
    ("tgv_station", "TGV station"),
    ("motorway_access", "motorway access"),
    ("chamber_of_commerce", "chamber of commerce"),
)
ROUTE_COLORS = {g: (GATEWAY_STYLES.get(g) or SUPPORT_STYLES[g])[3] for g, _ in ROUTE_TARGETS}

#: Short names of the sources for the attribution control (full lines in the Sources box).
SHORT_SOURCES = (
    ("osm_", "© OpenStreetMap contributors (ODbL)"),
    ("travelmapping", "Travel Mapping"),
    ("communes_polygons", "IGN"),
    ("departement_outline", "IGN"),
    ("communes_cog", "INSEE"),
    ("epci", "DGCL"),
    ("sncf_", "SNCF"),
    ("toll_stations", "DGITM"),
    ("esr_", "MESR"),
    ("montpellier_", "Ville de Montpellier"),
    ("world_port_index", "NGA WPI"),
    ("airports", "airportsdata"),
    ("openflights_", "OpenFlights (routes of 2014)"),
)

SYNTHETIC_NOTE = (
    "Firms (SMEs) on these maps are SYNTHETIC: drawn by a seeded generator from commune "
    "populations and the road network. They are not real firms; SME counts are illustrative."
)
APPROXIMATE_NOTE = (
    "Some inputs are approximate or old: support bodies come partly from 2014 city of "
    "Montpellier data, port positions are rounded to 1–2 km, toll-free motorway exits are "
    "missing, travel times are modelled by car without congestion."
)


def fmt_int(value: Any) -> str:
    return format_value(int(value)) if value is not None and not pd.isna(value) else "n/a"


def round_coords(geoms: np.ndarray, decimals: int = COORD_DECIMALS) -> np.ndarray:
    """Coordinates rounded to ``decimals`` (shapely arrays)."""
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def simplified(geoms: gpd.GeoSeries, *, tolerance_m: float, crs: str) -> gpd.GeoSeries:
    """Polygons simplified as a coverage (shared borders stay shared), in EPSG:4326, rounded."""
    projected = geoms.to_crs(crs)
    values = shapely.coverage_simplify(projected.values, tolerance_m) if tolerance_m > 0 else projected.values
    out = gpd.GeoSeries(values, index=geoms.index, crs=crs).to_crs("EPSG:4326")
    return gpd.GeoSeries(round_coords(out.values), index=geoms.index, crs="EPSG:4326")


@dataclass
class Classes:
    """Classes of one variable: code per municipality (-1: no data) and legend rows."""

    codes: pd.Series
    colors: list[str]
    labels: list[str]
    counts: list[int]
    method: str


def _palette(palettes: dict[int, list[str]], n: int) -> list[str]:
    """``n`` colours, light to dark (the darkest ones when fewer than 3)."""
    return list(palettes[min(max(n, 3), 7)][-n:]) if n < 3 else list(palettes[min(n, 7)])


def classify(values: pd.Series, var: Variable, *, k: int) -> Classes:
    """Fisher-Jenks natural breaks for scores; fixed minute bands for travel times.

    Class 0 is the lowest value (for minutes: the shortest trip, drawn darkest).
    """
    finite = values[np.isfinite(values.astype(float))].astype(float)
    codes = pd.Series(-1, index=values.index, dtype=int)
    labels: list[str] = []
    if not len(finite):
        return Classes(codes=codes, colors=[], labels=[], counts=[], method="no data")
    top = float(finite.max())
    if var.kind == "minutes":
        bins = [b for b in MINUTE_BINS if b < top] + [top]
        yb = mapclassify.UserDefined(finite.to_numpy(), bins=bins).yb if len(bins) > 1 else np.zeros(len(finite), int)
        colors = list(reversed(_palette(BUPU, len(bins))))
        prev = 0.0
        for i, b in enumerate(bins):
            if i == 0:
                labels.append(f"≤ {b:.0f} min")
            elif i == len(bins) - 1:
                labels.append(f"> {prev:.0f} min")
            else:
                labels.append(f"{prev:.0f}–{b:.0f} min")
            prev = b
        method = "by car, population-weighted mean"
    else:
        kk = max(1, min(k, int(finite.nunique())))
        with warnings.catch_warnings():
            # mapclassify warns that numba is missing (pure Python is fast enough for communes)
            warnings.filterwarnings("ignore", message="Numba not installed", category=UserWarning)
            yb = mapclassify.FisherJenks(finite.to_numpy(), k=kk).yb if kk > 1 else np.zeros(len(finite), int)
        n = int(np.max(yb)) + 1
        colors = _palette(YLGNBU, n)
        method = f"natural breaks (Fisher-Jenks), {n} classes"
    codes.loc[finite.index] = np.asarray(yb, dtype=int)
    n = len(colors)
    counts = [int((codes == i).sum()) for i in range(n)]
    if var.kind != "minutes":
        for i in range(n):
            members = finite[codes.loc[finite.index] == i]
            labels.append(f"{var.fmt(members.min())} – {var.fmt(members.max())}" if len(members) else "–")
    return Classes(codes=codes, colors=colors, labels=labels, counts=counts, method=method)


def legend_html(var: Variable, classes: Classes, *, nodata_count: int) -> str:
    """Legend rows, best class first, with counts of municipalities."""
    order = range(len(classes.colors)) if var.kind == "minutes" else reversed(range(len(classes.colors)))
    rows = [
        f'<div class="prox-leg-row"><span class="prox-sw" style="background:{classes.colors[i]}"></span>'
        f'{escape(classes.labels[i])}<span class="prox-leg-n">({classes.counts[i]})</span></div>'
        for i in order
    ]
    if nodata_count:
        rows.append(
            f'<div class="prox-leg-row"><span class="prox-sw" style="background:{NODATA}"></span>'
            f'not reachable<span class="prox-leg-n">({nodata_count})</span></div>'
        )
    better = "darker = shorter trip" if var.kind == "minutes" else "darker = higher score"
    return (
        f'<div class="prox-leg-title">{escape(var.label)}</div>'
        f'<div class="prox-leg-sub">{escape(classes.method)}; {better}; (n) municipalities</div>' + "".join(rows)
    )


def source_texts(territory_name: str) -> tuple[list[str], list[tuple[str, str]], str]:
    """Attribution lines (:func:`proximity.datasets.attributions`), (line, caveat) pairs, short form."""
    lines = datasets.attributions(territory_name)
    manifest = datasets.load_manifest(territory_name)
    with_caveats: dict[str, list[str]] = {}
    short: list[str] = []
    for s in manifest.sources():
        line = f"{s['attribution']} ({s['licence']})"
        caveats = with_caveats.setdefault(line, [])
        if s.get("caveat") and s["caveat"] not in caveats:
            caveats.append(s["caveat"])
        name = next((label for prefix, label in SHORT_SOURCES if s["key"].startswith(prefix)), s["attribution"])
        if name not in short:
            short.append(name)
    pairs = [(line, "; ".join(with_caveats.get(line, []))) for line in lines]
    return lines, pairs, ", ".join(short)


def smes_source(territory: Any) -> tuple[str, str] | None:
    """The (line, caveat) pair of a real firm register ("SIRENE (date)"), None for synthetic SMEs."""
    if bool(getattr(territory, "synthetic_smes", True)):
        return None
    smes = territory.smes
    label = smes.attrs.get("source_label", "SIRENE extract")
    known = int(smes["exporter"].notna().sum()) if "exporter" in smes else 0
    caveat = "exporter status unknown (not in SIRENE)" if known == 0 else f"exporter status given for {known} firms"
    return f"Firms (SMEs): {label}, INSEE SIRENE register (Licence Ouverte)", caveat


def sources_html(pairs: list[tuple[str, str]], *, synthetic: bool) -> str:
    """The collapsible Sources & caveats box (escaped)."""
    items = "".join(
        f"<li>{escape(line)}" + (f' <span class="prox-caveat">— {escape(caveat)}</span>' if caveat else "") + "</li>"
        for line, caveat in pairs
    )
    notes = (
        f'<div class="prox-note">{escape(SYNTHETIC_NOTE)}</div>' if synthetic else ""
    ) + f'<div class="prox-note">{escape(APPROXIMATE_NOTE)}</div>'
    return (
        f'<details class="prox-sources"><summary>Sources &amp; caveats</summary>{notes}'
        f"<ul>{items}</ul>"
        "<div>Travel times: car, on the modelled road network (OpenStreetMap in Montpellier, "
        "Travel Mapping elsewhere); off-network legs at walking-to-car speed. Tiles © OpenStreetMap "
        "contributors © CARTO.</div></details>"
    )


@dataclass
class Context:
    """Everything the pages share, computed once (see :func:`prepare`)."""

    territory: Any
    scores: Any
    label: str
    munis: gpd.GeoDataFrame  # scores.municipalities, EPSG:4326, original geometry
    classes: dict[str, Classes]
    legends: list[str]
    medians: pd.Series
    attribution_lines: list[str]
    source_pairs: list[tuple[str, str]]
    short_attribution: str
    synthetic: bool
    catchment_minutes: float
    gateways: gpd.GeoDataFrame
    support: gpd.GeoDataFrame
    smes: gpd.GeoDataFrame
    _simplified: dict[float, gpd.GeoSeries] = field(default_factory=dict)
    centres: gpd.GeoDataFrame | None = None
    isochrones: dict[str, list[tuple[float, Any]]] = field(default_factory=dict)
    routes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    def polygons(self, tolerance_m: float) -> gpd.GeoSeries:
        if tolerance_m not in self._simplified:
            self._simplified[tolerance_m] = simplified(
                self.munis.geometry, tolerance_m=tolerance_m, crs=self.territory.csr.crs
            )
        return self._simplified[tolerance_m]

    @property
    def n(self) -> int:
        return len(self.munis)

    @property
    def projected(self) -> gpd.GeoSeries:
        """Municipality polygons in the network's projected CRS (metres)."""
        if "projected" not in self.cache:
            self.cache["projected"] = self.munis.geometry.to_crs(self.territory.csr.crs)
        return self.cache["projected"]

    def outline(self, tolerance_m: float) -> Any:
        """The territory's outer boundary (simplified, EPSG:4326)."""
        key = f"outline_{tolerance_m}"
        if key not in self.cache:
            merged = shapely.union_all(self.projected.values)
            line = (
                gpd.GeoSeries([merged.boundary], crs=self.territory.csr.crs).simplify(tolerance_m).to_crs("EPSG:4326")
            )
            self.cache[key] = round_coords(line.values)[0]
        return self.cache[key]

    def neighbours(self, insee: str, distance_m: float) -> list[str]:
        """The municipality and those within ``distance_m`` of it (projected distance)."""
        proj = self.projected
        if "sindex" not in self.cache:
            self.cache["sindex"] = proj.sindex
        hits = self.cache["sindex"].query(proj.loc[insee], predicate="dwithin", distance=distance_m)
        near = set(proj.index[hits]) | {insee}
        return [i for i in proj.index if i in near]


def cached(ctx: Context, key: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per context (rows and groups every page reuses)."""
    if key not in ctx.cache:
        ctx.cache[key] = compute()
    return ctx.cache[key]


def check_inputs(territory: Any, scores: Any) -> gpd.GeoDataFrame:
    """The scored municipalities, after checking they match the territory."""
    for attr in ("municipalities", "gateways", "support_bodies", "smes", "csr", "manifest"):
        if not hasattr(territory, attr):
            raise InputError(
                f"territory has no {attr!r}; pass the Territory from proximity.territory.load_territory(), got {type(territory).__name__}"
            )
    munis = getattr(scores, "municipalities", None)
    if not isinstance(munis, gpd.GeoDataFrame):
        raise InputError(
            f"scores must be the ScoreResult of proximity.scores.score_territory(territory), got {type(scores).__name__}"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in munis.columns]
    if missing:
        raise MissingColumnError(
            f"scores.municipalities lacks columns {missing}; pass the result of proximity.scores.score_territory(territory)"
        )
    if not munis.index.is_unique or set(munis.index) != set(territory.municipalities.index):
        raise InputError(
            "scores.municipalities and territory.municipalities list different municipalities; "
            "score this territory with proximity.scores.score_territory(territory)"
        )
    return munis


def check_classes(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 3 <= k <= 7:
        raise InputError(f"classes must be an int from 3 to 7, got {k!r}")
    return k


def prepare(territory: Any, scores: Any, *, k: int = 6) -> Context:
    """The shared context of a territory's maps (classes, medians, texts, layers in EPSG:4326)."""
    check_classes(k)
    munis = check_inputs(territory, scores)
    munis = munis.to_crs("EPSG:4326")
    classes: dict[str, Classes] = {}
    legends = []
    for var in VARIABLES:
        kk = k if var.kind == "index" else min(k, 5)
        c = classify(munis[var.key].astype(float), var, k=kk)
        classes[var.key] = c
        legends.append(legend_html(var, c, nodata_count=int((c.codes < 0).sum())))
    indicator_cols = [c for c in INDICATORS_KEYS if c in munis.columns] + [v.key for v in VARIABLES]
    medians = munis[list(dict.fromkeys(indicator_cols))].astype(float).replace([np.inf, -np.inf], np.nan).median()
    lines, pairs, short = source_texts(territory.manifest.name)
    firms = smes_source(territory)
    if firms is not None:
        lines, pairs, short = (
            [*lines, firms[0]],
            [*pairs, firms],
            f"{short}, {territory.smes.attrs.get('source_label', 'SIRENE')}",
        )
    params = getattr(getattr(scores, "profile", None), "parameters", {}) or {}
    return Context(
        territory=territory,
        scores=scores,
        label=str(territory.manifest.label),
        munis=munis,
        classes=classes,
        legends=legends,
        medians=medians,
        attribution_lines=lines,
        source_pairs=pairs,
        short_attribution=short,
        synthetic=bool(getattr(territory, "synthetic_smes", False)),
        catchment_minutes=float(params.get("catchment_minutes", 45.0)),
        gateways=territory.gateways.to_crs("EPSG:4326"),
        support=territory.support_bodies.to_crs("EPSG:4326"),
        smes=territory.smes.to_crs("EPSG:4326"),
    )


#: Indicators of the commune scorecard: key, label (T = catchment), lower is better.
INDICATORS: tuple[tuple[str, str, bool], ...] = (
    ("minutes_airport", "Nearest airport (min)", True),
    ("minutes_seaport", "Nearest seaport (min)", True),
    ("minutes_tgv_station", "Nearest TGV station (min)", True),
    ("minutes_motorway_access", "Nearest motorway access (min)", True),
    ("minutes_chamber_of_commerce", "Chamber of commerce (min)", True),
    ("support_within_t", "Support bodies within {T} min", False),
    ("students_within_t", "Student places within {T} min", False),
    ("gateways_within_t", "Gateways within {T} min", False),
    ("smes_within_t", "SMEs within {T} min (synthetic)", False),
)
INDICATORS_KEYS = tuple(k for k, _, _ in INDICATORS)


# --------------------------------------------------------------------------- popups and tooltips
#: Short names of the nearest-destination times in cards and labels.
SHORT_TIMES = {
    "minutes_airport": "Airport",
    "minutes_seaport": "Seaport",
    "minutes_tgv_station": "TGV station",
    "minutes_motorway_access": "Motorway",
    "minutes_chamber_of_commerce": "Chamber of commerce",
}


def municipality_card(ctx: Context, insee: str, *, link: str | None) -> str:
    """Popup HTML of one municipality (escaped), with a link to its page when given.

    Compact: name and EPCI, the index with its rank and rank interval, the four
    components and the five nearest-destination times side by side.
    """
    row = ctx.munis.loc[insee]
    comps = "".join(
        f"<tr><th>{escape(v.label)}</th><td>{escape(v.fmt(float(row[v.key])))}</td></tr>" for v in VARIABLES[1:5]
    )
    times = "".join(
        f"<tr><th>{escape(SHORT_TIMES[v.key])}</th><td>{escape(v.fmt(float(row[v.key])))}</td></tr>"
        for v in VARIABLES[5:]
        if v.kind == "minutes"
    )
    smes = ""
    if "n_smes" in row.index:
        smes = (
            f'<div class="prox-sub">{escape(fmt_int(row["n_smes"]))} SMEs in the municipality'
            + (" (synthetic)" if ctx.synthetic else "")
            + "</div>"
        )
    html = (
        f'<div class="prox-pcard"><div class="prox-tip-name">{escape(row["name"])} '
        f'<span class="prox-sub">{escape(row["insee"])}</span></div>'
        f'<div class="prox-sub">{escape(row["epci_name"])} · {escape(fmt_int(row["population"]))} inhabitants</div>'
        f'<div class="prox-pkpi">Milieu index <b>{escape(VARIABLES[0].fmt(row["index"]))}</b>/100 · '
        f"rank <b>{int(row['rank'])}</b> of {ctx.n} "
        f'<span class="prox-sub">({int(row["rank_low"])}–{int(row["rank_high"])} if the weights vary)</span></div>'
        f'<div class="prox-pcols"><table class="proximity-table"><caption>Components (0–1)</caption>{comps}</table>'
        f'<table class="proximity-table"><caption>By car to the nearest</caption>{times}</table></div>'
        f"{world_reach_html(ctx, row)}{smes}</div>"
    )
    if link is not None:
        html += f'<a class="prox-popup-link" href="{escape(link)}">Open the page of {escape(row["name"])} →</a>'
    return html


def world_reach_html(ctx: Context, row: pd.Series) -> str:
    """The card's world-reach line and its nearest airports (escaped; ``""`` without the columns)."""
    if "reach_destinations" not in row.index or "reach_countries" not in row.index:
        return ""
    params = getattr(getattr(ctx.scores, "profile", None), "parameters", {}) or {}
    horizon = float(params.get("reach_minutes", 90.0))
    n, m = round(float(row["reach_destinations"])), round(float(row["reach_countries"]))
    text = (
        f"From here within {horizon:.0f} min: {n} direct destination{'s' if n != 1 else ''} "
        f"in {m} countr{'ies' if m != 1 else 'y'} (airline routes of 2014)"
    )
    near = (
        str(row["nearest_airports"]) if "nearest_airports" in row.index and not pd.isna(row["nearest_airports"]) else ""
    )
    items = "".join(f"<li>{escape(part)}</li>" for part in near.split("; ") if part)
    return (
        f'<div class="prox-reach"><b>{escape(text)}</b>'
        + (f'<ul class="prox-sub">{items}</ul>' if items else "")
        + "</div>"
    )


def polygon_collection(ctx: Context, insees: Sequence[str], geoms: gpd.GeoSeries) -> dict:
    """GeoJSON features for :class:`~._elements.SharedPolygons` (escaped properties; links are added by the page)."""
    features = []
    cache = ctx.cache.setdefault("features", {})
    for insee in insees:
        key = (insee, id(geoms))
        if key not in cache:
            cache[key] = _feature(ctx, insee, geoms.loc[insee])
        features.append(cache[key])
    return {"type": "FeatureCollection", "features": features}


def _feature(ctx: Context, insee: str, geom: Any) -> dict:
    row = ctx.munis.loc[insee]
    props = {
        "c": [int(ctx.classes[v.key].codes.loc[insee]) for v in VARIABLES],
        "v": [escape(v.fmt(float(row[v.key]))) for v in VARIABLES],
        "h": f'<div class="prox-tip-name">{escape(row["name"])}</div>',
        "f": (
            f'<div class="prox-tip-sub">Milieu index <b>{escape(VARIABLES[0].fmt(row["index"]))}</b> · '
            f"rank {int(row['rank'])} of {ctx.n}</div>"
        ),
        "card": municipality_card(ctx, insee, link=None),
        "n": escape(row["name"]),
    }
    return {"type": "Feature", "id": str(insee), "properties": props, "geometry": shapely.geometry.mapping(geom)}


#: Simplification (metres) of the municipality polygons on the commune pages.
PAGE_POLYGONS_M = 30.0
#: Simplification (metres) of the territory's outline on the commune pages.
PAGE_OUTLINE_M = 100.0


def shared_data(ctx: Context, insees: Sequence[str] | None = None) -> dict:
    """What every commune page shows alike, for ``PROX_SHARED`` (``assets/communes.js``).

    The polygons, scores and cards of the municipalities (all, or ``insees`` for a page
    that travels alone), the territory's outline, the support bodies and gateways as
    marker rows, and the Sources box. Every text is escaped HTML.
    """
    codes = list(ctx.munis.index) if insees is None else list(insees)
    support, s_fields, s_styles = cached(ctx, "support_rows", lambda: support_rows(ctx.support))
    by_group, g_fields = cached(ctx, "gateway_rows", lambda: gateway_rows(ctx.gateways))
    return {
        "communes": polygon_collection(ctx, codes, ctx.polygons(PAGE_POLYGONS_M)),
        "labels": [escape(v.label) for v in VARIABLES],
        "outline": shapely.geometry.mapping(ctx.outline(PAGE_OUTLINE_M)),
        "support": {"rows": support, "fields": s_fields, "styles": s_styles},
        "gateways": {
            "rows": [r for rs in by_group.values() for r in rs],
            "fields": g_fields,
            "styles": gateway_styles(),
        },
        "sources": sources_html(ctx.source_pairs, synthetic=ctx.synthetic),
    }


def flag(v: Any, default: bool) -> bool:
    """A yes/no value that may be missing (``pd.NA``, NaN, None): ``default`` then."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return default
    return bool(v)


def _text(v: Any) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def gateway_rows(gateways: gpd.GeoDataFrame) -> tuple[dict[str, list[list[Any]]], list[str]]:
    """Marker rows of the gateways per group, and the popup field labels."""
    groups = gateways["group"]
    fields = [
        "Name",
        "Kind",
        "Code",
        "In the territory",
        "Used in the scores",
        "Direct flights (routes of 2014)",
        "Note",
    ]
    out: dict[str, list[list[Any]]] = {}
    for gid, row in gateways.iterrows():
        group = groups.loc[gid]
        style = GATEWAY_STYLES.get(group, GATEWAY_STYLES["rail_station"])
        code = " / ".join(_text(row.get(c)) for c in ("iata", "icao", "unlocode", "exit_ref") if _text(row.get(c)))
        on = flag(row.get("on_network"), True)
        note = _text(row.get("caveat"))
        if not on:
            note = ("off the modelled road network: shown, not used in the scores. " + note).strip()
        pt = row.geometry
        out.setdefault(group if group in GATEWAY_STYLES else "rail_station", []).append(
            [
                round(pt.y, COORD_DECIMALS),
                round(pt.x, COORD_DECIMALS),
                group + ("" if on else "_off"),
                escape(_text(row.get("name")) or gid),
                escape(style[0]),
                escape(code),
                "yes" if flag(row.get("in_territory"), True) else "no",
                "yes" if on else "no",
                destinations_html(row) if group == "airport" else "",
                escape(note),
            ]
        )
    return out, fields


def destinations_html(row: pd.Series) -> str:
    """An airport's direct destinations by country for its popup (escaped; lines joined by ``<br>``)."""
    n = int(row.get("destinations", 0) or 0) if not pd.isna(row.get("destinations", 0)) else 0
    if n == 0:
        return "none in the OpenFlights data" if "destinations" in row.index else ""
    m = int(row.get("countries", 0) or 0)
    head = f"{n} destination{'s' if n != 1 else ''} in {m} countr{'ies' if m != 1 else 'y'}"
    lines = [escape(part) for part in _text(row.get("destinations_by_country")).split("; ") if part]
    return "<br>".join([f"<b>{escape(head)}</b>", *lines])


def gateway_styles() -> dict[str, dict[str, Any]]:
    styles: dict[str, dict[str, Any]] = {}
    for group, (_, icon, color, _) in GATEWAY_STYLES.items():
        styles[group] = {"icon": icon, "markerColor": color}
        styles[group + "_off"] = {"icon": icon, "markerColor": "lightgray", "opacity": 0.85}
    return styles


def support_rows(support: gpd.GeoDataFrame) -> tuple[list[list[Any]], list[str], dict[str, dict[str, Any]]]:
    """Marker rows of the support bodies, popup field labels and styles per category."""
    fields = ["Name", "Category", "Students", "Source", "Vintage", "Used in the scores", "Note"]
    rows = []
    styles: dict[str, dict[str, Any]] = {}
    for sid, row in support.iterrows():
        cat = _text(row.get("category"))
        label, icon, color, _ = SUPPORT_STYLES.get(
            cat, (cat.replace("_", " ").capitalize() or OTHER_SUPPORT_STYLE[0], *OTHER_SUPPORT_STYLE[1:])
        )
        key = cat if cat in SUPPORT_STYLES else "other"
        styles[key] = {"icon": icon, "markerColor": color}
        students = row.get("students")
        on = flag(row.get("on_network"), True)
        pt = row.geometry
        rows.append(
            [
                round(pt.y, COORD_DECIMALS),
                round(pt.x, COORD_DECIMALS),
                key,
                escape(_text(row.get("name")) or sid),
                escape(label),
                escape(fmt_int(students)) if students is not None and not pd.isna(students) else "",
                escape(_text(row.get("source"))),
                escape(_text(row.get("vintage"))),
                "yes" if on else "no (off the network)",
                escape(_text(row.get("caveat"))),
            ]
        )
    return rows, fields, styles


# --------------------------------------------------------------------------- travel data per commune
def compute_travel(
    ctx: Context,
    insees: Sequence[str],
    *,
    minutes: Sequence[float],
    cell_m: float,
    tolerance_m: float,
    progress: Callable[[str], None],
) -> None:
    """The travel stage (:func:`proximity.commune_travel.commune_travel`) for ``insees``, kept per commune.

    Fills ``ctx.centres`` (projected CRS), ``ctx.isochrones`` (minutes, polygon in
    EPSG:4326 with rounded coordinates) and ``ctx.routes`` (dicts with ``latlon``).
    """
    from ..commune_travel import commune_travel

    origins = getattr(ctx.scores, "origins", None)
    if origins is not None and not ({"insee", "weight"} <= set(origins.columns) and len(origins)):
        origins = None
    progress(f"maps: isochrones and routes for {len(insees)} municipalities")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachableWarning)  # a commune off the network simply has none
        tr = commune_travel(
            ctx.territory,
            communes=insees,
            origins=origins,
            minutes=minutes,
            groups=[g for g, _ in ROUTE_TARGETS],
            cell_m=cell_m,
            tolerance_m=tolerance_m,
        )
    centres = tr.centres.to_crs(ctx.territory.csr.crs)
    ctx.centres = (
        centres if ctx.centres is None else pd.concat([ctx.centres[~ctx.centres.index.isin(centres.index)], centres])
    )
    geoms = round_coords(tr.isochrones.geometry.values, TRAVEL_DECIMALS)
    for insee in insees:
        ctx.isochrones[insee] = []
        ctx.routes[insee] = []
    for insee, mins, g in zip(tr.isochrones["insee"], tr.isochrones["minutes"], geoms, strict=True):
        ctx.isochrones[insee].append((float(mins), g))
    for rec, line in zip(tr.routes.itertuples(index=False), tr.routes.geometry.values, strict=True):
        coords = np.round(shapely.get_coordinates(line), TRAVEL_DECIMALS)
        ctx.routes[rec.insee].append(
            {
                "group": str(rec.group),
                "destination_id": str(rec.destination_id),
                "name": str(rec.name),
                "minutes": float(rec.minutes),
                "km": float(rec.km),
                "latlon": [[float(lat), float(lon)] for lon, lat in coords],
            }
        )
