"""Readers for raw source formats shared by several stages (Travel Mapping, Overpass).

Kept apart from :mod:`proximity.layers` and :mod:`proximity.network` because both read
them: layers take motorway junctions from them, the network takes roads.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import DataFileError

__all__ = ["Waypoint", "read_wpt"]

_URL = re.compile(r"lat=(-?\d+(?:\.\d+)?)&lon=(-?\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Waypoint:
    """One waypoint of a Travel Mapping route file."""

    label: str  # primary label, without its + or * prefix
    alt_labels: tuple[str, ...]
    lat: float
    lon: float
    hidden: bool  # "+" shaping point, not a junction
    closed: bool  # "*" closed point


def read_wpt(path: str | os.PathLike) -> list[Waypoint]:
    """Read a Travel Mapping ``.wpt`` file: one waypoint per line, in route order.

    Each line is one or more labels then an OSM-style URL carrying the WGS84 position.

    Raises
    ------
    DataFileError
        A line has no ``lat=…&lon=…`` URL; the message names the file and line.
    """
    p = Path(path)
    out: list[Waypoint] = []
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"cannot read Travel Mapping file {str(p)!r}: {exc}") from exc
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        m = _URL.search(parts[-1])
        if m is None:
            raise DataFileError(f"{p.name} line {n}: no 'lat=…&lon=…' URL in {line!r}; the file is not a .wpt file")
        labels = parts[:-1] or [""]
        first = labels[0]
        hidden = first.startswith("+")
        closed = first.startswith("*")
        out.append(
            Waypoint(
                label=first.lstrip("+*"),
                alt_labels=tuple(lab.lstrip("+*") for lab in labels[1:]),
                lat=float(m.group(1)),
                lon=float(m.group(2)),
                hidden=hidden,
                closed=closed,
            )
        )
    return out
