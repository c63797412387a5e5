"""Location-allocation models: maximal covering and p-median as MIPs with HiGHS, and sweeps
over the number of sites."""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from ..errors import InputError, MissingColumnError, ProximityError
from ._checks import _OD_COLUMNS, _finite, _ids_of, _positive_int, _show


@dataclass(frozen=True, eq=False)
class LocationResult:
    """The solution of a location-allocation model.

    Attributes
    ----------
    model : str
        ``"maximal_covering"`` or ``"p_median"``.
    p : int
        Number of sites chosen.
    sites : pandas.Index
        Chosen candidate ids, in candidate order.
    objective : float
        Maximal covering: demand weight within ``max_minutes`` of a chosen site.
        p-median: sum over the modelled demand points of weight x minutes to the nearest
        chosen site, or x ``penalty_minutes`` when no chosen site reaches them
        (``unreachable`` points are not counted).
    dual_bound : float
        Best bound on the optimum proved by the solver (= ``objective`` when optimal).
    mip_gap : float
        ``|objective - dual_bound| / |objective|`` (0 when proved optimal; HiGHS's
        definition).
    status : str
        ``"optimal"`` (within ``mip_rel_gap``) or ``"time_limit"`` (best solution found
        when ``time_limit_s`` ran out).
    solver : str
        ``"highs"`` (MIP), ``"enumeration"`` (p = 1 or every candidate chosen: exact
        without a MIP), or ``"greedy"`` (the time limit ran out and the greedy
        heuristic's solution, best marginal gain first, beats HiGHS's incumbent, if any).
    assignment : DataFrame
        Indexed by demand id (all demand points, input order): ``weight``, ``site_id``
        (nearest chosen site reachable in the table, missing if none), ``minutes``
        (``inf`` if none), ``served`` (maximal covering: ``minutes <= max_minutes``;
        p-median: reached by a chosen site within ``penalty_minutes``).
    per_site : DataFrame
        Indexed by chosen site id: ``demand_points`` and ``demand_weight`` served,
        ``mean_minutes`` (weighted, over the demand it serves; NaN if none).
    served_weight, total_weight : float
        Weight of the served demand points, and of all demand points.
    mean_minutes : float
        Weighted mean minutes of the served demand (NaN if none).
    unreachable : pandas.Index
        Demand points of positive weight that no candidate reaches within ``max_minutes``
        (maximal covering) or ``penalty_minutes`` (p-median): they cannot be served
        whatever the choice (p-median leaves them out of the model and the objective).
    max_minutes, penalty_minutes : float
        The coverage time (maximal covering; NaN for p-median) and the penalty (p-median;
        NaN for maximal covering).
    seconds : float
        Wall time of the model build and solve.
    """

    model: str
    p: int
    sites: pd.Index
    objective: float
    dual_bound: float
    mip_gap: float
    status: str
    solver: str
    assignment: pd.DataFrame
    per_site: pd.DataFrame
    served_weight: float
    total_weight: float
    mean_minutes: float
    unreachable: pd.Index
    max_minutes: float
    penalty_minutes: float
    seconds: float

    @property
    def served_share(self) -> float:
        """Share of the total demand weight served (NaN when the total is 0)."""
        return self.served_weight / self.total_weight if self.total_weight > 0 else math.nan


@dataclass(frozen=True, eq=False)
class _Pairs:
    """A validated candidate -> demand table as positions (finite pairs only)."""

    cand_ids: pd.Index
    dem_ids: pd.Index
    weights: np.ndarray  # per demand point
    c: np.ndarray  # candidate position of each pair
    d: np.ndarray  # demand position of each pair
    minutes: np.ndarray


