"""The national run (proximity.national) with 1 and 2 workers: wall time, task times, memory (not in CI).

Loads the territory once (all of France by default), then runs
:func:`proximity.national.run_national` on a local cluster of 1 worker and of 2 workers
(fresh output folders, no resume) and prints a table, then, as the last line, JSON:
wall time per worker count, per-département task time (median, max), peak memory of each
worker (VmHWM read in each task and reset at its start: Linux's ru_maxrss of a worker
carries over its parent's peak) and of this client process,
and the speed-up from 1 to 2 workers.

Usage (from the repository root; a long run: about 22 min for France, 1 then 2 workers, on this 2-core machine)::

    python benchmarks/national.py                          # all of France, 1 then 2 workers
    python benchmarks/national.py --territory region:76 --workers 2
    python benchmarks/national.py --territory 48,15,43 --origins-per-commune 8

Targets (issue 11): 2 workers under 20 min, speed-up >= 1.7, < 2 GB per worker, client < 3 GB.

Environment: ``PROXIMITY_DATA_DIR`` (installed national files), ``PROXIMITY_CACHE_DIR``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path


def run_with(territory, n_workers: int, out: Path, *, per_commune: int) -> dict:
    from distributed import Client, LocalCluster

    from proximity import national

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    with cluster, Client(cluster) as client:
        t0 = time.perf_counter()
        res = national.run_national(
            territory,
            out,
            scheduler=cluster.scheduler_address,
            max_per_commune=per_commune,
            progress=lambda m: print(f"  [{n_workers}w {time.perf_counter() - t0:7.1f}s] {m}", flush=True),
        )
        wall = time.perf_counter() - t0
        tail = client.run(national._peak_rss_mb)  # each worker's peak since its last task began
    # a worker's peak over the run: the largest of its tasks' peaks and of what it held between
    # tasks (scatter, results); its tail after the last task is reported apart
    peaks: dict[str, float] = {}
    for m in res.task_memory.values():
        vals = [v for v in (m.get("peak_mb"), m.get("before_mb")) if v is not None]
        if vals:
            peaks[m["worker"]] = max(peaks.get(m["worker"], 0.0), *vals)
    tail_max = max((v for v in tail.values() if v is not None), default=0.0)
    top = sorted(res.task_memory.items(), key=lambda kv: -(kv[1].get("peak_mb") or 0))[:5]
    secs = sorted(v for v in res.task_seconds.values() if v is not None)
    return {
        "workers": n_workers,
        "wall_s": round(wall, 1),
        "steps_s": {k: round(v, 1) for k, v in res.seconds.items()},
        "task_s": {
            "n": len(secs),
            "median": round(secs[len(secs) // 2], 1),
            "max": round(secs[-1], 1),
            "sum": round(sum(secs), 1),
        }
        if secs
        else {},
        "worker_peak_mb": {k: round(v) for k, v in sorted(peaks.items())},
        "worker_tail_mb": round(tail_max),
        "largest_task_peaks_mb": {d: round(m["peak_mb"]) for d, m in top if m.get("peak_mb") is not None},
        "communes": res.n_municipalities,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--territory", default="france", help="Territory spec (default: france).")
    ap.add_argument("--workers", default="1,2", help="Worker counts to run, comma list (default 1,2).")
    ap.add_argument("--origins-per-commune", type=int, default=30, help="Population origins per commune (default 30).")
    ap.add_argument("--out", default=None, help="Keep the outputs under this folder (default: a temporary one).")
    args = ap.parse_args(argv)

    from proximity.territory import load_territory

    t0 = time.perf_counter()
    territory = load_territory(args.territory)
    load_s = time.perf_counter() - t0
    print(
        f"loaded {args.territory}: {len(territory.municipalities)} communes, {len(territory.smes)} SMEs, "
        f"{territory.csr.n_nodes} nodes in {load_s:.0f} s",
        flush=True,
    )
    base = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="proximity-national-"))
    runs = []
    try:
        for n in [int(x) for x in args.workers.split(",") if x.strip()]:
            r = run_with(territory, n, base / f"workers-{n}", per_commune=args.origins_per_commune)
            runs.append(r)
            print(
                f"{n} worker(s): {r['wall_s']:.0f} s, tasks median {r['task_s'].get('median')} s, max {r['task_s'].get('max')} s, "
                f"worker peak {r['worker_peak_mb']} MB, largest task peaks {r['largest_task_peaks_mb']} MB",
                flush=True,
            )
    finally:
        if not args.out:
            shutil.rmtree(base, ignore_errors=True)
    by = {r["workers"]: r for r in runs}
    summary = {
        "territory": args.territory,
        "origins_per_commune": args.origins_per_commune,
        "load_s": round(load_s, 1),
        "wall_s": {str(k): v["wall_s"] for k, v in by.items()},
        "task_s": {str(k): v["task_s"] for k, v in by.items()},
        "steps_s": {str(k): v["steps_s"] for k, v in by.items()},
        "worker_peak_mb": {str(k): v["worker_peak_mb"] for k, v in by.items()},
        "client_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "speedup_1_to_2": round(by[1]["wall_s"] / by[2]["wall_s"], 2) if 1 in by and 2 in by else None,
        "communes": runs[0]["communes"] if runs else 0,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
