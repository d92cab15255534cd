"""Small vectorised array helpers shared by the network builder and its callers."""

from __future__ import annotations

import numpy as np


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])``, vectorised.

    Parameters
    ----------
    starts, lengths
        Start and length of each range (integers; lengths >= 0).

    Returns
    -------
    numpy.ndarray
        int64 positions, ranges in order.

    Examples
    --------
    >>> ranges(np.array([5, 0]), np.array([2, 3])).tolist()
    [5, 6, 0, 1, 2]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(np.asarray(starts, dtype=np.int64) - (np.cumsum(lengths) - lengths), lengths)
    return shift + np.arange(total, dtype=np.int64)


def csr_gather(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The column indices of `rows` of a CSR structure, concatenated (no scipy fancy indexing)."""
    rows = np.asarray(rows, dtype=np.int64)
    return indices[ranges(indptr[rows], indptr[rows + 1] - indptr[rows])]
