"""A small national table for the peers and national-maps tests (built once per process).

The national run (``proximity run --territory france``) writes ``municipalities.parquet``;
these tests do not depend on it. They score three small départements (Lozère, Cantal,
Haute-Loire: 659 communes, about 35 s) with the serial path and add what the national
table has beyond ``score_territory``'s columns:

* ``departement``, ``region`` (from the layer), ``rank`` (a permutation: index, then INSEE),
  ``rank_departement`` (the same within each département);
* ``share_pop_airport_30``: computed as its definition says, the share of each commune's
  population origins (weights) within 30 minutes of an airport;
* ``minutes_city_50k``: a FIXTURE STAND-IN, not the national definition (no commune of the
  three départements has 50,000 inhabitants): minutes at 60 km/h, as the crow flies, from
  each commune's representative point to the nearest commune of 15,000 inhabitants or more
  (Aurillac, Le Puy-en-Velay).
"""

from __future__ import annotations

import functools
import zlib

import geopandas as gpd
import numpy as np
import pandas as pd

SPEC = "48,15,43"
CITY_POPULATION = 15_000


def add_national_columns(table: gpd.GeoDataFrame, origins: pd.DataFrame, layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The national table's extra columns on a serial score table (see the module docstring)."""
    t = table.copy()
    t["departement"] = layer["departement"].reindex(t.index).astype(str)
    t["region"] = layer["region"].reindex(t.index).astype(str)
    order = t.assign(_neg=-t["index"].astype(float)).sort_values(["_neg", "insee"]).index
    t.loc[order, "rank"] = np.arange(1, len(t) + 1)
    t["rank"] = t["rank"].astype(int)
    t["rank_departement"] = t.groupby("departement")["rank"].rank(method="first").astype(int)
    w = origins["weight"].astype(float)
    near = w.where(origins["minutes_airport"].astype(float) <= 30, 0.0)
    share = near.groupby(origins["insee"]).sum() / w.groupby(origins["insee"]).sum()
    t["share_pop_airport_30"] = share.reindex(t.index).fillna(0.0).clip(0, 1)
    pts = t.geometry.to_crs("EPSG:2154").representative_point()
    cities = pts[t["population"] >= CITY_POPULATION]
    d = np.sqrt(
        (pts.x.to_numpy()[:, None] - cities.x.to_numpy()[None, :]) ** 2
        + (pts.y.to_numpy()[:, None] - cities.y.to_numpy()[None, :]) ** 2
    )
    t["minutes_city_50k"] = d.min(axis=1) / 1000.0  # km at 60 km/h = minutes
    return t


@functools.cache
def national_fixture() -> gpd.GeoDataFrame:
    """The three-département national table (EPSG:2154), cached for the test process."""
    from proximity.scores import score_territory
    from proximity.territory import load_territory

    ter = load_territory(SPEC)
    s = score_territory(ter)
    t = add_national_columns(s.municipalities, s.origins, ter.municipalities)
    return t.to_crs("EPSG:2154")


@functools.cache
def fake_france_table() -> gpd.GeoDataFrame:
    """All current communes of metropolitan France with a FAKE index, for map SIZE tests only.

    The index, components, ranks and peer features are seeded functions of the INSEE code
    (NOT results of any run): they exercise the national overview at its real size.
    """
    from proximity import area

    t = area.communes_of(tuple(area.metro_departements())).to_crs("EPSG:2154")
    seed = np.array([zlib.crc32(c.encode()) for c in t["insee"]], dtype=np.uint64)
    u = (seed % np.uint64(10_007)).astype(float) / 10_007.0
    t["index"] = 20 + 40 * u + 5 * np.log10(1 + t["population"].astype(float).to_numpy())  # FAKE
    for k, c in enumerate(("density", "diversity", "dynamics", "directionality")):
        t[c] = ((seed >> np.uint64(3 * k + 1)) % np.uint64(1000)).astype(float) / 1000.0  # FAKE
    t["rank"] = t["index"].rank(ascending=False, method="first").astype(int)
    t["rank_departement"] = t.groupby("departement")["index"].rank(ascending=False, method="first").astype(int)
    t["rank_low"] = np.maximum(1, t["rank"] - 500)
    t["rank_high"] = np.minimum(len(t), t["rank"] + 500)
    t["minutes_city_50k"] = 5 + 90 * ((seed >> np.uint64(11)) % np.uint64(1000)).astype(float) / 1000.0  # FAKE
    t["share_pop_airport_30"] = ((seed >> np.uint64(17)) % np.uint64(1001)).astype(float) / 1000.0  # FAKE
    return t
