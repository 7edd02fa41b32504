import httpx
import pytest
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

from bot.delivery import RETRIES, SPLIT_LIMIT, Outgoing, Plan, Remedy, plan
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
