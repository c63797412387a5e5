"""Planner tools on a territory: incubator siting and export groups, end to end.

:mod:`proximity.siting` and :mod:`proximity.groups` hold the models on travel-time tables;
this module feeds them the territory's layers and network, and gathers what a planner
needs: ranked candidates, location-allocation sweeps, a what-if of the milieu index, the
groups formed and their count per municipality.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import _io, defaults, layers, milieu, scores, siting, traveltime
from . import groups as _groups
from .config import profile_to_dict
from .errors import DataQualityWarning, InputError, UnreachableWarning
from .provenance import build_provenance
from .territory import Territory

__all__ = [
    "IncubatorPlan",
    "WhatIf",
    "plan_incubator",
    "write_incubator_plan",
    "demand_cells",
    "ExportGroupPlan",
    "plan_export_groups",
    "write_export_groups",
]

CANDIDATE_KINDS = ("grid", "business_parks", "municipalities", "user")


@dataclass(frozen=True)
class WhatIf:
    """The milieu index recomputed with a planned incubator (:func:`plan_incubator`).

    Attributes
    ----------
    site_id : str
        The candidate added as an ``incubator`` support body (the best single maximal
        covering site).
    site_name : str
        Its name, as given to the support body.
    municipalities : GeoDataFrame
        Per municipality: ``index_before``/``_after``/``_change``, ``rank_before``/
        ``_after``/``_change``, ``support_gravity_before``/``_after``,
        ``support_within_t_before``/``_after`` and ``minutes_to_site``.
    """

    site_id: str
    site_name: str
    municipalities: gpd.GeoDataFrame


@dataclass
class IncubatorPlan:
    """Everything :func:`plan_incubator` found.

    Attributes
    ----------
    candidates : GeoDataFrame
        Every candidate with its criteria, ``score``, ``rank`` and ``pareto`` flag.
    covering, median : proximity.siting.SweepResult
        Maximal covering and p-median sweeps over p = 1..p_max: ``table`` (objective,
        gap... per p) and ``sites`` (long: the sites chosen for each p).
    chosen : GeoDataFrame
        The sites of the maximal covering solution with ``p_max`` sites (``model`` column)
        and the p-median one, with the SMEs each covers.
    covered_smes : GeoDataFrame
        SMEs within ``within_minutes`` of a chosen maximal-covering site (``site_id``).
    what_if : WhatIf or None
        The site added as an ``incubator`` support body and, per municipality, the
        milieu index before/after, the change and the rank change.
    """

    candidates: gpd.GeoDataFrame
    covering: siting.SweepResult
    median: siting.SweepResult
    chosen: gpd.GeoDataFrame
    covered_smes: gpd.GeoDataFrame
    what_if: WhatIf | None
    parameters: dict = field(default_factory=dict)


def _candidates(territory: Territory, kind: str, *, user_file, grid_spacing_m: float) -> gpd.GeoDataFrame:
    outline = territory.municipalities.dissolve()
    if kind == "grid":
        return siting.candidates_from_grid(outline, grid_spacing_m=grid_spacing_m)
    if kind == "business_parks":
        return siting.candidates_from_business_parks(layers.business_parks(territory.name), outline, name_column="name")
    if kind == "municipalities":
        return siting.candidates_from_municipalities(territory.municipalities, outline, name_column="name")
    if kind == "user":
        if user_file is None:
            raise InputError("candidates='user' needs a candidates file (CSV with lat/lon or a vector file of points)")
        return siting.candidates_from_file(user_file, outline)
    raise InputError(f"candidates {kind!r} is unknown; choose one of {', '.join(CANDIDATE_KINDS)}")


def _known_exporters(smes: gpd.GeoDataFrame) -> pd.Series | None:
    """The exporter flags, or None (criterion left out, with a warning) when no SME's status is known."""
    if "exporter" not in smes or (len(smes) and smes["exporter"].isna().all()):
        warnings.warn(
            "exporter status is unknown for every SME (SIRENE has no exporter flag): the site criterion "
            "exporters_within_t is left out; add an 'exporter' column (true/false) to your --smes file to use it",
            DataQualityWarning,
            stacklevel=3,
        )
        return None
    return smes["exporter"].fillna(False).astype(bool)


