"""What :func:`~proximity.groups.form_groups` returns: the groups, their members, the SMEs left
out with the reason, and the groups per municipality."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError, MissingColumnError
from ._util import _show
from .competition import Rule
from .problem import _Problem, _Solution

__all__ = ["UNPLACED_REASONS", "GroupsResult", "groups_per_municipality"]

#: Codes of :attr:`GroupsResult.unplaced` ``reason_code`` and what they mean.
UNPLACED_REASONS: dict[str, str] = {
    "no_base_in_reach": "no executive base within the time limit",
    "no_partner_in_reach": "no other selected SME within the time limit",
    "competes_with_all": "competes with every SME within the time limit",
    "no_feasible_group": "no feasible group of the minimum size: its compatible partners are too far "
    "from, or compete with, one another",
    "partners_grouped": "feasible groups exist for it, but each would take members from other groups",
}


@dataclass(frozen=True)
class GroupsResult:
    """Export groups formed by :func:`form_groups`.

    Attributes
    ----------
    groups : DataFrame
        One row per group, indexed by ``group_id`` (1, 2, ...): ``n``, ``tour_minutes``
        (closed tour of the executive), ``penalty_minutes`` (size-balance penalty),
        ``max_pair_minutes`` (largest pair time between two members),
        ``max_base_minutes`` (largest pair time between the base and a member) and
        ``base_id``. The members are the long table :attr:`members`
        (:meth:`members_of` lists a group's members in tour order).
    members : DataFrame
        The placed SMEs, one row each, indexed by ``sme_id`` in the input order:
        ``group_id``, ``tour_position`` (0 = first stop: with a member base, the base
        member; with a base point, the first member after it), ``is_base``,
        ``naf_section`` and ``naf_class`` (the first five characters of the dotted NAF
        code, e.g. ``"62.01"``; missing with ``rule="none"``).
    unplaced : DataFrame
        The SMEs left out, indexed by ``sme_id`` in the input order: ``reason_code``
        (a key of :data:`UNPLACED_REASONS`) and ``reason`` (a sentence).
    objective : float
        Total cost in minutes: tour minutes plus size penalties.
    bound : float
        Lower bound on the objective of the optimal solution (most SMEs placed, then
        least cost); see the module documentation.
    gap : float
        ``(objective - bound) / objective`` (0 when the objective is 0).
    method : str
        ``"exact"``, ``"heuristic"`` or ``"exact+heuristic"`` (``method="auto"`` solved
        the small components exactly and the others heuristically).
    status : str
        ``"optimal"`` (exact, proved), ``"time_limit"`` (exact, stopped by the time
        limit: best solution found) or ``"heuristic"`` (no optimality proof).
    n_placed : int
        Number of SMEs in a group.
    max_placeable : int
        Most SMEs any solution can place (exact) or an upper bound on it (heuristic).
    """

    groups: pd.DataFrame
    members: pd.DataFrame
    unplaced: pd.DataFrame
    objective: float
    bound: float
    gap: float
    method: str
    status: str
    n_placed: int
    max_placeable: int

    def members_of(self, group_id: int) -> list:
        """The SME ids of a group in tour order (the base member first when the executive sits at a member)."""
        m = self.members[self.members["group_id"] == group_id]
        if m.empty:
            raise InputError(f"group_id {group_id!r} is not a group; choose one of result.groups.index")
        return m.sort_values("tour_position").index.tolist()

    @property
    def tour_minutes(self) -> float:
        """Total tour minutes of all groups (the objective without size penalties)."""
        return float(self.groups["tour_minutes"].sum())


def _result(
    sol: _Solution,
    prob: _Problem,
    smes: pd.DataFrame,
    naf: np.ndarray | None,
    base_ids: pd.Index,
    limit: float,
    rule: Rule,
) -> GroupsResult:
    ids = smes.index
    sections = smes["naf_section"].astype("string").to_numpy(dtype=object) if "naf_section" in smes.columns else None
    order_ids = sorted(range(len(sol.groups)), key=lambda g: int(np.min(sol.groups[g][0])))
    rows = []
    gid_of = np.full(prob.n, -1, dtype=np.int64)
    pos_of = np.full(prob.n, -1, dtype=np.int64)
    is_base = np.zeros(prob.n, dtype=bool)
    for new, g in enumerate(order_ids, start=1):
        order, tour, base = sol.groups[g]
        order = np.asarray(order, dtype=np.int64)
        k = len(order)
        D = prob.pair(order[:, None], order[None, :])
        np.fill_diagonal(D, 0.0)
        if prob.base_min is not None:  # the problem has bases (prob.nb > 0)
            base_id = base_ids[base]
            max_base = float(prob.base_min[order, base].max())
        else:
            base_id = ids[base]
            is_base[base] = True
            max_base = float(D[list(order).index(base)].max())
        gid_of[order] = new
        pos_of[order] = np.arange(k)
        rows.append(
            {
                "group_id": new,
                "n": k,
                "tour_minutes": tour,
                "penalty_minutes": float(prob.pen[k]),
                "max_pair_minutes": float(D.max()),
                "max_base_minutes": max_base,
                "base_id": base_id,
            }
        )
    cols = ["n", "tour_minutes", "penalty_minutes", "max_pair_minutes", "max_base_minutes", "base_id"]
    groups = pd.DataFrame(rows, columns=["group_id", *cols]).set_index("group_id")
    groups["n"] = groups["n"].astype(np.int64)
    placed = gid_of >= 0
    members = pd.DataFrame(
        {
            "group_id": gid_of[placed],
            "tour_position": pos_of[placed],
            "is_base": is_base[placed],
            "naf_section": pd.array(
                [sections[i] for i in np.flatnonzero(placed)] if sections is not None else [pd.NA] * int(placed.sum()),
                dtype="string",
            ),
            "naf_class": pd.array(
                [naf[i][:5] for i in np.flatnonzero(placed)] if naf is not None else [pd.NA] * int(placed.sum()),
                dtype="string",
            ),
        },
        index=pd.Index(ids[placed], name="sme_id"),
    )
    codes = _reasons(prob, sol, placed)
    unplaced_idx = np.flatnonzero(~placed)
    lim = "reach (no travel time in od)" if not math.isfinite(limit) else f"{limit:g} min"
    rule_name = rule if isinstance(rule, str) else getattr(rule, "__name__", "the rule")
    text = {
        "no_base_in_reach": f"no executive base within {lim}",
        "no_partner_in_reach": f"no other selected SME within {lim}" + (" sharing a base" if prob.nb else ""),
        "competes_with_all": f"competes ({rule_name}) with every SME within {lim}",
        "no_feasible_group": f"no feasible group of {prob.min_size}: its compatible partners are too far from, "
        f"or compete with, one another",
        "partners_grouped": "all its compatible partners are already grouped: placing it would take members "
        "from other groups",
    }
    unplaced = pd.DataFrame(
        {  # object columns even when every SME is placed (an empty table keeps text columns)
            "reason_code": np.array([codes[i] for i in unplaced_idx], dtype=object),
            "reason": np.array([text[codes[i]] for i in unplaced_idx], dtype=object),
        },
        index=pd.Index(ids[unplaced_idx], name="sme_id"),
    )
    objective = float(sol.objective) if math.isfinite(sol.objective) else 0.0
    bound = float(sol.bound) if math.isfinite(sol.bound) else 0.0
    gap = (objective - bound) / objective if objective > 0 else 0.0
    return GroupsResult(
        groups=groups,
        members=members,
        unplaced=unplaced,
        objective=objective,
        bound=bound,
        gap=max(gap, 0.0),
        method=sol.method,
        status=sol.status,
        n_placed=int(placed.sum()),
        max_placeable=int(max(sol.max_placeable, placed.sum())),
    )


def _reasons(prob: _Problem, sol: _Solution, placed: np.ndarray) -> list[str]:
    deg = np.diff(prob.indptr)
    out = []
    for i in range(prob.n):
        if placed[i]:
            out.append("")
        elif prob.reach_deg[i] < 0:
            out.append("no_base_in_reach")
        elif prob.reach_deg[i] == 0:
            out.append("no_partner_in_reach")
        elif deg[i] == 0:
            out.append("competes_with_all")
        elif not sol.placeable[i]:
            out.append("no_feasible_group")
        else:
            out.append("partners_grouped")
    return out


def groups_per_municipality(
    result: GroupsResult,
    smes: pd.DataFrame,
    *,
    count: str = "members",
    communes: Iterable[Hashable] | None = None,
) -> pd.Series:
    """Number of export groups per commune (feeds ``export_groups_per_1000_smes``).

    Parameters
    ----------
    result : GroupsResult
        From :func:`form_groups`.
    smes : DataFrame
        The SMEs (at least those grouped) with a ``commune`` column.
    count : {"members", "base"}, default "members"
        ``"members"``: a group counts once in every commune where at least one of its
        members is (a group spanning two communes counts in both, so the total can
        exceed the number of groups). ``"base"``: a group counts once, in the commune of
        its base firm (only when the executive sits at a member firm).
    communes : iterable, optional
        Communes of the result (e.g. the municipalities layer index), with 0 where no
        group is; default the communes of ``smes``.

    Returns
    -------
    Series
        Integer counts indexed by commune code, named ``export_groups``.

    Raises
    ------
    MissingColumnError
        ``smes`` has no ``commune`` column.
    InputError
        Unknown ``count``, group members absent from ``smes``, or ``count="base"`` with
        bases that are not SMEs.

    Examples
    --------
    >>> import pandas as pd
    >>> from proximity.groups import OD_COLUMNS, form_groups
    >>> smes = pd.DataFrame(
    ...     {"naf": ["62.01Z", "10.71C", "46.34Z"], "commune": ["34172", "34172", "34129"]}, index=["a", "b", "c"]
    ... )
    >>> pairs = [("a", "b", 5.0), ("a", "c", 6.0), ("b", "c", 7.0)]
    >>> od = pd.DataFrame(pairs + [(d, o, m) for o, d, m in pairs], columns=list(OD_COLUMNS))
    >>> groups_per_municipality(form_groups(smes, od), smes).to_dict()
    {'34129': 1, '34172': 1}
    """
    if count not in ("members", "base"):
        raise InputError(f"count {count!r} is unknown; choose 'members' or 'base'")
    if "commune" not in smes.columns:
        raise MissingColumnError("smes lacks the column 'commune'; pass the SME layer with INSEE commune codes")
    commune = smes["commune"]
    if not smes.index.is_unique:
        raise InputError("smes index has duplicate ids; ids must be unique")
    if count == "members":
        m = result.members
        missing = m.index.difference(smes.index)
        if len(missing):
            raise InputError(f"group members {_show(missing)} are not in smes; pass the SMEs given to form_groups")
        pairs = pd.DataFrame({"group_id": m["group_id"].to_numpy(), "commune": commune.loc[m.index].to_numpy()})
        counts = pairs.drop_duplicates().groupby("commune").size()
    else:
        b = pd.Index(result.groups["base_id"])
        missing = b.difference(smes.index)
        if len(missing):
            raise InputError(
                f"bases {_show(missing)} are not SMEs in smes; use count='members' when the "
                f"executive sits at a base point"
            )
        counts = commune.loc[b].value_counts()
    index = pd.Index(commune.dropna().unique()) if communes is None else pd.Index(list(communes))
    out = counts.reindex(index.union(counts.index) if communes is None else index, fill_value=0)
    out = out.astype(np.int64).sort_index() if communes is None else out.astype(np.int64)
    out.index.name = "commune"
    out.name = "export_groups"
    return out
