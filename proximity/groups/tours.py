"""Executive tours: the shortest closed tour of each group of a batch, by exact enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np

from ._util import _TOL
from .problem import _Problem

_CYCLES: dict[int, np.ndarray] = {}


def _cycles(k: int) -> np.ndarray:
    """Distinct cycles through nodes 0..k-1 (node 0 first, one of each mirror pair)."""
    if k not in _CYCLES:
        cyc = [tuple(range(k))] if k <= 2 else [(0, *p) for p in itertools.permutations(range(1, k)) if p[0] < p[-1]]
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
        got = np.fromiter(
            itertools.chain.from_iterable(itertools.combinations(range(m), r)),
            dtype=np.int64,
            count=math.comb(m, r) * r,
        ).reshape(-1, r)
        if len(_COMBS) > 256:
            _COMBS.clear()
        _COMBS[key] = got
    return got


_COMBS: dict[tuple[int, int], np.ndarray] = {}


def _group_tours(
    prob: _Problem, members: np.ndarray, D: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tours of a batch of groups (m x k positions): minutes, base (member position or base
    number) and node order (m x k, members in tour order starting after/at the base).
    ``D``: the (m x k x k) pair minutes when the caller has them."""
    m, k = members.shape
    if D is None:
        D = prob.pair(members[:, :, None], members[:, None, :])
    D[:, np.arange(k), np.arange(k)] = 0.0
    if prob.base_min is None:  # no bases (prob.nb == 0)
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
