"""Raster surfaces: travel-time grids against the vector engine, COG files, population grids."""

from __future__ import annotations

import base64
import math
import struct
import warnings
import zlib

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import LineString, Point, box

from proximity import _engine, raster, traveltime
from proximity.errors import CRSError, DataFileError, InputError, MissingColumnError, UnreachableWarning
from proximity.network import ACCESS_DETOUR, ACCESS_SPEED_KMH, graph_to_csr

CELL_M = 200.0
LEG_MIN_PER_M = ACCESS_DETOUR / (ACCESS_SPEED_KMH / 3.6) / 60.0  # minutes per straight metre off the network


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def airports(herault):
    return raster.kind_facilities(herault, "airport")


@pytest.fixture(scope="module")
def surface(herault, airports):
    return raster.travel_time_surface(herault.csr, airports, territory_polygon=herault.municipalities, cell_m=CELL_M)


@pytest.fixture(scope="module")
def surface_k1(herault, airports):
    return raster.travel_time_surface(
        herault.csr, airports, territory_polygon=herault.municipalities, cell_m=CELL_M, k_nodes=1
    )


@pytest.fixture(scope="module")
def written(herault, tmp_path_factory):
    out = tmp_path_factory.mktemp("rasters")
    return raster.write_rasters(herault, out, cell_m=CELL_M)


@pytest.fixture(scope="module")
def territory_2154(herault):
    return shapely.union_all(herault.municipalities.to_crs("EPSG:2154").geometry.values)


def from_origin(west, north, xsize, ysize):
    """A north-up transform (rasterio's from_origin uses the deprecated Affine ``*``)."""
    return Affine(xsize, 0.0, west, 0.0, -ysize, north)


def _centres(transform, rows, cols):
    return transform.c + (cols + 0.5) * transform.a, transform.f + (rows + 0.5) * transform.e


def _sample_cells(arr, n, seed):
    r, c = np.nonzero(np.isfinite(arr))
    pick = np.random.default_rng(seed).choice(r.size, n, replace=False)
    return r[pick], c[pick]


# --------------------------------------------------------------------------- travel-time surfaces vs the engine
def test_k1_surface_equals_engine_nearest_at_cell_centres(herault, airports, surface_k1):
    arr, transform = surface_k1
    rows, cols = _sample_cells(arr, 400, seed=1)
    x, y = _centres(transform, rows, cols)
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:2154")
    vector = traveltime.nearest(herault.csr, pts, airports)["minutes"].to_numpy()
    np.testing.assert_allclose(arr[rows, cols], vector, rtol=0, atol=1e-6)


def test_default_surface_is_best_of_k_nearest_nodes_brute_force(herault, airports, surface, surface_k1):
    """k_nodes=8: the engine, or the 8 nearest allowed nodes' (node minutes + leg), checked without the k-d tree."""
    g = herault.csr
    allowed = np.flatnonzero(g.snappable)
    nx_, ny_ = g.x[allowed], g.y[allowed]
    assert len(np.unique(np.column_stack([nx_, ny_]), axis=0)) == allowed.size  # each node snaps to itself
    nodes = gpd.GeoSeries(gpd.points_from_xy(nx_, ny_), crs=g.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachableWarning)
        node_min = traveltime.nearest(g, nodes, airports)["minutes"].to_numpy()
    arr, transform = surface
    rows, cols = _sample_cells(arr, 150, seed=2)
    x, y = _centres(transform, rows, cols)
    expected = []
    for px, py in zip(x, y, strict=True):
        d = np.hypot(nx_ - px, ny_ - py)
        near = np.argsort(d, kind="stable")[:8]
        near = near[d[near] <= traveltime.MAX_SNAP_M]
        expected.append(np.min(node_min[near] + d[near] * LEG_MIN_PER_M))
    # ... or the engine itself (snapped onto the nearest edge; the nearest nodes stand for its
    # "other roads nearby" rule), whichever is faster
    prep = _engine.prepared(g)
    opts = {
        "max_snap_m": traveltime.MAX_SNAP_M,
        "access_speed_kmh": ACCESS_SPEED_KMH,
        "access_detour": ACCESS_DETOUR,
        "snap_to": g.snappable,
    }
    cells = _engine.snap_xy(g, prep, np.column_stack([x, y]), pd.RangeIndex(len(x)), extra_roads=0, **opts)
    f = _engine.snap_points(g, prep, airports.geometry, name="facilities", **opts)
    all_cells, all_f = np.arange(len(x)), np.arange(len(airports))
    direct = _engine.direct_pairs(cells, all_cells, f, all_f)
    engine_min = _engine.nearest_one(prep, cells, all_cells, f, all_f, to=True, max_s=math.inf, direct=direct)[0] / 60
    np.testing.assert_allclose(arr[rows, cols], np.minimum(expected, engine_min), rtol=0, atol=1e-6)
    assert (engine_min < np.asarray(expected) - 1e-6).sum() > 10  # the edge snap matters
    # close to the engine with all its rules (k_nodes=1): equal on many cells, and within a
    # few minutes where a node or another road nearby makes the difference
    a1 = surface_k1[0]
    both = np.isfinite(a1)
    assert np.array_equal(both, np.isfinite(arr))
    diff = arr[both] - a1[both]
    assert np.mean(np.abs(diff) < 1e-9) > 0.2
    assert np.percentile(np.abs(diff), 95) < 3.0


