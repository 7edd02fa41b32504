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
import signal
import sys
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
import numpy.typing as npt

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
from retrieval.dense import Dense, Encoder, PassageVectors, load_encoder
from retrieval.index import Index, SearchParams
from retrieval.text import ANALYZER_VERSION, Analyzer, load_word_list, load_word_map

logger = logging.getLogger(__name__)

# 5: articles carry their front matter's metadata (url, date, author, site).
# 6: passage vectors, by passage text, beside the BM25 arrays.
CACHE_VERSION = "6"
_METADATA = ("url", "date", "author", "site")
# The language data that shapes the index (the question side's lists do not).
_DATA_FILES = ("stopwords.txt", "slang.tsv", "boilerplate.txt", "answer_words.tsv")
# How much lower a build process's CPU priority is.
BUILD_NICENESS = 10
# While passages are encoded, the vectors so far are saved this often (seconds), so a stop
# loses at most this much work.
CHECKPOINT_SECONDS = 300.0
# How long a stopped vector job may take to end before it is killed.
STOP_SECONDS = 10.0


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
        index: Their index; with passage vectors (`index.dense`) once every passage has one.
        source: Whether they came from the cache or were built, and where.
        seconds: How long opening took.
        builder_peak_mb: The build process's peak memory, when a child built them.
        key: The cache key they are saved under ("" when not saved).
        vectors: The passage vectors computed so far, when an encoder was given.
    """

    corpus: Corpus
    index: Index
    source: Source
    seconds: float = 0.0
    builder_peak_mb: float | None = None
    key: str = ""
    vectors: PassageVectors | None = None

    @property
    def vectors_missing(self) -> int:
        """How many passages still need a vector (0 without an encoder)."""
        return self.vectors.missing if self.vectors is not None else 0

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
    encoder: Encoder | None = None,
) -> Opened:
    """The index of `directory`: from the cache if it is current, else built and saved.

    With an `encoder`, the passage vectors saved in the cache come along (the previous cache's,
    for passages whose text has not changed, when the index is built anew); the index has them
    (`index.dense`) once every passage has one. Passages are never encoded here: that is
    `complete_vectors`, which takes minutes at archive scale.

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
        encoder: Encodes questions for the passage vectors, or None for BM25 alone.

    Raises:
        CorpusError: If the directory is missing or holds no usable article.
        BuildError: If the child process or the cache file it wrote failed.
    """
    started = time.perf_counter()
    if previous is None and cache_file is not None and cache_file.exists():
        key = fingerprint(directory, config)
        if cached := read_cache(cache_file, key, encoder):
            return replace(cached, seconds=time.perf_counter() - started)
    if child:
        with contextlib.ExitStack() as stack:
            if cache_file is None:
                folder = stack.enter_context(tempfile.TemporaryDirectory())
                cache_file = Path(folder) / "index.npz"
            key, peak = _build_in_child(directory, config, cache_file, previous, encoder)
            opened = read_cache(cache_file, key, encoder)
        if opened is None:
            raise BuildError(f"the new index in {cache_file} could not be read")
        seconds = time.perf_counter() - started
        return replace(opened, source=Source.CHILD, seconds=seconds, builder_peak_mb=peak)
    corpus, key = _load(directory, config, previous)
    unchanged = previous is not None and cache_file is not None and _saved_key(cache_file) == key
    if unchanged and cache_file and (cached := read_cache(cache_file, key, encoder)):
        return replace(cached, seconds=time.perf_counter() - started)  # a reload, nothing new
    index = Index(corpus.passages, config.analyzer(), config.params)
    vectors = _carried_vectors(cache_file, encoder, corpus) if encoder else None
    saved = ""
    if cache_file is not None:
        try:
            _write(cache_file, key, config, corpus, index, vectors)
            saved = key
        except OSError as error:
            logger.warning("could not write the index cache %s: %s", cache_file, error)
    seconds = time.perf_counter() - started
    index = _served(index, encoder, vectors)
    return Opened(corpus, index, Source.HERE, seconds, key=saved, vectors=vectors)


def complete_vectors(
    cache_file: Path,
    key: str,
    encoder: Encoder,
    checkpoint_seconds: float = CHECKPOINT_SECONDS,
) -> int:
    """Encode the passages the cache saved under `key` has no vector for, and save them.

    Each distinct text is encoded once. The vectors so far are saved every
    `checkpoint_seconds`, so a stopped run loses little; a cache replaced meanwhile by
    another build (another key) is left alone.

    Returns:
        How many passages were encoded (0 when the cache is complete or not this key's).

    Raises:
        OSError, ValueError: If the cache cannot be read or written.
    """
    header, arrays = _read_arrays(cache_file)
    if header.get("key") != key:
        return 0
    passages = Passages.from_arrays(arrays, "passages.")
    vectors = _vectors_of(header, arrays, encoder, len(passages))
    if vectors.complete:
        return 0
    texts = [passage.text for passage in passages]
    last = time.monotonic()

    def save(progress: PassageVectors) -> None:
        if _saved_key(cache_file) == key:
            _save_vectors(cache_file, header, arrays, progress)

    def checkpoint(progress: PassageVectors) -> None:
        nonlocal last
        if time.monotonic() - last >= checkpoint_seconds:
            save(progress)
            last = time.monotonic()

    save(vectors.filled(texts, encoder, checkpoint))
    return vectors.missing


class VectorJob:
    """`complete_vectors` in a child process at a lower CPU priority, started and stopped here.

    Encoding takes long at archive scale (about 16 passages a second on two cores, so hours
    for 100,000 new passages): the index answers by BM25 alone meanwhile, and a reload stops
    the job, whose saved vectors it reuses. The child is a daemon: it ends with this process.
    """

    def __init__(self, cache_file: Path, key: str) -> None:
        """Prepare the job for the cache saved under `key` (nothing runs yet)."""
        self.cache_file = cache_file
        self.key = key
        self._stopping = False
        spawn = multiprocessing.get_context("spawn")  # forking a threaded process is unsafe
        self._process = spawn.Process(
            target=_encode_in_child, args=(cache_file, key), name="encode-passages", daemon=True
        )

    def start(self) -> None:
        """Start encoding."""
        self._process.start()

    @property
    def running(self) -> bool:
        """Whether the job is still encoding."""
        return self._process.is_alive()

    def wait(self) -> bool:
        """Wait until the job ends; whether it completed the vectors."""
        self._process.join()
        return self._process.exitcode == 0

    @property
    def stopped(self) -> bool:
        """Whether the job was stopped (here, or by a signal, as at this process's exit)."""
        return self._stopping or self._process.exitcode in _STOPPED

    def stop(self) -> None:
        """Stop the job (its last checkpoint stays in the cache) and wait for it to end."""
        self._stopping = True
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(STOP_SECONDS)
            if self._process.is_alive():
                self._process.kill()
        self._process.join()


def _encode_in_child(cache_file: Path, key: str) -> None:
    """A vector job's process: at a lower priority, complete the vectors, or exit non-zero.

    SIGTERM (`VectorJob.stop`) ends it between two batches, without a half-written file.
    """
    signal.signal(signal.SIGTERM, _exit_on_signal)
    os.nice(BUILD_NICENESS)
    encoder = load_encoder()
    if encoder is None:
        sys.exit(1)
    complete_vectors(cache_file, key, encoder)


def _exit_on_signal(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


# How a vector job's process ends when stopped: by SIGTERM, through `_exit_on_signal` or before
# it is set up, or killed.
_STOPPED = frozenset({128 + signal.SIGTERM, -signal.SIGTERM, -signal.SIGKILL})


def _served(index: Index, encoder: Encoder | None, vectors: PassageVectors | None) -> Index:
    """The index with its passage vectors if every passage has one, else BM25 alone."""
    if encoder is None or vectors is None or not vectors.complete:
        return index
    return index.with_dense(Dense(encoder, vectors.matrix))


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


def read_cache(cache_file: Path, key: str, encoder: Encoder | None = None) -> Opened | None:
    """The cached corpus and index if the cache is saved under `key`, else None.

    The index is rebuilt with the configuration saved beside it; with an `encoder`, with the
    saved passage vectors of that encoder (see `open_index`).
    """
    try:
        header, arrays = _read_arrays(cache_file)
        if header.get("key") != key:
            logger.info("index cache %s is out of date; rebuilding", cache_file)
            return None
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
        vectors = _vectors_of(header, arrays, encoder, len(passages)) if encoder else None
        index = _served(index, encoder, vectors)
        return Opened(corpus, index, Source.CACHE, key=key, vectors=vectors)
    except FileNotFoundError:
        return None
    except Exception as error:  # whatever is wrong with a cache, it is rebuilt
        logger.warning("index cache %s is unusable (%r); rebuilding", cache_file, error)
        return None


def read_vectors(cache_file: Path, key: str, encoder: Encoder) -> PassageVectors | None:
    """The passage vectors saved in the cache under `key` (without loading the index), or None.

    Raises:
        OSError, KeyError, ValueError: If the cache cannot be read or has no vectors.
    """
    with cache_file.open("rb") as file, np.load(file, allow_pickle=False) as saved:
        header = json.loads(saved["header"].tobytes().decode("utf-8"))
        if not isinstance(header, dict) or header.get("key") != key:
            return None
        arrays = {name: saved[name] for name in ("vectors.matrix", "vectors.known")}
    return _vectors_of(header, arrays, encoder, len(arrays["vectors.known"]))


def _read_arrays(cache_file: Path) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    """A cache file's header and arrays.

    Raises:
        OSError, ValueError: If it cannot be read.
    """
    with cache_file.open("rb") as file, np.load(file, allow_pickle=False) as saved:
        header = json.loads(saved["header"].tobytes().decode("utf-8"))
        arrays = {name: saved[name] for name in saved.files if name != "header"}
    if not isinstance(header, dict):
        raise ValueError("the cache header is not an object")
    return header, arrays


def _vectors_of(
    header: dict[str, Any], arrays: dict[str, npt.NDArray[Any]], encoder: Encoder, size: int
) -> PassageVectors:
    """The saved vectors if they are `encoder`'s, else none computed yet.

    Raises:
        ValueError: If the saved vectors do not fit the passages.
    """
    if header.get("vectors") != encoder.name:
        return PassageVectors.empty(encoder, size)
    return PassageVectors.from_arrays(encoder.name, arrays, "vectors.", size)


def _carried_vectors(cache_file: Path | None, encoder: Encoder, corpus: Corpus) -> PassageVectors:
    """Vectors for `corpus`'s passages from the cache file as it is (any key), by text."""
    texts = [passage.text for passage in corpus.passages]
    previous, old = None, []
    try:
        if cache_file is not None and cache_file.exists():
            header, arrays = _read_arrays(cache_file)
            passages = Passages.from_arrays(arrays, "passages.")
            previous = _vectors_of(header, arrays, encoder, len(passages))
            old = [passage.text for passage in passages]
    except Exception as error:  # a cache that cannot say only costs encoding time
        logger.info("no passage vectors to reuse from %s (%r)", cache_file, error)
    return PassageVectors.carried(encoder, texts, previous, old)


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
    directory: Path,
    config: IndexConfig,
    cache_file: Path,
    previous: Corpus | None,
    encoder: Encoder | None,
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
        vectors = encoder is not None
        try:
            return pool.submit(prepare, directory, config, cache_file, previous, vectors).result()
        except (OSError, BrokenProcessPool) as error:
            raise BuildError(f"the index build failed: {error}") from error


def prepare(
    directory: Path,
    config: IndexConfig,
    cache_file: Path,
    previous: Corpus | None,
    vectors: bool = False,
) -> tuple[str, float]:
    """In a build process: make `cache_file` hold the index; its key and the peak memory.

    A cache already saved under the same key is kept as it is. With `vectors`, the new cache
    keeps the previous one's passage vectors for the passages whose text has not changed.

    Raises:
        CorpusError: If the directory is missing or holds no usable article.
        OSError: If the cache cannot be written.
    """
    corpus, key = _load(directory, config, previous)
    if _saved_key(cache_file) != key:
        index = Index(corpus.passages, config.analyzer(), config.params)
        encoder = load_encoder() if vectors else None
        carried = _carried_vectors(cache_file, encoder, corpus) if encoder else None
        _write(cache_file, key, config, corpus, index, carried)
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


def _write(
    path: Path,
    key: str,
    config: IndexConfig,
    corpus: Corpus,
    index: Index,
    vectors: PassageVectors | None,
) -> None:
    """Save the index (and the passage vectors, if any) under `key`.

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
    if vectors is not None:
        _save_vectors(path, header, arrays, vectors)
    else:
        _save(path, header, arrays)


def _save_vectors(
    path: Path,
    header: dict[str, Any],
    arrays: dict[str, npt.NDArray[Any]],
    vectors: PassageVectors,
) -> None:
    """Save the cache of `header` and `arrays` with `vectors`, in float16.

    Raises:
        OSError: If the file cannot be written.
    """
    _save(path, {**header, "vectors": vectors.model}, {**arrays, **vectors.to_arrays("vectors.")})


def _save(path: Path, header: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> None:
    """Save atomically: write a temporary file, then rename it.

    Raises:
        OSError: If the file cannot be written.
    """
    saved = {**arrays, "header": np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as file:
            np.savez(file, allow_pickle=False, **saved)
        temporary.replace(path)
    except BaseException:  # an error, or a stop signal: no half-written file stays
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
