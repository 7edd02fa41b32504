"""Opening the index of a corpus directory: from its on-disk cache, or built (here or in a child).

`open_index` is the one way in, at start-up and on reload. The cache is one `.npz` file (numpy
arrays and a JSON header; nothing is unpickled) saved with the `IndexConfig` it was built with
and a key: a hash of every article file's name and bytes as the build read them, of the
articles it carried over, of the language data, and of the analyzer, library and cache versions.
It is used only when the key matches the directory as it is now; a stale, corrupt or unreadable
cache is rebuilt, never trusted.

Everything in it loads as a few large arrays (no per-term or per-passage objects), so loading
takes little time under the GIL: a bot can load a new index while it goes on answering. The
file is also how a child process hands a freshly built index to its parent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import resource
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.bm25 import BM25Params, Variant
from retrieval.corpus import (
    Article,
    Corpus,
    Passages,
    Skip,
    SkippedFile,
    carry_over,
    file_states,
    load_corpus,
)
from retrieval.index import Index, SearchParams
from retrieval.text import ANALYZER_VERSION, Analyzer, load_word_list, load_word_map

logger = logging.getLogger(__name__)

# 5: articles carry their front matter's metadata (url, date, author, site).
CACHE_VERSION = "5"
_METADATA = ("url", "date", "author", "site")
# The language data that shapes the index (the question side's lists do not).
_DATA_FILES = ("stopwords.txt", "slang.tsv", "boilerplate.txt", "answer_words.tsv")
# How much lower a build process's CPU priority is.
BUILD_NICENESS = 10


class Stemmer(StrEnum):
    """The stemmers an index can be built with."""

    SNOWBALL = "snowball"
    """Snowball Indonesian (PyStemmer): the engine's."""
    NONE = "none"
    """Words as they are: for comparison."""


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """How an index is made: its language analysis and its search parameters.

    It is saved with the index, so whoever loads the index searches as its builder built it.
    """

    params: SearchParams = field(default_factory=SearchParams)
    stemmer: Stemmer = Stemmer.SNOWBALL

    def analyzer(self) -> Analyzer:
        """The analyzer this configuration asks for."""
        if self.stemmer is Stemmer.SNOWBALL:
            return Analyzer.default()
        return Analyzer(
            stop_words=load_word_list("stopwords.txt"), slang=load_word_map("slang.tsv"), stem=str
        )

    def to_json(self) -> dict[str, Any]:
        """The configuration as JSON values."""
        return {"params": asdict(self.params), "stemmer": self.stemmer.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexConfig:
        """Read a configuration saved by `to_json`.

        Raises:
            KeyError, TypeError, ValueError: If it is not one.
        """
        params = dict(data["params"])
        bm25 = dict(params.pop("bm25"))
        bm25["variant"] = Variant(bm25["variant"])
        return cls(SearchParams(bm25=BM25Params(**bm25), **params), Stemmer(data["stemmer"]))


class Source(StrEnum):
    """Where an index in service came from."""

    CACHE = "cache"
    CHILD = "child"
    """Built by a child process, which saved it to the cache file."""
    HERE = "here"
    """Built in this process."""


@dataclass(frozen=True, slots=True)
class Opened:
    """A corpus and its index, ready to serve, and how they were made.

    Attributes:
        corpus: The articles.
        index: Their index.
        source: Whether they came from the cache or were built, and where.
        seconds: How long opening took.
        builder_peak_mb: The build process's peak memory, when a child built them.
    """

    corpus: Corpus
    index: Index
    source: Source
    seconds: float = 0.0
    builder_peak_mb: float | None = None

    @property
    def from_cache(self) -> bool:
        """Whether the index came from the cache as it was (nothing was built)."""
        return self.source is Source.CACHE


class BuildError(Exception):
    """Building an index failed for a reason other than the articles themselves."""


def open_index(
    directory: Path,
    config: IndexConfig,
    cache_file: Path | None,
    previous: Corpus | None = None,
    *,
    child: bool = False,
) -> Opened:
    """The index of `directory`: from the cache if it is current, else built and saved.

    Args:
        directory: The corpus directory.
        config: How to build the index.
        cache_file: Where the cache lives, or None for no cache.
        previous: The corpus served so far, on a reload: articles broken now keep this
            version (`carry_over`), and the cache is not looked at first (the build process
            does that, without the caller's hashing the files).
        child: Build in a child process, at a lower CPU priority, which saves the index for
            this process to load (a temporary file when there is no cache file). Building holds
            the GIL for tens of seconds at archive scale; in a serving process it would stall
            every answer, and its memory would stay with the process.

    Raises:
        CorpusError: If the directory is missing or holds no usable article.
        BuildError: If the child process or the cache file it wrote failed.
    """
    started = time.perf_counter()
    if previous is None and cache_file is not None and cache_file.exists():
        key = fingerprint(directory, config)
        if cached := read_cache(cache_file, key):
            return replace(cached, seconds=time.perf_counter() - started)
    if child:
        with contextlib.ExitStack() as stack:
            if cache_file is None:
                folder = stack.enter_context(tempfile.TemporaryDirectory())
                cache_file = Path(folder) / "index.npz"
            key, peak = _build_in_child(directory, config, cache_file, previous)
            opened = read_cache(cache_file, key)
        if opened is None:
            raise BuildError(f"the new index in {cache_file} could not be read")
        seconds = time.perf_counter() - started
        return replace(opened, source=Source.CHILD, seconds=seconds, builder_peak_mb=peak)
    corpus, key = _load(directory, config, previous)
    unchanged = previous is not None and cache_file is not None and _saved_key(cache_file) == key
    if unchanged and cache_file and (cached := read_cache(cache_file, key)):
        return replace(cached, seconds=time.perf_counter() - started)  # a reload, nothing new
    index = Index(corpus.passages, config.analyzer(), config.params)
    if cache_file is not None:
        try:
            _write(cache_file, key, config, corpus, index)
        except OSError as error:
            logger.warning("could not write the index cache %s: %s", cache_file, error)
    return Opened(corpus, index, Source.HERE, time.perf_counter() - started)


def unusable_cache(cache_file: Path) -> str | None:
    """Why `cache_file` cannot hold an index cache, or None if it can.

    It cannot when it is a folder, or when its folder cannot be made or written.
    """
    if cache_file.is_dir():
        return "it is a folder"
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"its folder cannot be made: {error.strerror or error}"
    if not os.access(cache_file.parent, os.W_OK | os.X_OK):
        return "its folder is not writable"
    return None


def fingerprint(directory: Path, config: IndexConfig) -> str:
    """The cache key of the directory as it is now (no article carried over).

    Raises:
        CorpusError: If the directory is missing.
    """
    return _key(file_states(directory), (), config)


def read_cache(cache_file: Path, key: str) -> Opened | None:
    """The cached corpus and index if the cache is saved under `key`, else None.

    The index is rebuilt with the configuration saved beside it.
    """
    try:
        with cache_file.open("rb") as file, np.load(file, allow_pickle=False) as saved:
            header = json.loads(saved["header"].tobytes().decode("utf-8"))
            if header.get("key") != key:
                logger.info("index cache %s is out of date; rebuilding", cache_file)
                return None
            arrays = {name: saved[name] for name in saved.files if name != "header"}
        config = IndexConfig.from_json(header["config"])
        passages = Passages.from_arrays(arrays, "passages.")
        corpus = Corpus(
            _articles(header["articles"]),
            passages,
            tuple(
                SkippedFile(s["name"], Skip(s["skip"]), tuple(s["values"]))
                for s in header["skipped"]
            ),
            tuple((name, state) for name, state in header["files"]),
        )
        index = Index.from_arrays(passages, config.analyzer(), config.params, arrays)
        return Opened(corpus, index, Source.CACHE)
    except FileNotFoundError:
        return None
    except Exception as error:  # whatever is wrong with a cache, it is rebuilt
        logger.warning("index cache %s is unusable (%r); rebuilding", cache_file, error)
        return None


def _articles(saved: Iterable[dict[str, Any]]) -> tuple[Article, ...]:
    return tuple(
        Article(
            a["name"],
            a["title"],
            tuple(a["headings"]),
            a["passages"],
            a["digest"],
            **{meta: a.get(meta) for meta in _METADATA},
        )
        for a in saved
    )


def _load(directory: Path, config: IndexConfig, previous: Corpus | None) -> tuple[Corpus, str]:
    """Load the directory (keeping broken articles' previous versions), and its cache key.

    The key is made from the bytes as they were read here: if a file changes afterwards, the
    next open finds the key stale and builds again.

    Raises:
        CorpusError: If the directory is missing or holds no usable article.
    """
    loaded = load_corpus(directory)
    corpus = carry_over(previous, loaded) if previous else loaded
    kept = [(a.name, a.digest) for a in corpus.articles if a not in loaded.articles]
    return corpus, _key(corpus.files, kept, config)


def _build_in_child(
    directory: Path, config: IndexConfig, cache_file: Path, previous: Corpus | None
) -> tuple[str, float]:
    """Run `prepare` in a spawned process; its key and peak memory in MB.

    Raises:
        CorpusError: If the directory is missing or holds no usable article.
        BuildError: If the process or the cache file failed.
    """
    spawn = multiprocessing.get_context("spawn")  # forking a threaded process is unsafe
    # On a busy server the answers come first: the build runs at a lower CPU priority.
    with ProcessPoolExecutor(
        max_workers=1, mp_context=spawn, initializer=os.nice, initargs=(BUILD_NICENESS,)
    ) as pool:
        try:
            return pool.submit(prepare, directory, config, cache_file, previous).result()
        except (OSError, BrokenProcessPool) as error:
            raise BuildError(f"the index build failed: {error}") from error


def prepare(
    directory: Path, config: IndexConfig, cache_file: Path, previous: Corpus | None
) -> tuple[str, float]:
    """In a build process: make `cache_file` hold the index; its key and the peak memory.

    A cache already saved under the same key is kept as it is.

    Raises:
        CorpusError: If the directory is missing or holds no usable article.
        OSError: If the cache cannot be written.
    """
    corpus, key = _load(directory, config, previous)
    if _saved_key(cache_file) != key:
        index = Index(corpus.passages, config.analyzer(), config.params)
        _write(cache_file, key, config, corpus, index)
    return key, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _saved_key(cache_file: Path) -> str | None:
    """The key a cache file is saved under, reading its header alone; None if there is none."""
    try:
        with cache_file.open("rb") as file, np.load(file, allow_pickle=False) as saved:
            key = json.loads(saved["header"].tobytes().decode("utf-8")).get("key")
    except Exception:  # a cache that cannot say is rebuilt
        return None
    return key if isinstance(key, str) else None


def _key(
    files: Iterable[tuple[str, str]], kept: Iterable[tuple[str, str]], config: IndexConfig
) -> str:
    """A hash of everything that shapes an index.

    That is the files' states, the articles carried over, the configuration, the language data,
    and the versions of what analyses words.
    """
    # Stems, colloquial forms (read by word frequency) and Unicode rules come from PyStemmer,
    # wordfreq and the Python build: upgrades change terms.
    versions = (
        CACHE_VERSION,
        ANALYZER_VERSION,
        metadata.version("PyStemmer"),
        metadata.version("wordfreq"),
        unicodedata.unidata_version,
    )
    digest = hashlib.sha256(json.dumps([versions, config.to_json()]).encode())
    data = resources.files("retrieval").joinpath("data")
    for data_file in _DATA_FILES:
        digest.update(data.joinpath(data_file).read_bytes())
    digest.update(json.dumps([list(files), list(kept)]).encode())
    return digest.hexdigest()


def _write(path: Path, key: str, config: IndexConfig, corpus: Corpus, index: Index) -> None:
    """Save atomically: write a temporary file, then rename it.

    Raises:
        OSError: If the file cannot be written.
    """
    passages = corpus.passages
    if not isinstance(passages, Passages):
        passages = Passages(passages)
    header = {
        "key": key,
        "config": config.to_json(),
        "articles": [asdict(a) for a in corpus.articles],
        "skipped": [asdict(s) for s in corpus.skipped],
        "files": list(corpus.files),
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
