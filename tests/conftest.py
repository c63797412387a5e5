"""Shared pytest configuration for the proximity test suite.

The session fixtures ``real_data`` and ``herault`` (the default territory as the main job
loads it: layers, network from the cache, about 6,000 synthetic SMEs:
4.9 per 1,000 inhabitants, generated commune by commune) and the layer markers
(``unit``, ``integration``, ``browser``) live in the repository's root ``conftest.py``, so
that the doctests and notebooks share them. ``herault_scores`` scores the territory once.
Tests must not mutate these fixtures (copy first).
"""

from __future__ import annotations

import pytest

# Browser fixtures (`browser`, `open_map`) for the map tests: see tests/browser_support.py.
pytest_plugins = ["browser_support"]


@pytest.fixture(scope="session")
def herault_scores(herault):
    """The default territory scored with the default profile."""
    from proximity import scores

    return scores.score_territory(herault)
