"""Passages → an index that ranks them for a question and abstains when none answers it.

A passage is scored on four BM25 fields: its word stems (the main signal), its exact word forms
(so `menghargai` beats a passage that only shares the stem `harga`), pairs of neighbouring stems
(phrases), and the stems of its article title and section heading. The best candidates are then
reordered by how much of the question they cover, and by how much of it lies close to a word that
could answer it. With passage vectors (`Dense`), the nearest passages in meaning join the
candidates and the order fuses both signals; an English question is ranked by meaning alone.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from retrieval.answers import AnswerType, AnswerTypes
from retrieval.bm25 import BM25Matrix, BM25Params, FloatArray, Variant
from retrieval.chat import Question, QuestionReader
from retrieval.corpus import Passage, Passages
from retrieval.dense import Dense, Vectors
from retrieval.text import Analyzer, Term, general_rarity

# A sentence ends at . ! ? … (and closing quotes) before a space and a capital, digit or quote.
_SENTENCE_BREAK = re.compile(r"[.!?…]+[\"'”’)]*(?=\s+[\"“'(]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"\b(?:[a-z]|dr|drs|ir|prof|no|jl|st|kol|letjen|mayjen|sdr|h|hj)\.$", re.IGNORECASE
)


# Answer types with their own word lists; any word can answer the others.
_LISTED_ANSWERS = (AnswerType.DATE, AnswerType.NUMBER)


class Abstention(StrEnum):
    """Why a question got no answer."""

    EMPTY = "empty"
    """The question has no text at all."""
    NO_WORDS = "no_words"
    """Only stop words, punctuation, emoji, symbols or links: nothing to look for."""
    SMALL_TALK = "small_talk"
    """Greetings, thanks, laughter and the like, with no question: answered in kind."""
    NOT_FOUND = "not_found"
    """The articles do not cover it."""


@dataclass(frozen=True, slots=True)
class SearchParams:
    """Ranking and abstention settings, chosen by measurement (see README, "Measured quality").

    Attributes:
        bm25: The BM25 variant and its k1/b.
        exact_weight: Weight of the exact-word-form field against the stem field.
        pair_weight: Weight of the neighbouring-stem-pair field.
        context_weight: Weight of the title-and-heading field.
        fuzzy_cutoff: Least similarity (0-100, rapidfuzz ratio) for a typo correction.
        fuzzy_min_length: Shorter unknown words are not corrected.
        fuzzy_max_length: Longer unknown words are not corrected (no word is that long).
        coverage_power: The best candidates' scores are multiplied by their coverage of the
            question to this power (a coordination factor: all the question beats part of it
            repeated).
        rerank_depth: How many of the best BM25 candidates the coordination factor reorders.
        answer_depth: How many of the best candidates after that are reordered by answer
            proximity: their scores are multiplied by `answer_floor` plus the share of the
            question's information within `answer_window` words of a possible answer.
        answer_window: How many words either side of a possible answer count as close to it.
        answer_floor: What a passage with no possible answer near the question's words keeps
            of its score (the question's words may still be near an answer the lists miss).
        min_confidence: Least share of the question's information a passage must cover.
        fusion_depth: With passage vectors: how many of the best BM25 candidates are fused.
        dense_depth: With passage vectors: how many passages nearest the question in meaning
            join them.
        dense_weight: How much a difference in cosine similarity weighs against BM25 scores
            divided by the best one: cosines of related passages span about 0.1, so a passage
            0.08 closer in meaning makes up for the whole of the BM25 leader's score.
        english_min_similarity: Least cosine similarity of a passage that answers an English
            question (ranked by meaning alone; its BM25 coverage says nothing).
    """

    bm25: BM25Params = field(default_factory=lambda: BM25Params(Variant.PLUS, k1=0.8, b=0.9))
    exact_weight: float = 0.3
    pair_weight: float = 0.6
    context_weight: float = 0.5
    fuzzy_cutoff: float = 80.0
    fuzzy_min_length: int = 5
    fuzzy_max_length: int = 30
    coverage_power: float = 1.0
    rerank_depth: int = 100
    answer_depth: int = 10
    answer_window: int = 6
    answer_floor: float = 0.2
    min_confidence: float = 0.5
    fusion_depth: int = 30
    dense_depth: int = 30
    dense_weight: float = 12.5
    english_min_similarity: float = 0.79


@dataclass(frozen=True, slots=True)
class Span:
    """A character range `[start, end)` of a passage's text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Hit:
    """One passage returned for a question.

    Attributes:
        passage: The passage.
        score: Its ranking score (comparable only within one question).
        confidence: The share of the question's information the passage covers, 0 to 1.
        matched: The question's words the passage matched, as normalised words.
        highlights: Spans of the passage's words that match the question.
        best: The span of the passage's sentence that best answers the question.
    """

    passage: Passage
    score: float
    confidence: float
    matched: tuple[str, ...]
    highlights: tuple[Span, ...]
    best: Span


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The answer to one question: the passages, or why there are none.

    Attributes:
        query: The message as it came.
        answered: Whether the passages answer it.
        hits: The passages, best first (none when not answered, unless asked for).
        abstention: Why it is not answered.
        question: The message as read: cleaned, its register and small talk (None if empty).
    """

    query: str
    answered: bool
    hits: tuple[Hit, ...]
    abstention: Abstention | None = None
    question: Question | None = None


@dataclass(frozen=True, slots=True)
class _QueryTerm:
    """A question word resolved against the index vocabulary (possibly typo-corrected).

    Attributes:
        asked: The word as the question has it.
        surface: The index's word it stands for.
        stem: That word's stem.
        weight: How much it counts: 1, or a typo correction's similarity.
        optional: Whether it is a word of the question phrase (see `Question.optional`).
    """

    asked: str
    surface: str
    stem: str
    weight: float
    optional: bool = False


@dataclass(frozen=True, slots=True)
class _Query:
    """A question resolved against the index, and what each of its stems is worth.

    Attributes:
        terms: Its words, in order.
        shares: Each required stem's share of the question's information (they sum to 1 at
            most).
        optional: Each optional (question phrase) stem's share, on the same scale.
        answer_type: The kind of word that answers it.
        own_stems: The columns of its words' stems, which cannot be their own answer.
        own_surfaces: The columns of its words' exact forms, likewise.
    """

    terms: tuple[_QueryTerm, ...]
    shares: Mapping[str, float]
    optional: Mapping[str, float]
    answer_type: AnswerType
    own_stems: npt.NDArray[np.int64]
    own_surfaces: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class _Fields:
    """The BM25 fields every passage is scored on, one sparse matrix each."""

    stems: BM25Matrix
    """The passage's word stems: the main signal."""
    exact: BM25Matrix
    """Its exact word forms, so `menghargai` beats a passage that only shares `harga`."""
    pairs: BM25Matrix
    """Pairs of neighbouring stems: phrases."""
    context: BM25Matrix
    """The stems of its article's title and its section heading."""

    @classmethod
    def build(
        cls,
        bodies: Sequence[Sequence[tuple[str, str]]],
        contexts: Iterable[Sequence[str]],
        params: BM25Params,
    ) -> _Fields:
        """Weigh the passages' (surface, stem) words and their title-and-heading stems."""
        # Generators: the matrices count each document's terms and keep no lists of them.
        return cls(
            stems=BM25Matrix(([stem for _, stem in body] for body in bodies), params),
            exact=BM25Matrix(([surface for surface, _ in body] for body in bodies), params),
            pairs=BM25Matrix((_pairs(stem for _, stem in body) for body in bodies), params),
            context=BM25Matrix(contexts, params),
        )

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Every field as plain arrays, named after the field."""
        return {
            name: array
            for part in fields(self)
            for name, array in getattr(self, part.name).to_arrays(f"{part.name}.").items()
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[Any]], size: int) -> _Fields:
        """Rebuild the fields saved by `to_arrays` for `size` passages.

        Raises:
            ValueError: If the arrays do not fit together or hold another number of passages.
        """
        loaded = cls(
            **{part.name: BM25Matrix.from_arrays(arrays, f"{part.name}.") for part in fields(cls)}
        )
        if any(getattr(loaded, part.name).size != size for part in fields(cls)):
            raise ValueError("the saved index does not match the passages")
        return loaded

    def scores(self, terms: Sequence[_QueryTerm], params: SearchParams) -> FloatArray:
        """Every passage's score: the fields' BM25 scores, weighted."""
        stems = _weights((t.stem, t.weight) for t in terms)
        surfaces = _weights((t.surface, t.weight) for t in terms)
        pairs = _weights((pair, 1.0) for pair in _pairs(t.stem for t in terms))
        return (
            self.stems.scores(stems)
            + params.exact_weight * self.exact.scores(surfaces)
            + params.pair_weight * self.pairs.scores(pairs)
            + params.context_weight * self.context.scores(stems)
        )

    def matching(self, terms: Sequence[_QueryTerm], size: int) -> npt.NDArray[np.int64]:
        """The passages whose words, title or heading hold any of the question's stems."""
        stems = _weights((t.stem, t.weight) for t in terms)
        matching = np.zeros(size, dtype=np.bool_)
        matching[self.stems.rows_with(stems)] = True
        matching[self.context.rows_with(stems)] = True
        return np.flatnonzero(matching)

    def holds(self, rows: npt.NDArray[np.int64], stem: str) -> npt.NDArray[np.bool_]:
        """Whether each of `rows` holds `stem` in its words, title or heading."""
        return self.stems.contains(rows, stem) | self.context.contains(rows, stem)


@dataclass(frozen=True, slots=True)
class _Words:
    """Each passage's words in reading order, and which words could answer what.

    Attributes:
        stem_of: For each exact-form column, the column of its stem.
        starts: Passage i's words are `words[starts[i]:starts[i + 1]]`.
        words: All passages' words as exact-form columns.
        answers: For each answer type with its own word list, which exact forms can answer it.
    """

    stem_of: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    words: npt.NDArray[np.int32]
    answers: Mapping[AnswerType, npt.NDArray[np.bool_]]

    @classmethod
    def build(
        cls,
        bodies: Sequence[Sequence[tuple[str, str]]],
        index_fields: _Fields,
        answer_types: AnswerTypes,
    ) -> _Words:
        """Lay out the passages' (surface, stem) words against the fields' vocabularies."""
        stem_of = {surface: stem for body in bodies for surface, stem in body}
        surfaces = index_fields.exact.vocabulary.terms()
        stem_column = index_fields.stems.vocabulary.get
        surface_column = {surface: i for i, surface in enumerate(surfaces)}
        lengths = np.fromiter(map(len, bodies), dtype=np.int64, count=len(bodies))
        starts = np.concatenate(([0], np.cumsum(lengths)))
        return cls(
            stem_of=np.array([stem_column(stem_of[s]) for s in surfaces], dtype=np.int64),
            starts=starts,
            words=np.fromiter(
                (surface_column[surface] for body in bodies for surface, _ in body),
                dtype=np.int32,
                count=int(starts[-1]),
            ),
            answers={
                kind: np.fromiter((answer_types.can_answer(kind, s) for s in surfaces), np.bool_)
                for kind in _LISTED_ANSWERS
            },
        )

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The words as plain arrays."""
        return {
            "surface_stem": self.stem_of,
            "word_starts": self.starts,
            "words": self.words,
            **{f"answers.{kind}": mask for kind, mask in self.answers.items()},
        }

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, npt.NDArray[Any]], index_fields: _Fields, size: int
    ) -> _Words:
        """Rebuild the words saved by `to_arrays` for `size` passages and these fields.

        Raises:
            ValueError: If the arrays do not fit the passages or the fields' vocabularies.
        """
        stem_of, starts, words = arrays["surface_stem"], arrays["word_starts"], arrays["words"]
        answers = {kind: arrays[f"answers.{kind}"] for kind in _LISTED_ANSWERS}
        surfaces, stems = len(index_fields.exact.vocabulary), len(index_fields.stems.vocabulary)
        if (
            stem_of.shape != (surfaces,)
            or np.any((stem_of < 0) | (stem_of >= stems))
            or starts.shape != (size + 1,)
            or starts[0] != 0
            or starts[-1] != words.size
            or np.any(np.diff(starts) < 0)
            or np.any((words < 0) | (words >= surfaces))
            or any(mask.shape != (surfaces,) for mask in answers.values())
        ):
            raise ValueError("the saved index does not match its vocabularies")
        return cls(stem_of, starts, words, answers)

    def of(self, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.integer[Any]], ...]:
        """The words of `rows` one after another (exact-form columns), with what bounds them.

        Also, for each word: the position in `rows` of its passage, and where that passage's
        words start and end among them.
        """
        starts = self.starts[rows]
        lengths = self.starts[rows + 1] - starts
        offsets = np.cumsum(lengths) - lengths
        first = np.repeat(offsets, lengths)
        end = first + np.repeat(lengths, lengths)
        words = self.words[np.repeat(starts, lengths) + np.arange(first.size) - first]
        owner = np.repeat(np.arange(rows.size), lengths)
        return words, owner, first, end


class Index:
    """A searchable set of passages; immutable once built, so it can be swapped in atomically.

    `search` runs in named stages: read the question → resolve its words → score the fields
    → candidates → coverage → answer nearness → (with vectors: meaning, fusion) → abstain → hits.
    """

    def __init__(
        self,
        passages: Sequence[Passage],
        analyzer: Analyzer,
        params: SearchParams | None = None,
        answer_types: AnswerTypes | None = None,
    ) -> None:
        """Analyse `passages` and precompute their BM25 weights.

        `answer_types` defaults to the packaged Indonesian lists; questions are read with the
        packaged register list.

        Raises:
            ValueError: If there is no passage to index.
        """
        if not passages:
            raise ValueError("cannot index an empty corpus")
        self._setup(passages, analyzer, params or SearchParams(), answer_types)
        bodies = [analyzer.tokens(p.text) for p in self.passages]
        contexts: dict[tuple[str, str | None], list[str]] = {}
        for p in self.passages:
            if (p.title, p.heading) not in contexts:
                title = analyzer.tokens(f"{p.title}\n{p.heading or ''}")
                contexts[p.title, p.heading] = [stem for _, stem in title]
        context_of = (contexts[p.title, p.heading] for p in self.passages)
        self._fields = _Fields.build(bodies, context_of, self.params.bm25)
        self._words = _Words.build(bodies, self._fields, self.answer_types)
        self._surfaces = self._fields.exact.vocabulary.terms()

    def _setup(
        self,
        passages: Sequence[Passage],
        analyzer: Analyzer,
        params: SearchParams,
        answer_types: AnswerTypes | None,
    ) -> None:
        self.passages = _frozen(passages)
        self.analyzer = analyzer
        self.params = params
        self.answer_types = answer_types or AnswerTypes.default(analyzer)
        self.reader = QuestionReader.default(analyzer, self.answer_types)
        self.dense: Dense | None = None

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The precomputed weights and words as plain arrays, for an on-disk cache."""
        return {**self._fields.to_arrays(), **self._words.to_arrays()}

    @classmethod
    def from_arrays(
        cls,
        passages: Sequence[Passage],
        analyzer: Analyzer,
        params: SearchParams,
        arrays: Mapping[str, npt.NDArray[Any]],
        answer_types: AnswerTypes | None = None,
    ) -> Index:
        """Rebuild an index saved by `to_arrays` (same passages, analyzer and params).

        Raises:
            ValueError: If the arrays do not fit the passages.
        """
        index = cls.__new__(cls)
        index._setup(passages, analyzer, params, answer_types)
        index._fields = _Fields.from_arrays(arrays, len(index.passages))
        index._words = _Words.from_arrays(arrays, index._fields, len(index.passages))
        index._surfaces = index._fields.exact.vocabulary.terms()
        return index

    def with_dense(self, dense: Dense | None) -> Index:
        """This index with passage vectors (or without any), sharing everything else.

        Raises:
            ValueError: If the vectors are not one per passage.
        """
        if dense is not None and dense.vectors.shape[0] != len(self.passages):
            raise ValueError("the vectors do not match the passages")
        index = copy.copy(self)
        index.dense = dense
        return index

    def search(self, question: str, k: int = 3, *, abstain: bool = True) -> SearchResult:
        """Find the passages that best answer `question`.

        Args:
            question: The question as the user typed it.
            k: At most this many hits.
            abstain: If False, return the top-k ranking even when the question is judged not
                answered (for evaluation); `answered` is still set.

        Returns:
            The result; hits are ordered best first, ties broken by corpus order.
        """
        if not question.strip():
            return SearchResult(question, False, (), Abstention.EMPTY)
        asked = self.reader.read(question)
        if asked.small_talk:
            return SearchResult(question, False, (), Abstention.SMALL_TALK, asked)
        if not asked.asks:
            return SearchResult(question, False, (), Abstention.NO_WORDS, asked)
        query = self._resolve(asked)
        rows, scores = self._candidates(query, max(k, self.params.rerank_depth))
        coverage = self._coverage(query, rows)
        scores = scores * coverage**self.params.coverage_power
        scores = self._near_answers(query, rows, scores)
        order = _best_first(rows, scores)
        rows, scores, coverage = rows[order], scores[order], coverage[order]
        # The engine's decision: whether its first passage answers.
        answered = bool(self._fit(query, rows[:1], coverage[:1]).any())
        meaning = cosine = None
        if self.dense is not None and (asked.english or answered or not abstain):
            meaning = self.dense.question(asked.text)
            similarity = self.dense.similarities(meaning).astype(np.float64)
            rows, scores, cosine = self._fuse(asked, similarity, rows, scores)
            coverage = self._coverage(query, rows)
        rows, scores, coverage = rows[:k], scores[:k], coverage[:k]
        by_meaning = cosine[:k] if asked.english and cosine is not None else None
        fit = self._fit(query, rows, coverage, by_meaning)
        if by_meaning is not None:
            answered = bool(fit[:1].any())
        fit[:1] = answered  # an Indonesian question: the engine's decision, whichever is first
        shown = np.ones_like(fit) if not abstain else fit & answered
        # An English answer's sentence closest in meaning is marked in the first passage only:
        # encoding sentences costs about 10 ms each.
        english = meaning if asked.english else None
        hits = tuple(
            self._hit(int(row), float(score), float(share), query, english if not n else None)
            for n, (row, score, share) in enumerate(
                zip(rows[shown], scores[shown], coverage[shown], strict=True)
            )
        )
        reason = None if answered else Abstention.NOT_FOUND
        return SearchResult(question, answered, hits, reason, asked)

    def _fuse(
        self,
        asked: Question,
        similarity: FloatArray,
        rows: npt.NDArray[np.int64],
        scores: FloatArray,
    ) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
        """The candidates and the passages nearest in meaning, in the fused order.

        `rows` and `scores` are the engine's candidates, best first; `similarity` is every
        passage's cosine with the question. The `fusion_depth` best candidates and the
        `dense_depth` passages nearest in meaning are ranked by their BM25 score divided by the
        engine's best (0 for a passage it did not find) plus `dense_weight` times their
        cosine's distance below the best cosine. An English question is ranked by cosine
        alone: its words meet the articles' by chance.

        Returns:
            The rows best first (ties in corpus order), their fused scores and cosines.
        """
        params = self.params
        nearest = _top_k(similarity, np.arange(similarity.size), params.dense_depth)
        union = np.union1d(rows[: params.fusion_depth], nearest)
        cosine = similarity[union]
        if asked.english:
            fused = cosine
        else:
            lexical = np.zeros(union.shape)
            found = np.isin(union, rows)
            lexical[found] = scores[_positions(rows, union[found])]
            best = scores[0] if scores.size else 1.0
            fused = lexical / best + params.dense_weight * (cosine - cosine.max())
        order = _best_first(union, fused)
        return union[order], fused[order], cosine[order]

    def _resolve(self, asked: Question) -> _Query:
        """Match each question word to the vocabulary and weigh what each is worth."""
        terms = tuple(
            self._resolve_word(term, position in asked.optional)
            for position, term in enumerate(asked.terms)
        )
        shares, optional = self._shares(terms)
        stems, surfaces = self._fields.stems.vocabulary, self._fields.exact.vocabulary
        own_stems = [col for t in terms if (col := stems.get(t.stem)) is not None]
        own_surfaces = [col for t in terms if (col := surfaces.get(t.surface)) is not None]
        return _Query(
            terms,
            shares,
            optional,
            asked.answer_type,
            np.array(own_stems, dtype=np.int64),
            np.array(own_surfaces, dtype=np.int64),
        )

    def _resolve_word(self, term: Term, optional: bool) -> _QueryTerm:
        """One question word as the index knows it: itself, or the closest known word."""
        stems, surfaces = self._fields.stems.vocabulary, self._fields.exact.vocabulary
        if term.stem not in stems and term.surface not in surfaces and self._correctable(term):
            match = process.extractOne(
                term.surface,
                self._surfaces,
                scorer=fuzz.ratio,
                score_cutoff=self.params.fuzzy_cutoff,
            )
            if match is not None:
                word, similarity, column = match
                stem = stems.term(int(self._words.stem_of[column]))
                return _QueryTerm(term.surface, word, stem, similarity / 100, optional)
        return _QueryTerm(term.surface, term.surface, term.stem, 1.0, optional)

    def _correctable(self, term: Term) -> bool:
        p, word = self.params, term.surface
        return p.fuzzy_min_length <= len(word) <= p.fuzzy_max_length and word.isalpha()

    def _candidates(self, query: _Query, depth: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """The `depth` best-scoring passages that match any question word, and their scores.

        Only matching passages are candidates: BM25Plus gives every passage a base score.
        """
        scores = self._fields.scores(query.terms, self.params)
        rows = _top_k(scores, self._fields.matching(query.terms, len(self.passages)), depth)
        return rows, scores[rows]

    def _shares(self, terms: Sequence[_QueryTerm]) -> tuple[dict[str, float], dict[str, float]]:
        """Each question stem's share of the question's information, required and optional.

        The required stems' shares sum to 1 at most; the optional (question phrase) stems' are
        on the same scale. A word's information is the lesser of its rarity in this corpus (idf,
        unseen words at the maximum) and its rarity in Indonesian at large. So a question that
        shares only a common word or a number with the articles covers little of itself, and a
        small corpus does not make an everyday word like "dimulai" look decisive. A
        typo-corrected word earns its share in proportion to its similarity.
        """
        n = len(self.passages)
        most = math.log(1 + (n + 0.5) / 0.5)
        required = {t.stem for t in terms if not t.optional}
        information = {}
        for term in {t.stem: t for t in terms}.values():
            col = self._fields.stems.vocabulary.get(term.stem)
            df = int(self._fields.stems.doc_freq[col]) if col is not None else 0
            local = math.log(1 + (n - df + 0.5) / (df + 0.5)) / most
            information[term.stem] = (min(local, general_rarity(term.asked)), term.weight)
        total = sum(info for stem, (info, _) in information.items() if stem in required)
        shares = {
            stem: info * min(weight, 1.0) / total if total else 0.0
            for stem, (info, weight) in information.items()
        }
        return (
            {stem: share for stem, share in shares.items() if stem in required},
            {stem: share for stem, share in shares.items() if stem not in required},
        )

    def _coverage(self, query: _Query, rows: npt.NDArray[np.int64]) -> FloatArray:
        """Share of the question's information each of `rows` covers, from 0 to 1.

        An optional stem a passage holds counts on both sides of the share; one it lacks, on
        neither. The scores are multiplied by it (a coordination factor: all of the question
        beats part of it repeated), and a passage must cover `min_confidence` of it.
        """
        covered, extra = np.zeros(rows.shape), np.zeros(rows.shape)
        for stem, share in query.shares.items():
            covered += self._fields.holds(rows, stem) * share
        for stem, share in query.optional.items():
            present = self._fields.holds(rows, stem) * share
            covered += present
            extra += present
        return covered / (1 + extra)

    def _near_answers(
        self, query: _Query, rows: npt.NDArray[np.int64], scores: FloatArray
    ) -> FloatArray:
        """The scores reordered by how close the question's words stand to a possible answer.

        The `answer_depth` best are multiplied by `answer_floor` plus their answer nearness;
        the rest by the floor alone, which keeps them below every reordered one.
        """
        head = _best_first(rows, scores)[: self.params.answer_depth]
        nearness = np.zeros(rows.shape)
        nearness[head] = self._answer_nearness(query, rows[head])
        return scores * (self.params.answer_floor + nearness)

    def _answer_nearness(self, query: _Query, rows: npt.NDArray[np.int64]) -> FloatArray:
        """For each of `rows`, the most of the question's information near one possible answer.

        A possible answer is a word of the expected type that is not one of the question's
        words; near means within `answer_window` words (stop words not counted). A passage that
        answers the question states the answer next to what the question asks about, while a
        passage that only shares the question's topic (often the story's lead) spreads the
        question's words far from any such word, or has none.
        """
        stem_vocabulary = self._fields.stems.vocabulary
        known = {
            col: share
            for stem, share in query.shares.items()
            if (col := stem_vocabulary.get(stem)) is not None
        }
        question_stems = np.fromiter(known, dtype=np.int64, count=len(known))
        weights = np.fromiter(known.values(), dtype=np.float64, count=len(known))
        words, owner, first, end = self._words.of(rows)
        at = np.flatnonzero(self._possible_answers(query, words))
        # seen[j, c]: how many of the first j words match question stem c.
        matched = self._words.stem_of[words][:, None] == question_stems[None, :]
        seen = np.vstack((np.zeros((1, len(known))), matched.cumsum(axis=0)))
        window = self.params.answer_window
        near = seen[np.minimum(at + window + 1, end[at])] - seen[np.maximum(at - window, first[at])]
        nearness = np.zeros(rows.shape)
        np.maximum.at(nearness, owner[at], (near > 0) @ weights)
        return nearness

    def _fit(
        self,
        query: _Query,
        rows: npt.NDArray[np.int64],
        coverage: FloatArray,
        cosine: FloatArray | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Which of `rows` may be shown as an answer.

        A passage must cover `min_confidence` of the question's information, and hold a word
        that could answer it at all: a passage with no date cannot answer "kapan", nor one
        with no number "berapa", however much of the question it repeats. For an English
        question, ranked by meaning (`cosine` given), its cosine must reach
        `english_min_similarity` instead: its words say nothing.
        """
        if cosine is not None:
            fit: npt.NDArray[np.bool_] = cosine >= self.params.english_min_similarity
            return fit
        fit = coverage >= self.params.min_confidence
        if query.answer_type in self._words.answers:
            words, owner, _, _ = self._words.of(rows)
            holds = np.zeros(rows.shape, dtype=np.bool_)
            holds[owner[self._possible_answers(query, words)]] = True
            fit &= holds
        return fit

    def _possible_answers(
        self, query: _Query, words: npt.NDArray[np.integer[Any]]
    ) -> npt.NDArray[np.bool_]:
        """Which of `words` could answer: of the expected type, and not the question's own."""
        possible = ~np.isin(self._words.stem_of[words], query.own_stems)
        possible &= ~np.isin(words, query.own_surfaces)
        if query.answer_type in self._words.answers:
            possible &= self._words.answers[query.answer_type][words]
        return possible

    def _hit(
        self,
        row: int,
        score: float,
        confidence: float,
        query: _Query,
        meaning: Vectors | None = None,
    ) -> Hit:
        """The passage of `row` as a hit: its words that match the question, its best sentence.

        When none of its words match and the question vector `meaning` is given (an English
        question), the sentence closest in meaning is the best one, and it is what is marked.
        """
        passage = self.passages[row]
        wanted = {t.stem: t.asked for t in query.terms}
        highlights = []
        matched: dict[str, None] = {}
        for term in self.analyzer.terms(passage.text):
            if term.stem in wanted:
                highlights.append(Span(term.start, term.end))
                matched[wanted[term.stem]] = None
        best = _best_sentence(passage.text, highlights)
        if not highlights and meaning is not None and self.dense is not None:
            spans = sentences(passage.text)
            texts = [passage.text[span.start : span.end] for span in spans]
            best = spans[int(np.argmax(self.dense.sentences(texts, meaning)))]
            highlights = [best]
        return Hit(
            passage=passage,
            score=score,
            confidence=confidence,
            matched=tuple(matched),
            highlights=tuple(dict.fromkeys(highlights)),
            best=best,
        )


def _frozen(passages: Sequence[Passage]) -> Sequence[Passage]:
    """`passages` as an immutable sequence, without copying a compact store into objects."""
    return passages if isinstance(passages, Passages | tuple) else tuple(passages)


def _weights(pairs: Iterable[tuple[str, float]]) -> dict[str, float]:
    weights: dict[str, float] = {}
    for term, weight in pairs:
        weights[term] = weights.get(term, 0.0) + weight
    return weights


def _pairs(stems: Iterable[str]) -> list[str]:
    return [f"{a} {b}" for a, b in pairwise(stems)]


def _best_first(rows: npt.NDArray[np.int64], scores: FloatArray) -> npt.NDArray[np.int64]:
    """Positions of `rows` by `scores`, best first; ties in corpus order."""
    return np.lexsort((rows, -scores))


def _positions(rows: npt.NDArray[np.int64], wanted: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Where each of `wanted` (all of them among `rows`, which are distinct) is in `rows`."""
    sorter = np.argsort(rows)
    return sorter[np.searchsorted(rows, wanted, sorter=sorter)]


def _top_k(scores: FloatArray, candidates: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.int64]:
    """The k best-scoring of `candidates` (ascending indices), best first, ties in corpus order."""
    candidates = candidates[scores[candidates] > 0]
    if candidates.size > k > 0:
        threshold = np.partition(scores[candidates], -k)[-k]
        candidates = candidates[scores[candidates] >= threshold]
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order][:k].astype(np.int64)


def sentences(text: str) -> list[Span]:
    """Split a paragraph into sentence spans (news-style punctuation, common abbreviations)."""
    spans = []
    start = 0
    for match in _SENTENCE_BREAK.finditer(text):
        if _ABBREVIATION.search(text, max(0, match.end() - 12), match.end()):
            continue
        spans.append(Span(start, match.end()))
        start = match.end()
        while start < len(text) and text[start].isspace():
            start += 1
    spans.append(Span(start, len(text)))
    return [span for span in spans if span.end > span.start]


def _best_sentence(text: str, highlights: Sequence[Span]) -> Span:
    """The sentence holding the most distinct matched words (the first one on a tie)."""
    best, best_count = Span(0, len(text)), -1.0
    for span in sentences(text):
        words = {
            text[h.start : h.end].casefold() for h in highlights if span.start <= h.start < span.end
        }
        if len(words) > best_count:
            best, best_count = span, len(words)
    return best
