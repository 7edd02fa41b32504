"""Measure answer quality on a question file, against plain rank-bm25 in the same run.

    python -m retrieval.evaluate QUESTIONS.jsonl --corpus DIR [--stemmer snowball|sastrawi|none]
        [--holdout 0.1] [--split even|odd] [--cache DIR] [--no-semantic]

A question file has one JSON object a line with `question` and `gold`: texts of the paragraphs
that answer it (a returned passage counts when a gold text, whitespace-normalised, is part of
it); `gold: []` marks a question the articles do not cover, which must abstain. *ans&right*,
the figure a user sees, is the share of answerable questions that were answered with a right
passage first.

A chat-style file (rows also have `clean`, the question before it was typed the way people
chat, and a `kind`) is measured both ways, per kind: clean and as typed; its small talk
(`gold: []`) must not be answered.

`--holdout F` also measures abstention at scale: the articles answering a random share F of the
questions are removed from the corpus; those questions should abstain, the rest keep answering.

The engine is measured by BM25 alone and as the hybrid (with the multilingual encoder's passage
vectors), in the same run. The vectors are computed once and kept in an index cache under
`--cache` (default `.cache/evaluate`), by passage text, like the bot's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import rank_bm25

from retrieval.bm25 import BM25Params, Variant
from retrieval.cache import IndexConfig, Stemmer, complete_vectors, open_index, read_vectors
from retrieval.corpus import CorpusError, Passage, load_corpus
from retrieval.dense import Dense, Encoder, PassageVectors, load_encoder
from retrieval.index import Index, SearchParams
from retrieval.text import Analyzer, load_word_list, load_word_map

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Question:
    """A question and the normalised texts of the paragraphs that answer it.

    Chat-style questions also have their `clean` original and the `kind` of chat around it.
    """

    text: str
    gold: tuple[str, ...]
    clean: str | None = None
    kind: str | None = None

    def is_answered_by(self, passage: Passage) -> bool:
        """Whether `passage` is one of the gold paragraphs."""
        body = _squash(passage.text)
        return any(g in body for g in self.gold)


@dataclass(frozen=True, slots=True)
class Scores:
    """Ranking and abstention figures for one method on one question set."""

    hit1: float
    hit3: float
    mrr10: float
    answered_in_scope: float
    answered_right: float
    abstained_out_of_scope: float | None


def load_questions(path: Path) -> list[Question]:
    """Read a question file in the format of `shared/eval`."""
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            gold = tuple(map(_squash, item["gold"]))
            questions.append(Question(item["question"], gold, item.get("clean"), item.get("kind")))
    return questions


def evaluate(
    rank: Callable[[str], tuple[bool, Sequence[Passage]]], questions: Sequence[Question]
) -> Scores:
    """Score a ranking function: it returns (answered, passages best first, up to 10)."""
    ranks: list[int | None] = []
    answered_in, answered_right, abstained_out, out_of_scope = 0, 0, 0, 0
    for question in questions:
        answered, passages = rank(question.text)
        if not question.gold:
            out_of_scope += 1
            abstained_out += not answered
            continue
        answered_in += answered
        position = next(
            (i for i, p in enumerate(passages[:10], 1) if question.is_answered_by(p)), None
        )
        ranks.append(position)
        answered_right += answered and position == 1
    n = max(len(ranks), 1)
    return Scores(
        hit1=sum(r == 1 for r in ranks) / n,
        hit3=sum(r is not None and r <= 3 for r in ranks) / n,
        mrr10=sum(1 / r for r in ranks if r is not None) / n,
        answered_in_scope=answered_in / n,
        answered_right=answered_right / n,
        abstained_out_of_scope=abstained_out / out_of_scope if out_of_scope else None,
    )


def chatty_table(
    rank: Callable[[str], tuple[bool, Sequence[Passage]]], questions: Sequence[Question]
) -> str:
    """Answered-and-first-right per kind of chat, clean and as typed; small talk not answered."""
    kinds = sorted({q.kind or "-" for q in questions if q.gold})
    lines = [f"{'kind':<12} {'questions':>9} {'clean':>7} {'as typed':>9}"]
    for kind in [*kinds, "all"]:
        chosen = [q for q in questions if q.gold and kind in {"all", q.kind or "-"}]
        clean = evaluate(rank, [replace(q, text=q.clean or q.text) for q in chosen])
        typed = evaluate(rank, chosen)
        lines.append(
            f"{kind:<12} {len(chosen):>9} {clean.answered_right:>7.3f} {typed.answered_right:>9.3f}"
        )
    small_talk = [q for q in questions if not q.gold]
    if small_talk:
        quiet = sum(not rank(q.text)[0] for q in small_talk)
        lines.append(f"small talk not answered: {quiet} of {len(small_talk)}")
    return "\n".join(lines)


def engine_ranker(index: Index) -> Callable[[str], tuple[bool, Sequence[Passage]]]:
    """Rank with the engine; `answered` is its abstention decision."""

    def rank(question: str) -> tuple[bool, Sequence[Passage]]:
        result = index.search(question, 10, abstain=False)
        return result.answered, [hit.passage for hit in result.hits]

    return rank


def baseline_ranker(passages: Sequence[Passage]) -> Callable[[str], tuple[bool, Sequence[Passage]]]:
    """Plain rank-bm25 on lower-cased whitespace tokens; answers whenever a score is above 0."""
    model = rank_bm25.BM25Okapi([p.text.lower().split() for p in passages])

    def rank(question: str) -> tuple[bool, Sequence[Passage]]:
        scores = model.get_scores(question.lower().split())
        order = np.argsort(-scores, kind="stable")[:10]
        return bool(scores.max(initial=0.0) > 0), [passages[i] for i in order]

    return rank


def make_analyzer(stemmer: str) -> Analyzer:
    """The engine's analyzer with the named stemmer (for the stemmer comparison)."""
    if stemmer != "sastrawi":
        return IndexConfig(stemmer=Stemmer(stemmer)).analyzer()
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    sastrawi = StemmerFactory().create_stemmer()
    # Its dictionary is a list searched word by word; a set gives the same answers, faster.
    dictionary = sastrawi.delegatedStemmer.dictionary
    dictionary.words = set(dictionary.words)
    return Analyzer(
        stop_words=load_word_list("stopwords.txt"),
        slang=load_word_map("slang.tsv"),
        stem=sastrawi.stem,
    )


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _row(name: str, scores: Scores) -> str:
    oos = "-" if scores.abstained_out_of_scope is None else f"{scores.abstained_out_of_scope:.3f}"
    return (
        f"{name:<28} {scores.hit1:>6.3f} {scores.hit3:>6.3f} {scores.mrr10:>7.3f}"
        f" {scores.answered_in_scope:>9.3f} {scores.answered_right:>9.3f} {oos:>9}"
    )


