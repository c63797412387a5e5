"""proximity: how well a territory connects its small firms to the world.

Layers (GeoDataFrames) of SMEs, gateways, support bodies and municipalities; drivable
road networks with travel times; accessibility and milieu scores; maps and planning
tools. Nothing happens at import time.
"""

from __future__ import annotations

from ._version import __version__

__all__ = ["__version__"]