def _line_graph(n=5, step=200.0, fwd_s=6.0, back_s=12.0):
    """Nodes on the cell centres of row y=100 (x = 100, 300, ...); j -> j+1 takes fwd_s, j+1 -> j back_s."""
    G = nx.MultiDiGraph(crs="EPSG:2154")
    G.add_nodes_from((j, {"x": 100.0 + step * j, "y": 100.0}) for j in range(n))
    for j in range(n - 1):
        G.add_edge(j, j + 1, travel_time=fwd_s, length=step)
        G.add_edge(j + 1, j, travel_time=back_s, length=step)
    return graph_to_csr(G)


def test_closed_form_on_a_line_network():
    g = _line_graph()
    fac = gpd.GeoSeries([Point(100, 100)], index=["f"], crs="EPSG:2154")  # on node 0
    # two rows of five cells; the top-right cell is outside the polygon
    poly = box(0, 0, 1000, 400).difference(box(800, 200, 1000, 400))
    arr, transform = raster.travel_time_surface(g, fac, territory_polygon=poly, cell_m=200, k_nodes=1)
    assert arr.shape == (2, 5)
    assert tuple(transform)[:6] == (200.0, 0.0, 0.0, 0.0, -200.0, 400.0)
    # bottom row: cell centres are the nodes (node time exactly); *to* the facility uses the 12 s edges
    i = np.arange(5)
    np.testing.assert_allclose(arr[1], 0.2 * i, atol=1e-12)
    # top row, single nearest node (200 m below): node time + a 200 m leg
    leg = 200.0 * LEG_MIN_PER_M
    np.testing.assert_allclose(arr[0, :4], 0.2 * i[:4] + leg, atol=1e-12)
    assert np.isnan(arr[0, 4])
    # best of k: any of the 5 nodes with its own straight leg (here the node below still wins)
    arr8, _ = raster.travel_time_surface(g, fac, territory_polygon=poly, cell_m=200, k_nodes=8)
    for row, dy, n_cells in ((0, 200.0, 4), (1, 0.0, 5)):
        expected = [min(0.2 * i + np.hypot(200.0 * (i - j), dy) * LEG_MIN_PER_M) for j in range(n_cells)]
        np.testing.assert_allclose(arr8[row, :n_cells], expected, atol=1e-12)
    np.testing.assert_allclose(arr8[1], arr[1], atol=1e-12)
    # slow roads (6 km/h): walking 200 m off-network to the next node beats driving, and best-of-k sees it
    slow = _line_graph(fwd_s=60.0, back_s=120.0)
    arr_slow, _ = raster.travel_time_surface(slow, fac, territory_polygon=poly, cell_m=200, k_nodes=8)
    np.testing.assert_allclose(
        arr_slow[1], [min(2.0 * i + 200.0 * abs(i - j) * LEG_MIN_PER_M) for j in range(5)], atol=1e-12
    )
    assert arr_slow[1, 1] == pytest.approx(leg)  # walk to node 0 rather than drive 2 minutes
    # "from" the facility uses the 6 s edges
    arr_from, _ = raster.travel_time_surface(g, fac, territory_polygon=poly, cell_m=200, k_nodes=1, direction="from")
    np.testing.assert_allclose(arr_from[1], 0.1 * i, atol=1e-12)
    # a facility off the network adds its own leg, as in the engine
    off = gpd.GeoSeries([Point(100, 160)], index=["f"], crs="EPSG:2154")
    arr_off, _ = raster.travel_time_surface(g, off, territory_polygon=poly, cell_m=200, k_nodes=1)
    np.testing.assert_allclose(arr_off[1], 0.2 * i + 60.0 * LEG_MIN_PER_M, atol=1e-12)
    # cells further than max_snap_m from every node are nodata
    near, _ = raster.travel_time_surface(g, fac, territory_polygon=poly, cell_m=200, max_snap_m=150)
    assert np.isnan(near[0]).all() and np.isfinite(near[1]).all()


