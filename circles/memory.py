"""Give memory that a stage freed back to the system, so a run's peak is one stage's, not the sum of all.

glibc keeps freed heap blocks (and each thread's arena) for reuse instead of returning them;
after the service areas' grids and the map's text are gone, `release_memory` returns them
(Porto: about 110 MB). Elsewhere than Linux/glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["release_memory"]


def release_memory() -> None:
    """Return freed heap memory to the operating system (glibc ``malloc_trim``); a no-op where unavailable."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # another C library (musl): nothing to trim
        pass
