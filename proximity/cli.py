"""Command-line interface: a thin layer over the library.

A user's mistake (a :class:`~proximity.errors.ProximityError`) prints one line on stderr
and exits 1; a usage error exits 2 (click's convention). No traceback for either.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from . import __version__, defaults
from .errors import InputError, ProximityError, ProximityWarning


class _Group(click.Group):
    """Turns library errors, usage errors and file-system errors into one clean line.

    A :class:`~proximity.errors.ProximityError` or an ``OSError`` (disk full, permission
    denied) exits 1; a usage error (bad option value) exits 2. Never a traceback.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ProximityError as exc:
            click.echo(f"proximity: error: {_one_line(exc)}", err=True)
            ctx.exit(1)
        except click.UsageError as exc:
            cmd = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            click.echo(f"proximity: error: {_one_line(exc.format_message())} (see `{cmd} --help`)", err=True)
            ctx.exit(2)
        except OSError as exc:
            where = f" {exc.filename!r}" if exc.filename else ""
            click.echo(
                f"proximity: error: cannot read or write{where} ({exc.strerror or exc}); "
                "check the path, its permissions and the free disk space",
                err=True,
            )
            ctx.exit(1)
        except MemoryError:
            click.echo("proximity: error: out of memory; use smaller inputs (fewer SMEs or support bodies)", err=True)
            ctx.exit(1)


def _one_line(msg) -> str:
    return " ".join(str(msg).split())


class _Number(click.ParamType):
    """A finite number within bounds (click's FloatRange lets NaN through)."""

    def __init__(self, *, lo: float, hi: float, lo_open: bool = False, integer: bool = False, unit: str = "") -> None:
        self.lo, self.hi, self.lo_open, self.integer, self.unit = lo, hi, lo_open, integer, unit
        self.name = "integer" if integer else "number"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = value
        else:
            try:
                v = int(value) if self.integer else float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not {'an integer' if self.integer else 'a number'}", param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number; give {self._range()}", param, ctx)
        if (v <= self.lo if self.lo_open else v < self.lo) or v > self.hi:
            self.fail(f"{value!r} is out of range; give {self._range()}", param, ctx)
        return int(v) if self.integer else float(v)

    def _range(self) -> str:
        lo = f"more than {self.lo:g}" if self.lo_open else f"at least {self.lo:g}"
        return f"{lo} and at most {self.hi:g}{(' ' + self.unit) if self.unit else ''}"


MINUTES = _Number(lo=0, hi=1440, lo_open=True, unit="minutes")
SEED = _Number(lo=0, hi=2**32 - 1, integer=True)
N_SMES = _Number(lo=1, hi=200_000, integer=True, unit="firms")


def _path_value(ctx, param, value):
    """Reject an empty path (``--out ''`` would write into the current folder)."""
    if value is not None and str(value).strip() == "":
        raise click.BadParameter("is empty; give a path (e.g. out)", ctx=ctx, param=param)
    return value


def _warn_line(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, ProximityWarning):
        click.echo(f"proximity: warning: {message}", err=True)
    else:
        click.echo(f"warning: {category.__name__}: {message}", err=True)


def _progress(iterable=None, **kw):
    from tqdm.auto import tqdm

    return tqdm(iterable, file=sys.stderr, disable=None, **kw)


def _say(msg: str) -> None:
    click.echo(f"· {msg}", err=True)


territory_option = click.option(
    "--territory",
    default="herault",
    show_default=True,
    help="herault, a département code (33, 2A), a comma list (34,30,11), epci:SIREN, region:CODE or france.",
)

# Options shared by several commands (one definition, so that their help texts agree).
#: ``--out DIR`` (required): a command's output folder.
out_dir_option = click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False), callback=_path_value, help="Output folder."
)
#: ``--n-smes`` with the package default (layers, traveltime).
n_smes_option = click.option(
    "--n-smes",
    type=N_SMES,
    default=defaults.N_SMES,
    help="Synthetic SMEs to generate (default: 4.9 per 1,000 inhabitants, per commune).",
)
_SMES_HELP = "Firms: 'sirene' (the register fetched by `proximity data fetch smes`) or your SIRENE file (default: synthetic SMEs)."
smes_option = click.option("--smes", "smes_value", default=None, metavar="sirene|FILE", help=_SMES_HELP)
#: ``--support`` of the main job and the maps.
support_option = click.option(
    "--support",
    "support_value",
    default=None,
    metavar="annuaire|FILE",
    help="Support bodies to add: 'annuaire' (the fetched directory) or your file.",
)


