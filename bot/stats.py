"""What people asked and how it went: a small SQLite store for the admin's /stats.

For each question: when, in which kind of chat, the question as cleaned, whether it was
answered, the article and passage quoted, and the 👍/👎 votes on the answer. Never a user id, a
name or a chat id: a vote is tied to a keyed hash of the voter and the answer (so pressing again
changes that vote, and one person's votes cannot be linked across answers), and it goes with its
question's row. Rows older than the retention are deleted daily.

Writes never slow an answer: they are queued in memory and written in a batch a second later,
off the event loop. A broken or locked database costs the statistics, never an answer: one log
line says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import hmac
import io
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")

# How long queued writes wait to go to the database together, and how many may wait (more are
# dropped).
FLUSH_SECONDS = 1.0
MAX_PENDING = 10_000
DAY = 24 * 60 * 60
_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    answer TEXT PRIMARY KEY,
    at REAL NOT NULL,
    chat_type TEXT NOT NULL,
    question TEXT NOT NULL,
    answered INTEGER NOT NULL,
    file TEXT,
    title TEXT,
    position INTEGER
);
CREATE INDEX IF NOT EXISTS questions_at ON questions (at);
CREATE TABLE IF NOT EXISTS votes (
    answer TEXT NOT NULL REFERENCES questions (answer) ON DELETE CASCADE,
    voter TEXT NOT NULL,
    vote INTEGER NOT NULL,
    PRIMARY KEY (answer, voter)
);
"""


class Vote(IntEnum):
    """A reader's verdict on an answer."""

    UP = 1
    DOWN = -1


@dataclass(frozen=True, slots=True)
class Asked:
    """One question and what became of it, as stored.

    Attributes:
        answer: A random id of the answer (what its feedback buttons carry).
        at: When, in seconds since the epoch.
        chat_type: "private", "group", "supergroup" or "inline".
        question: The question as cleaned (no links, mentions or greetings).
        answered: Whether a passage answered it.
        file: The article quoted first, if any.
        title: That article's title as shown.
        position: The passage's position in its article.
    """

    answer: str
    at: float
    chat_type: str
    question: str
    answered: bool
    file: str | None = None
    title: str | None = None
    position: int | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    """The last days at a glance, for /stats.

    Attributes:
        days: How many days back it looks.
        questions: How many questions were asked.
        answered: How many of them got a passage.
        up: 👍 votes.
        down: 👎 votes.
        unanswered: The most asked questions that got no passage, with how often.
        disliked: The answers with the most 👎: (title, passage position, 👎 count).
        quoted: The articles quoted most: (title, times).
    """

    days: int
    questions: int
    answered: int
    up: int
    down: int
    unanswered: tuple[tuple[str, int], ...] = ()
    disliked: tuple[tuple[str, int, int], ...] = ()
    quoted: tuple[tuple[str, int], ...] = ()


def new_answer_id() -> str:
    """A random, short id for an answer: it says nothing of who asked or where."""
    return secrets.token_urlsafe(9)


def voter_key(key: bytes, answer: str, user: int) -> str:
    """The voter of `answer` as stored: a keyed hash, never the user id itself.

    With the key (which the database does not hold), the same person on the same answer gives
    the same value, so a second press changes the vote rather than adding one; without it,
    user ids cannot be recovered by trying them all, and votes on two answers cannot be linked.
    """
    return hmac.new(key, f"{answer}:{user}".encode(), hashlib.sha256).hexdigest()