def _holdout(
    questions: Sequence[Question],
    passages: Sequence[Passage],
    engines: Sequence[tuple[str, Index]],
    share: float,
    seed: int,
) -> str:
    """Remove the gold articles of a random share of questions; report both abstention rates.

    Each of `engines` (name, index of all the passages) is measured on the passages left.
    """
    in_scope = [q for q in questions if q.gold]
    held = set(random.Random(seed).sample(range(len(in_scope)), round(share * len(in_scope))))
    removed = {p.file for i in held for p in passages if in_scope[i].is_answered_by(p)}
    kept = [
        q for i, q in enumerate(in_scope) if i not in held and not _touches(q, passages, removed)
    ]
    unanswerable = [Question(in_scope[i].text, ()) for i in sorted(held)]
    rows = [i for i, p in enumerate(passages) if p.file not in removed]
    counts = []
    left = [passages[i] for i in rows]
    lines = [
        f"holdout: removed the {len(removed)} articles answering {len(held)} questions "
        f"(seed {seed}); {len(kept)} questions keep their article",
        _header(),
        _row("baseline score>0", evaluate(baseline_ranker(left), [*kept, *unanswerable])),
    ]
    for name, full in engines:
        index = Index(left, full.analyzer, full.params)
        if full.dense is not None:
            index = index.with_dense(Dense(full.dense.encoder, full.dense.vectors[rows]))
        scores = evaluate(engine_ranker(index), [*kept, *unanswerable])
        lines.append(_row(name, scores))
        counts.append(f"{name} {round(scores.answered_right * len(kept))}")
    lines.append(f"kept questions answered and first right, of {len(kept)}: {', '.join(counts)}")
    return "\n".join(lines)


