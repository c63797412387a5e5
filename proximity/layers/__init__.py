"""Typed layers of a territory: municipalities, gateways, support bodies and SMEs.

Every loader returns a GeoDataFrame in EPSG:4326 with a unique string id column, an
index equal to that id (unnamed, so that ``reset_index`` and ``sjoin`` keep working),
and is checked by :func:`validate_layer`, user inputs included.

Examples
--------
>>> from proximity import layers
>>> len(layers.municipalities())
341
"""

from __future__ import annotations

from ._common import on_network
from ._validate import validate_layer
from .business_parks import BUSINESS_PARK_NAMES, business_parks
from .fetched import directory_bodies, merge_support, name_similarity, resolve_support
from .gateways import gateways
from .municipalities import municipalities
from .smes import naf_section, read_sirene, resolve_smes, roads_from_travelmapping, synthetic_smes
from .support import CATEGORIES, read_user_points, support_bodies

__all__ = [
    "validate_layer",
    "on_network",
    "municipalities",
    "gateways",
    "support_bodies",
    "read_user_points",
    "CATEGORIES",
    "read_sirene",
    "resolve_smes",
    "resolve_support",
    "directory_bodies",
    "merge_support",
    "name_similarity",
    "synthetic_smes",
    "roads_from_travelmapping",
    "naf_section",
    "business_parks",
    "BUSINESS_PARK_NAMES",
]
