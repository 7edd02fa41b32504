from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.app import Service, build_service
from bot.config import Settings
from bot.library import Library
from bot.store import UpdateStore
from retrieval import SearchResult, open_index
from testkit.telegram_server import JSON, FakeTelegram
from tests.page_server import PageServer

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "1234567:AAFakeTokenForTests_0123456789abcdefghij"
ADMIN = 4242
# Deadlines for starting and stopping the bot in a test. A normal stop takes about a second (the
# long poll in progress ends); `stop_bot` explains what happens past the deadline.
START_WITHIN = 30.0
STOP_WITHIN = 20.0
CANCEL_WITHIN = 5.0
# How long "nothing more is sent" is watched for: long on purpose, as a reply takes milliseconds
# here (tens under load); the wait ends at once if something is sent.
QUIET = 1.0
# The longest a test holds a handler or a reload back on purpose: a hold always ends.
HOLD_LIMIT = 30.0

pytest_plugins = ["tests.teardown_watchdog"]


def pytest_configure(config: pytest.Config) -> None:
    """As `python -m bot` does: PTB's timedelta durations, without its deprecation warning."""
    os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram(TOKEN)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pages() -> Iterator[PageServer]:
    """The local web server of saved and hostile pages (tests/page_server.py)."""
    server = PageServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(ROOT / "seeds", target)
    return target


def make_settings(telegram: FakeTelegram, corpus_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": telegram.base_url,
        "telegram_api_base_file_url": telegram.file_base_url,
        "admin_user_ids": str(ADMIN),
        "corpus_dir": corpus_dir,
        "stats_db": corpus_dir.parent / "state" / "stats.sqlite3",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@dataclass
class RunningBot:
    application: Application  # type: ignore[type-arg]
    library: Library
    telegram: FakeTelegram
    service: Service

    async def settled(self, seconds: float = 15.0) -> None:
        """Wait until every update taken in has been handled (chats are handled side by side,
        so an answer elsewhere does not mean a failing chat is done), or fail."""
        ledger = self.service.dispatcher.ledger
        await eventually(lambda: not ledger.busy, seconds, "every update handled")


async def eventually(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    """Wait on the test's loop (the bot runs on it) until `predicate()` holds, or fail."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {seconds:g} s: {what}")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def running_bot(
    telegram: FakeTelegram,
    corpus_dir: Path,
    *,
    stop_within: float = STOP_WITHIN,
    store: Path | None = None,
    **overrides: object,
) -> AsyncIterator[RunningBot]:
    """The real Application, polling the fake server, with settings `overrides`.

    With `webhook_url` (and `webhook_secret`, `webhook_port`) among them it takes updates on a
    webhook on 127.0.0.1 instead (see `post_update`); the URL is only told to the fake server.
    Handled updates are remembered in the update store file `store`, in memory when None.

    It is stopped however the test ends, within `stop_within` seconds (see `stop_bot`).
    """
    settings = make_settings(telegram, corpus_dir, **overrides)
    library = Library.open(settings.corpus_dir)
    updates = UpdateStore.open(store)
    service = build_service(settings, library, updates)
    application = service.application
    try:
        async with asyncio.timeout(START_WITHIN):
            await application.initialize()
            assert application.post_init is not None
            await application.post_init(application)
            await service.start(poll_timeout=1)
        yield RunningBot(application, library, telegram, service)
    finally:
        try:
            await stop_bot(service, stop_within)
        finally:
            updates.close()


async def stop_bot(service: Service, seconds: float) -> None:
    """Stop polling, the application and its HTTP clients within `seconds`, or fail.

    Stopping waits for the update being handled. A handler that never returns (a test that
    holds it and fails before letting go) would make that wait, and the run, last forever; so
    past the deadline every task left on the test's loop is cancelled and the test fails with
    this error instead.

    Raises:
        AssertionError: If the bot did not stop in time.
    """
    application = service.application
    stopping = asyncio.ensure_future(_stop(service))
    done, _ = await asyncio.wait({stopping}, timeout=seconds)
    if stopping in done:
        stopping.result()
        return
    leftovers = asyncio.all_tasks() - {asyncio.current_task()}
    for task in leftovers:
        task.cancel()
    await asyncio.wait(leftovers, timeout=CANCEL_WITHIN)
    with contextlib.suppress(RuntimeError, TimeoutError):  # close the HTTP clients if it can
        async with asyncio.timeout(CANCEL_WITHIN):
            if application.running:  # the stop was cancelled while handled updates drained
                await application.stop()
            await application.shutdown()
    stuck = sorted({task.get_coro().__qualname__ for task in leftovers})  # type: ignore[union-attr]
    raise AssertionError(f"the bot did not stop within {seconds:g} s; cancelled {stuck}")


async def _stop(service: Service) -> None:
    """Stop whatever of the service was started, then shut the application down."""
    await service.stop()


@pytest.fixture
async def bot(telegram: FakeTelegram, corpus_dir: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(telegram, corpus_dir) as running:
        yield running


async def wait_sent(telegram: FakeTelegram, count: int, seconds: float = 10.0) -> list[JSON]:
    """Wait off the event loop (the bot runs on it) until `count` messages were sent."""
    return await asyncio.to_thread(telegram.wait_sent, count, seconds)


async def nothing_more_sent(telegram: FakeTelegram, count: int, seconds: float = QUIET) -> None:
    """Fail if more than `count` messages are sent within `seconds` (waited off the loop)."""
    more = await asyncio.to_thread(telegram.happens, lambda: len(telegram.sent) > count, seconds)
    assert not more, f"unexpected messages: {[m['text'] for m in telegram.sent[count:]]}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def post_update(
    port: int, update: dict[str, object], secret: str | None, timeout: float = 10.0
) -> int:
    """POST an update to a bot's webhook on 127.0.0.1 as Telegram does; the HTTP status."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/hook", json.dumps(update).encode(), headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def hold_rebuilds(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make reloads wait in their worker thread until `gate` is set; `building` says one does.

    Set `gate` in a `finally`; the wait ends after HOLD_LIMIT seconds regardless.
    """
    real: Callable[..., object] = open_index
    building, gate = threading.Event(), threading.Event()

    def held(*args: object, **kwargs: object) -> object:
        building.set()
        gate.wait(HOLD_LIMIT)
        return real(*args, **kwargs)

    monkeypatch.setattr("bot.library.open_index", held)
    return building, gate


def hold_searches(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch, question: str | None = None
) -> tuple[asyncio.Event, asyncio.Event]:
    """Make the bot's searches (of `question` only, if given) wait until `release` is set.

    `entered` says one is waiting. Set `release` in a `finally`; the wait ends after HOLD_LIMIT
    seconds regardless (with an error, so a forgotten release fails its test).
    """
    real = bot.library.search
    entered, release = asyncio.Event(), asyncio.Event()

    async def held(asked: str, k: int) -> SearchResult:
        if question is None or asked == question:
            entered.set()
            await asyncio.wait_for(release.wait(), HOLD_LIMIT)
        return await real(asked, k)

    monkeypatch.setattr(bot.library, "search", held)
    return entered, release
