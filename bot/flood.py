"""Telegram's flood limits, with a 429 pausing only the chat it was about.

python-telegram-bot's `AIORateLimiter` pauses every request on any `RetryAfter`, so one busy
group's 429 would stall every chat the bot serves. `ChatRateLimiter` keeps the same throttling
(`FLOOD_MESSAGES_PER_SECOND` over all chats, `FLOOD_MESSAGES_PER_MINUTE_PER_GROUP` per group,
with aiolimiter as PTB does) but pauses only the chat whose request Telegram refused; a 429 on a
request about no chat (Telegram's flood control for the whole bot, or on getUpdates, which the
poller reports with `pause_everything`) pauses everything. The decisions (whose chat, whether a
group, how long to wait) are pure functions and `Pauses`, tested without Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

Chat = int | str
# Added to Telegram's retry_after, as python-telegram-bot does: its clock and ours differ.
SLACK = 0.1
# Limiters and pauses of this many chats at most are kept; idle ones are dropped beyond.
KEEP_CHATS = 512


def chat_of(data: dict[str, Any]) -> Chat | None:
    """The chat a request is about (its `chat_id`, as a number when it is one), or None."""
    chat = data.get("chat_id")
    if chat is None:
        return None
    with contextlib.suppress(ValueError, TypeError):
        return int(chat)
    return str(chat)


def is_group(chat: Chat | None) -> bool:
    """Whether the group flood limit applies: a group or channel (negative id, or @username)."""
    return isinstance(chat, str) or (chat is not None and chat < 0)


def retry_seconds(error: RetryAfter) -> float:
    """How long Telegram asked to wait, with a little slack."""
    value: int | dtm.timedelta = error.retry_after
    waited = value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)
    return waited + SLACK


class Pauses:
    """When each chat, and everything, may be sent to again (clock-injected, pure)."""

    def __init__(self) -> None:
        self._everything = float("-inf")
        self._chats: dict[Chat, float] = {}

    def pause(self, chat: Chat | None, seconds: float, now: float) -> None:
        """Pause a chat (everything when None) for `seconds` from `now`."""
        until = now + seconds
        if chat is None:
            self._everything = max(self._everything, until)
            return
        self._chats[chat] = max(self._chats.get(chat, float("-inf")), until)
        if len(self._chats) > KEEP_CHATS:
            self._chats = {key: end for key, end in self._chats.items() if end > now}

    def wait(self, chat: Chat | None, now: float) -> float:
        """Seconds until a request about `chat` may go (0: now)."""
        until = self._everything
        if chat is not None:
            chat_until = self._chats.get(chat)
            if chat_until is not None:
                if chat_until <= now:
                    del self._chats[chat]
                else:
                    until = max(until, chat_until)
        return max(0.0, until - now)

    def paused_chats(self, now: float) -> set[Chat]:
        """The chats paused at `now` (for tests and diagnostics)."""
        return {chat for chat, until in self._chats.items() if until > now}


class ChatRateLimiter(BaseRateLimiter[int]):
    """Flood limits overall and per group; a 429 waits out in its chat, retried `max_retries`.

    Args:
        overall_max_rate: Requests about a chat per `overall_time_period`, over all chats.
        group_max_rate: Requests per `group_time_period` to one group or channel.
        max_retries: Retries of a request Telegram answered with 429 (each after the wait it
            asked for); past them the `RetryAfter` goes to the caller.
    """

    def __init__(
        self,
        overall_max_rate: float,
        group_max_rate: float,
        *,
        overall_time_period: float = 1.0,
        group_time_period: float = 60.0,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._overall = AsyncLimiter(overall_max_rate, overall_time_period)
        self._group_max_rate = group_max_rate
        self._group_time_period = group_time_period
        self._groups: dict[Chat, AsyncLimiter] = {}
        self.max_retries = max_retries
        self.pauses = Pauses()
        self._clock = clock

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def pause_everything(self, seconds: float) -> None:
        """Pause every request (Telegram's flood control for the whole bot)."""
        self.pauses.pause(None, seconds, self._clock())

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Send the request within the flood limits and the pauses; retry it after a 429.

        Raises:
            RetryAfter: If Telegram still refuses it after `max_retries` waits.
        """
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        chat = chat_of(data)
        attempt = 0
        while True:
            await self._paused(chat)
            try:
                async with contextlib.AsyncExitStack() as limits:
                    if chat is not None:
                        if is_group(chat):
                            await limits.enter_async_context(self._group(chat))
                        await limits.enter_async_context(self._overall)
                    await self._paused(chat)  # a pause may have begun while throttled
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                wait = retry_seconds(error)
                self.pauses.pause(chat, wait, self._clock())
                where = f"chat {chat}" if chat is not None else "every chat"
                if attempt >= retries:
                    raise
                attempt += 1
                logger.info("flood control on %s in %s: waiting %.1f s", endpoint, where, wait)

    async def _paused(self, chat: Chat | None) -> None:
        """Wait out the pauses of `chat` and of everything (one may grow meanwhile)."""
        while True:
            wait = self.pauses.wait(chat, self._clock())
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def _group(self, chat: Chat) -> AsyncLimiter:
        limiter = self._groups.get(chat)
        if limiter is None:
            if len(self._groups) >= KEEP_CHATS:  # drop the groups that are idle (full buckets)
                self._groups = {
                    key: kept
                    for key, kept in self._groups.items()
                    if not kept.has_capacity(kept.max_rate)
                }
            limiter = self._groups[chat] = AsyncLimiter(
                self._group_max_rate, self._group_time_period
            )
        return limiter