def _prepare(od: Any, demand_weights: Any, candidates: Any) -> _Pairs:
    if not isinstance(od, pd.DataFrame):
        raise InputError(
            f"od must be a long travel-time table (DataFrame with {list(_OD_COLUMNS)}, origin = candidate, "
            f"destination = demand point), got {type(od).__name__}"
        )
    missing = [c for c in _OD_COLUMNS if c not in od.columns]
    if missing:
        raise MissingColumnError(
            f"od has no column(s) {missing} (found {list(map(str, od.columns))}); a travel-time table needs "
            f"{list(_OD_COLUMNS)} with the candidate as origin: rename yours, e.g. "
            "od.rename(columns={'candidate_id': 'origin_id', 'demand_id': 'destination_id'})"
        )
    col = od["minutes"]
    if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
        raise InputError(f"od['minutes'] must be numeric, got dtype {col.dtype}; convert it with pd.to_numeric")
    minutes = col.to_numpy(dtype=float, na_value=np.nan)
    problems = []
    if np.isnan(minutes).any():
        problems.append(
            f"{int(np.isnan(minutes).sum())} minutes value(s) are NaN (use inf for unreachable, or drop the row)"
        )
    if (minutes < 0).any():
        problems.append(f"{int((minutes < 0).sum())} minutes value(s) are negative: travel times must be >= 0")
    na_id = (od["origin_id"].isna() | od["destination_id"].isna()).to_numpy()
    if (na_id & np.isfinite(minutes)).any():
        problems.append(
            f"{int((na_id & np.isfinite(minutes)).sum())} row(s) have a missing origin_id or destination_id"
        )
    if problems:
        raise InputError("od is not a valid travel-time table: " + "; ".join(problems))
    reach = np.isfinite(minutes) & ~na_id

    if candidates is None:
        cand_ids = pd.Index(pd.unique(od["origin_id"][~na_id]))
    else:
        cand_ids = _ids_of(candidates, "candidates")
        if len(cand_ids) and len(od) and not od["origin_id"].isin(cand_ids).any():
            raise InputError(
                f"candidates shares no id with od['origin_id'] (e.g. candidates has {_show(cand_ids[0])}, od "
                f"{_show(od['origin_id'].iloc[0])}): the candidate must be the origin of od"
            )
    if len(cand_ids) == 0:
        raise InputError("there is no candidate site (od is empty and no candidates were given)")

    if demand_weights is None:
        dem_ids = pd.Index(pd.unique(od["destination_id"][~na_id]))
        w = np.ones(len(dem_ids))
    else:
        if not isinstance(demand_weights, pd.Series):
            raise InputError(
                f"demand_weights must be a pandas Series indexed by demand id, got {type(demand_weights).__name__}; "
                "e.g. smes['employees'] or pd.Series(1.0, index=smes.index)"
            )
        dem_ids = _ids_of(demand_weights, "demand_weights")
        if not (pd.api.types.is_numeric_dtype(demand_weights) and not pd.api.types.is_bool_dtype(demand_weights)):
            raise InputError(f"demand_weights must be numeric, got dtype {demand_weights.dtype}")
        w = demand_weights.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            raise InputError(
                f"demand_weights has {int(bad.sum())} value(s) that are negative, NaN or infinite (e.g. "
                f"{_show(dem_ids[bad][0])}: {_show(w[bad][0])}); use finite weights >= 0"
            )
        if len(dem_ids) and len(od) and not od["destination_id"].isin(dem_ids).any():
            raise InputError(
                f"demand_weights shares no id with od['destination_id'] (e.g. demand_weights has "
                f"{_show(dem_ids[0])}, od {_show(od['destination_id'].iloc[0])}): index it by demand id"
            )
    cpos = cand_ids.get_indexer(pd.Index(od["origin_id"]))
    dpos = dem_ids.get_indexer(pd.Index(od["destination_id"]))
    keep = reach & (cpos >= 0) & (dpos >= 0)
    c, d, m = cpos[keep].astype(np.int64), dpos[keep].astype(np.int64), minutes[keep]
    key = c * len(dem_ids) + d
    dup = pd.Series(key).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"od repeats {int(dup.sum())} (origin_id, destination_id) pair(s) (e.g. ({_show(cand_ids[c[i]])}, "
            f"{_show(dem_ids[d[i]])})); keep one time per pair, e.g. "
            "od.groupby(['origin_id', 'destination_id'], as_index=False)['minutes'].min()"
        )
    return _Pairs(cand_ids=cand_ids, dem_ids=dem_ids, weights=w, c=c, d=d, minutes=m)


def _check_p(p: Any, n: int) -> int:
    p = _positive_int("p", p, "e.g. p=3")
    if p > n:
        raise InputError(f"p={p} is more than the {n} candidate site(s); choose p <= {n}")
    return p