def test_surface_grid_and_nodata_outside_the_territory(herault, surface, territory_2154):
    arr, transform = surface
    assert transform.a == CELL_M and transform.e == -CELL_M and transform.b == transform.d == 0
    assert transform.c % CELL_M == 0 and transform.f % CELL_M == 0
    xmin, ymin, xmax, ymax = herault.municipalities.to_crs("EPSG:2154").total_bounds
    left, top = transform.c, transform.f
    right, bottom = left + arr.shape[1] * CELL_M, top - arr.shape[0] * CELL_M
    assert 0 <= xmin - left < CELL_M and 0 <= right - xmax < CELL_M
    assert 0 <= ymin - bottom < CELL_M and 0 <= top - ymax < CELL_M
    rows, cols = np.indices(arr.shape)
    x, y = _centres(transform, rows.ravel(), cols.ravel())
    inside = shapely.contains_xy(territory_2154, x, y).reshape(arr.shape)
    assert np.isnan(arr[~inside]).all()
    finite_inside = np.isfinite(arr[inside]).mean()
    assert finite_inside > 0.999  # a few cells more than 5 km from any road
    assert abs(inside.sum() * CELL_M**2 / 1e6 - territory_2154.area / 1e6) < 0.002 * territory_2154.area / 1e6
    # plausible values: 0-2 minutes next to an airport, under two hours everywhere
    assert 0 < np.nanmin(arr) < 5 and 60 < np.nanmax(arr) < 120


# --------------------------------------------------------------------------- files
def test_written_files_are_valid_cogs_on_the_grid(written, surface):
    from rio_cogeo.cogeo import cog_validate

    names = sorted(p.name for p in written)
    assert names == sorted(
        [f"travel_time_{k}.tif" for k in raster.DEFAULT_KINDS] + ["population.tif", "population_within.csv"]
    )
    arr, transform = surface
    for p in written:
        if p.suffix != ".tif":
            continue
        is_valid, errors, _ = cog_validate(str(p))
        assert is_valid and errors == [], (p.name, errors)
        with rasterio.open(p) as src:
            assert src.crs.to_epsg() == 2154
            assert src.transform.almost_equals(transform)
            assert src.shape == arr.shape and src.dtypes[0] == "float32" and math.isnan(src.nodata)
            assert src.profile["blockxsize"] == 512 and src.compression.value == "DEFLATE"
            assert src.overviews(1) == [2]
            if p.name == "travel_time_airport.tif":
                assert src.tags()["kind"] == "airport" and src.tags()["units"] == "minutes"
                stored = src.read(1)
                assert np.array_equal(np.isnan(stored), np.isnan(arr))
                np.testing.assert_allclose(stored[np.isfinite(arr)], arr[np.isfinite(arr)], rtol=1e-6)


