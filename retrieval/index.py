"""Passages → an index that ranks them for a question and abstains when none answers it.

A passage is scored on four BM25 fields: its word stems (the main signal), its exact word forms
(so `menghargai` beats a passage that only shares the stem `harga`), pairs of neighbouring stems
(phrases), and the stems of its article title and section heading. The best candidates are then
reordered by how much of the question they cover, and by how much of it lies close to a word that
could answer it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
    """A question word resolved against the index vocabulary (possibly typo-corrected)."""

    asked: str
    surface: str
    stem: str
    weight: float
    optional: bool = False


class Index:
    """A searchable set of passages; immutable once built, so it can be swapped in atomically."""

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
        self.passages = _frozen(passages)
        self.analyzer = analyzer
        self.params = params or SearchParams()
        self.answer_types = answer_types or AnswerTypes.default(analyzer)
        self.reader = QuestionReader.default(analyzer, self.answer_types)
        bodies = [analyzer.tokens(p.text) for p in self.passages]
        contexts: dict[tuple[str, str | None], list[str]] = {}
        for p in self.passages:
            if (p.title, p.heading) not in contexts:
                title = analyzer.tokens(f"{p.title}\n{p.heading or ''}")
                contexts[p.title, p.heading] = [stem for _, stem in title]
        bm25 = self.params.bm25
        # Generators: each document's terms can go as soon as they are counted.
        self._stems = BM25Matrix(([stem for _, stem in body] for body in bodies), bm25)
        self._exact = BM25Matrix(([surface for surface, _ in body] for body in bodies), bm25)
        self._pairs = BM25Matrix((_pairs(stem for _, stem in body) for body in bodies), bm25)
        self._context = BM25Matrix((contexts[p.title, p.heading] for p in self.passages), bm25)
        stem_of = {surface: stem for body in bodies for surface, stem in body}
        surfaces = self._exact.vocabulary.terms()
        stem_column = self._stems.vocabulary.get
        self._surface_stem = np.array([stem_column(stem_of[s]) for s in surfaces], dtype=np.int64)
        self._surfaces = surfaces
        # Each passage's words in reading order (as exact-form columns), for answer nearness.
        surface_column = {surface: i for i, surface in enumerate(surfaces)}
        lengths = np.fromiter(map(len, bodies), dtype=np.int64, count=len(bodies))
        self._word_starts = np.concatenate(([0], np.cumsum(lengths)))
        self._words = np.fromiter(
            (surface_column[surface] for body in bodies for surface, _ in body),
            dtype=np.int32,
            count=int(self._word_starts[-1]),
        )
        self._answers = {
            kind: np.fromiter((self.answer_types.can_answer(kind, s) for s in surfaces), np.bool_)
            for kind in _LISTED_ANSWERS
        }

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The precomputed weights as plain arrays, for an on-disk cache."""
        arrays: dict[str, npt.NDArray[Any]] = {}
        for name, matrix in self._fields().items():
            arrays |= matrix.to_arrays(f"{name}.")
        arrays["surface_stem"] = self._surface_stem
        arrays["word_starts"] = self._word_starts
        arrays["words"] = self._words
        for kind, mask in self._answers.items():
            arrays[f"answers.{kind}"] = mask
        return arrays

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
        index.passages = _frozen(passages)
        index.analyzer = analyzer
        index.params = params
        index.answer_types = answer_types or AnswerTypes.default(analyzer)
        index.reader = QuestionReader.default(analyzer, index.answer_types)
        index._stems = BM25Matrix.from_arrays(arrays, "stems.")
        index._exact = BM25Matrix.from_arrays(arrays, "exact.")
        index._pairs = BM25Matrix.from_arrays(arrays, "pairs.")
        index._context = BM25Matrix.from_arrays(arrays, "context.")
        if any(m.size != len(index.passages) for m in index._fields().values()):
            raise ValueError("the saved index does not match the passages")
        surface_stem = arrays["surface_stem"]
        stems = len(index._stems.vocabulary)
        if surface_stem.shape != (len(index._exact.vocabulary),) or np.any(
            (surface_stem < 0) | (surface_stem >= stems)
        ):
            raise ValueError("the saved index does not match its vocabularies")
        surfaces = len(index._exact.vocabulary)
        starts, words = arrays["word_starts"], arrays["words"]
        answers = {kind: arrays[f"answers.{kind}"] for kind in _LISTED_ANSWERS}
        if (
            starts.shape != (len(index.passages) + 1,)
            or starts[0] != 0
            or starts[-1] != words.size
            or np.any(np.diff(starts) < 0)
            or np.any((words < 0) | (words >= surfaces))
            or any(mask.shape != (surfaces,) for mask in answers.values())
        ):
            raise ValueError("the saved index does not match its vocabularies")
        index._surface_stem = surface_stem
        index._surfaces = index._exact.vocabulary.terms()
        index._word_starts = starts
        index._words = words
        index._answers = answers
        return index

    def _fields(self) -> dict[str, BM25Matrix]:
        return {
            "stems": self._stems,
            "exact": self._exact,
            "pairs": self._pairs,
            "context": self._context,
        }

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
            return SearchResult(question, answered=False, hits=(), abstention=Abstention.EMPTY)
        asked = self.reader.read(question)
        if asked.small_talk:
            return SearchResult(question, False, (), Abstention.SMALL_TALK, asked)
        if not asked.asks:
            return SearchResult(question, False, (), Abstention.NO_WORDS, asked)
        terms = self._resolve(asked.terms, asked.optional)
        p = self.params
        scores, matching = self._score(terms)
        candidates = _top_k(scores, matching, max(k, p.rerank_depth))
        shares, optional = self._shares(terms)
        coverage = self._confidence(shares, optional, candidates)
        reranked = scores[candidates] * coverage**p.coverage_power
        # Below the answer depth nothing is near an answer as far as the ranking knows, which
        # keeps those candidates below every reordered one.
        head = np.lexsort((candidates, -reranked))[: p.answer_depth]
        nearness = np.zeros(candidates.shape)
        nearness[head] = self._answer_nearness(candidates[head], shares, terms, asked.answer_type)
        reranked *= p.answer_floor + nearness
        order = np.lexsort((candidates, -reranked))[:k]
        top, confidence, final = candidates[order], coverage[order], reranked[order]
        ok = (confidence >= p.min_confidence) & self._holds_answer(top, terms, asked.answer_type)
        answered = bool(top.size) and bool(ok[0])
        if abstain:
            ok &= answered
        else:
            ok[:] = True
        hits = tuple(
            self._hit(int(row), float(score), float(conf), terms)
            for row, score, conf in zip(top[ok], final[ok], confidence[ok], strict=True)
        )
        return SearchResult(
            question,
            answered=answered,
            hits=hits,
            abstention=None if answered else Abstention.NOT_FOUND,
            question=asked,
        )

    def _resolve(self, asked: Sequence[Term], optional: frozenset[int]) -> list[_QueryTerm]:
        """Match each question word to the vocabulary, correcting typos of unknown words.

        The words at the `optional` positions are the question phrase's (see `Question`).
        """
        resolved = []
        for position, term in enumerate(asked):
            spare = position in optional
            known = term.stem in self._stems.vocabulary or term.surface in self._exact.vocabulary
            match = None
            if not known and self._correctable(term.surface):
                match = process.extractOne(
                    term.surface,
                    self._surfaces,
                    scorer=fuzz.ratio,
                    score_cutoff=self.params.fuzzy_cutoff,
                )
            if match is None:
                resolved.append(_QueryTerm(term.surface, term.surface, term.stem, 1.0, spare))
            else:
                word, similarity, column = match
                stem = self._stems.vocabulary.term(int(self._surface_stem[column]))
                resolved.append(_QueryTerm(term.surface, word, stem, similarity / 100, spare))
        return resolved

    def _correctable(self, word: str) -> bool:
        p = self.params
        return p.fuzzy_min_length <= len(word) <= p.fuzzy_max_length and word.isalpha()

    def _score(self, terms: Sequence[_QueryTerm]) -> tuple[FloatArray, npt.NDArray[np.int64]]:
        """Scores of every passage, and the passages that match any question word.

        Only matching passages are candidates: BM25Plus gives every passage a base score.
        """
        p = self.params
        stems = _weights((t.stem, t.weight) for t in terms)
        surfaces = _weights((t.surface, t.weight) for t in terms)
        pairs = _weights((pair, 1.0) for pair in _pairs(t.stem for t in terms))
        scores = (
            self._stems.scores(stems)
            + p.exact_weight * self._exact.scores(surfaces)
            + p.pair_weight * self._pairs.scores(pairs)
            + p.context_weight * self._context.scores(stems)
        )
        matching = np.zeros(len(self.passages), dtype=np.bool_)
        matching[self._stems.rows_with(stems)] = True
        matching[self._context.rows_with(stems)] = True
        return scores, np.flatnonzero(matching)

    def _shares(self, terms: Sequence[_QueryTerm]) -> tuple[dict[str, float], dict[str, float]]:
        """Each question stem's share of the question's information, required and optional.

        The required stems' shares sum to 1 at most; the optional (question phrase) stems' are
        on the same scale.

        A word's information is the lesser of its rarity in this corpus (idf, unseen words at
        the maximum) and its rarity in Indonesian at large. So a question that shares only a
        common word or a number with the articles covers little of itself, and a small corpus
        does not make an everyday word like "dimulai" look decisive. A typo-corrected word
        earns its share in proportion to its similarity.
        """
        n = len(self.passages)
        most = math.log(1 + (n + 0.5) / 0.5)
        required = {t.stem for t in terms if not t.optional}
        information = {}
        for term in {t.stem: t for t in terms}.values():
            col = self._stems.vocabulary.get(term.stem)
            df = int(self._stems.doc_freq[col]) if col is not None else 0
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

    def _confidence(
        self,
        shares: Mapping[str, float],
        optional: Mapping[str, float],
        rows: npt.NDArray[np.int64],
    ) -> FloatArray:
        """Share of the question's information each of `rows` covers, from 0 to 1.

        An optional stem a passage holds counts on both sides of the share; one it lacks, on
        neither.
        """
        covered, extra = np.zeros(rows.shape), np.zeros(rows.shape)
        for stem, share in [*shares.items(), *optional.items()]:
            present = self._stems.contains(rows, stem) | self._context.contains(rows, stem)
            covered += present * share
            if stem in optional:
                extra += present * share
        return covered / (1 + extra)

    def _answer_nearness(
        self,
        rows: npt.NDArray[np.int64],
        shares: Mapping[str, float],
        terms: Sequence[_QueryTerm],
        expected: AnswerType,
    ) -> FloatArray:
        """For each of `rows`, the most of the question's information near one possible answer.

        A possible answer is a word of the `expected` type that is not one of the question's
        words; near means within `answer_window` words (stop words not counted). A passage that
        answers the question states the answer next to what the question asks about, while a
        passage that only shares the question's topic (often the story's lead) spreads the
        question's words far from any such word, or has none.
        """
        stem_vocabulary = self._stems.vocabulary
        known = {
            col: share
            for stem, share in shares.items()
            if (col := stem_vocabulary.get(stem)) is not None
        }
        question_stems = np.fromiter(known, dtype=np.int64, count=len(known))
        weights = np.fromiter(known.values(), dtype=np.float64, count=len(known))
        words, owner, first, end = self._passage_words(rows)
        at = np.flatnonzero(self._possible_answers(words, terms, expected))
        # seen[j, c]: how many of the first j words match question stem c.
        matched = self._surface_stem[words][:, None] == question_stems[None, :]
        seen = np.vstack((np.zeros((1, len(known))), matched.cumsum(axis=0)))
        window = self.params.answer_window
        near = seen[np.minimum(at + window + 1, end[at])] - seen[np.maximum(at - window, first[at])]
        nearness = np.zeros(rows.shape)
        np.maximum.at(nearness, owner[at], (near > 0) @ weights)
        return nearness

    def _holds_answer(
        self, rows: npt.NDArray[np.int64], terms: Sequence[_QueryTerm], expected: AnswerType
    ) -> npt.NDArray[np.bool_]:
        """Whether each of `rows` holds a word that could answer the question at all.

        A passage with no date cannot answer "kapan", nor one with no number "berapa", however
        much of the question it repeats.
        """
        held = np.ones(rows.shape, dtype=np.bool_)
        if expected in self._answers:
            words, owner, _, _ = self._passage_words(rows)
            held[:] = False
            held[owner[self._possible_answers(words, terms, expected)]] = True
        return held

    def _passage_words(self, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
        """The words of `rows` one after another (exact-form columns), with what bounds them.

        Also, for each word: the position in `rows` of its passage, and where that passage's
        words start and end among them.
        """
        starts = self._word_starts[rows]
        lengths = self._word_starts[rows + 1] - starts
        offsets = np.cumsum(lengths) - lengths
        first = np.repeat(offsets, lengths)
        end = first + np.repeat(lengths, lengths)
        words = self._words[np.repeat(starts, lengths) + np.arange(first.size) - first]
        owner = np.repeat(np.arange(rows.size), lengths)
        return words.astype(np.int64), owner, first, end

    def _possible_answers(
        self, words: npt.NDArray[np.int64], terms: Sequence[_QueryTerm], expected: AnswerType
    ) -> npt.NDArray[np.bool_]:
        """Which of `words` could answer: of the expected type, and not the question's own."""
        stem_vocabulary, surface_vocabulary = self._stems.vocabulary, self._exact.vocabulary
        own_stems = [col for t in terms if (col := stem_vocabulary.get(t.stem)) is not None]
        own_surfaces = [
            col for t in terms if (col := surface_vocabulary.get(t.surface)) is not None
        ]
        possible = ~np.isin(self._surface_stem[words], own_stems) & ~np.isin(words, own_surfaces)
        if expected in self._answers:
            possible &= self._answers[expected][words]
        return possible

    def _hit(self, row: int, score: float, confidence: float, terms: Sequence[_QueryTerm]) -> Hit:
        passage = self.passages[row]
        wanted = {t.stem: t.asked for t in terms}
        highlights = []
        matched: dict[str, None] = {}
        for term in self.analyzer.terms(passage.text):
            if term.stem in wanted:
                highlights.append(Span(term.start, term.end))
                matched[wanted[term.stem]] = None
        return Hit(
            passage=passage,
            score=score,
            confidence=confidence,
            matched=tuple(matched),
            highlights=tuple(dict.fromkeys(highlights)),
            best=_best_sentence(passage.text, highlights),
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
