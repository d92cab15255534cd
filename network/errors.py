"""The error family of the network package: bad OSM input, or an area the data does not reach."""

from __future__ import annotations


class NetworkError(ValueError):
    """Bad network input or an impossible request, with a one-line message.

    The message names the input, the bad value and the fix, e.g.
    ``"city.osm: the file has no highway ways; use an extract that includes streets"``.
    Callers outside this package (the `circles` command line, the app) print it as one line.
    """


class OutsideDataError(NetworkError):
    """The study area (boundary + buffer) lies outside the data, or no ways of the mode remain there."""
