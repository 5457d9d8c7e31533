"""PCA of the vote matrix the way Polis handles missing votes.

Polis (math/src/polismath/math/conversation.clj, ``:mat``) replaces each missing vote by its
column's mean, centres the columns (pca.clj ``powerit-pca``) and finds the first two principal
components by power iteration on XᵀX. After mean imputation and centring, every missing entry is
exactly zero, so the centred matrix keeps the sparsity of the votes: entry (i, j) is
``vote_ij - mean_j`` where participant i voted on statement j, and 0 elsewhere. We compute the
same leading eigenvectors of XᵀX exactly (a dense eigensolver for small matrices, Lanczos via
``scipy.sparse.linalg.eigsh`` started, like Polis' power iteration, from the all-ones vector).

Participants are then projected with Polis' sparsity-aware scaling (pca.clj
``sparsity-aware-project-ptpt``): the dot product over the statements they voted on, times
``sqrt(n_statements / max(n_votes, 1))``, so that people who voted little are not bunched at
the centre.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, eigsh

_log = logging.getLogger(__name__)

_DENSE_LIMIT = 400  # columns; below this a dense eigh of XᵀX is faster and exact


@dataclass(frozen=True)
class Projection:
    """Result of :func:`polis_pca`.

    Attributes:
        columns: indices (into the vote matrix columns) of the statements used, shape (m,).
        center: column means of the votes, shape (m,).
        components: principal axes, shape (n_comps, m), unit length.
        coords: participant coordinates, shape (n_participants, n_comps), sparsity-scaled.
        eigenvalues: eigenvalues of XᵀX for each component, shape (n_comps,).
    """

    columns: np.ndarray
    center: np.ndarray
    components: np.ndarray
    coords: np.ndarray
    eigenvalues: np.ndarray


def centred_votes(votes: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    """Centre the observed votes by their column mean; missing votes stay zero.

    Args:
        votes: csr matrix (n, m), explicit entries are votes (passes are explicit zeros); every
            column must hold at least one vote.

    Returns:
        ``(centred, center)``: centred csr float64 (n, m) with the same structure, and the column
        means (m,).
    """
    x = votes.astype(np.float64)
    counts = np.bincount(x.indices, minlength=x.shape[1])
    sums = np.bincount(x.indices, weights=x.data, minlength=x.shape[1])
    center = sums / np.maximum(counts, 1)
    x.data -= center[x.indices]
    return x, center


def _leading_eigenvectors(x: sp.csr_matrix, n_comps: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``n_comps`` eigenpairs of XᵀX, largest first; each vector signed like Polis' power
    iteration from the all-ones start vector (positive sum)."""
    m = x.shape[1]
    if m <= _DENSE_LIMIT:
        gram = (x.T @ x).toarray()
        values, vectors = np.linalg.eigh(gram)
        order = np.argsort(values)[::-1][:n_comps]
        values, vectors = values[order], vectors[:, order]
    else:
        xt = x.T.tocsr()
        op = LinearOperator((m, m), matvec=lambda v: xt @ (x @ v), dtype=np.float64)
        values, vectors = eigsh(op, k=n_comps, which="LA", v0=np.ones(m), tol=1e-10)
        order = np.argsort(values)[::-1]
        values, vectors = values[order], vectors[:, order]
    vectors = vectors.T.copy()
    for row in vectors:
        total = row.sum()
        pivot = total if abs(total) > 1e-9 else row[np.argmax(np.abs(row))]
        if pivot < 0:
            row *= -1.0
    return values, vectors


def polis_pca(votes: sp.csr_matrix, columns: np.ndarray, n_zeroed: int = 0,
              n_comps: int = 2) -> Projection:
    """Project every participant onto the first ``n_comps`` principal components.

    Args:
        votes: the full vote matrix (n, all statements), int8 csr.
        columns: indices of the statements to use (voted on and not moderated out), shape (m,).
        n_zeroed: moderated-out statements that have votes. Polis zeroes their whole column
            (conversation.clj ``:rating-mat``, named_matrix.clj ``zero-out-columns``): they add
            nothing to the PCA but count, for everyone, as a statement seen and a vote cast in
            the sparsity-aware scaling.
        n_comps: number of components (Polis uses 2).

    Returns:
        :class:`Projection`. With fewer usable statements than ``n_comps`` the missing axes are
        zero.
    """
    columns = np.asarray(columns, dtype=np.int64)
    n = votes.shape[0]
    x, center = centred_votes(votes[:, columns])
    m = len(columns)
    k = min(n_comps, m, n)
    components = np.zeros((n_comps, m))
    eigenvalues = np.zeros(n_comps)
    if k > 0:
        values, vectors = _leading_eigenvectors(x, k)
        components[:k], eigenvalues[:k] = vectors, values
    raw = np.asarray(x @ components.T)
    n_votes = np.diff(x.indptr) + n_zeroed
    scale = np.sqrt((m + n_zeroed) / np.maximum(n_votes, 1))
    return Projection(columns, center, components, raw * scale[:, None], eigenvalues)
