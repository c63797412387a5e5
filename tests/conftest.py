"""Shared pytest configuration for the proximity test suite."""

# Browser fixtures (`browser`, `open_map`) for the map tests: see tests/browser_support.py.
pytest_plugins = ["browser_support"]
