"""Telegram failing in every way it does, against the fake Bot API server.

Each test injects one fault, checks what the bot did about it, and that it answers the next
question. Every test runs with the bot's own logging at DEBUG; afterwards no log line and no
logged exception may hold the token.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import render
from bot.app import setup_logging
from bot.render import Lang
from retrieval import load_corpus
from testkit.telegram_server import FakeTelegram
from tests.conftest import TOKEN, RunningBot, hold_searches, running_bot, wait_sent

# Processes and the real Application over HTTP: `make quick` leaves these out.
pytestmark = pytest.mark.slow

GROUP = -1001234567890
USER = 555
OTHER = 777
SECRET = TOKEN.split(":")[1]


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _exceptions(record: logging.LogRecord) -> Iterator[BaseException]:
    error = record.exc_info[1] if record.exc_info else None
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


@pytest.fixture(autouse=True)
def bot_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The bot's log as `python -m bot` writes it (at DEBUG); checked for the token after."""
    root = logging.getLogger()
    saved = (
        root.handlers[:],
        root.level,
        [logging.getLogger(n).level for n in ("httpx", "httpcore")],
    )
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    setup_logging("DEBUG")
    keep = _Keep()
    root.addHandler(keep)
    yield stream
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in zip(("httpx", "httpcore"), saved[2], strict=True):
        logging.getLogger(name).setLevel(level)
    assert keep.records
    assert SECRET not in stream.getvalue()
    for record in keep.records:
        for error in _exceptions(record):
            assert SECRET not in str(error)


async def keeps_answering(tg: FakeTelegram) -> None:
    """A question from someone else after the fault is answered."""
    before = len(tg.sent)
    tg.push(tg.private_chat(OTHER), tg.user(OTHER), "kapan invasi dimulai")
    sent = await wait_sent(tg, before + 1, seconds=15)
    assert sent[-1]["chat"]["id"] == OTHER
    assert "Februari 2022" in sent[-1]["text"]


def replies_to(tg: FakeTelegram, chat: int) -> list[str]:
    return [m["text"] for m in tg.sent if m["chat"]["id"] == chat]


def logged(log: io.StringIO, level: str, name: str = "bot.delivery") -> list[str]:
    """What `name` logged at `level`, in order, without time and level."""
    prefix = f" {level} {name}: "
    return [line.split(prefix, 1)[1] for line in log.getvalue().splitlines() if prefix in line]


def write_long_article(corpus_dir: Path) -> None:
    """An article whose answer to "kapal selam berlayar" is long: one message near the limit."""
    sections = "\n\n".join(
        f"Bagian {n}\n\n" + f"Kapal selam nomor {n} berlayar jauh ke laut dalam. " * 22
        for n in range(1, 4)
    )
    (corpus_dir / "kapal.txt").write_text(f"Kapal Selam\n\n{sections}\n", encoding="utf-8")


async def test_flood_control_on_send_is_waited_out_and_retried(bot: RunningBot) -> None:
    tg = bot.telegram
    tg.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    (reply,) = await wait_sent(tg, 1, seconds=15)
    assert "Zelenskyy" in reply["text"]
    assert len(tg.method_calls("sendMessage")) == 2
    await keeps_answering(tg)


async def test_flood_control_past_the_retries_is_logged_once(
    bot: RunningBot, bot_log: io.StringIO
) -> None:
    tg = bot.telegram
    for _ in range(4):
        tg.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", 1, chat_id=USER)
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    await keeps_answering(tg)  # meanwhile: only the chat told to wait waits
    await bot.settled()
    sends = [call["_at"] for call in tg.method_calls("sendMessage") if call["chat_id"] == USER]
    assert len(sends) == 4  # the first try and three retries
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(sends))
    assert replies_to(tg, USER) == []
    # The rate limiter logs each wait; one ERROR line when the bot gives up.
    assert (
        logged(bot_log, "INFO", "bot.flood")
        == [f"flood control on sendMessage in chat {USER}: waiting 1.1 s"] * 3
    )
    errors = [
        line.split(" ERROR ")[1] for line in bot_log.getvalue().splitlines() if " ERROR " in line
    ]
    assert errors == [
        f"bot.delivery: could not send a reply to chat {USER}: "
        "Flood control exceeded. Retry in 0:00:01",
    ]


