"""The articles the bot serves: one index in service, rebuilt off the event loop on reload."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from retrieval import (
    BuildError,
    Corpus,
    CorpusError,
    IndexConfig,
    Opened,
    SearchResult,
    open_index,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Changes:
    """What happened to the article files between two loads, each file named once.

    Attributes:
        added: Files that load now and did not before.
        removed: Files that loaded before and are gone.
        changed: Files that load now in a new version.
        kept: Files that loaded before and are broken now: their previous version stays in
            service, so a bad save does not make an article vanish.
        still_kept: Files that were broken before and are still, unchanged: still served in
            the version before that.
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    still_kept: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        """Whether any file changed."""
        return bool(self.added or self.removed or self.changed or self.kept)


class Failure(StrEnum):
    """Why a reload kept the old index in service."""

    NO_DIRECTORY = "no_directory"
    NO_ARTICLE = "no_article"
    BUILD = "build"
    """Building the index failed (the log says how)."""


@dataclass(frozen=True, slots=True)
class ReloadReport:
    """What a reload did; `failure` is set when the old index stayed in service."""

    snapshot: Opened
    changes: Changes
    seconds: float
    failure: Failure | None = None


def diff_articles(old: Corpus, new: Corpus) -> Changes:
    """Compare two loads of a directory by its files' states (content digests, or problems)."""
    before, after = dict(old.files), dict(new.files)
    broken = {s.name for s in new.skipped}
    loaded = [a.name for a in new.articles if a.name not in broken]
    carried = [a.name for a in new.articles if a.name in broken]
    served = {a.name for a in old.articles}
    return Changes(
        added=tuple(name for name in loaded if name not in served),
        removed=tuple(a.name for a in old.articles if a.name not in {b.name for b in new.articles}),
        changed=tuple(n for n in loaded if n in served and before.get(n) != after.get(n)),
        kept=tuple(name for name in carried if before.get(name) != after.get(name)),
        still_kept=tuple(name for name in carried if before.get(name) == after.get(name)),
    )


class Library:
    """Serves searches from the index in service; a reload swaps in a new one atomically."""

    def __init__(
        self, directory: Path, config: IndexConfig, cache_file: Path | None, snapshot: Opened
    ) -> None:
        self.directory = directory
        self.config = config
        self.cache_file = cache_file
        self._snapshot = snapshot
        self._reload_lock = asyncio.Lock()

    @classmethod
    def open(
        cls, directory: Path, cache_file: Path | None = None, config: IndexConfig | None = None
    ) -> Library:
        """Open the first index (at start-up, before polling).

        From the cache when it is current; else built in a child process when there is a
        cache file to hand it over (the build's memory then goes back to the system), and here
        when there is none or the child fails.

        Raises:
            CorpusError: If nothing usable loads.
        """
        config = config or IndexConfig()
        try:
            snapshot = open_index(directory, config, cache_file, child=cache_file is not None)
        except BuildError as error:
            logger.warning("%s; building in this process instead", error)
            snapshot = open_index(directory, config, None)
        return cls(directory, config, cache_file, snapshot)

    @property
    def snapshot(self) -> Opened:
        """The corpus and index in service now."""
        return self._snapshot

    async def search(self, question: str, k: int) -> SearchResult:
        """Answer from the index in service, in a worker thread so the event loop stays free."""
        index = self._snapshot.index
        return await asyncio.to_thread(index.search, question, k)

    async def reload(self) -> ReloadReport:
        """Re-read the corpus directory and swap in the new index if anything usable loaded.

        The index is built in a child process; articles broken now keep their previous version.
        Concurrent reloads run one after the other; searches meanwhile use the old index.
        """
        async with self._reload_lock:
            started = time.perf_counter()
            old = self._snapshot
            try:
                new = await asyncio.to_thread(
                    open_index, self.directory, self.config, self.cache_file, old.corpus, child=True
                )
            except (CorpusError, BuildError) as error:
                logger.warning("reload failed, keeping the old corpus: %s", error)
                failure = (
                    Failure.BUILD
                    if isinstance(error, BuildError)
                    else Failure.NO_DIRECTORY
                    if error.missing_directory
                    else Failure.NO_ARTICLE
                )
                return ReloadReport(old, Changes(), time.perf_counter() - started, failure)
            self._snapshot = new
            changes = diff_articles(old.corpus, new.corpus)
            logger.info(
                "reloaded %d articles, %d passages in %.2f s (build peak memory %.0f MB)",
                len(new.corpus.articles),
                len(new.corpus.passages),
                new.seconds,
                new.builder_peak_mb,
            )
            return ReloadReport(new, changes, time.perf_counter() - started)
