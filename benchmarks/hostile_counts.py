"""Count the outcomes of the hostile-input cases of tests/test_hostile.py (issue 12).

Runs every case in this process (the territory is loaded once), each under an alarm
(``--timeout-s``: a case still running then was accepted and is doing heavy work, i.e. a
silent result) and an address-space limit (``--max-gb``: a case that exceeds it would
have been killed for memory), and prints the count per class: clear, traceback, silent,
partial, message (exit status or message not as expected), kill (memory), slow.

    python benchmarks/hostile_counts.py [--json counts.json]

Run it from a checkout's root with ``PROXIMITY_DATA_DIR`` set; it measures the code of
that checkout (used for the before/after figures of issue 12).
"""

from __future__ import annotations

import argparse
import collections
import json
import resource
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class _Slow(BaseException):
    pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timeout-s", type=float, default=90.0)
    ap.add_argument("--max-gb", type=float, default=6.0)
    ap.add_argument("--json", default=None)
    ap.add_argument("-k", default=None, help="only the cases whose id contains this")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    import test_hostile as th

    lim = int(a.max_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

    def alarm(*_):
        raise _Slow()

    signal.signal(signal.SIGALRM, alarm)
    results = {}
    memo = th.memoised_territory()
    memo.__enter__()
    for case in th.CASES:
        if a.k and a.k not in case.id:
            continue
        t0 = time.time()
        with tempfile.TemporaryDirectory() as d:
            signal.setitimer(signal.ITIMER_REAL, a.timeout_s)
            try:
                kind, detail = th.outcome(case, Path(d))
            except _Slow:
                kind, detail = "slow", f"still running after {a.timeout_s:g} s (accepted)"
            except MemoryError:
                kind, detail = "kill", "MemoryError"
            except BaseException as exc:  # counted, whatever it is
                kind, detail = "traceback", f"{type(exc).__name__}: {exc}"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        results[case.id] = {"kind": kind, "detail": detail[:300], "seconds": round(time.time() - t0, 1)}
        print(f"{kind:10s} {case.id:40s} {detail[:150]}", flush=True)
    counts = collections.Counter(r["kind"] for r in results.values())
    print(json.dumps({"total": len(results), **counts}, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps({"counts": counts, "cases": results}, indent=1))


if __name__ == "__main__":
    main()
