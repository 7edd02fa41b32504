"""BM25 scoring as rank-bm25 defines it, precomputed into a sparse matrix.

rank-bm25 loops in Python over every document for every query word; here its statistics and
weights are computed once with numpy, and a query's scores are a column slice and a product.
rank-bm25 stays the reference: a parity test holds the scores to it (tests/test_bm25.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

FloatArray = npt.NDArray[np.float64]
# rank-bm25's defaults for the variants' extra parameters.
OKAPI_EPSILON = 0.25
L_DELTA = 0.5
PLUS_DELTA = 1.0


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


class Vocabulary:
    """Sorted terms in one UTF-8 blob: term → column by binary search, with no per-term objects.

    A dictionary of millions of terms (the stem pairs of a news archive) costs seconds of
    single-threaded Python to rebuild from a cache; this loads as two arrays.
    """

    def __init__(self, terms: Sequence[str]) -> None:
        """Store `terms`, which must be sorted and free of newlines."""
        blob = "".join(f"{term}\n" for term in terms).encode("utf-8")
        lengths = np.fromiter((len(t.encode("utf-8")) + 1 for t in terms), np.int64, len(terms))
        self._blob = blob
        self._starts = np.concatenate(([0], np.cumsum(lengths)))
        self._bounds = self._starts.data  # a memoryview: Python ints on indexing, fast to search

    def to_arrays(self, prefix: str) -> dict[str, npt.NDArray[Any]]:
        """The vocabulary as two arrays, names starting with `prefix`."""
        return {
            f"{prefix}blob": np.frombuffer(self._blob, dtype=np.uint8),
            f"{prefix}starts": self._starts,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[Any]], prefix: str) -> Vocabulary:
        """Rebuild a vocabulary saved by `to_arrays`.

        Raises:
            ValueError: If the arrays do not fit together.
        """
        vocabulary = cls.__new__(cls)
        vocabulary._blob = arrays[f"{prefix}blob"].tobytes()
        starts = np.ascontiguousarray(arrays[f"{prefix}starts"], dtype=np.int64)
        size = len(vocabulary._blob)
        if starts.ndim != 1 or starts[:1].tolist() != [0] or starts[-1] != size:
            raise ValueError("inconsistent vocabulary arrays")
        if np.any(np.diff(starts) < 1):
            raise ValueError("inconsistent vocabulary arrays")
        vocabulary._starts = starts
        vocabulary._bounds = starts.data
        return vocabulary

    def __len__(self) -> int:
        return len(self._bounds) - 1

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.get(term) is not None

    def get(self, term: str) -> int | None:
        """The column of `term`, or None if no document holds it."""
        key = term.encode("utf-8", "surrogatepass")
        blob, bounds = self._blob, self._bounds
        low, high = 0, len(bounds) - 1
        while low < high:
            middle = (low + high) // 2
            # UTF-8 byte order is code point order, the order the terms were sorted in.
            if blob[bounds[middle] : bounds[middle + 1] - 1] < key:
                low = middle + 1
            else:
                high = middle
        if low < len(bounds) - 1 and blob[bounds[low] : bounds[low + 1] - 1] == key:
            return low
        return None

    def term(self, column: int) -> str:
        """The term of `column`."""
        return self._blob[self._bounds[column] : self._bounds[column + 1] - 1].decode("utf-8")

    def terms(self) -> list[str]:
        """Every term, in column order."""
        return self._blob.decode("utf-8").split("\n")[:-1]


class BM25Matrix:
    """Per-term BM25 weights of every document, so a query's scores are one sparse product.

    The statistics (idf, document lengths, average length) follow rank-bm25's definitions
    exactly, computed with numpy instead of per-document dictionaries; a parity test holds the
    scores to rank-bm25's within 1e-9.

    Attributes:
        vocabulary: Term → column (columns are in the terms' sorted order).
        idf: The idf of each column, as rank-bm25 defines it.
        doc_freq: How many documents hold each column's term.
        size: Number of documents.
    """

    def __init__(self, documents: Iterable[Sequence[str]], params: BM25Params) -> None:
        columns: dict[str, int] = {}
        column = columns.setdefault
        ids: list[int] = []
        lengths: list[int] = []
        for document in documents:
            ids.extend(column(term, len(columns)) for term in document)
            lengths.append(len(document))
        self.size = len(lengths)
        width = len(columns)
        # Columns follow the terms' sorted order, so the vocabulary can be a searchable blob.
        terms = sorted(columns)
        self.vocabulary = Vocabulary(terms)
        sorted_column = np.empty(width, dtype=np.int64)
        sorted_column[np.fromiter((columns[t] for t in terms), np.int64, width)] = np.arange(width)
        del columns, terms
        doc_len = np.array(lengths, dtype=np.float64)
        rows = np.repeat(np.arange(self.size, dtype=np.int64), lengths)
        cols = sorted_column[np.array(ids, dtype=np.int64)]
        del ids
        counts = sparse.csr_array((np.ones(len(cols)), (rows, cols)), shape=(self.size, width))
        counts.sum_duplicates()
        self.doc_freq = np.bincount(counts.indices, minlength=width)
        self.idf = _idf(params.variant, self.size, self.doc_freq)
        self._constant = np.zeros(width)
        if not width:
            self._weights = sparse.csc_array((self.size, 0))
            return
        norm = 1 - params.b + params.b * doc_len / doc_len.mean()
        row_of = np.repeat(np.arange(self.size), np.diff(counts.indptr))
        values, self._constant = _weights(
            params, self.idf, counts.indices, counts.data, norm[row_of]
        )
        self._weights = sparse.csr_array(
            (values, counts.indices, counts.indptr), shape=counts.shape
        ).tocsc()
        self._weights.sort_indices()  # `contains` binary-searches each column

    def to_arrays(self, prefix: str) -> dict[str, npt.NDArray[Any]]:
        """The matrix as plain arrays (no pickling needed), names starting with `prefix`."""
        weights = self._weights
        return {
            **self.vocabulary.to_arrays(f"{prefix}vocabulary."),
            f"{prefix}doc_freq": self.doc_freq,
            f"{prefix}idf": self.idf,
            f"{prefix}constant": self._constant,
            f"{prefix}data": weights.data,
            f"{prefix}indices": weights.indices,
            f"{prefix}indptr": weights.indptr,
            f"{prefix}shape": np.array(weights.shape, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[Any]], prefix: str) -> BM25Matrix:
        """Rebuild a matrix saved by `to_arrays`.

        Raises:
            ValueError: If the arrays do not fit together.
        """
        matrix = cls.__new__(cls)
        matrix.vocabulary = Vocabulary.from_arrays(arrays, f"{prefix}vocabulary.")
        matrix.doc_freq = arrays[f"{prefix}doc_freq"]
        matrix.idf = arrays[f"{prefix}idf"]
        matrix._constant = arrays[f"{prefix}constant"]
        rows, cols = (int(n) for n in arrays[f"{prefix}shape"])
        matrix.size = rows
        matrix._weights = sparse.csc_array(
            (arrays[f"{prefix}data"], arrays[f"{prefix}indices"], arrays[f"{prefix}indptr"]),
            shape=(rows, cols),
        )
        if len(matrix.vocabulary) != cols or matrix.doc_freq.shape != (cols,):
            raise ValueError("inconsistent BM25 matrix arrays")
        return matrix

    def columns(self, terms: Mapping[str, float]) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """Return the columns of the known `terms` and their query weights."""
        found = ((self.vocabulary.get(t), w) for t, w in terms.items())
        known = [(c, w) for c, w in found if c is not None]
        cols = np.array([c for c, _ in known], dtype=np.int64)
        return cols, np.array([w for _, w in known], dtype=np.float64)

    def rows_with(self, terms: Mapping[str, float]) -> npt.NDArray[np.int32]:
        """The documents that hold any of `terms` (a document may appear more than once)."""
        cols, _ = self.columns(terms)
        indptr, indices = self._weights.indptr, self._weights.indices
        parts = [indices[indptr[c] : indptr[c + 1]] for c in cols]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)

    def scores(self, terms: Mapping[str, float]) -> FloatArray:
        """Score every document for weighted query terms.

        A term's weight is how often it is asked (as in rank-bm25), or less for a typo correction.
        """
        cols, weights = self.columns(terms)
        result = np.full(self.size, float(self._constant[cols] @ weights))
        indptr, indices, data = self._weights.indptr, self._weights.indices, self._weights.data
        for col, weight in zip(cols, weights, strict=True):
            start, end = indptr[col], indptr[col + 1]
            result[indices[start:end]] += weight * data[start:end]  # rows are unique per column
        return result

    def contains(self, rows: npt.NDArray[np.int64], term: str) -> npt.NDArray[np.bool_]:
        """Tell for each of `rows` whether its document holds `term`."""
        col = self.vocabulary.get(term)
        if col is None:
            return np.zeros(rows.shape, dtype=np.bool_)
        start, end = self._weights.indptr[col], self._weights.indptr[col + 1]
        holders = self._weights.indices[start:end]
        found = np.searchsorted(holders, rows)
        present: npt.NDArray[np.bool_] = (found < holders.size) & (
            holders[np.minimum(found, holders.size - 1)] == rows
        )
        return present


def _idf(variant: Variant, size: int, doc_freq: npt.NDArray[np.int64]) -> FloatArray:
    """rank-bm25's idf for each term, given how many of `size` documents hold it."""
    n = doc_freq.astype(np.float64)
    match variant:
        case Variant.OKAPI:
            idf: FloatArray = np.log(size - n + 0.5) - np.log(n + 0.5)
            if idf.size:
                # Words in more than half of the documents get a floor of 0.25 x the mean idf.
                idf[idf < 0] = OKAPI_EPSILON * idf.mean()
            return idf
        case Variant.L:
            return np.asarray(np.log(size + 1) - np.log(n + 0.5), dtype=np.float64)
        case Variant.PLUS:
            return np.asarray(np.log((size + 1) / n), dtype=np.float64)


def _weights(
    params: BM25Params,
    idf: FloatArray,
    col: npt.NDArray[np.int32],
    tf: FloatArray,
    norm: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Weights of the stored (document, term) pairs, and each term's weight where it is absent.

    The formulas are rank-bm25's, term for term, so the scores agree to rounding.
    """
    k1 = params.k1
    match params.variant:
        case Variant.OKAPI:
            return idf[col] * (tf * (k1 + 1) / (tf + k1 * norm)), np.zeros_like(idf)
        case Variant.L:
            ctd = tf / norm
            saturated = tf * (k1 + 1) * (ctd + L_DELTA) / (k1 + ctd + L_DELTA)
            return idf[col] * saturated, np.zeros_like(idf)
        case Variant.PLUS:
            return idf[col] * ((tf * (k1 + 1)) / (k1 * norm + tf)), idf * PLUS_DELTA
