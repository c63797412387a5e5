"""Export-group formation: small firms sharing one time-shared export executive.

Since 1998 the foreign service of the Montpellier chamber of commerce has set up export
groups of small firms ("from 3 to 5 in general") that jointly employ one time-sharing
export executive; the groups need members close to one another (so that the executive
does not spread himself too thinly) and members that do not compete (Torres 2002 [1]_,
section 3). This module turns that practice into an optimisation problem:

Selection
    :func:`select_smes` filters an SME layer (sector, NAF prefix, size band, exporter
    status, commune, polygon).
Competition
    :func:`competes` says whether two firms compete: by default when they share a NAF
    class (``"62.01"``); coarser rules (NAF group, division), none, or a callable.
Feasible group
    ``min_size`` to ``max_size`` members, no two members compete and every member is
    within ``max_minutes`` of every other member, or, when candidate bases for the
    executive are given, of the group's base.
Objective
    Lexicographic: first place as many SMEs as possible, then minimise the total cost of
    the groups. A group's cost is the executive's closed tour in minutes (exact, by
    enumeration of the distinct cycles: 12 for 5 stops, 360 for 6 members and a base)
    plus a size-balance penalty ``size_penalty_minutes * (n - (min_size + max_size) / 2)
    ** 2`` that prefers groups of the middle size (4 for 3–5): tours alone favour the
    smallest groups, whose tours add up to less; set it to 0 for pure tour minutes.
Base of the executive
    ``base=None`` (or ``"member"``): the executive sits at one member firm. The tour is
    then the shortest cycle through all members, which is the same whichever member it
    starts from; ``base_id`` reports the most central member (smallest total minutes to
    the others). ``base=<GeoDataFrame>``: the executive sits at one of these points (the
    chamber, an incubator...); each group takes the base that gives it the shortest tour
    among the bases within ``max_minutes`` of all its members.
Travel times
    A long table ``origin_id, destination_id, minutes`` between the selected SMEs (and
    the bases), both directions, as :func:`proximity.traveltime.od_matrix` writes it.
    The two directions make one pair time: their maximum (``pair_minutes="max"``, the
    default: both trips within the limit) or their mean. A pair given in one direction
    only is treated as beyond the cut-off, as :func:`~proximity.traveltime.od_matrix`
    omits pairs beyond ``max_minutes``. With a base, tours also use member-to-member
    times, so compute the table with a cut-off of at least twice ``max_minutes``.
Methods
    ``"exact"`` enumerates every feasible group (the cliques of the compatibility graph of
    pairs within reach and not competing) and solves the set-packing problem with HiGHS
    through :func:`scipy.optimize.milp`: one MIP whose objective gives each SME placed a
    weight larger than the cost of any solution (so the most SMEs are placed, then the
    least cost), after reduced-cost fixing against a heuristic solution (columns whose LP
    reduced cost exceeds the heuristic's gap to the LP cannot be in a better solution).
    ``"heuristic"`` builds groups greedily from nearest compatible partners (least
    connected firms first), places the remaining firms (insertion, a new group taking
    spare members, one-step ejection, exact re-solution of their neighbourhood), then
    lowers the cost by relocations, swaps, optimal re-partition of neighbouring pairs of
    groups, one group more or fewer, and exact re-solutions (set packing with HiGHS) of
    neighbourhoods: tiles of about 100 nearby SMEs over a pool of good candidate groups
    (for every SME, the 25 cheapest per member among its 12 nearest partners), then all
    feasible groups of three, then four, nearby groups, then random sets of nearby
    groups. It stops when nothing improves or at ``time_limit_s``. ``"auto"`` (default)
    splits the compatibility graph into connected components (groups never span two):
    components whose feasible groups number at most ``max_candidates`` in total are
    solved exactly, the others (typically one large urban component) heuristically;
    ``method`` then reads ``"exact"``, ``"heuristic"`` or ``"exact+heuristic"``.
Bound and gap
    ``bound`` is a lower bound on the cost of the optimal solution (the one that places
    the most SMEs and, among those, costs least); ``gap = (objective - bound) /
    objective``. The exact method reports the solver's bound (equal to the objective
    when optimal). For the heuristic, the bound is the larger of two values of feasible
    duals of the set-partitioning linear relaxation, summed over the ``n_placed`` SMEs
    with the smallest prices (the optimum places at least as many):

    - two nearest: ``a(i) + min_n penalty(n) / n`` where ``a(i)`` is half the two
      shortest pair times from ``i`` to compatible partners (or a base): every member
      of a tour has two tour edges, so the ``a`` of a group never add up to more than
      its tour;
    - fair share: ``h(i) = min over feasible groups g containing i of cost(g) / |g|``.
      It is computed exactly by enumerating the groups of ``i`` within the radius
      beyond which a member would make the tour too long to beat a known group (a tour
      visiting ``i`` and ``j`` is at least twice their pair time by the triangle
      inequality, which shortest-path travel times satisfy: it is checked on a sample of
      triangles and the fair share is not used when it fails); where a neighbourhood
      has too many groups to enumerate, a lower bound on ``h(i)`` is used instead.

    ``max_placeable`` is the most SMEs any solution can place (exact) or an upper bound
    on it (heuristic: the SMEs that belong to at least one feasible group, per connected
    component rounded down to a sum of allowed sizes). On instances small enough for
    the exact method the heuristic found the optimum in 70 random instances of 8–30
    SMEs and came within 0.5 % of it on windows of 44–105 SMEs of a dense synthetic
    territory, while its bound was 13–20 % below the optimum: the gap reported for large
    instances mostly measures the bound, not the solution.
Time limit
    The exact solver (including its warm start, at most a fifth of the time) and the
    heuristic search each get ``time_limit_s``; the heuristic's bound may take up to as
    long again (neighbourhoods not reached in time get the two-nearest price).

References
----------
.. [1] Torres, O. (2002). Small firm, glocalization strategy and proximity. 16th ECSB
   RENT conference, Barcelona.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from .errors import InputError, MissingColumnError

__all__ = [
    "COMPETITION_RULES",
    "MAX_GROUP_SIZE",
    "OD_COLUMNS",
    "UNPLACED_REASONS",
    "GroupsResult",
    "competes",
    "form_groups",
    "groups_per_municipality",
    "select_smes",
]

#: Built-in competition rules: two firms compete when the first so many characters of
#: their undotted NAF rév. 2 codes are equal (``"6201Z"``: division ``62``, group
#: ``620``, class ``6201``, subclass ``6201Z``); ``"none"``: firms never compete.
COMPETITION_RULES: dict[str, int] = {
    "naf_subclass": 5,
    "naf_class": 4,
    "naf_group": 3,
    "naf_division": 2,
    "none": 0,
}

#: Largest group size: tours are enumerated exactly (60 cycles for 6 stops, 360 with a base).
MAX_GROUP_SIZE = 6

#: Columns of a long travel-time table.
OD_COLUMNS = ("origin_id", "destination_id", "minutes")

#: Codes of :attr:`GroupsResult.unplaced` ``reason_code`` and what they mean.
UNPLACED_REASONS: dict[str, str] = {
    "no_base_in_reach": "no executive base within the time limit",
    "no_partner_in_reach": "no other selected SME within the time limit",
    "competes_with_all": "competes with every SME within the time limit",
    "no_feasible_group": "no feasible group of the minimum size: its compatible partners are too far "
                         "from, or compete with, one another",
    "partners_grouped": "feasible groups exist for it, but each would take members from other groups",
}

Rule: TypeAlias = "str | Callable[[np.ndarray, np.ndarray], Any]"

_NAF_RE = re.compile(r"\d{4}[A-Z]?")
_SECTIONS = frozenset("ABCDEFGHIJKLMNOPQRSTU")
_TOL = 1e-9


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class GroupsResult:
    """Export groups formed by :func:`form_groups`.

    Attributes
    ----------
    groups : DataFrame
        One row per group, indexed by ``group_id`` (1, 2, ...): ``members`` (list of SME
        ids in tour order, starting after the base; with a member base, the base member
        first), ``n``, ``naf_sections`` and ``naf_classes`` (lists aligned with
        ``members``), ``tour_minutes`` (closed tour of the executive),
        ``penalty_minutes`` (size-balance penalty), ``max_pair_minutes`` (largest pair
        time between two members), ``max_base_minutes`` (largest pair time between the
        base and a member) and ``base_id``.
    members : DataFrame
        The placed SMEs, indexed by ``sme_id`` in the input order: ``group_id``,
        ``tour_position`` (0 = first stop) and ``is_base``.
    unplaced : DataFrame
        The SMEs left out, indexed by ``sme_id`` in the input order: ``reason_code``
        (a key of :data:`UNPLACED_REASONS`) and ``reason`` (a sentence).
    objective : float
        Total cost in minutes: tour minutes plus size penalties.
    bound : float
        Lower bound on the objective of the optimal solution (most SMEs placed, then
        least cost); see the module documentation.
    gap : float
        ``(objective - bound) / objective`` (0 when the objective is 0).
    method : str
        ``"exact"``, ``"heuristic"`` or ``"exact+heuristic"`` (``method="auto"`` solved
        the small components exactly and the others heuristically).
    status : str
        ``"optimal"`` (exact, proved), ``"time_limit"`` (exact, stopped by the time
        limit: best solution found) or ``"heuristic"`` (no optimality proof).
    n_placed : int
        Number of SMEs in a group.
    max_placeable : int
        Most SMEs any solution can place (exact) or an upper bound on it (heuristic).
    """

    groups: pd.DataFrame
    members: pd.DataFrame
    unplaced: pd.DataFrame
    objective: float
    bound: float
    gap: float
    method: str
    status: str
    n_placed: int
    max_placeable: int

    @property
    def tour_minutes(self) -> float:
        """Total tour minutes of all groups (the objective without size penalties)."""
        return float(self.groups["tour_minutes"].sum())


# --------------------------------------------------------------------------- NAF codes


def _show(values: Iterable[Any], k: int = 5) -> str:
    vals = list(values)
    s = ", ".join(repr(v) for v in vals[:k])
    return s + (", ..." if len(vals) > k else "")


def _normalise_naf(codes: Any, name: str) -> np.ndarray:
    """Dotted upper-case NAF codes (``"62.01Z"``) as an object array; bad codes are an error."""
    arr = np.asarray(codes, dtype=object)
    flat = arr.reshape(-1)
    out = np.empty(flat.shape, dtype=object)
    bad = []
    for k, v in enumerate(flat):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            bad.append(v)
            continue
        s = str(v).strip().upper().replace(".", "")
        if not _NAF_RE.fullmatch(s):
            bad.append(v)
            continue
        out[k] = s[:2] + "." + s[2:]
    if bad:
        raise InputError(
            f"{name} has {len(bad)} missing or malformed NAF code(s) (e.g. {_show(bad)}); expected NAF "
            f"rév. 2 codes like '62.01Z' or '6201Z': fill them or drop those firms first "
            f"(e.g. select_smes(..., naf_prefixes=...))"
        )
    return out.reshape(arr.shape)


def _check_rule(rule: Any) -> None:
    if callable(rule):
        return
    if not isinstance(rule, str) or rule not in COMPETITION_RULES:
        raise InputError(
            f"competition rule {rule!r} is unknown; choose one of {', '.join(COMPETITION_RULES)} "
            f"or pass a callable f(naf_a, naf_b) -> array of bool"
        )


def _callable_competes(rule: Callable[..., Any], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = []
    for x, y in ((a, b), (b, a)):
        try:
            r = np.asarray(rule(x, y))
        except InputError:
            raise
        except Exception as exc:  # a user's callable: report what it did
            raise InputError(f"competition rule {rule!r} failed on NAF codes: {exc!r}; it must take two "
                             f"arrays of NAF codes and return an array of bool") from exc
        if r.shape != a.shape or r.dtype.kind not in "bui":
            raise InputError(
                f"competition rule {rule!r} returned shape {r.shape} and dtype {r.dtype}; it must return "
                f"one bool per pair, shape {a.shape}"
            )
        out.append(r.astype(bool))
    return out[0] | out[1]


def competes(a: Any, b: Any, *, rule: Rule = "naf_class") -> np.ndarray:
    """Whether firms with NAF codes ``a`` and ``b`` compete, pair by pair (vectorised).

    Parameters
    ----------
    a, b : str or array-like of str
        NAF rév. 2 codes, dotted or not (``"62.01Z"``, ``"6201Z"``; a 4-digit class such
        as ``"62.01"`` is accepted); broadcast against each other.
    rule : str or callable, default "naf_class"
        ``"naf_class"`` (same first four digits, e.g. ``62.01``), ``"naf_group"``
        (``62.0``), ``"naf_division"`` (``62``), ``"naf_subclass"`` (the full code),
        ``"none"`` (never), or a callable ``rule(naf_a, naf_b) -> array of bool`` taking
        two object arrays of dotted codes. A pair competes if ``rule(a, b)`` or
        ``rule(b, a)``: competition is symmetric.

    Returns
    -------
    numpy.ndarray of bool
        The broadcast shape of ``a`` and ``b`` (0-d for two strings).

    Raises
    ------
    InputError
        Unknown rule, malformed or missing NAF code, shapes that do not broadcast, or a
        callable returning something else than one bool per pair.

    Examples
    --------
    >>> competes(["62.01Z", "62.01Z", "10.71C"], ["6201A", "62.02A", "10.71D"]).tolist()
    [True, False, True]
    >>> bool(competes("62.01Z", "62.02A", rule="naf_division"))
    True
    """
    _check_rule(rule)
    na = _normalise_naf(a, "a")
    nb = _normalise_naf(b, "b")
    try:
        na, nb = np.broadcast_arrays(na, nb)
    except ValueError as exc:
        raise InputError(f"a (shape {na.shape}) and b (shape {nb.shape}) do not broadcast; pass arrays of "
                         f"the same length") from exc
    if callable(rule):
        flat = _callable_competes(rule, na.reshape(-1).copy(), nb.reshape(-1).copy())
        return flat.reshape(na.shape)
    width = COMPETITION_RULES[rule]
    if width == 0:
        return np.zeros(na.shape, dtype=bool)
    ka = np.vectorize(lambda s: s.replace(".", "")[:width], otypes=[object])(na) if na.size else na
    kb = np.vectorize(lambda s: s.replace(".", "")[:width], otypes=[object])(nb) if nb.size else nb
    return np.asarray(ka == kb, dtype=bool)


def _competition_codes(naf: np.ndarray, rule: Rule) -> tuple[np.ndarray | None, Callable[..., np.ndarray] | None]:
    """Integer keys per firm such that equal keys compete, or a pairwise function (callables)."""
    if not callable(rule):
        width = COMPETITION_RULES[rule]
        if width == 0:
            return None, None
        keys = pd.Series([s.replace(".", "")[:width] for s in naf])
        return pd.factorize(keys)[0].astype(np.int64), None
    uniq, inv = np.unique(naf.astype(str), return_inverse=True)
    ua = np.repeat(uniq.astype(object), len(uniq))
    ub = np.tile(uniq.astype(object), len(uniq))
    grid = _callable_competes(rule, ua, ub).reshape(len(uniq), len(uniq))
    inv = inv.astype(np.int64)

    def pairwise(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return grid[inv[i], inv[j]]

    return None, pairwise


# --------------------------------------------------------------------------- selection


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
    >>> smes = pd.DataFrame({"naf": ["62.01Z", "10.71C", "62.02A"], "naf_section": ["J", "C", "J"],
    ...                      "is_sme": [True, True, True]}, index=["a", "b", "c"])
    >>> select_smes(smes, naf_prefixes="62").index.tolist()
    ['a', 'c']
    """
    if not isinstance(smes, pd.DataFrame):
        raise InputError(f"smes must be a GeoDataFrame, got {type(smes).__name__}")
    from .layers.smes import SIZE_BANDS  # layers are upstream of groups

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
        filters.append(("sections", lambda d: d["naf_section"].astype("string").str.strip().str.upper()
                        .isin(secs).fillna(False).astype(bool)))
    if naf_prefixes is not None:
        pre = [str(p).strip().upper().replace(".", "") for p in _as_list(naf_prefixes, "naf_prefixes")]
        bad = [p for p in pre if not re.fullmatch(r"\d{1,4}|\d{4}[A-Z]", p)]
        if bad:
            problems.append(f"naf_prefixes {_show(bad)} are not beginnings of NAF codes such as '62', "
                            f"'62.0', '62.01' or '62.01Z'")

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
        filters.append(("size_bands", lambda d: d["size_band"].astype("string").str.strip()
                        .isin(bands).fillna(False).astype(bool)))
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
        filters.append(("exporter", lambda d: (d["exporter"].astype("boolean") == want).fillna(False)
                        .astype(bool)))
    if communes is not None:
        codes = [str(c).strip() for c in _as_list(communes, "communes")]
        needed.append("commune")
        filters.append(("communes", lambda d: d["commune"].astype("string").str.strip()
                        .isin(codes).fillna(False).astype(bool)))
    if within is not None:
        area = _area(within, smes, problems)
        if area is not None:
            filters.append(("within", lambda d: pd.Series(shapely.intersects(d.geometry.values, area),
                                                          index=d.index)))
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
        problems.append(f"within must be a shapely Polygon/MultiPolygon or a GeoSeries/GeoDataFrame, "
                        f"got {type(within).__name__}")
        return None
    if area.is_empty or area.geom_type not in ("Polygon", "MultiPolygon"):
        problems.append(f"within must be a non-empty Polygon or MultiPolygon, got {area.geom_type}"
                        f"{' (empty)' if area.is_empty else ''}")
        return None
    return area


