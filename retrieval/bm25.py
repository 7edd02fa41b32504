"""BM25 scoring with rank-bm25's statistics, precomputed into a sparse matrix.

rank-bm25 computes the idf and length statistics; its per-query loop is replaced by a column
slice of precomputed term weights, which gives the same scores (checked by a parity test).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import rank_bm25
from scipy import sparse

FloatArray = npt.NDArray[np.float64]


class Variant(StrEnum):
    """The rank-bm25 scoring functions the engine can use."""

    OKAPI = "okapi"
    PLUS = "plus"
    L = "l"


@dataclass(frozen=True, slots=True)
class BM25Params:
    """BM25 settings: the variant, term-frequency saturation `k1` and length normalisation `b`."""

    variant: Variant = Variant.OKAPI
    k1: float = 1.2
    b: float = 0.75


def reference_model(documents: Sequence[Sequence[str]], params: BM25Params) -> rank_bm25.BM25:
    """Build the rank-bm25 model whose scores the engine reproduces."""
    match params.variant:
        case Variant.OKAPI:
            return rank_bm25.BM25Okapi(documents, k1=params.k1, b=params.b)
        case Variant.PLUS:
            return rank_bm25.BM25Plus(documents, k1=params.k1, b=params.b)
        case Variant.L:
            return rank_bm25.BM25L(documents, k1=params.k1, b=params.b)


class BM25Matrix:
    """Per-term BM25 weights of every document, so a query's scores are one sparse product.

    Attributes:
        vocabulary: Term → column.
        idf: The idf of each column, as rank-bm25 computed it.
        doc_freq: How many documents hold each column's term.
        size: Number of documents.
    """

    def __init__(self, documents: Sequence[Sequence[str]], params: BM25Params) -> None:
        self.size = len(documents)
        self.vocabulary: dict[str, int] = {}
        if not any(documents):
            self.idf: FloatArray = np.zeros(0)
            self.doc_freq = np.zeros(0, dtype=np.int64)
            self._constant: FloatArray = np.zeros(0)
            self._weights = sparse.csc_array((self.size, 0))
            return
        model = reference_model(documents, params)
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[int] = []
        for row, freqs in enumerate(model.doc_freqs):
            for term, tf in freqs.items():
                rows.append(row)
                cols.append(self.vocabulary.setdefault(term, len(self.vocabulary)))
                tfs.append(tf)
        self.idf = np.array([model.idf[term] for term in self.vocabulary], dtype=np.float64)
        col = np.array(cols, dtype=np.int64)
        row_ = np.array(rows, dtype=np.int64)
        tf_ = np.array(tfs, dtype=np.float64)
        self.doc_freq = np.bincount(col, minlength=len(self.vocabulary))
        norm = 1 - model.b + model.b * np.array(model.doc_len, dtype=np.float64) / model.avgdl
        values, self._constant = _weights(params.variant, model, self.idf, col, tf_, norm[row_])
        shape = (self.size, len(self.vocabulary))
        self._weights = sparse.csc_array((values, (row_, col)), shape=shape)

    def columns(self, terms: Mapping[str, float]) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """Return the columns of the known `terms` and their query weights."""
        known = [(self.vocabulary[t], w) for t, w in terms.items() if t in self.vocabulary]
        cols = np.array([c for c, _ in known], dtype=np.int64)
        return cols, np.array([w for _, w in known], dtype=np.float64)

    def scores(self, terms: Mapping[str, float]) -> FloatArray:
        """Score every document for weighted query terms.

        A term's weight is how often it is asked (as in rank-bm25), or less for a typo correction.
        """
        cols, weights = self.columns(terms)
        if not cols.size:
            return np.zeros(self.size)
        result = np.asarray(self._weights[:, cols] @ weights, dtype=np.float64)
        return result + float(self._constant[cols] @ weights)

    def contains(self, rows: npt.NDArray[np.int64], term: str) -> npt.NDArray[np.bool_]:
        """Tell for each of `rows` whether its document holds `term`."""
        col = self.vocabulary.get(term)
        if col is None:
            return np.zeros(rows.shape, dtype=np.bool_)
        start, end = self._weights.indptr[col], self._weights.indptr[col + 1]
        return np.isin(rows, self._weights.indices[start:end])


def _weights(
    variant: Variant,
    model: rank_bm25.BM25,
    idf: FloatArray,
    col: npt.NDArray[np.int64],
    tf: FloatArray,
    norm: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Weights of the stored (document, term) pairs, and each term's weight where it is absent.

    The formulas are rank-bm25's, term for term, so the scores agree to rounding.
    """
    k1 = model.k1
    match variant:
        case Variant.OKAPI:
            return idf[col] * (tf * (k1 + 1) / (tf + k1 * norm)), np.zeros_like(idf)
        case Variant.L:
            ctd = tf / norm
            saturated = tf * (k1 + 1) * (ctd + model.delta) / (k1 + ctd + model.delta)
            return idf[col] * saturated, np.zeros_like(idf)
        case Variant.PLUS:
            return idf[col] * ((tf * (k1 + 1)) / (k1 * norm + tf)), idf * model.delta