def plan_incubator(
    territory: Territory,
    *,
    candidates: str = "grid",
    candidates_file: str | Path | gpd.GeoDataFrame | None = None,
    grid_spacing_m: float = defaults.SITE_GRID_SPACING_M,
    within_minutes: float = defaults.SITE_WITHIN_MINUTES,
    p_max: int = defaults.SITE_P_MAX,
    median_candidates: int = 80,
    median_cell_m: float = 2000.0,
    weights: dict[str, float] | None = None,
    what_if: bool = True,
    base_scores: scores.ScoreResult | None = None,
    profile: milieu.Profile | None = None,
    progress: Callable[[str], None] | None = None,
) -> IncubatorPlan:
    """Choose an incubator site for international trade on a territory.

    Candidates (a grid, business parks, municipality centres or the user's file) get the
    criteria of :func:`proximity.siting.site_criteria` — minutes to the airport, SMEs and
    exporters within ``within_minutes``, support bodies within reach and their gravity
    access, minutes to a TGV station and to motorway access — a weighted rank and a Pareto
    flag (minutes to the airport vs SMEs covered). Location-allocation then sweeps
    p = 1..``p_max``: maximal covering of SMEs (weighted by their lower employee bound,
    at least 1) on all candidates, and p-median on the ``median_candidates`` best ranked
    ones with the SMEs aggregated into ``median_cell_m`` grid cells (:func:`demand_cells`;
    both restrictions keep the MIP small: without them one p-median solve on the default
    territory takes minutes). Finally the best single covering site is added as an
    ``incubator`` support body and the milieu index recomputed.

    The support-access criterion and the what-if use the scoring ``profile`` (default:
    ``base_scores.profile``, else the shipped one): its decay weights the support
    bodies, up to its gravity horizon.

    Parameters
    ----------
    territory : proximity.territory.Territory
        Layers and network (:func:`proximity.territory.load_territory`).
    candidates : {"grid", "business_parks", "municipalities", "user"}
        Where the candidate sites come from (:data:`CANDIDATE_KINDS`).
    candidates_file : path or GeoDataFrame, optional
        The user's candidates (a CSV with lat/lon or a vector file of points), required
        with ``candidates="user"``.
    grid_spacing_m : float
        Spacing of the ``"grid"`` candidates, in metres.
    within_minutes : float
        The travel time of the "within reach" criteria and of the maximal covering.
    p_max : int
        Largest number of sites of the location-allocation sweeps (at least 1).
    median_candidates : int
        The best ranked candidates the p-median chooses from (at least ``p_max``).
    median_cell_m : float
        Cell size of the p-median's demand aggregation, in metres (:func:`demand_cells`).
    weights : dict, optional
        Criterion weights of the ranking; default :data:`proximity.siting.DEFAULT_WEIGHTS`.
    what_if : bool
        Add the best covering site as an incubator and recompute the milieu index.
    base_scores : proximity.scores.ScoreResult, optional
        The territory's scores before the incubator (computed when needed and not given).
    profile : proximity.milieu.Profile, optional
        The scoring profile; default ``base_scores.profile``, else the shipped one.
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    IncubatorPlan
        The ranked candidates, both sweeps, the chosen sites, the SMEs covered, the
        what-if (or None) and the parameters.

    Raises
    ------
    InputError
        A bad option, or no candidate within reach of the road network.
    """
    say = progress or (lambda msg: None)
    if p_max < 1:
        raise InputError(f"p_max must be at least 1, got {p_max}")
    if profile is None:
        profile = base_scores.profile if base_scores is not None else milieu.load_profile()
    csr = territory.csr
    say(f"{candidates} candidates")
    cand = _candidates(territory, candidates, user_file=candidates_file, grid_spacing_m=grid_spacing_m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachableWarning)
        snapped = traveltime.snap(csr, cand)
    cand = cand[snapped["reachable"].to_numpy()]
    if cand.empty:
        raise InputError(
            "no candidate site lies within reach of the road network; give candidates inside the territory"
        )
    smes = territory.smes
    weights_sme = np.maximum(smes["employees_min"].fillna(1).astype(float), 1.0).rename("weight")
    gws = layers.on_network(territory.gateways)
    sup = layers.on_network(territory.support_bodies)
    say(f"travel times from {len(cand)} candidates")
    od_smes = traveltime.od_matrix(csr, cand, smes[["geometry"]], max_minutes=max(within_minutes, 60.0))
    groups_ = scores.gateway_groups(gws)
    near = traveltime.nearest_table(csr, cand, groups_, by="group")
    od_sup = traveltime.od_matrix(csr, cand, sup[["geometry"]], max_minutes=profile.decay.horizon_minutes)
    crit = siting.site_criteria(
        od_smes,
        within_minutes=within_minutes,
        exporters=_known_exporters(smes),
        airport=near["minutes_airport"],
        tgv=near["minutes_tgv_station"],
        motorway=near["minutes_motorway_access"],
        support=od_sup,
        support_weights=sup["capacity"].astype(float),
        support_decay=profile.decay.function,
        candidates=cand,
    )
    ranked = siting.rank_sites(crit, weights=weights)
    pareto = siting.pareto_front(crit)
    table = cand.join(crit).join(ranked[["score", "rank"]]).assign(pareto=pareto)
    table = gpd.GeoDataFrame(table, geometry=cand.geometry, crs=cand.crs).sort_values("rank")

    say("maximal covering")
    od_cover = od_smes[od_smes["minutes"] <= within_minutes]
    covering, best_cover = _sweep(
        siting.maximal_covering,
        od_cover,
        p_max,
        demand_weights=weights_sme,
        max_minutes=within_minutes,
        candidates=cand,
        time_limit_s=120,
    )
    say("p-median")
    top = table.index[: max(median_candidates, p_max)]
    cells = demand_cells(smes, weights_sme, cell_m=median_cell_m, crs=territory.manifest.crs)
    od_med = traveltime.od_matrix(csr, cand.loc[top], cells[["geometry"]], max_minutes=90.0)
    median, best_median = _sweep(
        siting.p_median, od_med, p_max, demand_weights=cells["weight"], candidates=top, time_limit_s=120
    )
    chosen = pd.concat(
        [
            table.loc[list(best_cover.sites)].assign(model="maximal_covering").join(best_cover.per_site),
            table.loc[list(best_median.sites)].assign(model="p_median").join(best_median.per_site),
        ]
    )
    chosen = gpd.GeoDataFrame(chosen, geometry="geometry", crs=cand.crs)
    asg = best_cover.assignment
    served = asg["served"].to_numpy(dtype=bool)
    covered = smes.loc[asg.index[served]].assign(site_id=asg.loc[served, "site_id"].to_numpy())

    wi: WhatIf | None = None
    if what_if:
        say("what-if: milieu index with the incubator")
        site_id = covering.sites_of(1)[0]
        site_name = f"Planned incubator ({cand.loc[site_id, 'name'] or site_id})"
        new_sup = siting.add_site_as_support(
            territory.support_bodies, cand.loc[[site_id]], category="incubator", name=site_name
        )
        new_sup["on_network"] = new_sup["on_network"].fillna(True).astype(bool)
        before = base_scores or scores.score_territory(territory, profile=profile)
        after = scores.score_territory(replace(territory, support_bodies=new_sup), profile=profile)
        b, a = before.municipalities, after.municipalities
        by_muni = gpd.GeoDataFrame(
            {
                "insee": b["insee"],
                "name": b["name"],
                "index_before": b["index"],
                "index_after": a["index"],
                "index_change": a["index"] - b["index"],
                "rank_before": b["rank"],
                "rank_after": a["rank"],
                "rank_change": b["rank"] - a["rank"],
                "support_gravity_before": b["support_gravity"],
                "support_gravity_after": a["support_gravity"],
                "support_within_t_before": b["support_within_t"],
                "support_within_t_after": a["support_within_t"],
            },
            geometry=b.geometry,
            crs=b.crs,
        )
        centres = gpd.GeoDataFrame(geometry=b.geometry.representative_point(), index=b.index, crs=b.crs)
        by_muni["minutes_to_site"] = traveltime.nearest_table(csr, centres, cand.loc[[site_id]])["minutes"].to_numpy()
        wi = WhatIf(site_id=str(site_id), site_name=site_name, municipalities=by_muni)
    params = {
        "candidates": candidates,
        "grid_spacing_m": grid_spacing_m,
        "within_minutes": within_minutes,
        "p_max": p_max,
        "median_candidates": median_candidates,
        "weights": weights or siting.DEFAULT_WEIGHTS,
        "n_candidates": len(cand),
        "profile": {"source": profile.source, "user_keys": list(profile.user_keys), **profile_to_dict(profile)},
    }
    return IncubatorPlan(
        candidates=table,
        covering=covering,
        median=median,
        chosen=chosen,
        covered_smes=covered,
        what_if=wi,
        parameters=params,
    )


