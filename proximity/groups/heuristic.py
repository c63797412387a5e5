"""The heuristic method: greedy construction, placement repair and local search within a time
limit, with the bound of :mod:`proximity.groups.bounds` (see :mod:`proximity.groups`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

import numpy as np

from . import moves
from ._util import _TOL
from .bounds import _check_metric, _max_placeable, _placeability, _sme_bound
from .problem import _Problem, _Solution
from .tours import _cycles, _group_tours


class _Search:
    """State of the heuristic search: the groups, each SME's group, and cached costs.

    The moves that change it (construction, repair, relocations, exact re-solutions)
    are functions of :mod:`proximity.groups.moves`.
    """

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
            for j, t in zip(nb, w[:k_near].tolist(), strict=True):
                self.dist[i * n + j] = t
                self.dist[j * n + i] = t
        self.elig: list[int] | None = None
        self.bmin: list[list[float]] | None = None
        if prob.base_min is not None:  # the problem has bases (prob.nb > 0)
            bm = prob.base_min
            self.elig = [sum(1 << b for b in np.flatnonzero(np.isfinite(bm[i])).tolist()) for i in range(n)]
            self.bmin = bm.tolist()
        self.cyc = {k: [tuple(c) for c in _cycles(k).tolist()] for k in range(1, prob.max_size + 2)}
        self.cache: dict[tuple[int, ...], float] = {}
        self.group_of = [-1] * n
        self.placeable = np.ones(n, dtype=bool)
        self.groups: dict[int, tuple[int, ...]] = {}
        self.next_gid = 0
        # candidate groups of the tile re-solutions, built on first use (moves.build_pool)
        self.pool: dict[tuple[int, ...], float] | None = None
        self.pool_of: dict[int, list[tuple[int, ...]]] = {}

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
            if s < best:  # faster than min() in this hot loop
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
            if self.elig is None or self.bmin is None:  # both None or both set: the problem has no bases
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

    def grow(
        self, s: int, allowed: Callable[[int], bool], extra_ok: Callable[[list[int], int], bool] | None = None
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


def _search(prob: _Problem, *, time_limit_s: float, seed: int, mask: np.ndarray | None = None) -> _Search:
    """Construction, repair and local search within the time limit, on the SMEs of ``mask``."""
    search = _Search(prob, seed=seed, deadline=time.perf_counter() + time_limit_s)
    search.placeable = _placeability(prob) & (True if mask is None else mask)
    moves.construct(search)
    moves.repair(search)
    moves.improve(search)
    moves.repair(search)
    return search


def _solve_heuristic(prob: _Problem, *, time_limit_s: float, seed: int, mask: np.ndarray | None = None) -> _Solution:
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
