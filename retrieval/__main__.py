"""The search CLI: answer questions from a corpus directory.

    python -m retrieval search --corpus DIR [--top-k K] [--json] [--semantic] [QUESTION ...]

With no QUESTION, reads one question a line from standard input, building the index once.
`--semantic` adds the multilingual encoder (English questions, paraphrases): every passage is
encoded first, about 16 to 30 a second, with no cache (the bot keeps its vectors in one).
Exits 0 on success and 2 with a one-line message for a missing or empty corpus or bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import NoReturn, TextIO

from retrieval.chat import Register
from retrieval.corpus import Corpus, CorpusError, load_corpus
from retrieval.dense import Dense, PassageVectors, load_encoder
from retrieval.index import Hit, Index, SearchResult
from retrieval.text import Analyzer

_MARK_ON, _MARK_OFF = "[", "]"


class _Parser(argparse.ArgumentParser):
    """argparse that fails with one line and exit code 2, without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def as_json(result: SearchResult, corpus: Corpus | None = None) -> str:
    """One result as a single JSON line.

    Each hit carries its article's `url` and publication `date` (from its front matter; null
    without), looked up in `corpus`.
    """
    articles = {a.name: a for a in corpus.articles} if corpus else {}
    return json.dumps(
        {
            "query": result.query,
            "answered": result.answered,
            "abstention": result.abstention.value if result.abstention else None,
            "small_talk": talk.value if (talk := _small_talk(result)) else None,
            "cleaned": result.question.text if result.question else None,
            "hits": [
                {
                    "article": hit.passage.file,
                    "title": hit.passage.title,
                    "heading": hit.passage.heading,
                    "position": hit.passage.position,
                    "text": hit.passage.text,
                    "score": round(hit.score, 6),
                    "confidence": round(hit.confidence, 4),
                    "matched": list(hit.matched),
                    "url": (article := articles.get(hit.passage.file)) and article.url,
                    "date": article and article.date,
                }
                for hit in result.hits
            ],
        },
        ensure_ascii=False,
    )


def as_text(result: SearchResult) -> str:
    """One result for a person: title › heading, the passage with matched words marked, score."""
    lines = [f"? {result.query}"]
    if not result.answered:
        reason = result.abstention.value if result.abstention else "not_found"
        talk = _small_talk(result)
        lines.append(f"  (no answer: {reason}{f', {talk.value}' if talk else ''})")
    for rank, hit in enumerate(result.hits, 1):
        place = hit.passage.title + (f" › {hit.passage.heading}" if hit.passage.heading else "")
        lines.append(f"  {rank}. {place}  [{hit.passage.file}]")
        lines.append(f"     > {_marked(hit)}")
        lines.append(f"     score {hit.score:.3f}, confidence {hit.confidence:.2f}")
    return "\n".join(lines)


def _small_talk(result: SearchResult) -> Register | None:
    return result.question.small_talk if result.question else None


def _marked(hit: Hit) -> str:
    text, parts, last = hit.passage.text, [], 0
    for span in hit.highlights:
        parts += [text[last : span.start], _MARK_ON, text[span.start : span.end], _MARK_OFF]
        last = span.end
    return "".join([*parts, text[last:]])


def main(argv: Sequence[str] | None = None, stdin: TextIO = sys.stdin) -> int:
    """Run the CLI; return the process exit code."""
    parser = _Parser(prog="python -m retrieval", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    search = commands.add_parser("search", help="answer questions from a corpus directory")
    search.add_argument("--corpus", type=Path, required=True, help="directory of articles")
    search.add_argument("--top-k", type=int, default=3, help="passages per answer (default 3)")
    search.add_argument("--json", action="store_true", help="one JSON object per question")
    search.add_argument(
        "--semantic", action="store_true", help="also rank by meaning (encodes every passage)"
    )
    search.add_argument(
        "question", nargs="*", help="questions, one per argument (default: one a line on stdin)"
    )
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error("--top-k must be at least 1")
    try:
        corpus = load_corpus(args.corpus)
    except CorpusError as error:
        print(f"python -m retrieval: error: {error}", file=sys.stderr)
        return 2
    for skipped in corpus.skipped:
        print(f"skipped {skipped.name}: {skipped.reason}", file=sys.stderr)
    index = Index(corpus.passages, Analyzer.default())
    if args.semantic and (encoder := load_encoder()) is not None:
        texts = [p.text for p in corpus.passages]
        vectors = PassageVectors.empty(encoder, len(texts)).filled(texts, encoder)
        index = index.with_dense(Dense(encoder, vectors.matrix))
    questions = args.question or (line.rstrip("\n") for line in stdin if line.strip())
    render = partial(as_json, corpus=corpus) if args.json else as_text
    for question in questions:
        print(render(index.search(question, args.top_k)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
