"""The one error family of the project: every bad input becomes a `CirclesError`."""

from __future__ import annotations


class CirclesError(ValueError):
    """Bad input or an impossible request, with a one-line message.

    The message names the input, the bad value and the fix, e.g.
    ``"ledger.csv row 17: latitude 116.31 is out of range [-90, 90]; are the lon/lat columns swapped?"``.
    The command line prints it without a traceback and exits with status 2; the app shows it with
    ``st.error``.
    """
