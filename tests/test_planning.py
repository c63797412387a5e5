"""Planner tools on the default territory: incubator siting and export groups, end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from proximity import layers, planning
from proximity.errors import InputError


@pytest.fixture(scope="module")
def incubator(herault, herault_scores):
    return planning.plan_incubator(
        herault, grid_spacing_m=5000, p_max=2, median_candidates=40, base_scores=herault_scores
    )


def test_incubator_candidates_are_ranked_with_criteria(incubator):
    c = incubator.candidates
    assert len(c) > 150
    for col in (
        "minutes_airport",
        "smes_within_t",
        "exporters_within_t",
        "support_within_t",
        "minutes_tgv",
        "minutes_motorway",
        "score",
        "rank",
        "pareto",
    ):
        assert col in c
    assert c["rank"].is_monotonic_increasing and c["rank"].iloc[0] == 1
    assert c["pareto"].any()
    # Pareto: no other candidate is at least as close to the airport and covers more SMEs
    for i in c.index[c["pareto"]]:
        a, s = c.loc[i, "minutes_airport"], c.loc[i, "smes_within_t"]
        assert not ((c["minutes_airport"] <= a) & (c["smes_within_t"] > s)).any()
    # the best sites are in the Montpellier area, near the airport (Torres 2002: near Montpellier airport)
    best = c.iloc[0]
    assert best["minutes_airport"] < 25 and best["smes_within_t"] > 2000


def test_location_allocation_sweeps(incubator):
    cov, med = incubator.covering.table, incubator.median.table
    assert incubator.covering.sites_of(2) == list(
        incubator.chosen.index[incubator.chosen["model"] == "maximal_covering"]
    )
    assert list(cov.index) == [1, 2] and list(med.index) == [1, 2]
    assert cov["objective"].is_monotonic_increasing  # more sites never cover less
    assert med["objective"].is_monotonic_decreasing  # more sites never cost more
    assert (cov["mip_gap"] <= 1e-3).all() and set(cov["status"]) == {"optimal"}
    chosen = incubator.chosen
    assert set(chosen["model"]) == {"maximal_covering", "p_median"}
    assert len(chosen[chosen["model"] == "maximal_covering"]) == 2
    covered = incubator.covered_smes
    assert set(covered["site_id"]) <= set(chosen.index)
    weights = np.maximum(covered["employees_min"].fillna(1), 1).sum()
    assert weights == pytest.approx(cov.loc[2, "objective"])


def test_what_if_adds_the_incubator_and_never_lowers_the_index(incubator):
    w = incubator.what_if.municipalities
    assert len(w) == 341
    assert incubator.what_if.site_id == incubator.covering.sites_of(1)[0]
    assert incubator.what_if.site_name.startswith("Planned incubator (")
    # an extra support body never lowers the raw access; the index is relative (min-max across
    # communes), so a commune far from the site may lose a little to those that gain
    assert (w["support_gravity_after"] >= w["support_gravity_before"] - 1e-9).all()
    assert (w["support_within_t_after"] >= w["support_within_t_before"]).all()
    assert (w["index_change"] > 0).sum() > 160  # about half gain (169 of 341 with edge snapping)
    near = w.sort_values("minutes_to_site").head(20)["index_change"].mean()
    far = w.sort_values("minutes_to_site").tail(20)["index_change"].mean()
    assert near > far


def test_incubator_outputs(incubator, herault, tmp_path):
    written = planning.write_incubator_plan(incubator, herault, tmp_path)
    names = {p.name for p in written}
    assert {"sites.csv", "sites.gpkg", "covering.csv", "median.csv", "what_if.csv", "provenance.json"} <= names
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["result"]["best_site"] == incubator.candidates.index[0]
    assert prov["smes"]["synthetic"] is True
    assert prov["result"]["what_if_site"] == incubator.what_if.site_id
    assert prov["result"]["covering_sites"] == incubator.covering.sites_of(2)
    cov = pd.read_csv(tmp_path / "covering.csv", index_col="p")
    assert cov.loc[2, "sites"].split(" ") == incubator.covering.sites_of(2)


def test_incubator_business_park_candidates(herault, herault_scores):
    plan = planning.plan_incubator(herault, candidates="business_parks", p_max=1, what_if=False)
    assert set(plan.candidates["source"]) == {"business_park"}
    assert len(plan.candidates) == len(layers.business_parks())
    with pytest.raises(InputError, match="needs a candidates file"):
        planning.plan_incubator(herault, candidates="user", what_if=False)
    with pytest.raises(InputError, match="candidates 'moon' is unknown"):
        planning.plan_incubator(herault, candidates="moon", what_if=False)


def test_demand_cells_conserve_weight(herault):
    w = pd.Series(np.arange(len(herault.smes), dtype=float), index=herault.smes.index)
    cells = planning.demand_cells(herault.smes, w, cell_m=2000)
    assert cells["weight"].sum() == pytest.approx(w.sum())
    assert cells["smes"].sum() == len(herault.smes)
    assert len(cells) < len(herault.smes)


@pytest.fixture(scope="module")
def export_groups(herault):
    return planning.plan_export_groups(
        herault, sections=["C", "J"], max_minutes=30, method="heuristic", time_limit_s=10, seed=1
    )


def test_export_groups_feasible_on_the_default_territory(herault, export_groups):
    res, sel = export_groups.result, export_groups.selected
    assert set(sel["naf_section"]) <= {"C", "J"}
    g = res.groups
    assert len(g) > 50
    assert g["n"].between(3, 5).all()
    assert (g["max_pair_minutes"] <= 30 + 1e-9).all()
    tours = [res.members_of(i) for i in g.index]
    members = [m for ms in tours for m in ms]
    assert len(members) == len(set(members)) == res.n_placed == len(res.members)
    assert (res.members["naf_class"] == sel.loc[res.members.index, "naf"].str[:5]).all()
    # no two members of a group compete (same NAF class)
    for ms in tours:
        naf = sel.loc[list(ms), "naf"].str[:5]
        assert naf.is_unique
    # every SME is placed or listed with a reason
    assert res.n_placed + len(res.unplaced) == len(sel)
    assert res.unplaced["reason"].str.len().gt(10).all()
    assert 0 <= res.gap < 1 and res.bound <= res.objective + 1e-9


def test_export_groups_per_municipality_and_outputs(herault, export_groups, tmp_path):
    per = export_groups.per_municipality
    assert per.index.equals(herault.municipalities.index)
    assert per.sum() >= len(export_groups.result.groups)  # a group may span communes
    written = planning.write_export_groups(export_groups, herault, tmp_path)
    assert {"groups.csv", "members.csv", "unplaced.csv", "groups.gpkg", "provenance.json"} <= {p.name for p in written}
    import geopandas as gpd

    tours = gpd.read_file(tmp_path / "groups.gpkg", layer="tours")
    assert len(tours) == len(export_groups.result.groups)
    assert (tours.geometry.geom_type == "LineString").all()
    csv = pd.read_csv(tmp_path / "groups.csv", index_col="group_id")
    assert csv.loc[1, "members"].split(" ") == export_groups.result.members_of(1)
    assert len(csv.loc[1, "naf_classes"].split(" ")) == csv.loc[1, "n"]


def test_export_group_selection_errors(herault):
    with pytest.raises(InputError):
        planning.plan_export_groups(herault, sections=["Z"])