# --------------------------------------------------------------------------- problem


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
        raise InputError(f"od has missing or non-numeric minutes (rows {rows}); drop those rows or use inf "
                         f"for unreachable pairs")
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
        raise InputError(f"od has duplicate rows for the same origin and destination (e.g. {ex}); keep one "
                         f"travel time per direction (e.g. od.groupby(['origin_id', 'destination_id']).min())")
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
    if nb:
        reach = elig[lo].__and__(elig[hi]).any(axis=1)
    else:
        reach = pm <= max_minutes + _TOL
    ok = reach.copy()
    if naf is not None:
        codes, pairwise = _competition_codes(naf, rule)
        if codes is not None:
            ok &= codes[lo] != codes[hi]
        else:
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
        n=n, nb=nb, min_size=min_size, max_size=max_size, max_minutes=max_minutes, pen=pen,
        keys=keys, mins=pm, ok=ok, indptr=indptr, indices=c.astype(np.int64), data=w,
        base_min=base_min, reach_deg=reach_deg,
    )
    return prob, naf, base_ids


# --------------------------------------------------------------------------- tours


_CYCLES: dict[int, np.ndarray] = {}


def _cycles(k: int) -> np.ndarray:
    """Distinct cycles through nodes 0..k-1 (node 0 first, one of each mirror pair)."""
    if k not in _CYCLES:
        if k <= 2:
            cyc = [tuple(range(k))]
        else:
            cyc = [(0, *p) for p in itertools.permutations(range(1, k)) if p[0] < p[-1]]
        _CYCLES[k] = np.array(cyc, dtype=np.int64).reshape(len(cyc), k)
    return _CYCLES[k]


