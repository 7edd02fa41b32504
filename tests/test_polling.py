"""The poller's decisions: the pause after a failed poll, when to poll again, when to store."""

from __future__ import annotations

import datetime as dtm

import pytest
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut

from bot.polling import BATCH, poll_again_at_once, poll_delay, spill_now


@pytest.mark.parametrize(
    ("error", "failures", "delay"),
    [
        (RetryAfter(dtm.timedelta(seconds=1)), 0, 1.1),  # what Telegram asks, and a little
        (RetryAfter(dtm.timedelta(seconds=30)), 3, 30.1),
        (TimedOut(), 0, 0.0),  # the poll itself waited long enough
        (NetworkError("Bad Gateway"), 1, 0.1),  # a blip: soon again
        (NetworkError("Bad Gateway"), 2, 0.15),
        (NetworkError("Server disconnected"), 5, 0.1 * 1.5**4),
        (NetworkError("Bad Gateway"), 15, 29.19),  # 15 failures in about 90 s
        (NetworkError("Bad Gateway"), 16, 30.0),  # then every 30 s
        (NetworkError("Bad Gateway"), 40, 30.0),
    ],
)
def test_pause_after_a_failed_poll(error: TelegramError, failures: int, delay: float) -> None:
    assert poll_delay(error, failures) == pytest.approx(delay, abs=0.01)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_flood_control_in_whole_seconds_when_ptb_gives_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "false")  # python-telegram-bot then gives an int
    assert poll_delay(RetryAfter(2), 0) == pytest.approx(2 + 0.1)


def test_a_sustained_outage_is_asked_about_15_times_in_its_first_90_s() -> None:
    pauses = [poll_delay(NetworkError("Bad Gateway"), n) for n in range(1, 16)]
    assert 80 < sum(pauses) < 90


@pytest.mark.parametrize(
    ("fetched", "fresh", "busy", "at_once"),
    [
        (0, 0, False, True),  # nothing in hand: a long poll, which waits by itself
        (3, 3, False, True),
        (3, 3, True, False),  # would only bring the updates in hand again
        (5, 0, True, False),
        (BATCH, BATCH, True, True),  # a full batch of new ones: more may be waiting
        (BATCH, 1, True, True),  # a full batch with one new one is enough
        (BATCH, 0, True, False),
    ],
)
def test_when_to_poll_again_at_once(fetched: int, fresh: int, busy: bool, at_once: bool) -> None:
    assert poll_again_at_once(fetched, fresh, busy) is at_once


@pytest.mark.parametrize(
    ("fetched", "fresh", "moved", "spill"),
    [
        (BATCH, 0, False, True),  # a full batch of updates in hand, and no progress: store
        (BATCH, 0, True, False),  # the offset moved: the next poll brings new ones
        (BATCH, 1, False, False),  # something new came: not stuck
        (BATCH - 1, 0, False, False),  # room left in the batch for new updates
    ],
)
def test_when_to_store_the_updates_in_hand(
    fetched: int, fresh: int, moved: bool, spill: bool
) -> None:
    assert spill_now(fetched, fresh, moved) is spill