async def test_flood_control_on_get_updates_is_waited_out(
    bot: RunningBot, bot_log: io.StringIO
) -> None:
    tg = bot.telegram
    polls = len(tg.method_calls("getUpdates"))
    tg.fail_next("getUpdates", 429, "Too Many Requests: retry after 1", retry_after=1)
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    (reply,) = await wait_sent(tg, 1, seconds=15)
    assert "Zelenskyy" in reply["text"]
    assert [f.error.code for _, _, f in tg.failed if f.error] == [429]
    assert len(tg.method_calls("getUpdates")) > polls + 1
    refused_at = tg.failed[0][1]["_at"]
    polled_at = [c["_at"] for c in tg.method_calls("getUpdates") if c["_at"] > refused_at]
    assert polled_at[0] - refused_at >= 1.0  # what Telegram asked
    # A 429 about no chat: every chat waits too (the rate limiter pauses everything).
    assert logged(bot_log, "WARNING", "bot.polling") == [
        "getting updates: Flood control exceeded. Retry in 0:00:01; every chat waits"
    ]
    await keeps_answering(tg)


async def test_server_errors_on_get_updates_are_logged_in_one_line(
    bot: RunningBot, bot_log: io.StringIO
) -> None:
    tg = bot.telegram
    tg.fail_next("getUpdates", 502, "Bad Gateway")
    tg.fail_next("getUpdates", 500, "Internal Server Error")
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    (reply,) = await wait_sent(tg, 1, seconds=15)
    assert "Zelenskyy" in reply["text"]
    log = bot_log.getvalue()
    assert log.count("getting updates failed (Bad Gateway); polling again") == 1
    assert log.count("getting updates failed (Internal Server Error); polling again") == 1
    assert "Traceback" not in log
    await keeps_answering(tg)


async def test_connection_dropped_mid_long_poll(bot: RunningBot, bot_log: io.StringIO) -> None:
    tg = bot.telegram
    tg.drop_next("getUpdates", after=0.3)
    await asyncio.to_thread(tg.wait_for, lambda: bool(tg.failed))
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    (reply,) = await wait_sent(tg, 1, seconds=15)
    assert "Zelenskyy" in reply["text"]
    assert bot_log.getvalue().count("getting updates failed (httpx.RemoteProtocolError") == 1
    await keeps_answering(tg)


async def test_server_errors_on_send_are_retried(bot: RunningBot, bot_log: io.StringIO) -> None:
    tg = bot.telegram
    tg.fail_next("sendMessage", 500, "Internal Server Error")
    tg.fail_next("sendMessage", 502, "Bad Gateway")
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    (reply,) = await wait_sent(tg, 1)
    assert "Zelenskyy" in reply["text"]
    sends = [call["_at"] for call in tg.method_calls("sendMessage")]
    assert len(sends) == 3
    # The pauses as the server saw them: 0.5 s, then 1 s (each less than the next one planned).
    first, second = (later - earlier for earlier, later in itertools.pairwise(sends))
    assert 0.5 <= first < 1.0 and 1.0 <= second < 2.0, (first, second)
    assert logged(bot_log, "INFO") == [
        f"reply to chat {USER} failed (Internal Server Error); retry in 0.5 s",
        f"reply to chat {USER} failed (Bad Gateway); retry in 1.0 s",
    ]
    await keeps_answering(tg)


