"""Run the main job's load and scoring on every metropolitan département (not in CI).

For each of the 96 départements: resolve the territory, load it (layers, network cut from
the national skeleton, synthetic SMEs) and score it, with small settings by default; record
the time of each stage, the counts, the indicators dropped for missing inputs, and any
failure (the exception's one-line message). Prints a table and a summary, and writes them
as CSV and JSON.

Usage (from the repository root)::

    python benchmarks/all_departements.py --out bench-deps            # all 96
    python benchmarks/all_departements.py --only 2A,05,92 --n-smes 300

Environment: ``PROXIMITY_DATA_DIR`` (installed national files), ``PROXIMITY_CACHE_DIR``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def run_one(dep: str, *, n_smes: int | None, max_per_commune: int) -> dict:
    from proximity import scores
    from proximity.territory import load_territory

    row: dict = {"departement": dep}
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ter = load_territory(dep, n_smes=n_smes)
            t1 = time.perf_counter()
            res = scores.score_territory(ter, max_per_commune=max_per_commune)
            t2 = time.perf_counter()
        m = res.municipalities
        num = m.select_dtypes("number")
        gw = ter.gateways
        on = gw[gw["on_network"]]
        row.update(
            label=ter.params["territory"]["label"],
            communes=len(ter.municipalities),
            population=int(ter.municipalities["population"].sum()),
            smes=len(ter.smes),
            nodes=ter.graph.number_of_nodes(),
            edges=ter.graph.number_of_edges(),
            gateways=len(gw),
            gateways_on_network=len(on),
            airports_on_network=int(on["kind"].eq("airport").sum()),
            tgv_on_network=int((on["kind"].eq("rail_station") & on["tgv"].fillna(False).astype(bool)).sum()),
            support_bodies=len(ter.support_bodies),
            load_s=round(t1 - t0, 1),
            score_s=round(t2 - t1, 1),
            nan_columns=";".join(num.columns[num.isna().any()]),
            communes_without_airport=int((~np.isfinite(m["minutes_airport"])).sum()),
            max_minutes_airport=round(float(m.loc[np.isfinite(m["minutes_airport"]), "minutes_airport"].max()), 1),
            dropped=";".join(sorted(res.summary["dropped_indicators"])),
            warnings=len(caught),
            error="",
        )
    except Exception as exc:  # a benchmark records every failure and goes on
        row.update(
            load_s=round(time.perf_counter() - t0, 1), error=f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        )
        traceback.print_exc(file=sys.stderr)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-departements", help="Output folder (CSV + JSON).")
    ap.add_argument("--only", default="", help="Comma list of département codes (default: all 96).")
    ap.add_argument("--n-smes", type=int, default=300, help="Synthetic SMEs per département (0 = the default rate).")
    ap.add_argument("--max-per-commune", type=int, default=5, help="Population origins per commune.")
    args = ap.parse_args(argv)

    from proximity import area

    deps = [d.strip().upper() for d in args.only.split(",") if d.strip()] or sorted(area.metro_departements())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    t_all = time.perf_counter()
    for dep in deps:
        row = run_one(dep, n_smes=args.n_smes or None, max_per_commune=args.max_per_commune)
        rows.append(row)
        status = (
            row["error"]
            or f"ok  load {row['load_s']:>5.1f} s  score {row['score_s']:>5.1f} s  {row['communes']} communes"
        )
        print(f"{dep:>3}  {status}", flush=True)
        pd.DataFrame(rows).to_csv(out / "departements.csv", index=False)
    df = pd.DataFrame(rows)
    ok = df[df["error"] == ""]
    summary = {
        "departements": len(df),
        "ok": len(ok),
        "failed": df.loc[df["error"] != "", ["departement", "error"]].to_dict("records"),
        "total_s": round(time.perf_counter() - t_all, 1),
        "load_s": {"median": float(ok["load_s"].median()), "max": float(ok["load_s"].max())} if len(ok) else {},
        "score_s": {"median": float(ok["score_s"].median()), "max": float(ok["score_s"].max())} if len(ok) else {},
        "communes": int(ok["communes"].sum()) if len(ok) else 0,
        "with_nan": ok.loc[ok["nan_columns"] != "", "departement"].tolist() if len(ok) else [],
        "communes_without_airport": int(ok["communes_without_airport"].sum()) if len(ok) else 0,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "settings": {"n_smes": args.n_smes, "max_per_commune": args.max_per_commune},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0 if not summary["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