def _sweep(model, od: pd.DataFrame, p_max: int, **kw) -> tuple[siting.SweepResult, siting.LocationResult]:
    """Solve a location model for p = 1..p_max: one row per p, the sites of each p, and the p_max solution."""
    rows: list[dict[str, Any]] = []
    chosen: list[tuple[int, Any]] = []
    last: siting.LocationResult | None = None
    for p in range(1, p_max + 1):
        last = model(od, p=p, **kw)
        rows.append(
            {
                "p": p,
                "objective": last.objective,
                "served_weight": last.served_weight,
                "served_share": last.served_weight / last.total_weight if last.total_weight else 0.0,
                "mean_minutes": last.mean_minutes,
                "status": last.status,
                "mip_gap": last.mip_gap,
                "solver": last.solver,
                "seconds": last.seconds,
            }
        )
        chosen.extend((p, s) for s in last.sites)
    if last is None:  # the callers check p_max >= 1
        raise InputError(f"p_max must be at least 1, got {p_max}")
    table = pd.DataFrame(rows).set_index("p")
    table["objective_change"] = table["objective"].diff()
    return siting.SweepResult(table=table, sites=pd.DataFrame(chosen, columns=["p", "site_id"])), last


def demand_cells(
    smes: gpd.GeoDataFrame, weights: pd.Series, *, cell_m: float = 2000.0, crs: str = "EPSG:2154"
) -> gpd.GeoDataFrame:
    """SMEs aggregated into square cells: one demand point per cell at the weighted centroid.

    The usual demand aggregation of location models; its error is at most about half a
    cell's diagonal of travel at the access speed.

    Parameters
    ----------
    smes : GeoDataFrame
        The SME points (any CRS).
    weights : Series
        Demand weight per SME, indexed like ``smes`` (a missing weight counts 0).
    cell_m : float
        Cell size in metres of ``crs`` (positive).
    crs : str
        The metric CRS of the cells.

    Returns
    -------
    GeoDataFrame
        In EPSG:4326, indexed ``cell:<i>_<j>``, with ``weight`` (sum) and ``smes`` (count);
        a cell of zero weight sits at its SMEs' mean position.

    Raises
    ------
    InputError
        ``cell_m`` is not positive.
    """
    if cell_m <= 0:
        raise InputError(f"cell_m must be positive, got {cell_m}")
    pts = smes.geometry.to_crs(crs)
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    w = weights.reindex(smes.index).fillna(0).to_numpy(dtype=float)
    key = pd.Series(
        [f"cell:{int(i)}_{int(j)}" for i, j in zip(np.floor(x / cell_m), np.floor(y / cell_m), strict=True)],
        index=smes.index,
    )
    df = pd.DataFrame({"key": key.to_numpy(), "w": w, "wx": w * x, "wy": w * y, "x": x, "y": y})
    g = df.groupby("key", sort=True)
    tot = g["w"].sum()
    cx = np.where(tot > 0, g["wx"].sum() / tot.where(tot > 0, 1), g["x"].mean())
    cy = np.where(tot > 0, g["wy"].sum() / tot.where(tot > 0, 1), g["y"].mean())
    out = gpd.GeoDataFrame(
        {"weight": tot.to_numpy(), "smes": g.size().to_numpy()},
        index=tot.index.to_numpy(),
        geometry=gpd.points_from_xy(cx, cy),
        crs=crs,
    )
    return out.to_crs("EPSG:4326")


