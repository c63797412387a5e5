"""The main job on a territory, stage by stage, with atomic outputs and provenance.

``proximity run`` = :func:`run`: install the data, load the layers and the network, write
the layers and travel-time tables, score the territory, and (with ``maps_dir``) build the
maps. Each stage also has its own function for the matching CLI command.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import _io, config, datasets, defaults, network, scores, traveltime
from ._io import for_file as _for_file
from .errors import InputError
from .layers import on_network
from .provenance import SYNTHETIC_NOTE, smes_note
from .provenance import build_provenance as provenance
from .territory import Territory, load_territory

__all__ = ["smes_note", "provenance", "write_layers", "write_traveltime_tables", "write_scores", "run"]


def write_layers(territory: Territory, out: Path) -> list[Path]:
    """``layers.gpkg`` with the four layers (municipalities, gateways, support bodies, SMEs)."""
    layers = {
        name: _for_file(territory.layer(name)) for name in ("municipalities", "gateways", "support_bodies", "smes")
    }
    written = [_io.write_gpkg(layers, out / "layers.gpkg")]
    return written


def write_traveltime_tables(
    territory: Territory, out: Path, *, max_minutes: float = defaults.OD_MAX_MINUTES
) -> list[Path]:
    """Nearest facility per kind from SMEs and municipalities, and municipality → gateway OD tables.

    The municipalities are represented by a representative point of their polygon (inside
    it); gateways and support bodies off the network (``on_network`` False) are left out.

    Parameters
    ----------
    territory : Territory
        The loaded territory (:func:`proximity.territory.load_territory`).
    out : pathlib.Path
        Output folder; the files go into ``out / "traveltime"`` (created if needed), each
        written atomically.
    max_minutes : float
        Cut-off of the OD table, in minutes (default :data:`proximity.defaults.OD_MAX_MINUTES`,
        90): pairs further apart are left out.

    Returns
    -------
    list of pathlib.Path
        In this order:

        - ``traveltime/nearest_smes.csv`` and ``traveltime/nearest_municipalities.csv``:
          long tables, one row per origin and group, with columns ``origin_id`` (SME id or
          INSEE code), ``group`` (gateway kind, with ``tgv_station`` for the TGV stations
          (ids ``<id>|tgv``) besides their ``rail_station`` row, or support-body category),
          ``rank`` (1), ``destination_id``, ``minutes`` (``inf`` and an empty
          ``destination_id`` when none is reachable), ``layer`` (``gateways`` or
          ``support_bodies``) and ``destination_name``;
        - ``traveltime/od_municipalities_gateways.csv``: ``origin_id`` (INSEE code),
          ``destination_id`` (gateway id), ``minutes``, one row per pair within
          ``max_minutes`` (TGV stations once);
        - ``traveltime/traveltime.gpkg``: the same as GIS layers, ``nearest_smes`` (SME
          points) and ``nearest_municipalities`` (municipality polygons) with their
          identifying columns and one ``minutes_<group>`` column per group, and
          ``od_municipalities_gateways`` (straight lines from the municipality's point to
          the gateway).

    Warns
    -----
    UnreachableWarning
        Points beyond the snapping limit, or no path (see :mod:`proximity.traveltime`).

    Examples
    --------
    >>> paths = write_traveltime_tables(ter, Path("out"), max_minutes=60)
    >>> [p.name for p in paths]
    ['nearest_smes.csv', 'nearest_municipalities.csv', 'od_municipalities_gateways.csv', 'traveltime.gpkg']
    >>> pd.read_csv(paths[2]).columns.tolist()
    ['origin_id', 'destination_id', 'minutes']
    """
    csr = territory.csr
    gws = on_network(territory.gateways)
    sup = on_network(territory.support_bodies)
    groups = scores.gateway_groups(gws)
    munis = territory.municipalities
    centres = gpd.GeoDataFrame(geometry=munis.geometry.representative_point(), index=munis.index, crs=munis.crs)
    names = pd.concat(
        [gws["name"], gws.loc[gws["group"].eq("tgv_station"), "name"].rename(lambda i: f"{i}|tgv"), sup["name"]]
    )
    written = []
    tt = out / "traveltime"
    gis: dict[str, gpd.GeoDataFrame] = {}
    for label, origins, shapes in (
        ("smes", territory.smes[["geometry"]], territory.smes),
        ("municipalities", centres, munis),
    ):
        g = traveltime.nearest(csr, origins, groups, by="group")
        s = traveltime.nearest(csr, origins, sup, by="category")
        table = pd.concat([g.assign(layer="gateways"), s.assign(layer="support_bodies")], ignore_index=True)
        table["destination_name"] = table["destination_id"].map(names.to_dict())
        written.append(_io.write_csv(table, tt / f"nearest_{label}.csv", index=False))
        wide = table.pivot_table(index="origin_id", columns="group", values="minutes", aggfunc="min", observed=True)
        wide.columns = [f"minutes_{c}" for c in wide.columns]
        keep = [c for c in ("name", "insee", "commune", "synthetic") if c in shapes.columns]
        gis[f"nearest_{label}"] = gpd.GeoDataFrame(shapes[keep].join(wide), geometry=shapes.geometry, crs=shapes.crs)
    od = traveltime.od_matrix(csr, centres, gws[["geometry"]], max_minutes=max_minutes)
    written.append(_io.write_csv(od, tt / "od_municipalities_gateways.csv", index=False))
    a = centres.geometry.reindex(od["origin_id"]).to_numpy()
    b = gws.geometry.reindex(od["destination_id"]).to_numpy()
    import shapely

    lines = (
        shapely.linestrings(np.stack([shapely.get_coordinates(a), shapely.get_coordinates(b)], axis=1))
        if len(od)
        else []
    )
    gis["od_municipalities_gateways"] = gpd.GeoDataFrame(od.reset_index(drop=True), geometry=list(lines), crs=munis.crs)
    written.append(_io.write_gpkg({k: _for_file(v) for k, v in gis.items()}, tt / "traveltime.gpkg"))
    return written


def write_scores(result: scores.ScoreResult, out: Path, prov: dict) -> list[Path]:
    """Write the scores of a territory: ``municipalities.gpkg/.csv``, ``smes.gpkg/.csv`` and ``provenance.json``.

    Parameters
    ----------
    result : ScoreResult
        The scores (:func:`proximity.scores.score_territory`).
    out : pathlib.Path
        Output folder (created if needed); every file is written atomically.
    prov : dict
        The provenance of the run (:func:`provenance`); it is not modified.

    Returns
    -------
    list of pathlib.Path
        In this order: ``municipalities.gpkg`` (layer ``municipalities``),
        ``municipalities.csv``, ``smes.gpkg`` (layer ``smes``), ``smes.csv`` and
        ``provenance.json``. The CSV files hold the same columns as the layers without the
        geometry, rows sorted by id, floats with 10 significant digits; list cells are
        joined with ``"; "``. The SMEs get a ``note`` column saying what they are
        (``prov["smes"]["note"]``, else the synthetic note when they are synthetic).
        ``provenance.json`` is ``prov`` plus the ``profile`` that scored (name, source,
        weights, decay, indicators) and the ``summary`` of ``result``, in strict JSON
        (NaN and infinities as ``null``).

    Examples
    --------
    >>> res = scores.score_territory(ter)  # doctest: +SKIP
    >>> paths = write_scores(res, Path("out"), provenance(ter))  # doctest: +SKIP
    >>> [p.name for p in paths]  # doctest: +SKIP
    ['municipalities.gpkg', 'municipalities.csv', 'smes.gpkg', 'smes.csv', 'provenance.json']
    """
    m = _for_file(result.municipalities)
    s = _for_file(result.smes)
    s["note"] = prov.get("smes", {}).get("note") or (SYNTHETIC_NOTE if bool(s["synthetic"].any()) else "")
    # the profile that scored (with any CLI override); the study file as loaded is prov["study"]
    prof = result.profile
    prov = {
        **prov,
        "profile": {
            "name": prof.name,
            "source": prof.source,
            "user_keys": list(prof.user_keys),
            "normalisation": prof.normalisation,
            "weighting": prof.weighting,
            "parameters": prof.parameters,
            "decay": prof.decay.to_dict(),
            "components": prof.components,
            "indicators": [i.__dict__ for i in prof.indicators],
        },
        "summary": result.summary,
    }
    return [
        _io.write_gpkg({"municipalities": m}, out / "municipalities.gpkg"),
        _io.write_csv(m.sort_index(), out / "municipalities.csv", index=False, float_format="%.10g"),
        _io.write_gpkg({"smes": s}, out / "smes.gpkg"),
        _io.write_csv(s.sort_index(), out / "smes.csv", index=False, float_format="%.10g"),
        _io.write_json(prov, out / "provenance.json"),
    ]


def run(
    territory: str = "herault",
    *,
    out: str | Path = "out",
    n_smes: int | None = None,
    seed: int | None = None,
    max_minutes: float | None = None,
    profile: str | Path | None = None,
    maps_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    smes: str | Path | pd.DataFrame | None = None,
    support: str | Path | gpd.GeoDataFrame | None = None,
    standalone: bool = False,
) -> list[Path]:
    """The main job: data, layers, network, travel-time tables, scores (and maps).

    Every input (study file, options, output paths) is checked before any heavy work or
    any write; the outputs are staged beside ``out`` (and ``maps_dir``) and moved in only
    when every stage succeeded (:func:`proximity._io.staged_output`), so an interrupted
    or failed run leaves the previous complete run in place.

    Parameters
    ----------
    territory : str
        ``"herault"`` (a manifest shipped in ``proximity/territories``) or a territory spec
        read from the national files (``"33"``, ``"34,30,11"``, ``"epci:<SIREN>"``,
        ``"region:<code>"``, ``"france"``; see :func:`proximity.territory.load_territory`).
    out : str or path
        Output folder: layers, network summary, travel-time tables, rasters, export
        groups, scores and provenance.
    n_smes : int, optional
        Exact number of synthetic SMEs, from 1 to 200,000 (default: the study's
        ``[smes] n``, else its rate per 1,000 inhabitants). Ignored with ``smes``.
    seed : int, optional
        Seed of the synthetic SMEs (and of the export groups unless the study sets
        ``[export_groups] seed``), from 0 to 2**32 - 1 (default: the study's
        ``[smes] seed``, 34).
    max_minutes : float, optional
        Cut-off of the municipality → gateway OD table, in minutes, in (0, 1440]
        (default: the study's ``[traveltime] max_minutes``, 90).
    profile : str or path, optional
        A study file (:mod:`proximity.config`; default: the shipped one), validated before
        anything is loaded or written. It sets the scoring profile, the export groups, the
        raster cells and thresholds, and the defaults of ``n_smes``, ``seed`` and
        ``max_minutes``, which these arguments override.
    maps_dir : str or path, optional
        Folder of the HTML maps (:func:`proximity.maps.build_maps` and
        ``export_groups.html``); no maps when None. It may lie inside ``out``.
    progress : callable, optional
        Called with a short message before each stage.
    smes : str, path or DataFrame, optional
        None (synthetic firms), ``"sirene"`` (the register fetched by ``proximity data
        fetch smes``) or a SIRENE file or frame (:func:`proximity.layers.smes.resolve_smes`).
    support : str, path or GeoDataFrame, optional
        Extra support bodies: None, ``"annuaire"`` (the fetched directory, merged without
        duplicates) or a file or layer of bodies
        (:func:`proximity.layers.fetched.resolve_support`).
    standalone : bool
        Make every map page self-contained (see :func:`proximity.maps.build_maps`).

    Returns
    -------
    list of pathlib.Path
        The files written, at their final place under ``out`` (and ``maps_dir``).

    Raises
    ------
    InputError
        ``out`` or ``maps_dir`` is not a usable folder, ``n_smes``, ``seed`` or
        ``max_minutes`` is out of range (every problem in one message), or ``territory``
        is neither a manifest nor a valid spec.
    ConfigError
        The study file cannot be read or is invalid (the message lists every problem).
    DataFileError
        A data file is missing or corrupt, or ``"sirene"``/``"annuaire"`` was asked for
        but not fetched (the message gives the command).

    Examples
    --------
    >>> paths = run("herault", out="out", maps_dir="out/maps")  # doctest: +SKIP
    >>> sorted(p.name for p in paths if p.parent.name == "out")  # doctest: +SKIP
    ['layers.gpkg', 'municipalities.csv', 'municipalities.gpkg', 'network_summary.json', 'provenance.json', 'smes.csv', 'smes.gpkg']
    """
    say = progress or (lambda msg: None)
    _io.check_out_path(out, option="out")
    if maps_dir is not None:
        _io.check_out_path(maps_dir, option="maps_dir")
    study = config.load_study(profile)
    n_smes = study.smes.n if n_smes is None else n_smes
    seed = study.smes.seed if seed is None else seed
    max_minutes = study.traveltime.max_minutes if max_minutes is None else max_minutes
    _check_run_options(n_smes=n_smes, seed=seed, max_minutes=max_minutes)
    say("data install")
    from .layers.national import is_spec

    datasets.install("france" if is_spec(territory) else territory)
    from .layers.fetched import resolve_support
    from .layers.smes import resolve_smes

    smes = resolve_smes(smes, territory)  # a missing register fails before any work
    support = resolve_support(support, territory)
    with contextlib.ExitStack() as stack:
        stage = stack.enter_context(_io.staged_output(out, command="run", option="out"))
        maps_stage = None
        if maps_dir is not None:
            try:
                maps_stage = stage / Path(maps_dir).resolve().relative_to(Path(out).resolve())
            except ValueError:
                maps_stage = stack.enter_context(_io.staged_output(maps_dir, command="run-maps", option="maps_dir"))
        written = _run_into(
            territory,
            stage,
            maps_stage,
            study,
            n_smes=n_smes,
            seed=seed,
            max_minutes=max_minutes,
            smes=smes,
            support=support,
            standalone=standalone,
            say=say,
        )
    finals = []
    for p in written:
        for st, final in ((stage, Path(out)), (maps_stage, Path(maps_dir) if maps_dir is not None else None)):
            if st is not None and final is not None:
                try:
                    p = final / Path(p).relative_to(st)
                    break
                except ValueError:
                    continue
        finals.append(p)
    return finals


def _check_run_options(*, n_smes: int | None, seed: int, max_minutes: float) -> None:
    problems = []
    if n_smes is not None and (
        isinstance(n_smes, bool) or not isinstance(n_smes, (int, np.integer)) or not 1 <= n_smes <= 200_000
    ):
        problems.append(f"n_smes={n_smes!r} must be an integer from 1 to 200,000")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        problems.append(f"seed={seed!r} must be an integer from 0 to 2**32 - 1")
    if not isinstance(max_minutes, (int, float, np.number)) or not (0 < float(max_minutes) <= 1440):
        problems.append(f"max_minutes={max_minutes!r} must be a number of minutes in (0, 1440]")
    if problems:
        raise InputError("; ".join(problems))


def _run_into(
    territory: str,
    out: Path,
    maps_dir: Path | None,
    study,
    *,
    n_smes: int | None,
    seed: int,
    max_minutes: float,
    smes,
    support,
    standalone: bool,
    say,
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    ter = load_territory(
        territory,
        smes=smes,
        support_extra=support,
        n_smes=n_smes,
        seed=seed,
        progress=say,
        smes_per_1000=study.smes.per_1000_inhabitants,
    )
    written = write_layers(ter, out)
    written.append(_io.write_json(network.network_summary(ter.graph), out / "network_summary.json"))
    say("travel-time tables")
    written += write_traveltime_tables(ter, out, max_minutes=max_minutes)
    say("rasters")
    from . import raster

    kinds = []  # the kinds this territory has on its network (no TGV in Corsica…)
    for k in raster.DEFAULT_KINDS:
        try:
            if len(raster.kind_facilities(ter, k)):
                kinds.append(k)
        except InputError:
            pass
    raster_files = raster.write_rasters(
        ter, out / "rasters", cell_m=study.rasters.cell_m, thresholds_minutes=study.thresholds_minutes, kinds=kinds
    )
    written += raster_files
    pop_within = pd.read_csv(out / "rasters" / "population_within.csv", index_col=0, dtype={0: str})
    eg = study.export_groups
    say(f"export groups (NAF sections {', '.join(eg.sections)})")
    from . import planning

    groups_plan = planning.plan_export_groups(
        ter,
        sections=list(eg.sections),
        max_minutes=eg.max_minutes,
        min_size=eg.min_size,
        max_size=eg.max_size,
        rule=eg.rule,
        method=eg.method,
        time_limit_s=eg.time_limit_s,
        seed=seed if eg.seed is None else eg.seed,
    )
    written += planning.write_export_groups(groups_plan, ter, out / "export_groups")
    res = scores.score_territory(
        ter,
        profile=study.profile,
        export_groups=groups_plan.per_municipality,
        population_within=pop_within,
        progress=say,
    )
    params = {
        "n_smes": n_smes,
        "seed": seed,
        "max_minutes": max_minutes,
        "export_groups": {
            "sections": list(eg.sections),
            "groups": len(groups_plan.result.groups),
            "synthetic": ter.synthetic_smes,
        },
    }
    written += write_scores(res, out, provenance(ter, parameters=params, study=study))
    if maps_dir is not None:
        from . import maps

        say("maps")
        rasters = {
            label: out / "rasters" / f"travel_time_{kind}.tif"
            for kind, label in (
                ("airport", "Minutes to the nearest airport (200 m raster)"),
                ("tgv_station", "Minutes to the nearest TGV station (200 m raster)"),
            )
            if kind in kinds
        }
        written += maps.build_maps(ter, res, out=maps_dir, progress=say, rasters=rasters, standalone=standalone)
        written.append(maps.save_map(maps.groups_map(ter, groups_plan), Path(maps_dir) / "export_groups.html"))
    return written