def test_write_cog_small_and_atomic(tmp_path):
    arr = np.arange(12, dtype=float).reshape(3, 4)
    arr[0, 0] = np.nan
    p = raster.write_cog(arr, from_origin(1000, 2000, 10, 10), tmp_path / "a.tif", crs="EPSG:2154", overviews=())
    with rasterio.open(p) as src:
        back = src.read(1)
        assert src.overviews(1) == [] and src.bounds == (1000, 1970, 1040, 2000)
    assert np.isnan(back[0, 0]) and np.array_equal(back[1:], arr[1:])
    assert [q.name for q in tmp_path.iterdir()] == ["a.tif"]  # no temporary left behind
    with pytest.raises(CRSError, match="crs is None"):
        raster.write_cog(arr, from_origin(0, 0, 1, 1), tmp_path / "b.tif", crs=None)
    assert not (tmp_path / "b.tif").exists()


# --------------------------------------------------------------------------- population
@pytest.fixture(scope="module")
def population(herault):
    return raster.population_raster(herault.municipalities, herault.csr, cell_m=CELL_M)


def test_population_totals_preserved_per_commune(herault, population, surface):
    pop, transform = population
    assert transform == surface[1] and pop.shape == surface[0].shape  # one grid for every raster
    munis = herault.municipalities
    zonal = raster.zonal_population_within(np.zeros_like(pop), pop, zones=munis, transform=transform, crs="EPSG:2154")
    expected = munis["population"].astype(float)
    rel = (zonal["population"].drop("total") / expected - 1).abs()
    assert rel.max() < 0.005
    assert abs(np.nansum(pop) / expected.sum() - 1) < 1e-9
    assert (pop[np.isfinite(pop)] >= 0).all()


def test_population_follows_roads_within_a_commune(herault, population):
    pop, transform = population
    road = raster._road_length_grid(
        *raster._road_segments(herault.csr, raster._check_projected("EPSG:2154"), True), transform, pop.shape
    )
    labels = raster._zone_labels(herault.municipalities, raster._check_projected("EPSG:2154"), transform, pop.shape)
    z = herault.municipalities.index.get_loc("34172") + 1  # Montpellier
    cells = labels == z
    p, r = pop[cells], road[cells]
    total = float(herault.municipalities.loc["34172", "population"])
    n = cells.sum()
    # cells without road hold exactly the floor share; the rest is proportional to road metres
    np.testing.assert_allclose(p[r == 0], total * raster.FLOOR_SHARE / n, rtol=1e-9)
    np.testing.assert_allclose(
        p - total * raster.FLOOR_SHARE / n, total * (1 - raster.FLOOR_SHARE) * r / r.sum(), rtol=1e-9, atol=1e-9
    )
    assert p.max() > 10 * p.min()


def test_population_closed_form_two_communes():
    munis = gpd.GeoDataFrame(
        {"population": [1000, 300]},
        index=["A", "B"],
        geometry=[box(0, 0, 400, 400), box(400, 0, 800, 400)],
        crs="EPSG:2154",
    )
    roads = gpd.GeoSeries([LineString([(0, 100), (200, 100)])], crs="EPSG:2154")  # 200 m in A's bottom-left cell
    pop, _ = raster.population_raster(munis, roads, cell_m=200, floor_share=0.1)
    assert pop.shape == (2, 4)
    expected = np.array(
        [[25.0, 25.0, 75.0, 75.0], [925.0, 25.0, 75.0, 75.0]]
    )  # A: 1000*0.1/4 + 900 on the road cell; B even
    np.testing.assert_allclose(pop, expected)


def test_population_raster_written_total(written, herault):
    path = next(p for p in written if p.name == "population.tif")
    with rasterio.open(path) as src:
        total = float(np.nansum(src.read(1).astype(float)))
    assert abs(total / herault.municipalities["population"].sum() - 1) < 1e-5


