"""Long polling that confirms to Telegram only the updates that have been handled.

python-telegram-bot's Updater confirms a batch (asks for the next offset) as soon as it has
queued it, which loses the queued updates when the process dies. Here the offset asked with is
always the dispatcher's: the oldest update not handled yet. Telegram then sends the updates in
hand again with every poll; the dispatcher recognises them by id and does not start them twice.
Since Telegram answers at once while any update at or above the offset exists, a poll that
brings nothing new is followed by a wait for the offset to move (at most `IDLE_PAUSE`), so one
slow chat does not make the bot poll in a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
from collections.abc import Sequence

from telegram.error import InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

from bot.dispatch import Dispatcher
from bot.flood import SLACK, ChatRateLimiter

logger = logging.getLogger(__name__)

# Seconds a long poll waits for an update (python-telegram-bot's default for run_polling).
POLL_TIMEOUT = 10.0
# Telegram's largest batch: a full one means more may be waiting.
BATCH = 100
# The longest wait for the offset to move after a poll that brought nothing new, while updates
# are in hand: the most an update of another chat waits then before it is fetched.
IDLE_PAUSE = 0.1
# After a failed poll: the first pause, growing by the factor up to the maximum. A single
# failure (a 5xx, a dropped connection) is usually a blip, and while the bot does not poll no
# chat gets an answer, so the first retry comes soon; a Bot API that stays down is asked 15
# times in its first 90 s, then every 30 s. Flood control waits what Telegram asks instead.
FIRST_BACKOFF = 0.1
BACKOFF_FACTOR = 1.5
MAX_BACKOFF = 30.0
RETRY_AFTER_SLACK = SLACK


def seconds(value: int | float | dtm.timedelta) -> float:
    """A duration of python-telegram-bot's (seconds, or a timedelta) in seconds."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def poll_delay(error: TelegramError, failures: int) -> float:
    """Seconds to wait before polling again after the `failures`-th failed poll in a row.

    Flood control: what Telegram asks. A poll that timed out: none (the long wait was the
    poll's). Anything else (a 5xx, a dropped connection): 0.1 s, then 1.5 times longer each
    time, up to 30 s; `failures` counts only these.
    """
    if isinstance(error, RetryAfter):
        return seconds(error.retry_after) + RETRY_AFTER_SLACK
    if isinstance(error, TimedOut):
        return 0.0
    return min(MAX_BACKOFF, FIRST_BACKOFF * BACKOFF_FACTOR ** max(failures - 1, 0))


def poll_again_at_once(fetched: int, fresh: int, busy: bool) -> bool:
    """Whether to poll again without waiting for the offset to move.

    Yes when nothing is in hand (the poll is a long poll, which waits by itself) or when the
    batch was full of new updates (more may be waiting); otherwise Telegram would only send
    the updates in hand again.
    """
    return not busy or (fetched >= BATCH and fresh > 0)


def spill_now(fetched: int, fresh: int, moved: bool) -> bool:
    """Whether to store the updates in hand so that the offset may pass them.

    When a full batch brought nothing new and the offset has not moved since: the updates
    held up behind a slow chat fill Telegram's largest batch, and polling would bring only
    them again until they are handled.
    """
    return fetched >= BATCH and fresh == 0 and not moved


class Poller:
    """Fetches updates into the dispatcher with the offset that confirms only handled ones."""

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        dispatcher: Dispatcher,
        *,
        timeout: float = POLL_TIMEOUT,
        allowed_updates: Sequence[str] | None = None,
        pause: float = IDLE_PAUSE,
    ) -> None:
        self.application = application
        self.dispatcher = dispatcher
        self.timeout = timeout
        self.allowed_updates = allowed_updates
        self.pause = pause
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Remove any webhook (Telegram refuses getUpdates while one is set), then poll.

        Raises:
            TelegramError: If Telegram fails the webhook's removal.
        """
        await self.application.bot.delete_webhook()
        self.task = asyncio.create_task(self._loop(), name="Poller")

    async def stop(self) -> None:
        """Stop polling (the long poll in progress is abandoned)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def confirm(self) -> None:
        """Tell Telegram what has been handled (one short poll), as the bot stops."""
        offset = self.dispatcher.offset
        if not offset:
            return
        try:
            await self.application.bot.get_updates(
                offset=offset, timeout=dtm.timedelta(0), allowed_updates=self.allowed_updates
            )
        except TelegramError as error:
            logger.warning("could not confirm the handled updates (%s); they may come again", error)

    async def _loop(self) -> None:
        bot, dispatcher = self.application.bot, self.dispatcher
        failures = 0
        while True:
            dispatcher.expect_move()
            try:
                updates = await bot.get_updates(
                    offset=dispatcher.offset,
                    timeout=dtm.timedelta(seconds=self.timeout),
                    allowed_updates=self.allowed_updates,
                )
            except InvalidToken:
                raise
            except TelegramError as error:
                failures += not isinstance(error, RetryAfter | TimedOut)
                delay = poll_delay(error, failures)
                if isinstance(error, RetryAfter):
                    # Flood control on a request about no chat: the whole bot waits.
                    logger.warning("getting updates: %s; every chat waits", error)
                    if isinstance(limiter := bot.rate_limiter, ChatRateLimiter):
                        limiter.pause_everything(delay)
                elif not isinstance(error, TimedOut):
                    await self.application.process_error(update=None, error=error)
                await asyncio.sleep(delay)
                continue
            failures = 0
            fresh = sum(dispatcher.submit(update) for update in updates)
            if not poll_again_at_once(len(updates), fresh, dispatcher.ledger.busy):
                moved = await dispatcher.moved(self.pause)
                if spill_now(len(updates), fresh, moved):
                    await dispatcher.spill()
