"""Benchmark: the main job (``proximity run --out OUT --maps MAPS``) stage by stage.

What is timed: one call of :func:`proximity.pipeline.run` with the maps, wall clock, in this
process. The network is loaded from the cache (build it first with ``proximity network
build``; the script says when it is not cached, as the build then dominates). Each stage's
time is the wall-clock time between the progress messages the job emits (``data install``, the layers,
``travel-time tables``, ``rasters``, ``export groups``, the scores, ``maps: ...``); the
maps are also split into their own stages. Peak memory is the process's maximum resident
set size (``resource.getrusage``), which includes the interpreter and the libraries. The
CPU time of the process is printed too: on a shared machine it varies less than wall clock.

Also reported: the size of the map set (total, largest pages, shared assets) and the number
of files.

Run ``.venv/bin/python benchmarks/main_job.py`` (about a minute on two cores) with
``PROXIMITY_DATA_DIR`` / ``PROXIMITY_MIRROR`` set as for the CLI. Options: ``--out``,
``--maps`` (default: a temporary folder, removed), ``--territory``, ``--no-maps``,
``--profile-to FILE`` (cProfile statistics of the whole run, for ``pstats``; slows it down).
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

from proximity import pipeline


def _stage(message: str) -> str:
    """The stage a progress message opens (numbers dropped, so repeated messages merge)."""
    if message.startswith("maps"):
        if "isochrones" in message or "routes" in message or "travel" in message:
            return "maps: travel (isochrones, routes)"
        if "pages" in message:
            return "maps: commune pages"
        if "files in" in message:
            return "maps: export groups map and rest"
        return (
            "maps: " + re.sub(r"\d[\d/,]*", "N", message.split(":", 1)[-1].strip()) if ":" in message else "maps: setup"
        )
    if message in ("municipalities", "gateways", "support bodies", "road network", "SMEs"):
        return "load: " + message
    if message.startswith(("population origins", "indicators", "2SFCA", "municipal aggregation")):
        return "scores: " + re.sub(r"\d[\d,]*", "N", message)
    return re.sub(r"\d[\d,]*", "N", message)


def _size(folder: Path) -> dict:
    files = [p for p in folder.rglob("*") if p.is_file()]
    sizes = {str(p.relative_to(folder)): p.stat().st_size for p in files}
    communes = {k: v for k, v in sizes.items() if k.startswith("communes/")}
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    return {
        "files": len(files),
        "total_mb": round(sum(sizes.values()) / 1e6, 2),
        "communes_mb": round(sum(communes.values()) / 1e6, 2),
        "commune_page_kb_median": round(sorted(communes.values())[len(communes) // 2] / 1e3, 1) if communes else None,
        "commune_page_kb_max": round(max(communes.values()) / 1e3, 1) if communes else None,
        "largest": {k: round(v / 1e6, 3) for k, v in top},
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--territory", default="herault")
    ap.add_argument("--out", default=None, help="Output folder (default: a temporary folder).")
    ap.add_argument("--maps", default=None, help="Maps folder (default: a temporary folder).")
    ap.add_argument("--no-maps", action="store_true", help="Run without the maps.")
    ap.add_argument("--profile-to", default=None, help="Write cProfile statistics here (slows the run).")
    args = ap.parse_args(argv)

    from proximity import network
    from proximity.territory import load_territory  # noqa: F401  (import time not counted)

    tmp = tempfile.TemporaryDirectory(prefix="proximity-bench-")
    out = Path(args.out or Path(tmp.name) / "out")
    maps_dir = None if args.no_maps else Path(args.maps or Path(tmp.name) / "maps")
    if not any(network.default_cache_dir().glob(f"network-{args.territory}*")):
        print("note: no cached network found; its build is timed as part of the load", file=sys.stderr)

    marks: list[tuple[float, float, str]] = []
    cpu0 = time.process_time()
    start = time.perf_counter()

    def progress(message: str) -> None:
        now = time.perf_counter()
        marks.append((now, time.process_time(), message))
        print(f"{now - start:7.1f} s  {message}", flush=True)

    if args.profile_to:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    pipeline.run(args.territory, out=out, maps_dir=maps_dir, progress=progress)
    end = time.perf_counter()
    cpu_s = time.process_time() - cpu0
    if args.profile_to:
        prof.disable()
        prof.dump_stats(args.profile_to)

    stages: dict[str, float] = {}
    stages_cpu: dict[str, float] = {}
    bounds = [(start, cpu0, "set-up"), *marks, (end, cpu0 + cpu_s, "end")]
    for (t0, c0, msg), (t1, c1, _) in itertools.pairwise(bounds):
        key = _stage(msg)
        stages[key] = stages.get(key, 0.0) + (t1 - t0)
        stages_cpu[key] = stages_cpu.get(key, 0.0) + (c1 - c0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    total = end - start
    maps_total = sum(v for k, v in stages.items() if k.startswith("maps"))

    print()
    maps_cpu = sum(v for k, v in stages_cpu.items() if k.startswith("maps"))
    print(f"{'stage':45s} {'wall s':>8s} {'CPU s':>8s}")
    for key, sec in stages.items():
        print(f"{key[:45]:45s} {sec:8.1f} {stages_cpu[key]:8.1f}")
    print(f"{'total':45s} {total:8.1f} {cpu_s:8.1f}   (maps: {maps_total:.1f} s wall, {maps_cpu:.1f} s CPU)")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")
    sizes = _size(maps_dir) if maps_dir is not None and maps_dir.exists() else None
    if sizes:
        print(
            f"map set: {sizes['files']} files, {sizes['total_mb']} MB (commune pages {sizes['communes_mb']} MB, "
            f"median page {sizes['commune_page_kb_median']} kB, largest {sizes['commune_page_kb_max']} kB)"
        )
        for k, v in sizes["largest"].items():
            print(f"  {k:40s} {v:8.3f} MB")
    result = {
        "territory": args.territory,
        "total_s": round(total, 2),
        "maps_s": round(maps_total, 2),
        "cpu_s": round(cpu_s, 2),
        "maps_cpu_s": round(maps_cpu, 2),
        "stages_s": {k: round(v, 2) for k, v in stages.items()},
        "stages_cpu_s": {k: round(v, 2) for k, v in stages_cpu.items()},
        "peak_rss_mb": round(peak_mb, 1),
        "maps": sizes,
    }
    tmp.cleanup()
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