def test_read_user_population_raster_in_wgs84(tmp_path, population):
    _, transform = population
    shape = population[0].shape
    values = np.random.default_rng(3).gamma(2.0, 50.0, size=(40, 60))
    values[5, 5] = -9999.0  # nodata counts 0
    src_tr = from_origin(3.30, 43.80, 0.01, 0.01)  # inside the Hérault grid
    path = tmp_path / "pop_wgs84.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=40,
        width=60,
        count=1,
        dtype="float64",
        crs="EPSG:4326",
        transform=src_tr,
        nodata=-9999.0,
    ) as dst:
        dst.write(values, 1)
    out = raster.read_population_raster(path, dst_crs="EPSG:2154", dst_transform=transform, shape=shape)
    assert out.shape == shape and (out >= 0).all()
    expected = values[values > 0].sum()
    assert abs(out.sum() / expected - 1) < 0.01
    # the population lands where it was: inside the lon/lat box in Lambert-93
    rows, cols = np.nonzero(out > 0)
    x, y = _centres(transform, rows, cols)
    lon, lat = rasterio.warp.transform("EPSG:2154", "EPSG:4326", x, y)
    assert min(lon) > 3.29 and max(lon) < 3.91 and min(lat) > 43.39 and max(lat) < 43.81


def test_read_population_raster_errors(tmp_path):
    t, shape = from_origin(0, 1000, 200, 200), (5, 5)
    path = tmp_path / "nocrs.tif"
    with rasterio.open(
        path, "w", driver="GTiff", height=2, width=2, count=1, dtype="float32", transform=from_origin(0, 400, 200, 200)
    ) as dst:
        dst.write(np.ones((2, 2), dtype="float32"), 1)
    with pytest.raises(CRSError, match="has no CRS; set it with `rio edit-info"):
        raster.read_population_raster(path, dst_crs="EPSG:2154", dst_transform=t, shape=shape)
    with pytest.raises(DataFileError, match="does not exist"):
        raster.read_population_raster(tmp_path / "missing.tif", dst_crs="EPSG:2154", dst_transform=t, shape=shape)
    (tmp_path / "junk.tif").write_text("not a raster")
    with pytest.raises(DataFileError, match="cannot be read as a raster"):
        raster.read_population_raster(tmp_path / "junk.tif", dst_crs="EPSG:2154", dst_transform=t, shape=shape)
    with pytest.raises(InputError, match="shape must be positive"):
        raster.read_population_raster(path, dst_crs="EPSG:2154", dst_transform=t, shape=(0, 5))
    with pytest.raises(InputError, match="north-up"):
        raster.read_population_raster(
            path, dst_crs="EPSG:2154", dst_transform=Affine(200, 0, 0, 0, 200, 0), shape=shape
        )


# --------------------------------------------------------------------------- zonal population within
@pytest.fixture(scope="module")
def within(written, herault):
    paths = {p.stem.removeprefix("travel_time_"): p for p in written if p.name.startswith("travel_time_")}
    pop = next(p for p in written if p.name == "population.tif")
    return raster.zonal_population_within(paths, pop, zones=herault.municipalities)


def test_zonal_population_within_is_monotone_and_bounded(within, herault, written):
    assert list(within.index[:-1]) == list(herault.municipalities.index) and within.index[-1] == "total"
    munis_pop = herault.municipalities["population"].astype(float)
    for kind in raster.DEFAULT_KINDS:
        a, b, c = within[f"{kind}_30"], within[f"{kind}_45"], within[f"{kind}_60"]
        assert (a <= b + 1e-6).all() and (b <= c + 1e-6).all()
        assert (c <= within["population"] + 1e-6).all()
        assert (c.drop("total") <= munis_pop * 1.005).all()
    total = within.loc["total"]
    assert total["population"] == pytest.approx(munis_pop.sum(), rel=1e-5)
    assert total["airport_60"] > total["airport_30"] > 0.5 * munis_pop.sum()
    # the CSV written by write_rasters holds the same table
    csv = pd.read_csv(next(p for p in written if p.suffix == ".csv"), dtype={"insee": str}).set_index("insee")
    np.testing.assert_allclose(csv.loc["total", "airport_45"], total["airport_45"], rtol=1e-9)


