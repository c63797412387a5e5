"""Exact re-solution of a neighbourhood: set packing of feasible groups with HiGHS (most SMEs
placed, then least cost), used by the heuristic's large-neighbourhood moves."""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from .problem import _Problem
from .tours import _combinations, _group_tours


def _partition_exactly(
    prob: _Problem, union: np.ndarray, now_cost: float, now_placed: int
) -> list[tuple[int, ...]] | None:
    """Best packing of ``union`` into feasible groups (most placed, then least cost), if it
    beats the current groups of these SMEs (``now_placed`` placed at ``now_cost``)."""
    u = len(union)
    L = prob.pair(union[:, None], union[None, :])
    fin = np.isfinite(L)
    elig = np.isfinite(prob.base_min[union]) if prob.base_min is not None else None
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
    res = milp(
        c - big * size,
        constraints=[LinearConstraint(A, -np.inf, 1.0)],
        integrality=np.ones(m),
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": 5.0},
    )
    if res.x is None:
        return None
    chosen = np.flatnonzero(res.x > 0.5)
    placed, cost = int(size[chosen].sum()), float(c[chosen].sum())
    if placed < now_placed or (placed == now_placed and cost >= now_cost - 1e-7):
        return None
    return [tuple(int(x) for x in union[members[j]]) for j in chosen]


def _pack(
    prob: _Problem, members: list[int], cols: dict[tuple[int, ...], float], now_cost: float, now_placed: int
) -> list[tuple[int, ...]] | None:
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
    res = milp(
        c - big * size,
        constraints=[LinearConstraint(A, -np.inf, 1.0)],
        integrality=np.ones(len(groups)),
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": 5.0},
    )
    if res.x is None:
        return None
    chosen = np.flatnonzero(res.x > 0.5)
    placed, cost = int(size[chosen].sum()), float(c[chosen].sum())
    if placed < now_placed or (placed == now_placed and cost >= now_cost - 1e-7):
        return None
    return [groups[j] for j in chosen]