@dataclass
class StatsStore:
    """The store: queue writes, flush them in batches, answer /stats; failures cost only stats.

    Attributes:
        path: The SQLite file.
        key: The secret for voter hashes (derived from the bot token by the caller).
        retention_days: Rows older than this are deleted.
    """

    path: Path
    key: bytes
    retention_days: int = 30
    _pending: list[Asked | tuple[str, str, Vote]] = field(default_factory=list)
    _failing: bool = False
    _swept: float = float("-inf")
    _timer: asyncio.Task[None] | None = None

    def record(self, asked: Asked) -> None:
        """Queue a question for the next flush (never blocks)."""
        self._queue(asked)

    def vote(self, answer: str, user: int, vote: Vote) -> None:
        """Queue a vote; the user's earlier vote on the same answer is replaced."""
        self._queue((answer, voter_key(self.key, answer, user), vote))

    def _queue(self, item: Asked | tuple[str, str, Vote]) -> None:
        """Keep `item` for the flush FLUSH_SECONDS from now (one flush for all queued by then)."""
        if len(self._pending) < MAX_PENDING:
            self._pending.append(item)
        if self._timer is None or self._timer.done():
            self._timer = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self.flush()

    async def close(self) -> None:
        """Write what is still queued (at shutdown)."""
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self.flush()

    async def flush(self) -> None:
        """Write what is queued, in a worker thread; delete old rows once a day."""
        batch, self._pending = self._pending, []
        now = time.time()
        sweep = now - self._swept >= DAY
        if sweep:
            self._swept = now
        if batch or sweep:
            await asyncio.to_thread(self._write, batch, now if sweep else None)

    async def summary(self, days: int = 7) -> Summary | None:
        """The last `days` at a glance; None if the database cannot be read."""
        await self.flush()
        return await asyncio.to_thread(self._guarded, self._summary, days)

    async def unanswered_csv(self, days: int = 7) -> bytes | None:
        """The questions of the last `days` that got no passage, as CSV; None on failure."""
        await self.flush()
        return await asyncio.to_thread(self._guarded, self._unanswered_csv, days)

    # ----------------------------------------------------------------- in the worker thread
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=2.0)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.executescript(_SCHEMA)
            with connection:
                yield connection
        finally:
            connection.close()

    def _write(
        self, batch: Sequence[Asked | tuple[str, str, Vote]], sweep_at: float | None
    ) -> None:
        def write() -> None:
            questions = [a for a in batch if isinstance(a, Asked)]
            votes = [v for v in batch if not isinstance(v, Asked)]
            with self._connect() as db:
                db.executemany(
                    "INSERT OR REPLACE INTO questions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (a.answer, a.at, a.chat_type, a.question, int(a.answered), a.file,
                         a.title, a.position)
                        for a in questions
                    ],
                )  # fmt: skip
                db.executemany(
                    "INSERT INTO votes SELECT ?, ?, ? WHERE EXISTS "
                    "(SELECT 1 FROM questions WHERE answer = ?) "
                    "ON CONFLICT (answer, voter) DO UPDATE SET vote = excluded.vote",
                    [(answer, voter, int(vote), answer) for answer, voter, vote in votes],
                )
                if sweep_at is not None:
                    cutoff = sweep_at - self.retention_days * DAY
                    db.execute("DELETE FROM questions WHERE at < ?", (cutoff,))

        self._guarded(write)

    def _guarded(self, work: Callable[..., T], *args: object) -> T | None:
        """Run `work`; a database error is logged once (until it works again), never raised."""
        try:
            result = work(*args)
        except (sqlite3.Error, OSError) as error:
            if not self._failing:
                logger.error(
                    "the statistics database %s failed (%s); answers go on", self.path, error
                )
            self._failing = True
            return None
        if self._failing:
            logger.info("the statistics database %s works again", self.path)
        self._failing = False
        return result

    def _summary(self, days: int) -> Summary:
        since = time.time() - days * DAY
        with self._connect() as db:
            questions, answered = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM questions WHERE at >= ?",
                (since,),
            ).fetchone()
            up, down = db.execute(
                "SELECT COALESCE(SUM(vote = 1), 0), COALESCE(SUM(vote = -1), 0) FROM votes "
                "JOIN questions USING (answer) WHERE at >= ?",
                (since,),
            ).fetchone()
            unanswered = db.execute(
                "SELECT lower(question) AS asked, COUNT(*) AS times FROM questions "
                "WHERE at >= ? AND NOT answered GROUP BY asked ORDER BY times DESC, asked "
                "LIMIT 10",
                (since,),
            ).fetchall()
            disliked = db.execute(
                "SELECT title, position, COUNT(*) AS downs FROM votes JOIN questions "
                "USING (answer) WHERE at >= ? AND vote = -1 GROUP BY file, position "
                "ORDER BY downs DESC, title LIMIT 5",
                (since,),
            ).fetchall()
            quoted = db.execute(
                "SELECT title, COUNT(*) AS times FROM questions WHERE at >= ? AND answered "
                "GROUP BY file ORDER BY times DESC, title LIMIT 5",
                (since,),
            ).fetchall()
        return Summary(
            days,
            questions,
            answered,
            up,
            down,
            tuple(map(tuple, unanswered)),
            tuple(map(tuple, disliked)),
            tuple(map(tuple, quoted)),
        )

    def _unanswered_csv(self, days: int) -> bytes:
        since = time.time() - days * DAY
        with self._connect() as db:
            rows = db.execute(
                "SELECT datetime(at, 'unixepoch'), chat_type, question FROM questions "
                "WHERE at >= ? AND NOT answered ORDER BY at",
                (since,),
            ).fetchall()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["time (UTC)", "chat", "question"])
        writer.writerows(rows)
        return out.getvalue().encode("utf-8")
