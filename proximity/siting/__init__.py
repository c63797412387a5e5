"""Incubator site selection: candidate sites, criteria, ranking, coverage and p-median.

Torres (2002) [1]_ describes the plan of the Montpellier chamber of commerce for a
*business incubator for international trade* "planned to be located near the airport of
Montpellier", meant to gather export groups of SMEs and to connect them to the support
bodies of the territory. This module turns that siting question into numbers, in four
steps that follow the data flow of the package, one module each (``candidates``, ``criteria``,
``location``, ``what_if``):

1. :func:`candidate_sites` lists where the incubator could go: the user's own sites,
   business parks, municipality centres or a regular grid over the territory (one
   function per source: :func:`candidates_from_file`,
   :func:`candidates_from_business_parks`, :func:`candidates_from_municipalities`,
   :func:`candidates_from_grid`);
2. :func:`site_criteria` measures each candidate on long travel-time tables: minutes
   to the airport, to a TGV station and to a motorway access, SMEs, exporters and
   support bodies within a time;
3. :func:`rank_sites` (weighted, min-max normalised multi-criteria score) and
   :func:`pareto_front` (non-dominated candidates) compare candidates without a model
   of demand;
4. :func:`maximal_covering`, :func:`p_median` and :func:`sweep` solve the classic
   location-allocation models [2]_ [3]_ as mixed-integer programmes with HiGHS (through
   :func:`scipy.optimize.milp`), on a long travel-time table ``candidate -> demand``.

:func:`add_site_as_support` appends a chosen site to the support-body layer so that the
milieu index can be recomputed "with the incubator" (what-if).

Conventions
-----------
Travel-time tables
    Long DataFrames ``origin_id, destination_id, minutes`` as written by
    :func:`proximity.traveltime.od_matrix`. In this module the **origin is the candidate
    site** and the destination a demand point (SME) or a facility (airport, station…).
    A table built the other way (SMEs to candidates, which differs on one-way streets)
    is turned round with
    ``od.rename(columns={"origin_id": "destination_id", "destination_id": "origin_id"})``.
Unreachable pairs
    A pair absent from the table (beyond the cut-off it was built with, or with no path)
    or with ``minutes = inf`` is *not reachable*. It never breaks a model: in the maximal
    covering model it does not cover; in the p-median model a demand point that no
    chosen site reaches pays ``penalty_minutes``, and a demand point that no candidate
    at all reaches is left out of the model and listed in
    :attr:`LocationResult.unreachable`.
Identifiers
    Results are indexed by candidate id (the ``origin_id`` values, or the ``candidates``
    given) or by demand id (the index of ``demand_weights``), in input order.

References
----------
.. [1] Torres, O. (2002). Small firm, glocalization strategy and proximity. 16th ECSB
   RENT conference, Barcelona.
.. [2] Church, R. & ReVelle, C. (1974). The maximal covering location problem. *Papers
   of the Regional Science Association* 32(1), 101-118.
.. [3] ReVelle, C. S. & Swain, R. W. (1970). Central facilities location.
   *Geographical Analysis* 2(1), 30-42.
.. [4] Church, R. L. & Murray, A. T. (2018). *Location Covering Models*. Springer.
"""

from __future__ import annotations

from .candidates import (
    CANDIDATE_KINDS,
    MAX_GRID_POINTS,
    candidate_sites,
    candidates_from_business_parks,
    candidates_from_file,
    candidates_from_grid,
    candidates_from_municipalities,
)
from .criteria import (
    DEFAULT_DIRECTIONS,
    DEFAULT_WEIGHTS,
    DEFAULT_WITHIN_MINUTES,
    pareto_front,
    rank_sites,
    site_criteria,
)
from .location import LocationResult, SweepResult, maximal_covering, p_median, sweep
from .what_if import add_site_as_support

__all__ = [
    "CANDIDATE_KINDS",
    "DEFAULT_DIRECTIONS",
    "DEFAULT_WEIGHTS",
    "DEFAULT_WITHIN_MINUTES",
    "MAX_GRID_POINTS",
    "LocationResult",
    "SweepResult",
    "add_site_as_support",
    "candidate_sites",
    "candidates_from_business_parks",
    "candidates_from_file",
    "candidates_from_grid",
    "candidates_from_municipalities",
    "maximal_covering",
    "p_median",
    "pareto_front",
    "rank_sites",
    "site_criteria",
    "sweep",
]