def study_smes_options(f):
    """``--n-smes`` and ``--seed`` whose defaults come from the study file (score, run)."""
    f = click.option(
        "--seed", type=SEED, default=None, help="Seed of the SME generator (default: the profile's [smes] seed, 34)."
    )(f)
    return click.option(
        "--n-smes",
        type=N_SMES,
        default=None,
        help="Synthetic SMEs to generate (default: the study's [smes]: 4.9 per 1,000 inhabitants, per commune).",
    )(f)


def profile_option(help: str):
    """``--profile FILE``: a study/profile TOML (default: the shipped one)."""
    return click.option("--profile", type=click.Path(dir_okay=False), default=None, help=help)


def maps_option(help: str):
    """``--maps DIR``: where a command's maps go."""
    return click.option(
        "--maps", "maps_dir", default=None, type=click.Path(file_okay=False), callback=_path_value, help=help
    )


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="proximity")
def main() -> None:
    """proximity: how well a territory connects its small firms to the world."""
    warnings.showwarning = _warn_line


# ---------------------------------------------------------------- data
@main.group()
def data() -> None:
    """Install, verify and list the territory's input files."""


def _data_manifest(territory: str) -> str:
    """The manifest of a territory for the data commands: its own, or ``france`` for a spec."""
    from .errors import DataFileError
    from .layers.national import is_spec

    if not is_spec(territory):
        return territory
    from . import area

    # a bad spec is named before installing anything; a DataFileError means the national
    # files are not installed yet: install them
    with contextlib.suppress(DataFileError):
        area.parse_spec(territory)
    return "france"


@data.command("install")
@territory_option
@click.option(
    "--mirror",
    type=click.Path(file_okay=False),
    default=None,
    help="Local mirror folder of the raw files (default: ../shared/data/raw when it exists, or $PROXIMITY_MIRROR).",
)
@click.option(
    "--download/--no-download",
    default=None,
    help="Download missing files from upstream (default: only when there is no mirror).",
)
@click.option(
    "--target",
    type=click.Path(file_okay=False),
    default=None,
    callback=_path_value,
    help="Install folder (default: data/installed/<territory> or $PROXIMITY_DATA_DIR).",
)
def data_install(territory: str, mirror: str | None, download: bool | None, target: str | None) -> None:
    """Install the input files, checking every sha256."""
    from . import _io, datasets

    territory = _data_manifest(territory)
    if target is not None:
        _io.check_out_path(target, option="--target")
    rep = datasets.install(
        territory,
        mirror=mirror,
        target=Path(target) / territory if target else None,
        download=download,
        progress=lambda it: _progress(
            it, total=len(datasets.load_manifest(territory).files), desc="installing", unit="file"
        ),
    )
    click.echo(
        f"{rep.total} files in {rep.target} ({rep.copied} copied, {rep.downloaded} downloaded, {rep.unchanged} already there)"
    )


@data.command("verify")
@territory_option
def data_verify(territory: str) -> None:
    """Re-hash every installed file against the manifest."""
    from . import datasets

    n = datasets.verify(_data_manifest(territory))
    click.echo(f"{n} files verified (sha256)")


@data.command("sources")
@territory_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def data_sources(territory: str, as_json: bool) -> None:
    """List the sources with their licence, attribution and caveats."""
    from . import datasets

    rows = datasets.load_manifest(_data_manifest(territory)).sources()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r['key']:<28} {r['files']:>4} file(s)  {r['licence']}")
        click.echo(f"    {r['attribution']}")
        if r["caveat"]:
            click.echo(f"    caveat: {r['caveat']}")


@data.group("fetch")
def data_fetch() -> None:
    """Download real firms (SIRENE) and support bodies (Annuaire de l'administration); needs internet."""


def _bytes_bar(**kw):
    return _progress(None, **kw)


@data_fetch.command("smes")
@territory_option
@click.option(
    "--base-url",
    default=None,
    envvar="PROXIMITY_SIRENE_URL",
    help="Folder of the geo_siret_<DEP>.csv.gz files (default: Etalab's files.data.gouv.fr/geo-sirene/last/dep/; env PROXIMITY_SIRENE_URL).",
)
@click.option("--timeout-s", default=60.0, show_default=True, help="Network timeout (connect and each read).")
@click.option("--keep-raw", is_flag=True, help="Keep the downloaded gzip files in the staging folder.")
def data_fetch_smes(territory: str, base_url: str | None, timeout_s: float, keep_raw: bool) -> None:
    """Geolocated SIRENE establishments of the territory's départements (active ones), with provenance."""
    from . import fetch

    for p in fetch.fetch_smes(
        territory, base_url=base_url, timeout_s=timeout_s, keep_raw=keep_raw, progress=_bytes_bar
    ):
        side = json.loads(p.with_suffix("").with_suffix(".json").read_text(encoding="utf-8"))
        click.echo(
            f"{p}  {side['rows_active']:,} active establishments of {side['rows_read']:,}  sha256 {side['sha256'][:12]}…"
        )
    click.echo("use them with --smes sirene (run, score, site, groups)", err=True)


