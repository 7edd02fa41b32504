"""The articles the bot serves: one immutable snapshot, rebuilt off the event loop on reload."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from retrieval import (
    Analyzer,
    Corpus,
    CorpusError,
    Index,
    SearchParams,
    SearchResult,
    fingerprint,
    open_index,
    prepare_cache,
    read_cache,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A corpus and its index, built together and replaced together."""

    corpus: Corpus
    index: Index
    build_seconds: float
    from_cache: bool = False
    builder_peak_mb: float | None = None


@dataclass(frozen=True, slots=True)
class Changes:
    """Article files added, removed and changed between two snapshots.

    `kept` are files that loaded before and are broken now: their previous version stays in
    service, so a bad save does not make an article vanish.
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReloadReport:
    """What a reload did; `error` is set when the old snapshot stayed in service."""

    snapshot: Snapshot
    changes: Changes
    seconds: float
    error: str | None = None


def diff_articles(old: Corpus, new: Corpus) -> Changes:
    """Compare two corpora by file name and content digest."""
    before = {a.name: a.digest for a in old.articles}
    after = {a.name: a.digest for a in new.articles}
    skipped = {s.name for s in new.skipped}
    return Changes(
        added=tuple(name for name in after if name not in before),
        removed=tuple(name for name in before if name not in after),
        changed=tuple(name for name in after if name in before and before[name] != after[name]),
        kept=tuple(name for name in before if name in after and name in skipped),
    )


def build_snapshot(directory: Path, analyzer: Analyzer, cache_file: Path | None) -> Snapshot:
    """The first snapshot, at start-up: from the cache when it is current.

    Otherwise the index is built in a child process when there is a cache file to hand it over
    (the build's memory then goes back to the system), else here.

    Raises:
        CorpusError: If nothing usable loads.
    """
    started = time.perf_counter()
    if cache_file is not None:
        key = fingerprint(directory, SearchParams())
        if cached := read_cache(cache_file, key, analyzer, SearchParams()):
            return Snapshot(cached.corpus, cached.index, time.perf_counter() - started, True)
        try:
            return rebuild_snapshot(directory, analyzer, cache_file)
        except RebuildError as error:
            logger.warning("%s; building in this process instead", error)
    opened = open_index(directory, analyzer, None)
    return Snapshot(opened.corpus, opened.index, time.perf_counter() - started)


def rebuild_snapshot(
    directory: Path, analyzer: Analyzer, cache_file: Path | None, previous: Corpus | None = None
) -> Snapshot:
    """Build the index of `directory` in a child process and load it here from the cache file.

    Building holds the GIL for tens of seconds at archive scale; in a thread of the serving
    process it would stall every answer. Loading the result takes a fraction of a second.
    Articles broken now keep their version in `previous`. Blocks: call it off the event loop.

    Raises:
        CorpusError: If nothing usable loads.
        RebuildError: If the child or the cache file failed.
    """
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if cache_file is None:
            cache_file = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "index.npz"
        spawn = multiprocessing.get_context("spawn")  # forking a threaded process is unsafe
        pool = stack.enter_context(ProcessPoolExecutor(max_workers=1, mp_context=spawn))
        try:
            key, peak = pool.submit(_prepare, directory, cache_file, previous).result()
        except (OSError, BrokenProcessPool) as error:
            raise RebuildError(f"the index build failed: {error}") from error
        opened = read_cache(cache_file, key, analyzer, SearchParams(), previous)
    if opened is None:
        raise RebuildError(f"the new index in {cache_file} could not be read")
    seconds = time.perf_counter() - started
    return Snapshot(opened.corpus, opened.index, seconds, from_cache=False, builder_peak_mb=peak)


def _prepare(directory: Path, cache_file: Path, previous: Corpus | None) -> tuple[str, float]:
    """In the child: build and save the index; return its key and the child's peak memory."""
    os.nice(10)  # on a busy server the answers come first; the build can take longer
    key = prepare_cache(directory, cache_file, previous=previous)
    return key, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RebuildError(Exception):
    """Building a new index failed for a reason other than the articles themselves."""


class Library:
    """Serves searches from the current snapshot; reloads swap in a new one atomically."""

    def __init__(
        self, directory: Path, analyzer: Analyzer, cache_file: Path | None, snapshot: Snapshot
    ) -> None:
        self.directory = directory
        self.cache_file = cache_file
        self._analyzer = analyzer
        self._snapshot = snapshot
        self._reload_lock = asyncio.Lock()

    @classmethod
    def open(cls, directory: Path, cache_file: Path | None = None) -> Library:
        """Build the first snapshot (at start-up, before polling).

        Raises:
            CorpusError: If nothing usable loads.
        """
        analyzer = Analyzer.default()
        return cls(directory, analyzer, cache_file, build_snapshot(directory, analyzer, cache_file))

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot in service now."""
        return self._snapshot

    async def search(self, question: str, k: int) -> SearchResult:
        """Answer from the current snapshot, in a worker thread so the event loop stays free."""
        index = self._snapshot.index
        return await asyncio.to_thread(index.search, question, k)

    async def reload(self) -> ReloadReport:
        """Re-read the corpus directory and swap in the new snapshot if anything usable loaded.

        Concurrent reloads run one after the other; searches meanwhile use the old snapshot.
        """
        async with self._reload_lock:
            started = time.perf_counter()
            old = self._snapshot
            try:
                new = await asyncio.to_thread(
                    rebuild_snapshot, self.directory, self._analyzer, self.cache_file, old.corpus
                )
            except (CorpusError, RebuildError) as error:
                logger.warning("reload failed, keeping the old corpus: %s", error)
                return ReloadReport(old, Changes(), time.perf_counter() - started, str(error))
            self._snapshot = new
            changes = diff_articles(old.corpus, new.corpus)
            logger.info(
                "reloaded %d articles, %d passages in %.2f s (build peak memory %.0f MB)",
                len(new.corpus.articles),
                len(new.corpus.passages),
                new.build_seconds,
                new.builder_peak_mb,
            )
            return ReloadReport(new, changes, time.perf_counter() - started)
