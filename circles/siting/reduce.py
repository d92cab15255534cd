"""Model reduction: drop what cannot matter, merge identical demand units, drop dominated candidates.

The reductions keep the optimum of maximal covering (with a count or a budget) and of set cover;
`solve_mclp` and `solve_set_cover` run them before the greedy and the MIP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = ["ReducedModel", "dominated", "merge_columns", "reduce_model"]


@dataclass(frozen=True)
class ReducedModel:
    """A covering model after reduction: what the MIP is built on.

    Attributes
    ----------
    covers
        Sparse boolean matrix, kept candidates × merged units (CSR).
    weights
        Demand of each merged unit (the sum over the units merged into it).
    candidates
        For each kept candidate, its row in the original matrix.
    unit_group
        For each original unit, its merged unit, or -1 when dropped (zero weight, or covered by
        no candidate).
    dropped_dominated
        How many candidates were dropped because another covers a superset at no higher cost.
    """

    covers: sparse.csr_matrix
    weights: np.ndarray
    candidates: np.ndarray
    unit_group: np.ndarray
    dropped_dominated: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.covers.shape

    @classmethod
    def unreduced(cls, covers: sparse.csr_matrix, weights: np.ndarray) -> ReducedModel:
        """The model as given: every candidate and unit kept, each unit its own group.

        Parameters
        ----------
        covers
            Boolean matrix, candidates × demand units (CSR).
        weights
            Demand of each unit (people).
        """
        return cls(covers.copy(), np.asarray(weights).copy(), np.arange(covers.shape[0]), np.arange(covers.shape[1]))


def merge_columns(covers: sparse.csr_matrix, weights: np.ndarray,
                  keep_units: np.ndarray) -> tuple[np.ndarray, sparse.csr_matrix, np.ndarray]:
    """Group the kept columns with identical row sets: (group of each original column, merged matrix, weights).

    Column ``keep_units[k]`` goes to group ``unit_group[keep_units[k]]`` (-1 for columns not
    kept); the merged matrix has one column per group (rows unchanged) and its weight is the sum.
    """
    csc = covers[:, keep_units].tocsc()
    csc.sort_indices()
    ind, ptr = csc.indices, csc.indptr
    groups: dict[bytes, int] = {}
    gid = np.empty(len(keep_units), dtype=np.int64)
    for k in range(len(keep_units)):
        gid[k] = groups.setdefault(ind[ptr[k]:ptr[k + 1]].tobytes(), len(groups))
    first = np.full(len(groups), -1, dtype=np.int64)
    first[gid[::-1]] = np.arange(len(keep_units))[::-1]
    merged = csc[:, first].tocsr().astype(bool)
    w = np.bincount(gid, weights=weights[keep_units], minlength=len(groups))
    unit_group = np.full(covers.shape[1], -1, dtype=np.int64)
    unit_group[keep_units] = gid
    return unit_group, merged, w


def dominated(covers: sparse.csr_matrix, costs: np.ndarray | None) -> np.ndarray:
    """Candidates whose coverage set lies inside another's that costs no more (a strict order, ties by index).

    Works on any boolean rows (e.g. coverage and links side by side): True for row j when some
    other row k holds every entry of j and costs no more (equal rows and costs: the higher
    index is dropped). Dropping them all keeps the optimum of a covering model.
    """
    a = covers.astype(np.int32)
    size = np.asarray(a.sum(axis=1)).ravel()
    overlap = (a @ a.T).tocoo()
    j, k, o = overlap.row, overlap.col, overlap.data
    subset = (j != k) & (o == size[j])  # N(j) ⊆ N(k)
    j, k = j[subset], k[subset]
    c = np.zeros(covers.shape[0]) if costs is None else np.asarray(costs, dtype=float)
    equal = size[j] == size[k]
    beats = (c[k] < c[j]) | ((c[k] == c[j]) & (~equal | (k < j)))
    out = np.zeros(covers.shape[0], dtype=bool)
    out[j[beats]] = True
    return out


def reduce_model(
    covers: sparse.spmatrix | np.ndarray,
    weights: np.ndarray,
    *,
    costs: np.ndarray | None = None,
    drop_dominated: bool = True,
) -> ReducedModel:
    """Shrink a covering model without changing its optimum.

    Units with zero weight or no covering candidate are dropped; units covered by exactly the
    same candidates are merged (weights summed); candidates that cover nothing left are
    dropped; with `drop_dominated`, a candidate whose set is contained in another candidate's
    set that costs no more is dropped (ties keep the lower index), and units are merged again.

    Dropping dominated candidates is exact for maximal covering (with a count or a budget) and
    for set cover; it is not for capacitated models, where two overlapping sites add capacity:
    pass ``drop_dominated=False`` there.

    Parameters
    ----------
    covers
        Boolean matrix, candidates × demand units.
    weights
        Demand of each unit (people), ≥ 0.
    costs
        Cost of each candidate (any currency), or None for equal costs.
    drop_dominated
        Drop dominated candidates.

    Returns
    -------
    ReducedModel

    Examples
    --------
    Units 0 and 1 are covered by the same candidates and merge; candidate 1 covers a subset of
    candidate 0's units and is dropped:

    >>> import numpy as np
    >>> red = reduce_model(np.array([[1, 1, 1], [1, 1, 0]], bool), np.array([2.0, 3.0, 1.0]))
    >>> red.candidates.tolist(), red.weights.tolist(), red.dropped_dominated
    ([0], [6.0], 1)
    """
    covers = sparse.csr_matrix(covers, dtype=bool)
    covers.eliminate_zeros()
    w = np.asarray(weights, dtype=float)
    col_nnz = np.diff(covers.tocsc().indptr)
    keep_units = np.flatnonzero((w > 0) & (col_nnz > 0))
    unit_group, merged, mw = merge_columns(covers, w, keep_units)
    cand = np.flatnonzero(np.diff(merged.indptr) > 0)
    merged = merged[cand]
    n_dom = 0
    if drop_dominated and len(cand) > 1:
        dom = dominated(merged, None if costs is None else np.asarray(costs, dtype=float)[cand])
        n_dom = int(dom.sum())
        if n_dom:
            cand, merged = cand[~dom], merged[~dom]
            group2, merged, mw = merge_columns(merged, mw, np.arange(merged.shape[1]))
            unit_group = np.where(unit_group >= 0, group2[np.maximum(unit_group, 0)], -1)
    return ReducedModel(covers=merged.tocsr(), weights=mw, candidates=cand, unit_group=unit_group,
                        dropped_dominated=n_dom)
