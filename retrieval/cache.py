"""An on-disk index cache, so a restart with unchanged articles skips analysis and weighting.

The cache is one `.npz` file (numpy arrays and a JSON header; nothing is unpickled). It is
used only when its key matches: a hash of every article file's name and bytes, the language
data files, the analyzer and cache versions, and the search parameters. A stale, corrupt or
unreadable cache is rebuilt, never trusted.

Everything in it loads as a few large arrays (no per-term or per-passage objects), so loading
takes little time under the GIL: a bot can load a new index while it goes on answering. The
file is also how a child process hands a freshly built index to its parent (`prepare_cache`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import unicodedata
import uuid
from dataclasses import asdict, dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.corpus import (
    Article,
    Corpus,
    Passages,
    SkippedFile,
    article_files,
    carry_over,
    load_corpus,
)
from retrieval.index import Index, SearchParams
from retrieval.text import ANALYZER_VERSION, Analyzer

logger = logging.getLogger(__name__)

CACHE_VERSION = "3"
_DATA_FILES = ("stopwords.txt", "slang.tsv", "boilerplate.txt", "answer_words.tsv")


@dataclass(frozen=True, slots=True)
class Opened:
    """A corpus and its index, and whether they came from the cache."""

    corpus: Corpus
    index: Index
    from_cache: bool


def fingerprint(directory: Path, params: SearchParams) -> str:
    """The cache key of a corpus directory: changes whenever anything that shapes the index does."""
    # Stems, colloquial forms (read by word frequency) and Unicode rules come from PyStemmer,
    # wordfreq and the Python build: upgrades change terms.
    versions = (
        f"{CACHE_VERSION}\0{ANALYZER_VERSION}\0{metadata.version('PyStemmer')}\0"
        f"{metadata.version('wordfreq')}\0{unicodedata.unidata_version}\0{params!r}\0"
    )
    digest = hashlib.sha256(versions.encode())
    data = resources.files("retrieval").joinpath("data")
    for data_file in _DATA_FILES:
        digest.update(data.joinpath(data_file).read_bytes())
    for path, name in article_files(directory):
        if isinstance(name, SkippedFile):
            digest.update(f"\0skipped\0{name.name}\0".encode())
            continue
        digest.update(f"\0{name}\0".encode())
        try:
            with path.open("rb") as file:
                digest.update(hashlib.file_digest(file, "sha256").digest())
        except OSError as error:
            digest.update(f"unreadable {error.errno}".encode())
    return digest.hexdigest()


def open_index(
    directory: Path,
    analyzer: Analyzer,
    cache_file: Path | None,
    params: SearchParams | None = None,
    previous: Corpus | None = None,
) -> Opened:
    """Load the corpus and its index from the cache if it is current, else build and save it.

    Args:
        directory: The corpus directory.
        analyzer: The language analysis.
        cache_file: Where the cache lives, or None for no cache.
        params: The search parameters.
        previous: The corpus served so far: articles broken now keep this version.

    Raises:
        CorpusError: If the directory is missing or holds no usable article.
    """
    params = params or SearchParams()
    if cache_file is None:
        corpus = _load(directory, previous)
        return Opened(corpus, Index(corpus.passages, analyzer, params), from_cache=False)
    key = fingerprint(directory, params)
    if cached := read_cache(cache_file, key, analyzer, params, previous):
        return cached
    corpus = _load(directory, previous)
    index = Index(corpus.passages, analyzer, params)
    # Save only if no file changed while loading: the key must describe the bytes indexed.
    if fingerprint(directory, params) == key:
        try:
            _write(cache_file, key, corpus, index)
        except OSError as error:
            logger.warning("could not write the index cache %s: %s", cache_file, error)
    return Opened(corpus, index, from_cache=False)


def prepare_cache(
    directory: Path,
    cache_file: Path,
    params: SearchParams | None = None,
    previous: Corpus | None = None,
) -> str:
    """Make `cache_file` hold the index of `directory`; return the key to read it with.

    Meant to run in a child process, so that the build's CPU time and memory stay out of a
    process that is serving questions. If a file changed while it was read, the index is
    saved under a one-off key that no later `open_index` will match.

    Raises:
        CorpusError: If the directory is missing or holds no usable article.
        OSError: If the cache cannot be written.
    """
    params = params or SearchParams()
    analyzer = Analyzer.default()
    key = fingerprint(directory, params)
    if read_cache(cache_file, key, analyzer, params, previous):
        return key
    corpus = _load(directory, previous)
    index = Index(corpus.passages, analyzer, params)
    if fingerprint(directory, params) != key:
        key = f"changed-while-read-{uuid.uuid4().hex}"
    _write(cache_file, key, corpus, index)
    return key


def read_cache(
    cache_file: Path,
    key: str,
    analyzer: Analyzer,
    params: SearchParams,
    previous: Corpus | None = None,
) -> Opened | None:
    """The cached corpus and index if the cache is saved under `key`, else None.

    A cache built while carrying over broken articles is only current for the same previous
    versions of them.
    """
    try:
        with cache_file.open("rb") as file, np.load(file, allow_pickle=False) as saved:
            header = json.loads(saved["header"].tobytes().decode("utf-8"))
            if header.get("key") != key:
                logger.info("index cache %s is out of date; rebuilding", cache_file)
                return None
            skipped = tuple(SkippedFile(**s) for s in header["skipped"])
            if header["kept"] != _kept(previous, skipped):
                logger.info("index cache %s kept other broken files; rebuilding", cache_file)
                return None
            arrays = {name: saved[name] for name in saved.files if name != "header"}
        passages = Passages.from_arrays(arrays, "passages.")
        corpus = Corpus(
            tuple(
                Article(a["name"], a["title"], tuple(a["headings"]), a["passages"], a["digest"])
                for a in header["articles"]
            ),
            passages,
            skipped,
        )
        index = Index.from_arrays(passages, analyzer, params, arrays)
        return Opened(corpus, index, from_cache=True)
    except FileNotFoundError:
        return None
    except Exception as error:  # whatever is wrong with a cache, it is rebuilt
        logger.warning("index cache %s is unusable (%r); rebuilding", cache_file, error)
        return None


def _load(directory: Path, previous: Corpus | None) -> Corpus:
    corpus = load_corpus(directory)
    return carry_over(previous, corpus) if previous else corpus


def _kept(previous: Corpus | None, skipped: tuple[SkippedFile, ...]) -> list[list[str]]:
    """The previous versions a build carries over: (name, digest) of each broken article."""
    broken = {s.name for s in skipped}
    articles = previous.articles if previous else ()
    return [[a.name, a.digest] for a in articles if a.name in broken]


def _write(path: Path, key: str, corpus: Corpus, index: Index) -> None:
    """Save atomically: write a temporary file, then rename it.

    Raises:
        OSError: If the file cannot be written.
    """
    passages = corpus.passages
    if not isinstance(passages, Passages):
        passages = Passages(passages)
    header = {
        "key": key,
        "articles": [asdict(a) for a in corpus.articles],
        "skipped": [asdict(s) for s in corpus.skipped],
        "kept": _kept(corpus, corpus.skipped),
    }
    arrays: dict[str, Any] = {**index.to_arrays(), **passages.to_arrays("passages.")}
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as file:
            np.savez(file, allow_pickle=False, **arrays)
        temporary.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
