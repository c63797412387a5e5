"""Shared pytest configuration for the proximity test suite.

Session fixtures build the default territory once (layers, network from the cache,
6,000 synthetic SMEs) and score it once; tests must not mutate them (copy first).
"""

from __future__ import annotations

import pytest

# Browser fixtures (`browser`, `open_map`) for the map tests: see tests/browser_support.py.
pytest_plugins = ["browser_support"]


@pytest.fixture(scope="session")
def herault():
    """The default territory as the main job loads it (synthetic SMEs, seed 34)."""
    from proximity.territory import load_territory

    return load_territory("herault")


@pytest.fixture(scope="session")
def herault_scores(herault):
    """The default territory scored with the default profile."""
    from proximity import scores

    return scores.score_territory(herault)