def _tour_batch(D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shortest closed tour of each (k x k) symmetric matrix of a batch: (minutes, cycle row)."""
    m, k, _ = D.shape
    cyc = _cycles(k)
    if k == 1:
        return np.zeros(m), np.zeros(m, dtype=np.int64)
    rows = np.arange(m)[:, None]
    nxt = np.roll(cyc, -1, axis=1)
    totals = np.empty((m, len(cyc)))
    for c in range(len(cyc)):
        totals[:, c] = D[rows, cyc[c][None, :], nxt[c][None, :]].sum(axis=1)
    best = np.argmin(totals, axis=1)
    return totals[np.arange(m), best], best


def _combinations(m: int, r: int) -> np.ndarray:
    """All r-subsets of range(m) as rows of an array (cached: the same shapes recur)."""
    key = (m, r)
    got = _COMBS.get(key)
    if got is None:
        got = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(m), r)), dtype=np.int64,
                          count=math.comb(m, r) * r).reshape(-1, r)
        if len(_COMBS) > 256:
            _COMBS.clear()
        _COMBS[key] = got
    return got


_COMBS: dict[tuple[int, int], np.ndarray] = {}


def _group_tours(prob: _Problem, members: np.ndarray, D: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tours of a batch of groups (m x k positions): minutes, base (member position or base
    number) and node order (m x k, members in tour order starting after/at the base).
    ``D``: the (m x k x k) pair minutes when the caller has them."""
    m, k = members.shape
    if D is None:
        D = prob.pair(members[:, :, None], members[:, None, :])
    D[:, np.arange(k), np.arange(k)] = 0.0
    if prob.nb == 0:
        tour, which = _tour_batch(D)
        order = members[np.arange(m)[:, None], _cycles(k)[which]]
        # the executive sits at the most central member: least total minutes to the others
        central = np.argmin(np.where(np.isfinite(D), D, 1e18).sum(axis=2), axis=1)
        base = members[np.arange(m), central]
        # rotate the tour so that it starts at the base member
        shift = np.argmax(order == base[:, None], axis=1)
        idx = (np.arange(k)[None, :] + shift[:, None]) % k
        order = order[np.arange(m)[:, None], idx]
        return tour, base, order
    best = np.full(m, np.inf)
    best_base = np.full(m, -1, dtype=np.int64)
    best_order = members.copy()
    full = np.zeros((m, k + 1, k + 1))
    full[:, 1:, 1:] = D
    for b in range(prob.nb):
        t = prob.base_min[members, b]  # (m, k)
        ok = np.isfinite(t).all(axis=1)
        if not ok.any():
            continue
        sub = full[ok].copy()
        sub[:, 0, 1:] = t[ok]
        sub[:, 1:, 0] = t[ok]
        tour, which = _tour_batch(sub)
        cyc = _cycles(k + 1)[which][:, 1:] - 1
        rows = np.flatnonzero(ok)
        better = tour < best[rows] - _TOL
        rb = rows[better]
        best[rb] = tour[better]
        best_base[rb] = b
        best_order[rb] = members[rb[:, None], cyc[better]]
    return best, best_base, best_order


# --------------------------------------------------------------------------- exact


class _TooMany(Exception):
    pass


def _enumerate_groups(prob: _Problem, cap: int, vertices: Iterable[int] | None = None) -> dict[int, np.ndarray]:
    """Every feasible group (clique of the compatibility graph, with a common base) whose
    smallest member is in ``vertices`` (default all), by size; :class:`_TooMany` beyond ``cap``."""
    n = prob.n
    cache: dict[int, frozenset[int]] = {}

    def higher(i: int) -> frozenset[int]:  # built on demand: a dense graph hits the cap early
        got = cache.get(i)
        if got is None:
            nbr, _ = prob.row(i)
            got = cache[i] = frozenset(nbr[nbr > i].tolist())
        return got
    elig = None
    if prob.nb:
        elig = [int(sum(1 << b for b in np.flatnonzero(np.isfinite(prob.base_min[i])))) for i in range(n)]
    found: dict[int, list[tuple[int, ...]]] = {k: [] for k in range(prob.min_size, prob.max_size + 1)}
    count = 0
    lo_k, hi_k = prob.min_size, prob.max_size

    def extend(clique: tuple[int, ...], cand: frozenset[int], common: int) -> None:
        nonlocal count
        k = len(clique)
        if k >= lo_k:
            found[k].append(clique)
            count += 1
            if count > cap:
                raise _TooMany
        if k == hi_k:
            return
        for u in sorted(cand):
            cm = common
            if elig is not None:
                cm = common & elig[u]
                if not cm:
                    continue
            extend(clique + (u,), cand & higher(u), cm)

    for v in range(n) if vertices is None else vertices:
        if prob.nb and not elig[v]:
            continue
        extend((v,), higher(v), elig[v] if elig is not None else 0)
    return {k: np.array(v, dtype=np.int64).reshape(len(v), k) for k, v in found.items() if v}


@dataclass
class _Solution:
    groups: list[tuple[np.ndarray, float, int]]  # (members in tour order, tour minutes, base)
    objective: float
    bound: float
    status: str
    method: str
    max_placeable: int
    placeable: np.ndarray  # SMEs in at least one feasible group (or not excluded by the bound)


def _solve_exact(prob: _Problem, cols: dict[int, np.ndarray], time_limit_s: float, seed: int) -> _Solution:
    start = time.perf_counter()
    mem_list, tour_list, base_list, order_list, size_list = [], [], [], [], []
    for k, members in cols.items():
        tour, base, order = _group_tours(prob, members)
        feasible = np.isfinite(tour)
        mem_list.extend(members[feasible])
        order_list.extend(order[feasible])
        tour_list.append(tour[feasible])
        base_list.append(base[feasible])
        size_list.append(np.full(int(feasible.sum()), k))
    placeable = np.zeros(prob.n, dtype=bool)
    if not mem_list:
        return _Solution([], 0.0, 0.0, "optimal", "exact", 0, placeable)
    tours = np.concatenate(tour_list)
    bases = np.concatenate(base_list)
    sizes = np.concatenate(size_list)
    cost = tours + prob.pen[sizes]
    m = len(tours)
    rows = np.concatenate(mem_list)
    colidx = np.repeat(np.arange(m), sizes)
    placeable[rows] = True
    A = sparse.csr_array((np.ones(len(rows)), (rows, colidx)), shape=(prob.n, m))

    # One MIP, lexicographic through a big weight per SME placed: M exceeds the cost of
    # any solution, so placing one more SME always pays (two solves, "most placed" then
    # "least cost at that number", were much slower in HiGHS because of the count row).
    big = float(cost.max()) * math.ceil(prob.n / prob.min_size) + 1.0
    c = cost - big * sizes
    # Reduced-cost fixing: with the LP optimum z and a heuristic solution of value U, a
    # column whose LP reduced cost exceeds U - z is in no solution better than U, so
    # HiGHS only sees the columns that can matter (its root node is slow on many columns).
    search = _search(prob, time_limit_s=min(0.2 * time_limit_s, 10.0), seed=seed, mask=placeable)
    upper = sum(search.cost(g) - big * len(g) for g in search.groups.values())
    lp = linprog(c, A_ub=A, b_ub=np.ones(prob.n), bounds=(0.0, 1.0), method="highs")
    keep = np.ones(m, dtype=bool)
    if lp.status == 0:
        rc = np.asarray(lp.lower.marginals) + np.asarray(lp.upper.marginals)
        keep = rc <= upper - lp.fun + 1e-7 * (abs(lp.fun) + 1.0)
    sub = np.flatnonzero(keep)
    res = milp(c[sub], constraints=[LinearConstraint(A[:, sub], -np.inf, 1.0)], integrality=np.ones(len(sub)),
               bounds=Bounds(0.0, 1.0),
               options={"time_limit": max(time_limit_s - (time.perf_counter() - start), 0.01), "mip_rel_gap": 1e-12})
    if res.x is not None:
        x = np.zeros(m)
        x[sub] = res.x
        res.x = x
    if res.x is None:
        return _Solution([], math.nan, math.nan, "time_limit", "exact", int(placeable.sum()), placeable)
    chosen = np.flatnonzero(res.x > 0.5)
    groups = [(np.asarray(order_list[c]), float(tours[c]), int(bases[c])) for c in chosen]
    objective = float(cost[chosen].sum())
    n_placed = int(sizes[chosen].sum())
    if res.status == 0:
        return _Solution(groups, objective, objective, "optimal", "exact", n_placed, placeable)
    # stopped by the time limit: any solution placing p SMEs has cost - big * p >= dual bound
    dual = float(getattr(res, "mip_dual_bound", -np.inf))
    bound = max(dual + big * n_placed, 0.0) if np.isfinite(dual) else 0.0
    most = math.floor((float(cost.sum()) - dual) / big + 1e-9) if np.isfinite(dual) else int(placeable.sum())
    max_placeable = int(min(placeable.sum(), max(most, n_placed)))
    return _Solution(groups, objective, float(min(bound, objective)), "time_limit", "exact", max_placeable,
                     placeable)


# --------------------------------------------------------------------------- heuristic


class _Search:
    """Greedy construction, placement repair and local search on the compatibility graph."""

    def __init__(self, prob: _Problem, *, seed: int, deadline: float, k_near: int = 30) -> None:
        self.p = prob
        self.rng = np.random.default_rng(seed)
        self.deadline = deadline
        self.k_near = k_near
        n = prob.n
        self.near: list[list[int]] = []
        self.dist: dict[int, float] = {}
        for i in range(n):
            nbr, w = prob.row(i)
            nb = [int(j) for j in nbr[:k_near]]
            self.near.append(nb)
            for j, t in zip(nb, w[:k_near].tolist()):
                self.dist[i * n + j] = t
                self.dist[j * n + i] = t
        self.elig: list[int] | None = None
        self.bmin: list[list[float]] | None = None
        if prob.nb:
            self.elig = [int(sum(1 << b for b in np.flatnonzero(np.isfinite(prob.base_min[i])))) for i in range(n)]
            self.bmin = prob.base_min.tolist()
        self.cyc = {k: [tuple(c) for c in _cycles(k).tolist()] for k in range(1, prob.max_size + 2)}
        self.cache: dict[tuple[int, ...], float] = {}
        self.group_of = [-1] * n
        self.placeable = np.ones(n, dtype=bool)
        self.groups: dict[int, tuple[int, ...]] = {}
        self.next_gid = 0

    # -- costs
    def d(self, i: int, j: int) -> float:
        key = i * self.p.n + j
        t = self.dist.get(key)
        if t is None:
            t = float(self.p.pair(np.array([i]), np.array([j]))[0])
            self.dist[key] = t
            self.dist[j * self.p.n + i] = t
        return t

    def _cycle_min(self, D: list[list[float]], k: int) -> float:
        best = math.inf
        for c in self.cyc[k]:
            s = D[c[-1]][c[0]]
            for a in range(k - 1):
                s += D[c[a]][c[a + 1]]
            if s < best:  # noqa: PLR1730 (faster than min() in this hot loop)
                best = s
        return best

    def cost(self, g: tuple[int, ...]) -> float:
        """Tour + penalty of a sorted tuple of positions (inf if infeasible)."""
        c = self.cache.get(g)
        if c is not None:
            return c
        k = len(g)
        D = [[0.0] * k for _ in range(k)]
        c = 0.0
        for a in range(k):
            for b in range(a + 1, k):
                t = self.d(g[a], g[b])
                if t == math.inf:
                    c = math.inf
                    break
                D[a][b] = D[b][a] = t
            if c == math.inf:
                break
        if c != math.inf:
            if self.elig is None:
                c = self._cycle_min(D, k) + self.p.pen[k]
            else:
                common = -1
                for i in g:
                    common &= self.elig[i]
                c = math.inf
                b = 0
                while common > 0:
                    if common & 1:
                        row = [self.bmin[i][b] for i in g]
                        Db = [[0.0, *row]] + [[row[a], *D[a]] for a in range(k)]
                        c = min(c, self._cycle_min(Db, k + 1))
                    common >>= 1
                    b += 1
                c += self.p.pen[k]
        if len(self.cache) > 3_000_000:
            self.cache.clear()
        self.cache[g] = c
        return c

    # -- moves
    def add_group(self, members: Iterable[int]) -> int:
        gid = self.next_gid
        self.next_gid += 1
        g = tuple(sorted(members))
        self.groups[gid] = g
        for i in g:
            self.group_of[i] = gid
        return gid

    def set_group(self, gid: int, members: Iterable[int]) -> None:
        for i in self.groups[gid]:
            if self.group_of[i] == gid:  # a member may already have moved to another group
                self.group_of[i] = -1
        g = tuple(sorted(members))
        self.groups[gid] = g
        for i in g:
            self.group_of[i] = gid

    def drop_group(self, gid: int) -> None:
        for i in self.groups.pop(gid):
            self.group_of[i] = -1

    def candidates(self, s: int, allowed: Callable[[int], bool], want: int) -> list[int]:
        cands = [j for j in self.near[s] if allowed(j)]
        if len(cands) < want and len(self.near[s]) >= self.k_near:
            nbr, _ = self.p.row(s)
            cands = [int(j) for j in nbr if allowed(int(j))][: max(want, self.k_near)]
        return cands

    def _can_give(self, j: int) -> bool:
        """SME ``j`` is free, or its group stays at least ``min_size`` without it."""
        gid = self.group_of[j]
        return gid < 0 or len(self.groups[gid]) > self.p.min_size

    def _extra_ok(self, g: list[int], c: int) -> bool:
        """Taking ``c`` as well as the members of ``g`` already taken from its group leaves that group feasible."""
        gid = self.group_of[c]
        if gid < 0:
            return True
        used = sum(1 for x in g if self.group_of[x] == gid)
        return len(self.groups[gid]) - used - 1 >= self.p.min_size

    def grow(self, s: int, allowed: Callable[[int], bool], extra_ok: Callable[[list[int], int], bool] | None = None
             ) -> tuple[tuple[int, ...], float] | None:
        """Greedy cheapest-insertion group around ``s``; the size with the least cost per member."""
        p = self.p
        cands = self.candidates(s, allowed, self.k_near)
        g = [s]
        best: tuple[tuple[int, ...], float] | None = None
        best_ratio = math.inf
        while len(g) < p.max_size:
            pick, pick_cost = -1, math.inf
            for c in cands:
                if c in g or (extra_ok is not None and not extra_ok(g, c)):
                    continue
                cc = self.cost(tuple(sorted((*g, c))))
                if cc < pick_cost:
                    pick, pick_cost = c, cc
            if pick < 0:
                break
            g.append(pick)
            if len(g) >= p.min_size and pick_cost / len(g) < best_ratio - _TOL:
                best_ratio = pick_cost / len(g)
                best = (tuple(sorted(g)), pick_cost)
        return best

    def construct(self) -> None:
        p = self.p
        placeable = self.placeable
        deg = np.diff(p.indptr)
        order = np.lexsort((self.rng.random(p.n), deg))
        def free(j: int) -> bool:
            return self.group_of[j] < 0

        for s in order.tolist():
            if self.group_of[s] >= 0 or not placeable[s]:
                continue
            found = self.grow(s, free)
            if found is not None:
                self.add_group(found[0])

    def repair(self) -> None:
        """Place unplaced placeable SMEs: insertion, a new group taking spare members, ejection,
        then exact re-solution of their neighbourhoods."""
        placeable = self.placeable
        changed = True
        while changed and time.perf_counter() < self.deadline:
            changed = False
            for u in np.flatnonzero(placeable).tolist():
                if self.group_of[u] >= 0:
                    continue
                if self._insert(u) or self._new_group(u) or self._eject(u):
                    changed = True
                if time.perf_counter() > self.deadline:
                    break
            if not changed:
                changed = self._lns_unplaced() > 0

    def _neighbour_groups(self, i: int, limit: int | None = None) -> list[int]:
        seen: dict[int, None] = {}
        near = self.near[i] if limit is None else self.near[i][:limit]
        for j in near:
            gid = self.group_of[j]
            if gid >= 0 and gid != self.group_of[i]:
                seen[gid] = None
        return list(seen)

    def _insert(self, u: int, exclude: int = -1, apply: bool = True) -> tuple[float, int] | bool:
        best, best_gid = math.inf, -1
        for gid in self._neighbour_groups(u):
            g = self.groups[gid]
            if gid == exclude or len(g) >= self.p.max_size:
                continue
            delta = self.cost(tuple(sorted((*g, u)))) - self.cost(g)
            if delta < best:
                best, best_gid = delta, gid
        if not apply:
            return best, best_gid
        if best_gid >= 0 and best < math.inf:
            self.set_group(best_gid, (*self.groups[best_gid], u))
            return True
        return False

    def _new_group(self, u: int) -> bool:
        p = self.p
        taken: dict[int, int] = {}

        allowed, extra_ok = self._can_give, self._extra_ok

        found = self.grow(u, allowed, extra_ok)
        if found is None:
            return False
        members = found[0]
        for j in members:
            gid = self.group_of[j]
            if gid >= 0:
                taken[gid] = taken.get(gid, 0) + 1
        for gid in taken:
            self.set_group(gid, [x for x in self.groups[gid] if x not in members])
        self.add_group(members)
        return True

    def _eject(self, u: int) -> bool:
        best, plan = math.inf, None
        for gid in self._neighbour_groups(u):
            g = self.groups[gid]
            base = self.cost(g)
            for j in g:
                swapped = tuple(sorted((*[x for x in g if x != j], u)))
                c = self.cost(swapped)
                if c == math.inf:
                    continue
                self.group_of[j] = -1  # j leaves g before looking for its new group
                self.group_of[u] = gid
                res = self._insert(j, exclude=gid, apply=False)
                self.group_of[j] = gid
                self.group_of[u] = -1
                delta, target = res  # type: ignore[misc]
                if target >= 0 and c - base + delta < best:
                    best, plan = c - base + delta, (gid, swapped, j, target)
        if plan is None:
            return False
        gid, swapped, j, target = plan
        self.set_group(gid, swapped)
        self.set_group(target, (*self.groups[target], j))
        return True

    def improve(self) -> None:
        """Relocations and swaps, optimal re-partition of neighbouring group pairs, then
        exact re-partition of neighbourhoods of three groups (set partitioning, HiGHS)."""
        # cheap moves first; then exact re-solutions: tiles of nearby SMEs over a pool of
        # good groups (the most improvement per second), three groups, four, random sets
        stages = (self._tile_lns, lambda: self._lns(3), lambda: self._lns(4), self._random_lns)
        while time.perf_counter() < self.deadline:
            moved = self._relocate_swap() + self._repartition() + self._spawn() + self._dissolve()
            for stage in stages:
                if moved or time.perf_counter() > self.deadline:
                    break
                moved = stage()
            if not moved:
                break

    def _build_pool(self, m_near: int = 12, top: int = 25) -> None:
        """Candidate groups: for every SME, the ``top`` groups of least cost per member
        among its ``m_near`` nearest compatible partners."""
        p = self.p
        pool: dict[tuple[int, ...], float] = {}
        for i in np.flatnonzero(self.placeable).tolist():
            nbr, _ = p.row(i)
            local = np.concatenate([[i], nbr[:m_near]]).astype(np.int64)
            m = len(local) - 1
            L = p.pair(local[:, None], local[None, :])
            np.fill_diagonal(L, 0.0)
            fin = np.isfinite(L)
            elig = np.isfinite(p.base_min[local]) if p.nb else None
            found: list[tuple[float, tuple[int, ...], float]] = []
            for k in range(p.min_size, p.max_size + 1):
                if m < k - 1:
                    break
                comb = _combinations(m, k - 1) + 1
                ok = np.ones(len(comb), dtype=bool)
                for a in range(k - 1):
                    for b in range(a + 1, k - 1):
                        ok &= fin[comb[:, a], comb[:, b]]
                if elig is not None:
                    ok &= (elig[0][None, :] & np.logical_and.reduce(elig[comb], axis=1)).any(axis=1)
                comb = comb[ok]
                if not len(comb):
                    continue
                nodes = np.concatenate([np.zeros((len(comb), 1), dtype=np.int64), comb], axis=1)
                tours, _, _ = _group_tours(p, local[nodes], L[nodes[:, :, None], nodes[:, None, :]])
                cost = tours + p.pen[k]
                best = np.argsort(cost)[:top]
                found.extend((float(cost[b]) / k, tuple(sorted(local[nodes[b]].tolist())), float(cost[b]))
                             for b in best if np.isfinite(cost[b]))
            found.sort()
            for _, g, c in found[:top]:
                pool[g] = c
        self.pool = pool
        self.pool_of: dict[int, list[tuple[int, ...]]] = {}
        for g in pool:
            for i in g:
                self.pool_of.setdefault(i, []).append(g)

    def _tile_lns(self, size: int = 100) -> int:
        """Set packing over the candidate pool on tiles of ``size`` nearby SMEs (most placed,
        then least cost), the rest fixed; until a sweep brings nothing or the time limit."""
        p = self.p
        if not hasattr(self, "pool"):
            self._build_pool()
        moves = 0
        seeds = self.rng.permutation(np.flatnonzero(self.placeable)).tolist()
        covered = np.zeros(p.n, dtype=bool)
        for s0 in seeds:
            if time.perf_counter() > self.deadline:
                break
            if covered[s0]:
                continue
            # the tile: breadth-first over nearest partners
            tile: dict[int, None] = {s0: None}
            frontier = [s0]
            while frontier and len(tile) < size:
                nxt = []
                for i in frontier:
                    for j in self.near[i][:8]:
                        if j not in tile and self.placeable[j]:
                            tile[j] = None
                            nxt.append(j)
                frontier = nxt
            # groups partly outside stay as they are
            members = set(tile)
            for i in list(members):
                gid = self.group_of[i]
                if gid >= 0 and any(x not in members for x in self.groups[gid]):
                    members.difference_update(self.groups[gid])
            if len(members) < p.min_size:
                continue
            covered[list(members)] = True
            free = {self.group_of[i] for i in members if self.group_of[i] >= 0}
            cols: dict[tuple[int, ...], float] = {self.groups[g]: self.cost(self.groups[g]) for g in free}
            for i in members:
                for g in self.pool_of.get(i, ()):
                    if g not in cols and all(x in members for x in g):
                        cols[g] = self.pool[g]
            now_cost = sum(self.cost(self.groups[g]) for g in free)
            now_placed = sum(len(self.groups[g]) for g in free)
            best = _pack(p, list(members), cols, now_cost, now_placed)
            if best is None:
                continue
            for g in free:
                self.drop_group(g)
            for g in best:
                self.add_group(g)
            moves += 1
        return moves

    def _spawn(self) -> int:
        """One more group: a member of a group with spare members starts a new group with
        spare members of nearby groups, when that lowers the total cost."""
        p = self.p
        moves = 0

        allowed, extra_ok = self._can_give, self._extra_ok

        placed = [i for i in range(p.n) if self.group_of[i] >= 0]
        for i in self.rng.permutation(placed).tolist():
            if time.perf_counter() > self.deadline:
                break
            A = self.group_of[i]
            if A < 0 or len(self.groups[A]) <= p.min_size:
                continue
            ga = self.groups[A]
            self.set_group(A, [x for x in ga if x != i])
            found = self.grow(i, allowed, extra_ok)
            if found is not None:
                members, c_new = found
                donors: dict[int, list[int]] = {}
                for j in members:
                    if self.group_of[j] >= 0:
                        donors.setdefault(self.group_of[j], []).append(j)
                delta = c_new + self.cost(self.groups[A]) - self.cost(ga)
                for gid, taken in donors.items():
                    if gid != A:
                        rest = tuple(x for x in self.groups[gid] if x not in taken)
                        delta += self.cost(rest) - self.cost(self.groups[gid])
                if delta < -1e-9 and A not in donors:
                    for gid, taken in donors.items():
                        self.set_group(gid, [x for x in self.groups[gid] if x not in taken])
                    self.add_group(members)
                    moves += 1
                    continue
            self.set_group(A, ga)
        return moves

    def _dissolve(self) -> int:
        """One group fewer: the members of a group join nearby groups that have room, when
        that lowers the total cost."""
        moves = 0
        for gid in self.rng.permutation(list(self.groups)).tolist():
            if time.perf_counter() > self.deadline:
                break
            if gid not in self.groups:
                continue
            g = self.groups[gid]
            before: dict[int, tuple[int, ...]] = {}
            self.drop_group(gid)
            delta = -self.cost(g)
            ok = True
            for m in g:
                best, target = self._insert(m, apply=False)  # type: ignore[misc]
                if target < 0 or best == math.inf:
                    ok = False
                    break
                before.setdefault(target, self.groups[target])
                delta += best
                self.set_group(target, (*self.groups[target], m))
            if ok and delta < -1e-9:
                moves += 1
                continue
            for target, old in before.items():
                self.set_group(target, old)
            self.groups[gid] = g
            for m in g:
                self.group_of[m] = gid
        return moves

    def _random_lns(self, n_groups: int = 3, pool: int = 6) -> int:
        """Exact re-solution of random sets of nearby groups, until ``max(50, 2 x groups)``
        attempts in a row bring nothing (or the time limit)."""
        moves, idle = 0, 0
        while self.groups and time.perf_counter() < self.deadline and idle < max(50, 2 * len(self.groups)):
            gid = list(self.groups)[int(self.rng.integers(len(self.groups)))]
            closeness: dict[int, float] = {}
            for i in self.groups[gid]:
                for j in self.near[i][:15]:
                    other = self.group_of[j]
                    if other >= 0 and other != gid:
                        closeness[other] = min(closeness.get(other, math.inf), self.d(i, j))
            near = sorted(closeness, key=closeness.__getitem__)[:pool]
            if not near:
                idle += 1
                continue
            pick = self.rng.choice(len(near), size=min(n_groups - 1, len(near)), replace=False)
            if self._resolve(self.groups[gid], 0, own=gid, chosen=[near[k] for k in pick]):
                moves += 1
                idle = 0
            else:
                idle += 1
        return moves

    def _lns(self, n_groups: int) -> int:
        """Re-solve exactly each group with its nearest neighbour groups and nearby
        unplaced SMEs (most SMEs placed, then least cost)."""
        moves = 0
        for gid in self.rng.permutation(list(self.groups)).tolist():
            if time.perf_counter() > self.deadline:
                break
            if gid in self.groups:
                moves += self._resolve(self.groups[gid], n_groups, own=gid)
        return moves

    def _lns_unplaced(self, n_groups: int = 3) -> int:
        """The same around each unplaced SME that could be in a group."""
        moves = 0
        for u in np.flatnonzero(self.placeable).tolist():
            if time.perf_counter() > self.deadline:
                break
            if self.group_of[u] < 0:
                moves += self._resolve((u,), n_groups, own=-1)
        return moves

    def _resolve(self, seed: tuple[int, ...], n_groups: int, *, own: int, max_union: int = 18,
                 chosen: list[int] | None = None) -> int:
        """Re-solve the groups of ``seed``'s neighbourhood (its nearest ``n_groups`` groups, or
        ``chosen``) with nearby unplaced SMEs; 1 if that improved the solution."""
        closeness: dict[int, float] = {}
        extra: dict[int, None] = {}
        for i in seed:
            for j in self.near[i][:12]:
                other = self.group_of[j]
                if other >= 0 and other != own:
                    closeness[other] = min(closeness.get(other, math.inf), self.d(i, j))
                elif other < 0 and self.placeable[j] and j not in seed:
                    extra[j] = None
        if chosen is None:
            chosen = sorted(closeness, key=closeness.__getitem__)[: n_groups - (own >= 0)]
        if own >= 0:
            chosen = [own, *chosen]
        if not chosen:
            return 0
        union = [x for c in chosen for x in self.groups[c]]
        if own < 0:
            union.extend(seed)
        room = max(max_union - len(union), 0)
        union.extend(list(extra)[: min(room, 4)])
        union_arr = np.array(sorted(set(union)), dtype=np.int64)
        now_cost = sum(self.cost(self.groups[c]) for c in chosen)
        now_placed = sum(len(self.groups[c]) for c in chosen)
        best = _partition_exactly(self.p, union_arr, now_cost, now_placed)
        if best is None:
            return 0
        for c in chosen:
            self.drop_group(c)
        for members in best:
            self.add_group(members)
        return 1

    def _relocate_swap(self) -> int:
        p = self.p
        total = 0
        while time.perf_counter() < self.deadline:
            moves = 0
            placed = [i for i in range(p.n) if self.group_of[i] >= 0]
            for i in self.rng.permutation(placed).tolist():
                if time.perf_counter() > self.deadline:
                    break
                A = self.group_of[i]
                ga = self.groups[A]
                ca = self.cost(ga)
                a_minus = tuple(x for x in ga if x != i)
                ca_minus = self.cost(a_minus) if len(ga) > p.min_size else math.inf
                best, plan = -1e-9, None
                for B in self._neighbour_groups(i, 12):
                    gb = self.groups[B]
                    cb = self.cost(gb)
                    if len(gb) < p.max_size and ca_minus < math.inf:
                        delta = ca_minus + self.cost(tuple(sorted((*gb, i)))) - ca - cb
                        if delta < best:
                            best, plan = delta, (B, a_minus, (*gb, i))
                    for j in gb:
                        na = tuple(sorted((*a_minus, j)))
                        cna = self.cost(na)
                        if cna == math.inf:
                            continue
                        nbm = tuple(sorted((*[x for x in gb if x != j], i)))
                        delta = cna + self.cost(nbm) - ca - cb
                        if delta < best:
                            best, plan = delta, (B, na, nbm)
                if plan is not None:
                    B, na, nbm = plan
                    self.set_group(A, na)
                    self.set_group(B, nbm)
                    moves += 1
            total += moves
            if not moves:
                break
        return total

    def _repartition(self) -> int:
        p = self.p
        moves = 0
        pairs: dict[tuple[int, int], None] = {}
        for gid, g in self.groups.items():
            for i in g:
                for other in self._neighbour_groups(i, 8):
                    pairs[(min(gid, other), max(gid, other))] = None
        for A, B in pairs:
            if time.perf_counter() > self.deadline:
                break
            if A not in self.groups or B not in self.groups:
                continue
            ga, gb = self.groups[A], self.groups[B]
            union = sorted((*ga, *gb))
            now = self.cost(ga) + self.cost(gb)
            best, plan = now - 1e-9, None
            u = len(union)
            first, rest = union[0], union[1:]
            for r in range(p.min_size - 1, p.max_size):
                if not p.min_size <= u - r - 1 <= p.max_size and u - r - 1 != 0:
                    continue
                for comb in itertools.combinations(rest, r):
                    s1 = (first, *comb)
                    s2 = tuple(x for x in rest if x not in comb)
                    c = self.cost(s1) + (self.cost(s2) if s2 else 0.0)
                    if c < best:
                        best, plan = c, (s1, s2)
            if plan is not None:
                s1, s2 = plan
                self.set_group(A, s1)
                if s2:
                    self.set_group(B, s2)
                else:
                    self.drop_group(B)
                moves += 1
        return moves


def _partition_exactly(prob: _Problem, union: np.ndarray, now_cost: float, now_placed: int
                       ) -> list[tuple[int, ...]] | None:
    """Best packing of ``union`` into feasible groups (most placed, then least cost), if it
    beats the current groups of these SMEs (``now_placed`` placed at ``now_cost``)."""
    u = len(union)
    L = prob.pair(union[:, None], union[None, :])
    fin = np.isfinite(L)
    elig = np.isfinite(prob.base_min[union]) if prob.nb else None
    members, costs, sizes = [], [], []
    for k in range(prob.min_size, min(prob.max_size, u) + 1):
        comb = _combinations(u, k)
        ok = np.ones(len(comb), dtype=bool)
        for a in range(k):
            for b in range(a + 1, k):
                ok &= fin[comb[:, a], comb[:, b]]
        if elig is not None:
            ok &= np.logical_and.reduce(elig[comb], axis=1).any(axis=1)
        comb = comb[ok]
        if not len(comb):
            continue
        tours, _, _ = _group_tours(prob, union[comb], L[comb[:, :, None], comb[:, None, :]])
        fine = np.isfinite(tours)
        members.extend(comb[fine])
        costs.append(tours[fine] + prob.pen[k])
        sizes.append(np.full(int(fine.sum()), k))
    if not members:
        return None
    c = np.concatenate(costs)
    size = np.concatenate(sizes)
    m = len(c)
    big = float(c.max()) * math.ceil(u / prob.min_size) + 1.0
    rows = np.concatenate(members)
    cols = np.repeat(np.arange(m), size)
    A = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(u, m))
    res = milp(c - big * size, constraints=[LinearConstraint(A, -np.inf, 1.0)], integrality=np.ones(m),
               bounds=Bounds(0.0, 1.0), options={"time_limit": 5.0})
    if res.x is None:
        return None
    chosen = np.flatnonzero(res.x > 0.5)
    placed, cost = int(size[chosen].sum()), float(c[chosen].sum())
    if placed < now_placed or (placed == now_placed and cost >= now_cost - 1e-7):
        return None
    return [tuple(int(x) for x in union[members[j]]) for j in chosen]


