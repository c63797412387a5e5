"""The moves of the heuristic search, as functions of its state (:class:`~proximity.groups.heuristic._Search`).

Construction (least connected SMEs first), repair (insertion, a new group taking spare
members, one-step ejection), and improvement: relocations and swaps, optimal
re-partition of pairs of groups, one group more or fewer, and exact re-solutions of
neighbourhoods (tiles over a pool of good candidate groups, sets of nearby groups).
"""

from __future__ import annotations

import itertools
import math
import time
from typing import TYPE_CHECKING

import numpy as np

from .packing import _pack, _partition_exactly
from .problem import _Problem
from .tours import _combinations, _group_tours

if TYPE_CHECKING:
    from .heuristic import _Search

#: Nothing public: these are the internals of the heuristic (through :func:`~proximity.groups.form_groups`).
__all__: list[str] = []


def construct(search: _Search) -> None:
    p = search.p
    placeable = search.placeable
    deg = np.diff(p.indptr)
    order = np.lexsort((search.rng.random(p.n), deg))

    def free(j: int) -> bool:
        return search.group_of[j] < 0

    for s in order.tolist():
        if search.group_of[s] >= 0 or not placeable[s]:
            continue
        found = search.grow(s, free)
        if found is not None:
            search.add_group(found[0])


def repair(search: _Search) -> None:
    """Place unplaced placeable SMEs: insertion, a new group taking spare members, ejection,
    then exact re-solution of their neighbourhoods."""
    placeable = search.placeable
    changed = True
    while changed and time.perf_counter() < search.deadline:
        changed = False
        for u in np.flatnonzero(placeable).tolist():
            if search.group_of[u] >= 0:
                continue
            if search._insert(u) or new_group(search, u) or eject(search, u):
                changed = True
            if time.perf_counter() > search.deadline:
                break
        if not changed:
            changed = lns_unplaced(search) > 0


def new_group(search: _Search, u: int) -> bool:
    taken: dict[int, int] = {}

    allowed, extra_ok = search._can_give, search._extra_ok

    found = search.grow(u, allowed, extra_ok)
    if found is None:
        return False
    members = found[0]
    for j in members:
        gid = search.group_of[j]
        if gid >= 0:
            taken[gid] = taken.get(gid, 0) + 1
    for gid in taken:
        search.set_group(gid, [x for x in search.groups[gid] if x not in members])
    search.add_group(members)
    return True


def eject(search: _Search, u: int) -> bool:
    best, plan = math.inf, None
    for gid in search._neighbour_groups(u):
        g = search.groups[gid]
        base = search.cost(g)
        for j in g:
            swapped = tuple(sorted((*[x for x in g if x != j], u)))
            c = search.cost(swapped)
            if c == math.inf:
                continue
            search.group_of[j] = -1  # j leaves g before looking for its new group
            search.group_of[u] = gid
            res = search._insert(j, exclude=gid, apply=False)
            search.group_of[j] = gid
            search.group_of[u] = -1
            delta, target = res  # type: ignore[misc]
            if target >= 0 and c - base + delta < best:
                best, plan = c - base + delta, (gid, swapped, j, target)
    if plan is None:
        return False
    gid, swapped, j, target = plan
    search.set_group(gid, swapped)
    search.set_group(target, (*search.groups[target], j))
    return True


def improve(search: _Search) -> None:
    """Relocations and swaps, optimal re-partition of neighbouring group pairs, then
    exact re-partition of neighbourhoods of three groups (set partitioning, HiGHS)."""
    # cheap moves first; then exact re-solutions: tiles of nearby SMEs over a pool of
    # good groups (the most improvement per second), three groups, four, random sets
    stages = (lambda: tile_lns(search), lambda: lns(search, 3), lambda: lns(search, 4), lambda: random_lns(search))
    while time.perf_counter() < search.deadline:
        moved = relocate_swap(search) + repartition(search) + spawn(search) + dissolve(search)
        for stage in stages:
            if moved or time.perf_counter() > search.deadline:
                break
            moved = stage()
        if not moved:
            break


