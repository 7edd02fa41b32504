"""Ordering keys, the ledger of updates in hand, and the dispatcher, without Telegram."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Update

from bot.dispatch import Dispatcher, InboxQueue, Ledger, ordering_key
from bot.store import UpdateStore
from tests.conftest import eventually

PRIVATE = 555
GROUP = -1001234567890
HOLD = 10.0  # the longest a test holds an update back (it always lets go sooner)


def update(
    update_id: int,
    chat: int | None = PRIVATE,
    *,
    thread: int | None = None,
    topic: bool = False,
    edited: bool = False,
) -> Update:
    """A message update in `chat` (None: an update about no chat)."""
    if chat is None:
        user = {"id": PRIVATE, "is_bot": False, "first_name": "U"}
        query = {"id": "1", "from": user, "query": "", "offset": ""}
        data: dict[str, Any] = {"update_id": update_id, "inline_query": query}
    else:
        kind = "private" if chat > 0 else "supergroup"
        message: dict[str, Any] = {
            "message_id": update_id, "date": 0, "text": f"q{update_id}",
            "chat": {"id": chat, "type": kind, "is_forum": thread is not None},
        }  # fmt: skip
        if thread is not None:
            message["message_thread_id"] = thread
        if topic:
            message["is_topic_message"] = True
        data = {"update_id": update_id, "edited_message" if edited else "message": message}
    result = Update.de_json(data, None)
    assert result is not None
    return result


@pytest.mark.parametrize(
    ("made", "key"),
    [
        (update(1, PRIVATE), (PRIVATE, None)),
        (update(2, GROUP), (GROUP, None)),
        (update(3, GROUP, thread=77, topic=True), (GROUP, 77)),  # a forum topic: its own
        (update(4, GROUP, thread=9), (GROUP, None)),  # a reply chain, not a topic
        (update(5, GROUP, edited=True), (GROUP, None)),
        (update(6, None), ("user", PRIVATE)),  # no chat (inline): in its sender's order
        (Update(7), ("update", 7)),  # neither chat nor sender: on its own
    ],
)
def test_ordering_key(made: Update, key: object) -> None:
    assert ordering_key(made) == key


def test_the_offset_is_the_oldest_update_in_hand() -> None:
    ledger = Ledger()
    assert ledger.offset == 0  # nothing seen: Telegram's oldest unconfirmed
    assert [ledger.admit(i) for i in (10, 11, 12)] == [True, True, True]
    assert ledger.offset == 10
    assert ledger.done(11) is False  # 10 is still in hand
    assert ledger.offset == 10
    assert ledger.done(10) is True
    assert ledger.offset == 12
    assert [ledger.admit(i) for i in (11, 12, 13)] == [False, False, True]  # sent again
    assert ledger.done(12) and ledger.done(13)
    assert (ledger.offset, ledger.busy) == (14, False)


def test_stored_updates_in_hand_do_not_hold_the_offset_back() -> None:
    ledger = Ledger()
    for update_id in (10, 11, 12):
        ledger.admit(update_id)
    assert ledger.unstored() == [10, 11, 12]
    assert ledger.stored([10, 11, 99]) is True  # 99 is not in hand: ignored
    assert (ledger.offset, ledger.unstored()) == (12, [12])
    ledger.admit(13)
    assert ledger.stored([12, 13]) is True
    assert ledger.offset == 14  # everything below is handled or stored
    assert ledger.busy and not ledger.admit(10)  # still in hand: not started again
    for update_id in (10, 11, 12, 13):
        ledger.done(update_id)
    assert (ledger.offset, ledger.busy, ledger.unstored()) == (14, False, [])


def test_updates_handled_before_a_restart_are_not_started_again() -> None:
    ledger = Ledger(handled=[20, 21])
    assert [ledger.admit(i) for i in (20, 21, 22)] == [False, False, True]
    assert ledger.offset == 22
    assert ledger.done(22)
    assert ledger.offset == 23


def test_only_the_latest_handled_ids_are_remembered() -> None:
    ledger = Ledger(remembered=3)
    for update_id in range(10):
        ledger.admit(update_id)
        ledger.done(update_id)
    assert ledger.known(9) and not ledger.known(0)  # cut back to the latest 3 past 2 × 3


def test_storing_updates_that_do_not_hold_the_offset_back_does_not_move_it() -> None:
    ledger = Ledger()
    for update_id in (10, 11, 12):
        ledger.admit(update_id)
    assert ledger.stored([11, 12]) is False  # 10 still holds the offset
    assert (ledger.offset, ledger.unstored()) == (10, [10])
    assert ledger.stored([10]) is True
    assert ledger.offset == 13


@pytest.mark.parametrize(
    ("handled", "known"),
    [
        (6, [0, 1, 2, 3, 4, 5]),  # up to one and a half times `remembered`: all kept
        (7, [3, 4, 5, 6]),  # one more: cut back to the latest `remembered`
    ],
)
def test_handled_ids_are_cut_back_past_one_and_a_half_times_remembered(
    handled: int, known: list[int]
) -> None:
    ledger = Ledger(remembered=4)
    for update_id in range(handled):
        ledger.admit(update_id)
        ledger.done(update_id)
    assert [i for i in range(handled) if ledger.known(i)] == known


def test_a_stored_update_once_handled_is_stored_no_more() -> None:
    # Handled and then forgotten, an update that comes again is in hand anew, not in the inbox:
    # it holds the offset back like any other.
    ledger = Ledger(remembered=1)
    ledger.admit(1)
    ledger.stored([1])
    ledger.done(1)
    ledger.admit(2)
    ledger.done(2)  # 1 is forgotten
    assert ledger.admit(1) is True
    assert (ledger.unstored(), ledger.offset) == ([1], 1)


@given(st.lists(st.tuples(st.sampled_from("ads"), st.integers(0, 30)), max_size=80))
def test_the_offset_never_passes_an_update_in_hand_unless_stored(
    steps: list[tuple[str, int]],
) -> None:
    ledger, pending, handled, seen = Ledger(), set[int](), set[int](), set[int]()
    stored: set[int] = set()
    for action, update_id in steps:
        if action == "s":  # store everything in hand
            ledger.stored(pending)
            stored |= pending
        elif action == "a":
            seen.add(update_id)
            started = ledger.admit(update_id)
            assert started == (update_id not in pending | handled)
            if started:
                pending.add(update_id)
        elif pending:
            done = min(pending, key=lambda i: (i - update_id) % 31)
            ledger.done(done)
            pending.discard(done)
            handled.add(done)
        assert all(ledger.offset <= i for i in pending - stored)  # never past one unstored
        assert ledger.busy == bool(pending)
        if not pending:  # all handled: everything seen is confirmed
            assert ledger.offset == (max(seen) + 1 if seen else 0)


@dataclass
class FakeApplication:
    """Records what the dispatcher hands it; updates in `held` wait for their event."""

    bot: None = None
    started: list[int] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)
    held: dict[int, asyncio.Event] = field(default_factory=dict)
    failing: set[int] = field(default_factory=set)

    async def process_update(self, update: object) -> None:
        assert isinstance(update, Update)
        self.started.append(update.update_id)
        if (gate := self.held.get(update.update_id)) is not None:
            await asyncio.wait_for(gate.wait(), HOLD)
        if update.update_id in self.failing:
            raise RuntimeError("broken machinery")
        self.finished.append(update.update_id)

    def hold(self, *update_ids: int) -> None:
        for update_id in update_ids:
            self.held[update_id] = asyncio.Event()

    def release(self, *update_ids: int) -> None:
        for update_id in update_ids or tuple(self.held):
            self.held[update_id].set()


@pytest.fixture
def store() -> Iterator[UpdateStore]:
    opened = UpdateStore.open(None)
    yield opened
    opened.close()


@pytest.fixture
async def app() -> AsyncIterator[FakeApplication]:
    application = FakeApplication()
    yield application
    application.release()  # nothing stays held if a test fails


async def started(dispatcher: Dispatcher, app: FakeApplication) -> Dispatcher:
    await dispatcher.start(app)  # type: ignore[arg-type]
    return dispatcher


async def until(condition: Callable[[], bool], seconds: float = HOLD) -> None:
    await eventually(condition, seconds, "the condition")


async def test_a_held_chat_does_not_hold_up_the_others_and_keeps_its_order(
    store: UpdateStore, app: FakeApplication
) -> None:
    dispatcher = await started(Dispatcher(store, slots=4), app)
    app.hold(1)
    for made in (update(1, PRIVATE), update(2, GROUP), update(3, PRIVATE), update(4, GROUP)):
        assert dispatcher.submit(made)
    await until(lambda: app.finished == [2, 4])
    assert app.started == [1, 2, 4]  # 3 waits behind 1, in its chat
    assert dispatcher.offset == 1  # nothing at or past the held update is confirmed
    app.release(1)
    await until(lambda: app.finished == [2, 4, 1, 3])
    assert dispatcher.offset == 5
    assert sorted(await store.handled_ids()) == [1, 2, 3, 4]
    await dispatcher.stop()


async def test_at_most_slots_chats_at_once_and_one_slot_per_chat(
    store: UpdateStore, app: FakeApplication
) -> None:
    dispatcher = await started(Dispatcher(store, slots=2), app)
    app.hold(1, 2, 3, 4)
    for update_id in (1, 2, 3):  # one chat's three updates
        dispatcher.submit(update(update_id, PRIVATE))
    dispatcher.submit(update(4, GROUP))
    dispatcher.submit(update(5, GROUP - 1))
    await until(lambda: len(app.started) == 2)
    assert app.started == [1, 4]  # the busy chat has one slot, the first group the other
    app.release(4)
    await until(lambda: 5 in app.finished)  # the freed slot goes to the chat waiting next
    assert app.started == [1, 4, 5]
    app.release()
    await until(lambda: sorted(app.finished) == [1, 2, 3, 4, 5])
    assert [i for i in app.finished if i <= 3] == [1, 2, 3]
    await dispatcher.stop()


async def test_an_update_is_started_once_however_often_it_comes(
    store: UpdateStore, app: FakeApplication
) -> None:
    await store.record_handled(1)  # handled before a restart
    dispatcher = await started(Dispatcher(store, slots=4), app)
    app.hold(2)
    assert dispatcher.submit(update(1)) is False
    assert dispatcher.submit(update(2)) is True
    assert dispatcher.submit(update(2)) is False  # in hand
    app.release(2)
    await until(lambda: app.finished == [2])
    assert dispatcher.submit(update(2)) is False  # handled
    assert app.started == [2]
    await dispatcher.stop()


async def test_stopping_finishes_what_is_being_handled_and_leaves_the_rest_in_hand(
    store: UpdateStore, app: FakeApplication
) -> None:
    dispatcher = await started(Dispatcher(store, slots=4), app)
    app.hold(1)
    dispatcher.submit(update(1))
    dispatcher.submit(update(2))  # queued behind 1
    await until(lambda: app.started == [1])
    stopping = asyncio.ensure_future(dispatcher.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # waits for update 1
    app.release(1)
    await asyncio.wait_for(stopping, HOLD)
    assert app.finished == [1]
    assert dispatcher.offset == 2  # update 2 stays unconfirmed: Telegram sends it again


async def test_a_failure_outside_the_handlers_is_logged_and_the_update_counts_as_handled(
    store: UpdateStore, app: FakeApplication, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = await started(Dispatcher(store, slots=4), app)
    app.failing.add(1)
    dispatcher.submit(update(1))
    dispatcher.submit(update(2))
    await until(lambda: app.finished == [2])
    await until(lambda: dispatcher.offset == 3)  # not handled again and again
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["update 1 could not be handled"]
    await dispatcher.stop()


async def test_the_offset_moves_are_signalled(store: UpdateStore, app: FakeApplication) -> None:
    dispatcher = await started(Dispatcher(store, slots=4), app)
    app.hold(1)
    dispatcher.submit(update(1))
    dispatcher.expect_move()
    assert await dispatcher.moved(0.05) is False
    app.release(1)
    assert await dispatcher.moved(HOLD) is True
    await dispatcher.stop()


async def test_updates_held_up_are_stored_and_handled_from_the_inbox_after_a_restart(
    store: UpdateStore, app: FakeApplication
) -> None:
    dispatcher = await started(Dispatcher(store, slots=4), app)
    app.hold(1)
    for made in (update(1, PRIVATE), update(2, PRIVATE), update(3, GROUP)):
        dispatcher.submit(made)
    await until(lambda: app.finished == [3])
    assert dispatcher.offset == 1
    dispatcher.expect_move()
    assert await dispatcher.spill() == 2  # 1 (being handled) and 2 (queued behind it)
    assert await dispatcher.moved(0) and dispatcher.offset == 4
    assert [update_id for update_id, _ in await store.inbox()] == [1, 2]
    assert await dispatcher.spill() == 0  # nothing more to store
    # The process dies here; the next start handles both from the inbox, in order.
    after = FakeApplication()
    second = await started(Dispatcher(store, slots=4), after)
    await until(lambda: after.finished == [1, 2])
    assert await store.inbox() == []
    app.release(1)
    await dispatcher.stop()
    await second.stop()


async def test_a_webhook_update_handled_long_ago_is_recognised_by_the_store(
    store: UpdateStore, app: FakeApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.dispatch.IN_MEMORY", 1)
    await store.record_handled(5)
    await store.record_handled(6)  # only this one is kept in memory
    dispatcher = await started(Dispatcher(store, slots=4), app)
    assert dispatcher.ledger.known(6) and not dispatcher.ledger.known(5)
    await InboxQueue(dispatcher).put(update(5))  # Telegram sent it again, much later
    await InboxQueue(dispatcher).put(update(7))
    await until(lambda: app.finished == [7])
    assert app.started == [7] and await store.inbox() == []
    await dispatcher.stop()


async def test_the_webhook_inbox_stores_before_it_dispatches_and_is_replayed(
    store: UpdateStore, app: FakeApplication
) -> None:
    first = await started(Dispatcher(store, slots=4), app)
    inbox = InboxQueue(first)
    app.hold(1)
    await inbox.put(update(1))
    assert [update_id for update_id, _ in await store.inbox()] == [1]  # stored once put returns
    await inbox.put(update(1))  # Telegram sent it again (no 200 in time): not started twice
    await until(lambda: app.started == [1])
    # The process dies here with update 1 in hand; the next start handles it from the inbox.
    after = FakeApplication()
    second = await started(Dispatcher(store, slots=4), after)
    await until(lambda: after.finished == [1])
    assert await store.inbox() == []
    await inbox.put("the stop signal")  # anything but an update is queued as usual
    assert inbox.get_nowait() == "the stop signal"
    app.release(1)
    await first.stop()
    await second.stop()
