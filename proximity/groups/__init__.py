"""Export-group formation: small firms sharing one time-shared export executive.

Since 1998 the foreign service of the Montpellier chamber of commerce has set up export
groups of small firms ("from 3 to 5 in general") that jointly employ one time-sharing
export executive; the groups need members close to one another (so that the executive
does not spread himself too thinly) and members that do not compete (Torres 2002 [1]_,
section 3). This module turns that practice into an optimisation problem:

Selection
    :func:`select_smes` filters an SME layer (sector, NAF prefix, size band, exporter
    status, commune, polygon).
Competition
    :func:`competes` says whether two firms compete: by default when they share a NAF
    class (``"62.01"``); coarser rules (NAF group, division), none, or a callable.
Feasible group
    ``min_size`` to ``max_size`` members, no two members compete and every member is
    within ``max_minutes`` of every other member, or, when candidate bases for the
    executive are given, of the group's base.
Objective
    Lexicographic: first place as many SMEs as possible, then minimise the total cost of
    the groups. A group's cost is the executive's closed tour in minutes (exact, by
    enumeration of the distinct cycles: 12 for 5 stops, 360 for 6 members and a base)
    plus a size-balance penalty ``size_penalty_minutes * (n - (min_size + max_size) / 2)
    ** 2`` that prefers groups of the middle size (4 for 3–5): tours alone favour the
    smallest groups, whose tours add up to less; set it to 0 for pure tour minutes.
Base of the executive
    ``base=None`` (or ``"member"``): the executive sits at one member firm. The tour is
    then the shortest cycle through all members, which is the same whichever member it
    starts from; ``base_id`` reports the most central member (smallest total minutes to
    the others). ``base=<GeoDataFrame>``: the executive sits at one of these points (the
    chamber, an incubator...); each group takes the base that gives it the shortest tour
    among the bases within ``max_minutes`` of all its members.
Travel times
    A long table ``origin_id, destination_id, minutes`` between the selected SMEs (and
    the bases), both directions, as :func:`proximity.traveltime.od_matrix` writes it.
    The two directions make one pair time: their maximum (``pair_minutes="max"``, the
    default: both trips within the limit) or their mean. A pair given in one direction
    only is treated as beyond the cut-off, as :func:`~proximity.traveltime.od_matrix`
    omits pairs beyond ``max_minutes``. With a base, tours also use member-to-member
    times, so compute the table with a cut-off of at least twice ``max_minutes``.
Methods
    ``"exact"`` enumerates every feasible group (the cliques of the compatibility graph of
    pairs within reach and not competing) and solves the set-packing problem with HiGHS
    through :func:`scipy.optimize.milp`: one MIP whose objective gives each SME placed a
    weight larger than the cost of any solution (so the most SMEs are placed, then the
    least cost), after reduced-cost fixing against a heuristic solution (columns whose LP
    reduced cost exceeds the heuristic's gap to the LP cannot be in a better solution).
    ``"heuristic"`` builds groups greedily from nearest compatible partners (least
    connected firms first), places the remaining firms (insertion, a new group taking
    spare members, one-step ejection, exact re-solution of their neighbourhood), then
    lowers the cost by relocations, swaps, optimal re-partition of neighbouring pairs of
    groups, one group more or fewer, and exact re-solutions (set packing with HiGHS) of
    neighbourhoods: tiles of about 100 nearby SMEs over a pool of good candidate groups
    (for every SME, the 25 cheapest per member among its 12 nearest partners), then all
    feasible groups of three, then four, nearby groups, then random sets of nearby
    groups. It stops when nothing improves or at ``time_limit_s``. ``"auto"`` (default)
    splits the compatibility graph into connected components (groups never span two):
    components whose feasible groups number at most ``max_candidates`` in total are
    solved exactly, the others (typically one large urban component) heuristically;
    ``method`` then reads ``"exact"``, ``"heuristic"`` or ``"exact+heuristic"``.
Bound and gap
    ``bound`` is a lower bound on the cost of the optimal solution (the one that places
    the most SMEs and, among those, costs least); ``gap = (objective - bound) /
    objective``. The exact method reports the solver's bound (equal to the objective
    when optimal). For the heuristic, the bound is the larger of two values of feasible
    duals of the set-partitioning linear relaxation, summed over the ``n_placed`` SMEs
    with the smallest prices (the optimum places at least as many):

    - two nearest: ``a(i) + min_n penalty(n) / n`` where ``a(i)`` is half the two
      shortest pair times from ``i`` to compatible partners (or a base): every member
      of a tour has two tour edges, so the ``a`` of a group never add up to more than
      its tour;
    - fair share: ``h(i) = min over feasible groups g containing i of cost(g) / |g|``.
      It is computed exactly by enumerating the groups of ``i`` within the radius
      beyond which a member would make the tour too long to beat a known group (a tour
      visiting ``i`` and ``j`` is at least twice their pair time by the triangle
      inequality, which shortest-path travel times satisfy: it is checked on a sample of
      triangles and the fair share is not used when it fails); where a neighbourhood
      has too many groups to enumerate, a lower bound on ``h(i)`` is used instead.

    ``max_placeable`` is the most SMEs any solution can place (exact) or an upper bound
    on it (heuristic: the SMEs that belong to at least one feasible group, per connected
    component rounded down to a sum of allowed sizes). On instances small enough for
    the exact method the heuristic found the optimum in 70 random instances of 8–30
    SMEs and came within 0.5 % of it on windows of 44–105 SMEs of a dense synthetic
    territory, while its bound was 13–20 % below the optimum: the gap reported for large
    instances mostly measures the bound, not the solution.
Time limit
    The exact solver (including its warm start, at most a fifth of the time) and the
    heuristic search each get ``time_limit_s``; the heuristic's bound may take up to as
    long again (neighbourhoods not reached in time get the two-nearest price).

References
----------
.. [1] Torres, O. (2002). Small firm, glocalization strategy and proximity. 16th ECSB
   RENT conference, Barcelona.
"""

from __future__ import annotations

from .competition import COMPETITION_RULES, Rule, competes
from .formation import form_groups
from .output import UNPLACED_REASONS, GroupsResult, groups_per_municipality
from .problem import MAX_GROUP_SIZE, OD_COLUMNS
from .selection import select_smes

__all__ = [
    "COMPETITION_RULES",
    "MAX_GROUP_SIZE",
    "OD_COLUMNS",
    "UNPLACED_REASONS",
    "GroupsResult",
    "Rule",
    "competes",
    "form_groups",
    "groups_per_municipality",
    "select_smes",
]