def build_pool(
    prob: _Problem, placeable: np.ndarray, m_near: int = 12, top: int = 25
) -> tuple[dict[tuple[int, ...], float], dict[int, list[tuple[int, ...]]]]:
    """Candidate groups: for every SME, the ``top`` groups of least cost per member
    among its ``m_near`` nearest compatible partners."""
    p = prob
    pool: dict[tuple[int, ...], float] = {}
    for i in np.flatnonzero(placeable).tolist():
        nbr, _ = p.row(i)
        local = np.concatenate([[i], nbr[:m_near]]).astype(np.int64)
        m = len(local) - 1
        L = p.pair(local[:, None], local[None, :])
        np.fill_diagonal(L, 0.0)
        fin = np.isfinite(L)
        elig = np.isfinite(p.base_min[local]) if p.base_min is not None else None
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
            found.extend(
                (float(cost[b]) / k, tuple(sorted(local[nodes[b]].tolist())), float(cost[b]))
                for b in best
                if np.isfinite(cost[b])
            )
        found.sort()
        pool.update({g: c for _, g, c in found[:top]})
    pool_of: dict[int, list[tuple[int, ...]]] = {}
    for g in pool:
        for i in g:
            pool_of.setdefault(i, []).append(g)
    return pool, pool_of


def tile_lns(search: _Search, size: int = 100) -> int:
    """Set packing over the candidate pool on tiles of ``size`` nearby SMEs (most placed,
    then least cost), the rest fixed; until a sweep brings nothing or the time limit."""
    p = search.p
    if search.pool is None:
        search.pool, search.pool_of = build_pool(p, search.placeable)
    moves = 0
    seeds = search.rng.permutation(np.flatnonzero(search.placeable)).tolist()
    covered = np.zeros(p.n, dtype=bool)
    for s0 in seeds:
        if time.perf_counter() > search.deadline:
            break
        if covered[s0]:
            continue
        # the tile: breadth-first over nearest partners
        tile: dict[int, None] = {s0: None}
        frontier = [s0]
        while frontier and len(tile) < size:
            nxt = []
            for i in frontier:
                for j in search.near[i][:8]:
                    if j not in tile and search.placeable[j]:
                        tile[j] = None
                        nxt.append(j)
            frontier = nxt
        # groups partly outside stay as they are
        members = set(tile)
        for i in list(members):
            gid = search.group_of[i]
            if gid >= 0 and any(x not in members for x in search.groups[gid]):
                members.difference_update(search.groups[gid])
        if len(members) < p.min_size:
            continue
        covered[list(members)] = True
        free = {search.group_of[i] for i in members if search.group_of[i] >= 0}
        cols: dict[tuple[int, ...], float] = {search.groups[g]: search.cost(search.groups[g]) for g in free}
        for i in members:
            for g in search.pool_of.get(i, ()):
                if g not in cols and all(x in members for x in g):
                    cols[g] = search.pool[g]
        now_cost = sum(search.cost(search.groups[g]) for g in free)
        now_placed = sum(len(search.groups[g]) for g in free)
        best = _pack(p, list(members), cols, now_cost, now_placed)
        if best is None:
            continue
        for gid in free:
            search.drop_group(gid)
        for group in best:
            search.add_group(group)
        moves += 1
    return moves


def spawn(search: _Search) -> int:
    """One more group: a member of a group with spare members starts a new group with
    spare members of nearby groups, when that lowers the total cost."""
    p = search.p
    moves = 0

    allowed, extra_ok = search._can_give, search._extra_ok

    placed = [i for i in range(p.n) if search.group_of[i] >= 0]
    for i in search.rng.permutation(placed).tolist():
        if time.perf_counter() > search.deadline:
            break
        A = search.group_of[i]
        if A < 0 or len(search.groups[A]) <= p.min_size:
            continue
        ga = search.groups[A]
        search.set_group(A, [x for x in ga if x != i])
        found = search.grow(i, allowed, extra_ok)
        if found is not None:
            members, c_new = found
            donors: dict[int, list[int]] = {}
            for j in members:
                if search.group_of[j] >= 0:
                    donors.setdefault(search.group_of[j], []).append(j)
            delta = c_new + search.cost(search.groups[A]) - search.cost(ga)
            for gid, taken in donors.items():
                if gid != A:
                    rest = tuple(x for x in search.groups[gid] if x not in taken)
                    delta += search.cost(rest) - search.cost(search.groups[gid])
            if delta < -1e-9 and A not in donors:
                for gid, taken in donors.items():
                    search.set_group(gid, [x for x in search.groups[gid] if x not in taken])
                search.add_group(members)
                moves += 1
                continue
        search.set_group(A, ga)
    return moves


