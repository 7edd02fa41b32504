from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from telegram import InaccessibleMessage, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.delivery import RETRIES, SPLIT_LIMIT, Courier, Outgoing, Plan, Remedy, edit, plan
from bot.render import split_plain, telegram_length

HTML = Outgoing("<b>Judul</b>\n<blockquote>isi &amp; kutipan</blockquote>", quote=True)


def caused(error: NetworkError, cause: BaseException) -> NetworkError:
    """The error as PTB raises it for a transport failure (`raise ... from err`)."""
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "failures", "expected"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), 1, Plan(Remedy.REFUSED)),
        (Forbidden("Forbidden: bot was kicked from the supergroup chat"), 1, Plan(Remedy.REFUSED)),
        # Telegram answered 5xx: it did not take the message, so it is sent again, with backoff.
        (NetworkError("Internal Server Error"), 1, Plan(Remedy.RETRY, 0.5, (HTML,))),
        (NetworkError("Bad Gateway"), 2, Plan(Remedy.RETRY, 1.0, (HTML,))),
        (NetworkError("Bad Gateway"), RETRIES, Plan(Remedy.RETRY, 2.0, (HTML,))),
        (NetworkError("Bad Gateway"), RETRIES + 1, Plan(Remedy.GIVE_UP)),
        # No connection was made: nothing reached Telegram.
        (caused(NetworkError("httpx.ConnectError"), httpx.ConnectError("refused")), 1,
         Plan(Remedy.RETRY, 0.5, (HTML,))),
        (caused(TimedOut(), httpx.ConnectTimeout("")), 2, Plan(Remedy.RETRY, 1.0, (HTML,))),
        (caused(TimedOut("Pool timeout"), httpx.PoolTimeout("")), 1,
         Plan(Remedy.RETRY, 0.5, (HTML,))),
        # The request left and no answer came back: it may have been delivered.
        (caused(TimedOut(), httpx.ReadTimeout("")), 1, Plan(Remedy.UNCERTAIN)),
        (caused(TimedOut(), httpx.WriteTimeout("")), 1, Plan(Remedy.UNCERTAIN)),
        (caused(NetworkError("httpx.RemoteProtocolError"), httpx.RemoteProtocolError("gone")), 1,
         Plan(Remedy.UNCERTAIN)),
        (caused(NetworkError("httpx.ReadError"), httpx.ReadError("reset")), 1,
         Plan(Remedy.UNCERTAIN)),
        (caused(NetworkError("Unknown error in HTTP implementation"), RuntimeError("x")), 1,
         Plan(Remedy.UNCERTAIN)),
        # Flood control that outlasted the rate limiter's own retries.
        (RetryAfter(30), 1, Plan(Remedy.GIVE_UP)),
        (BadRequest("Bad Request: chat not found"), 1, Plan(Remedy.RAISE)),
        # The group became a supergroup: the answer goes there, not quoting the old message.
        (ChatMigrated(-100123), 1,
         Plan(Remedy.MIGRATED, then=(Outgoing(HTML.text, quote=False, in_topic=False,
                                              chat=-100123),))),
        (Conflict("Conflict: terminated by other getUpdates request"), 1, Plan(Remedy.RAISE)),
    ],
)  # fmt: skip
def test_plan_after_a_failed_send(error: TelegramError, failures: int, expected: Plan) -> None:
    assert plan(error, HTML, failures) == expected


PLAIN = Outgoing("Judul\nisi & kutipan", quote=True, html=False)
IN_TOPIC = Outgoing("<b>x</b>", quote=True)
OUT_OF_TOPIC = Outgoing("<b>x</b>", quote=True, in_topic=False)