def test_zonal_population_within_matches_the_vector_scores(within, herault_scores):
    """The raster (200 m cells) and the scores' population origins (network nodes) agree to 3 %."""
    summary = herault_scores.summary["population_within_minutes"]
    for key in ("airport_30", "airport_45", "airport_60", "tgv_station_45", "chamber_of_commerce_45"):
        assert within.loc["total", key] == pytest.approx(summary[key], rel=0.03), key


def test_zonal_population_within_single_array_and_errors(herault, tmp_path):
    pop = np.array([[10.0, 20.0], [np.nan, 5.0]])
    minutes = np.array([[10.0, 40.0], [5.0, np.nan]])
    z = raster.zonal_population_within(minutes, pop, thresholds_minutes=(15, 45))
    assert list(z.index) == ["total"]
    assert z.loc["total"].to_dict() == {"population": 35.0, "facility_15": 10.0, "facility_45": 30.0}
    # files: the kind comes from the name, the grids must agree
    grid = from_origin(700000, 6300000, 200, 200)
    t_path = raster.write_cog(minutes, grid, tmp_path / "travel_time_port.tif", crs="EPSG:2154", overviews=())
    p_path = raster.write_cog(pop, grid, tmp_path / "pop.tif", crs="EPSG:2154", overviews=())
    z = raster.zonal_population_within(t_path, p_path, thresholds_minutes=(15,))
    assert z.loc["total"].to_dict() == {"population": 35.0, "port_15": 10.0}
    shifted = raster.write_cog(
        pop, from_origin(700200, 6300000, 200, 200), tmp_path / "shifted.tif", crs="EPSG:2154", overviews=()
    )
    with pytest.raises(InputError, match="different transforms"):
        raster.zonal_population_within(t_path, shifted)
    other_crs = raster.write_cog(pop, grid, tmp_path / "laea.tif", crs="EPSG:3035", overviews=())
    with pytest.raises(InputError, match="different CRSs"):
        raster.zonal_population_within(t_path, other_crs)
    with pytest.raises(InputError, match="has shape"):
        raster.zonal_population_within(minutes[:1], pop)
    with pytest.raises(InputError, match="pass transform= and crs="):
        raster.zonal_population_within(minutes, pop, zones=herault.municipalities)
    with pytest.raises(InputError, match="empty mapping"):
        raster.zonal_population_within({}, pop)
    with pytest.raises(InputError, match="minutes must hold positive"):
        raster.zonal_population_within(minutes, pop, thresholds_minutes=(0,))


# --------------------------------------------------------------------------- overlays
def _png_pixels(url: str) -> np.ndarray:
    head = "data:image/png;base64,"
    assert url.startswith(head)
    data = base64.b64decode(url[len(head) :])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and colour == 6
    pos, idat = 8, b""
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0] == zlib.crc32(tag + body) & 0xFFFFFFFF
        idat += body if tag == b"IDAT" else b""
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, w * 4 + 1)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(h, w, 4)


def test_overlay_of_the_airport_surface(herault, surface):
    arr, transform = surface
    url, bounds = raster.raster_overlay_image(arr, transform, "EPSG:2154", cmap="travel", vmin=0, vmax=90)
    px = _png_pixels(url)
    (south, west), (north, east) = bounds
    lon_min, lat_min, lon_max, lat_max = herault.municipalities.total_bounds
    assert west <= lon_min < lon_max <= east and south <= lat_min < lat_max <= north
    assert east - lon_max < 0.01 and lon_min - west < 0.01 and north - lat_max < 0.01 and lat_min - south < 0.01
    assert max(px.shape[:2]) <= 2048
    assert px[0, 0, 3] == 0 and px[-1, -1, 3] == 0  # corners are outside the territory: transparent
    opaque = px[..., 3] == 255
    assert 0.4 < opaque.mean() < 0.8 and set(np.unique(px[..., 3])) == {0, 255}