def passage_vectors(
    corpus_dir: Path, passages: Sequence[Passage], cache: Path, encoder: Encoder
) -> PassageVectors:
    """The vectors of `passages` (of `corpus_dir`), computed once and kept in `cache`.

    The cache is an index cache like the bot's, one per corpus directory; only passages whose
    text is new are encoded.

    Raises:
        CorpusError: If the directory holds no usable article.
        OSError, KeyError, ValueError: If the cache cannot be written or read back.
    """
    name = hashlib.sha256(str(corpus_dir.resolve()).encode()).hexdigest()[:16]
    cache_file = cache / f"{corpus_dir.resolve().name}-{name}.npz"
    opened = open_index(corpus_dir, IndexConfig(), cache_file, encoder=encoder)
    if opened.vectors_missing:
        print(f"encoding {opened.vectors_missing} passages (kept in {cache_file})", file=sys.stderr)
        complete_vectors(cache_file, opened.key, encoder)
    vectors = read_vectors(cache_file, opened.key, encoder)
    if vectors is None or not vectors.complete:
        raise ValueError(f"the passage vectors in {cache_file} are incomplete")
    texts = [p.text for p in opened.corpus.passages]
    return PassageVectors.carried(encoder, [p.text for p in passages], vectors, texts)


def _touches(question: Question, passages: Sequence[Passage], removed: set[str]) -> bool:
    return any(p.file in removed and question.is_answered_by(p) for p in passages)


def _header() -> str:
    return (
        f"{'method':<28} {'hit@1':>6} {'hit@3':>6} {'MRR@10':>7} {'answered':>9}"
        f" {'ans&right':>9} {'oos-abst':>9}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation and print one table (plus the holdout table if asked)."""
    parser = argparse.ArgumentParser(prog="python -m retrieval.evaluate", description=__doc__)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--stemmer", choices=["snowball", "sastrawi", "none"], default="snowball")
    parser.add_argument("--variant", choices=[v.value for v in Variant], default=None)
    parser.add_argument("--k1", type=float, default=None)
    parser.add_argument("--b", type=float, default=None)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a SearchParams field, e.g. --set pair_weight=0.2",
    )
    parser.add_argument("--holdout", type=float, default=0.0, metavar="SHARE")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--split", choices=["even", "odd"], default=None)
    parser.add_argument("--cache", type=Path, default=Path(".cache/evaluate"), metavar="DIR")
    parser.add_argument("--no-semantic", action="store_true", help="BM25 alone, no encoder")
    args = parser.parse_args(argv)

    try:
        corpus = load_corpus(args.corpus)
        questions = load_questions(args.questions)
        if args.split:
            questions = questions[args.split == "odd" :: 2]
    except (CorpusError, OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    defaults = SearchParams()
    bm25 = BM25Params(
        Variant(args.variant) if args.variant else defaults.bm25.variant,
        args.k1 if args.k1 is not None else defaults.bm25.k1,
        args.b if args.b is not None else defaults.bm25.b,
    )
    overrides = {
        name: type(getattr(defaults, name))(value)
        for name, _, value in (s.partition("=") for s in args.set)
    }
    params = replace(defaults, bm25=bm25, **overrides)
    analyzer = make_analyzer(args.stemmer)

    started = time.perf_counter()
    index = Index(corpus.passages, analyzer, params)
    built = time.perf_counter() - started
    engines = [("engine (BM25 alone)", index)]
    encoder = None if args.no_semantic else load_encoder()
    if encoder is not None:
        vectors = passage_vectors(args.corpus, corpus.passages, args.cache, encoder)
        engines.append(("hybrid", index.with_dense(Dense(encoder, vectors.matrix))))

    in_scope = sum(bool(q.gold) for q in questions)
    print(
        f"{len(questions)} questions ({in_scope} in scope) on {len(corpus.passages)} passages"
        f" of {len(corpus.articles)} articles; stemmer {args.stemmer}"
        f"{f'; {args.split} half' if args.split else ''}; {params}"
    )
    english = sum(index.reader.read(q.text).english for q in questions)
    print(f"read as English: {english} of {len(questions)} questions")
    print(_header())
    print(_row("baseline bm25 whitespace", evaluate(baseline_ranker(corpus.passages), questions)))
    timings, counts = [], []
    for name, engine in engines:
        started = time.perf_counter()
        scores = evaluate(engine_ranker(engine), questions)
        print(_row(name, scores), flush=True)
        timings.append(f"{name} {(time.perf_counter() - started) / len(questions) * 1000:.1f}")
        counts.append(f"{name} {round(scores.answered_right * in_scope)}")
    print(f"answered and first right, of {in_scope}: {', '.join(counts)}")
    print(f"index built in {built:.1f} s; ms per question: {', '.join(timings)}")
    if any(q.clean for q in questions):
        for name, engine in engines:
            print(f"{name}:")
            print(chatty_table(engine_ranker(engine), questions))
    if args.holdout:
        print(_holdout(questions, corpus.passages, engines, args.holdout, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