async def test_server_errors_past_the_retries_are_logged_once(
    bot: RunningBot, bot_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.delivery.BACKOFF", 0.01)
    tg = bot.telegram
    for _ in range(4):
        tg.fail_next("sendMessage", 500, "Internal Server Error", chat_id=USER)
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    await keeps_answering(tg)
    await bot.settled()
    assert replies_to(tg, USER) == []  # not delivered, and no apology that would fail as well
    assert len([c for c in tg.method_calls("sendMessage") if c["chat_id"] == USER]) == 4
    errors = [
        line.split(" ERROR ")[1] for line in bot_log.getvalue().splitlines() if " ERROR " in line
    ]
    assert errors == [f"bot.delivery: could not send a reply to chat {USER}: Internal Server Error"]


async def test_send_that_hangs_past_the_timeout_is_not_sent_again(
    bot: RunningBot, bot_log: io.StringIO
) -> None:
    tg = bot.telegram
    tg.hang_next("sendMessage", 30.0)  # far past PTB's 5 s read timeout (ends with the server)
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    (delivered,) = await wait_sent(tg, 1)  # the server took it; the bot will not know
    assert "Zelenskyy" in delivered["text"]
    await keeps_answering(tg)
    await bot.settled()
    assert len(replies_to(tg, USER)) == 1
    assert len([c for c in tg.method_calls("sendMessage") if c["chat_id"] == USER]) == 1
    assert logged(bot_log, "WARNING") == [
        f"no answer from Telegram for a reply to chat {USER} (Timed out); it may have arrived, "
        "so it is not sent again"
    ]


async def test_too_long_reply_is_sent_again_in_parts(
    telegram: FakeTelegram, corpus_dir: Path, bot_log: io.StringIO
) -> None:
    write_long_article(corpus_dir)
    async with running_bot(telegram, corpus_dir) as bot:
        tg = bot.telegram
        tg.fail_next("sendMessage", 400, "Bad Request: message is too long")
        tg.fail_next("sendMessage", 500, "Internal Server Error")  # the first part, retried
        asked = tg.push(tg.group(GROUP), tg.user(USER), "/tanya kapal selam berlayar")
        # The answer is one message; Telegram refused it, and it goes again in two parts.
        first, second = await wait_sent(tg, 2)
        assert [m["_params"].get("parse_mode") for m in (first, second)] == [None, None]
        assert [m["_reply_to"] for m in (first, second)] == [asked["message_id"], None]
        assert all(len(m["text"]) <= 2048 for m in (first, second))
        assert sum(m["text"].count("Bagian") for m in (first, second)) == 3
        assert len(tg.method_calls("sendMessage")) == 4
        assert logged(bot_log, "WARNING") == [
            "Telegram found a reply too long (Message is too long); sending it in parts"
        ]
        await keeps_answering(tg)


async def test_refusal_mid_answer_stops_the_rest_of_it(
    telegram: FakeTelegram, corpus_dir: Path, bot_log: io.StringIO
) -> None:
    for number in range(120):  # enough articles for /sources to take several messages
        (corpus_dir / f"berita-{number:03}.txt").write_text(
            f"Berita nomor {number} dengan judul yang cukup panjang\n\nBagian Pertama\n\n"
            f"Isi berita {number}.\n\nBagian Kedua\n\nLanjutan berita {number}.\n",
            encoding="utf-8",
        )
    assert len(render.sources_message(load_corpus(corpus_dir), Lang.ID)) > 1
    async with running_bot(telegram, corpus_dir) as bot:
        tg = bot.telegram
        kicked = "Forbidden: bot was kicked from the supergroup chat"
        tg.fail_next("sendMessage", 403, kicked, chat_id=GROUP)
        tg.push(tg.group(GROUP), tg.user(USER), "/sources")  # several messages
        await keeps_answering(tg)
        assert [c["chat_id"] for c in tg.method_calls("sendMessage")] == [GROUP, OTHER]
        assert logged(bot_log, "WARNING") == [
            f"chat {GROUP} refuses the bot ({kicked}); not replying there"
        ]


async def test_rejected_html_falls_back_to_plain_text(
    bot: RunningBot, bot_log: io.StringIO
) -> None:
    tg = bot.telegram
    tg.fail_next("sendMessage", 400, "Bad Request: can't parse entities: oops")
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    (reply,) = await wait_sent(tg, 1)
    assert "parse_mode" not in reply["_params"]
    assert "Zelenskyy" in reply["text"] and "<b>" not in reply["_params"]["text"]
    assert logged(bot_log, "WARNING") == [
        "Telegram rejected our HTML (Can't parse entities: oops); sending plain text"
    ]
    await keeps_answering(tg)


async def test_reply_outside_a_topic_that_is_gone(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch, bot_log: io.StringIO
) -> None:
    monkeypatch.setattr("bot.handlers.TYPING_DELAY", 30.0)
    tg = bot.telegram  # topic 78 is not known to the server: "message thread not found"
    tg.push(
        tg.group(GROUP, forum=True), tg.user(USER), "/tanya siapa presiden ukraina", thread_id=78
    )
    (reply,) = await wait_sent(tg, 1)
    assert "message_thread_id" not in reply["_params"]
    assert "Zelenskyy" in reply["text"]
    assert [c.get("message_thread_id") for c in tg.method_calls("sendMessage")] == [78, None]
    assert logged(bot_log, "WARNING") == [f"topic gone in chat {GROUP}; replying outside it"]
    await keeps_answering(tg)


async def test_removed_from_a_group_is_logged_once_and_others_are_answered(
    bot: RunningBot, bot_log: io.StringIO
) -> None:
    tg = bot.telegram
    for _ in range(2):
        tg.fail_next(
            "sendMessage", 403, "Forbidden: bot was kicked from the supergroup chat", chat_id=GROUP
        )
    tg.push(tg.group(GROUP), tg.user(USER), "/tanya siapa presiden ukraina")
    tg.push(tg.group(GROUP), tg.user(USER + 1), "/tanya kapan invasi dimulai")
    await keeps_answering(tg)
    await bot.settled()
    assert len(tg.method_calls("sendMessage")) == 3  # no retry, no apology
    assert logged(bot_log, "WARNING") == [
        f"chat {GROUP} refuses the bot (Forbidden: bot was kicked from the supergroup chat); "
        "not replying there"
    ]


async def test_refusal_is_logged_again_once_a_reply_got_through(
    bot: RunningBot, bot_log: io.StringIO
) -> None:
    tg = bot.telegram
    kicked = "Forbidden: bot was kicked from the supergroup chat"
    tg.fail_next("sendMessage", 403, kicked, chat_id=GROUP)
    tg.push(tg.group(GROUP), tg.user(USER), "/tanya siapa presiden ukraina")
    await keeps_answering(tg)
    await bot.settled()
    tg.push(tg.group(GROUP), tg.user(USER), "/tanya kapan invasi dimulai")  # added back: delivered
    await asyncio.to_thread(tg.wait_for, lambda: len(replies_to(tg, GROUP)) == 1)
    tg.fail_next("sendMessage", 403, kicked, chat_id=GROUP)  # and removed again
    tg.push(tg.group(GROUP), tg.user(USER + 1), "/tanya siapa presiden ukraina")
    await keeps_answering(tg)
    await bot.settled()
    assert bot_log.getvalue().count(f"chat {GROUP} refuses the bot") == 2


async def test_failing_typing_indicator_does_not_lose_the_answer(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch, bot_log: io.StringIO
) -> None:
    monkeypatch.setattr("bot.handlers.TYPING_DELAY", 0.0)
    tg = bot.telegram
    tg.fail_next("sendChatAction", 403, "Forbidden: bot was blocked by the user")
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    (reply,) = await wait_sent(tg, 1)
    assert "Zelenskyy" in reply["text"]
    assert len(tg.method_calls("sendChatAction")) == 1
    await keeps_answering(tg)
    assert logged(bot_log, "INFO", "bot.handlers") == [
        f"could not show typing in chat {USER}: Forbidden: bot was blocked by the user"
    ]


async def test_updates_are_confirmed_only_once_handled(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = bot.telegram
    _, release = hold_searches(bot, monkeypatch)
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    update_id = tg.updates[-1]["update_id"]
    try:
        # Longer than a long poll (timeout=1) while the question is held: the bot must not ask
        # for the next offset. Were it killed now, Telegram would send the update again.
        confirmed = await asyncio.to_thread(tg.happens, lambda: tg.confirmed > update_id, 1.5)
        assert not confirmed, "the update was confirmed before it was handled"
    finally:
        release.set()  # else a failure above would leave the handler, and the bot's stop, waiting
    (reply,) = await wait_sent(tg, 1)
    assert "Zelenskyy" in reply["text"]
    await keeps_answering(tg)
    assert tg.confirmed > update_id