def _pack(prob: _Problem, members: list[int], cols: dict[tuple[int, ...], float], now_cost: float,
          now_placed: int) -> list[tuple[int, ...]] | None:
    """Best packing of ``members`` with the groups ``cols`` (most placed, then least cost),
    if it beats ``now_placed`` placed at ``now_cost``."""
    if not cols:
        return None
    pos = {i: r for r, i in enumerate(members)}
    groups = list(cols)
    c = np.array([cols[g] for g in groups])
    size = np.array([len(g) for g in groups])
    big = float(c.max()) * math.ceil(len(members) / prob.min_size) + 1.0
    rows = np.array([pos[i] for g in groups for i in g], dtype=np.int64)
    colidx = np.repeat(np.arange(len(groups)), size)
    A = sparse.csr_array((np.ones(len(rows)), (rows, colidx)), shape=(len(members), len(groups)))
    res = milp(c - big * size, constraints=[LinearConstraint(A, -np.inf, 1.0)], integrality=np.ones(len(groups)),
               bounds=Bounds(0.0, 1.0), options={"time_limit": 5.0})
    if res.x is None:
        return None
    chosen = np.flatnonzero(res.x > 0.5)
    placed, cost = int(size[chosen].sum()), float(c[chosen].sum())
    if placed < now_placed or (placed == now_placed and cost >= now_cost - 1e-7):
        return None
    return [groups[j] for j in chosen]


