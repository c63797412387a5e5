"""Peak memory of ``proximity score --support`` with many user support bodies (issue 12).

Writes a CSV of N random support bodies inside the territory (seeded), runs
``python -m proximity.cli score`` on it in a fresh process for each N, and prints the
peak resident memory (``/usr/bin/time -v``, or ``getrusage`` of the child), the wall
and CPU time and the exit status. Scoring reduces the origin x opportunity travel times from the
engine's blocks (``_engine.BLOCK_CELLS`` cells at most) as they come, so memory stays bounded;
beyond ``layers.support.MAX_USER_BODIES`` bodies the input is refused up front with
the limit and the reason.

    python benchmarks/memory.py [--sizes 1000 10000 100000] [--n-smes 6000]

Run from the checkout's root with ``PROXIMITY_DATA_DIR`` set.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def support_csv(path: Path, n: int, *, seed: int = 0) -> None:
    from proximity import layers
    from proximity.layers.support import CATEGORIES

    munis = layers.municipalities("herault")
    pts = munis.to_crs(2154).sample_points(1, rng=seed).explode(index_parts=False).to_crs(4326)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(pts), n)
    # jitter inside ~300 m around points of random communes (all on land, inside the territory)
    lon = pts.x.to_numpy()[pick] + rng.normal(0, 0.003, n)
    lat = pts.y.to_numpy()[pick] + rng.normal(0, 0.002, n)
    cats = rng.choice(sorted(CATEGORIES), n)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id,name,category,lat,lon,capacity\n")
        for i in range(n):
            fh.write(f"{i},Body {i},{cats[i]},{lat[i]:.6f},{lon[i]:.6f},1\n")


def measure(n: int, *, n_smes: int, folder: Path) -> dict:
    csv = folder / f"support_{n}.csv"
    support_csv(csv, n)
    out = folder / f"out_{n}"
    cmd = [
        sys.executable,
        "-m",
        "proximity.cli",
        "score",
        "--out",
        str(out),
        "--support",
        str(csv),
        "--n-smes",
        str(n_smes),
    ]
    t0 = time.time()
    if Path("/usr/bin/time").exists():
        r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
        peak_kb = next(
            (int(line.split(":")[1]) for line in r.stderr.splitlines() if "Maximum resident set size" in line), -1
        )
        cpu_s = sum(
            float(line.split(":")[1])
            for line in r.stderr.splitlines()
            if line.strip().startswith(("User time", "System time"))
        )
    else:  # pragma: no cover
        import resource

        r = subprocess.run(cmd, capture_output=True, text=True)
        use = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kb, cpu_s = use.ru_maxrss, use.ru_utime + use.ru_stime
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("proximity: error")]
    return {
        "n": n,
        "exit": r.returncode,
        "peak_gb": peak_kb / 2**20,
        "seconds": time.time() - t0,
        "cpu_s": cpu_s,
        "message": errors[0][:200] if errors else "",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--n-smes", type=int, default=6000)
    a = ap.parse_args()
    os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[1]))
    with tempfile.TemporaryDirectory() as d:
        for n in a.sizes:
            m = measure(n, n_smes=a.n_smes, folder=Path(d))
            print(
                f"{m['n']:>7} support bodies: exit {m['exit']}, peak {m['peak_gb']:.2f} GB, "
                f"{m['seconds']:.0f} s wall, {m['cpu_s']:.0f} s CPU" + (f"  {m['message']}" if m["message"] else ""),
                flush=True,
            )


if __name__ == "__main__":
    main()