@dataclass(frozen=True, eq=False)
class _Model:
    """A location model restricted to the pairs that matter."""

    kind: str  # "maximal_covering" | "p_median"
    pairs: _Pairs
    c: np.ndarray  # kept pairs
    d: np.ndarray
    minutes: np.ndarray
    modelled: np.ndarray  # demand positions in the model
    unreachable: np.ndarray  # demand positions of positive weight out of reach
    limit: float  # max_minutes or penalty_minutes


def _model(kind: str, pairs: _Pairs, limit: float) -> _Model:
    keep = pairs.minutes <= limit
    c, d, m = pairs.c[keep], pairs.d[keep], pairs.minutes[keep]
    reached = np.bincount(d, minlength=len(pairs.dem_ids)) > 0
    positive = pairs.weights > 0
    modelled = np.flatnonzero(reached & positive)
    sel = positive[d]
    return _Model(kind, pairs, c[sel], d[sel], m[sel], modelled, np.flatnonzero(~reached & positive), limit)


def _greedy(model: _Model, p: int) -> np.ndarray:
    """Greedy add (best marginal gain first); exact for p = 1. Returns candidate positions."""
    nc = len(model.pairs.cand_ids)
    w = model.pairs.weights
    chosen: list[int] = []
    if model.kind == "maximal_covering":
        covered = np.zeros(len(w), dtype=bool)
        for _ in range(p):
            gain = np.bincount(model.c, weights=w[model.d] * ~covered[model.d], minlength=nc)
            gain[chosen] = -1.0
            j = int(np.argmax(gain))
            chosen.append(j)
            covered[model.d[model.c == j]] = True
    else:
        cur = np.full(len(w), model.limit)
        for _ in range(p):
            gain = np.bincount(
                model.c, weights=w[model.d] * np.maximum(cur[model.d] - model.minutes, 0.0), minlength=nc
            )
            gain[chosen] = -1.0
            j = int(np.argmax(gain))
            chosen.append(j)
            at = model.c == j
            np.minimum.at(cur, model.d[at], model.minutes[at])
    return np.sort(np.array(chosen, dtype=np.int64))


def _evaluate(model: _Model, sites: np.ndarray) -> dict[str, Any]:
    """Assignment of every demand point to its nearest chosen site, and the objective."""
    pr = model.pairs
    nd = len(pr.dem_ids)
    chosen = np.zeros(len(pr.cand_ids), dtype=bool)
    chosen[sites] = True
    at = chosen[pr.c]  # all finite pairs of the table, not only the modelled ones
    c, d, m = pr.c[at], pr.d[at], pr.minutes[at]
    order = np.lexsort((c, m, d))  # by demand, then minutes, then candidate position
    d_sorted = d[order]
    first = order[np.r_[True, d_sorted[1:] != d_sorted[:-1]]] if order.size else order
    site_pos = np.full(nd, -1, dtype=np.int64)
    minutes = np.full(nd, np.inf)
    site_pos[d[first]] = c[first]
    minutes[d[first]] = m[first]
    served = minutes <= model.limit
    w = pr.weights
    if model.kind == "maximal_covering":
        objective = float(w[served].sum())
    else:
        mod = model.modelled
        objective = float(np.sum(w[mod] * np.where(served[mod], minutes[mod], model.limit)))
    ids = pr.cand_ids.take(np.maximum(site_pos, 0))
    # integer ids stay integers next to the missing ones (a float column would turn 7 into 7.0)
    site_id = pd.Series(
        ids.astype("Int64").array if pd.api.types.is_integer_dtype(ids.dtype) else ids.array, index=pr.dem_ids
    )
    site_id.loc[site_pos < 0] = pd.NA
    assignment = pd.DataFrame({"weight": w, "site_id": site_id, "minutes": minutes, "served": served}, index=pr.dem_ids)
    assignment.index.name = None
    ws = np.where(served, w, 0.0)
    wm = np.where(served, w * np.where(np.isfinite(minutes), minutes, 0.0), 0.0)
    sp_ = np.where(served, site_pos, len(pr.cand_ids))
    n_pts = np.bincount(sp_, minlength=len(pr.cand_ids) + 1)[sites]
    dem = np.bincount(sp_, weights=ws, minlength=len(pr.cand_ids) + 1)[sites]
    tmin = np.bincount(sp_, weights=wm, minlength=len(pr.cand_ids) + 1)[sites]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_site = np.where(dem > 0, tmin / np.where(dem > 0, dem, 1.0), np.nan)
    per_site = pd.DataFrame(
        {"demand_points": n_pts.astype(np.int64), "demand_weight": dem, "mean_minutes": mean_site},
        index=pr.cand_ids.take(sites),
    )
    per_site.index.name = None
    served_weight = float(ws.sum())
    return {
        "sites": pr.cand_ids.take(sites),
        "objective": objective,
        "assignment": assignment,
        "per_site": per_site,
        "served_weight": served_weight,
        "mean_minutes": float(wm.sum() / served_weight) if served_weight > 0 else math.nan,
    }


