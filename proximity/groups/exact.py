"""The exact method: enumerate every feasible group (cliques of the compatibility graph) and
solve the set-packing MIP with HiGHS, after reduced-cost fixing against a heuristic solution."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from .heuristic import _search
from .problem import _Problem, _Solution
from .tours import _group_tours


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

    elig: list[int] | None = None
    if prob.base_min is not None:  # the problem has bases (prob.nb > 0)
        bm = prob.base_min
        elig = [sum(1 << b for b in np.flatnonzero(np.isfinite(bm[i])).tolist()) for i in range(n)]
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
            extend((*clique, u), cand & higher(u), cm)

    for v in range(n) if vertices is None else vertices:
        if elig is not None and not elig[v]:
            continue
        extend((v,), higher(v), elig[v] if elig is not None else 0)
    return {k: np.array(v, dtype=np.int64).reshape(len(v), k) for k, v in found.items() if v}


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
    res = milp(
        c[sub],
        constraints=[LinearConstraint(A[:, sub], -np.inf, 1.0)],
        integrality=np.ones(len(sub)),
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": max(time_limit_s - (time.perf_counter() - start), 0.01), "mip_rel_gap": 1e-12},
    )
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
    return _Solution(groups, objective, float(min(bound, objective)), "time_limit", "exact", max_placeable, placeable)
