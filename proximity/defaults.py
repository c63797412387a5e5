"""Default values of the analysis options shared by the library and the command line.

One place for the numbers that several entry points repeat: the library functions use
them as their keyword defaults, the study file (:mod:`proximity.config`) as the defaults
of its ``[smes]``, ``[traveltime]``, ``[export_groups]`` and ``[rasters]`` tables, and the
CLI as its option defaults. Plain constants, no imports: the CLI reads them without
loading the geospatial stack.
"""

from __future__ import annotations

#: Synthetic SMEs drawn on a territory (None: a rate per 1,000 inhabitants, generated commune
#: by commune so that a commune's firms do not depend on the territory), the rate, and the
#: seed of their generator.
N_SMES: int | None = None
SMES_PER_1000 = 4.9
SEED = 34
#: Cut-off of the origin–destination tables written by the main job, in minutes.
OD_MAX_MINUTES = 90.0
#: Cell size of the travel-time and population rasters, in metres.
RASTER_CELL_M = 200.0
#: Incubator siting: spacing of the grid of candidates, coverage time, largest p swept.
SITE_GRID_SPACING_M = 3000.0
SITE_WITHIN_MINUTES = 30.0
SITE_P_MAX = 3
#: Export groups: largest travel time between two members, group sizes, solver limits.
GROUP_MAX_MINUTES = 30.0
GROUP_MIN_SIZE = 3
GROUP_MAX_SIZE = 5
GROUP_TIME_LIMIT_S = 60.0
GROUP_SEED = 0
