"""Size and opening time of the national overview for all of metropolitan France (issue 11).

The national run writes the real table; this script measures the MAP only, so it draws
the ~34,700 current communes of the 96 metropolitan départements
(:func:`proximity.area.communes_of`) with a **FAKE index** (and fake components, ranks and
peer features: a seeded function of the INSEE code). The numbers it prints are the map's
size and speed, not results; nothing it makes is a result.

    python benchmarks/national_maps.py [--out /tmp/national-maps] [--runs 3] [--departements]

It writes ``overview.html`` (and with ``--departements`` the whole set: 96 département
pages, index, one commune page), opens the overview in headless Chromium (Leaflet and the
other CDN assets routed to ``tests/browser/node_modules``, as the browser tests do) ``--runs``
times served (as the tests do) and ``--runs`` times from ``file://``, and prints: the file
size (MB), the build time, the time from navigation to the page received, to every commune
on the canvas, to the ``load`` event (which also waits for the basemap tiles, answered
locally here) and to the page settled (network idle), the peers time on 34,700 communes,
and as last line a JSON object.

Run it from a checkout's root with ``PROXIMITY_DATA_DIR`` set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def fake_table():
    """France's communes with a FAKE index (tests/national_support.py: NOT a result)."""
    from national_support import fake_france_table

    return fake_france_table()


def open_times(path: Path, runs: int, *, file_url: bool) -> list[dict]:
    """Open the page ``runs`` times: wall time to settled (load, fonts, network idle), the
    ``load`` event, and the moment every commune was on the canvas (``proxNational.timing``),
    all from navigation start. ``file_url``: read from disk as a double-click would;
    otherwise served through Playwright's request routing (the tests' way, which adds the
    transfer of the 5 MB page over the DevTools protocol)."""
    from browser_support import CHROMIUM_ARGS, chromium_path, load_map
    from playwright.sync_api import sync_playwright

    out = []
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=str(chromium_path()), headless=True, args=list(CHROMIUM_ARGS))
    try:
        for _ in range(runs):
            t0 = time.perf_counter()
            m = load_map(browser, path, root=path.parent, viewport_px=(1280, 800), file_url=file_url)
            wall = time.perf_counter() - t0
            n = m.page.evaluate("window.proxNational.layers.length")
            timing = m.page.evaluate(
                "(() => { const t = performance.getEntriesByType('navigation')[0];"
                " return [t.responseEnd, t.loadEventEnd, window.proxNational.timing.done]; })()"
            )
            out.append(
                {
                    "wall_s": round(wall, 2),
                    "page_received_s": round(timing[0] / 1000, 2),
                    "communes_drawn_s": round(timing[2] / 1000, 2),
                    "load_event_s": round(timing[1] / 1000, 2),
                    "communes_drawn": n,
                    "problems": m.problems(),
                }
            )
            m.close()
    finally:
        browser.close()
        pw.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/national-maps")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--departements", action="store_true", help="Build the whole set (96 département pages) too.")
    args = ap.parse_args()
    from proximity import peers
    from proximity.maps import national as N
    from proximity.maps.build import save_map

    t0 = time.perf_counter()
    table = fake_table()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    table = peers.add_peers(table)
    peers_s = time.perf_counter() - t0
    out = Path(args.out)
    t0 = time.perf_counter()
    if args.departements:
        N.build_national_maps(table, out=out, communes=["33063"], progress=print)
    else:
        save_map(N.national_overview(table), out / "overview.html")
    build_s = time.perf_counter() - t0
    size = (out / "overview.html").stat().st_size
    opened = open_times(out / "overview.html", args.runs, file_url=False)
    from_disk = open_times(out / "overview.html", args.runs, file_url=True)
    res = {
        "communes": len(table),
        "overview_mb": round(size / 1e6, 2),
        "table_s": round(load_s, 1),
        "peers_s": round(peers_s, 1),
        "build_s": round(build_s, 1),
        "open_served": opened,
        "open_file": from_disk,
    }
    for key, runs in (("served", opened), ("file", from_disk)):
        for field in ("wall_s", "communes_drawn_s", "load_event_s"):
            res[f"{key}_{field}_median"] = float(np.median([o[field] for o in runs]))
    if args.departements:
        deps = sorted((out / "departements").glob("*.html"))
        sizes = [p.stat().st_size / 1e6 for p in deps]
        res["departement_pages"] = len(deps)
        res["departement_mb_max"] = round(max(sizes), 2)
        res["departement_mb_median"] = round(float(np.median(sizes)), 2)
    print(
        f"communes {res['communes']}, overview {res['overview_mb']} MB, built in {res['build_s']} s; "
        f"peers of all communes {res['peers_s']} s"
    )
    for label, runs in (("served", opened), ("file://", from_disk)):
        for o in runs:
            print(
                f"  open ({label}): settled {o['wall_s']} s, page received {o['page_received_s']} s, "
                f"{o['communes_drawn']} communes drawn at {o['communes_drawn_s']} s, load event {o['load_event_s']} s, "
                f"problems {o['problems']}"
            )
    print(json.dumps(res))


if __name__ == "__main__":
    main()
