"""Form export groups: check the options and inputs, build the problem, solve it by components
(exact where small enough, heuristic elsewhere) and report (:func:`form_groups`)."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import InputError, MissingColumnError
from ._util import _check_number, _show
from .competition import Rule, _check_rule
from .exact import _enumerate_groups, _solve_exact, _TooMany
from .heuristic import _solve_heuristic
from .output import GroupsResult, _result
from .problem import MAX_GROUP_SIZE, _build_problem, _check_od, _Problem, _Solution

__all__ = ["form_groups"]


def form_groups(
    smes: gpd.GeoDataFrame | pd.DataFrame,
    od: pd.DataFrame,
    *,
    min_size: int = 3,
    max_size: int = 5,
    max_minutes: float | None = 30.0,
    base: str | gpd.GeoDataFrame | pd.DataFrame | None = None,
    rule: Rule = "naf_class",
    method: str = "auto",
    time_limit_s: float = 60.0,
    seed: int = 0,
    pair_minutes: str = "max",
    size_penalty_minutes: float = 2.0,
    max_candidates: int = 100_000,
) -> GroupsResult:
    """Form export groups of nearby, non-competing SMEs sharing one export executive.

    See the module documentation for the model (feasibility, objective, bound).

    Parameters
    ----------
    smes : GeoDataFrame or DataFrame
        The SMEs to group (e.g. from :func:`select_smes`), indexed by a unique id, with a
        ``naf`` column (unless ``rule="none"``); ``naf_section`` is reported if present.
    od : DataFrame
        Long travel-time table ``origin_id, destination_id, minutes`` between the SMEs
        (and the bases), both directions; rows of other ids are ignored, pairs absent
        or with ``inf`` minutes are unreachable.
    min_size, max_size : int, default 3 and 5
        Group sizes allowed (``2 <= min_size <= max_size <= 6``).
    max_minutes : float or None, default 30
        Largest pair time between two members (or between a member and the base when
        ``base`` is a table of points); None: any pair present in ``od``.
    base : None, "member" or GeoDataFrame, default None
        Where the executive sits: at a member firm (None or ``"member"``), or at one of
        these points (indexed by ids that appear in ``od`` and differ from SME ids).
    rule : str or callable, default "naf_class"
        Competition rule, see :func:`competes`.
    method : {"auto", "exact", "heuristic"}, default "auto"
        ``"auto"``: exact on the connected components of the compatibility graph while
        their feasible groups number at most ``max_candidates``, heuristic on the rest.
    time_limit_s : float, default 60
        Time budget of the exact solver and of the heuristic search, each; the
        heuristic's bound computation may take up to as long again.
    seed : int, default 0
        Seed of the heuristic's random orders (results may also depend on the time
        limit when it is reached).
    pair_minutes : {"max", "mean"}, default "max"
        How the two directions make one pair time.
    size_penalty_minutes : float, default 2
        Cost added per group per squared member away from the middle size.
    max_candidates : int, default 100000
        Largest number of feasible groups enumerated for the exact method (memory and
        solver time grow with it: about 40,000 take a few seconds).

    Returns
    -------
    GroupsResult

    Raises
    ------
    InputError
        Bad option values, an empty or badly indexed SME table, malformed NAF codes, an
        unusable travel-time table (no shared id, NaN or negative minutes, duplicate
        rows, one direction only), base ids clashing with SME ids, or ``method="exact"``
        with more than ``max_candidates`` feasible groups.
    MissingColumnError
        ``smes`` has no ``naf`` column, or ``od`` lacks a column.

    Examples
    --------
    >>> import pandas as pd
    >>> from proximity.groups import OD_COLUMNS, form_groups
    >>> smes = pd.DataFrame({"naf": ["62.01Z", "10.71C", "46.34Z"]}, index=["a", "b", "c"])
    >>> pairs = [("a", "b", 5.0), ("a", "c", 6.0), ("b", "c", 7.0)]
    >>> od = pd.DataFrame(pairs + [(d, o, m) for o, d, m in pairs], columns=list(OD_COLUMNS))
    >>> res = form_groups(smes, od, size_penalty_minutes=0)
    >>> g = res.groups.loc[1]
    >>> int(g["n"]), float(g["tour_minutes"]), g["base_id"], res.members_of(1)
    (3, 18.0, 'a', ['a', 'b', 'c'])
    """
    # ---- options
    problems: list[str] = []
    for name, v in (("min_size", min_size), ("max_size", max_size), ("seed", seed), ("max_candidates", max_candidates)):
        try:
            _check_number(name, v, minimum=0 if name == "seed" else 1, integer=True)
        except InputError as exc:
            problems.append(str(exc))
    if not problems:
        if min_size < 2:
            problems.append(f"min_size must be >= 2, got {min_size}")
        if max_size < min_size:
            problems.append(f"max_size ({max_size}) must be >= min_size ({min_size})")
        if max_size > MAX_GROUP_SIZE:
            problems.append(f"max_size must be <= {MAX_GROUP_SIZE} (tours are enumerated exactly), got {max_size}")
    for name, x, lo in (("time_limit_s", time_limit_s, 0.0), ("size_penalty_minutes", size_penalty_minutes, 0.0)):
        try:
            _check_number(name, x, minimum=lo)
        except InputError as exc:
            problems.append(str(exc))
    if time_limit_s == 0 and not problems:
        problems.append("time_limit_s must be > 0")
    if max_minutes is not None:
        try:
            _check_number("max_minutes", max_minutes, minimum=0.0)
        except InputError as exc:
            problems.append(str(exc))
        else:
            if max_minutes <= 0:
                problems.append(f"max_minutes must be > 0, got {max_minutes!r}")
    if method not in ("auto", "exact", "heuristic"):
        problems.append(f"method {method!r} is unknown; choose 'auto', 'exact' or 'heuristic'")
    if pair_minutes not in ("max", "mean"):
        problems.append(f"pair_minutes {pair_minutes!r} is unknown; choose 'max' or 'mean'")
    try:
        _check_rule(rule)
    except InputError as exc:
        problems.append(str(exc))
    if problems:
        raise InputError("form_groups: " + "; ".join(problems))

    # ---- inputs
    if not isinstance(smes, pd.DataFrame):
        raise InputError(f"smes must be a GeoDataFrame or DataFrame indexed by SME id, got {type(smes).__name__}")
    if len(smes) == 0:
        raise InputError("smes is empty; select at least min_size SMEs (select_smes)")
    if not smes.index.is_unique:
        dup = smes.index[smes.index.duplicated()].unique()
        raise InputError(f"smes index has duplicate ids (e.g. {_show(dup)}); ids must be unique")
    if rule != "none" and "naf" not in smes.columns:
        raise MissingColumnError(
            "smes lacks the column 'naf' needed by the competition rule; add NAF codes or pass rule='none'"
        )
    bases = None
    if isinstance(base, str):
        if base != "member":
            raise InputError(
                f"base {base!r} is unknown; pass None or 'member' (executive at a member firm) or a "
                f"GeoDataFrame of base points"
            )
    elif base is not None:
        if not isinstance(base, pd.DataFrame) or len(base) == 0:
            raise InputError("base must be None, 'member' or a non-empty GeoDataFrame of base points indexed by id")
        if not base.index.is_unique:
            raise InputError("base index has duplicate ids; base ids must be unique")
        clash = base.index.intersection(smes.index)
        if len(clash):
            raise InputError(
                f"base ids {_show(clash)} are also SME ids; give the bases distinct ids (or use "
                f"base='member' for an executive at a member firm)"
            )
        bases = base
    od = _check_od(od)
    limit = math.inf if max_minutes is None else float(max_minutes)

    prob, naf, base_ids = _build_problem(
        smes,
        od,
        bases,
        min_size=int(min_size),
        max_size=int(max_size),
        max_minutes=limit,
        rule=rule,
        pair_minutes=pair_minutes,
        size_penalty_minutes=float(size_penalty_minutes),
    )

    sol = _solve(
        prob, method=method, time_limit_s=float(time_limit_s), seed=int(seed), max_candidates=int(max_candidates)
    )
    return _result(sol, prob, smes, naf, base_ids, limit, rule)


def _solve(prob: _Problem, *, method: str, time_limit_s: float, seed: int, max_candidates: int) -> _Solution:
    """Exact on the connected components of the compatibility graph whose feasible groups
    fit in ``max_candidates`` (all of them for "exact"), heuristic on the others."""
    if method == "heuristic":
        return _solve_heuristic(prob, time_limit_s=time_limit_s, seed=seed)
    rows = np.repeat(np.arange(prob.n), np.diff(prob.indptr))
    graph = sparse.coo_array((np.ones(len(rows)), (rows, prob.indices)), shape=(prob.n, prob.n))
    n_comp, labels = sparse.csgraph.connected_components(graph, directed=False)
    comp_size = np.bincount(labels, minlength=n_comp)
    members_of = np.argsort(labels, kind="stable")
    starts = np.concatenate([[0], np.cumsum(comp_size)])
    cols: dict[int, list[np.ndarray]] = {}
    heuristic = np.zeros(prob.n, dtype=bool)
    total = 0
    for c in np.argsort(comp_size, kind="stable"):  # small components first
        if comp_size[c] < prob.min_size:
            continue
        vertices = members_of[starts[c] : starts[c + 1]]
        try:
            found = _enumerate_groups(prob, max_candidates - total, vertices.tolist())
        except _TooMany:
            if method == "exact":
                raise InputError(
                    f"more than max_candidates={max_candidates} feasible groups: too many for the exact method; "
                    f"use method='heuristic' (or 'auto'), raise max_candidates, or lower max_minutes"
                ) from None
            heuristic[vertices] = True
            continue
        for k, arr in found.items():
            cols.setdefault(k, []).append(arr)
            total += len(arr)
    parts = []
    exact = np.zeros(prob.n, dtype=bool)
    if cols:
        merged = {k: np.concatenate(v) for k, v in cols.items()}
        part = _solve_exact(prob, merged, time_limit_s, seed)
        for arr in merged.values():
            exact[arr.ravel()] = True
        if part.groups == [] and part.status == "time_limit":
            heuristic |= exact  # no integer solution in time: the heuristic takes these over
        else:
            parts.append(part)
    if heuristic.any():
        parts.append(_solve_heuristic(prob, time_limit_s=time_limit_s, seed=seed, mask=heuristic))
    if not parts:
        return _Solution([], 0.0, 0.0, "optimal", "exact", 0, np.zeros(prob.n, dtype=bool))
    if len(parts) == 1:
        return parts[0]
    statuses = {p.status for p in parts}
    status = "heuristic" if "heuristic" in statuses else ("time_limit" if "time_limit" in statuses else "optimal")
    return _Solution(
        groups=[g for p in parts for g in p.groups],
        objective=sum(p.objective for p in parts),
        bound=sum(p.bound for p in parts),
        status=status,
        method="+".join(p.method for p in parts),
        max_placeable=sum(p.max_placeable for p in parts),
        placeable=np.logical_or.reduce([p.placeable for p in parts]),
    )
