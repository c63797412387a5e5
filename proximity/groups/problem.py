"""The grouping problem on positions 0..n-1: compatibility graph, pair and base times, penalties.

Built once from the SMEs, the travel-time table and the competition rule
(:func:`_build_problem`); every solver reads it. :class:`_Solution` is what a solver returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError, MissingColumnError
from ._util import _TOL, _show
from .competition import Rule, _competition_codes, _normalise_naf

#: Largest group size: tours are enumerated exactly (60 cycles for 6 stops, 360 with a base).
MAX_GROUP_SIZE = 6


#: Columns of a long travel-time table.
OD_COLUMNS = ("origin_id", "destination_id", "minutes")


@dataclass
class _Problem:
    """The compatibility graph and travel times, on positions 0..n-1 of the SMEs."""

    n: int
    nb: int  # number of bases (0: the executive sits at a member)
    min_size: int
    max_size: int
    max_minutes: float
    pen: np.ndarray  # penalty by size (index = size)
    keys: np.ndarray  # sorted canonical keys lo * n + hi of member pairs with a usable time
    mins: np.ndarray  # their pair minutes
    ok: np.ndarray  # the pair is compatible (within reach and not competing)
    indptr: np.ndarray  # CSR of compatible partners, each row sorted by minutes
    indices: np.ndarray
    data: np.ndarray
    base_min: np.ndarray | None  # (n, nb) pair minutes to each base, inf beyond max_minutes
    reach_deg: np.ndarray  # partners (or bases) within reach, competition ignored
    metric: bool = True

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.indptr[i], self.indptr[i + 1]
        return self.indices[a:b], self.data[a:b]

    def pair(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Pair minutes of compatible pairs (inf otherwise), vectorised."""
        i = np.asarray(i, dtype=np.int64)
        j = np.asarray(j, dtype=np.int64)
        key = np.minimum(i, j) * self.n + np.maximum(i, j)
        if len(self.keys) == 0:
            return np.full(key.shape, np.inf)
        pos = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        hit = (self.keys[pos] == key) & self.ok[pos]
        return np.where(hit, self.mins[pos], np.inf)


@dataclass
class _Solution:
    groups: list[tuple[np.ndarray, float, int]]  # (members in tour order, tour minutes, base)
    objective: float
    bound: float
    status: str
    method: str
    max_placeable: int
    placeable: np.ndarray  # SMEs in at least one feasible group (or not excluded by the bound)


def _check_od(od: Any) -> pd.DataFrame:
    if not isinstance(od, pd.DataFrame):
        raise InputError(f"od must be a DataFrame with columns {', '.join(OD_COLUMNS)}, got {type(od).__name__}")
    missing = [c for c in OD_COLUMNS if c not in od.columns]
    if missing:
        raise MissingColumnError(
            f"od lacks the column(s) {', '.join(missing)}; pass a long travel-time table "
            f"(origin_id, destination_id, minutes) such as proximity.traveltime.od_matrix returns"
        )
    return od


