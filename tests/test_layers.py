"""Typed layers on the default territory's real files, and every bad-input path."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from proximity import datasets
from proximity.errors import DataFileError, DataQualityWarning, InputError, LayerValidationError
from proximity.layers import (
    CATEGORIES,
    gateways,
    municipalities,
    naf_section,
    read_sirene,
    read_user_points,
    roads_from_travelmapping,
    support_bodies,
    synthetic_smes,
    validate_layer,
)
from proximity.layers.gateways import DEDUPE_M
from proximity.layers.smes import SECTION_SHARES, SIZE_BANDS

BOUNDS = datasets.load_manifest("herault").bounds_wgs84
TO_L93 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)


@pytest.fixture(scope="module")
def munis(real_data):
    return municipalities()


@pytest.fixture(scope="module")
def gw(real_data):
    return gateways()


@pytest.fixture(scope="module")
def sup(real_data):
    return support_bodies()


@pytest.fixture(scope="module")
def roads(real_data):
    return roads_from_travelmapping()


@pytest.fixture(scope="module")
def firms(munis, roads):
    return synthetic_smes(munis, roads, n=6000, seed=0)


# --------------------------------------------------------------------------- municipalities


def test_municipalities_counts_and_population(munis):
    assert len(munis) == 341
    assert int(munis["population"].sum()) == 1_230_289
    assert munis.crs.to_epsg() == 4326
    assert list(munis.index) == list(munis["insee"])
    assert munis.index.is_unique
    mtp = munis.loc["34172"]
    assert (mtp["name"], mtp["population"], mtp["population_prev"]) == ("Montpellier", 310_240, 307_101)
    assert mtp["epci_siren"] == "243400017" and mtp["epci_type"] == "METRO"
    assert 56 < mtp["area_km2"] < 58  # Montpellier is 57 km²


def test_municipalities_merges_applied(munis):
    assert "34093" not in munis.index and "34330" not in munis.index
    assert munis.loc["34144", "merged_from"] == "34093"
    assert munis.loc["34246", "merged_from"] == "34330"
    assert munis.loc["34246", "name"] == "Entre-Vignes"
    raw = gpd.read_file(datasets.path("communes_polygons")).set_index("code").to_crs(2154)
    old_area = raw.loc["34144"].geometry.area / 1e6
    added = raw.loc["34093"].geometry.area / 1e6
    assert munis.loc["34144", "area_km2"] == pytest.approx(old_area + added, rel=1e-3)
    assert munis.loc["34144", "area_km2"] > old_area + 10


def test_municipalities_metropole(munis):
    metro = munis[munis["metropole"]]
    assert len(metro) == 31
    assert set(metro["epci_siren"]) == {"243400017"}
    assert {"34172", "34057", "34129"} <= set(metro.index)  # Montpellier, Castelnau-le-Lez, Lattes
    assert munis["epci_type"].isin(["METRO", "CU", "CA", "CC"]).all()


def test_municipalities_result_is_a_copy(munis):
    again = municipalities()
    again.loc["34172", "population"] = -1
    assert municipalities().loc["34172", "population"] == 310_240


# --------------------------------------------------------------------------- gateways


def test_gateways_kinds_and_modes(gw):
    assert set(gw["kind"]) == {"airport", "seaport", "rail_station", "motorway_access"}
    assert (
        gw["mode"]
        == gw["kind"].map({"airport": "air", "seaport": "sea", "rail_station": "rail", "motorway_access": "road"})
    ).all()
    assert gw.index.is_unique and list(gw.index) == list(gw["id"])
    assert gw.crs.to_epsg() == 4326


def test_airports(gw):
    air = gw[gw["kind"] == "airport"]
    assert set(air.index[air["in_territory"]]) == {"airport:LFMT", "airport:LFMU"}
    assert {"airport:LFTW", "airport:LFMK"} <= set(air.index[~air["in_territory"]])
    assert air["iata"].notna().all()  # small airfields (Candillargues LFNG, Pézenas LFNP) are not gateways
    assert "airport:LFNG" not in gw.index
    mpl = air.loc["airport:LFMT"].geometry
    assert mpl.y == pytest.approx(43.5762, abs=1e-3) and mpl.x == pytest.approx(3.96301, abs=1e-3)


def test_seaports(gw):
    sea = gw[gw["kind"] == "seaport"]
    assert bool(sea.loc["seaport:FRSET", "in_territory"])
    assert "1-2 km" in sea.loc["seaport:FRSET", "caveat"]
    assert not bool(sea.loc["seaport:FRNOU", "in_territory"])  # Port-la-Nouvelle, Aude


def test_rail_stations(gw):
    rail = gw[gw["kind"] == "rail_station"]
    inside = rail[rail["in_territory"]]
    assert len(inside) == 21
    assert inside["commune"].str.startswith("34").all()
    assert inside["drg_segment"].value_counts().to_dict() == {"C": 13, "A": 4, "B": 4}
    assert sorted(inside.loc[inside["tgv"], "name"]) == [
        "Agde",
        "Béziers",
        "Montpellier Saint-Roch",
        "Montpellier Sud de France",
        "Sète",
    ]
    assert sorted(inside.loc[inside["ouigo"], "name"]) == ["Montpellier Saint-Roch", "Montpellier Sud de France"]
    outside = set(rail.loc[~rail["in_territory"], "name"])
    assert {"Nîmes", "Nîmes Pont du Gard", "Narbonne"} <= outside
    stroch = rail.loc["rail_station:87773002"]
    assert stroch["ridership_2024"] == 7_534_414 and stroch["drg_segment"] == "A"
    assert rail[[f"ridership_{y}" for y in (2015, 2019, 2023, 2024)]].notna().all().all()


def test_motorway_access_deduplicated(gw):
    mw = gw[gw["kind"] == "motorway_access"]
    assert 20 <= int(mw["in_territory"].sum()) <= 60
    xy = np.column_stack(TO_L93.transform(mw.geometry.x.to_numpy(), mw.geometry.y.to_numpy()))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() > DEDUPE_M
    # toll barriers (plein-voie) are not access points; toll interchanges are
    assert not mw["name"].str.contains("Baillargues|Cabrials|Vedas", regex=True).any()
    sete = mw.loc["motorway_access:toll:sete"]
    assert (sete["motorway"], sete["exit_ref"], bool(sete["in_territory"])) == ("A9", "33", True)
    assert "motorway_access:tm:A9-33" in sete["merged_sources"]
    # one Montpellier-Sud exit 30 although OSM has two slip-road nodes and Travel Mapping one waypoint
    exit30 = mw[(mw["motorway"] == "A709") & (mw["exit_ref"] == "30")]
    assert len(exit30) == 1
    assert exit30["merged_sources"].iloc[0].count(";") == 2
    # route junctions, rest areas and hidden points are not exits
    assert mw["exit_ref"].fillna("").str.fullmatch(r"(\d{1,3}[a-z]?(\.\d+)?)?").all()


def test_gateways_bad_dedupe():
    with pytest.raises(InputError, match="dedupe_m must be a distance"):
        gateways(dedupe_m=-1)


# --------------------------------------------------------------------------- support bodies


def test_support_bodies_contents(sup):
    names = set(sup["name"])
    assert {"Chambre de Commerce", "Direction Régionale du Commerce Extérieur", "Montpellier Business School"} <= names
    assert sup.loc[sup["name"] == "Chambre de Commerce", "category"].item() == "chamber_of_commerce"
    assert sup.loc[sup["name"] == "Direction Régionale du Commerce Extérieur", "category"].item() == (
        "foreign_trade_service"
    )
    assert set(sup["category"]) <= set(CATEGORIES)
    assert all(isinstance(v, str) and len(v) > 20 for v in CATEGORIES.values())
    assert (sup["capacity"] == 1.0).all()
    assert sup.index.is_unique


def test_support_bodies_dedupe_and_students(sup):
    # the 2014 business school is the 2025 Montpellier Business School
    assert "Ecole Supérieure de Commerce" not in set(sup["name"])
    mbs = sup[sup["name"] == "Montpellier Business School"].iloc[0]
    assert mbs["category"] == "business_school" and mbs["vintage"] == "2025"
    assert mbs["duplicates"].startswith("montpellier2014:")
    sciences = sup[sup["name"].str.startswith("UNITÉ DE FORMATION ET DE RECHERCHE DES SCIENCES,")]
    assert sciences["students"].item() == 7409
    # the UFRs of one campus are distinct bodies, not merged
    assert (sup["category"] == "university").sum() >= 25
    assert sup.loc[sup["vintage"] == "2017", "students"].sum() > 50_000


def test_support_bodies_extra_csv_and_gpkg(real_data, tmp_path):
    csv = tmp_path / "mine.csv"
    csv.write_text(
        "name;category;latitude;longitude;capacity\nBanque A;bank;43.61;3.877;2\nClub Export;export_club;43.6;3.88;1\n",
        encoding="utf-8",
    )
    out = support_bodies(extra=csv)
    assert {"user:0", "user:1"} <= set(out.index)
    assert out.loc["user:0", "capacity"] == 2.0 and out.loc["user:0", "source"] == "user"
    assert out.loc["user:1"].geometry.x == pytest.approx(3.88)

    gpkg = tmp_path / "mine.gpkg"
    layer = gpd.GeoDataFrame(
        {"id": ["inc1"], "name": ["BIC"], "category": ["incubator"]},
        geometry=[Point(*TO_L93.transform(3.83, 43.64))],
        crs=2154,
    )
    layer.to_file(gpkg, engine="pyogrio")
    out = support_bodies(extra=gpkg)
    assert out.loc["user:inc1", "category"] == "incubator"
    assert out.loc["user:inc1"].geometry.x == pytest.approx(3.83, abs=1e-6)  # reprojected to WGS84


def test_support_bodies_extra_unknown_category(real_data):
    bad = gpd.GeoDataFrame(
        {"name": ["x", "y"], "category": ["bank", "bakery"]}, geometry=[Point(3.8, 43.6), Point(3.81, 43.6)], crs=4326
    )
    with pytest.raises(LayerValidationError, match=r"unknown 'category' \('bakery'\); allowed: chamber_of_commerce"):
        support_bodies(extra=bad)


def test_support_bodies_extra_missing_columns_and_crs(real_data):
    bad = gpd.GeoDataFrame({"label": ["x"]}, geometry=[Point(3.8, 43.6)])
    with pytest.raises(LayerValidationError, match=r"2 problem\(s\).*missing column\(s\) 'name', 'category'.*no CRS"):
        support_bodies(extra=bad)


def test_read_user_points_errors(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        read_user_points(tmp_path / "nope.csv", layer_name="mine")
    nocoord = tmp_path / "nocoord.csv"
    nocoord.write_text("name,category\na,bank\n", encoding="utf-8")
    with pytest.raises(LayerValidationError, match="no longitude/latitude columns"):
        read_user_points(nocoord, layer_name="mine")
    text = tmp_path / "text.csv"
    text.write_text("name,lat,lon\na,43.6,3.8\nb,north,east\n", encoding="utf-8")
    with pytest.raises(LayerValidationError, match=r"no numeric lon/lat \(file lines 3\)"):
        read_user_points(text, layer_name="mine")
    with pytest.raises(InputError, match="DataFrame without geometry"):
        read_user_points(pd.DataFrame({"lat": [1]}), layer_name="mine")
    area = gpd.GeoDataFrame({"name": ["zone"]}, geometry=[Point(3.8, 43.6).buffer(0.01)], crs=4326)
    with pytest.raises(
        LayerValidationError, match=r"geometry type Polygon, expected Point; use \.representative_point"
    ):
        read_user_points(area, layer_name="mine")


# --------------------------------------------------------------------------- SIRENE

STOCK_HEADER = [
    "siren",
    "nic",
    "siret",
    "statutDiffusionEtablissement",
    "dateCreationEtablissement",
    "trancheEffectifsEtablissement",
    "anneeEffectifsEtablissement",
    "etablissementSiege",
    "codeCommuneEtablissement",
    "denominationUsuelleEtablissement",
    "enseigne1Etablissement",
    "etatAdministratifEtablissement",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "caractereEmployeurEtablissement",
    "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement",
]


def _stock_rows():
    x1, y1 = TO_L93.transform(3.8767, 43.6108)  # Montpellier
    x2, y2 = TO_L93.transform(3.2150, 43.3440)  # Béziers
    x3, y3 = TO_L93.transform(4.3601, 43.8367)  # Nîmes (Gard)
    return [
        # siren nic siret statut date band year siege commune denom enseigne etat naf nomencl employeur x y
        [
            "005720944",
            "00013",
            "00572094400013",
            "O",
            "1990-01-01",
            "11",
            "2022",
            "true",
            "34172",
            "ATELIER DU LEZ",
            "",
            "A",
            "62.01Z",
            "NAFRev2",
            "O",
            f"{x1:.1f}",
            f"{y1:.1f}",
        ],
        [
            "012345678",
            "00021",
            "01234567800021",
            "O",
            "2001-05-01",
            "",
            "",
            "true",
            "34032",
            "",
            "CAVE DU SUD",
            "A",
            "11.02B",
            "NAFRev2",
            "N",
            f"{x2:.1f}",
            f"{y2:.1f}",
        ],
        [
            "098765432",
            "00010",
            "09876543200010",
            "O",
            "1980-01-01",
            "32",
            "2022",
            "false",
            "34172",
            "",
            "",
            "A",
            "46.34Z",
            "NAFRev2",
            "O",
            f"{x1 + 500:.1f}",
            f"{y1 + 300:.1f}",
        ],
        [
            "055555555",
            "00015",
            "05555555500015",
            "O",
            "1995-01-01",
            "01",
            "2020",
            "true",
            "34172",
            "FERMEE",
            "",
            "F",
            "56.10A",
            "NAFRev2",
            "N",
            f"{x1:.1f}",
            f"{y1 + 100:.1f}",
        ],
        [
            "066666666",
            "00011",
            "06666666600011",
            "O",
            "2010-01-01",
            "02",
            "2022",
            "true",
            "30189",
            "NIMOIS",
            "",
            "A",
            "43.21A",
            "NAFRev2",
            "O",
            f"{x3:.1f}",
            f"{y3:.1f}",
        ],
    ]


def _write(path, header, rows, sep=","):
    path.write_text("\n".join(sep.join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def test_read_sirene_stock_layout(tmp_path):
    p = _write(tmp_path / "StockEtablissement_extract.csv", STOCK_HEADER, _stock_rows())
    s = read_sirene(p, territory="herault")
    assert list(s.index) == ["00572094400013", "01234567800021", "09876543200010"]  # leading zeros kept
    assert "05555555500015" not in s.index  # closed (etatAdministratif F)
    assert "06666666600011" not in s.index  # Gard
    a = s.loc["00572094400013"]
    assert (a["name"], a["naf"], a["naf_section"], a["size_band"]) == ("ATELIER DU LEZ", "62.01Z", "J", "11")
    assert (a["size_label"], a["employees_min"], a["employees_max"]) == ("10 to 19 employees", 10, 19)
    assert a["is_sme"] and not a["is_large"] and a["commune"] == "34172" and not a["synthetic"]
    assert a.geometry.x == pytest.approx(3.8767, abs=1e-5) and a.geometry.y == pytest.approx(43.6108, abs=1e-5)
    b = s.loc["01234567800021"]
    assert (b["name"], b["size_band"], b["employees_max"], b["naf_section"]) == ("CAVE DU SUD", "NN", 0, "C")
    big = s.loc["09876543200010"]
    assert big["is_large"] and not big["is_sme"] and big["employees_min"] == 250 and big["name"].startswith("SIRET ")
    assert s["exporter"].isna().all()
    assert s.crs.to_epsg() == 4326
    # without a territory, every active establishment is kept
    assert len(read_sirene(p)) == 4


def test_read_sirene_geolocated_layouts(tmp_path):
    header = [c for c in STOCK_HEADER if not c.startswith("coordonnee")]
    rows = [r[:-2] for r in _stock_rows()]
    stock = _write(tmp_path / "stock.csv", header, rows)
    geo_header = [
        "siret",
        "x",
        "y",
        "qualite_xy",
        "epsg",
        "plg_qp",
        "plg_iris",
        "plg_zus",
        "plg_qva",
        "plg_code_commune",
        "distance_precision",
        "qualite_qp",
        "qualite_iris",
        "qualite_zus",
        "qualite_qva",
        "y_latitude",
        "x_longitude",
    ]
    geo_rows = []
    for r in _stock_rows():
        x, y = float(r[-2]), float(r[-1])
        lon, lat = pyproj.Transformer.from_crs(2154, 4326, always_xy=True).transform(x, y)
        geo_rows.append(
            [
                r[2],
                f"{x:.1f}",
                f"{y:.1f}",
                "11",
                "2154",
                "",
                "",
                "",
                "",
                r[8],
                "5",
                "",
                "",
                "",
                "",
                f"{lat:.6f}",
                f"{lon:.6f}",
            ]
        )
    geo = _write(tmp_path / "GeolocalisationEtablissement.csv", geo_header, geo_rows, sep=";")
    s = read_sirene(stock, geolocation=geo, territory="herault")
    assert list(s.index) == ["00572094400013", "01234567800021", "09876543200010"]
    assert s.loc["00572094400013"].geometry.x == pytest.approx(3.8767, abs=1e-5)

    # the same establishments with x/y/epsg columns in the table itself (no lon/lat)
    merged_header = [*header, "x", "y", "epsg"]
    merged_rows = [[*r[:-2], r[-2], r[-1], "2154"] for r in _stock_rows()]
    s2 = read_sirene(_write(tmp_path / "merged.csv", merged_header, merged_rows, sep=";"), territory="herault")
    assert s2.geometry.x.to_numpy() == pytest.approx(s.geometry.x.to_numpy(), abs=1e-6)

    with pytest.raises(LayerValidationError, match="looks like the INSEE geolocation file"):
        read_sirene(geo)
    with pytest.raises(LayerValidationError, match="no coordinate columns"):
        read_sirene(stock)


def test_read_sirene_frame_with_numbers():
    x, y = TO_L93.transform(3.8767, 43.6108)
    df = pd.DataFrame(
        {
            "siret": [572094400013],  # read as a number: the leading zeros are lost
            "etatAdministratifEtablissement": ["A"],
            "activitePrincipaleEtablissement": ["6201Z"],
            "trancheEffectifsEtablissement": [3],
            "codeCommuneEtablissement": [34172],
            "coordonneeLambertAbscisseEtablissement": [x],
            "coordonneeLambertOrdonneeEtablissement": [y],
            "exporter": ["oui"],
        }
    )
    s = read_sirene(df, territory="herault")
    row = s.loc["00572094400013"]
    assert (row["naf"], row["size_band"], row["employees_max"], row["commune"]) == ("62.01Z", "03", 9, "34172")
    assert bool(row["exporter"]) is True
    assert df["siret"].iloc[0] == 572094400013  # input untouched


def test_read_sirene_drops_unlocated_with_warning(tmp_path):
    rows = _stock_rows()
    rows[1][-2:] = ["[ND]", "[ND]"]
    p = _write(tmp_path / "nd.csv", STOCK_HEADER, rows)
    with pytest.warns(DataQualityWarning, match="1 of 3 establishments have no coordinates"):
        s = read_sirene(p, territory="herault")
    assert list(s.index) == ["00572094400013", "09876543200010"]


def test_read_sirene_errors(tmp_path):
    rows = _stock_rows()
    x, y = float(rows[0][-2]), float(rows[0][-1])
    rows[0][-2:] = [f"{y:.1f}", f"{x:.1f}"]  # Lambert x and y swapped
    with pytest.raises(LayerValidationError, match=r"smes \(SIRENE\).*outside the plausible bounds"):
        read_sirene(_write(tmp_path / "swap.csv", STOCK_HEADER, rows), territory="herault")
    dup = _stock_rows()[:1] * 2
    with pytest.raises(LayerValidationError, match=r"id is not unique.*'00572094400013'"):
        read_sirene(_write(tmp_path / "dup.csv", STOCK_HEADER, dup))
    with pytest.raises(LayerValidationError, match="no active establishment in département 34"):
        read_sirene(_write(tmp_path / "gard.csv", STOCK_HEADER, _stock_rows()[4:]), territory="herault")
    with pytest.raises(LayerValidationError, match=r"missing SIRENE column.*'trancheEffectifsEtablissement'"):
        read_sirene(pd.DataFrame({"siret": ["1"], "activitePrincipaleEtablissement": ["62.01Z"]}))
    with pytest.raises(DataFileError, match="does not exist"):
        read_sirene(tmp_path / "missing.csv")


def test_naf_section_table():
    got = naf_section(
        pd.Series(["01.21Z", "10.71C", "3320A", "35.11Z", "47.11F", "62.01Z", "84.11Z", "99.00Z", "00.00Z", None])
    )
    assert got.tolist()[:8] == ["A", "C", "C", "D", "G", "J", "O", "U"]
    assert got.isna().tolist()[8:] == [True, True]
    assert SIZE_BANDS["53"][2] is None and SIZE_BANDS["31"][1:] == (200, 249)


# --------------------------------------------------------------------------- synthetic SMEs


def test_synthetic_smes_deterministic(munis, roads, firms):
    again = synthetic_smes(munis, roads, n=6000, seed=0)
    pd.testing.assert_frame_equal(firms, again)
    other = synthetic_smes(munis, roads, n=6000, seed=1)
    assert not firms.geometry.geom_equals(other.geometry).all()
    assert (firms["naf"] != other["naf"]).any()


def test_synthetic_smes_labelled(firms):
    assert firms["synthetic"].all() and len(firms) == 6000 and firms.index.is_unique
    # ids: commune code and number in the commune (per-commune generation)
    assert firms.loc["synthetic:34172-0001", "name"] == "Synthetic firm 34172-0001"
    assert firms.loc["synthetic:34172-0001", "commune"] == "34172"
    assert firms["name"].str.startswith("Synthetic firm ").all()
    assert (firms.index.str.slice(10, 15) == firms["commune"]).all()


def test_synthetic_smes_by_rate_and_per_commune(munis, roads):
    rate = synthetic_smes(munis, roads, seed=0)  # default 4.9 per 1,000 inhabitants
    expected = 4.9 * 1_230_289 / 1000
    assert abs(len(rate) - expected) < 60  # stochastic rounding per commune: sd about sqrt(341/4)
    per = rate["commune"].value_counts().reindex(munis.index, fill_value=0)
    exact = 4.9 * munis["population"] / 1000
    assert ((per - np.floor(exact)).isin([0, 1])).all()  # floor or ceiling of the expected count
    # a commune's firms do not depend on the other communes of the territory
    sub = munis.loc[["34172", "34003", "34129"]]  # Montpellier, Agde, Lattes
    alone = synthetic_smes(sub, roads, seed=0)
    both = rate[rate["commune"].isin(sub.index)]
    assert list(alone.index) == list(both.index)
    pd.testing.assert_frame_equal(alone.drop(columns="geometry"), both.drop(columns="geometry"))
    assert alone.geometry.geom_equals_exact(both.geometry, tolerance=1e-9).all()
    # nor on how the roads are split or ordered
    shuffled = roads.iloc[::-1].explode(index_parts=False).reset_index(drop=True)
    again = synthetic_smes(sub, shuffled, seed=0)
    assert again.geometry.geom_equals_exact(alone.geometry, tolerance=1e-7).all()
    with pytest.raises(InputError, match=r"either n .* or per_1000_inhabitants"):
        synthetic_smes(sub, roads, n=10, per_1000_inhabitants=2.0)
    with pytest.raises(InputError, match="per_1000_inhabitants must be a positive number"):
        synthetic_smes(sub, roads, per_1000_inhabitants=-1.0)


def test_synthetic_smes_shares(firms):
    share = firms["naf_section"].value_counts(normalize=True)
    for s, expected in SECTION_SHARES.items():
        assert share.get(s, 0.0) == pytest.approx(expected, abs=0.02), s
    assert set(share.index) <= set(SECTION_SHARES)
    assert (naf_section(firms["naf"]) == firms["naf_section"]).all()
    micro = firms["employees_max"].le(9).mean()
    assert 0.70 <= micro <= 0.78
    large = firms["is_large"].mean()
    assert 0.002 <= large <= 0.007
    assert (firms["is_sme"] == ~firms["is_large"]).all()
    exp = firms.groupby(firms["employees_min"] >= 50)["exporter"].mean()
    assert exp[True] > 2 * exp[False]
    manuf = firms.loc[firms["naf_section"] == "C", "exporter"].mean()
    food = firms.loc[firms["naf_section"] == "I", "exporter"].mean()
    assert manuf > 3 * food


def test_synthetic_smes_follow_population(munis, firms):
    per = firms["commune"].value_counts().reindex(munis.index, fill_value=0)
    assert np.corrcoef(per, munis["population"])[0, 1] > 0.95
    assert per["34172"] == pytest.approx(6000 * 310_240 / 1_230_289, rel=0.1)


def test_synthetic_smes_on_roads_in_communes(munis, roads, firms):
    assert (firms["placement"] == "road").all()
    pts = firms.to_crs(2154)
    polys = munis.to_crs(2154).geometry.reindex(firms["commune"]).to_numpy()
    assert shapely.distance(polys, pts.geometry.to_numpy()).max() < 1.0
    lines = roads.to_crs(2154)
    tree = shapely.STRtree(lines.geometry.to_numpy())
    _, dist = tree.query_nearest(pts.geometry.to_numpy(), return_distance=True, all_matches=False)
    assert dist.max() < 5.0


def test_synthetic_smes_polygon_fallback():
    square = Polygon([(3.5, 43.5), (3.6, 43.5), (3.6, 43.6), (3.5, 43.6)])
    other = Polygon([(3.6, 43.5), (3.7, 43.5), (3.7, 43.6), (3.6, 43.6)])
    m = gpd.GeoDataFrame({"population": [100, 100]}, geometry=[square, other], crs=4326, index=["A", "B"])
    r = gpd.GeoDataFrame(geometry=[LineString([(3.61, 43.55), (3.69, 43.55)])], crs=4326)
    f = synthetic_smes(m, r, n=200, seed=3)
    assert set(f.loc[f["commune"] == "A", "placement"]) == {"polygon"}
    assert set(f.loc[f["commune"] == "B", "placement"]) == {"road"}
    assert f.loc[f["commune"] == "A"].within(square).all()
    assert f.loc[f["commune"] == "B"].geometry.y.to_numpy() == pytest.approx(43.55, abs=1e-4)


def test_synthetic_smes_errors(munis, roads):
    with pytest.raises(InputError, match="n must be a positive integer"):
        synthetic_smes(munis, roads, n=0)
    with pytest.raises(InputError, match="large_share must be in"):
        synthetic_smes(munis, roads, large_share=1.5)
    with pytest.raises(InputError, match="unknown key\\(s\\) 'Z'"):
        synthetic_smes(munis, roads, section_shares={"Z": 1.0})
    with pytest.raises(LayerValidationError, match=r"'roads'.*no CRS"):
        synthetic_smes(munis, roads.set_crs(None, allow_override=True), n=10)
    with pytest.raises(LayerValidationError, match="missing column\\(s\\) 'pop'"):
        synthetic_smes(munis, roads, n=10, population_column="pop")
    with pytest.raises(DataFileError, match=r"no Travel Mapping \.wpt file"):
        roads_from_travelmapping("/nonexistent-folder")


# --------------------------------------------------------------------------- validation


def _pts(lons, lats, ids=None, crs=4326):
    ids = ids or [f"p{i}" for i in range(len(lons))]
    return gpd.GeoDataFrame({"id": ids, "name": ids}, geometry=gpd.points_from_xy(lons, lats), crs=crs)


def test_validate_ok_and_not_mutated():
    g = _pts([3.8, 3.9], [43.6, 43.7])
    before = g.copy()
    assert validate_layer(g, "demo", required_columns=["name"], geom_types=["Point"], bounds_wgs84=BOUNDS) is g
    pd.testing.assert_frame_equal(g, before)


def test_validate_missing_crs():
    with pytest.raises(LayerValidationError, match=r"layer 'demo'.*has no CRS; set it"):
        validate_layer(_pts([3.8], [43.6], crs=None), "demo", bounds_wgs84=BOUNDS)


def test_validate_swapped_latlon():
    with pytest.raises(LayerValidationError, match=r"2 row\(s\) \(id 'p0', 'p1'\).*look swapped"):
        validate_layer(_pts([43.6, 43.7], [3.8, 3.9]), "demo", bounds_wgs84=BOUNDS)


def test_validate_projected_coordinates_labelled_wgs84():
    with pytest.raises(LayerValidationError, match="look projected"):
        validate_layer(_pts([770000.0], [6279000.0]), "demo", bounds_wgs84=BOUNDS)


def test_validate_outside_bounds_without_swap():
    with pytest.raises(LayerValidationError, match=r"outside the plausible bounds.*check the CRS"):
        validate_layer(_pts([2.35], [48.85]), "demo", bounds_wgs84=BOUNDS)  # Paris


def test_validate_empty():
    with pytest.raises(LayerValidationError, match="is empty"):
        validate_layer(_pts([], []), "demo")


def test_validate_duplicate_ids():
    with pytest.raises(LayerValidationError, match=r"id is not unique: 1 value\(s\) repeated \('a'\)"):
        validate_layer(_pts([3.8, 3.9], [43.6, 43.7], ids=["a", "a"]), "demo")


def test_validate_missing_column():
    with pytest.raises(LayerValidationError, match=r"missing column\(s\) 'category'"):
        validate_layer(_pts([3.8], [43.6]), "demo", required_columns=["name", "category"])


def test_validate_invalid_and_empty_geometry():
    bowtie = Polygon([(3.8, 43.6), (3.9, 43.7), (3.9, 43.6), (3.8, 43.7)])
    g = gpd.GeoDataFrame({"id": ["bow", "void"]}, geometry=[bowtie, Polygon()], crs=4326)
    with pytest.raises(
        LayerValidationError, match=r"2 problem\(s\).*empty geometry.*invalid geometries.*Self-intersection.*make_valid"
    ):
        validate_layer(g, "demo", geom_types=["Polygon"])


def test_validate_collects_all_problems():
    g = gpd.GeoDataFrame({"id": ["a", "a"]}, geometry=[Point(43.6, 3.8), None])
    with pytest.raises(LayerValidationError) as err:
        validate_layer(g, "demo", required_columns=["name"], geom_types=["Point"], bounds_wgs84=BOUNDS)
    assert err.value.layer == "demo"
    assert len(err.value.problems) == 4  # missing column, no CRS, no geometry, duplicate id
    assert isinstance(err.value, ValueError)


def test_validate_not_a_geodataframe():
    with pytest.raises(LayerValidationError, match="expected a GeoDataFrame, got DataFrame"):
        validate_layer(pd.DataFrame({"id": [1]}), "demo")


def test_all_layers_within_bounds(munis, gw, sup, firms):
    for name, layer in (("municipalities", munis), ("gateways", gw), ("support", sup), ("smes", firms)):
        b = layer.total_bounds
        assert BOUNDS[0] <= b[0] and b[2] <= BOUNDS[2] and BOUNDS[1] <= b[1] and b[3] <= BOUNDS[3], name
        assert layer.crs.to_epsg() == 4326, name
        assert layer.index.is_unique and layer.index.name is None, name
    assert len(list(itertools.chain(gw.index, sup.index, firms.index))) == len(
        set(gw.index) | set(sup.index) | set(firms.index)
    )
