"""Write the whole map set: overview, one page per municipality, and the index."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import folium

from .._io import atomic_path
from ..errors import InputError
from . import _prepare as P
from ._elements import CSS, js
from .index_page import index_page
from .municipality import _municipality, check_cell, check_insee, check_minutes
from .overview import _overview

__all__ = ["build_maps", "save_map"]


def _out_dir(out: Any) -> Path:
    if not isinstance(out, str | os.PathLike):
        raise InputError(f"out must be a folder path (str or Path), got {type(out).__name__}; e.g. out='maps'")
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise InputError(
            f"out {str(p)!r} is a file, not a folder; pass a folder for the maps (it is created if missing)"
        )
    try:
        (p / "communes").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the maps folder {str(p)!r} ({exc.strerror}); pass a writable folder as out"
        ) from exc
    if not os.access(p, os.W_OK):
        raise InputError(f"the maps folder {str(p)!r} is not writable; pass a writable folder as out")
    return p


def _write(html: str, target: Path) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return target


def render(m: folium.Map) -> str:
    """The complete HTML document of a folium map (what ``Map.save`` writes)."""
    return m.get_root().render()


def save_map(m: folium.Map, path: str | os.PathLike) -> Path:
    """Write a folium map as a standalone HTML file, atomically.

    Parameters
    ----------
    m : folium.Map
        E.g. from :func:`overview_map` or :func:`municipality_map`.
    path : path
        The ``.html`` file to write (its folder is created if missing).

    Returns
    -------
    Path

    Raises
    ------
    InputError
        ``m`` is not a folium Map, ``path`` is a folder, or its folder cannot be created.

    Examples
    --------
    With ``s = proximity.scores.score_territory(t)`` (about a minute, so the example is
    not run as a doctest):

    >>> save_map(overview_map(t, s), "maps/overview.html")  # doctest: +SKIP
    """
    if not isinstance(m, folium.Map):
        raise InputError(f"m must be a folium.Map (e.g. from overview_map), got {type(m).__name__}")
    if not isinstance(path, str | os.PathLike):
        raise InputError(
            f"path must be a file path (str or Path), got {type(path).__name__}; e.g. 'maps/overview.html'"
        )
    target = Path(path)
    if target.is_dir():
        raise InputError(
            f"path {str(target)!r} is a folder; pass the .html file to write, e.g. {str(target / 'map.html')!r}"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the folder of {str(target)!r} ({exc.strerror}); pass a writable location"
        ) from exc
    return _write(render(m), target)


def build_maps(
    territory: Any,
    scores: Any,
    *,
    out: str | os.PathLike,
    progress: Callable[[str], None] | None = None,
    communes: Iterable[str] | None = None,
    minutes: Sequence[float] = (15, 30, 45),
    cell_m: float = 250.0,
    rasters: Mapping[str, Any] | None = None,
    standalone: bool = False,
) -> list[Path]:
    """Write ``overview.html``, ``communes/<insee>.html`` and ``index.html`` under ``out``.

    Shared work is done once: classes, simplified polygons, and the travel stage
    (:func:`proximity.commune_travel.commune_travel`: population centres, isochrones,
    nearest destinations and routes, in batches); the pages only draw it. What every
    commune page shows alike (the municipalities' polygons, scores and cards, the
    territory's outline, support bodies, gateways, the Sources box, the stylesheet) is
    written once, in ``assets/communes.js`` and ``assets/proximity.css``, which the pages
    load with ``<script src>`` and ``<link>`` (this works from ``file://`` too). With
    ``standalone=True`` each page carries its own part of it instead (no ``assets``
    folder), so a single page can travel alone, e.g. by e-mail. Every file is written
    atomically (a temporary file renamed into place). Pages link to each other with
    relative links, so the folder can be moved or served as it is.

    Parameters
    ----------
    territory : proximity.territory.Territory
    scores : proximity.scores.ScoreResult
    out : path
        Output folder (created if missing).
    progress : callable, optional
        Called with a short message at each stage.
    communes : iterable of str, optional
        INSEE codes of the municipality pages to write (default: all). The overview and
        the index link only to the pages written.
    minutes : sequence of float, default (15, 30, 45)
        Isochrone thresholds of the municipality pages.
    cell_m : float, default 250
        Isochrone grid cell in metres.
    rasters : mapping, optional
        Travel-time rasters for the overview's overlay layers (see :func:`overview_map`).
    standalone : bool, default False
        Pages that need no other file (larger: each repeats the shared data it shows).

    Returns
    -------
    list of Path
        The files written: overview, the shared assets (unless ``standalone``),
        municipality pages, index.

    Raises
    ------
    InputError
        ``out`` is a file or cannot be created; unknown INSEE codes; bad options.

    Examples
    --------
    Scoring the territory and writing its 343 pages take about two minutes, so the
    example is not run as a doctest:

    >>> build_maps(t, s, out="maps", progress=print)  # doctest: +SKIP
    """
    if not isinstance(standalone, bool):
        raise InputError(f"standalone must be True or False, got {standalone!r}")
    if progress is not None and not callable(progress):
        raise InputError(
            f"progress must be a callable taking a message (e.g. print) or None, got {type(progress).__name__}"
        )
    say = progress or (lambda msg: None)
    mins = check_minutes(minutes)
    cell = check_cell(cell_m)
    start = time.perf_counter()
    munis = P.check_inputs(territory, scores)
    if communes is None:
        codes = list(munis.index)
    else:
        if isinstance(communes, str):
            raise InputError(
                f"communes must be a list of INSEE codes, got the string {communes!r}; e.g. communes=['34172']"
            )
        codes = list(dict.fromkeys(check_insee(c, munis.index) for c in communes))
    root = _out_dir(out)
    linked = set(codes)
    ctx = P.prepare(territory, scores)

    say("maps: overview")
    from .overview import _raster_overlays

    overlays = _raster_overlays(rasters or {}, territory.manifest.crs)
    written = [
        _write(render(_overview(ctx, simplify_m=100.0, linked=linked, overlays=overlays)), root / "overview.html")
    ]
    if codes:
        P.compute_travel(ctx, codes, minutes=mins, cell_m=cell, tolerance_m=P.ISO_SIMPLIFY_CELLS * cell, progress=say)
    if codes and not standalone:
        (root / "assets").mkdir(exist_ok=True)
        written.append(_write(f"var PROX_SHARED = {js(P.shared_data(ctx))};\n", root / "assets" / "communes.js"))
        written.append(_write(CSS, root / "assets" / "proximity.css"))
    say(f"maps: {len(codes)} municipality pages")
    for i, insee in enumerate(codes, 1):
        m = _municipality(ctx, insee, neighbours_m=5000.0, linked=linked, shared=not standalone)
        written.append(_write(render(m), root / "communes" / f"{insee}.html"))
        if i % 50 == 0:
            say(f"maps: {i}/{len(codes)} municipality pages")
    say("maps: index")
    html = index_page(
        scores,
        title=f"{ctx.label}: municipalities and their internationalising milieu",
        link_pages=linked,
        attribution=ctx.attribution_lines,
    )
    written.append(_write(html, root / "index.html"))
    say(f"maps: {len(written)} files in {time.perf_counter() - start:.0f} s")
    return written
