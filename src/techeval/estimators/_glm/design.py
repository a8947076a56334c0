"""Design matrices read in row blocks: the passes every GLM fit makes over its data.

A pass over the design (a gradient, a Hessian, a linear predictor) works on blocks of
:data:`BLOCK_ROWS` rows: a block of a few MB stays in cache and no temporary the size of
the matrix is ever allocated. :func:`row_blocks` reads a subset of rows (a
cross-fitting fold, an arm) in place; :class:`CountDesign` assembles a design from parts
side by side one block at a time, so shared encoded covariates are never copied.
"""

from __future__ import annotations

import numpy as np

#: Rows per block in every pass over a design matrix (standardising, the solvers).
BLOCK_ROWS = 4096


def with_intercept(X: np.ndarray) -> np.ndarray:
    """``[1, X]``: a column of ones before ``X`` (a new dense matrix)."""
    return np.hstack([np.ones((X.shape[0], 1)), X])


def weighted_gram(X: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``X1' diag(weights) X1`` with ``X1 = [1, X]``, over row blocks (weights >= 0)."""
    p = X.shape[1] + 1
    gram = np.zeros((p, p))
    for start in range(0, X.shape[0], BLOCK_ROWS):
        block = X[start : start + BLOCK_ROWS]
        w = weights[start : start + BLOCK_ROWS]
        add_gram(gram, block, w)
    return symmetric(gram)


def add_gram(gram: np.ndarray, block: np.ndarray, w: np.ndarray) -> None:
    gram[0, 0] += w.sum()
    gram[0, 1:] += w @ block
    scaled = block * np.sqrt(w)[:, None]
    # ``a.T @ a`` on one buffer is a symmetric rank-k update (BLAS syrk) in numpy
    gram[1:, 1:] += scaled.T @ scaled


def symmetric(gram: np.ndarray) -> np.ndarray:
    gram[1:, 0] = gram[0, 1:]
    return gram


def row_blocks(n_all: int, rows: np.ndarray | None):
    """Blocks of the rows to fit on: ``(slice or positions, 0/1 weights or None)``.

    A subset holding at least half of all rows (a cross-fitting fold's training rows)
    is read in place with zero weights for the other rows, which costs less than
    gathering it; a smaller one (one arm of a fold) is gathered block by block.
    """
    if rows is None:
        for start in range(0, n_all, BLOCK_ROWS):
            yield slice(start, start + BLOCK_ROWS), None
        return
    if 2 * rows.size >= n_all:
        mask = np.zeros(n_all)
        mask[rows] = 1.0
        for start in range(0, n_all, BLOCK_ROWS):
            weight = mask[start : start + BLOCK_ROWS]
            yield slice(start, start + BLOCK_ROWS), (None if weight.all() else weight)
        return
    for start in range(0, rows.size, BLOCK_ROWS):
        yield rows[start : start + BLOCK_ROWS], None


class CountDesign:
    """A count model's design ``[parts...]`` (columns side by side), read in row blocks.

    The harm models' design is a few leading columns (intercept, technique, other
    techniques) beside the encoded covariates, which inside a protocol run are shared
    with other estimators. Assembling them would copy the largest matrix of the fit (a
    few hundred MB at a million cases); instead every pass assembles one block of
    :data:`BLOCK_ROWS` rows at a time, keeping ``columns`` (all when ``None``).
    """

    def __init__(self, *parts: np.ndarray, columns: np.ndarray | None = None):
        self.parts = tuple(part if part.ndim == 2 else part[:, None] for part in parts)
        self.n = self.parts[0].shape[0]
        width = sum(part.shape[1] for part in self.parts)
        self.columns = None if columns is None or columns.size == width else columns
        self.width = width if self.columns is None else int(self.columns.size)

    @property
    def shape(self) -> tuple[int, int]:
        return self.n, self.width

    def select(self, columns: np.ndarray) -> CountDesign:
        """The same design restricted to ``columns`` (indices into the current columns)."""
        current = np.arange(self.width) if self.columns is None else self.columns
        return CountDesign(*self.parts, columns=current[columns])

    def blocks(self):
        """``(rows, block)`` pairs; ``block`` is a reused buffer, valid until the next one."""
        full = sum(part.shape[1] for part in self.parts)
        buffer = np.empty((min(BLOCK_ROWS, self.n), full))
        for start in range(0, self.n, BLOCK_ROWS):
            rows = slice(start, min(start + BLOCK_ROWS, self.n))
            if len(self.parts) == 1 and self.columns is None:
                yield rows, self.parts[0][rows]
                continue
            block = buffer[: rows.stop - rows.start]
            at = 0
            for part in self.parts:
                block[:, at : at + part.shape[1]] = part[rows]
                at += part.shape[1]
            yield rows, (block if self.columns is None else block[:, self.columns])

    def dot(self, beta: np.ndarray) -> np.ndarray:
        """``X beta``."""
        out = np.empty(self.n)
        for rows, block in self.blocks():
            out[rows] = block @ beta
        return out

    def tdot(self, vector: np.ndarray) -> np.ndarray:
        """``X' vector``."""
        out = np.zeros(self.width)
        for rows, block in self.blocks():
            out += vector[rows] @ block
        return out

    def gram(self, weights: np.ndarray | None = None) -> np.ndarray:
        """``X' diag(weights) X`` for non-negative weights (``X' X`` without), one
        symmetric rank-k update per block."""
        gram = np.zeros((self.width, self.width))
        for rows, block in self.blocks():
            if weights is not None:
                block = block * np.sqrt(weights[rows])[:, None]
            gram += block.T @ block
        return gram


def as_design(design: np.ndarray | CountDesign) -> CountDesign:
    return design if isinstance(design, CountDesign) else CountDesign(design)
