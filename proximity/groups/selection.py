"""Selection of the SMEs to group: sector, NAF prefix, size band, exporter status, commune, area."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError, MissingColumnError
from ._util import _show

__all__ = ["select_smes"]

_SECTIONS = frozenset("ABCDEFGHIJKLMNOPQRSTU")


def _as_list(value: Any, name: str) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return [value]
    out = list(value)
    if not out:
        raise InputError(f"{name} is empty; pass at least one value or None for no filter")
    return out


def select_smes(
    smes: gpd.GeoDataFrame | pd.DataFrame,
    *,
    sections: str | Iterable[str] | None = None,
    naf_prefixes: str | Iterable[str] | None = None,
    size_bands: str | Iterable[str] | None = None,
    exporter: bool | None = None,
    communes: str | Iterable[str] | None = None,
    within: Any = None,
    sme_only: bool = True,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """The SMEs that match every given filter (a copy, indexed and ordered like the input).

    Parameters
    ----------
    smes : GeoDataFrame
        SME layer (:func:`proximity.layers.smes.synthetic_smes` or
        :func:`~proximity.layers.smes.read_sirene`).
    sections : str or iterable of str, optional
        NAF sections (``"C"``, ``"J"``...), column ``naf_section``.
    naf_prefixes : str or iterable of str, optional
        Beginnings of NAF codes, dotted or not (``"62"``, ``"10.7"``, ``"1071C"``),
        column ``naf``.
    size_bands : str or iterable of str, optional
        INSEE headcount band codes (``"01"``... see
        :data:`proximity.layers.smes.SIZE_BANDS`), column ``size_band``.
    exporter : bool, optional
        Keep known exporters (True) or known non-exporters (False); an unknown status
        (missing) never matches. Column ``exporter``.
    communes : str or iterable of str, optional
        INSEE commune codes, column ``commune``.
    within : shapely Polygon or MultiPolygon, GeoSeries or GeoDataFrame, optional
        Keep the firms inside or on the boundary of this area. A shapely geometry is in
        the CRS of ``smes``; a GeoSeries/GeoDataFrame is reprojected to it and its
        geometries are merged.
    sme_only : bool, default True
        Keep only firms with fewer than 250 employees (column ``is_sme``).

    Returns
    -------
    GeoDataFrame
        The selected rows, all columns.

    Raises
    ------
    MissingColumnError
        A filter needs a column the layer lacks.
    InputError
        An unknown section, size band or malformed prefix (all listed), a ``within``
        that is not polygonal, or an empty selection (the message gives the number of
        firms left after each filter).

    Examples
    --------
    >>> import pandas as pd
    >>> smes = pd.DataFrame(
    ...     {"naf": ["62.01Z", "10.71C", "62.02A"], "naf_section": ["J", "C", "J"], "is_sme": [True, True, True]},
    ...     index=["a", "b", "c"],
    ... )
    >>> select_smes(smes, naf_prefixes="62").index.tolist()
    ['a', 'c']
    """
    if not isinstance(smes, pd.DataFrame):
        raise InputError(f"smes must be a GeoDataFrame, got {type(smes).__name__}")
    from ..layers.smes import SIZE_BANDS  # layers are upstream of groups

    problems: list[str] = []
    needed: list[str] = []
    filters: list[tuple[str, Callable[[pd.DataFrame], pd.Series]]] = []

    if sme_only:
        needed.append("is_sme")
        filters.append(("sme_only", lambda d: d["is_sme"].astype("boolean").fillna(False).astype(bool)))
    if sections is not None:
        secs = [str(s).strip().upper() for s in _as_list(sections, "sections")]
        bad = [s for s in secs if s not in _SECTIONS]
        if bad:
            problems.append(f"sections {_show(bad)} are not NAF sections (A to U)")
        needed.append("naf_section")
        filters.append(
            (
                "sections",
                lambda d: (
                    d["naf_section"].astype("string").str.strip().str.upper().isin(secs).fillna(False).astype(bool)
                ),
            )
        )
    if naf_prefixes is not None:
        pre = [str(p).strip().upper().replace(".", "") for p in _as_list(naf_prefixes, "naf_prefixes")]
        bad = [p for p in pre if not re.fullmatch(r"\d{1,4}|\d{4}[A-Z]", p)]
        if bad:
            problems.append(
                f"naf_prefixes {_show(bad)} are not beginnings of NAF codes such as '62', '62.0', '62.01' or '62.01Z'"
            )

        def by_prefix(d: pd.DataFrame) -> pd.Series:
            s = d["naf"].astype("string").str.strip().str.upper().str.replace(".", "", regex=False)
            hit = pd.Series(False, index=d.index)
            for p in pre:
                hit |= s.str.startswith(p).fillna(False).astype(bool)
            return hit

        needed.append("naf")
        filters.append(("naf_prefixes", by_prefix))
    if size_bands is not None:
        bands = [str(b).strip() for b in _as_list(size_bands, "size_bands")]
        bad = [b for b in bands if b not in SIZE_BANDS]
        if bad:
            problems.append(f"size_bands {_show(bad)} are not INSEE headcount bands ({', '.join(SIZE_BANDS)})")
        needed.append("size_band")
        filters.append(
            ("size_bands", lambda d: d["size_band"].astype("string").str.strip().isin(bands).fillna(False).astype(bool))
        )
    if exporter is not None:
        if not isinstance(exporter, (bool, np.bool_)):
            problems.append(f"exporter must be True, False or None, got {exporter!r}")
        want = bool(exporter)
        needed.append("exporter")
        if "exporter" in smes.columns and len(smes) and smes["exporter"].isna().all():
            problems.append(
                "exporter status is unknown for every SME (SIRENE has no exporter flag); drop the exporter "
                "filter (--exporters/--non-exporters) or add an 'exporter' column (true/false) to your --smes file"
            )
        filters.append(("exporter", lambda d: (d["exporter"].astype("boolean") == want).fillna(False).astype(bool)))
    if communes is not None:
        codes = [str(c).strip() for c in _as_list(communes, "communes")]
        needed.append("commune")
        filters.append(
            ("communes", lambda d: d["commune"].astype("string").str.strip().isin(codes).fillna(False).astype(bool))
        )
    if within is not None:
        area = _area(within, smes, problems)
        if area is not None:
            filters.append(("within", lambda d: pd.Series(shapely.intersects(d.geometry.values, area), index=d.index)))
    missing = [c for c in dict.fromkeys(needed) if c not in smes.columns]
    if missing:
        raise MissingColumnError(
            f"smes lacks the column(s) {', '.join(missing)} needed by the filters; use an SME layer from "
            f"proximity.layers.smes, drop those filters" + (" or pass sme_only=False" if "is_sme" in missing else "")
        )
    if problems:
        raise InputError("select_smes: " + "; ".join(problems))

    keep = pd.Series(True, index=smes.index)
    counts = [f"{len(smes)} firms"]
    for name, f in filters:
        keep &= f(smes).to_numpy(dtype=bool)
        counts.append(f"{int(keep.sum())} after {name}")
    if not keep.any():
        raise InputError(f"no SME matches the selection ({', '.join(counts)}); widen the filters")
    return smes.loc[keep.to_numpy()].copy()


def _area(within: Any, smes: pd.DataFrame, problems: list[str]) -> Any:
    if not isinstance(smes, gpd.GeoDataFrame):
        problems.append("within needs smes to be a GeoDataFrame with point geometries")
        return None
    if isinstance(within, (gpd.GeoSeries, gpd.GeoDataFrame)):
        if within.crs is None or smes.crs is None:
            problems.append("within and smes must both have a CRS (set_crs) to be compared")
            return None
        geom = within.to_crs(smes.crs)
        area = shapely.union_all(geom.geometry.values if isinstance(geom, gpd.GeoDataFrame) else geom.values)
    elif isinstance(within, shapely.Geometry):
        area = within
    else:
        problems.append(
            f"within must be a shapely Polygon/MultiPolygon or a GeoSeries/GeoDataFrame, got {type(within).__name__}"
        )
        return None
    if area.is_empty or area.geom_type not in ("Polygon", "MultiPolygon"):
        problems.append(
            f"within must be a non-empty Polygon or MultiPolygon, got {area.geom_type}"
            f"{' (empty)' if area.is_empty else ''}"
        )
        return None
    return area