def _milp_arrays(model: _Model, p: int) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray, int]:
    """Objective (to minimise), constraint matrix and row bounds, integrality, and the sign of the objective."""
    nc = len(model.pairs.cand_ids)
    w = model.pairs.weights
    k = len(model.modelled)
    kpos = np.full(len(w), -1, dtype=np.int64)
    kpos[model.modelled] = np.arange(k)
    row_d = kpos[model.d]
    n = len(model.c)
    if model.kind == "maximal_covering":
        # variables: y_j (site open, binary), z_i (demand covered, in [0, 1]; integral at the optimum)
        # rows: z_i - sum_{j covers i} y_j <= 0 (k rows); sum_j y_j = p
        cost = np.concatenate([np.zeros(nc), -w[model.modelled]])
        rows = np.concatenate([row_d, np.arange(k), np.full(nc, k)])
        cols = np.concatenate([model.c, nc + np.arange(k), np.arange(nc)])
        vals = np.concatenate([-np.ones(n), np.ones(k), np.ones(nc)])
        lo = np.concatenate([np.full(k, -np.inf), [p]])
        hi = np.concatenate([np.zeros(k), [p]])
        shape = (k + 1, nc + k)
        integrality = np.concatenate([np.ones(nc), np.zeros(k)])
        sign = -1
    else:
        # variables: y_j (binary), x_ij (assignment, in [0, 1]), u_i (unserved, in [0, 1])
        # rows: sum_j x_ij + u_i = 1 (k rows); x_ij - y_j <= 0 (n rows); sum_j y_j = p
        cost = np.concatenate([np.zeros(nc), w[model.d] * model.minutes, w[model.modelled] * model.limit])
        x = nc + np.arange(n)
        u = nc + n + np.arange(k)
        rows = np.concatenate([row_d, np.arange(k), k + np.arange(n), k + np.arange(n), np.full(nc, k + n)])
        cols = np.concatenate([x, u, x, model.c, np.arange(nc)])
        vals = np.concatenate([np.ones(n), np.ones(k), np.ones(n), -np.ones(n), np.ones(nc)])
        lo = np.concatenate([np.ones(k), np.full(n, -np.inf), [p]])
        hi = np.concatenate([np.ones(k), np.zeros(n), [p]])
        shape = (k + n + 1, nc + n + k)
        integrality = np.concatenate([np.ones(nc), np.zeros(n + k)])
        sign = 1
    a = sp.csr_matrix((vals, (rows, cols)), shape=shape)
    return cost, a, lo, hi, integrality, sign