def _pair_table(od: pd.DataFrame, ids: pd.Index, pair_minutes: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric pair times (lo, hi, minutes) between positions of ``ids`` (both directions needed)."""
    minutes = pd.to_numeric(od["minutes"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(minutes).any():
        rows = list(od.index[np.isnan(minutes)][:5])
        raise InputError(
            f"od has missing or non-numeric minutes (rows {rows}); drop those rows or use inf for unreachable pairs"
        )
    if (minutes < 0).any():
        rows = list(od.index[minutes < 0][:5])
        raise InputError(f"od has negative minutes (rows {rows}); travel times must be >= 0")
    o = ids.get_indexer(pd.Index(od["origin_id"]))
    d = ids.get_indexer(pd.Index(od["destination_id"]))
    known = (o >= 0) & (d >= 0)
    if len(od) and not known.any():
        raise InputError(
            f"od shares no pair of identifiers with smes (od origin_id e.g. {_show(od['origin_id'].head(3))}, "
            f"smes index e.g. {_show(ids[:3])}); the od ids must be the smes index labels"
        )
    keep = known & (o != d) & np.isfinite(minutes)
    o, d, minutes = o[keep].astype(np.int64), d[keep].astype(np.int64), minutes[keep]
    m = len(ids)
    directed = o * m + d
    order = np.argsort(directed, kind="stable")
    directed = directed[order]
    if len(directed) > 1 and (np.diff(directed) == 0).any():
        dup = np.flatnonzero(np.diff(directed) == 0)[:3]
        ex = [(ids[directed[k] // m], ids[directed[k] % m]) for k in dup]
        raise InputError(
            f"od has duplicate rows for the same origin and destination (e.g. {ex}); keep one "
            f"travel time per direction (e.g. od.groupby(['origin_id', 'destination_id']).min())"
        )
    o, d, minutes = o[order], d[order], minutes[order]
    lo, hi = np.minimum(o, d), np.maximum(o, d)
    canon = lo * m + hi
    order = np.argsort(canon, kind="stable")
    canon, lo, hi, minutes = canon[order], lo[order], hi[order], minutes[order]
    if len(canon) == 0:
        return lo, hi, minutes
    first = np.ones(len(canon), dtype=bool)
    first[1:] = canon[1:] != canon[:-1]
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(canon)))
    both = counts == 2
    if not both.any():
        raise InputError(
            "od gives every pair in one direction only; pass both directions (e.g. pd.concat([od, "
            "od.rename(columns={'origin_id': 'destination_id', 'destination_id': 'origin_id'})]) for "
            "symmetric times)"
        )
    s = starts[both]
    a, b = minutes[s], minutes[s + 1]
    pm = np.maximum(a, b) if pair_minutes == "max" else (a + b) / 2.0
    return lo[s], hi[s], pm


def _build_problem(
    smes: pd.DataFrame,
    od: pd.DataFrame,
    base: gpd.GeoDataFrame | pd.DataFrame | None,
    *,
    min_size: int,
    max_size: int,
    max_minutes: float,
    rule: Rule,
    pair_minutes: str,
    size_penalty_minutes: float,
) -> tuple[_Problem, np.ndarray | None, pd.Index]:
    n = len(smes)
    ids = pd.Index(smes.index)
    base_ids = pd.Index(base.index) if base is not None else pd.Index([])
    nb = len(base_ids)
    all_ids = ids.append(base_ids) if nb else ids
    lo, hi, pm = _pair_table(od, all_ids, pair_minutes)

    naf = None
    if rule != "none":
        naf = _normalise_naf(smes["naf"].to_numpy(dtype=object), "smes['naf']")

    mm = hi < n  # member-member pairs (lo < hi)
    if nb:
        bm = (lo < n) & (hi >= n)
        base_min = np.full((n, nb), np.inf)
        sel = bm & (pm <= max_minutes + _TOL)
        base_min[lo[sel], hi[sel] - n] = pm[sel]
        elig = np.isfinite(base_min)
    else:
        base_min, elig = None, None

    lo, hi, pm = lo[mm], hi[mm], pm[mm]
    reach = elig[lo].__and__(elig[hi]).any(axis=1) if nb else pm <= max_minutes + _TOL
    ok = reach.copy()
    if naf is not None:
        codes, pairwise = _competition_codes(naf, rule)
        if codes is not None:
            ok &= codes[lo] != codes[hi]
        elif pairwise is not None:  # always, for a rule other than "none"
            ok &= ~pairwise(lo, hi)
    if nb:
        reach_deg = elig.sum(axis=1).astype(np.int64)  # bases in reach
        partner_deg = np.bincount(lo[reach], minlength=n) + np.bincount(hi[reach], minlength=n)
        reach_deg = np.where(reach_deg > 0, partner_deg, -1)  # -1: no base in reach
    else:
        reach_deg = np.bincount(lo[reach], minlength=n) + np.bincount(hi[reach], minlength=n)

    keys = lo.astype(np.int64) * n + hi
    # CSR of compatible partners, each row by increasing minutes
    r = np.concatenate([lo[ok], hi[ok]])
    c = np.concatenate([hi[ok], lo[ok]])
    w = np.concatenate([pm[ok], pm[ok]])
    order = np.lexsort((c, w, r))
    r, c, w = r[order], c[order], w[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
    mid = (min_size + max_size) / 2.0
    pen = np.array([size_penalty_minutes * (k - mid) ** 2 for k in range(max_size + 1)])
    prob = _Problem(
        n=n,
        nb=nb,
        min_size=min_size,
        max_size=max_size,
        max_minutes=max_minutes,
        pen=pen,
        keys=keys,
        mins=pm,
        ok=ok,
        indptr=indptr,
        indices=c.astype(np.int64),
        data=w,
        base_min=base_min,
        reach_deg=reach_deg,
    )
    return prob, naf, base_ids
