"""Updates handled side by side: each chat in order, many chats at once, none twice.

`ordering_key` says which updates must keep their order (a chat's, or a forum topic's), and
`Ledger` keeps the books on which updates are in hand and handled and on the one number Telegram
understands, the offset: the oldest update not yet handled. Both are pure and tested without
Telegram. `Dispatcher` carries them out: a FIFO per chat, at most `slots` chats handled at a
time, each update recorded as handled in the `UpdateStore` before it counts as done.
`InboxQueue` is the webhook's way in: an update is stored before Telegram gets its 200.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.store import UpdateStore

logger = logging.getLogger(__name__)

# Handled update ids kept in memory (the store keeps more, for webhooks). Telegram sends again
# only updates at or above the offset, which is never more than a few hundred behind the newest.
IN_MEMORY = 2_000


def ordering_key(update: Update) -> Hashable:
    """The updates that must be handled one after another share a key: a chat's.

    A forum topic counts as a chat of its own: topics are separate conversations, so a topic
    that is slow to answer does not hold up the others (the group's flood limit is still
    shared). The General topic and groups without topics are the chat itself. An update with
    no chat (an inline query) keeps the order of its sender's: one person's inline queries,
    typed one after another, are answered (and rate-limited) in the order typed.
    """
    chat = update.effective_chat
    if chat is None:
        user = update.effective_user
        return ("user", user.id) if user is not None else ("update", update.update_id)
    message = update.effective_message
    if message is not None and message.is_topic_message and message.message_thread_id:
        return (chat.id, message.message_thread_id)
    return (chat.id, None)


class Ledger:
    """Which updates are in hand and which are handled; the offset that confirms only these.

    Telegram's `getUpdates` confirms every update below the offset it is asked with, so the
    offset is the oldest update in hand, or one past the newest seen when none is. An update in
    hand that has been stored (in the update store's inbox, which the next start handles) does
    not hold the offset back. Handled ids are remembered (the latest `remembered`, beginning
    with those of the store) so that an update Telegram sends again is not started twice.
    """

    def __init__(self, handled: Iterable[int] = (), remembered: int = IN_MEMORY) -> None:
        self.remembered = remembered
        self._handled = set(handled)
        self._pending: set[int] = set()
        self._stored: set[int] = set()  # in hand, and safe in the inbox
        self._newest: int | None = None

    def admit(self, update_id: int) -> bool:
        """Take an update in; False if it is in hand or handled already (not to start again)."""
        if self._newest is None or update_id > self._newest:
            self._newest = update_id
        if update_id in self._pending or update_id in self._handled:
            return False
        self._pending.add(update_id)
        return True

    def known(self, update_id: int) -> bool:
        """Whether the update is in hand or handled."""
        return update_id in self._pending or update_id in self._handled

    def stored(self, update_ids: Iterable[int]) -> bool:
        """Mark updates in hand as stored; whether the offset moved."""
        before = self.offset
        self._stored |= self._pending.intersection(update_ids)
        return self.offset != before

    def unstored(self) -> list[int]:
        """The updates in hand that are not stored, oldest first."""
        return sorted(self._pending - self._stored)

    def done(self, update_id: int) -> bool:
        """Mark an update handled; whether the offset moved."""
        before = self.offset
        self._pending.discard(update_id)
        self._stored.discard(update_id)
        self._handled.add(update_id)
        if len(self._handled) > self.remembered + self.remembered // 2:
            self._handled = set(sorted(self._handled)[-self.remembered :])
        return self.offset != before

    @property
    def offset(self) -> int:
        """The offset to ask Telegram with: every update below it is handled or stored.

        0 when nothing has been seen (Telegram's oldest unconfirmed update comes first).
        """
        if self._pending and (holding := self._pending - self._stored):
            return min(holding)
        return self._newest + 1 if self._newest is not None else 0

    @property
    def busy(self) -> bool:
        """Whether any update is in hand."""
        return bool(self._pending)


class Dispatcher:
    """Handles updates through the Application: one at a time per chat, `slots` chats at once.

    A chat whose update is being handled holds one slot, however many of its updates wait, so
    one chat never takes more than one; chats waiting for a slot take turns. An update counts
    as handled once `Application.process_update` has returned (a handler's error has been
    reported by then) and the store has recorded it.
    """

    def __init__(self, store: UpdateStore, slots: int) -> None:
        self.store = store
        self.slots = slots
        self.ledger = Ledger()
        self._queues: dict[Hashable, deque[Update]] = {}
        self._in_hand: dict[int, Update] = {}
        self._ready: deque[Hashable] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._handle: Callable[[Update], Awaitable[None]] | None = None
        self._stopping = False
        self._moved = asyncio.Event()
        self._store_failed = False

    async def start(self, application: Application) -> None:  # type: ignore[type-arg]
        """Start handling through `application`: remember what was handled, replay the inbox."""
        self._handle = application.process_update
        self._stopping = False
        self.ledger = Ledger(await self.store.handled_ids(IN_MEMORY))
        inbox = await self.store.inbox()
        for _, data in inbox:
            update = Update.de_json(json.loads(data), application.bot)
            if update is not None:
                self.submit(update)
        if inbox:
            logger.info("handling %d updates taken in before the restart", len(inbox))

    def submit(self, update: Update) -> bool:
        """Queue an update behind its chat's; False if it was in hand or handled already."""
        if not self.ledger.admit(update.update_id):
            return False
        self._in_hand[update.update_id] = update
        key = ordering_key(update)
        queue = self._queues.get(key)
        if queue is None:
            self._queues[key] = deque([update])
            self._ready.append(key)
            self._pump()
        else:
            queue.append(update)
        return True

    async def receive(self, update: Update) -> None:
        """Store an update (a webhook's), then queue it: once this returns, it is not lost.

        Raises:
            sqlite3.Error: If it could not be stored; Telegram, not answered 200, sends it again.
        """
        if self.ledger.known(update.update_id):
            return
        if await self.store.receive(update.update_id, update.to_json()):
            self.submit(update)  # else handled long ago (known to the store only)

    async def spill(self) -> int:
        """Store the updates in hand in the inbox, so that the offset may pass them.

        For when updates held up behind a slow chat fill Telegram's largest batch: polling
        would bring only them again, and no other chat's update, until they are handled.
        Stored, they are as safe as a webhook's: were the process killed, the next start
        handles them from the inbox. Returns how many were stored.
        """
        held = [update_id for update_id in self.ledger.unstored() if update_id in self._in_hand]
        if not held:
            return 0
        await self.store.receive_many(
            [(update_id, self._in_hand[update_id].to_json()) for update_id in held]
        )
        if self.ledger.stored(held):
            self._moved.set()
        logger.info("stored %d updates held up behind slow chats; polling past them", len(held))
        return len(held)

    @property
    def offset(self) -> int:
        """The offset that confirms exactly the updates handled or stored (see `Ledger`)."""
        return self.ledger.offset

    def expect_move(self) -> None:
        """Start watching for the offset to move (call before asking Telegram)."""
        self._moved.clear()

    async def moved(self, within: float) -> bool:
        """Wait until the offset has moved since `expect_move`, at most `within` seconds."""
        try:
            async with asyncio.timeout(within):
                await self._moved.wait()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        """Start nothing more; wait for the updates being handled.

        Updates still queued stay in hand: their offset is not confirmed (Telegram sends them
        again) and a webhook's stay in the inbox, so the next start handles them.
        """
        self._stopping = True
        while self._running:
            await asyncio.wait(set(self._running))

    def _pump(self) -> None:
        while not self._stopping and self._ready and len(self._running) < self.slots:
            key = self._ready.popleft()
            task = asyncio.create_task(self._next_of(key), name=f"dispatch:{key}")
            self._running.add(task)

    async def _next_of(self, key: Hashable) -> None:
        """Handle the oldest update of one chat, then give the slot to the next chat waiting."""
        queue = self._queues[key]
        try:
            await self._process(queue[0])
        finally:
            queue.popleft()
            if queue:
                self._ready.append(key)
            else:
                del self._queues[key]
            task = asyncio.current_task()
            if task is not None:
                self._running.discard(task)
            self._pump()

    async def _process(self, update: Update) -> None:
        assert self._handle is not None, "start() first"
        try:
            await self._handle(update)
        except Exception:  # handlers' errors go to the error handler; this is anything else
            logger.exception("update %s could not be handled", update.update_id)
        try:
            await self.store.record_handled(update.update_id)
        except Exception as error:  # the update is handled; only the record failed
            if not self._store_failed:
                logger.error(
                    "cannot record handled updates (%s); a restart may answer them again", error
                )
            self._store_failed = True
        else:
            self._store_failed = False
        self._in_hand.pop(update.update_id, None)
        if self.ledger.done(update.update_id):
            self._moved.set()


class InboxQueue(asyncio.Queue[Any]):
    """The webhook's update queue: `put` stores an update and queues it with the dispatcher.

    PTB's webhook handler answers Telegram 200 when `put` returns, so an update is answered
    only once it is on disk; were the process killed then, the next start handles it. Anything
    else put here (the Application's stop signal) is queued as usual.
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        super().__init__()
        self.dispatcher = dispatcher

    async def put(self, item: Any) -> None:
        """Store and dispatch an update; queue anything else."""
        if isinstance(item, Update):
            await self.dispatcher.receive(item)
        else:
            await super().put(item)
