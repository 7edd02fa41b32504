"""Inline answers, 👍/👎 under answers and /stats, against the test Bot API server."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import sqlite3
from pathlib import Path

import pytest

from testkit.telegram_server import JSON, FakeTelegram
from tests.conftest import ADMIN, RunningBot, nothing_more_sent, running_bot, wait_sent

# Processes and the real Application over HTTP: `make quick` leaves these out.
pytestmark = pytest.mark.slow

USER = 555
GROUP = -1001234567890


async def inline_answer(tg: FakeTelegram, count: int = 1) -> JSON:
    """The `count`-th answerInlineQuery the bot made (waited for off the loop)."""
    await asyncio.to_thread(tg.wait_for, lambda: len(tg.inline_answers) >= count)
    return tg.inline_answers[count - 1]


async def test_an_inline_query_gets_passages_to_share(bot: RunningBot) -> None:
    tg = bot.telegram
    tg.push_inline_query(tg.user(USER), "siapa presiden ukraina")
    answer = await inline_answer(tg)
    assert (answer["cache_time"], answer.get("is_personal", False)) == (30, False)
    first = answer["results"][0]
    assert first["type"] == "article"
    assert first["title"].endswith("› Ukraina Siapkan Jaminan Keamanan")
    assert first["description"].startswith("Sementara itu, Presiden Ukraina Volodymyr Zelenskyy")
    # What choosing it sends into the chat: the quoted passage with its title and heading.
    content = first["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert content["link_preview_options"] == {"is_disabled": True}
    assert "› <i>Ukraina Siapkan Jaminan Keamanan</i>" in content["message_text"]
    assert "<blockquote>Sementara itu, <b>Presiden</b> <b>Ukraina</b>" in content["message_text"]
    assert len(answer["results"]) <= 3


@pytest.mark.parametrize(
    ("query", "title", "personal"),
    [
        ("Siapa juara Piala Dunia 2022?", "Tidak ditemukan di artikel", False),
        ("ab", "Ketik pertanyaan tentang artikel", False),
    ],
    ids=["not-found", "too-short"],
)
async def test_an_inline_query_without_passages_gets_one_result_saying_why(
    bot: RunningBot, query: str, title: str, personal: bool
) -> None:
    tg = bot.telegram
    tg.push_inline_query(tg.user(USER), query)
    answer = await inline_answer(tg)
    (result,) = answer["results"]
    assert result["title"] == title
    assert answer.get("is_personal", False) is personal


async def test_inline_queries_have_their_own_limits(
    telegram: FakeTelegram, corpus_dir: Path
) -> None:
    async with running_bot(telegram, corpus_dir, rate_limit_questions=1) as bot:
        tg = bot.telegram
        tg.push_inline_query(tg.user(USER), "siapa presiden ukraina")
        tg.push_inline_query(tg.user(USER), "siapa presiden ukrai")  # typing on: refused
        tg.push(tg.private_chat(USER), tg.user(USER), "kapan invasi dimulai")  # chat quota intact
        second = await inline_answer(tg, 2)
        (reply,) = await wait_sent(tg, 1)
    (wait,) = second["results"]
    assert wait["title"] == "Pelan-pelan ya 🙂"
    assert (second["cache_time"], second["is_personal"]) == (0, True)  # never served to others
    assert "Februari 2022" in reply["text"]


def buttons_of(message: JSON) -> list[tuple[str, str]]:
    markup = message["_params"].get("reply_markup") or {}
    return [
        (b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row
    ]


async def test_a_vote_is_acknowledged_kept_once_and_changed_by_pressing_again(
    bot: RunningBot, corpus_dir: Path
) -> None:
    tg = bot.telegram
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    (answer,) = await wait_sent(tg, 1)
    (up, up_data), (down, down_data) = buttons_of(answer)
    assert (up, down) == ("👍", "👎")
    tg.push_callback(tg.user(USER), answer, up_data)
    tg.push_callback(tg.user(USER), answer, down_data)  # the same person changes their mind
    await asyncio.to_thread(tg.wait_for, lambda: len(tg.method_calls("answerCallbackQuery")) >= 2)
    thanks = [c.get("text") for c in tg.method_calls("answerCallbackQuery")]
    assert thanks == ["Terima kasih! 👍 Senang jawabannya membantu.",
                      "Terima kasih, masukan Anda kami catat. 👎"]  # fmt: skip
    assert not tg.edits  # the buttons stay as they are
    tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/stats")
    _, report = await wait_sent(tg, 2)
    assert "👍 0 · 👎 1" in report["text"]


async def test_stats_count_questions_and_list_the_unanswered(bot: RunningBot) -> None:
    tg = bot.telegram
    for text in [
        "siapa presiden ukraina",
        "halo kak, Berapa harga bensin?",
        "berapa harga bensin?",
    ]:
        tg.push(tg.private_chat(USER), tg.user(USER), text)
    tg.push(tg.private_chat(USER + 1), tg.user(USER + 1), "makasih!")  # small talk: not counted
    await wait_sent(tg, 4)
    tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/stats")
    report = (await wait_sent(tg, 5))[4]["text"]
    assert "Pertanyaan: 3, terjawab: 1 (33%)" in report
    assert "Paling sering ditanyakan, tidak ditemukan:\n2× berapa harga bensin?" in report
    assert "Artikel yang paling sering dikutip:\n1× Rusia Buka Pintu" in report
    tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/stats csv")
    await asyncio.to_thread(tg.wait_for, lambda: bool(tg.documents))
    (document,) = tg.documents
    assert document["document"]["file_name"] == "unanswered.csv"
    rows = list(csv.reader(io.StringIO(document["_content"].decode("utf-8"))))
    assert rows[0] == ["time (UTC)", "chat", "question"]
    assert [row[1:] for row in rows[1:]] == [
        ["private", "Berapa harga bensin?"],
        ["private", "berapa harga bensin?"],
    ]


async def test_stats_are_for_admins_only(bot: RunningBot) -> None:
    tg = bot.telegram
    tg.push(tg.private_chat(USER), tg.user(USER), "/stats")
    tg.push(tg.group(GROUP), tg.user(USER), "/stats")  # silence in groups
    (refusal,) = await wait_sent(tg, 1)
    await nothing_more_sent(tg, 1)
    assert refusal["text"] == "Maaf, perintah ini hanya untuk admin bot."


async def test_no_user_id_name_or_chat_id_reaches_the_database(
    bot: RunningBot, corpus_dir: Path
) -> None:
    tg = bot.telegram
    person = tg.user(987654321)
    tg.push(tg.group(GROUP), person, "/tanya siapa presiden ukraina")
    (answer,) = await wait_sent(tg, 1)
    tg.push_callback(person, answer, buttons_of(answer)[0][1])
    await asyncio.to_thread(tg.wait_for, lambda: bool(tg.method_calls("answerCallbackQuery")))
    tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/stats")  # flushes the store
    await wait_sent(tg, 2)
    database = corpus_dir.parent / "state" / "stats.sqlite3"
    with sqlite3.connect(database) as db:
        dump = "\n".join(db.iterdump())
    assert "siapa presiden ukraina" in dump and "supergroup" in dump  # it is the store
    for secret in ("987654321", "User987654321", str(GROUP), str(abs(GROUP))):
        assert secret not in dump


async def test_a_broken_database_does_not_stop_answers(
    telegram: FakeTelegram, corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = corpus_dir.parent / "broken.sqlite3"
    broken.write_bytes(b"this is not a database")
    async with running_bot(telegram, corpus_dir, stats_db=broken) as bot:
        tg = bot.telegram
        for _ in range(3):
            tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
        sent = await wait_sent(tg, 3)
        tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/stats")
        report = (await wait_sent(tg, 4))[3]
    assert all("Zelenskyy" in m["text"] for m in sent)
    assert report["text"].startswith("Statistik tidak tersedia")
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "answers go on" in errors[0]


async def test_feedback_can_be_turned_off(telegram: FakeTelegram, corpus_dir: Path) -> None:
    async with running_bot(telegram, corpus_dir, feedback=False) as bot:
        tg = bot.telegram
        tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
        (answer,) = await wait_sent(tg, 1)
    assert buttons_of(answer) == []