def _solve(model: _Model, p: int, time_limit_s: float | None, mip_rel_gap: float) -> LocationResult:
    t0 = time.perf_counter()
    nc = len(model.pairs.cand_ids)
    if p == 1 or p == nc:
        # exact without a MIP: one site is the best single marginal gain; all sites is the only choice
        sites = _greedy(model, p) if p == 1 else np.arange(nc)
        ev = _evaluate(model, sites)
        bound, gap, status, solver = ev["objective"], 0.0, "optimal", "enumeration"
    else:
        cost, a, lo, hi, integrality, sign = _milp_arrays(model, p)
        options: dict[str, Any] = {"disp": False, "mip_rel_gap": mip_rel_gap}
        if time_limit_s is not None:
            options["time_limit"] = time_limit_s
        res = milp(
            cost,
            constraints=LinearConstraint(a, lo, hi),
            integrality=integrality,
            bounds=Bounds(0.0, 1.0),
            options=options,
        )
        if res.status not in (0, 1):
            raise ProximityError(
                f"HiGHS could not solve the {model.kind} model (status {res.status}: {res.message}); "
                "please report it with the input sizes"
            )
        dual = getattr(res, "mip_dual_bound", None)
        dual = sign * float(dual) if dual is not None and np.isfinite(dual) else math.nan
        incumbent: dict[str, Any] | None = None
        solver = "highs"
        if res.x is not None:
            incumbent = _evaluate(model, np.sort(np.argsort(-res.x[:nc], kind="stable")[:p]))
        if res.status != 0 or incumbent is None:
            # stopped early: HiGHS's incumbent may be poor (or absent); keep the greedy one if better
            greedy = _evaluate(model, _greedy(model, p))
            if incumbent is None or sign * greedy["objective"] < sign * incumbent["objective"]:
                incumbent, solver = greedy, "greedy"
        ev = incumbent
        status = "optimal" if res.status == 0 else "time_limit"
        obj = ev["objective"]
        bound = dual
        if math.isnan(dual):
            gap = math.nan
        elif obj != 0:
            gap = abs(obj - bound) / abs(obj)
            gap = 0.0 if gap < 1e-12 else gap  # float noise of a proved optimum
        else:
            gap = 0.0 if abs(bound) < 1e-9 else math.inf
    return LocationResult(
        model=model.kind,
        p=p,
        sites=ev["sites"],
        objective=ev["objective"],
        dual_bound=float(bound),
        mip_gap=float(gap),
        status=status,
        solver=solver,
        assignment=ev["assignment"],
        per_site=ev["per_site"],
        served_weight=ev["served_weight"],
        total_weight=float(model.pairs.weights.sum()),
        mean_minutes=ev["mean_minutes"],
        unreachable=model.pairs.dem_ids.take(model.unreachable),
        max_minutes=model.limit if model.kind == "maximal_covering" else math.nan,
        penalty_minutes=model.limit if model.kind == "p_median" else math.nan,
        seconds=time.perf_counter() - t0,
    )


def _options(time_limit_s: Any, mip_rel_gap: Any) -> tuple[float | None, float]:
    tl = (
        None if time_limit_s is None else _finite("time_limit_s", time_limit_s, strict=True, fix="or None for no limit")
    )
    gap = _finite("mip_rel_gap", mip_rel_gap, fix="e.g. 1e-4, or 0 to prove optimality exactly")
    return tl, gap


def _penalty(pairs: _Pairs, penalty_minutes: Any) -> float:
    if penalty_minutes is None:
        return float(pairs.minutes.max()) if pairs.minutes.size else 0.0
    return _finite("penalty_minutes", penalty_minutes, fix="e.g. the max_minutes the table was built with")


def maximal_covering(
    od: pd.DataFrame,
    *,
    demand_weights: pd.Series | None,
    p: int,
    max_minutes: float,
    candidates: Iterable[Hashable] | pd.DataFrame | None = None,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-4,
) -> LocationResult:
    """Choose ``p`` sites that cover the most demand within ``max_minutes`` (MCLP).

    Church & ReVelle (1974) [2]_: maximise ``sum_i w_i z_i`` subject to
    ``z_i <= sum_{j: t_ij <= T} y_j``, ``sum_j y_j = p``, ``y`` binary, ``0 <= z <= 1``.
    Solved by HiGHS (:func:`scipy.optimize.milp`); ``p = 1`` is solved exactly by
    enumeration.

    Parameters
    ----------
    od : DataFrame
        Long table ``origin_id`` (candidate), ``destination_id`` (demand point),
        ``minutes``. Absent pairs and ``inf`` minutes do not cover.
    demand_weights : Series or None
        Weight of each demand point (e.g. SMEs' employees, or 1 each), indexed by demand
        id; it sets the demand points reported. Table destinations absent from it are
        ignored. None: weight 1 for each destination of ``od``.
    p : int
        Number of sites to choose, 1 <= p <= number of candidates.
    max_minutes : float
        Coverage time ``T`` (inclusive, as in spopt).
    candidates : iterable or GeoDataFrame, optional
        The candidate ids to choose from (default: the origins of ``od``); other origins
        of ``od`` are ignored, and candidates absent from ``od`` cover nothing.
    time_limit_s : float, optional
        Solver time limit. When it runs out, the better of HiGHS's incumbent and the
        greedy solution is returned with ``status = "time_limit"`` and its gap to
        HiGHS's bound (which can be weak: the LP relaxation may not be solved yet).
    mip_rel_gap : float, default 1e-4
        Relative optimality tolerance of HiGHS (its default); 0 proves the optimum.

    Returns
    -------
    LocationResult
        Chosen ``sites``, ``objective`` (covered weight), ``assignment`` per demand
        point, ``status``, ``mip_gap``, etc.

    Raises
    ------
    InputError, MissingColumnError
        Invalid table, weights, ``p`` or options.

    Examples
    --------
    >>> od = pd.DataFrame(
    ...     {
    ...         "origin_id": ["A", "A", "B", "B", "C"],
    ...         "destination_id": [1, 2, 2, 3, 3],
    ...         "minutes": [5.0, 10.0, 5.0, 10.0, 5.0],
    ...     }
    ... )
    >>> r = maximal_covering(od, demand_weights=pd.Series({1: 1.0, 2: 1.0, 3: 5.0}), p=1, max_minutes=10)
    >>> list(r.sites), r.objective
    (['B'], 6.0)
    """
    tl, gap = _options(time_limit_s, mip_rel_gap)
    t = _finite("max_minutes", max_minutes, fix="e.g. max_minutes=30")
    pairs = _prepare(od, demand_weights, candidates)
    p = _check_p(p, len(pairs.cand_ids))
    return _solve(_model("maximal_covering", pairs, t), p, tl, gap)