@dataclass
class ExportGroupPlan:
    """Export groups formed on a territory, with the SMEs selected and the groups per municipality."""

    result: _groups.GroupsResult
    selected: gpd.GeoDataFrame
    per_municipality: pd.Series
    parameters: dict = field(default_factory=dict)


def plan_export_groups(
    territory: Territory,
    *,
    sections: list[str] | None = None,
    size_bands: list[str] | None = None,
    exporter: bool | None = None,
    communes: list[str] | None = None,
    max_minutes: float = defaults.GROUP_MAX_MINUTES,
    min_size: int = defaults.GROUP_MIN_SIZE,
    max_size: int = defaults.GROUP_MAX_SIZE,
    rule: str = "naf_class",
    method: str = "auto",
    time_limit_s: float = defaults.GROUP_TIME_LIMIT_S,
    seed: int = defaults.GROUP_SEED,
    progress: Callable[[str], None] | None = None,
) -> ExportGroupPlan:
    """Select SMEs and partition them into export groups sharing one export executive.

    See :func:`proximity.groups.form_groups` for the model (3–5 members within
    ``max_minutes`` of each other, no two competing, minimal executive tour).

    Parameters
    ----------
    territory : proximity.territory.Territory
        Layers and network (:func:`proximity.territory.load_territory`).
    sections, size_bands, exporter, communes : optional
        The selection of SMEs, see :func:`proximity.groups.select_smes`.
    max_minutes : float
        Largest travel time between two members, in minutes.
    min_size, max_size : int
        Group sizes allowed.
    rule : str
        Competition rule, see :func:`proximity.groups.competes`.
    method : {"auto", "exact", "heuristic"}
        Solver, see :func:`proximity.groups.form_groups`.
    time_limit_s : float
        Time budget of the solvers, in seconds.
    seed : int
        Seed of the heuristic's random orders.
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    ExportGroupPlan
        The groups, the SMEs selected, the number of groups per municipality and the
        parameters.
    """
    say = progress or (lambda msg: None)
    sel = _groups.select_smes(
        territory.smes, sections=sections, size_bands=size_bands, exporter=exporter, communes=communes
    )
    say(f"travel times between {len(sel)} SMEs")
    od = traveltime.od_matrix(territory.csr, sel[["geometry"]], sel[["geometry"]], max_minutes=max_minutes)
    od = od[od["origin_id"] != od["destination_id"]]
    say("forming groups")
    res = _groups.form_groups(
        sel,
        od,
        min_size=min_size,
        max_size=max_size,
        max_minutes=max_minutes,
        rule=rule,
        method=method,
        time_limit_s=time_limit_s,
        seed=seed,
    )
    per = _groups.groups_per_municipality(res, sel).reindex(territory.municipalities.index, fill_value=0)
    params = {
        "sections": sections,
        "size_bands": size_bands,
        "exporter": exporter,
        "communes": communes,
        "max_minutes": max_minutes,
        "min_size": min_size,
        "max_size": max_size,
        "rule": rule,
        "method": method,
        "time_limit_s": time_limit_s,
        "seed": seed,
    }
    return ExportGroupPlan(result=res, selected=sel, per_municipality=per, parameters=params)


