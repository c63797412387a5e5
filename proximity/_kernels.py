"""Compiled reductions of travel times (numba), for the engine's hot loops.

Internal: :func:`proximity._engine.count_within_points` calls :func:`count_batch`. The
kernels compile on first use (a second or two, then cached on disk beside this module
when it is writable) and run on one thread: a Dask worker is one process with one
thread, so parallelism comes from the workers.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, inline="always")
def _network_s(dist, row, oth_nodes, oth_part, k):
    """Seconds from location ``row`` to other point ``k`` on the network: the best of its entries, leg excluded."""
    best = np.inf
    for e in range(oth_nodes.shape[1]):
        x = dist[row, oth_nodes[k, e]] + oth_part[k, e]
        if x < best:
            best = x
    return best


@numba.njit(cache=True, nogil=True)
def count_batch(dist, loc, run_leg, oth_nodes, oth_part, oth_leg, max_s, to_run, w_run, w_oth, acc_run, acc_oth):
    """Sum the weights of the pairs (run point, other point) within ``max_s`` seconds.

    ``dist[l, node]``: seconds from run-side location ``l`` to ``node``; ``loc[r]``: the
    location of run point ``r`` (non-decreasing: points are grouped by location);
    ``oth_nodes[k, e]``/``oth_part[k, e]``: the entries of other point ``k`` and their
    partial seconds; ``oth_leg``/``run_leg``: the off-network legs. The time of a pair is
    ``min_e(dist[loc[r], oth_nodes[k, e]] + oth_part[k, e]) + oth_leg[k] + run_leg[r]``,
    with the same floating-point operations, in the same order, as
    :func:`proximity._engine.point_blocks`. With ``to_run``, run point ``r`` adds
    ``w_oth[k]`` to ``acc_run[r]``; else other point ``k`` adds ``w_run[r]`` to ``acc_oth[k]``.
    """
    n_run = loc.shape[0]
    n_oth = oth_nodes.shape[0]
    n_w = acc_run.shape[1]
    v = np.empty(n_oth)
    prev = -1
    for r in range(n_run):
        row = loc[r]
        if row != prev:
            for k in range(n_oth):
                v[k] = _network_s(dist, row, oth_nodes, oth_part, k) + oth_leg[k]
            prev = row
        leg = run_leg[r]
        if to_run:
            for k in range(n_oth):
                if v[k] + leg <= max_s:
                    for c in range(n_w):
                        acc_run[r, c] += w_oth[k, c]
        else:
            for k in range(n_oth):
                if v[k] + leg <= max_s:
                    for c in range(n_w):
                        acc_oth[k, c] += w_run[r, c]


@numba.njit(cache=True, nogil=True)
def count_direct(
    dist, loc, run_leg, oth_nodes, oth_part, oth_leg, d_row, d_col, d_s, max_s, to_run, w_run, w_oth, acc_run, acc_oth
):
    """Add the pairs that only a direct trip brings within ``max_s`` (see :func:`count_batch`).

    Pair ``i`` is run point ``d_row[i]`` and other point ``d_col[i]`` with a direct trip of
    ``d_s[i]`` seconds; it is added when ``d_s[i] <= max_s`` and the network time of
    :func:`count_batch` (same operations) is beyond ``max_s``.
    """
    n_w = acc_run.shape[1]
    for i in range(d_row.shape[0]):
        if not d_s[i] <= max_s:
            continue
        r = d_row[i]
        k = d_col[i]
        if (_network_s(dist, loc[r], oth_nodes, oth_part, k) + oth_leg[k]) + run_leg[r] <= max_s:
            continue
        if to_run:
            for c in range(n_w):
                acc_run[r, c] += w_oth[k, c]
        else:
            for c in range(n_w):
                acc_oth[k, c] += w_run[r, c]
