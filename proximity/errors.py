"""Public exceptions and warnings of proximity.

Every error a user can cause is a :class:`ProximityError`; the typed subclasses are
also builtin exceptions (``except ValueError`` keeps working). The command line turns
a ``ProximityError`` into one line on stderr and exit code 1.
"""

from __future__ import annotations

from collections.abc import Iterable


class ProximityError(Exception):
    """Base class of every error raised by proximity for a user's input or data."""


class InputError(ProximityError, ValueError):
    """An argument or an input layer is not usable as given."""


class MissingColumnError(InputError, KeyError):
    """A required column is missing from an input table."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class CRSError(InputError):
    """An input has no CRS, or one that cannot be used."""


class ConfigError(InputError):
    """A configuration or scoring-profile file has an unknown key or a bad value."""


class DataFileError(ProximityError, OSError):
    """A data file is missing, corrupt (wrong sha256) or cannot be read."""


class DownloadError(DataFileError):
    """A download failed: no internet, an HTTP error, a timeout, a truncated or corrupt transfer."""


class NetworkError(ProximityError, RuntimeError):
    """A road network cannot be built, merged or used."""


class LayerValidationError(InputError):
    """One layer failed validation; ``problems`` lists every problem found.

    Parameters
    ----------
    layer : str
        Name of the layer (e.g. ``"smes"``).
    problems : iterable of str
        One sentence per problem, each naming the rows and the fix.
    """

    def __init__(self, layer: str, problems: Iterable[str]) -> None:
        self.layer = layer
        self.problems = list(problems)
        detail = "; ".join(self.problems)
        super().__init__(f"layer {layer!r} is invalid ({len(self.problems)} problem(s)): {detail}")


class ProximityWarning(UserWarning):
    """Base class of proximity's warnings."""


class UnreachableWarning(ProximityWarning):
    """Some origins or destinations cannot be reached on the network."""


class DataQualityWarning(ProximityWarning):
    """An input is old, coarse or approximate; the result says so."""


class CacheWarning(DataQualityWarning):
    """A cached result was corrupt or stale and has been rebuilt."""
