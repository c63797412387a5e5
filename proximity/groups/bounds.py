"""Bounds of the heuristic: which SMEs can be placed at all, and a lower bound on the optimal
cost from two feasible duals of the set-partitioning relaxation (see :mod:`proximity.groups`)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from ._util import _TOL
from .problem import _Problem
from .tours import _combinations, _group_tours

if TYPE_CHECKING:
    from .heuristic import _Search


def _placeability(prob: _Problem) -> np.ndarray:
    """True for SMEs in a triangle (or an edge when groups of 2 are allowed) of the
    compatibility graph with a common base: necessary for being in a feasible group."""
    n = prob.n
    out = np.zeros(n, dtype=bool)
    deg = np.diff(prob.indptr)
    if prob.min_size <= 2:
        return deg > 0
    elig = np.isfinite(prob.base_min) if prob.base_min is not None else None
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
    if prob.base_min is not None:  # the problem has bases (prob.nb > 0)
        b = prob.base_min.min(axis=1)
        two = np.sort(np.stack([d1, d2, b], axis=1), axis=1)[:, :2]
        d1, d2 = two[:, 0], two[:, 1]
    elif prob.min_size == 2:
        d2 = d1  # a group of two goes there and back along the same pair
    return (d1 + d2) / 2.0


def _sme_bound(
    prob: _Problem, search: _Search, placeable: np.ndarray, *, cap: int = 5_000, deadline: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    elig = np.isfinite(prob.base_min) if prob.base_min is not None else None

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
