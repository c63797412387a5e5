"""Folium maps of a scored territory, and the HTML map set for territorial-marketing teams.

* :func:`overview_map` — the territory: milieu index, components and gateway times as
  switchable choropleths, gateways and support bodies as markers (a ``folium.Map``).
* :func:`municipality_map` — one municipality: isochrones, routes to its nearest
  gateways, its SMEs, a scorecard against the territory's median (a ``folium.Map``).
* :func:`index_page` — a sortable, searchable HTML table of every municipality.
* :func:`save_map` — writes one map as a standalone HTML file (atomically).
* :func:`siting_map`, :func:`groups_map` — the planner tools' results (incubator sites,
  export groups and their tours).
* :func:`national_overview`, :func:`departement_map`, :func:`commune_map`,
  :func:`build_national_maps`, :func:`write_commune_pages` — the maps of a national run's
  table (:mod:`.national`): all of France's communes on one canvas, a page per
  département, commune pages with their peers, built on demand.
* :func:`build_maps` — writes ``overview.html``, ``communes/<insee>.html``,
  ``index.html`` and the commune pages' shared ``assets/`` (what ``proximity run --maps``
  and ``proximity maps`` call); ``standalone=True`` for pages that travel alone.

The maps only draw: the commune pages' isochrones, nearest gateways and routes come from
the travel stage :func:`proximity.commune_travel.commune_travel`.

Text from the data (names of municipalities, firms, support bodies…) is escaped
(:mod:`proximity._html`): folium itself does not escape popups and tooltips. SMEs are
labelled synthetic when they are, and every page carries the sources' attributions.

Examples
--------
Scoring the territory takes about a minute and the map set about as long, so these
examples are not run as doctests:

>>> from proximity.territory import load_territory
>>> from proximity.scores import score_territory
>>> from proximity import maps
>>> t = load_territory("herault")  # doctest: +SKIP
>>> s = score_territory(t)  # doctest: +SKIP
>>> maps.overview_map(t, s)  # doctest: +SKIP
>>> maps.municipality_map(t, s, "34172")  # doctest: +SKIP
>>> maps.build_maps(t, s, out="maps", progress=print)  # doctest: +SKIP
"""

from __future__ import annotations

from .build import build_maps, save_map
from .index_page import index_page
from .municipality import municipality_map
from .national import build_national_maps, commune_map, departement_map, national_overview, write_commune_pages
from .overview import overview_map
from .planning import groups_map, siting_map

__all__ = [
    "build_maps",
    "build_national_maps",
    "commune_map",
    "departement_map",
    "groups_map",
    "index_page",
    "municipality_map",
    "national_overview",
    "overview_map",
    "save_map",
    "siting_map",
    "write_commune_pages",
]
