"""Root pytest configuration: test layers, the default territory, the doctest namespace.

It sits at the repository root so that it serves the three kinds of items the test
command collects: the tests (``tests/``), the docstring examples (``--doctest-modules
proximity``) and the notebooks (``--nbmake notebooks``).

Layers
    Every item gets exactly one of the markers ``unit``, ``integration`` or ``browser``,
    assigned here from what the item uses, never by hand:

    * ``browser`` — it uses a browser fixture (``browser``, ``browser_assets``, ``open_map``);
    * ``integration`` — it uses real data through a fixture of :data:`REAL_DATA_FIXTURES`
      (directly or through another fixture: pytest's fixture closure), it is a notebook, or
      it is a doctest whose examples use the default territory or the installed files
      (:data:`DOCTEST_REAL_DATA`);
    * ``unit`` — everything else: tiny synthetic inputs, closed-form answers.

    So a test that needs the real territory, its network or the installed files asks for
    them through a fixture (``herault``, ``herault_scores``, ``real_data``), which both
    shares the expensive load and puts the test in the right layer. ``pytest -m unit``
    must stay under a minute.

    The rule is enforced: a ``unit`` item runs with ``$PROXIMITY_DATA_DIR``,
    ``$PROXIMITY_MIRROR`` and ``$PROXIMITY_CACHE_DIR`` pointed at empty folders, so a unit
    test that reads the installed files, the local mirror or the network cache without
    asking for ``real_data`` fails with the data-missing error instead of silently
    slowing the unit layer down. (The layer loaders' in-process caches can still mask a
    read after an integration test loaded the same layer; a run of ``-m unit`` alone, as
    the README gives it, has no such cache.)

Doctests
    Examples run in a fresh temporary working directory (files they write land there).
    An example that uses the name ``ter`` gets the default territory (the session's
    ``herault`` fixture, loaded once and only if such an example runs).
"""

from __future__ import annotations

import doctest
import re

import pytest

#: Fixtures that bring real data (the installed files, the territory, its network):
#: an item whose fixture closure holds one of them is an ``integration`` test.
REAL_DATA_FIXTURES = frozenset({"real_data", "herault", "herault_scores"})
#: Fixtures that drive headless Chromium: an item using one is a ``browser`` test.
BROWSER_FIXTURES = frozenset({"browser", "browser_assets", "open_map"})
#: Names a doctest may use without defining them, and the fixture that provides each.
DOCTEST_NAMES = {"ter": "herault"}
#: A doctest whose source matches this uses real data: it is an ``integration`` item.
DOCTEST_REAL_DATA = re.compile(
    r"\bter\b|\bload_territory\(|\bdatasets\.(path|install)\(|\bbuild_network\(|\barea\.resolve\("
    r"|\b(municipalities|gateways|support_bodies|roads_from_travelmapping)\(\)|\bload_layer\("
    r"|\bread_openflights_\w+\(|\bairport_destinations\(|\bdepartements_of\(|\bsirene_sources\("
)


@pytest.fixture(scope="session")
def real_data():
    """The manifest of the default territory, its files checked installed (sizes only: fast)."""
    from proximity import datasets
    from proximity.errors import DataFileError

    man = datasets.load_manifest()
    keys = [f.key for f in man.files if not f.fileset] + list(man.filesets)
    try:
        for key in keys:
            datasets.path(key)
    except DataFileError as exc:
        pytest.fail(f"real-data tests cannot run: {exc} (or `bash scripts/setup.sh`)", pytrace=False)
    return man


@pytest.fixture(scope="session")
def herault(real_data):
    """The default territory as the main job loads it (synthetic SMEs, seed 34)."""
    from proximity.territory import load_territory

    return load_territory("herault")


def _is_doctest(item: pytest.Item) -> bool:
    return type(item).__name__ == "DoctestItem"


def _doctest_source(item: pytest.Item) -> str:
    """The source of a doctest's examples that run (``+SKIP`` ones left out)."""
    examples = item.dtest.examples  # type: ignore[attr-defined]
    return "\n".join(ex.source for ex in examples if not ex.options.get(doctest.SKIP))


def _doctest_names(item: pytest.Item) -> set[str]:
    """The names of :data:`DOCTEST_NAMES` that a doctest's examples use."""
    source = _doctest_source(item)
    return {name for name in DOCTEST_NAMES if re.search(rf"\b{name}\b", source)}


@pytest.fixture(autouse=True)
def _doctest_setup(request, tmp_path, monkeypatch):
    """For doctests only: run in a temporary folder and provide :data:`DOCTEST_NAMES`."""
    if not _is_doctest(request.node):
        return
    monkeypatch.chdir(tmp_path)
    namespace = request.getfixturevalue("doctest_namespace")
    for name in _doctest_names(request.node):
        namespace[name] = request.getfixturevalue(DOCTEST_NAMES[name])


@pytest.fixture(autouse=True)
def _unit_sees_no_real_data(request, tmp_path_factory, monkeypatch):
    """For ``unit`` items only: no installed files, no mirror, no network cache."""
    if request.node.get_closest_marker("unit") is None:
        return
    empty = tmp_path_factory.getbasetemp() / "no-real-data"
    for var, sub in (
        ("PROXIMITY_DATA_DIR", "installed"),
        ("PROXIMITY_MIRROR", "mirror"),
        ("PROXIMITY_CACHE_DIR", "cache"),
    ):
        (empty / sub).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(var, str(empty / sub))


def _layer(item: pytest.Item) -> str:
    if item.path.suffix == ".ipynb":
        return "integration"  # the notebooks run on the default territory
    if _is_doctest(item):
        return "integration" if DOCTEST_REAL_DATA.search(_doctest_source(item)) else "unit"
    used = set(getattr(item, "fixturenames", ()))
    if used & BROWSER_FIXTURES:
        return "browser"
    if used & REAL_DATA_FIXTURES:
        return "integration"
    return "unit"


def pytest_collection_modifyitems(config, items) -> None:
    """Give every collected item its layer marker (see the module docstring)."""
    for item in items:
        item.add_marker(getattr(pytest.mark, _layer(item)))
