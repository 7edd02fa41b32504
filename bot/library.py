"""The articles the bot serves: one index in service, rebuilt off the event loop on reload.

With the multilingual encoder, passage vectors missing from the index cache are computed by a
child process while the index answers by BM25 alone; the index with vectors is swapped in when
they are ready.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, replace
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
from retrieval.cache import VectorJob, read_vectors
from retrieval.dense import Dense, Encoder, load_encoder

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
        self,
        directory: Path,
        config: IndexConfig,
        cache_file: Path | None,
        snapshot: Opened,
        encoder: Encoder | None = None,
    ) -> None:
        self.directory = directory
        self.config = config
        self.cache_file = cache_file
        self.encoder = encoder
        self._snapshot = snapshot
        self._reload_lock = asyncio.Lock()
        self._vectors: tuple[VectorJob, threading.Thread] | None = None

    @classmethod
    def open(
        cls,
        directory: Path,
        cache_file: Path | None = None,
        config: IndexConfig | None = None,
        *,
        semantic: bool = False,
    ) -> Library:
        """Open the first index (at start-up, before polling).

        From the cache when it is current; else built in a child process when there is a
        cache file to hand it over (the build's memory then goes back to the system), and here
        when there is none or the child fails. With `semantic`, the multilingual encoder is
        loaded (or BM25 alone serves, with one warning, where it cannot load); passage vectors
        the cache lacks are computed in the background (in a temporary cache when there is
        no cache file).

        Raises:
            CorpusError: If nothing usable loads.
        """
        config = config or IndexConfig()
        encoder = load_encoder() if semantic else None
        folder = None
        if encoder is not None and cache_file is None:
            folder = tempfile.mkdtemp(prefix="tanya-artikel-")
            cache_file = Path(folder) / "index.npz"
        try:
            snapshot = open_index(
                directory, config, cache_file, child=cache_file is not None, encoder=encoder
            )
        except BuildError as error:
            logger.warning("%s; building in this process instead", error)
            snapshot = open_index(directory, config, None, encoder=encoder)
        library = cls(directory, config, cache_file, snapshot, encoder)
        if folder is not None:
            weakref.finalize(library, shutil.rmtree, folder, ignore_errors=True)
        library._complete_vectors()
        return library

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
        Passage vectors being computed are stopped first: the new index reuses those saved,
        and whatever is still missing is computed again in the background.
        """
        async with self._reload_lock:
            started = time.perf_counter()
            await asyncio.to_thread(self._stop_vectors)
            old = self._snapshot
            try:
                new = await asyncio.to_thread(
                    open_index,
                    self.directory,
                    self.config,
                    self.cache_file,
                    old.corpus,
                    child=True,
                    encoder=self.encoder,
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
                self._complete_vectors()
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
            self._complete_vectors()
            return ReloadReport(new, changes, time.perf_counter() - started)

    def _complete_vectors(self) -> None:
        """Start computing the passage vectors the index in service lacks, if it lacks any."""
        snapshot, encoder = self._snapshot, self.encoder
        if encoder is None or self.cache_file is None or not snapshot.vectors_missing:
            return
        if not snapshot.key:
            logger.warning("the passage vectors need the index cache; answering by BM25 alone")
            return
        logger.info(
            "encoding %d passages in the background; answering by BM25 alone until then",
            snapshot.vectors_missing,
        )
        job = VectorJob(self.cache_file, snapshot.key)
        waiter = threading.Thread(
            target=self._swap_in_vectors,
            args=(job, snapshot, encoder),
            name="passage-vectors",
            daemon=True,
        )
        self._vectors = job, waiter
        job.start()
        waiter.start()

    def _swap_in_vectors(self, job: VectorJob, snapshot: Opened, encoder: Encoder) -> None:
        """In a thread: wait for `job`, then serve `snapshot` with its vectors.

        A reload stops the job and waits for this thread before it swaps its own index in.
        """
        started = time.perf_counter()
        if not job.wait():
            if not job.stopped:
                logger.warning("computing the passage vectors failed; answering by BM25 alone")
            return
        try:
            vectors = read_vectors(job.cache_file, job.key, encoder)
        except (OSError, KeyError, ValueError) as error:
            vectors = None
            logger.warning("the passage vectors could not be read (%r)", error)
        if vectors is None or not vectors.complete:
            logger.warning("the passage vectors are incomplete; answering by BM25 alone")
            return
        index = snapshot.index.with_dense(Dense(encoder, vectors.matrix))
        self._snapshot = replace(snapshot, index=index, vectors=vectors)
        logger.info(
            "passage vectors ready after %.0f s: answering by words and meaning",
            time.perf_counter() - started,
        )

    def close(self) -> None:
        """At exit: stop computing passage vectors (what is done stays in the cache)."""
        self._stop_vectors()

    def _stop_vectors(self) -> None:
        """Stop computing passage vectors, if that is going on, and wait until it has ended."""
        if self._vectors is not None:
            job, waiter = self._vectors
            job.stop()
            waiter.join()
            self._vectors = None