def test_overlay_colours_and_legend():
    arr = np.array([[0.0, 90.0], [np.nan, 45.0]])
    url, _ = raster.raster_overlay_image(
        arr, from_origin(700000, 6300000, 1000, 1000), "EPSG:2154", cmap="travel", vmin=0, vmax=90
    )
    px = _png_pixels(url)
    colours = {tuple(int(v) for v in p[:3]) for p in px[px[..., 3] == 255]}
    stops = raster.COLORMAPS["travel"]
    hexes = {"#" + "".join(f"{v:02x}" for v in c) for c in colours}
    assert hexes == {stops[0], stops[4], stops[-1]}
    assert (px[..., 3] == 0).any()
    legend = raster.raster_legend(cmap="travel", vmin=0, vmax=90, caption="Minutes to the nearest airport")
    assert legend["colors"] == list(stops) and legend["index"][0] == 0 and legend["index"][-1] == 90
    assert legend["index"][1] == pytest.approx(11.25) and legend["caption"].startswith("Minutes")
    assert raster.raster_legend(cmap="travel_r", vmin=0, vmax=1)["colors"] == list(stops[::-1])


# --------------------------------------------------------------------------- errors
def test_surface_errors(herault, airports):
    g, munis = herault.csr, herault.municipalities
    with pytest.raises(CRSError, match="facilities has no CRS"):
        raster.travel_time_surface(g, airports.set_crs(None, allow_override=True), territory_polygon=munis)
    with pytest.raises(InputError, match="facilities is empty"):
        raster.travel_time_surface(g, airports.iloc[:0], territory_polygon=munis)
    for bad in (0, -200, float("nan"), "200", True):
        with pytest.raises(InputError, match="cell_m must be a positive number"):
            raster.travel_time_surface(g, airports, territory_polygon=munis, cell_m=bad)
    with pytest.raises(InputError, match="raise cell_m"):
        raster.travel_time_surface(g, airports, territory_polygon=munis, cell_m=1)
    with pytest.raises(CRSError, match="not a projected CRS in metres"):
        raster.travel_time_surface(g, airports, territory_polygon=munis, crs="EPSG:4326")
    with pytest.raises(CRSError, match="territory_polygon has no CRS"):
        raster.travel_time_surface(g, airports, territory_polygon=munis.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="territory_polygon must be"):
        raster.travel_time_surface(g, airports, territory_polygon="Hérault")
    with pytest.raises(InputError, match="k_nodes must be a positive integer"):
        raster.travel_time_surface(g, airports, territory_polygon=munis, k_nodes=0)
    with pytest.raises(InputError, match="direction must be"):
        raster.travel_time_surface(g, airports, territory_polygon=munis, direction="both")
    with pytest.raises(InputError, match="no facility is within max_snap_m=1 m"):
        raster.travel_time_surface(g, airports, territory_polygon=munis, max_snap_m=1)
    # two facilities out at sea, 40 and 60 km off the coast, beyond the 5 km snapping limit
    sea = gpd.GeoDataFrame(geometry=[Point(4.2, 43.1), Point(4.0, 42.85)], index=["sea:1", "sea:2"], crs="EPSG:4326")
    far = pd.concat([airports[["geometry"]], sea.to_crs(airports.crs)])
    with pytest.warns(UnreachableWarning, match="2 point\\(s\\) of facilities"):
        arr, _ = raster.travel_time_surface(g, far, territory_polygon=munis, cell_m=2000)
    assert np.isfinite(arr).any()
    with pytest.raises(InputError, match=r"must be a proximity\.network\.CSRGraph"):
        raster.travel_time_surface(herault.graph, airports, territory_polygon=munis)