def dissolve(search: _Search) -> int:
    """One group fewer: the members of a group join nearby groups that have room, when
    that lowers the total cost."""
    moves = 0
    for gid in search.rng.permutation(list(search.groups)).tolist():
        if time.perf_counter() > search.deadline:
            break
        if gid not in search.groups:
            continue
        g = search.groups[gid]
        before: dict[int, tuple[int, ...]] = {}
        search.drop_group(gid)
        delta = -search.cost(g)
        ok = True
        for m in g:
            best, target = search._insert(m, apply=False)  # type: ignore[misc]
            if target < 0 or best == math.inf:
                ok = False
                break
            before.setdefault(target, search.groups[target])
            delta += best
            search.set_group(target, (*search.groups[target], m))
        if ok and delta < -1e-9:
            moves += 1
            continue
        for target, old in before.items():
            search.set_group(target, old)
        search.groups[gid] = g
        for m in g:
            search.group_of[m] = gid
    return moves


def random_lns(search: _Search, n_groups: int = 3, pool: int = 6) -> int:
    """Exact re-solution of random sets of nearby groups, until ``max(50, 2 x groups)``
    attempts in a row bring nothing (or the time limit)."""
    moves, idle = 0, 0
    while search.groups and time.perf_counter() < search.deadline and idle < max(50, 2 * len(search.groups)):
        gid = list(search.groups)[int(search.rng.integers(len(search.groups)))]
        closeness: dict[int, float] = {}
        for i in search.groups[gid]:
            for j in search.near[i][:15]:
                other = search.group_of[j]
                if other >= 0 and other != gid:
                    closeness[other] = min(closeness.get(other, math.inf), search.d(i, j))
        near = sorted(closeness, key=closeness.__getitem__)[:pool]
        if not near:
            idle += 1
            continue
        pick = search.rng.choice(len(near), size=min(n_groups - 1, len(near)), replace=False)
        if resolve(search, search.groups[gid], 0, own=gid, chosen=[near[k] for k in pick]):
            moves += 1
            idle = 0
        else:
            idle += 1
    return moves


def lns(search: _Search, n_groups: int) -> int:
    """Re-solve exactly each group with its nearest neighbour groups and nearby
    unplaced SMEs (most SMEs placed, then least cost)."""
    moves = 0
    for gid in search.rng.permutation(list(search.groups)).tolist():
        if time.perf_counter() > search.deadline:
            break
        if gid in search.groups:
            moves += resolve(search, search.groups[gid], n_groups, own=gid)
    return moves


def lns_unplaced(search: _Search, n_groups: int = 3) -> int:
    """The same around each unplaced SME that could be in a group."""
    moves = 0
    for u in np.flatnonzero(search.placeable).tolist():
        if time.perf_counter() > search.deadline:
            break
        if search.group_of[u] < 0:
            moves += resolve(search, (u,), n_groups, own=-1)
    return moves


