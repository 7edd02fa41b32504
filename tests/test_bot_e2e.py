"""The real Application against the fake Bot API server, over real HTTP."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from functools import partial
from pathlib import Path

import pytest
from telegram.constants import MessageLimit

from bot.app import build_application
from bot.flood import ChatRateLimiter
from bot.library import Library
from retrieval import SearchResult
from testkit.telegram_server import FakeTelegram
from tests.conftest import (
    ADMIN,
    RunningBot,
    free_port,
    hold_rebuilds,
    hold_searches,
    make_settings,
    nothing_more_sent,
    post_update,
    running_bot,
    wait_sent,
)

# Processes and the real Application over HTTP: `make quick` leaves these out.
pytestmark = pytest.mark.slow

GROUP = -1001234567890
USER = 555


async def test_private_question_gets_quoted_passage_with_heading(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.handlers.TYPING_DELAY", 30.0)  # "instant", however slow the machine
    tg = bot.telegram
    asked = tg.push(tg.private_chat(USER), tg.user(USER), "kenapa pasukan nato ditahan?")
    (reply,) = await wait_sent(tg, 1)
    html = reply["_params"]["text"]
    assert reply["chat"]["id"] == USER
    assert "› <i>Penolakan Tegas terhadap NATO</i>" in html
    assert "<blockquote>" in html and "<b>ditahan</b>" in html
    assert reply["_params"]["parse_mode"] == "HTML"
    assert reply["_params"]["link_preview_options"] == {"is_disabled": True}
    assert reply["_reply_to"] is None  # no quoting in private chats
    assert asked["message_id"] != reply["message_id"]
    assert tg.method_calls("sendChatAction") == []  # an instant answer needs no "typing…"


async def test_slow_answer_shows_typing_first(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = bot.telegram
    real_search = bot.library.search

    async def slow(question: str, k: int) -> SearchResult:
        await asyncio.sleep(0.6)
        return await real_search(question, k)

    monkeypatch.setattr(bot.library, "search", slow)
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    (reply,) = await wait_sent(tg, 1)
    assert "Zelenskyy" in reply["text"]
    (typing,) = tg.method_calls("sendChatAction")
    assert (typing["chat_id"], typing["action"]) == (USER, "typing")
    methods = [method for method, _ in tg.calls]
    assert methods.index("sendChatAction") < methods.index("sendMessage")


async def test_group_ask_with_bot_name_is_answered_as_a_reply(bot: RunningBot) -> None:
    tg = bot.telegram
    asked = tg.push(
        tg.group(GROUP), tg.user(USER), f"/ask@{tg.bot_username} siapa presiden ukraina"
    )
    (reply,) = await wait_sent(tg, 1)
    assert reply["chat"]["id"] == GROUP
    assert reply["_reply_to"] == asked["message_id"]
    assert "Volodymyr Zelenskyy" in reply["text"]


async def test_other_bots_commands_and_chatter_are_ignored(bot: RunningBot) -> None:
    tg = bot.telegram
    group = tg.group(GROUP)
    tg.push(group, tg.user(USER), "/ask@some_other_bot siapa presiden ukraina")
    tg.push(group, tg.user(USER), "siapa presiden ukraina")  # chatter, not addressed to us
    tg.push(group, tg.user(USER + 1, is_bot=True), f"/tanya@{tg.bot_username} siapa presiden")
    marker = tg.push(group, tg.user(USER), "/tanya kapan invasi dimulai")
    (reply,) = await wait_sent(tg, 1)
    assert reply["_reply_to"] == marker["message_id"]
    await nothing_more_sent(tg, 1)


async def test_reply_to_bot_and_mention_are_questions(bot: RunningBot) -> None:
    tg = bot.telegram
    group = tg.group(GROUP)
    tg.push(group, tg.user(USER), "/tanya siapa presiden ukraina")
    (first,) = await wait_sent(tg, 1)
    bot_message = {k: v for k, v in first.items() if not k.startswith("_")}
    tg.push(group, tg.user(USER), "kapan invasi dimulai?", reply_to=bot_message)
    tg.push(group, tg.user(USER), f"@{tg.bot_username} siapa dubes rusia utk indonesia")
    _, second, third = await wait_sent(tg, 3)
    assert "Februari 2022" in second["text"]
    assert "Sergei Tolchenov" in third["text"]


async def test_forum_topic_reply_stays_in_the_topic(bot: RunningBot) -> None:
    tg = bot.telegram
    tg.topics.add((GROUP, 77))
    tg.push(
        tg.group(GROUP, forum=True), tg.user(USER), "/tanya siapa presiden ukraina", thread_id=77
    )
    (reply,) = await wait_sent(tg, 1)
    assert reply["_params"]["message_thread_id"] == 77


async def test_group_refusal_does_not_use_up_the_askers_own_limit(
    telegram: FakeTelegram, corpus_dir: Path
) -> None:
    async with running_bot(
        telegram, corpus_dir, rate_limit_questions=2, rate_limit_chat_questions=1
    ):
        telegram.push(telegram.group(GROUP), telegram.user(USER + 1), "/tanya kapan invasi")
        telegram.push(telegram.group(GROUP), telegram.user(USER), "/tanya kapan invasi")
        telegram.push(telegram.private_chat(USER), telegram.user(USER), "kapan invasi dimulai")
        telegram.push(telegram.private_chat(USER), telegram.user(USER), "siapa presiden ukraina")
        sent = await wait_sent(telegram, 4)
    group = [m["text"] for m in sent if m["chat"]["id"] == GROUP]
    private = [m["text"] for m in sent if m["chat"]["id"] == USER]
    assert "Tunggu sekitar" in group[1]
    assert "Februari 2022" in private[0]
    assert "Zelenskyy" in private[1]


async def test_not_found_empty_ask_sticker_and_english(bot: RunningBot) -> None:
    tg = bot.telegram
    tg.push(tg.private_chat(USER), tg.user(USER), "Siapa juara Piala Dunia 2022?")
    tg.push(tg.group(GROUP), tg.user(USER), "/ask")
    tg.push(tg.private_chat(USER), tg.user(USER), sticker=True)
    tg.push(tg.private_chat(USER + 1), tg.user(USER + 1, "en-GB"), "recipe for fried rice")
    tg.push(tg.private_chat(USER + 2), tg.user(USER + 2), "😀😀😀")
    sent = await wait_sent(tg, 5)
    texts: dict[int, list[str]] = {}
    for message in sent:  # chats are answered side by side, each in order
        texts.setdefault(message["chat"]["id"], []).append(message["text"])
    assert "tidak membahas" in texts[USER][0] and "/sources" in texts[USER][0]
    assert "teks" in texts[USER][1]
    assert "/tanya" in texts[GROUP][0]
    assert texts[USER + 1][0].startswith("Sorry, my articles do not cover that")
    assert "Pertanyaannya belum jelas" in texts[USER + 2][0]


async def test_small_talk_is_answered_in_kind_and_a_wrapped_question_is_answered(
    bot: RunningBot,
) -> None:
    tg = bot.telegram
    tg.push(tg.private_chat(USER), tg.user(USER), "makasih kak 🙏")
    tg.push(tg.private_chat(USER + 1), tg.user(USER + 1), "haloooo")
    tg.push(tg.private_chat(USER + 2), tg.user(USER + 2, "en"), "who are you?")
    asked = tg.push(tg.group(GROUP), tg.user(USER), f"/tanya@{tg.bot_username} wkwkwk")
    tg.push(
        tg.private_chat(USER + 3),
        tg.user(USER + 3),
        "halo kak, siapa presiden ukraina? makasih https://contoh.co.id/a/1",
    )
    sent = await wait_sent(tg, 5)
    replies = {m["chat"]["id"]: m for m in sent}
    assert replies[USER]["text"].startswith("Sama-sama!")
    greeting = replies[USER + 1]["_params"]["text"]
    assert greeting.startswith("Halo! 👋") and "<i>peran indonesia" in greeting
    assert "I am a bot that answers questions about 1 news article" in replies[USER + 2]["text"]
    assert (
        replies[GROUP]["text"].startswith("😄")
        and replies[GROUP]["_reply_to"] == asked["message_id"]
    )
    assert "Volodymyr Zelenskyy" in replies[USER + 3]["text"]
    assert "<blockquote>" not in greeting  # small talk never quotes a passage


async def test_service_messages_are_not_questions(bot: RunningBot) -> None:
    tg = bot.telegram
    pinned = tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    await wait_sent(tg, 1)
    service = {"message_id": 99, "date": 0, "chat": tg.private_chat(USER), "from": tg.user(USER)}
    tg.push_update({"message": {**service, "pinned_message": pinned}})
    tg.push(tg.private_chat(USER), tg.user(USER), "kapan invasi dimulai")
    sent = await wait_sent(tg, 2)
    assert "Februari 2022" in sent[1]["text"]
    await nothing_more_sent(tg, 2)


async def test_edited_question_is_not_answered_twice(bot: RunningBot) -> None:
    tg = bot.telegram
    asked = tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    await wait_sent(tg, 1)
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa dubes rusia", edited_of=asked)
    tg.push(tg.private_chat(USER), tg.user(USER), "kapan invasi dimulai")
    sent = await wait_sent(tg, 2)
    assert "Februari 2022" in sent[1]["text"]
    await nothing_more_sent(tg, 2)


async def test_html_is_escaped_and_long_answers_fit(bot: RunningBot, corpus_dir: Path) -> None:
    tg = bot.telegram
    long_paragraph = " ".join(["Kalimat <b>tebal</b> & panjang tentang kapal selam."] * 400)
    (corpus_dir / "kapal.txt").write_text(
        f"Kapal <Selam> & Teknologi\n\n{long_paragraph}\n\nKapal selam kedua & <i>lagi</i>.\n",
        encoding="utf-8",
    )
    tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/reload")
    await wait_sent(tg, 1)
    tg.push(tg.private_chat(USER), tg.user(USER), "kapal selam tebal panjang")
    sent = await wait_sent(tg, 2)
    html = sent[1]["_params"]["text"]
    assert "Kapal &lt;Selam&gt; &amp; Teknologi" in html
    assert "&lt;b&gt;<b>tebal</b>&lt;/b&gt;" in html
    assert html.endswith("…</blockquote>")  # the 20,000-character paragraph was trimmed
    assert all(len(m["text"]) <= MessageLimit.MAX_TEXT_LENGTH for m in sent)


async def test_reload_by_admin_and_refusal_for_others(
    bot: RunningBot, corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.handlers")
    tg = bot.telegram
    tg.push(tg.private_chat(USER), tg.user(USER), "/reload")
    tg.push(tg.group(GROUP), tg.user(USER), "/reload")  # silently ignored in groups
    (refusal,) = await wait_sent(tg, 1)
    assert refusal["chat"]["id"] == USER and "hanya untuk admin" in refusal["text"]
    (corpus_dir / "gempa.txt").write_text(
        "Gempa Cianjur\n\nGempa bermagnitudo 5,6 mengguncang Cianjur pada November 2022.\n",
        encoding="utf-8",
    )
    (corpus_dir / "rusak.txt").write_bytes(b"Judul\n\n\xff\xfe bukan utf-8\n")
    tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/reload")
    _, report = await wait_sent(tg, 2)
    assert "2 artikel" in report["text"]
    assert "Ditambah:\n• gempa.txt" in report["text"]
    assert "rusak.txt: bukan teks UTF-8 yang sah" in report["text"]
    await nothing_more_sent(tg, 2)  # nothing for the non-admin in the group
    typing = [(c["chat_id"], c["action"]) for c in tg.method_calls("sendChatAction")]
    assert typing == [(ADMIN, "typing")]  # while the admin's reload builds
    assert f"reload requested by admin {ADMIN}" in caplog.messages
    tg.push(tg.private_chat(USER), tg.user(USER), "gempa cianjur magnitudo berapa")
    answer = (await wait_sent(tg, 3))[2]
    assert "bermagnitudo 5,6" in answer["text"]


async def test_reload_with_nothing_usable_keeps_the_old_corpus(
    bot: RunningBot, corpus_dir: Path
) -> None:
    tg = bot.telegram
    for path in corpus_dir.iterdir():
        path.write_bytes(b"")
    tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/reload")
    (report,) = await wait_sent(tg, 1)
    assert "Artikel lama tetap dipakai" in report["text"]
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    answer = (await wait_sent(tg, 2))[1]
    assert "Zelenskyy" in answer["text"]


async def test_rate_limit_asks_to_wait_once(telegram: FakeTelegram, corpus_dir: Path) -> None:
    async with running_bot(telegram, corpus_dir, rate_limit_questions=2):
        for _ in range(5):
            telegram.push(
                telegram.private_chat(USER), telegram.user(USER), "siapa presiden ukraina"
            )
        sent = await wait_sent(telegram, 3)
        await nothing_more_sent(telegram, 3)
    assert "Tunggu sekitar 60 detik sebelum bertanya lagi" in sent[2]["text"]  # the window


async def test_limits_count_per_asker_and_per_group(
    telegram: FakeTelegram, corpus_dir: Path
) -> None:
    tg = telegram
    async with running_bot(tg, corpus_dir, rate_limit_questions=1, rate_limit_chat_questions=2):
        tg.push(tg.group(GROUP), tg.user(USER), "/tanya kapan invasi dimulai")
        tg.push(tg.group(GROUP), tg.user(USER + 1), "/tanya kapan invasi dimulai")  # another asker
        tg.push(tg.group(GROUP - 1), tg.user(USER + 2), "/tanya kapan invasi dimulai")  # group
        sent = await wait_sent(tg, 3)
    assert sorted((m["chat"]["id"], "Februari 2022" in m["text"]) for m in sent) == [
        (GROUP - 1, True),
        (GROUP, True),
        (GROUP, True),
    ]


async def test_group_rate_limit_counts_all_members(
    telegram: FakeTelegram, corpus_dir: Path
) -> None:
    async with running_bot(telegram, corpus_dir, rate_limit_chat_questions=2):
        for user in range(4):
            telegram.push(telegram.group(GROUP), telegram.user(USER + user), "/tanya kapan invasi")
        telegram.push(telegram.private_chat(USER), telegram.user(USER), "kapan invasi dimulai")
        sent = await wait_sent(telegram, 4)
        await nothing_more_sent(telegram, 4)
    in_group = [m["text"] for m in sent if m["chat"]["id"] == GROUP]
    assert len(in_group) == 3 and "Tunggu sekitar" in in_group[2]
    assert [m["chat"]["id"] for m in sent].count(USER) == 1  # not limited by the group's quota


async def test_commands_menu_help_and_sources(bot: RunningBot) -> None:
    tg = bot.telegram
    menus = {
        json.dumps(c["scope"], sort_keys=True): [command["command"] for command in c["commands"]]
        for c in tg.method_calls("setMyCommands")
    }
    assert menus == {
        '{"type": "all_private_chats"}': ["help", "sources"],
        '{"type": "all_group_chats"}': ["tanya", "ask", "help", "sources"],
        f'{{"chat_id": {ADMIN}, "type": "chat"}}': [
            "help",
            "sources",
            "reload",
            "add",
            "remove",
            "stats",
        ],
    }
    tg.push(tg.private_chat(USER), tg.user(USER), "/start")
    tg.push(tg.private_chat(USER), tg.user(USER), "/sources")
    start, sources = await wait_sent(tg, 2)
    assert "Contoh:" in start["text"] and "peran indonesia dalam friends for peace" in start["text"]
    assert "› Penolakan Tegas terhadap NATO" in sources["text"]


async def test_handler_error_is_reported_in_one_line_and_the_bot_goes_on(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tg = bot.telegram
    real_search = bot.library.search
    calls = 0

    async def flaky(question: str, k: int) -> SearchResult:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("index exploded")
        return await real_search(question, k)

    monkeypatch.setattr(bot.library, "search", flaky)
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
    failed, answered = await wait_sent(tg, 2)
    assert failed["text"] == "Maaf, terjadi kesalahan. Silakan coba lagi sebentar lagi."
    assert "Zelenskyy" in answered["text"]
    assert "index exploded" in caplog.text


async def test_hostile_input_gets_polite_answers_and_the_bot_keeps_answering(
    bot: RunningBot,
) -> None:
    tg = bot.telegram
    chat, user = tg.private_chat(USER), tg.user(USER)
    for text in ["x" * 10_000, "кто посол России?", "‮‏\u200d", "<b>&amp;</b>", "🇮🇩" * 500]:
        tg.push(chat, user, text)
    tg.push(chat, user, "siapa presiden ukraina")
    sent = await wait_sent(tg, 6)
    not_found = "tidak membahas"
    unclear = "Pertanyaannya belum jelas. Tulis pertanyaan dengan kata-kata, misalnya: " + (
        "peran indonesia dalam friends for peace"  # the first section heading, as /help shows
    )
    expected = [not_found, not_found, unclear, not_found, unclear, "Zelenskyy"]
    assert [want in m["text"] for m, want in zip(sent, expected, strict=True)] == [True] * 6


async def test_failing_command_menu_is_logged_not_fatal(
    telegram: FakeTelegram, corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    telegram.fail_next("setMyCommands", 400, "Bad Request: BOT_COMMAND_INVALID")
    settings = make_settings(telegram, corpus_dir)
    application = build_application(settings, Library.open(corpus_dir))
    async with application:
        assert application.post_init is not None
        await application.post_init(application)
    assert "could not set the all_private_chats command menu" in caplog.text
    assert len(telegram.method_calls("setMyCommands")) == 3


async def test_admin_reload_from_a_group_is_answered_in_the_group(
    bot: RunningBot, corpus_dir: Path
) -> None:
    # In a private chat an admin's chat id is their user id; only a group tells the two apart.
    tg = bot.telegram
    (corpus_dir / "gempa.txt").write_text(
        "Gempa Cianjur\n\nGempa bermagnitudo 5,6 mengguncang Cianjur pada November 2022.\n",
        encoding="utf-8",
    )
    asked = tg.push(tg.group(GROUP), tg.user(ADMIN, "en"), f"/reload@{tg.bot_username}")
    (report,) = await wait_sent(tg, 1, seconds=20)
    assert (report["chat"]["id"], report["_reply_to"]) == (GROUP, asked["message_id"])
    assert report["text"].startswith("✅ Reloaded: 2 articles, 7 passages in ")
    assert "Added:\n• gempa.txt" in report["text"]


async def test_questions_are_answered_at_once_while_a_reload_builds(
    bot: RunningBot, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = bot.telegram
    building, gate = hold_rebuilds(monkeypatch)
    try:
        tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/reload")
        assert await asyncio.to_thread(building.wait, 10)
        for number, (question, answer) in enumerate(
            [("siapa presiden ukraina", "Zelenskyy"), ("kapan invasi dimulai", "Februari 2022")]
        ):
            asked_at = time.monotonic()
            tg.push(tg.private_chat(USER), tg.user(USER), question)
            reply = (await wait_sent(tg, number + 1, seconds=3))[-1]
            assert answer in reply["text"]
            assert reply["_at"] - asked_at < 1.0
    finally:
        gate.set()  # the reload may finish now
    report = (await wait_sent(tg, 3, seconds=30))[-1]
    assert report["chat"]["id"] == ADMIN and "1 artikel" in report["text"]


async def test_webhook_answers_telegram_before_the_update_is_handled(
    telegram: FakeTelegram, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Telegram posts updates concurrently and gives up on a slow webhook: it gets its 200 once
    # the update is stored (the inbox), before it is handled.
    port = free_port()
    async with running_bot(
        telegram,
        corpus_dir,
        webhook_url="https://bot.example.org/hook",
        webhook_secret="s3cret-header-value",
        webhook_port=port,
    ) as bot:
        entered, release = hold_searches(bot, monkeypatch)
        chat, user = telegram.private_chat(USER), telegram.user(USER)
        message = {"message_id": 1, "date": 0, "chat": chat, "from": user}
        update = {"update_id": 1, "message": {**message, "text": "siapa presiden ukraina"}}
        try:
            started = time.monotonic()
            status = await asyncio.to_thread(post_update, port, update, "s3cret-header-value", 3)
            assert (status, time.monotonic() - started < 1.0) == (200, True)
            await asyncio.wait_for(entered.wait(), 10)  # handled after Telegram had its answer
            inbox = await bot.service.dispatcher.store.inbox()
            assert [update_id for update_id, _ in inbox] == [1]  # kept until it is handled
        finally:
            release.set()
        (reply,) = await wait_sent(telegram, 1)
        assert "Zelenskyy" in reply["text"]
        await bot.settled()
        assert await bot.service.dispatcher.store.inbox() == []


async def test_replies_keep_to_the_flood_limit_per_second(
    telegram: FakeTelegram, corpus_dir: Path
) -> None:
    async with running_bot(telegram, corpus_dir, flood_messages_per_second=2):
        for user in range(USER, USER + 5):
            telegram.push(telegram.private_chat(user), telegram.user(user), "siapa presiden")
        sent = await wait_sent(telegram, 5)
    # Two at once (a full bucket), then one every 0.5 s, by the server's clock.
    at = [message["_at"] for message in sent]
    assert at[1] - at[0] < 0.4
    assert all(later - earlier >= 0.4 for earlier, later in itertools.pairwise(at[1:]))
    assert at[4] - at[0] >= 1.4


async def test_replies_to_a_group_keep_to_its_flood_limit_and_other_chats_do_not_wait(
    telegram: FakeTelegram, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Telegram's group limit is per minute; here the rate limiter's minute is one second, so
    # FLOOD_MESSAGES_PER_MINUTE_PER_GROUP=2 means two replies to a group at once, then one
    # every 0.5 s, and the test takes a second rather than a minute.
    monkeypatch.setattr("bot.app.ChatRateLimiter", partial(ChatRateLimiter, group_time_period=1))
    other_group = GROUP - 1
    asks = [GROUP, GROUP, other_group, USER, GROUP, GROUP]
    async with running_bot(telegram, corpus_dir, flood_messages_per_minute_per_group=2):
        for user, chat in enumerate(asks, start=USER + 1):
            where = telegram.private_chat(USER) if chat == USER else telegram.group(chat)
            telegram.push(where, telegram.user(user), "/tanya siapa presiden ukraina")
        sent = await wait_sent(telegram, 6)
    assert sorted(message["chat"]["id"] for message in sent) == sorted(asks)
    first = [message["_at"] for message in sent if message["chat"]["id"] == GROUP]
    others = [message["_at"] for message in sent if message["chat"]["id"] != GROUP]
    assert max(others) - first[0] < 0.4  # the other group and the private chat did not wait
    assert first[2] - first[1] >= 0.4 and first[3] - first[2] >= 0.4  # the third and fourth


# Telegram as it really is: anonymous admins, captions, deleted questions, migrated groups,
# limits on every reply, the reload report and the articles' quirks.


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing the bot logged carried a traceback."""
    assert not [r.getMessage() for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_anonymous_admins_are_answered_and_limited_as_their_group(
    telegram: FakeTelegram, corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(telegram, corpus_dir, rate_limit_questions=2) as bot:
        tg = bot.telegram
        group, other, admin = tg.group(GROUP), tg.group(GROUP - 1), tg.anonymous_admin()
        asked = tg.push(
            group, admin, f"/tanya@{tg.bot_username} siapa presiden ukraina", sender_chat=group
        )
        tg.push(group, admin, f"@{tg.bot_username} kapan invasi dimulai", sender_chat=group)
        # Anonymous admins everywhere share Telegram's one stand-in sender: the limits count
        # the chat they post as, so another group's admin is not refused for this one's.
        tg.push(other, admin, "/tanya siapa dubes rusia", sender_chat=other)
        tg.push(group, admin, "/tanya siapa dubes rusia", sender_chat=group)  # third in GROUP
        sent = await wait_sent(tg, 4)
        await nothing_more_sent(tg, 4)
    in_group = [m for m in sent if m["chat"]["id"] == GROUP]
    assert in_group[0]["_reply_to"] == asked["message_id"] and "Zelenskyy" in in_group[0]["text"]
    assert "Februari 2022" in in_group[1]["text"]
    assert "Tunggu sekitar" in in_group[2]["text"]
    (elsewhere,) = [m for m in sent if m["chat"]["id"] == GROUP - 1]
    assert "Tolchenov" in elsewhere["text"]
    assert_no_traceback(caplog)


async def test_captions_are_questions(bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    tg = bot.telegram
    tg.push(tg.private_chat(USER), tg.user(USER), photo=True, caption="siapa presiden ukraina?")
    asked = tg.push(
        tg.group(GROUP),
        tg.user(USER + 1),
        photo=True,
        caption=f"/tanya@{tg.bot_username} kapan invasi dimulai",
    )
    tg.push(tg.group(GROUP), tg.user(USER + 2), photo=True, caption="foto liburan")  # chatter
    tg.push(tg.private_chat(USER + 3), tg.user(USER + 3), photo=True)  # no caption, no question
    sent = await wait_sent(tg, 3)
    await nothing_more_sent(tg, 3)
    replies = {m["chat"]["id"]: m for m in sent}
    assert "Zelenskyy" in replies[USER]["text"]
    assert "Februari 2022" in replies[GROUP]["text"]
    assert replies[GROUP]["_reply_to"] == asked["message_id"]
    assert replies[USER + 3]["text"] == "Saya hanya bisa menjawab pertanyaan berupa teks."
    assert_no_traceback(caplog)


async def test_an_answer_to_a_deleted_question_is_still_sent(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    tg = bot.telegram
    with tg.batch():  # an anti-spam bot deletes the command before the bot answers
        asked = tg.push(tg.group(GROUP), tg.user(USER), "/tanya siapa presiden ukraina")
        tg.delete(GROUP, asked["message_id"])
    (reply,) = await wait_sent(tg, 1)
    assert "Zelenskyy" in reply["text"]
    assert reply["_reply_to"] is None  # sent without quoting what is gone
    assert reply["_params"]["reply_parameters"]["allow_sending_without_reply"] is True
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert_no_traceback(caplog)


async def test_a_group_that_became_a_supergroup_gets_its_answer_there(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    tg = bot.telegram
    old, new = -4242, -1009999999999
    tg.migrate(old, new)
    basic = {"id": old, "type": "group", "title": "Grup lama"}
    tg.push(basic, tg.user(USER), "/tanya siapa presiden ukraina")
    (reply,) = await wait_sent(tg, 1)
    assert reply["chat"]["id"] == new
    assert "Zelenskyy" in reply["text"]
    assert_no_traceback(caplog)


async def test_the_error_log_names_the_update_and_chat_not_the_person(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tg = bot.telegram

    async def broken(question: str, k: int) -> SearchResult:
        raise RuntimeError("index exploded")

    monkeypatch.setattr(bot.library, "search", broken)
    caplog.set_level(logging.INFO)
    tg.push(tg.group(GROUP), tg.user(USER), "/tanya rahasia pribadi saya")
    await wait_sent(tg, 1)
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.getMessage().startswith("error while handling update ")
    assert f"in chat {GROUP}: RuntimeError('index exploded')" in error.getMessage()
    above_debug = "\n".join(r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG)
    assert f"User{USER}" not in above_debug and "rahasia" not in above_debug


async def test_every_reply_counts_against_the_limits_and_a_busy_group_is_told_once(
    telegram: FakeTelegram, corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(telegram, corpus_dir, rate_limit_chat_questions=3) as bot:
        tg = bot.telegram
        with tg.batch():
            for user in range(6):  # help, stickers and questions from six members
                kind = ("/help", None, "/tanya kapan invasi")[user % 3]
                tg.push(tg.group(GROUP), tg.user(USER + user), kind, sticker=kind is None)
        sent = await wait_sent(tg, 4)
        await nothing_more_sent(tg, 4)
    texts = [m["text"] for m in sent]
    assert [t.startswith("Grup ini sedang banyak bertanya") for t in texts] == [
        False,
        False,
        False,
        True,
    ]  # three replies (help, the sticker's, an answer), then one notice for the whole group
    assert_no_traceback(caplog)


async def test_the_reload_report_after_deletions_and_a_broken_save(
    bot: RunningBot, corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tg = bot.telegram
    (corpus_dir / "gempa.txt").write_text("Gempa\n\nGempa di Cianjur kemarin.\n", "utf-8")
    (corpus_dir / "banjir.txt").write_text("Banjir\n\nBanjir melanda Jakarta.\n", "utf-8")
    tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/reload")
    await wait_sent(tg, 1)
    (corpus_dir / "gempa.txt").unlink()
    (corpus_dir / "banjir.txt").write_bytes("Banjir\n\nBanjir di Café.\n".encode("latin-1"))
    tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/reload")
    _, report = await wait_sent(tg, 2)
    text = report["text"]
    assert "Dihapus:\n• gempa.txt" in text
    assert "Rusak, versi sebelumnya tetap dipakai:\n• banjir.txt: bukan teks UTF-8 yang sah" in text
    assert "Tidak ada file yang berubah" not in text and "dilewati" not in text
    assert text.count("banjir.txt") == 1 and text.count("gempa.txt") == 1
    assert_no_traceback(caplog)


async def test_articles_with_the_same_title_are_told_apart_in_sources_and_answers(
    bot: RunningBot, corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tg = bot.telegram
    (corpus_dir / "a.md").write_text("Banjir\n======\n\nAir naik setinggi satu meter.\n", "utf-8")
    (corpus_dir / "b.txt").write_text("Banjir\n\nAir surut pada Selasa pagi.\n", "utf-8")
    (corpus_dir / "c.txt").write_text("Judul Saja\n\nSubjudul Tanpa Isi\n", "utf-8")
    tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/reload")
    (report,) = await wait_sent(tg, 1)
    assert "c.txt: tidak ada paragraf" in report["text"]
    tg.push(tg.private_chat(USER), tg.user(USER), "/sources")
    tg.push(tg.private_chat(USER), tg.user(USER), "kapan air surut")
    _, sources, answer = await wait_sent(tg, 3)
    assert "Banjir (a.md)" in sources["text"] and "Banjir (b.txt)" in sources["text"]
    assert answer["text"].startswith("Banjir (b.txt)")
    assert_no_traceback(caplog)


async def test_an_answer_of_long_passages_is_one_message(
    bot: RunningBot, corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tg = bot.telegram
    sections = "\n\n".join(
        f"Bagian {n}\n\n" + f"Kapal selam nomor {n} berlayar jauh ke laut dalam. " * 30
        for n in range(1, 4)
    )
    (corpus_dir / "kapal.txt").write_text(f"Kapal Selam\n\n{sections}\n", encoding="utf-8")
    tg.push(tg.private_chat(ADMIN), tg.user(ADMIN), "/reload")
    await wait_sent(tg, 1)
    tg.push(tg.private_chat(USER), tg.user(USER), "kapal selam berlayar jauh")
    _, answer = await wait_sent(tg, 2)
    await nothing_more_sent(tg, 2)
    assert answer["_params"]["text"].count("<blockquote>") == 3  # three passages, one message
    assert len(answer["text"]) <= MessageLimit.MAX_TEXT_LENGTH
    assert_no_traceback(caplog)