def _placeability(prob: _Problem) -> np.ndarray:
    """True for SMEs in a triangle (or an edge when groups of 2 are allowed) of the
    compatibility graph with a common base: necessary for being in a feasible group."""
    n = prob.n
    out = np.zeros(n, dtype=bool)
    deg = np.diff(prob.indptr)
    if prob.min_size <= 2:
        return deg > 0
    elig = np.isfinite(prob.base_min) if prob.nb else None
    for i in range(n):
        if deg[i] < 2:
            continue
        nbr, _ = prob.row(i)
        for j in nbr[:50]:
            nj, _ = prob.row(int(j))
            common = np.intersect1d(nbr, nj, assume_unique=True)
            if elig is not None and len(common):
                common = common[(elig[common] & elig[i] & elig[int(j)]).any(axis=1)]
            if len(common):
                out[i] = True
                break
        else:
            if len(nbr) > 50:
                out[i] = True  # not proved impossible: keep it (upper bound stays valid)
    return out


def _check_metric(prob: _Problem, rng: np.random.Generator, samples: int = 200_000) -> bool:
    """Triangle inequality on a sample of compatible triangles (tours rely on it for the bound)."""
    deg = np.diff(prob.indptr)
    cand = np.flatnonzero(deg >= 2)
    if len(cand) == 0:
        return True
    i = rng.choice(cand, size=min(samples, 20 * len(cand)))
    a = prob.indptr[i] + (rng.random(len(i)) * np.minimum(deg[i], 20)).astype(np.int64)
    b = prob.indptr[i] + (rng.random(len(i)) * np.minimum(deg[i], 20)).astype(np.int64)
    j, k = prob.indices[a], prob.indices[b]
    keep = j != k
    i, j, k = i[keep], j[keep], k[keep]
    dij, dik, djk = prob.pair(i, j), prob.pair(i, k), prob.pair(j, k)
    fin = np.isfinite(djk)
    viol = djk[fin] > dij[fin] + dik[fin] + 1e-6 * (1 + djk[fin])
    return not viol.any()


