"""The articles the bot serves: one immutable snapshot, rebuilt off the event loop on reload."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from retrieval import Analyzer, Corpus, CorpusError, Index, SearchResult, open_index

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A corpus and its index, built together and replaced together."""

    corpus: Corpus
    index: Index
    build_seconds: float
    from_cache: bool = False


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


def keep_broken(previous: Corpus, current: Corpus) -> Corpus:
    """Carry over the previous version of articles that are now skipped as broken."""
    skipped = {s.name for s in current.skipped}
    kept = [a for a in previous.articles if a.name in skipped]
    if not kept:
        return current
    names = {a.name for a in kept}
    articles = sorted([*current.articles, *kept], key=lambda a: a.name)
    order = {a.name: i for i, a in enumerate(articles)}
    passages = sorted(
        [*current.passages, *(p for p in previous.passages if p.article in names)],
        key=lambda p: (order[p.article], p.position),
    )
    return Corpus(tuple(articles), tuple(passages), current.skipped)


def build_snapshot(
    directory: Path,
    analyzer: Analyzer,
    cache_file: Path | None,
    previous: Corpus | None = None,
) -> Snapshot:
    """Load `directory` and its index, from the cache when it is current.

    Building is slow, so once serving call this off the event loop.

    Raises:
        CorpusError: If nothing usable loads.
    """
    started = time.perf_counter()
    opened = open_index(directory, analyzer, cache_file)
    corpus, index, from_cache = opened.corpus, opened.index, opened.from_cache
    if previous is not None and (merged := keep_broken(previous, corpus)) is not corpus:
        corpus, index, from_cache = merged, Index(merged.passages, analyzer), False
    return Snapshot(corpus, index, time.perf_counter() - started, from_cache)


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
                    build_snapshot, self.directory, self._analyzer, self.cache_file, old.corpus
                )
            except CorpusError as error:
                logger.warning("reload failed, keeping the old corpus: %s", error)
                return ReloadReport(old, Changes(), time.perf_counter() - started, str(error))
            self._snapshot = new
            changes = diff_articles(old.corpus, new.corpus)
            logger.info(
                "reloaded %d articles, %d passages in %.2f s",
                len(new.corpus.articles),
                len(new.corpus.passages),
                new.build_seconds,
            )
            return ReloadReport(new, changes, time.perf_counter() - started)