def test_kind_and_writer_errors(herault, tmp_path):
    with pytest.raises(InputError, match="facility kind 'spaceport' is unknown; choose among"):
        raster.kind_facilities(herault, "spaceport")
    with pytest.raises(InputError, match="kinds is empty"):
        raster.travel_time_rasters(herault, tmp_path, kinds=())
    tgv = raster.kind_facilities(herault, "tgv_station")
    # Hérault's five (Montpellier x2, Sète, Agde, Béziers) and four beyond its border that the
    # buffered network reaches (Nîmes x2, Narbonne, Carcassonne)
    assert len(tgv) == 9 and tgv["tgv"].all() and tgv["on_network"].all()
    assert {"Nîmes Pont du Gard", "Nîmes", "Narbonne", "Carcassonne"} <= set(tgv["name"])
    assert len(raster.kind_facilities(herault, "chamber_of_commerce")) == 1
    t = from_origin(0, 0, 1, 1)
    with pytest.raises(InputError, match="2-D array"):
        raster.write_cog(np.zeros((2, 2, 2)), t, tmp_path / "x.tif", crs="EPSG:2154")
    with pytest.raises(InputError, match="overviews must be"):
        raster.write_cog(np.zeros((2, 2)), t, tmp_path / "x.tif", crs="EPSG:2154", overviews=[1])
    with pytest.raises(InputError, match="resampling 'fancy' is unknown"):
        raster.write_cog(np.zeros((2, 2)), t, tmp_path / "x.tif", crs="EPSG:2154", resampling="fancy")
    with pytest.raises(InputError, match="nodata=NaN needs a float dtype"):
        raster.write_cog(np.zeros((2, 2)), t, tmp_path / "x.tif", crs="EPSG:2154", dtype="int16")
    with pytest.raises(CRSError, match="not a CRS pyproj understands"):
        raster.write_cog(np.zeros((2, 2)), t, tmp_path / "x.tif", crs="EPSG:999999")
    with pytest.raises(InputError, match=r"affine\.Affine"):
        raster.write_cog(np.zeros((2, 2)), (0, 1, 0, 0, 0, -1), tmp_path / "x.tif", crs="EPSG:2154")


def test_population_errors(herault):
    munis, g = herault.municipalities, herault.csr
    with pytest.raises(MissingColumnError, match="no column 'inhabitants'"):
        raster.population_raster(munis, g, population_column="inhabitants")
    neg = munis.copy()
    neg.loc[neg.index[0], "population"] = -5
    with pytest.raises(InputError, match="1 missing, non-numeric or negative"):
        raster.population_raster(neg, g)
    with pytest.raises(InputError, match="floor_share must be a number between 0 and 1"):
        raster.population_raster(munis, g, floor_share=2)
    with pytest.raises(InputError, match="graph_or_roads must be"):
        raster.population_raster(munis, herault.graph)
    with pytest.raises(CRSError, match="graph_or_roads has no CRS"):
        raster.population_raster(munis, gpd.GeoSeries([LineString([(0, 0), (1, 1)])]))
    with pytest.raises(InputError, match="no line geometry"):
        raster.population_raster(munis, gpd.GeoSeries([Point(3.8, 43.6)], crs="EPSG:4326"))
    with pytest.raises(CRSError, match="municipalities has no CRS"):
        raster.population_raster(munis.set_crs(None, allow_override=True), g)


def test_overlay_errors():
    arr, t = np.ones((2, 2)), from_origin(700000, 6300000, 100, 100)
    with pytest.raises(InputError, match="cmap 'jet' is unknown"):
        raster.raster_overlay_image(arr, t, "EPSG:2154", cmap="jet")
    with pytest.raises(InputError, match="vmax must be greater than vmin"):
        raster.raster_overlay_image(arr, t, "EPSG:2154", vmin=5, vmax=5)
    with pytest.raises(InputError, match="no finite value; pass vmin and vmax"):
        raster.raster_overlay_image(np.full((2, 2), np.nan), t, "EPSG:2154")
    with pytest.raises(CRSError, match="crs is None"):
        raster.raster_overlay_image(arr, t, None)
    with pytest.raises(InputError, match="max_size_px"):
        raster.raster_overlay_image(arr, t, "EPSG:2154", max_size_px=1)
