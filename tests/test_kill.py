"""Interrupted runs (issue 12): SIGINT and SIGKILL at several points of ``score`` and ``run``.

Each interruption is a real subprocess of the CLI, signalled when its progress line for
a stage appears on stderr (plus a delay). Afterwards the output folder holds one
complete run (the previous one, byte for byte, or nothing), never a mixture; after
SIGINT nothing temporary is left; after SIGKILL a rerun removes what the killed process
left, succeeds, and leaves no temporary file. Small settings (300 SMEs) keep it to a
few minutes; deselect with ``-m "not kill"``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proximity import _io

pytestmark = pytest.mark.kill

ROOT = Path(__file__).resolve().parents[1]
SCORE_FILES = {
    "municipalities.gpkg",
    "municipalities.csv",
    "smes.gpkg",
    "smes.csv",
    "provenance.json",
    ".proximity-run-score.json",
}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "proximity.cli", *args]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def run_ok(args: list[str]) -> subprocess.CompletedProcess:
    r = subprocess.run(args, capture_output=True, text=True, env=env(), cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    return r


def interrupt(args: list[str], *, when: str, sig: int, delay_s: float) -> tuple[int, str]:
    """Start the CLI, wait for a progress line containing ``when``, wait ``delay_s``, signal it."""
    with subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env(), cwd=ROOT) as p:
        seen = []
        assert p.stderr is not None
        for line in p.stderr:
            seen.append(line)
            if when in line:
                break
        else:
            p.wait()
            pytest.fail(f"the process ended before {when!r}: {''.join(seen)[-1500:]}")
        time.sleep(delay_s)
        p.send_signal(sig)
        rest = p.stderr.read()
        return p.wait(timeout=120), "".join(seen) + rest


def snapshot(folder: Path) -> dict[str, bytes] | None:
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def temporaries(out: Path) -> list[str]:
    """Staging folders beside ``out`` and partial files inside it."""
    beside = [p.name for p in out.parent.iterdir() if p.name.startswith("." + out.name + ".proximity-")]
    inside = [str(p) for p in out.rglob(".*.part*")] if out.exists() else []
    return beside + inside


@pytest.fixture(scope="module")
def scored(tmp_path_factory, real_data):
    """A folder holding one complete ``score`` run (300 SMEs)."""
    out = tmp_path_factory.mktemp("kill") / "scores"
    run_ok(cli("score", "--out", str(out), "--n-smes", "300"))
    return out


@pytest.mark.parametrize(
    ("sig", "when", "delay_s"),
    [
        (signal.SIGINT, "road network", 0.5),
        (signal.SIGINT, "municipal aggregation", 0.5),
        (signal.SIGKILL, "indicators for", 0.5),
        (signal.SIGKILL, "municipal aggregation", 1.0),
    ],
    ids=["int-network", "int-writes", "kill-indicators", "kill-writes"],
)
def test_interrupted_score_keeps_the_previous_run(scored, sig, when, delay_s):
    before = snapshot(scored)
    assert set(before) == SCORE_FILES
    code, err = interrupt(
        cli("score", "--out", str(scored), "--n-smes", "300", "--seed", "7"), when=when, sig=sig, delay_s=delay_s
    )
    after = snapshot(scored)
    if code == 0:  # the signal came after the run was moved in: then it is the new run, whole
        assert set(after) == SCORE_FILES
        assert json.loads(after["provenance.json"])["parameters"]["seed"] == 7
    elif after != before:
        # killed while the committed run was being moved in (or between the move and the
        # exit): what the next command does first (clean_stale) finishes the move, and the
        # folder holds the new run, whole, never a mix of the two
        _io.clean_stale(scored)
        after = snapshot(scored)
        assert set(after) == SCORE_FILES, "a partial run was left"
        assert temporaries(scored) == []
        assert json.loads(after["provenance.json"])["parameters"]["seed"] == 7
        listed = json.loads(after[".proximity-run-score.json"])["files"]
        assert sorted(listed) == sorted(SCORE_FILES - {".proximity-run-score.json"})
    if sig == signal.SIGINT:
        assert code != 0 or "Traceback" not in err
        assert "Traceback" not in err
        assert temporaries(scored) == []


def test_rerun_after_kills_succeeds_and_cleans(scored):
    run_ok(cli("score", "--out", str(scored), "--n-smes", "300", "--seed", "8"))
    assert temporaries(scored) == []
    assert set(snapshot(scored)) == SCORE_FILES
    assert json.loads((scored / "provenance.json").read_text())["parameters"]["seed"] == 8


def test_interrupted_run_leaves_nothing_then_a_rerun_completes(tmp_path, real_data):
    out = tmp_path / "run"
    code, err = interrupt(
        cli("run", "--out", str(out), "--n-smes", "300"), when="travel-time tables", sig=signal.SIGINT, delay_s=1.0
    )
    assert code != 0 and "Traceback" not in err
    assert not out.exists() and temporaries(out) == []
    code, _ = interrupt(
        cli("run", "--out", str(out), "--n-smes", "300"), when="rasters", sig=signal.SIGKILL, delay_s=2.0
    )
    assert code == -signal.SIGKILL
    assert not out.exists()
    assert temporaries(out)  # the killed process could not clean up: the rerun must
    run_ok(cli("run", "--out", str(out), "--n-smes", "300"))
    assert temporaries(out) == []
    files = set(snapshot(out))
    assert {
        "layers.gpkg",
        "municipalities.csv",
        "provenance.json",
        "rasters/population_within.csv",
        "traveltime/nearest_smes.csv",
        "export_groups/groups.csv",
        ".proximity-run-run.json",
    } <= files
    listed = set(json.loads((out / ".proximity-run-run.json").read_text())["files"])
    assert listed == files - {".proximity-run-run.json"}