def p_median(
    od: pd.DataFrame,
    *,
    demand_weights: pd.Series | None,
    p: int,
    penalty_minutes: float | None = None,
    candidates: Iterable[Hashable] | pd.DataFrame | None = None,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-4,
) -> LocationResult:
    """Choose ``p`` sites that minimise the weighted travel time of the demand (p-median).

    ReVelle & Swain (1970) [3]_ with an "unserved" option per demand point: minimise
    ``sum_ij w_i t_ij x_ij + sum_i w_i P u_i`` subject to ``sum_j x_ij + u_i = 1``,
    ``x_ij <= y_j``, ``sum_j y_j = p``, ``y`` binary, over the pairs of the table. On a
    complete table (every pair present) with the default ``P`` this is the classic
    p-median. Solved by HiGHS; ``p = 1`` exactly by enumeration.

    Parameters
    ----------
    od : DataFrame
        Long table ``origin_id`` (candidate), ``destination_id`` (demand point),
        ``minutes``. Absent pairs and ``inf`` minutes are unreachable.
    demand_weights : Series or None
        As in :func:`maximal_covering`.
    p : int
        Number of sites, 1 <= p <= number of candidates.
    penalty_minutes : float, optional
        ``P``: the cost per unit of weight of a demand point that no chosen site reaches
        in the table. Default: the longest time in the table, which for a table built
        with ``max_minutes`` is (about) that cut-off, so travel times are *censored* at
        the cut-off: "beyond it" costs as much as "at it". Pairs longer than ``P`` are
        never used (being unserved is cheaper). Demand points with no pair within ``P``
        are left out of the model and listed in ``unreachable``.
    candidates : iterable or GeoDataFrame, optional
        As in :func:`maximal_covering`.
    time_limit_s, mip_rel_gap : float
        As in :func:`maximal_covering`.

    Returns
    -------
    LocationResult
        ``objective`` (weighted minutes, penalties included, unreachable points
        excluded), ``mean_minutes`` of the served demand, ``assignment``, etc.

    Raises
    ------
    InputError, MissingColumnError
        Invalid table, weights, ``p``, penalty or options.

    Examples
    --------
    >>> od = pd.DataFrame(
    ...     {"origin_id": ["A", "A", "B", "B"], "destination_id": [1, 2, 1, 2], "minutes": [0.0, 10.0, 6.0, 6.0]}
    ... )
    >>> r = p_median(od, demand_weights=None, p=1)
    >>> list(r.sites), r.objective
    (['A'], 10.0)
    """
    tl, gap = _options(time_limit_s, mip_rel_gap)
    pairs = _prepare(od, demand_weights, candidates)
    p = _check_p(p, len(pairs.cand_ids))
    return _solve(_model("p_median", pairs, _penalty(pairs, penalty_minutes)), p, tl, gap)


