"""The flood limits and per-chat pauses of `ChatRateLimiter`, without Telegram."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.flood import KEEP_CHATS, SLACK, ChatRateLimiter, Pauses, chat_of, is_group, retry_seconds

PRIVATE = 555
GROUP = -1001234567890
OTHER_GROUP = GROUP - 1


@pytest.mark.parametrize(
    ("data", "chat"),
    [
        ({"chat_id": 555}, 555),
        ({"chat_id": "555"}, 555),
        ({"chat_id": "-1001234567890"}, -1001234567890),
        ({"chat_id": "@channel"}, "@channel"),
        ({"offset": 3, "timeout": 10}, None),  # getUpdates
        ({}, None),  # getMe, setMyCommands
    ],
)
def test_the_chat_a_request_is_about(data: dict[str, Any], chat: int | str | None) -> None:
    assert chat_of(data) == chat


@pytest.mark.parametrize(
    ("chat", "group"),
    [(555, False), (-1001234567890, True), (-42, True), ("@channel", True), (None, False)],
)
def test_which_chats_the_group_limit_applies_to(chat: int | str | None, group: bool) -> None:
    assert is_group(chat) is group


@pytest.mark.parametrize(
    ("retry_after", "seconds"), [(dtm.timedelta(seconds=3), 3 + SLACK), (7, 7 + SLACK)]
)
def test_retry_after_in_seconds_with_slack(retry_after: Any, seconds: float) -> None:
    assert retry_seconds(RetryAfter(retry_after)) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("paused", "asking", "now", "wait"),
    [
        (PRIVATE, PRIVATE, 1.0, 1.0),  # the chat told to wait waits
        (PRIVATE, GROUP, 1.0, 0.0),  # another chat does not
        (PRIVATE, None, 1.0, 0.0),  # nor a request about no chat
        (None, GROUP, 1.0, 1.0),  # a pause of everything holds every chat
        (None, None, 0.5, 1.5),
        (PRIVATE, PRIVATE, 2.0, 0.0),  # over at its end
        (PRIVATE, PRIVATE, 3.0, 0.0),
    ],
)
def test_a_pause_holds_its_chat_or_everything(
    paused: int | None, asking: int | None, now: float, wait: float
) -> None:
    pauses = Pauses()
    pauses.pause(paused, 2.0, now=0.0)
    assert pauses.wait(asking, now) == wait


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_retry_after_in_whole_seconds_when_ptb_gives_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "false")  # python-telegram-bot then gives an int
    assert retry_seconds(RetryAfter(7)) == pytest.approx(7 + SLACK)


@pytest.mark.parametrize(("now", "paused"), [(4.9, True), (5.0, False), (6.0, False)])
def test_a_pause_is_over_at_its_end_and_forgotten_once_asked_about(
    now: float, paused: bool
) -> None:
    pauses = Pauses()
    pauses.pause(PRIVATE, 5.0, now=0.0)
    assert (PRIVATE in pauses.paused_chats(now)) is paused
    assert (pauses.wait(PRIVATE, now) > 0) is paused
    assert (PRIVATE in pauses._chats) is paused  # asked about once over: dropped


def test_ended_pauses_are_dropped_once_more_than_keep_chats_are_held() -> None:
    # Memory stays bounded; this shows only in the table of pauses itself.
    pauses = Pauses()
    for chat in range(KEEP_CHATS):  # each pause is over when the next begins
        pauses.pause(chat, 1.0, now=float(chat))
    assert len(pauses._chats) == KEEP_CHATS  # up to the bound: all kept
    pauses.pause(KEEP_CHATS, 1.0, now=float(KEEP_CHATS))
    assert list(pauses._chats) == [KEEP_CHATS]  # past it: the ended ones are dropped


def test_pauses_only_grow_and_ended_ones_are_forgotten() -> None:
    pauses = Pauses()
    pauses.pause(PRIVATE, 5.0, now=0.0)
    pauses.pause(PRIVATE, 1.0, now=0.0)  # a shorter pause does not end a longer one
    assert pauses.wait(PRIVATE, 1.0) == 4.0
    assert pauses.paused_chats(1.0) == {PRIVATE}
    assert pauses.wait(PRIVATE, 6.0) == 0.0
    assert pauses.paused_chats(6.0) == set()
    for chat in range(KEEP_CHATS + 1):  # many chats: those whose pause is over are dropped
        pauses.pause(chat, 1.0, now=float(chat))
    assert len(pauses.paused_chats(float(KEEP_CHATS))) == 1


Call = Callable[..., Coroutine[Any, Any, Any]]


class Telegram:
    """A fake API call: answers 429 for the chats told to, and notes when each call came."""

    def __init__(self) -> None:
        self.refuse: dict[int | None, int] = {}  # chat → how many 429s still to answer
        self.calls: list[tuple[int | None, float]] = []

    def call(self, chat: int | None, retry_after: float = 0.3) -> Call:
        async def request() -> bool:
            self.calls.append((chat, asyncio.get_running_loop().time()))
            if self.refuse.get(chat, 0) > 0:
                self.refuse[chat] -= 1
                raise RetryAfter(dtm.timedelta(seconds=retry_after))
            return True

        return request


async def send(limiter: ChatRateLimiter, telegram: Telegram, chat: int | None) -> float:
    """Send one request about `chat` through the limiter; when it went through (loop time)."""
    data = {} if chat is None else {"chat_id": chat, "text": "x"}
    await limiter.process_request(telegram.call(chat), (), {}, "sendMessage", data, None)
    return asyncio.get_running_loop().time()


async def test_a_429_in_one_chat_does_not_hold_up_another() -> None:
    limiter, telegram = ChatRateLimiter(1000, 1000), Telegram()
    telegram.refuse[GROUP] = 1
    start = asyncio.get_running_loop().time()
    refused = asyncio.ensure_future(send(limiter, telegram, GROUP))
    await asyncio.sleep(0.05)  # the group's first try has had its 429
    assert limiter.pauses.paused_chats(limiter._clock()) == {GROUP}
    other = await send(limiter, telegram, OTHER_GROUP)
    private = await send(limiter, telegram, PRIVATE)
    assert max(other, private) - start < 0.2  # neither waited for the group's pause
    assert await refused - start >= 0.3 + SLACK  # the group waited it out, then got through
    assert [chat for chat, _ in telegram.calls] == [GROUP, OTHER_GROUP, PRIVATE, GROUP]


async def test_a_429_about_no_chat_holds_up_every_chat() -> None:
    limiter, telegram = ChatRateLimiter(1000, 1000), Telegram()
    telegram.refuse[None] = 1
    start = asyncio.get_running_loop().time()
    refused = asyncio.ensure_future(send(limiter, telegram, None))
    await asyncio.sleep(0.05)
    private = await send(limiter, telegram, PRIVATE)
    assert private - start >= 0.3 + SLACK
    assert await refused - start >= 0.3 + SLACK


async def test_pause_everything_holds_every_chat() -> None:
    limiter, telegram = ChatRateLimiter(1000, 1000), Telegram()
    start = asyncio.get_running_loop().time()
    limiter.pause_everything(0.3)
    assert await send(limiter, telegram, PRIVATE) - start >= 0.3


async def test_past_its_retries_the_429_goes_to_the_caller() -> None:
    limiter, telegram = ChatRateLimiter(1000, 1000, max_retries=2), Telegram()
    telegram.refuse[PRIVATE] = 3
    with pytest.raises(RetryAfter):
        await limiter.process_request(
            telegram.call(PRIVATE, retry_after=0.05),
            (), {}, "sendMessage", {"chat_id": PRIVATE}, None,
        )  # fmt: skip
    assert len(telegram.calls) == 3  # the first try and two retries
    # A call's own retries (PTB's rate_limit_args) count instead when given.
    telegram.refuse[PRIVATE] = 1
    with pytest.raises(RetryAfter):
        await limiter.process_request(
            telegram.call(PRIVATE, retry_after=0.05),
            (), {}, "sendMessage", {"chat_id": PRIVATE}, 0,
        )  # fmt: skip


async def test_flood_limits_overall_and_per_group() -> None:
    # Two replies a second to one group (the group limit's period made a second): the group's
    # third waits, while a private chat and another group go at once.
    limiter, telegram = ChatRateLimiter(1000, 2, group_time_period=1.0), Telegram()
    start = asyncio.get_running_loop().time()
    chats = [GROUP, GROUP, GROUP, PRIVATE, OTHER_GROUP]
    at = await asyncio.gather(*(send(limiter, telegram, chat) for chat in chats))
    assert sorted(at[:3])[1] - start < 0.2 and sorted(at[:3])[2] - start >= 0.4
    assert max(at[3:]) - start < 0.2
    # Two a second overall: the third chat waits; a request about no chat (getMe) does not.
    slow = ChatRateLimiter(2, 1000, overall_time_period=1.0)
    start = asyncio.get_running_loop().time()
    chats = [PRIVATE, PRIVATE + 1, PRIVATE + 2]
    at = await asyncio.gather(*(send(slow, telegram, chat) for chat in [*chats, None]))
    assert sorted(at[:3])[2] - start >= 0.4
    assert at[3] - start < 0.2