@pytest.mark.parametrize(
    ("reason", "outgoing", "expected"),
    [
        ("Bad Request: can't parse entities: unsupported start tag", HTML,
         Plan(Remedy.PLAIN, then=(PLAIN,))),
        ("Bad Request: can't parse entities: oops", PLAIN, Plan(Remedy.RAISE)),
        ("Bad Request: message thread not found", IN_TOPIC,
         Plan(Remedy.MAIN_THREAD, then=(Outgoing("<b>x</b>", quote=False, in_topic=False),))),
        ("Bad Request: message thread not found", OUT_OF_TOPIC, Plan(Remedy.RAISE)),
        ("Bad Request: message is too long", HTML, Plan(Remedy.SPLIT, then=(PLAIN,))),
        ("Bad Request: message is too long", PLAIN, Plan(Remedy.GIVE_UP)),
    ],
)  # fmt: skip
def test_fallbacks_are_tried_once(reason: str, outgoing: Outgoing, expected: Plan) -> None:
    assert plan(BadRequest(reason), outgoing, 1) == expected


def test_too_long_reply_is_split_into_plain_parts_quoting_once() -> None:
    paragraph = "<b>Kapal</b> selam &amp; teknologi. " * 60  # 1,500 characters as plain text
    long = Outgoing(f"{paragraph}\n{paragraph}\n{paragraph}", quote=True)
    step = plan(BadRequest("Bad Request: message is too long"), long, 1)
    assert step.remedy is Remedy.SPLIT
    plain = ("Kapal selam & teknologi. " * 60).strip()
    assert step.then == (
        Outgoing(plain, quote=True, html=False),
        Outgoing(plain, quote=False, html=False),
        Outgoing(plain, quote=False, html=False),
    )
    assert len(plain) <= SPLIT_LIMIT < 2 * len(plain)


def test_a_split_reply_keeps_its_buttons_under_the_last_part() -> None:
    paragraph = "Kapal selam berlayar jauh ke laut dalam. " * 40
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton("👍", callback_data="fu:x")]])
    long = Outgoing(f"{paragraph}\n{paragraph}\n{paragraph}", quote=True, markup=buttons)
    step = plan(BadRequest("Bad Request: message is too long"), long, 1)
    assert [part.markup for part in step.then] == [None, None, buttons]


@pytest.mark.parametrize(
    ("message", "limit", "parts"),
    [
        ("<b>pendek</b> &amp; jelas", 100, ["pendek & jelas"]),
        ("satu baris\ndua baris", 16, ["satu baris", "dua baris"]),
        ("kata kata kata kata", 10, ["kata kata", "kata kata"]),
        ("x" * 25, 10, ["x" * 10, "x" * 10, "x" * 5]),
        ("🇮🇩" * 5, 8, ["🇮🇩" * 2, "🇮🇩" * 2, "🇮🇩"]),  # a flag is 4 UTF-16 units
        ("  \n  ", 10, []),
    ],
)
def test_split_plain(message: str, limit: int, parts: list[str]) -> None:
    assert split_plain(message, limit) == parts
    assert all(telegram_length(part) <= limit for part in parts)


SHOWN = Message.de_json(
    {"message_id": 7, "date": 0, "chat": {"id": 555, "type": "private"}, "text": "lama"}, None
)
GONE = InaccessibleMessage.de_json(
    {"message_id": 7, "date": 0, "chat": {"id": 555, "type": "private"}}, None
)
PAGE = InlineKeyboardMarkup([[InlineKeyboardButton("›", callback_data="src:1")]])


class Pressed:
    """A button press under `message` (a stand-in `CallbackQuery`); editing raises `failure`."""

    def __init__(self, message: Any, failure: Exception | None = None) -> None:
        self.message = message
        self.failure = failure
        self.edits: list[tuple[str, Any, Any]] = []

    async def edit_message_text(self, text: str, parse_mode: Any, reply_markup: Any) -> None:
        self.edits.append((text, parse_mode, reply_markup))
        if self.failure is not None:
            raise self.failure