def resolve(
    search: _Search,
    seed: tuple[int, ...],
    n_groups: int,
    *,
    own: int,
    max_union: int = 18,
    chosen: list[int] | None = None,
) -> int:
    """Re-solve the groups of ``seed``'s neighbourhood (its nearest ``n_groups`` groups, or
    ``chosen``) with nearby unplaced SMEs; 1 if that improved the solution."""
    closeness: dict[int, float] = {}
    extra: dict[int, None] = {}
    for i in seed:
        for j in search.near[i][:12]:
            other = search.group_of[j]
            if other >= 0 and other != own:
                closeness[other] = min(closeness.get(other, math.inf), search.d(i, j))
            elif other < 0 and search.placeable[j] and j not in seed:
                extra[j] = None
    if chosen is None:
        chosen = sorted(closeness, key=closeness.__getitem__)[: n_groups - (own >= 0)]
    if own >= 0:
        chosen = [own, *chosen]
    if not chosen:
        return 0
    union = [x for c in chosen for x in search.groups[c]]
    if own < 0:
        union.extend(seed)
    room = max(max_union - len(union), 0)
    union.extend(list(extra)[: min(room, 4)])
    union_arr = np.array(sorted(set(union)), dtype=np.int64)
    now_cost = sum(search.cost(search.groups[c]) for c in chosen)
    now_placed = sum(len(search.groups[c]) for c in chosen)
    best = _partition_exactly(search.p, union_arr, now_cost, now_placed)
    if best is None:
        return 0
    for c in chosen:
        search.drop_group(c)
    for members in best:
        search.add_group(members)
    return 1


def relocate_swap(search: _Search) -> int:
    p = search.p
    total = 0
    while time.perf_counter() < search.deadline:
        moves = 0
        placed = [i for i in range(p.n) if search.group_of[i] >= 0]
        for i in search.rng.permutation(placed).tolist():
            if time.perf_counter() > search.deadline:
                break
            A = search.group_of[i]
            ga = search.groups[A]
            ca = search.cost(ga)
            a_minus = tuple(x for x in ga if x != i)
            ca_minus = search.cost(a_minus) if len(ga) > p.min_size else math.inf
            best, plan = -1e-9, None
            for B in search._neighbour_groups(i, 12):
                gb = search.groups[B]
                cb = search.cost(gb)
                if len(gb) < p.max_size and ca_minus < math.inf:
                    delta = ca_minus + search.cost(tuple(sorted((*gb, i)))) - ca - cb
                    if delta < best:
                        best, plan = delta, (B, a_minus, (*gb, i))
                for j in gb:
                    na = tuple(sorted((*a_minus, j)))
                    cna = search.cost(na)
                    if cna == math.inf:
                        continue
                    nbm = tuple(sorted((*[x for x in gb if x != j], i)))
                    delta = cna + search.cost(nbm) - ca - cb
                    if delta < best:
                        best, plan = delta, (B, na, nbm)
            if plan is not None:
                B, na, nbm = plan
                search.set_group(A, na)
                search.set_group(B, nbm)
                moves += 1
        total += moves
        if not moves:
            break
    return total


def repartition(search: _Search) -> int:
    p = search.p
    moves = 0
    pairs: dict[tuple[int, int], None] = {}
    for gid, g in search.groups.items():
        for i in g:
            for other in search._neighbour_groups(i, 8):
                pairs[(min(gid, other), max(gid, other))] = None
    for A, B in pairs:
        if time.perf_counter() > search.deadline:
            break
        if A not in search.groups or B not in search.groups:
            continue
        ga, gb = search.groups[A], search.groups[B]
        union = sorted((*ga, *gb))
        now = search.cost(ga) + search.cost(gb)
        best, plan = now - 1e-9, None
        u = len(union)
        first, rest = union[0], union[1:]
        for r in range(p.min_size - 1, p.max_size):
            if not p.min_size <= u - r - 1 <= p.max_size and u - r - 1 != 0:
                continue
            for comb in itertools.combinations(rest, r):
                s1 = (first, *comb)
                s2 = tuple(x for x in rest if x not in comb)
                c = search.cost(s1) + (search.cost(s2) if s2 else 0.0)
                if c < best:
                    best, plan = c, (s1, s2)
        if plan is not None:
            s1, s2 = plan
            search.set_group(A, s1)
            if s2:
                search.set_group(B, s2)
            else:
                search.drop_group(B)
            moves += 1
    return moves
