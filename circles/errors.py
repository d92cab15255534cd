"""The error family of the project: every bad input or impossible request is a `CirclesError`.

Callers tell the kinds apart by type, never by message text:

- `InputError`: a file, column, row or option is wrong (the message names it and the fix);
- `ExtentError`: the study area, a district or the data lie outside one another;
- `SolverError`: site selection cannot be solved as asked;
- `OutputError`: the output folder cannot be created or written (full disk, read-only, a file).

`network.errors.NetworkError` (bad OSM input) is the network package's own family; the command
line and the app show both as one line.
"""

from __future__ import annotations

from network.errors import NetworkError, OutsideDataError


class CirclesError(ValueError):
    """Bad input or an impossible request, with a one-line message.

    The message names the input, the bad value and the fix, e.g.
    ``"ledger.csv row 17: latitude 116.31 is out of range [-90, 90]; are the lon/lat columns swapped?"``.
    The command line prints it without a traceback and exits with status 2; the app shows it with
    ``st.error``.
    """


class InputError(CirclesError):
    """A file, column, row or option given by the user is wrong."""


class CoordsUndecidedError(InputError):
    """A ledger inside China came without its coordinate system and the data cannot tell it.

    ``evidence`` is the `circles.coordsys.CoordsEvidence`: the app shows it and asks for the system.
    """

    def __init__(self, message: str, evidence: object = None):
        super().__init__(message)
        self.evidence = evidence


class ExtentError(CirclesError):
    """The study area, a district or the inputs do not meet the network data."""


class SolverError(CirclesError):
    """Site selection cannot be solved as asked (infeasible, no candidates, bad solver options)."""


class OutputError(CirclesError):
    """The output folder cannot be created or written (a file in the way, read-only, disk full)."""


#: Everything that is shown as one line (no traceback): our errors and the network package's.
USER_ERRORS: tuple[type[ValueError], ...] = (CirclesError, NetworkError)

__all__ = ["CirclesError", "InputError", "CoordsUndecidedError", "ExtentError", "SolverError", "OutputError", "NetworkError",
           "OutsideDataError", "USER_ERRORS"]