def _half_two_nearest(prob: _Problem) -> np.ndarray:
    """a(i): half the two shortest edges a tour can use at i (partners, or a base once)."""
    deg = np.diff(prob.indptr)
    data = np.append(prob.data, np.inf)  # rows are sorted by minutes; index len(data) = none
    first = np.where(deg >= 1, prob.indptr[:-1], len(prob.data))
    second = np.where(deg >= 2, prob.indptr[:-1] + 1, len(prob.data))
    d1, d2 = data[first], data[second]
    if prob.nb:
        b = prob.base_min.min(axis=1)
        two = np.sort(np.stack([d1, d2, b], axis=1), axis=1)[:, :2]
        d1, d2 = two[:, 0], two[:, 1]
    elif prob.min_size == 2:
        d2 = d1  # a group of two goes there and back along the same pair
    return (d1 + d2) / 2.0


def _sme_bound(prob: _Problem, search: _Search, placeable: np.ndarray, *, cap: int = 5_000,
               deadline: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dual prices of the set-partitioning relaxation (see the module doc).

    Returns ``h`` with ``h(i) <= cost(g) / |g|`` for every feasible group ``g`` containing
    ``i`` (inf for SMEs in no feasible group), the refined placeability mask, and
    ``a(i) + min_n penalty(n) / n`` (the two-nearest-edges prices).
    """
    n = prob.n
    sizes = list(range(prob.min_size, prob.max_size + 1))
    pen_share = min(prob.pen[k] / k for k in sizes)
    a = _half_two_nearest(prob)
    deg = np.diff(prob.indptr)
    q = np.full(n, np.inf)
    rows = np.flatnonzero(deg > 0)
    if len(rows):
        q[rows] = np.minimum.reduceat(a[prob.indices], prob.indptr[rows])
    h = np.full(n, np.inf)
    refined = placeable & np.isfinite(a)
    elig = np.isfinite(prob.base_min) if prob.nb else None

    def weak(i: int, ks: Iterable[int]) -> float:
        # cost(g) >= sum of a over members >= a(i) + (n - 1) q(i): no metric needed
        return min((a[i] + (k - 1) * q[i] + prob.pen[k]) / k for k in ks)

    for i in np.flatnonzero(refined).tolist():
        if not prob.metric or time.perf_counter() > deadline:
            h[i] = weak(i, sizes)
            continue
        nbr, w = prob.row(i)
        # an upper bound R on min cost/size from greedy groups around i
        R = math.inf
        g = [i]
        cands = [int(j) for j in nbr[: search.k_near]]
        while len(g) < prob.max_size:
            pick, pc = -1, math.inf
            for c in cands:
                if c in g:
                    continue
                cc = search.cost(tuple(sorted((*g, c))))
                if cc < pc:
                    pick, pc = c, cc
            if pick < 0:
                break
            g.append(pick)
            if len(g) >= prob.min_size:
                R = min(R, pc / len(g))
        best = R
        exact = True
        # tlb: lower bound on the shortest tour of a group of k containing i; a group of k
        # contains one of k - 1 with i whose tour is no longer (triangle inequality)
        tlb = 2.0 * float(w[0]) if len(w) else math.inf
        for k in range(2, prob.max_size + 1):
            if k < prob.min_size and k > 2:
                tlb = max(tlb, a[i] + (k - 1) * q[i])
                continue
            if k < prob.min_size:
                continue
            floor_k = max(tlb, a[i] + (k - 1) * q[i])  # cost(g) >= sum of a over members too
            if (floor_k + prob.pen[k]) / k >= best:
                tlb = floor_k
                continue  # no group of this size can do better than R
            # a member j of a group of k with i makes its tour >= 2 d(i, j) (triangle inequality)
            radius = (k * R - prob.pen[k]) / 2.0 if math.isfinite(R) else math.inf
            m = int(np.searchsorted(w, radius + _TOL, side="right")) if math.isfinite(radius) else len(w)
            if m >= k - 1 and math.comb(m, k - 1) > cap:
                exact = False
                tlb = floor_k
                best = min(best, (floor_k + prob.pen[k]) / k)
                continue
            t = math.inf
            if m >= k - 1:
                local = np.concatenate([[i], nbr[:m]]).astype(np.int64)
                L = prob.pair(local[:, None], local[None, :])
                np.fill_diagonal(L, 0.0)
                comb = _combinations(m, k - 1) + 1
                ok = np.ones(len(comb), dtype=bool)
                for u in range(k - 1):
                    for v in range(u + 1, k - 1):
                        ok &= np.isfinite(L[comb[:, u], comb[:, v]])
                if elig is not None:
                    common = elig[i][None, :] & np.logical_and.reduce(elig[local[comb]], axis=1)
                    ok &= common.any(axis=1)
                comb = comb[ok]
                if len(comb):
                    nodes = np.concatenate([np.zeros((len(comb), 1), dtype=np.int64), comb], axis=1)
                    tours, _, _ = _group_tours(prob, local[nodes], L[nodes[:, :, None], nodes[:, None, :]])
                    t = float(tours.min())
            if math.isfinite(t):
                best = min(best, (t + prob.pen[k]) / k)
            # groups beyond the radius have tours >= 2 * radius
            tlb = max(floor_k, min(t, 2.0 * radius))
        if not math.isfinite(best):
            refined[i] = not exact  # exact: proved that no feasible group contains i
            h[i] = weak(i, sizes) if not exact else np.inf
        else:
            h[i] = best
    return h, refined, a + pen_share


def _max_placeable(prob: _Problem, placeable: np.ndarray) -> int:
    """Upper bound on SMEs placed: placeable SMEs, per connected component, rounded down to
    a number that is a sum of allowed sizes."""
    idx = np.flatnonzero(placeable)
    if not len(idx):
        return 0
    rows = np.repeat(np.arange(prob.n), np.diff(prob.indptr))
    keep = placeable[rows] & placeable[prob.indices]
    g = sparse.coo_array((np.ones(int(keep.sum())), (rows[keep], prob.indices[keep])), shape=(prob.n, prob.n))
    _, labels = sparse.csgraph.connected_components(g, directed=False)
    sizes = np.bincount(labels[idx])
    reach = np.zeros(int(sizes.max()) + 1, dtype=bool)
    reach[0] = True
    for v in range(1, len(reach)):
        reach[v] = any(v - k >= 0 and reach[v - k] for k in range(prob.min_size, prob.max_size + 1))
    best = np.array([max(v for v in range(c + 1) if reach[v]) for c in range(len(reach))])
    return int(best[sizes[sizes > 0]].sum())


def _search(prob: _Problem, *, time_limit_s: float, seed: int, mask: np.ndarray | None = None) -> _Search:
    """Construction, repair and local search within the time limit, on the SMEs of ``mask``."""
    search = _Search(prob, seed=seed, deadline=time.perf_counter() + time_limit_s)
    search.placeable = _placeability(prob) & (True if mask is None else mask)
    search.construct()
    search.repair()
    search.improve()
    search.repair()
    return search


def _solve_heuristic(prob: _Problem, *, time_limit_s: float, seed: int, mask: np.ndarray | None = None
                     ) -> _Solution:
    deadline = time.perf_counter() + time_limit_s
    search = _search(prob, time_limit_s=time_limit_s, seed=seed, mask=mask)
    placeable = search.placeable
    prob.metric = _check_metric(prob, search.rng)
    h, placeable, two = _sme_bound(prob, search, placeable, deadline=deadline + time_limit_s)
    groups = []
    objective = 0.0
    if search.groups:
        members = list(search.groups.values())
        by_size: dict[int, list[tuple[int, ...]]] = {}
        for g in members:
            by_size.setdefault(len(g), []).append(g)
        for k, gs in by_size.items():
            arr = np.array(gs, dtype=np.int64)
            tour, base, order = _group_tours(prob, arr)
            for r in range(len(gs)):
                groups.append((order[r], float(tour[r]), int(base[r])))
                objective += float(tour[r]) + float(prob.pen[k])
    n_placed = sum(len(g[0]) for g in groups)
    bound = 0.0
    for prices in (h, two):  # two valid dual solutions: keep the better bound
        ps = np.sort(prices[placeable & np.isfinite(prices)])
        bound = max(bound, float(ps[:n_placed].sum()))
    bound = min(bound, objective)
    max_placeable = max(_max_placeable(prob, placeable), n_placed)
    return _Solution(groups, objective, bound, "heuristic", "heuristic", max_placeable, placeable)


# --------------------------------------------------------------------------- public


def _check_number(name: str, value: Any, *, minimum: float, integer: bool = False) -> None:
    ok = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.integer, np.floating))
    if isinstance(value, bool) or not ok or not math.isfinite(float(value)) or value < minimum:
        kind = "an integer" if integer else "a finite number"
        raise InputError(f"{name} must be {kind} >= {minimum:g}, got {value!r}")


def form_groups(
    smes: gpd.GeoDataFrame | pd.DataFrame,
    od: pd.DataFrame,
    *,
    min_size: int = 3,
    max_size: int = 5,
    max_minutes: float | None = 30.0,
    base: str | gpd.GeoDataFrame | pd.DataFrame | None = None,
    rule: Rule = "naf_class",
    method: str = "auto",
    time_limit_s: float = 60.0,
    seed: int = 0,
    pair_minutes: str = "max",
    size_penalty_minutes: float = 2.0,
    max_candidates: int = 100_000,
) -> GroupsResult:
    """Form export groups of nearby, non-competing SMEs sharing one export executive.

    See the module documentation for the model (feasibility, objective, bound).

    Parameters
    ----------
    smes : GeoDataFrame or DataFrame
        The SMEs to group (e.g. from :func:`select_smes`), indexed by a unique id, with a
        ``naf`` column (unless ``rule="none"``); ``naf_section`` is reported if present.
    od : DataFrame
        Long travel-time table ``origin_id, destination_id, minutes`` between the SMEs
        (and the bases), both directions; rows of other ids are ignored, pairs absent
        or with ``inf`` minutes are unreachable.
    min_size, max_size : int, default 3 and 5
        Group sizes allowed (``2 <= min_size <= max_size <= 6``).
    max_minutes : float or None, default 30
        Largest pair time between two members (or between a member and the base when
        ``base`` is a table of points); None: any pair present in ``od``.
    base : None, "member" or GeoDataFrame, default None
        Where the executive sits: at a member firm (None or ``"member"``), or at one of
        these points (indexed by ids that appear in ``od`` and differ from SME ids).
    rule : str or callable, default "naf_class"
        Competition rule, see :func:`competes`.
    method : {"auto", "exact", "heuristic"}, default "auto"
        ``"auto"``: exact on the connected components of the compatibility graph while
        their feasible groups number at most ``max_candidates``, heuristic on the rest.
    time_limit_s : float, default 60
        Time budget of the exact solver and of the heuristic search, each; the
        heuristic's bound computation may take up to as long again.
    seed : int, default 0
        Seed of the heuristic's random orders (results may also depend on the time
        limit when it is reached).
    pair_minutes : {"max", "mean"}, default "max"
        How the two directions make one pair time.
    size_penalty_minutes : float, default 2
        Cost added per group per squared member away from the middle size.
    max_candidates : int, default 100000
        Largest number of feasible groups enumerated for the exact method (memory and
        solver time grow with it: about 40,000 take a few seconds).

    Returns
    -------
    GroupsResult

    Raises
    ------
    InputError
        Bad option values, an empty or badly indexed SME table, malformed NAF codes, an
        unusable travel-time table (no shared id, NaN or negative minutes, duplicate
        rows, one direction only), base ids clashing with SME ids, or ``method="exact"``
        with more than ``max_candidates`` feasible groups.
    MissingColumnError
        ``smes`` has no ``naf`` column, or ``od`` lacks a column.

    Examples
    --------
    >>> import pandas as pd
    >>> smes = pd.DataFrame({"naf": ["62.01Z", "10.71C", "46.34Z"]}, index=["a", "b", "c"])
    >>> pairs = [("a", "b", 5.0), ("a", "c", 6.0), ("b", "c", 7.0)]
    >>> od = pd.DataFrame(pairs + [(d, o, m) for o, d, m in pairs], columns=list(OD_COLUMNS))
    >>> res = form_groups(smes, od, size_penalty_minutes=0)
    >>> g = res.groups.loc[1]
    >>> int(g["n"]), float(g["tour_minutes"]), g["base_id"], g["members"]
    (3, 18.0, 'a', ['a', 'b', 'c'])
    """
    # ---- options
    problems: list[str] = []
    for name, v in (("min_size", min_size), ("max_size", max_size), ("seed", seed), ("max_candidates", max_candidates)):
        try:
            _check_number(name, v, minimum=0 if name == "seed" else 1, integer=True)
        except InputError as exc:
            problems.append(str(exc))
    if not problems:
        if min_size < 2:
            problems.append(f"min_size must be >= 2, got {min_size}")
        if max_size < min_size:
            problems.append(f"max_size ({max_size}) must be >= min_size ({min_size})")
        if max_size > MAX_GROUP_SIZE:
            problems.append(f"max_size must be <= {MAX_GROUP_SIZE} (tours are enumerated exactly), got {max_size}")
    for name, v, lo in (("time_limit_s", time_limit_s, 0.0), ("size_penalty_minutes", size_penalty_minutes, 0.0)):
        try:
            _check_number(name, v, minimum=lo)
        except InputError as exc:
            problems.append(str(exc))
    if time_limit_s == 0 and not problems:
        problems.append("time_limit_s must be > 0")
    if max_minutes is not None:
        try:
            _check_number("max_minutes", max_minutes, minimum=0.0)
        except InputError as exc:
            problems.append(str(exc))
        else:
            if max_minutes <= 0:
                problems.append(f"max_minutes must be > 0, got {max_minutes!r}")
    if method not in ("auto", "exact", "heuristic"):
        problems.append(f"method {method!r} is unknown; choose 'auto', 'exact' or 'heuristic'")
    if pair_minutes not in ("max", "mean"):
        problems.append(f"pair_minutes {pair_minutes!r} is unknown; choose 'max' or 'mean'")
    try:
        _check_rule(rule)
    except InputError as exc:
        problems.append(str(exc))
    if problems:
        raise InputError("form_groups: " + "; ".join(problems))

    # ---- inputs
    if not isinstance(smes, pd.DataFrame):
        raise InputError(f"smes must be a GeoDataFrame or DataFrame indexed by SME id, got {type(smes).__name__}")
    if len(smes) == 0:
        raise InputError("smes is empty; select at least min_size SMEs (select_smes)")
    if not smes.index.is_unique:
        dup = smes.index[smes.index.duplicated()].unique()
        raise InputError(f"smes index has duplicate ids (e.g. {_show(dup)}); ids must be unique")
    if rule != "none" and "naf" not in smes.columns:
        raise MissingColumnError("smes lacks the column 'naf' needed by the competition rule; add NAF codes "
                                 "or pass rule='none'")
    bases = None
    if isinstance(base, str):
        if base != "member":
            raise InputError(f"base {base!r} is unknown; pass None or 'member' (executive at a member firm) or a "
                             f"GeoDataFrame of base points")
    elif base is not None:
        if not isinstance(base, pd.DataFrame) or len(base) == 0:
            raise InputError("base must be None, 'member' or a non-empty GeoDataFrame of base points indexed by id")
        if not base.index.is_unique:
            raise InputError("base index has duplicate ids; base ids must be unique")
        clash = base.index.intersection(smes.index)
        if len(clash):
            raise InputError(f"base ids {_show(clash)} are also SME ids; give the bases distinct ids (or use "
                             f"base='member' for an executive at a member firm)")
        bases = base
    od = _check_od(od)
    limit = math.inf if max_minutes is None else float(max_minutes)

    prob, naf, base_ids = _build_problem(
        smes, od, bases, min_size=int(min_size), max_size=int(max_size), max_minutes=limit, rule=rule,
        pair_minutes=pair_minutes, size_penalty_minutes=float(size_penalty_minutes),
    )

    sol = _solve(prob, method=method, time_limit_s=float(time_limit_s), seed=int(seed),
                 max_candidates=int(max_candidates))
    return _result(sol, prob, smes, naf, base_ids, limit, rule)


def _solve(prob: _Problem, *, method: str, time_limit_s: float, seed: int, max_candidates: int) -> _Solution:
    """Exact on the connected components of the compatibility graph whose feasible groups
    fit in ``max_candidates`` (all of them for "exact"), heuristic on the others."""
    if method == "heuristic":
        return _solve_heuristic(prob, time_limit_s=time_limit_s, seed=seed)
    rows = np.repeat(np.arange(prob.n), np.diff(prob.indptr))
    graph = sparse.coo_array((np.ones(len(rows)), (rows, prob.indices)), shape=(prob.n, prob.n))
    n_comp, labels = sparse.csgraph.connected_components(graph, directed=False)
    comp_size = np.bincount(labels, minlength=n_comp)
    members_of = np.argsort(labels, kind="stable")
    starts = np.concatenate([[0], np.cumsum(comp_size)])
    cols: dict[int, list[np.ndarray]] = {}
    heuristic = np.zeros(prob.n, dtype=bool)
    total = 0
    for c in np.argsort(comp_size, kind="stable"):  # small components first
        if comp_size[c] < prob.min_size:
            continue
        vertices = members_of[starts[c]:starts[c + 1]]
        try:
            found = _enumerate_groups(prob, max_candidates - total, vertices.tolist())
        except _TooMany:
            if method == "exact":
                raise InputError(
                    f"more than max_candidates={max_candidates} feasible groups: too many for the exact method; "
                    f"use method='heuristic' (or 'auto'), raise max_candidates, or lower max_minutes"
                ) from None
            heuristic[vertices] = True
            continue
        for k, arr in found.items():
            cols.setdefault(k, []).append(arr)
            total += len(arr)
    parts = []
    exact = np.zeros(prob.n, dtype=bool)
    if cols:
        merged = {k: np.concatenate(v) for k, v in cols.items()}
        part = _solve_exact(prob, merged, time_limit_s, seed)
        for arr in merged.values():
            exact[arr.ravel()] = True
        if part.groups == [] and part.status == "time_limit":
            heuristic |= exact  # no integer solution in time: the heuristic takes these over
        else:
            parts.append(part)
    if heuristic.any():
        parts.append(_solve_heuristic(prob, time_limit_s=time_limit_s, seed=seed, mask=heuristic))
    if not parts:
        return _Solution([], 0.0, 0.0, "optimal", "exact", 0, np.zeros(prob.n, dtype=bool))
    if len(parts) == 1:
        return parts[0]
    statuses = {p.status for p in parts}
    status = "heuristic" if "heuristic" in statuses else ("time_limit" if "time_limit" in statuses else "optimal")
    return _Solution(
        groups=[g for p in parts for g in p.groups],
        objective=sum(p.objective for p in parts),
        bound=sum(p.bound for p in parts),
        status=status,
        method="+".join(p.method for p in parts),
        max_placeable=sum(p.max_placeable for p in parts),
        placeable=np.logical_or.reduce([p.placeable for p in parts]),
    )


def _result(sol: _Solution, prob: _Problem, smes: pd.DataFrame, naf: np.ndarray | None, base_ids: pd.Index,
            limit: float, rule: Rule) -> GroupsResult:
    ids = smes.index
    sections = smes["naf_section"].astype("string").to_numpy(dtype=object) if "naf_section" in smes.columns else None
    order_ids = sorted(range(len(sol.groups)), key=lambda g: int(np.min(sol.groups[g][0])))
    rows = []
    gid_of = np.full(prob.n, -1, dtype=np.int64)
    pos_of = np.full(prob.n, -1, dtype=np.int64)
    is_base = np.zeros(prob.n, dtype=bool)
    for new, g in enumerate(order_ids, start=1):
        order, tour, base = sol.groups[g]
        order = np.asarray(order, dtype=np.int64)
        k = len(order)
        D = prob.pair(order[:, None], order[None, :])
        np.fill_diagonal(D, 0.0)
        if prob.nb:
            base_id = base_ids[base]
            max_base = float(prob.base_min[order, base].max())
        else:
            base_id = ids[base]
            is_base[base] = True
            max_base = float(D[list(order).index(base)].max())
        gid_of[order] = new
        pos_of[order] = np.arange(k)
        rows.append({
            "group_id": new,
            "members": [ids[i] for i in order],
            "n": k,
            "naf_sections": [sections[i] for i in order] if sections is not None else [None] * k,
            "naf_classes": [naf[i][:5] for i in order] if naf is not None else [None] * k,
            "tour_minutes": tour,
            "penalty_minutes": float(prob.pen[k]),
            "max_pair_minutes": float(D.max()),
            "max_base_minutes": max_base,
            "base_id": base_id,
        })
    cols = ["members", "n", "naf_sections", "naf_classes", "tour_minutes", "penalty_minutes",
            "max_pair_minutes", "max_base_minutes", "base_id"]
    groups = pd.DataFrame(rows, columns=["group_id", *cols]).set_index("group_id")
    groups["n"] = groups["n"].astype(np.int64)
    placed = gid_of >= 0
    members = pd.DataFrame(
        {"group_id": gid_of[placed], "tour_position": pos_of[placed], "is_base": is_base[placed]},
        index=pd.Index(ids[placed], name="sme_id"),
    )
    codes = _reasons(prob, sol, placed)
    unplaced_idx = np.flatnonzero(~placed)
    lim = "reach (no travel time in od)" if not math.isfinite(limit) else f"{limit:g} min"
    rule_name = rule if isinstance(rule, str) else getattr(rule, "__name__", "the rule")
    text = {
        "no_base_in_reach": f"no executive base within {lim}",
        "no_partner_in_reach": f"no other selected SME within {lim}" + (" sharing a base" if prob.nb else ""),
        "competes_with_all": f"competes ({rule_name}) with every SME within {lim}",
        "no_feasible_group": f"no feasible group of {prob.min_size}: its compatible partners are too far from, "
                             f"or compete with, one another",
        "partners_grouped": "all its compatible partners are already grouped: placing it would take members "
                            "from other groups",
    }
    unplaced = pd.DataFrame(
        {"reason_code": [codes[i] for i in unplaced_idx], "reason": [text[codes[i]] for i in unplaced_idx]},
        index=pd.Index(ids[unplaced_idx], name="sme_id"),
    )
    objective = float(sol.objective) if math.isfinite(sol.objective) else 0.0
    bound = float(sol.bound) if math.isfinite(sol.bound) else 0.0
    gap = (objective - bound) / objective if objective > 0 else 0.0
    return GroupsResult(
        groups=groups, members=members, unplaced=unplaced, objective=objective, bound=bound,
        gap=max(gap, 0.0), method=sol.method, status=sol.status, n_placed=int(placed.sum()),
        max_placeable=int(max(sol.max_placeable, placed.sum())),
    )


def _reasons(prob: _Problem, sol: _Solution, placed: np.ndarray) -> list[str]:
    deg = np.diff(prob.indptr)
    out = []
    for i in range(prob.n):
        if placed[i]:
            out.append("")
        elif prob.reach_deg[i] < 0:
            out.append("no_base_in_reach")
        elif prob.reach_deg[i] == 0:
            out.append("no_partner_in_reach")
        elif deg[i] == 0:
            out.append("competes_with_all")
        elif not sol.placeable[i]:
            out.append("no_feasible_group")
        else:
            out.append("partners_grouped")
    return out


def groups_per_municipality(
    result: GroupsResult,
    smes: pd.DataFrame,
    *,
    count: str = "members",
    communes: Iterable[Hashable] | None = None,
) -> pd.Series:
    """Number of export groups per commune (feeds ``export_groups_per_1000_smes``).

    Parameters
    ----------
    result : GroupsResult
        From :func:`form_groups`.
    smes : DataFrame
        The SMEs (at least those grouped) with a ``commune`` column.
    count : {"members", "base"}, default "members"
        ``"members"``: a group counts once in every commune where at least one of its
        members is (a group spanning two communes counts in both, so the total can
        exceed the number of groups). ``"base"``: a group counts once, in the commune of
        its base firm (only when the executive sits at a member firm).
    communes : iterable, optional
        Communes of the result (e.g. the municipalities layer index), with 0 where no
        group is; default the communes of ``smes``.

    Returns
    -------
    Series
        Integer counts indexed by commune code, named ``export_groups``.

    Raises
    ------
    MissingColumnError
        ``smes`` has no ``commune`` column.
    InputError
        Unknown ``count``, group members absent from ``smes``, or ``count="base"`` with
        bases that are not SMEs.

    Examples
    --------
    >>> import pandas as pd
    >>> smes = pd.DataFrame({"naf": ["62.01Z", "10.71C", "46.34Z"], "commune": ["34172", "34172", "34129"]},
    ...                     index=["a", "b", "c"])
    >>> pairs = [("a", "b", 5.0), ("a", "c", 6.0), ("b", "c", 7.0)]
    >>> od = pd.DataFrame(pairs + [(d, o, m) for o, d, m in pairs], columns=list(OD_COLUMNS))
    >>> groups_per_municipality(form_groups(smes, od), smes).to_dict()
    {'34129': 1, '34172': 1}
    """
    if count not in ("members", "base"):
        raise InputError(f"count {count!r} is unknown; choose 'members' or 'base'")
    if "commune" not in smes.columns:
        raise MissingColumnError("smes lacks the column 'commune'; pass the SME layer with INSEE commune codes")
    commune = smes["commune"]
    if not smes.index.is_unique:
        raise InputError("smes index has duplicate ids; ids must be unique")
    if count == "members":
        m = result.members
        missing = m.index.difference(smes.index)
        if len(missing):
            raise InputError(f"group members {_show(missing)} are not in smes; pass the SMEs given to form_groups")
        pairs = pd.DataFrame({"group_id": m["group_id"].to_numpy(), "commune": commune.loc[m.index].to_numpy()})
        counts = pairs.drop_duplicates().groupby("commune").size()
    else:
        b = pd.Index(result.groups["base_id"])
        missing = b.difference(smes.index)
        if len(missing):
            raise InputError(f"bases {_show(missing)} are not SMEs in smes; use count='members' when the "
                             f"executive sits at a base point")
        counts = commune.loc[b].value_counts()
    index = pd.Index(commune.dropna().unique()) if communes is None else pd.Index(list(communes))
    out = counts.reindex(index.union(counts.index) if communes is None else index, fill_value=0)
    out = out.astype(np.int64).sort_index() if communes is None else out.astype(np.int64)
    out.index.name = "commune"
    out.name = "export_groups"
    return out
