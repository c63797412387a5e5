"""Benchmark of the location-allocation models of :mod:`proximity.siting` (not a test).

A synthetic territory: a square of ``--side-km`` km, ``--candidates`` candidate sites on a
regular grid, ``--demand`` SMEs (60 % in five Gaussian clusters standing for towns, 40 %
spread uniformly) weighted by a skewed number of employees. Travel time = straight-line
distance x ``--detour`` at ``--speed-kmh``; pairs beyond ``--cutoff-min`` are left out of
the table, as :func:`proximity.traveltime.od_matrix` does with ``max_minutes``.

For each p it solves the maximal covering model (coverage time ``--coverage-min``) and the
p-median (penalty = the cut-off), and prints the wall time, objective, MIP gap and share
of demand served. With ``--spopt`` it also solves a smaller instance with spopt (PuLP +
CBC) and ours, and prints both objectives and times.

Run: ``.venv/bin/python benchmarks/siting.py [--spopt]``. The last line is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from proximity import siting


def instance(n_cand: int, n_dem: int, side_km: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = round(np.sqrt(n_cand))
    step = side_km / k
    g = (np.arange(k) + 0.5) * step
    cand = np.array(np.meshgrid(g, g)).reshape(2, -1).T
    n_clu = int(0.6 * n_dem)
    centres = rng.uniform(0.15 * side_km, 0.85 * side_km, (5, 2))
    which = rng.integers(0, 5, n_clu)
    clustered = centres[which] + rng.normal(0, 0.06 * side_km, (n_clu, 2))
    uniform = rng.uniform(0, side_km, (n_dem - n_clu, 2))
    dem = np.clip(np.vstack([clustered, uniform]), 0, side_km)
    weights = np.minimum(rng.geometric(0.15, n_dem), 249).astype(float)  # employees, mostly < 10
    return cand, dem, weights


def long_table(
    cand: np.ndarray, dem: np.ndarray, *, speed_kmh: float, detour: float, cutoff_min: float
) -> pd.DataFrame:
    radius_km = cutoff_min / 60.0 * speed_kmh / detour
    sdm = cKDTree(cand).sparse_distance_matrix(cKDTree(dem), radius_km, output_type="coo_matrix")
    minutes = sdm.data * detour / speed_kmh * 60.0
    return pd.DataFrame({"origin_id": [f"c{i}" for i in sdm.row], "destination_id": sdm.col, "minutes": minutes})


def dense_minutes(cand: np.ndarray, dem: np.ndarray, *, speed_kmh: float, detour: float) -> np.ndarray:
    d = np.hypot(dem[:, None, 0] - cand[None, :, 0], dem[:, None, 1] - cand[None, :, 1])
    return d * detour / speed_kmh * 60.0  # demand x candidates, as spopt wants


def run_spopt(args: argparse.Namespace) -> list[dict]:
    import pulp
    from spopt.locate import MCLP, PMedian

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # PuLP 3.3 v4-migration notices
    cand, dem, w = instance(args.spopt_candidates, args.spopt_demand, args.side_km, args.seed + 1)
    cost = dense_minutes(cand, dem, speed_kmh=args.speed_kmh, detour=args.detour)
    od = long_table(cand, dem, speed_kmh=args.speed_kmh, detour=args.detour, cutoff_min=args.cutoff_min)
    ids = [f"c{i}" for i in range(len(cand))]
    rows = []
    for p in args.spopt_p:
        t = time.perf_counter()
        ref = MCLP.from_cost_matrix(cost, w, service_radius=args.coverage_min, p_facilities=p)
        ref.solve(pulp.PULP_CBC_CMD(msg=False))
        t_ref = time.perf_counter() - t
        t = time.perf_counter()
        ours = siting.maximal_covering(
            od, demand_weights=pd.Series(w), p=p, max_minutes=args.coverage_min, candidates=ids, mip_rel_gap=0
        )
        rows.append(
            {
                "model": "maximal_covering",
                "p": p,
                "spopt_objective": ref.problem.objective.value(),
                "objective": ours.objective,
                "spopt_s": t_ref,
                "seconds": time.perf_counter() - t,
            }
        )
        t = time.perf_counter()
        ref = PMedian.from_cost_matrix(np.minimum(cost, args.cutoff_min), w, p_facilities=p)
        ref.solve(pulp.PULP_CBC_CMD(msg=False))
        t_ref = time.perf_counter() - t
        t = time.perf_counter()
        ours = siting.p_median(
            od, demand_weights=pd.Series(w), p=p, penalty_minutes=args.cutoff_min, candidates=ids, mip_rel_gap=0
        )
        # spopt counts the demand no candidate reaches at the cap; ours leaves it out
        excluded = float(pd.Series(w).loc[ours.unreachable].sum() * args.cutoff_min)
        rows.append(
            {
                "model": "p_median",
                "p": p,
                "spopt_objective": ref.problem.objective.value(),
                "objective": ours.objective + excluded,
                "spopt_s": t_ref,
                "seconds": time.perf_counter() - t,
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, default=1024)
    ap.add_argument("--demand", type=int, default=6000)
    ap.add_argument("--side-km", type=float, default=100.0)
    ap.add_argument("--speed-kmh", type=float, default=50.0)
    ap.add_argument("--detour", type=float, default=1.3)
    ap.add_argument("--cutoff-min", type=float, default=20.0)
    ap.add_argument("--coverage-min", type=float, default=15.0)
    ap.add_argument("--p", type=int, nargs="+", default=[1, 3, 5])
    ap.add_argument("--time-limit-s", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--spopt", action="store_true", help="also compare with spopt on a smaller instance")
    ap.add_argument("--spopt-candidates", type=int, default=100)
    ap.add_argument("--spopt-demand", type=int, default=600)
    ap.add_argument("--spopt-p", type=int, nargs="+", default=[1, 3, 5])
    args = ap.parse_args()

    t = time.perf_counter()
    cand, dem, w = instance(args.candidates, args.demand, args.side_km, args.seed)
    od = long_table(cand, dem, speed_kmh=args.speed_kmh, detour=args.detour, cutoff_min=args.cutoff_min)
    build_s = time.perf_counter() - t
    ids = [f"c{i}" for i in range(len(cand))]
    weights = pd.Series(w)
    density = len(od) / (len(cand) * len(dem))
    print(
        f"instance: {len(cand)} candidates x {len(dem)} demand points, {len(od):,} pairs within "
        f"{args.cutoff_min:g} min ({density:.1%} of all), table built in {build_s:.2f} s"
    )
    print(f"{'model':<17} {'p':>2} {'seconds':>8} {'objective':>14} {'gap':>9} {'served':>7} {'status':<10} solver")
    rows = []
    for p in args.p:
        for model in ("maximal_covering", "p_median"):
            if model == "maximal_covering":
                r = siting.maximal_covering(
                    od,
                    demand_weights=weights,
                    p=p,
                    max_minutes=args.coverage_min,
                    candidates=ids,
                    time_limit_s=args.time_limit_s,
                )
            else:
                r = siting.p_median(
                    od,
                    demand_weights=weights,
                    p=p,
                    penalty_minutes=args.cutoff_min,
                    candidates=ids,
                    time_limit_s=args.time_limit_s,
                )
            rows.append(
                {
                    "model": model,
                    "p": p,
                    "seconds": round(r.seconds, 3),
                    "objective": r.objective,
                    "mip_gap": r.mip_gap,
                    "served_share": r.served_share,
                    "status": r.status,
                    "solver": r.solver,
                }
            )
            print(
                f"{model:<17} {p:>2} {r.seconds:>8.2f} {r.objective:>14.1f} {r.mip_gap:>9.2e} "
                f"{r.served_share:>7.1%} {r.status:<10} {r.solver}"
            )
    summary = {
        "benchmark": "siting",
        "candidates": len(cand),
        "demand": len(dem),
        "pairs": len(od),
        "cutoff_min": args.cutoff_min,
        "coverage_min": args.coverage_min,
        "time_limit_s": args.time_limit_s,
        "python": platform.python_version(),
        "runs": rows,
    }
    if args.spopt:
        comp = run_spopt(args)
        print(
            f"\nspopt (PuLP + CBC) vs proximity (HiGHS) on {args.spopt_candidates} x {args.spopt_demand}, "
            "complete cost matrix for spopt, table cut at the cut-off for ours:"
        )
        print(f"{'model':<17} {'p':>2} {'spopt obj':>14} {'ours obj':>14} {'spopt s':>8} {'ours s':>8}")
        for c in comp:
            print(
                f"{c['model']:<17} {c['p']:>2} {c['spopt_objective']:>14.3f} {c['objective']:>14.3f} "
                f"{c['spopt_s']:>8.2f} {c['seconds']:>8.2f}"
            )
        summary["spopt"] = comp
        summary["spopt_agrees"] = all(
            abs(c["spopt_objective"] - c["objective"]) <= 1e-6 * max(1.0, abs(c["objective"])) for c in comp
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
