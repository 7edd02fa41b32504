"""What the bot remembers of updates across a restart.

The ids of the updates it has handled, and the updates a webhook has taken in but not yet
handled: one small SQLite file (`updates.sqlite3`, beside the index cache) in WAL mode, used
from a thread of its own so the event loop never waits on the disk. A commit survives the
process being killed (the crash this is for); with `synchronous=NORMAL` a power cut may roll
back the last commits, which can cost a duplicate answer or, for a webhook, the updates of
that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

FILE_NAME = "updates.sqlite3"
# Handled update ids kept. Telegram sends again only the updates at or above the offset last
# confirmed, and the bot never has more than 100 of those beyond the oldest it is handling.
REMEMBERED = 10_000
# The table of handled ids is cut back to REMEMBERED after this many more.
PRUNE_EVERY = 1_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handled (
    seq INTEGER PRIMARY KEY,          -- order of handling; pruning keeps the latest
    update_id INTEGER NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS inbox (
    update_id INTEGER PRIMARY KEY,    -- a webhook update answered 200 and not yet handled
    data TEXT NOT NULL                -- the update as Telegram sent it (JSON)
);
"""


class StoreError(Exception):
    """The update store cannot be opened or used."""


def beside(index_cache: Path | None) -> Path | None:
    """Where the store lives: next to the index cache, or nowhere (in memory) without one."""
    return index_cache.with_name(FILE_NAME) if index_cache is not None else None


class UpdateStore:
    """Handled update ids (the latest REMEMBERED) and the webhook's inbox, in SQLite.

    Every call runs in the store's own thread, one at a time. Without a path the store is in
    memory: it dedupes within the process and forgets everything at exit.
    """

    def __init__(self, path: Path | None, remembered: int = REMEMBERED) -> None:
        self.path = path
        self.remembered = remembered
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="update-store")
        self._connection: sqlite3.Connection | None = None
        self._since_prune = 0

    @classmethod
    def open(cls, path: Path | None, remembered: int = REMEMBERED) -> UpdateStore:
        """Open (or create) the store at `path`, in memory when None.

        Raises:
            StoreError: If the file cannot be created or read as the store.
        """
        store = cls(path, remembered)
        try:
            store._executor.submit(store._connect).result()
        except (sqlite3.Error, OSError) as error:
            store.close()
            raise StoreError(f"the update store {path} cannot be used ({error})") from error
        return store

    def close(self) -> None:
        """Close the database and its thread; calls after this fail."""
        if self._connection is not None:
            self._executor.submit(self._connection.close).result()
            self._connection = None
        self._executor.shutdown(wait=True)

    # ----------------------------------------------------------------- async API
    async def handled_ids(self, limit: int | None = None) -> list[int]:
        """The ids of the latest handled updates (`limit` of them, at most REMEMBERED)."""
        return await self._call(self._handled_ids, min(limit or self.remembered, self.remembered))

    async def record_handled(self, update_id: int) -> None:
        """Remember that `update_id` was handled (and drop it from the inbox)."""
        await self._call(self._record_handled, update_id)

    async def receive(self, update_id: int, data: str) -> bool:
        """Keep a webhook update (its JSON) until it is handled; False if it was handled."""
        return await self._call(self._receive, update_id, data)

    async def receive_many(self, updates: list[tuple[int, str]]) -> None:
        """Keep updates (id, JSON) until they are handled, in one transaction."""
        await self._call(self._receive_many, updates)

    async def inbox(self) -> list[tuple[int, str]]:
        """The webhook updates taken in and not handled, oldest first: (id, JSON)."""
        return await self._call(self._inbox)

    async def _call(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    # ----------------------------------------------------------------- in the store's thread
    def _connect(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path if self.path is not None else ":memory:", isolation_level=None
        )
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(_SCHEMA)
            connection.execute("SELECT COUNT(*) FROM handled").fetchone()
        except sqlite3.Error:
            connection.close()
            raise
        self._connection = connection

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise StoreError("the update store is closed")
        return self._connection

    def _handled_ids(self, limit: int) -> list[int]:
        rows = self._db().execute(
            "SELECT update_id FROM handled ORDER BY seq DESC LIMIT ?", (limit,)
        )
        return [int(update_id) for (update_id,) in rows]

    def _record_handled(self, update_id: int) -> None:
        db = self._db()
        with db:  # one transaction: handled, and out of the inbox
            db.execute("BEGIN")
            db.execute("INSERT OR IGNORE INTO handled (update_id) VALUES (?)", (update_id,))
            db.execute("DELETE FROM inbox WHERE update_id = ?", (update_id,))
            self._since_prune += 1
            if self._since_prune >= PRUNE_EVERY:
                self._since_prune = 0
                db.execute(
                    "DELETE FROM handled WHERE seq <= (SELECT MAX(seq) FROM handled) - ?",
                    (self.remembered,),
                )

    def _receive(self, update_id: int, data: str) -> bool:
        self._receive_many([(update_id, data)])
        handled = self._db().execute("SELECT 1 FROM handled WHERE update_id = ?", (update_id,))
        return handled.fetchone() is None

    def _receive_many(self, updates: list[tuple[int, str]]) -> None:
        db = self._db()
        with db:
            db.execute("BEGIN")
            db.executemany(
                "INSERT OR IGNORE INTO inbox (update_id, data) "
                "SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM handled WHERE update_id = ?)",
                [(update_id, data, update_id) for update_id, data in updates],
            )

    def _inbox(self) -> list[tuple[int, str]]:
        rows = self._db().execute("SELECT update_id, data FROM inbox ORDER BY update_id")
        return [(int(update_id), str(data)) for update_id, data in rows]


def read_store(path: Path) -> tuple[set[int], set[int]]:
    """The handled ids and the inbox's ids in a store file, read-only (for benchmarks)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        handled = {int(row[0]) for row in connection.execute("SELECT update_id FROM handled")}
        inbox = {int(row[0]) for row in connection.execute("SELECT update_id FROM inbox")}
    return handled, inbox
