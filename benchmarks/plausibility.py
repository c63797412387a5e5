"""Benchmark: are the drive times plausible? The table of issue 10 §5 and big-city pairs.

Each row is a trip with a band of typical off-peak car times (minutes). The Hérault rows
are timed on the default Hérault network (``network.build_network("herault")``: the
national skeleton cut to Hérault + 120 minutes, with Montpellier's OSM streets merged
in); the rows elsewhere in France on the national network (``build_network("france")``,
the skeleton alone). Times are door to door with :func:`proximity.traveltime.route_latlon`
(snapping and off-network legs included, as every travel time of the package).

Calibration (``--fit``): the class speeds of the skeleton are scaled by two factors, one
for motorways and trunk roads, one for primary, secondary and tertiary roads, on a grid
(0.80-1.20 by 0.05); the pair kept minimises the sum of squared log-ratios between the
Hérault rows' times and their bands' mid-points (the fit set); the rows elsewhere in
France are the check set, not used by the fit. Result (2026-12-04): every Hérault row is
in its band at 1.00/1.00; the best fit, fast x0.95 / slow x0.90, lowers the Hérault loss
from 0.091 to 0.047 but moves two check rows out of their bands (Lyon-Saint-Exupéry,
Strasbourg-Colmar), so :data:`proximity.network.DEFAULT_SPEEDS_KMH` was kept. Only
detour / speed matters for times: the detour factors are geometric, not fitted.

Run ``PYTHONPATH=. .venv/bin/python benchmarks/plausibility.py`` (a few minutes: it
builds the Hérault and national networks, cached afterwards) or ``--fit``. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings

import numpy as np

from proximity import network, traveltime
from proximity.errors import UnreachableWarning

COMEDIE = (43.6086, 3.8797)
BEZIERS = (43.3442, 3.2158)

#: (from, origin (lat, lon), to, destination, band low, band high), minutes
HERAULT_ROWS = [
    ("Montpellier Comédie", COMEDIE, "Montpellier airport", (43.5762, 3.9630), 12, 25),
    ("Montpellier Comédie", COMEDIE, "Sète", (43.4050, 3.6980), 25, 45),
    ("Montpellier Comédie", COMEDIE, "Béziers", BEZIERS, 45, 70),
    ("Montpellier Comédie", COMEDIE, "Nîmes centre", (43.8367, 4.3601), 40, 60),
    ("Montpellier Comédie", COMEDIE, "Millau", (44.0983, 3.0780), 65, 100),
    ("Béziers", BEZIERS, "Narbonne", (43.1839, 3.0042), 22, 42),
    ("Sète", (43.4028, 3.6967), "Frontignan", (43.4483, 3.7553), 10, 20),
    ("Saint-Pons-de-Thomières", (43.4892, 2.7656), "Béziers", BEZIERS, 45, 65),
    ("Ganges", (43.9339, 3.7083), "Saint-Martin-de-Londres", (43.7903, 3.7308), 17, 28),
    ("Marseillan", (43.3567, 3.5283), "Mèze", (43.4253, 3.6050), 10, 20),
    ("Montpellier Comédie", COMEDIE, "Palavas", (43.5281, 3.9275), 15, 28),
    ("Montpellier Comédie", COMEDIE, "Perpignan (buffer)", (42.6986, 2.8956), 85, 115),
]

#: Big-city pairs elsewhere (bands: typical off-peak times of route planners, rounded wide)
FRANCE_ROWS = [
    ("Bordeaux centre", (44.8412, -0.5800), "Bordeaux-Mérignac airport", (44.8283, -0.7156), 15, 30),
    ("Lyon centre", (45.7578, 4.8320), "Lyon-Saint-Exupéry airport", (45.7256, 5.0811), 22, 40),
    ("Toulouse Capitole", (43.6045, 1.4440), "Toulouse-Blagnac airport", (43.6291, 1.3638), 12, 28),
    ("Marseille Vieux-Port", (43.2951, 5.3744), "Marseille-Provence airport", (43.4356, 5.2139), 20, 40),
    ("Nice centre", (43.7031, 7.2661), "Nice airport", (43.6584, 7.2159), 10, 25),
    ("Paris Châtelet", (48.8584, 2.3470), "Paris-CDG airport", (49.0097, 2.5479), 28, 55),
    ("Annecy", (45.8992, 6.1294), "Geneva airport (CH)", (46.2381, 6.1090), 35, 55),
    ("Nantes centre", (47.2184, -1.5536), "Saint-Nazaire", (47.2735, -2.2138), 38, 60),
    ("Lille Grand-Place", (50.6369, 3.0635), "Arras", (50.2910, 2.7775), 35, 55),
    ("Rennes", (48.1113, -1.6800), "Saint-Malo", (48.6493, -2.0257), 45, 70),
    ("Strasbourg", (48.5734, 7.7521), "Colmar", (48.0794, 7.3585), 42, 65),
    ("Ajaccio", (41.9192, 8.7386), "Bastia", (42.6973, 9.4509), 130, 170),
]

FAST = ("motorway", "trunk")
SLOW = ("primary", "secondary", "tertiary")


def _minutes(csr, rows) -> list[float]:
    out = []
    for _, a, _, b, _, _ in rows:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnreachableWarning)
            out.append(float(traveltime.route_latlon(csr, a, b).minutes))
    return out


def _scaled_csr(G, fast: float, slow: float):
    """The CSR graph with skeleton class speeds scaled (times divided by the factors)."""
    H = G.copy()
    for _, _, d in H.edges(data=True):
        if d.get("source") != "travelmapping":
            continue
        hw = d.get("highway")
        if hw in FAST:
            d["travel_time"] = d["travel_time"] / fast
        elif hw in SLOW:
            d["travel_time"] = d["travel_time"] / slow
    return network.graph_to_csr(H)


def _loss(times: list[float], rows) -> float:
    return sum(
        (math.log(t / ((lo + hi) / 2))) ** 2 if math.isfinite(t) else 100.0
        for t, (*_, lo, hi) in zip(times, rows, strict=True)
    )


def _table(title: str, rows, times: list[float]) -> int:
    print(f"\n{title}\n")
    print("| from | to | band (min) | ours (min) | in band |")
    print("| --- | --- | --- | --- | --- |")
    ok = 0
    for (fa, _, ta, _, lo, hi), t in zip(rows, times, strict=True):
        inside = lo <= t <= hi
        ok += inside
        shown = f"{t:.1f}" if math.isfinite(t) else "unreachable"
        print(f"| {fa} | {ta} | {lo}–{hi} | {shown} | {'yes' if inside else '**no**'} |")
    print(f"\n{ok} of {len(rows)} in band")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="grid-fit the two speed factors on the Hérault rows")
    ap.add_argument("--no-france", action="store_true", help="skip the national rows")
    args = ap.parse_args()

    t0 = time.perf_counter()
    G = network.build_network("herault")
    herault_s = time.perf_counter() - t0
    csr = network.graph_to_csr(G)
    result: dict = {"herault_network_nodes": G.number_of_nodes(), "herault_build_s": round(herault_s, 1)}
    if args.fit:
        grid = np.round(np.arange(0.80, 1.2001, 0.05), 2)
        best = None
        for f in grid:
            for s in grid:
                loss = _loss(_minutes(_scaled_csr(G, f, s), HERAULT_ROWS), HERAULT_ROWS)
                if best is None or loss < best[0]:
                    best = (loss, float(f), float(s))
        print(f"fit: fast x{best[1]:.2f}, slow x{best[2]:.2f} (loss {best[0]:.4f}; 1.00/1.00 is the default)")
        result["fit"] = {"fast": best[1], "slow": best[2], "loss": round(best[0], 4)}
    h_times = _minutes(csr, HERAULT_ROWS)
    result["herault_loss"] = round(_loss(h_times, HERAULT_ROWS), 4)
    result["herault_in_band"] = _table("Hérault (fit set): default Hérault network", HERAULT_ROWS, h_times)
    result["herault_minutes"] = [round(t, 1) for t in h_times]
    if not args.no_france:
        t0 = time.perf_counter()
        F = network.build_network("france")
        result["france_build_s"] = round(time.perf_counter() - t0, 1)
        fcsr = network.graph_to_csr(F)
        f_times = _minutes(fcsr, FRANCE_ROWS)
        result["france_in_band"] = _table("Elsewhere in France (check set): national network", FRANCE_ROWS, f_times)
        result["france_minutes"] = [round(t, 1) if math.isfinite(t) else None for t in f_times]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
