"""Chats answered side by side, each in order, and nothing confirmed before it is handled.

The real Application against the fake Bot API server: a chat whose reply hangs or is told to
wait holds up only itself; a chat's questions are answered in the order asked however the
others fare; the offset Telegram is polled with never passes an update being handled; and an
update handled before a restart is not answered again when Telegram sends it once more.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from testkit.telegram_server import JSON, FakeTelegram
from tests.conftest import (
    RunningBot,
    hold_searches,
    nothing_more_sent,
    running_bot,
    wait_sent,
)

# Processes and the real Application over HTTP: `make quick` leaves these out.
pytestmark = pytest.mark.slow

GROUP = -1001234567890
USER = 555
# How soon another chat must be answered while one is stuck (an answer takes milliseconds).
PROMPTLY = 2.0


def replies_in(tg: FakeTelegram, chat: int) -> list[JSON]:
    return [m for m in tg.sent if m["chat"]["id"] == chat]


async def others_are_answered_promptly(tg: FakeTelegram, users: range) -> None:
    """Questions from `users` in private chats, each answered within PROMPTLY seconds."""
    before = len(tg.sent)
    asked = {user: time.monotonic() for user in users}
    for user in users:
        tg.push(tg.private_chat(user), tg.user(user), "siapa presiden ukraina")
    sent = await wait_sent(tg, before + len(users), seconds=PROMPTLY + 1)
    for message in sent[before:]:
        user = message["chat"]["id"]
        assert "Zelenskyy" in message["text"]
        assert message["_at"] - asked[user] < PROMPTLY, f"chat {user} waited"


async def test_a_hung_send_in_one_chat_does_not_delay_the_others(bot: RunningBot) -> None:
    tg = bot.telegram
    tg.hang_next("sendMessage", 30.0, chat_id=USER)  # past the 5 s read timeout
    tg.push(tg.private_chat(USER), tg.user(USER), "kapan invasi dimulai")
    await wait_sent(tg, 1)  # delivered; the bot waits for Telegram's answer until it times out
    await others_are_answered_promptly(tg, range(USER + 1, USER + 4))
    assert [call for call, _ in tg.calls].count("sendMessage") == 4  # the hung one is not redone


async def test_flood_control_in_one_group_does_not_pause_the_others(bot: RunningBot) -> None:
    tg = bot.telegram
    tg.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", 3, chat_id=GROUP)
    asked = tg.push(tg.group(GROUP), tg.user(USER), "/tanya kapan invasi dimulai")
    await asyncio.to_thread(tg.wait_for, lambda: bool(tg.failed))
    refused_at = tg.failed[0][1]["_at"]
    await others_are_answered_promptly(tg, range(USER + 1, USER + 4))
    await asyncio.to_thread(tg.wait_for, lambda: bool(replies_in(tg, GROUP)), 10)
    (reply,) = replies_in(tg, GROUP)
    assert reply["_reply_to"] == asked["message_id"]
    assert reply["_at"] - refused_at >= 3.0  # the group waited what Telegram asked


async def test_each_chat_is_answered_in_order_under_load(bot: RunningBot) -> None:
    tg = bot.telegram
    groups = [GROUP - n for n in range(4)]
    # Each group's first reply fails and is retried after a pause (0.5 s, or flood control's
    # 1 s): were a chat's updates handled side by side, its later questions would overtake it.
    for number, group in enumerate(groups):
        if number % 2:
            tg.fail_next("sendMessage", 500, "Internal Server Error", chat_id=group)
        else:
            tg.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", 1, chat_id=group)
    asked: dict[int, list[int]] = {group: [] for group in groups}
    questions = ["siapa presiden ukraina", "kapan invasi dimulai", "siapa dubes rusia"]
    for round_ in range(10):
        for number, group in enumerate(groups):
            user = USER + number * 100 + round_
            question = f"/tanya {questions[round_ % 3]}"
            asked[group].append(tg.push(tg.group(group), tg.user(user), question)["message_id"])
            tg.push(tg.private_chat(user), tg.user(user), questions[round_ % 3])  # more load
    sent = await wait_sent(tg, 80, seconds=30)
    await nothing_more_sent(tg, 80)
    for group in groups:
        assert [m["_reply_to"] for m in sent if m["chat"]["id"] == group] == asked[group]
    assert {m["chat"]["id"] for m in sent if m["chat"]["id"] > 0} == {
        USER + number * 100 + round_ for number in range(4) for round_ in range(10)
    }


async def test_the_offset_never_passes_an_update_being_handled(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = bot.telegram
    _, release = hold_searches(bot, monkeypatch, "kapan invasi dimulai")
    tg.push(tg.private_chat(USER), tg.user(USER), "kapan invasi dimulai")
    held_id = tg.updates[-1]["update_id"]
    try:
        polls = len(tg.method_calls("getUpdates"))
        # Chats asking after the held one are answered, several polls go by; none confirms it.
        for user in range(USER + 1, USER + 6):
            tg.push(tg.private_chat(user), tg.user(user), "siapa presiden ukraina")
            await wait_sent(tg, user - USER)
        offsets = [call.get("offset", 0) for call in tg.method_calls("getUpdates")[polls:]]
        assert len(offsets) >= 3
        assert max(offsets) <= held_id, "the offset passed an update being handled"
        assert tg.confirmed <= held_id
    finally:
        release.set()  # else a failure above would leave the handler, and the bot's stop, waiting
    await asyncio.to_thread(tg.wait_for, lambda: len(replies_in(tg, USER)) == 1)
    # Once it is handled, everything up to the newest is confirmed.
    newest = tg.handed_out
    await asyncio.to_thread(tg.wait_for, lambda: tg.confirmed > newest)


async def test_a_restart_does_not_answer_a_handled_update_again(
    telegram: FakeTelegram, corpus_dir: Path, tmp_path: Path
) -> None:
    tg, store = telegram, tmp_path / "updates.sqlite3"
    async with running_bot(tg, corpus_dir, store=store):
        tg.push(tg.private_chat(USER), tg.user(USER), "siapa presiden ukraina")
        handled = dict(tg.updates[-1])
        await wait_sent(tg, 1)
    # Telegram sends it again, as it would had the bot died before confirming it.
    tg.redeliver(handled)
    async with running_bot(tg, corpus_dir, store=store):
        tg.push(tg.private_chat(USER), tg.user(USER), "kapan invasi dimulai")
        sent = await wait_sent(tg, 2)
        await nothing_more_sent(tg, 2)
        await asyncio.to_thread(tg.wait_for, lambda: tg.confirmed > handled["update_id"])
    assert "Februari 2022" in sent[1]["text"]


async def test_updates_held_up_behind_a_slow_chat_are_stored_and_polled_past(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Telegram sends at most 100 updates a poll, from the offset on: with the offset held at
    # one slow chat's update, 100 behind it would be all the bot ever got again. They are
    # stored in the inbox, and the offset passes them.
    tg = bot.telegram
    _, release = hold_searches(bot, monkeypatch, "kapan invasi dimulai")
    store = bot.service.dispatcher.store
    stored_at: list[float] = []
    real_store = store.receive_many

    async def noted(updates: list[tuple[int, str]]) -> None:
        await real_store(updates)
        stored_at.append(time.monotonic())

    monkeypatch.setattr(store, "receive_many", noted)
    tg.push(tg.private_chat(USER), tg.user(USER), "kapan invasi dimulai")
    held_id = tg.updates[-1]["update_id"]
    try:
        with tg.batch():  # 120 questions of other chats, all at once
            for user in range(USER + 1, USER + 121):
                tg.push(tg.private_chat(user), tg.user(user), "siapa presiden ukraina")
        await wait_sent(tg, 120, seconds=20)
        assert held_id in [update_id for update_id, _ in await store.inbox()]
        passed = [
            call["_at"] for call in tg.method_calls("getUpdates") if call.get("offset", 0) > held_id
        ]
        assert stored_at and passed and stored_at[0] < passed[0]  # stored, then passed
    finally:
        release.set()
    await asyncio.to_thread(tg.wait_for, lambda: len(replies_in(tg, USER)) == 1)
    await bot.settled()
    assert await store.inbox() == []