@data_fetch.command("support")
@territory_option
@click.option(
    "--url",
    default=None,
    envvar="PROXIMITY_ANNUAIRE_URL",
    help="Records endpoint of the directory API (default: api-lannuaire.service-public.gouv.fr …/api-lannuaire-administration/records; env PROXIMITY_ANNUAIRE_URL).",
)
@click.option("--timeout-s", default=30.0, show_default=True, help="Network timeout.")
def data_fetch_support(territory: str, url: str | None, timeout_s: float) -> None:
    """Chambers, foreign-trade and customs services of the territory from the Annuaire de l'administration."""
    from . import fetch

    for p in fetch.fetch_support(territory, url=url, timeout_s=timeout_s, progress=_bytes_bar):
        side = json.loads(p.with_suffix(".json").read_text(encoding="utf-8"))
        cats = ", ".join(f"{k} {v}" for k, v in side["by_category"].items()) or "none"
        click.echo(f"{p}  {side['kept']} bodies ({cats})")
    click.echo("use them with --support annuaire (score, run)", err=True)


def _smes_arg(value: str | None, territory: str):
    from .layers.smes import resolve_smes

    return resolve_smes(value, territory)


# ---------------------------------------------------------------- layers
@main.group("layers")
def layers_group() -> None:
    """List, inspect and export the territory's layers."""


_LAYER_CHOICE = click.Choice(["municipalities", "gateways", "support_bodies", "smes"])


@layers_group.command("list")
@territory_option
def layers_list(territory: str) -> None:
    """Count the features of each layer, by kind or category, with their sources."""
    from . import layers

    m = layers.municipalities(territory)
    click.echo(
        f"municipalities  {len(m):>5}  population {int(m['population'].sum()):,}  (IGN Admin Express 2018 polygons, INSEE COG 2026)"
    )
    g = layers.gateways(territory)
    click.echo(
        f"gateways        {len(g):>5}  "
        + ", ".join(f"{k} {v}" for k, v in g["kind"].value_counts().sort_index().items())
    )
    s = layers.support_bodies(territory)
    click.echo(
        f"support_bodies  {len(s):>5}  "
        + ", ".join(f"{k} {v}" for k, v in s["category"].value_counts().sort_index().items())
    )
    click.echo("smes            synthetic (seeded generator; no real firm register): `proximity layers show smes`")


@layers_group.command("show")
@territory_option
@click.argument("name", type=_LAYER_CHOICE)
@click.option("--head", "n", default=10, show_default=True, type=click.IntRange(min=0), help="Rows to print.")
@n_smes_option
@click.option("--seed", default=defaults.SEED, show_default=True, type=SEED, help="Seed of the SME generator.")
def layers_show(territory: str, name: str, n: int, n_smes: int, seed: int) -> None:
    """Print the first rows of a layer."""
    import pandas as pd

    from .territory import load_layer

    gdf = load_layer(name, territory, n_smes=n_smes, seed=seed)
    with pd.option_context("display.width", 200, "display.max_columns", 12):
        click.echo(gdf.drop(columns="geometry").head(n).to_string())
    click.echo(f"[{len(gdf)} rows]")


@layers_group.command("export")
@territory_option
@click.argument("name", type=_LAYER_CHOICE)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False),
    callback=_path_value,
    help="Output .gpkg, .geojson or .csv file.",
)
@n_smes_option
@click.option("--seed", default=defaults.SEED, show_default=True, type=SEED)
def layers_export(territory: str, name: str, out: str, n_smes: int, seed: int) -> None:
    """Export a layer to a file (written atomically)."""
    from . import _io
    from .territory import load_layer

    _io.check_layer_format(out)  # before loading: a wrong extension fails at once
    _io.check_out_path(out, folder=False)
    gdf = load_layer(name, territory, n_smes=n_smes, seed=seed)
    _io.write_layer(gdf, out, name=name)
    click.echo(f"wrote {len(gdf)} features to {out}")


# ---------------------------------------------------------------- network
@main.group("network")
def network_group() -> None:
    """Build and describe the drivable road network."""


def osm_options(f):
    """``--osm online`` / ``--osm-file PATH``: a detailed OSM network merged with the skeleton."""
    f = click.option(
        "--osm-file",
        "osm_file",
        type=click.Path(dir_okay=False),
        default=None,
        help="Merge a local OSM extract (.osm, .osm.bz2, .xml or Overpass .json) with the road skeleton.",
    )(f)
    return click.option(
        "--osm",
        "osm_mode",
        type=click.Choice(["online"]),
        default=None,
        help="Download the territory's detailed OSM drive network with osmnx (needs internet; osmnx caches it).",
    )(f)


