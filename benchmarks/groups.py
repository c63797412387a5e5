"""Benchmark: export groups for thousands of SMEs with proximity.groups.form_groups.

Synthetic instance (seeded):

- ``--n`` SMEs (default 5,000) at random points in a 100 x 60 km rectangle, uniformly
  (``--layout uniform``, the default) or 70 % of them around a dozen towns of unequal
  size (``--layout towns``);
- travel minutes ``straight km * detour / speed * 60 + out(i) + in(j)``: a road speed of
  60 km/h, a detour factor of 1.3 and access legs out of and into each firm drawn in
  0.1–1 minute (asymmetric, as a road network's would be), both directions, pairs
  beyond the cut-off omitted as :func:`proximity.traveltime.od_matrix` does;
- NAF classes drawn with the section shares of :data:`proximity.layers.smes.SECTION_SHARES`
  and, within a section, a Zipf law (exponent 1.1) over 5 to 60 classes: a few large
  classes (restaurants, building trades...) and a long tail, so that competition
  matters.

What is timed: one call of ``form_groups(smes, od, max_minutes=30, method="heuristic")``
(building the compatibility graph from the long table, construction, repair, local
search within ``--time-limit`` seconds, and the lower bound), wall clock. The groups are
then checked (sizes, pair times, competition, every SME at most once) outside the timed
call. Calibration: on the SMEs of a small window (with an 8-minute limit, so that the
exact method can enumerate every feasible group) the heuristic is compared with the
exact optimum, which tells how much of the reported gap is the bound's.

Run ``.venv/bin/python benchmarks/groups.py`` (about two minutes) or ``--quick``
(1,000 SMEs). The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from proximity import groups
from proximity.errors import InputError
from proximity.layers.smes import NAF_SECTIONS, SECTION_SHARES

WIDTH_KM, HEIGHT_KM = 100.0, 60.0
SPEED_KMH, DETOUR = 60.0, 1.3


def naf_classes(n: int, rng: np.random.Generator) -> np.ndarray:
    """NAF class codes (``"DD.CCZ"``) with a realistic-ish skew."""
    sections = list(SECTION_SHARES)
    p = np.array([SECTION_SHARES[s] for s in sections])
    sec = rng.choice(len(sections), size=n, p=p / p.sum())
    out = np.empty(n, dtype=object)
    for k, s in enumerate(sections):
        idx = np.flatnonzero(sec == k)
        first, last, _ = NAF_SECTIONS[s]
        n_classes = int(np.clip(round(SECTION_SHARES[s] * 300), 5, 60))
        divisions = rng.integers(first, last + 1, size=n_classes)
        codes = [f"{d:02d}.{10 + c:02d}Z" for c, d in enumerate(divisions)]
        w = 1.0 / np.arange(1, n_classes + 1) ** 1.1
        out[idx] = np.array(codes, dtype=object)[rng.choice(n_classes, size=len(idx), p=w / w.sum())]
    return out


def points(n: int, layout: str, rng: np.random.Generator) -> np.ndarray:
    if layout == "uniform":
        return rng.uniform([0, 0], [WIDTH_KM, HEIGHT_KM], size=(n, 2))
    towns = rng.uniform([5, 5], [WIDTH_KM - 5, HEIGHT_KM - 5], size=(12, 2))
    weight = 1.0 / np.arange(1, 13)
    town = rng.choice(12, size=n, p=weight / weight.sum())
    clustered = towns[town] + rng.normal(0, 1.0, size=(n, 2)) * (1.0 + 3.0 * weight[town])[:, None]
    uniform = rng.uniform([0, 0], [WIDTH_KM, HEIGHT_KM], size=(n, 2))
    xy = np.where((rng.random(n) < 0.7)[:, None], clustered, uniform)
    return np.clip(xy, [0, 0], [WIDTH_KM, HEIGHT_KM])


def instance(n: int, layout: str, max_minutes: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    xy = points(n, layout, rng)
    ids = np.array([f"{34_000_000_000_000 + i:014d}" for i in range(n)], dtype=object)
    smes = pd.DataFrame({"naf": naf_classes(n, rng), "x_km": xy[:, 0], "y_km": xy[:, 1]}, index=ids)
    smes["naf_section"] = (
        pd.Series(smes["naf"].str[:2].astype(int))
        .map({d: s for s, (a, b, _) in NAF_SECTIONS.items() for d in range(a, b + 1)})
        .to_numpy()
    )
    out_leg, in_leg = rng.uniform(0.1, 1.0, n), rng.uniform(0.1, 1.0, n)
    chunks = []
    for start in range(0, n, 500):
        rows = np.arange(start, min(start + 500, n))
        km = np.hypot(xy[rows, None, 0] - xy[None, :, 0], xy[rows, None, 1] - xy[None, :, 1])
        minutes = km * DETOUR / SPEED_KMH * 60.0 + out_leg[rows, None] + in_leg[None, :]
        i, j = np.nonzero(minutes <= max_minutes)
        keep = rows[i] != j
        chunks.append((rows[i][keep], j[keep], minutes[i[keep], j[keep]]))
    o = np.concatenate([c[0] for c in chunks])
    d = np.concatenate([c[1] for c in chunks])
    m = np.concatenate([c[2] for c in chunks])
    od = pd.DataFrame({"origin_id": ids[o], "destination_id": ids[d], "minutes": m})
    return smes, od


def check(
    res: groups.GroupsResult, smes: pd.DataFrame, od: pd.DataFrame, *, min_size: int, max_size: int, max_minutes: float
) -> dict[str, bool]:
    """Feasibility of the groups, recomputed from the inputs."""
    t = od.set_index(["origin_id", "destination_id"])["minutes"]
    tours = [res.members_of(i) for i in res.groups.index]
    members = [m for ms in tours for m in ms]
    sizes_ok = bool(res.groups["n"].between(min_size, max_size).all())
    once_ok = len(members) == len(set(members)) == res.n_placed
    time_ok, compete_ok = True, True
    for ms in tours:
        for a in range(len(ms)):
            for b in range(a + 1, len(ms)):
                pair = max(t.get((ms[a], ms[b]), np.inf), t.get((ms[b], ms[a]), np.inf))
                time_ok &= bool(pair <= max_minutes + 1e-9)
        naf = smes.loc[ms, "naf"].to_numpy()
        compete_ok &= not bool(groups.competes(naf[:, None], naf[None, :])[np.triu_indices(len(ms), 1)].any())
    cover_ok = set(res.members.index) | set(res.unplaced.index) == set(smes.index)
    return {
        "sizes": sizes_ok,
        "each_sme_once": once_ok,
        "pair_minutes": time_ok,
        "no_competitors": compete_ok,
        "members_and_unplaced_cover_all": cover_ok,
    }


def calibrate(
    smes: pd.DataFrame, od: pd.DataFrame, *, window_km: float, max_minutes: float, time_limit_s: float
) -> dict[str, float] | None:
    """Heuristic vs exact optimum on the SMEs of a small window (the exact method's size)."""
    x0, y0 = WIDTH_KM / 2 - 40, HEIGHT_KM / 2 - 20
    win = smes[smes["x_km"].between(x0, x0 + window_km) & smes["y_km"].between(y0, y0 + window_km)]
    sub = od[od["origin_id"].isin(win.index) & od["destination_id"].isin(win.index)]
    t0 = time.perf_counter()
    try:
        exact = groups.form_groups(
            win, sub, max_minutes=max_minutes, method="exact", max_candidates=300_000, time_limit_s=120
        )
    except InputError:
        return None
    t_exact = time.perf_counter() - t0
    heur = groups.form_groups(win, sub, max_minutes=max_minutes, method="heuristic", time_limit_s=time_limit_s)
    return {
        "smes": len(win),
        "max_minutes": max_minutes,
        "exact_status": exact.status,
        "exact_seconds": round(t_exact, 1),
        "placed_exact": exact.n_placed,
        "placed_heuristic": heur.n_placed,
        "optimum": round(exact.objective, 2),
        "heuristic": round(heur.objective, 2),
        "heuristic_bound": round(heur.bound, 2),
        "heuristic_excess": round(heur.objective / exact.objective - 1, 4),
        "bound_below_optimum": round(1 - heur.bound / exact.objective, 4),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--layout", choices=["uniform", "towns"], default="uniform")
    ap.add_argument("--max-minutes", type=float, default=30.0)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="1,000 SMEs, 20 s of local search")
    args = ap.parse_args()
    if args.quick:
        args.n, args.time_limit = 1000, 20.0

    t0 = time.perf_counter()
    smes, od = instance(args.n, args.layout, args.max_minutes, args.seed)
    t_instance = time.perf_counter() - t0
    top_class = smes["naf"].str[:5].value_counts(normalize=True)
    print(
        f"instance: {args.n} SMEs ({args.layout}), {len(od):,} directed pairs within {args.max_minutes:g} min, "
        f"{smes['naf'].nunique()} NAF classes (largest {top_class.iloc[0]:.1%}), built in {t_instance:.1f} s"
    )

    t0 = time.perf_counter()
    res = groups.form_groups(
        smes, od, max_minutes=args.max_minutes, method="heuristic", time_limit_s=args.time_limit, seed=args.seed
    )
    seconds = time.perf_counter() - t0
    checks = check(res, smes, od, min_size=3, max_size=5, max_minutes=args.max_minutes)

    cal = calibrate(
        smes, od, window_km=8.0 if not args.quick else 12.0, max_minutes=8.0, time_limit_s=min(args.time_limit, 20.0)
    )
    sizes = res.groups["n"].value_counts().sort_index()
    print(f"form_groups: {seconds:.1f} s (local search limit {args.time_limit:g} s), status {res.status}")
    print(f"groups: {len(res.groups)} (sizes {', '.join(f'{k}: {v}' for k, v in sizes.items())})")
    print(f"SMEs placed: {res.n_placed} of {args.n} (upper bound on placeable {res.max_placeable})")
    print(
        f"objective: {res.objective:.1f} min (tours {res.tour_minutes:.1f} + size penalties "
        f"{res.objective - res.tour_minutes:.1f}); lower bound {res.bound:.1f}; gap {res.gap:.1%}"
    )
    print(
        f"tour per group: median {res.groups['tour_minutes'].median():.1f} min, max "
        f"{res.groups['tour_minutes'].max():.1f}; largest pair time in a group: median "
        f"{res.groups['max_pair_minutes'].median():.1f}, max {res.groups['max_pair_minutes'].max():.1f} min"
    )
    if len(res.unplaced):
        print("unplaced:", res.unplaced["reason_code"].value_counts().to_dict())
    print("checks:", checks)
    if cal is not None:
        print(
            f"calibration on {cal['smes']} SMEs of a {8 if not args.quick else 12} km window, max "
            f"{cal['max_minutes']:g} min: exact optimum {cal['optimum']} ({cal['exact_status']}, "
            f"{cal['exact_seconds']} s), heuristic {cal['heuristic']} (+{cal['heuristic_excess']:.1%}), its bound "
            f"{cal['heuristic_bound']} ({cal['bound_below_optimum']:.1%} below the optimum)"
        )
    summary = {
        "benchmark": "groups",
        "n_smes": args.n,
        "layout": args.layout,
        "od_rows": len(od),
        "max_minutes": args.max_minutes,
        "time_limit_s": args.time_limit,
        "seconds": round(seconds, 2),
        "groups": len(res.groups),
        "sizes": {int(k): int(v) for k, v in sizes.items()},
        "placed": res.n_placed,
        "max_placeable": res.max_placeable,
        "objective_minutes": round(res.objective, 2),
        "tour_minutes": round(res.tour_minutes, 2),
        "bound_minutes": round(res.bound, 2),
        "gap": round(res.gap, 4),
        "status": res.status,
        "checks_ok": all(checks.values()),
        "calibration": cal,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
