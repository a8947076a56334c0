"""Design matrices read in row blocks: the passes every GLM fit makes over its data.

A pass over the design (a gradient, a Hessian, a linear predictor) works on blocks of
:data:`BLOCK_ROWS` rows: a block of a few MB stays in cache and no temporary the size of
the matrix is ever allocated. :class:`BlockDesign` is the one design type: a dense
matrix (with column names, as :func:`techeval.estimators._nuisance.build_design` and
:func:`~techeval.estimators._nuisance.balance_matrix` build it) or parts side by side
assembled one block at a time (so shared encoded covariates are never copied), a
column selection, and subsets of rows (a cross-fitting fold, an arm) read in place.

Two Gram products are kept apart, because merging them would change the order of the
floating-point sums: :meth:`BlockDesign.gram` (``X' diag(w) X``, the intercept, if any,
a column of ``X``: the count models) and :meth:`BlockDesign.intercept_gram`
(``X1' diag(w) X1`` with ``X1 = [1, X]`` and the intercept implicit: the logistic and
ridge nuisance models).
"""

from __future__ import annotations

import numpy as np

#: Rows per block in every pass over a design matrix (standardising, the solvers).
BLOCK_ROWS = 4096


def with_intercept(X: np.ndarray) -> np.ndarray:
    """``[1, X]``: a column of ones before ``X`` (a new dense matrix)."""
    return np.hstack([np.ones((X.shape[0], 1)), X])


def add_gram(gram: np.ndarray, block: np.ndarray, w: np.ndarray) -> None:
    """Add one block's ``X1' diag(w) X1`` (``X1 = [1, block]``) to ``gram``'s upper part."""
    gram[0, 0] += w.sum()
    gram[0, 1:] += w @ block
    scaled = block * np.sqrt(w)[:, None]
    # ``a.T @ a`` on one buffer is a symmetric rank-k update (BLAS syrk) in numpy
    gram[1:, 1:] += scaled.T @ scaled


def symmetric(gram: np.ndarray) -> np.ndarray:
    """Copy the intercept row of a Gram matrix built by :func:`add_gram` to its column."""
    gram[1:, 0] = gram[0, 1:]
    return gram


class BlockDesign:
    """A design ``[parts...]`` (columns side by side) with column names, read in row blocks.

    One part is a dense matrix, read in place (:attr:`matrix` is that matrix itself).
    Several parts (the harm models' few leading columns beside the encoded covariates,
    which inside a protocol run are shared with other estimators) are never assembled:
    that would copy the largest matrix of the fit (a few hundred MB at a million cases);
    instead every pass assembles one block of :data:`BLOCK_ROWS` rows at a time, keeping
    ``columns`` (all when ``None``).

    Parameters
    ----------
    *parts : numpy.ndarray
        Blocks of columns with the same number of rows (a 1-D part is one column).
    columns : numpy.ndarray, optional
        Indices of the columns kept, into the parts side by side; all when ``None``.
    names : list of str, optional
        The names of the columns kept.
    """

    def __init__(
        self, *parts: np.ndarray, columns: np.ndarray | None = None, names: list[str] | None = None
    ):
        self.parts = tuple(part if part.ndim == 2 else part[:, None] for part in parts)
        self.n = self.parts[0].shape[0]
        width = sum(part.shape[1] for part in self.parts)
        self.columns = None if columns is None or columns.size == width else columns
        self.width = width if self.columns is None else int(self.columns.size)
        self.names = names

    @property
    def shape(self) -> tuple[int, int]:
        return self.n, self.width

    @property
    def matrix(self) -> np.ndarray:
        """The dense matrix of a one-part design without column selection (not a copy)."""
        if len(self.parts) != 1 or self.columns is not None:
            raise ValueError("a design of several parts or selected columns is never assembled")
        return self.parts[0]

    def select(self, columns: np.ndarray) -> BlockDesign:
        """The same design restricted to ``columns`` (indices into the current columns)."""
        current = np.arange(self.width) if self.columns is None else self.columns
        names = None if self.names is None else [self.names[j] for j in columns]
        return BlockDesign(*self.parts, columns=current[columns], names=names)

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

    def row_blocks(self, rows: np.ndarray | None):
        """Blocks of the rows to fit on: ``(slice or positions, block, 0/1 weights or None)``.

        A subset holding at least half of all rows (a cross-fitting fold's training rows)
        is read in place with zero weights for the other rows, which costs less than
        gathering it; a smaller one (one arm of a fold) is gathered block by block. Dense
        designs only.
        """
        matrix, n_all = self.matrix, self.n
        if rows is None:
            for start in range(0, n_all, BLOCK_ROWS):
                at = slice(start, start + BLOCK_ROWS)
                yield at, matrix[at], None
            return
        if 2 * rows.size >= n_all:
            mask = np.zeros(n_all)
            mask[rows] = 1.0
            for start in range(0, n_all, BLOCK_ROWS):
                weight = mask[start : start + BLOCK_ROWS]
                at = slice(start, start + BLOCK_ROWS)
                yield at, matrix[at], (None if weight.all() else weight)
            return
        for start in range(0, rows.size, BLOCK_ROWS):
            at = rows[start : start + BLOCK_ROWS]
            yield at, matrix[at], None

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

    def intercept_gram(self, weights: np.ndarray) -> np.ndarray:
        """``X1' diag(weights) X1`` with ``X1 = [1, X]``, by :func:`add_gram` per block
        (weights >= 0)."""
        gram = np.zeros((self.width + 1, self.width + 1))
        for rows, block in self.blocks():
            add_gram(gram, block, weights[rows])
        return symmetric(gram)


def as_design(design: np.ndarray | BlockDesign) -> BlockDesign:
    """``design`` itself, or a dense matrix as a one-part :class:`BlockDesign`."""
    return design if isinstance(design, BlockDesign) else BlockDesign(design)