def _osm_arg(osm_mode: str | None, osm_file: str | None) -> str | None:
    if osm_mode and osm_file:
        raise click.UsageError("use either --osm online or --osm-file PATH, not both")
    return osm_mode or osm_file


@network_group.command("build")
@territory_option
@click.option("--no-cache", is_flag=True, help="Rebuild even if a valid cached network exists.")
@click.option(
    "--graphml",
    type=click.Path(dir_okay=False),
    default=None,
    callback=_path_value,
    help="Also save the network as GraphML here.",
)
@osm_options
def network_build(
    territory: str, no_cache: bool, graphml: str | None, osm_mode: str | None, osm_file: str | None
) -> None:
    """Build (or load from the cache) the territory's merged network."""
    from . import _io, network
    from .territory import territory_network

    if graphml:
        _io.check_out_path(graphml, option="--graphml", folder=False)
    G, _ = territory_network(
        territory,
        cache=not no_cache,
        osm=_osm_arg(osm_mode, osm_file),
        progress=lambda it: _progress(it, total=4, desc="network", unit="stage"),
    )
    if graphml:
        network.save_graphml(G, graphml)
    click.echo(json.dumps(_io.strict_json(network.network_summary(G)), indent=2, default=str, allow_nan=False))


def _latlon(value: str, name: str) -> tuple[float, float]:
    try:
        lat, lon = (float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected LAT,LON (e.g. 43.6086,3.8797), got {value!r}", param_hint=name) from None
    return lat, lon


#: Exit status of ``proximity route`` when there is no route (documented in its --help).
EXIT_NO_ROUTE = 3


@main.command("route")
@territory_option
@click.option("--from", "origin", required=True, help="Origin as LAT,LON (WGS84).")
@click.option("--to", "destination", required=True, help="Destination as LAT,LON (WGS84).")
@click.option("--json", "as_json", is_flag=True, help="Print one strict JSON object (null, never Infinity or NaN).")
@osm_options
def route_cmd(
    territory: str, origin: str, destination: str, as_json: bool, osm_mode: str | None, osm_file: str | None
) -> None:
    """Fastest drive between two points on the territory's network (minutes and km).

    Exit status: 0 when a route is found; 3 when there is none (a point too far from the
    network, or no directed path), with --json printing "minutes": null, "km": null,
    "reachable": false and the "reason"; 1 for a bad input; 2 for a usage error.
    """
    import math

    from . import network, traveltime
    from .errors import UnreachableWarning
    from .layers._common import bounds
    from .territory import territory_network

    # checked before the network loads, so that a swapped pair fails at once
    a, b = (
        traveltime.check_latlon(
            _latlon(v, label), name=label, bounds_wgs84=bounds(territory), area=f"the {territory} territory"
        )
        for label, v in (("--from", origin), ("--to", destination))
    )
    G, man = territory_network(territory, osm=_osm_arg(osm_mode, osm_file))
    csr = network.graph_to_csr(G, crs=man.crs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = traveltime.route_latlon(csr, a, b, bounds_wgs84=bounds(territory))
    reasons = [str(w.message) for w in caught if issubclass(w.category, UnreachableWarning)]
    for w in caught:
        if not issubclass(w.category, UnreachableWarning):
            _warn_line(w.message, w.category, w.filename, w.lineno)
    minutes, km = r.minutes, r.km
    reachable = math.isfinite(minutes)
    out: dict[str, Any] = {
        "from": {"lat": a[0], "lon": a[1]},
        "to": {"lat": b[0], "lon": b[1]},
        "minutes": round(minutes, 2) if reachable else None,
        "km": round(km, 3) if reachable else None,
        "reachable": reachable,
    }
    if not reachable:
        out["reason"] = "; ".join(reasons) or "no route"
    if as_json:
        click.echo(json.dumps(out, allow_nan=False, ensure_ascii=False))
    elif reachable:
        click.echo(f"{out['minutes']:.1f} min, {out['km']:.1f} km by road")
    else:
        click.echo(f"proximity: no route: {out['reason']}", err=True)
    if not reachable:
        click.get_current_context().exit(EXIT_NO_ROUTE)


@main.command("traveltime")
@territory_option
@out_dir_option
@click.option(
    "--max-minutes", default=defaults.OD_MAX_MINUTES, show_default=True, type=MINUTES, help="Cut-off of the OD table."
)
@n_smes_option
@click.option("--seed", default=defaults.SEED, show_default=True, type=SEED, help="Seed of the SME generator.")
def traveltime_cmd(territory: str, out: str, max_minutes: float, n_smes: int, seed: int) -> None:
    """Export travel-time tables: nearest facility per kind (SMEs, municipalities) and OD tables, CSV + GeoPackage."""
    from . import _io, pipeline
    from .territory import load_territory

    with _io.staged_output(out, command="traveltime") as stage:
        ter = load_territory(territory, n_smes=n_smes, seed=seed, progress=_say)
        written = pipeline.write_traveltime_tables(ter, stage, max_minutes=max_minutes)
    _echo_paths(written, stage, out)


@main.command("raster")
@territory_option
@out_dir_option
@click.option(
    "--cell-m",
    default=defaults.RASTER_CELL_M,
    show_default=True,
    type=_Number(lo=10, hi=10_000, unit="metres"),
    help="Cell size in metres (EPSG:2154).",
)
def raster_cmd(territory: str, out: str, cell_m: float) -> None:
    """Travel-time surfaces (Cloud-Optimised GeoTIFF per gateway kind), population raster, population within reach."""
    from . import _io, raster
    from .territory import load_territory

    with _io.staged_output(out, command="raster") as stage:
        ter = load_territory(territory, progress=_say)
        written = raster.write_rasters(ter, stage, cell_m=cell_m)
    _echo_paths(written, stage, out)


# ---------------------------------------------------------------- staged outputs
@contextlib.contextmanager
def _stages(out: str, maps_dir: str | None, *, command: str):
    """Staging folders of a command's output folder and of its maps folder (inside it or elsewhere).

    Yields ``(stage, maps_stage)``; both are moved in only when the command succeeded.
    """
    from . import _io

    _io.check_out_path(out)
    inside = None
    if maps_dir is not None:
        _io.check_out_path(maps_dir, option="--maps")
        try:
            inside = Path(maps_dir).resolve().relative_to(Path(out).resolve())
        except ValueError:
            inside = None
    with contextlib.ExitStack() as stack:
        stage = stack.enter_context(_io.staged_output(out, command=command))
        if maps_dir is None:
            maps_stage = stage
        elif inside is not None:
            maps_stage = stage / inside
            maps_stage.mkdir(parents=True, exist_ok=True)
        else:
            maps_stage = stack.enter_context(_io.staged_output(maps_dir, command=f"{command}-maps", option="--maps"))
        yield stage, maps_stage


def _echo_paths(written, stage: Path, out: str, maps_stage: Path | None = None, maps_dir: str | None = None) -> None:
    """Print the final paths of files written into staging folders."""
    for p in written:
        p = Path(p)
        for st, final in ((stage, out), (maps_stage, maps_dir)):
            if st is not None and final is not None:
                try:
                    p = Path(final) / p.relative_to(st)
                    break
                except ValueError:
                    continue
        click.echo(str(p))


def _sections(ctx, param, values):
    letters = [chr(c) for c in range(ord("A"), ord("V"))]
    bad = [v for v in values if v.strip().upper() not in letters]
    if bad:
        raise click.BadParameter(
            f"{', '.join(map(repr, bad))} is not a NAF section; give letters A to U (e.g. C for manufacturing)",
            ctx=ctx,
            param=param,
        )
    return tuple(v.strip().upper() for v in values)


def _size_bands(ctx, param, values):
    if not values:
        return values
    from .layers.smes import SIZE_BANDS

    bad = [v for v in values if v.strip() not in SIZE_BANDS]
    if bad:
        raise click.BadParameter(
            f"{', '.join(map(repr, bad))} is not an INSEE headcount band; give one of {', '.join(SIZE_BANDS)}",
            ctx=ctx,
            param=param,
        )
    return tuple(v.strip() for v in values)


# ---------------------------------------------------------------- scores
@main.command("score")
@territory_option
@out_dir_option
@profile_option("Scoring profile TOML (default: the shipped one).")
@click.option(
    "--normalisation",
    type=click.Choice(["minmax", "zscore", "rank"]),
    default=None,
    help="Override the profile's normalisation.",
)
@click.option(
    "--weighting",
    type=click.Choice(["population", "smes"]),
    default=None,
    help="Which municipal aggregate feeds the index.",
)
@click.option("--smes", "smes_file", default=None, metavar="sirene|FILE", help=_SMES_HELP)
@click.option(
    "--support",
    "support_file",
    default=None,
    metavar="annuaire|FILE",
    help="Support bodies to add: 'annuaire' (fetched by `proximity data fetch support`, merged without duplicates) or your file (CSV lat/lon or vector file with name and category).",
)
@study_smes_options
def score_cmd(territory, out, profile, normalisation, weighting, smes_file, support_file, n_smes, seed) -> None:
    """Accessibility scores and the four-D milieu index per municipality and per SME."""
    from . import _io, config, pipeline, scores
    from .territory import load_territory

    _io.check_out_path(out)
    study = config.load_study(profile)  # validated before anything is loaded or written
    prof = study.profile
    changes = {k: v for k, v in (("normalisation", normalisation), ("weighting", weighting)) if v}
    if changes:
        prof = prof.with_options(**changes)
    n_smes = study.smes.n if n_smes is None else n_smes
    seed = study.smes.seed if seed is None else seed
    from .layers.fetched import resolve_support

    smes = _smes_arg(smes_file, territory)
    support = resolve_support(support_file, territory)
    with _io.staged_output(out, command="score") as stage:
        ter = load_territory(
            territory,
            smes=smes,
            support_extra=support,
            n_smes=n_smes,
            seed=seed,
            progress=_say,
            smes_per_1000=study.smes.per_1000_inhabitants,
        )
        res = scores.score_territory(ter, profile=prof, progress=_say)
        params = {"n_smes": len(ter.smes), "seed": seed, "smes_file": smes_file, "support_file": support_file}
        written = pipeline.write_scores(res, stage, pipeline.provenance(ter, parameters=params, study=study))
    _echo_paths(written, stage, out)


# ---------------------------------------------------------------- planner tools
@main.command("site")
@territory_option
@out_dir_option
@click.option(
    "--candidates",
    type=click.Choice(["grid", "business_parks", "municipalities", "user"]),
    default="grid",
    show_default=True,
    help="Where candidate sites come from.",
)
@click.option(
    "--candidates-file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Your candidate sites (with --candidates user): CSV lat/lon or vector file.",
)
@click.option(
    "--grid-spacing-m",
    default=defaults.SITE_GRID_SPACING_M,
    show_default=True,
    type=_Number(lo=100, hi=50_000, unit="metres"),
    help="Spacing of the grid of candidates.",
)
@click.option(
    "--within-minutes",
    default=defaults.SITE_WITHIN_MINUTES,
    show_default=True,
    type=MINUTES,
    help="Coverage time of SMEs and exporters.",
)
@click.option(
    "--p-max",
    default=defaults.SITE_P_MAX,
    show_default=True,
    type=click.IntRange(1, 50),
    help="Sweep location-allocation over p = 1..p-max sites.",
)
@click.option("--no-what-if", is_flag=True, help="Skip the recomputation of the milieu index with the incubator.")
@maps_option("Also write the siting map here (default: the output folder).")
@profile_option(
    "Study/profile TOML: its decay weights support access, its index the what-if (default: the shipped one)."
)
@smes_option
def site_cmd(
    territory,
    out,
    candidates,
    candidates_file,
    grid_spacing_m,
    within_minutes,
    p_max,
    no_what_if,
    maps_dir,
    profile,
    smes_value,
) -> None:
    """Incubator site selection: ranked candidates, Pareto front, maximal covering and p-median, what-if."""
    from . import config, planning
    from .territory import load_territory

    if candidates_file is not None and candidates != "user":
        raise click.BadParameter(
            f"is only used with --candidates user (got --candidates {candidates}); add --candidates user or drop the file",
            param_hint="--candidates-file",
        )
    if candidates == "user" and candidates_file is None:
        raise click.BadParameter(
            "--candidates user needs --candidates-file (CSV with lat/lon or a vector file of points)",
            param_hint="--candidates",
        )
    prof = config.load_profile(profile)  # validated before anything is loaded or written
    if candidates_file is not None:
        from . import datasets
        from .layers import read_user_points

        read_user_points(
            candidates_file,
            layer_name=f"--candidates-file {Path(candidates_file).name!r}",
            bounds_wgs84=datasets.load_manifest(territory).bounds_wgs84,
        )
    smes = _smes_arg(smes_value, territory)
    with _stages(out, maps_dir, command="site") as (stage, maps_stage):
        ter = load_territory(territory, smes=smes, progress=_say)
        plan = planning.plan_incubator(
            ter,
            candidates=candidates,
            candidates_file=candidates_file,
            grid_spacing_m=grid_spacing_m,
            within_minutes=within_minutes,
            p_max=p_max,
            what_if=not no_what_if,
            profile=prof,
            progress=_say,
        )
        written = planning.write_incubator_plan(plan, ter, stage)
        from . import maps

        written.append(maps.save_map(maps.siting_map(ter, plan), maps_stage / "sites.html"))
    _echo_paths(written, stage, out, maps_stage, maps_dir)


@main.command("groups")
@territory_option
@out_dir_option
@click.option(
    "--section", "sections", multiple=True, callback=_sections, help="NAF section(s) to select (A–U); repeatable."
)
@click.option(
    "--size-band",
    "size_bands",
    multiple=True,
    callback=_size_bands,
    help="INSEE headcount band code(s) to select (e.g. 11 for 10 to 19 employees); repeatable.",
)
@click.option(
    "--exporters/--non-exporters", "exporter", default=None, help="Only exporters / only non-exporters (default: all)."
)
@click.option("--commune", "communes", multiple=True, help="INSEE code(s) of the communes to draw from; repeatable.")
@click.option(
    "--max-minutes",
    default=defaults.GROUP_MAX_MINUTES,
    show_default=True,
    type=MINUTES,
    help="Largest travel time between two members.",
)
@click.option("--min-size", default=defaults.GROUP_MIN_SIZE, show_default=True, type=click.IntRange(2, 50))
@click.option("--max-size", default=defaults.GROUP_MAX_SIZE, show_default=True, type=click.IntRange(2, 50))
@click.option(
    "--rule",
    type=click.Choice(["naf_class", "naf_group", "naf_division", "none"]),
    default="naf_class",
    show_default=True,
    help="When two firms compete.",
)
@click.option("--method", type=click.Choice(["auto", "exact", "heuristic"]), default="auto", show_default=True)
@click.option(
    "--time-limit-s",
    default=defaults.GROUP_TIME_LIMIT_S,
    show_default=True,
    type=_Number(lo=0, hi=86_400, lo_open=True, unit="seconds"),
)
@click.option("--seed", default=defaults.GROUP_SEED, show_default=True, type=SEED)
@maps_option("Also write the groups map here (default: the output folder).")
@smes_option
def groups_cmd(
    territory,
    out,
    sections,
    size_bands,
    exporter,
    communes,
    max_minutes,
    min_size,
    max_size,
    rule,
    method,
    time_limit_s,
    seed,
    maps_dir,
    smes_value,
) -> None:
    """Export groups: SMEs of 3–5 sharing one export executive, close and not competing."""
    from . import planning
    from .territory import load_territory

    if min_size > max_size:
        raise click.BadParameter(
            f"--min-size {min_size} is larger than --max-size {max_size}; give min <= max", param_hint="--min-size"
        )
    if communes:
        from . import layers

        known = set(layers.municipalities(territory)["insee"])
        unknown = [c for c in communes if c not in known]
        if unknown:
            raise InputError(
                f"--commune {', '.join(map(repr, unknown))}: not an INSEE code of the {territory} territory; "
                "give 5-character codes such as 34172 (Montpellier), see `proximity layers show municipalities`"
            )
    smes = _smes_arg(smes_value, territory)
    with _stages(out, maps_dir, command="groups") as (stage, maps_stage):
        ter = load_territory(territory, smes=smes, progress=_say)
        plan = planning.plan_export_groups(
            ter,
            sections=list(sections) or None,
            size_bands=list(size_bands) or None,
            exporter=exporter,
            communes=list(communes) or None,
            max_minutes=max_minutes,
            min_size=min_size,
            max_size=max_size,
            rule=rule,
            method=method,
            time_limit_s=time_limit_s,
            seed=seed,
            progress=_say,
        )
        written = planning.write_export_groups(plan, ter, stage)
        from . import maps

        written.append(maps.save_map(maps.groups_map(ter, plan), maps_stage / "groups.html"))
    r = plan.result
    click.echo(
        f"{len(r.groups)} groups, {r.n_placed} SMEs placed, {len(r.unplaced)} unplaced; tour minutes {r.tour_minutes:.0f}; gap {r.gap:.3f} ({r.status})",
        err=True,
    )
    _echo_paths(written, stage, out, maps_stage, maps_dir)


# ---------------------------------------------------------------- main job
@main.command("run")
@territory_option
@click.option(
    "--out",
    "out",
    default="out",
    show_default=True,
    type=click.Path(file_okay=False),
    callback=_path_value,
    help="Output folder.",
)
@study_smes_options
@click.option(
    "--max-minutes",
    type=MINUTES,
    default=None,
    help="Cut-off of the OD tables (default: the profile's [traveltime] max_minutes, 90).",
)
@profile_option("Study/profile TOML (default: the shipped one).")
@maps_option("Also build the HTML maps into this folder.")
@smes_option
@support_option
@click.option(
    "--standalone", is_flag=True, help="Map pages that need no other file (larger; e.g. to send one by e-mail)."
)
@click.option(
    "--workers",
    type=click.IntRange(0, 1024),
    default=None,
    help="National run on a local Dask cluster of N process workers (default with --territory france: the cores; 0: in-process).",
)
@click.option(
    "--scheduler", default=None, metavar="tcp://HOST:8786", help="National run on a running Dask cluster instead."
)
@click.option(
    "--resume", is_flag=True, help="National run: keep the valid département partitions of a previous run in --out."
)
@click.option(
    "--origins-per-commune",
    type=click.IntRange(1, 1000),
    default=None,
    help="National run: population origins per commune (default 30).",
)
def run_cmd(
    territory: str,
    out: str,
    n_smes: int | None,
    seed: int | None,
    max_minutes: float | None,
    profile: str | None,
    maps_dir: str | None,
    smes_value: str | None,
    support_value: str | None,
    standalone: bool,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    origins_per_commune: int | None,
) -> None:
    """The main job on a territory: layers, network, travel-time tables, scores (and maps with --maps).

    With --territory france, --workers, --scheduler or --resume: the national run on Dask
    (one task per département; see proximity.national), writing municipalities.parquet,
    departements.parquet, provenance.json and partitions/ into --out.
    """
    from . import pipeline

    if origins_per_commune is not None and not (
        territory == "france" or workers is not None or scheduler is not None or resume
    ):
        raise click.UsageError(
            "--origins-per-commune applies to the national run only (--territory france, --workers, "
            "--scheduler or --resume)"
        )
    if territory == "france" or workers is not None or scheduler is not None or resume:
        other = {
            "--n-smes": n_smes,
            "--seed": seed,
            "--max-minutes": max_minutes,
            "--maps": maps_dir,
            "--smes": smes_value,
            "--support": support_value,
            "--standalone": standalone or None,
        }
        given = [k for k, v in other.items() if v is not None]
        if given:
            raise click.UsageError(
                f"{', '.join(given)} do not apply to the national run (--territory france, --workers, "
                "--scheduler, --resume); leave them out"
            )
        from . import national

        res = national.run_national(
            territory,
            out,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            profile=profile,
            max_per_commune=30 if origins_per_commune is None else origins_per_commune,
            progress=_say,
            progress_bar=True,
        )
        for p in (res.municipalities, res.departements, res.provenance):
            click.echo(str(p))
        return
    written = pipeline.run(
        territory,
        out=out,
        n_smes=n_smes,
        seed=seed,
        max_minutes=max_minutes,
        profile=profile,
        maps_dir=maps_dir,
        progress=_say,
        smes=smes_value,
        support=support_value,
        standalone=standalone,
    )
    for p in written:
        click.echo(str(p))


@main.command("maps")
@territory_option
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Maps folder.")
@click.option("--standalone", is_flag=True, help="Pages that need no other file (larger; e.g. to send one by e-mail).")
@profile_option("Study/profile TOML (default: the shipped one).")
@smes_option
@support_option
@click.option(
    "--n-smes", type=int, default=None, help="Synthetic SMEs to generate (default: the profile's [smes] n, 6000)."
)
@click.option(
    "--seed", type=int, default=None, help="Seed of the SME generator (default: the profile's [smes] seed, 34)."
)
@click.option(
    "--national",
    "national_dir",
    default=None,
    type=click.Path(file_okay=False),
    callback=_path_value,
    help="The --out folder of a national run (proximity run --territory france): draw its table (overview of France, "
    "département pages, index) instead of running the stages.",
)
@click.option(
    "--commune",
    "communes",
    multiple=True,
    help="With --national: write only the page of this commune (INSEE code, "
    "e.g. 33063), with its national rank and peers, into OUT/communes/; repeatable.",
)
def maps_cmd(
    territory: str,
    out: str,
    standalone: bool,
    profile: str | None,
    smes_value: str | None,
    support_value: str | None,
    n_smes: int | None,
    seed: int | None,
    national_dir: str | None,
    communes: tuple[str, ...],
) -> None:
    """The whole map set of a territory: overview, one page per municipality, index, export groups.

    The maps of the main job (``run --maps``): the stages run as there, their tables are
    written to a temporary folder and dropped. With ``--national DIR``, the maps of a
    national run's table instead (no stage runs): the set, or with ``--commune`` the
    pages of those communes, built on demand.
    """
    import tempfile

    from . import _io, pipeline

    if communes and national_dir is None:
        raise click.UsageError(
            "--commune needs --national DIR (the folder of a national run: proximity run --territory france)"
        )
    if national_dir is not None:
        from .maps import national

        table, synthetic = national.read_national(national_dir)
        if communes:
            _io.check_out_path(out)
            written = national.write_commune_pages(table, communes, out=out, synthetic_smes=synthetic)
        else:
            written = national.build_national_maps(table, out=out, synthetic_smes=synthetic, progress=_say)
        for p in written:
            click.echo(str(p))
        return
    maps_dir = _io.check_out_dir(out)
    with tempfile.TemporaryDirectory(prefix="proximity-maps-") as tmp:
        written = pipeline.run(
            territory,
            out=Path(tmp) / "out",
            n_smes=n_smes,
            seed=seed,
            profile=profile,
            maps_dir=maps_dir,
            progress=_say,
            smes=smes_value,
            support=support_value,
            standalone=standalone,
        )
    for p in written:
        if p.is_relative_to(maps_dir):
            click.echo(str(p))


if __name__ == "__main__":  # pragma: no cover
    main()