@pytest.mark.parametrize(
    ("message", "failure", "shown", "logged"),
    [
        (SHOWN, None, True, []),
        # Pressed twice: Telegram refuses to show the text it shows already; no failure.
        (SHOWN, BadRequest("Bad Request: message is not modified: specified new message "
                           "content and reply markup are exactly the same"), True, []),
        (SHOWN, BadRequest("Bad Request: message to edit not found"), False,
         [("WARNING", "could not edit a message after a button press: Message to edit not "
                      "found")]),
        (SHOWN, NetworkError("Bad Gateway"), False,
         [("WARNING", "could not edit a message after a button press: Bad Gateway")]),
        # Older than 48 hours: Telegram no longer lets the bot see it, nor edit it.
        (GONE, None, False,
         [("INFO", "a button was pressed under a message that can no longer be edited")]),
    ],
)  # fmt: skip
async def test_the_message_under_a_pressed_button_is_edited(
    message: Any,
    failure: Exception | None,
    shown: bool,
    logged: list[tuple[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.delivery")
    pressed = Pressed(message, failure)
    assert await edit(pressed, "<b>Sumber</b>", PAGE) is shown  # type: ignore[arg-type]
    tried = [("<b>Sumber</b>", ParseMode.HTML, PAGE)] if message is SHOWN else []
    assert pressed.edits == tried
    records = [r for r in caplog.records if r.name == "bot.delivery"]
    assert [(r.levelname, r.getMessage()) for r in records] == logged


class Asked:
    """A stand-in `Message` replied to: records what is sent; `failures` are raised first."""

    def __init__(self, chat: int, kind: str, failures: list[Exception] | None = None) -> None:
        self.chat = SimpleNamespace(id=chat, type=kind)
        self.is_topic_message = False
        self.message_thread_id = None
        self.failures = failures or []
        self.sent: list[tuple[Any, ...]] = []

    async def reply_text(
        self, text: str, do_quote: bool, parse_mode: Any, message_thread_id: Any, reply_markup: Any
    ) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((self.chat.id, text, do_quote, parse_mode, reply_markup))

    def get_bot(self) -> Asked:
        return self

    async def send_message(self, chat: int, text: str, parse_mode: Any, reply_markup: Any) -> None:
        self.sent.append((chat, text, None, parse_mode, reply_markup))


@pytest.mark.parametrize(
    ("chat", "kind", "quoted"), [(-1001234567890, "supergroup", True), (555, "private", False)]
)
async def test_a_reply_in_parts_quotes_once_in_groups_with_the_buttons_under_the_last(
    chat: int, kind: str, quoted: bool
) -> None:
    asked = Asked(chat, kind)
    await Courier().reply(asked, ["satu", "dua", "tiga"], PAGE)  # type: ignore[arg-type]
    assert asked.sent == [
        (chat, "satu", quoted, ParseMode.HTML, None),
        (chat, "dua", False, ParseMode.HTML, None),
        (chat, "tiga", False, ParseMode.HTML, PAGE),
    ]


async def test_a_reply_to_a_group_that_moved_goes_to_its_supergroup_as_it_was(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.delivery")
    asked = Asked(-4242, "group", [ChatMigrated(-1009999999999)])
    await Courier().reply(asked, ["<b>jawaban</b>"], PAGE)  # type: ignore[arg-type]
    # Not quoting the question, which is in the old chat; HTML and buttons as they were.
    assert asked.sent == [(-1009999999999, "<b>jawaban</b>", None, ParseMode.HTML, PAGE)]
    (moved,) = [r.getMessage() for r in caplog.records if r.name == "bot.delivery"]
    assert moved == "chat -4242 became chat -1009999999999; replying there"


async def test_a_chat_that_refuses_the_bot_gets_no_further_part() -> None:
    kicked = Forbidden("Forbidden: bot was kicked from the supergroup chat")
    asked = Asked(-1001234567890, "supergroup", [kicked])
    await Courier().reply(asked, ["satu", "dua"])  # type: ignore[arg-type]
    assert asked.sent == []