def _prov(territory: Territory, params: dict) -> dict:
    return build_provenance(territory, parameters=params)


def write_incubator_plan(plan: IncubatorPlan, territory: Territory, out: Path) -> list[Path]:
    """``sites.csv`` / ``sites.gpkg`` (ranked candidates, chosen sites, covered SMEs, what-if),
    ``covering.csv``, ``median.csv``, ``what_if.csv`` and ``provenance.json``, atomically.

    Parameters
    ----------
    plan : IncubatorPlan
        The result of :func:`plan_incubator`.
    territory : proximity.territory.Territory
        The territory planned on (for the provenance).
    out : pathlib.Path
        Output folder (created if needed).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    cand = _io.for_file(plan.candidates)
    layers_ = {"candidates": cand, "chosen": _io.for_file(plan.chosen), "covered_smes": _io.for_file(plan.covered_smes)}
    written = [_io.write_csv(cand, out / "sites.csv", index=False, float_format="%.10g")]
    for name, sw in (("covering", plan.covering), ("median", plan.median)):
        t = sw.table.copy()
        t.insert(list(t.columns).index("status"), "sites", [" ".join(map(str, sw.sites_of(p))) for p in t.index])
        written.append(_io.write_csv(t, out / f"{name}.csv", float_format="%.10g"))
    if plan.what_if is not None:
        layers_["what_if"] = plan.what_if.municipalities
        written.append(
            _io.write_csv(plan.what_if.municipalities, out / "what_if.csv", index=False, float_format="%.10g")
        )
    written.append(_io.write_gpkg(layers_, out / "sites.gpkg"))
    prov = _prov(territory, plan.parameters)
    prov["result"] = {
        "best_site": plan.candidates.index[0],
        "covering_sites": plan.covering.sites_of(int(plan.covering.table.index[-1])),
        "median_sites": plan.median.sites_of(int(plan.median.table.index[-1])),
        "what_if_site": plan.what_if.site_id if plan.what_if is not None else None,
    }
    written.append(_io.write_json(prov, out / "provenance.json"))
    return written


def write_export_groups(plan: ExportGroupPlan, territory: Territory, out: Path) -> list[Path]:
    """``groups.csv``, ``members.csv``, ``unplaced.csv``, ``groups.gpkg`` (members and tours) and provenance.

    Parameters
    ----------
    plan : ExportGroupPlan
        The result of :func:`plan_export_groups`.
    territory : proximity.territory.Territory
        The territory planned on (for the provenance).
    out : pathlib.Path
        Output folder (created if needed).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    import shapely

    res = plan.result
    # the members in tour order, joined as text in groups.csv for a reader of the table
    ordered = res.members.sort_values(["group_id", "tour_position"], kind="stable").reset_index()
    by = ordered.groupby("group_id", sort=True)
    tours_of = by["sme_id"].agg(list).reindex(res.groups.index)
    g = res.groups.copy()
    g.insert(0, "members", tours_of.map(lambda v: " ".join(map(str, v))))
    for pos, (col, src) in enumerate((("naf_sections", "naf_section"), ("naf_classes", "naf_class")), start=2):
        g.insert(pos, col, by[src].agg(lambda s: " ".join(map(str, s))).reindex(res.groups.index))
    g = g.rename_axis("group_id").reset_index()
    sel = plan.selected
    members = res.members.drop(columns=["naf_section", "naf_class"]).rename_axis("sme_id").reset_index()
    info = sel[["name", "naf", "naf_section", "commune", "synthetic"]]
    mem_gdf = gpd.GeoDataFrame(
        members.join(info, on="sme_id"), geometry=sel.geometry.reindex(members["sme_id"]).to_numpy(), crs=sel.crs
    )
    tours = []
    for base, order in zip(res.groups["base_id"], tours_of, strict=True):
        stops = list(order) if base in order else [base, *order]
        coords = [(sel.geometry[m].x, sel.geometry[m].y) for m in stops]
        tours.append(shapely.LineString(coords + coords[:1]))
    tour_gdf = gpd.GeoDataFrame(g, geometry=tours, crs=sel.crs)
    written = [
        _io.write_csv(g, out / "groups.csv", index=False, float_format="%.10g"),
        _io.write_csv(mem_gdf, out / "members.csv", index=False),
        _io.write_csv(res.unplaced.rename_axis("sme_id").reset_index(), out / "unplaced.csv", index=False),
        _io.write_csv(
            plan.per_municipality.rename("export_groups").to_frame(),
            out / "groups_per_municipality.csv",
            index_label="insee",
        ),
        _io.write_gpkg({"members": _io.for_file(mem_gdf), "tours": tour_gdf}, out / "groups.gpkg"),
    ]
    prov = _prov(territory, plan.parameters)
    prov["result"] = {
        "groups": len(res.groups),
        "placed": len(res.members),
        "unplaced": len(res.unplaced),
        "objective": res.objective,
        "bound": res.bound,
        "gap": res.gap,
        "method": res.method,
        "status": res.status,
    }
    written.append(_io.write_json(prov, out / "provenance.json"))
    return written