@dataclass(frozen=True, eq=False)
class SweepResult:
    """A location model solved for p = 1, 2, ..., ``p_max`` (:func:`sweep`).

    Attributes
    ----------
    table : DataFrame
        Indexed by ``p``: ``objective``, ``objective_change`` (vs p - 1; NaN for p = 1),
        ``served_weight``, ``served_share``, ``mean_minutes``, ``status``, ``mip_gap``,
        ``solver``, ``seconds``.
    sites : DataFrame
        Long table of the chosen sites, one row per (``p``, ``site_id``), in candidate
        order within each p.
    """

    table: pd.DataFrame
    sites: pd.DataFrame

    def sites_of(self, p: int) -> list[Hashable]:
        """The candidate ids chosen with ``p`` sites."""
        return self.sites.loc[self.sites["p"] == p, "site_id"].tolist()


def sweep(
    od: pd.DataFrame,
    *,
    model: Literal["maximal_covering", "p_median"],
    demand_weights: pd.Series | None,
    p_max: int,
    max_minutes: float | None = None,
    penalty_minutes: float | None = None,
    candidates: Iterable[Hashable] | pd.DataFrame | None = None,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-4,
) -> SweepResult:
    """Solve a model for p = 1, 2, ..., ``p_max``: how much does each extra site bring?

    Parameters
    ----------
    od : DataFrame
        Long table, candidate as origin (see :func:`maximal_covering`).
    model : {"maximal_covering", "p_median"}
        Which model.
    demand_weights : Series or None
        As in :func:`maximal_covering`.
    p_max : int
        Largest p (at most the number of candidates).
    max_minutes : float
        Coverage time, required for ``"maximal_covering"`` (and refused for p-median).
    penalty_minutes : float, optional
        p-median penalty (see :func:`p_median`); refused for maximal covering.
    candidates, time_limit_s, mip_rel_gap
        As in :func:`maximal_covering` (the time limit applies to each p).

    Returns
    -------
    SweepResult
        ``table`` indexed by ``p`` (objective, its change, served weight and share, mean
        minutes, status, gap, solver, seconds) and ``sites``, the long table of the sites
        chosen for each p.

    Raises
    ------
    InputError
        Unknown model, bad ``p_max``, or an option of the other model.

    Examples
    --------
    >>> od = pd.DataFrame(
    ...     {
    ...         "origin_id": ["A", "A", "B", "B", "C"],
    ...         "destination_id": [1, 2, 2, 3, 3],
    ...         "minutes": [5.0, 10.0, 5.0, 10.0, 5.0],
    ...     }
    ... )
    >>> res = sweep(od, model="maximal_covering", demand_weights=None, p_max=2, max_minutes=10)
    >>> res.table["objective"].tolist(), res.sites_of(2)
    ([2.0, 3.0], ['A', 'C'])
    """
    if model not in ("maximal_covering", "p_median"):
        raise InputError(f"model must be 'maximal_covering' or 'p_median', got {model!r}")
    tl, gap = _options(time_limit_s, mip_rel_gap)
    if model == "maximal_covering":
        if max_minutes is None:
            raise InputError("model='maximal_covering' needs max_minutes=...; pass the coverage time")
        if penalty_minutes is not None:
            raise InputError("penalty_minutes is a p_median option; drop it for model='maximal_covering'")
        limit = _finite("max_minutes", max_minutes, fix="e.g. max_minutes=30")
    elif max_minutes is not None:
        raise InputError(
            "max_minutes is a maximal_covering option; for p_median, cap the times with penalty_minutes instead"
        )
    pairs = _prepare(od, demand_weights, candidates)
    p_max = _check_p(p_max, len(pairs.cand_ids))
    if model == "p_median":
        limit = _penalty(pairs, penalty_minutes)
    m = _model(model, pairs, limit)
    rows: list[dict[str, Any]] = []
    chosen: list[tuple[int, Any]] = []
    for p in range(1, p_max + 1):
        r = _solve(m, p, tl, gap)
        chosen.extend((p, s) for s in r.sites.tolist())
        rows.append(
            {
                "p": p,
                "objective": r.objective,
                "served_weight": r.served_weight,
                "served_share": r.served_share,
                "mean_minutes": r.mean_minutes,
                "status": r.status,
                "mip_gap": r.mip_gap,
                "solver": r.solver,
                "seconds": r.seconds,
            }
        )
    out = pd.DataFrame(rows).set_index("p")
    out.insert(1, "objective_change", out["objective"].diff())
    return SweepResult(table=out, sites=pd.DataFrame(chosen, columns=["p", "site_id"]))
