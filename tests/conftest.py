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
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from telegram.error import TelegramError
from telegram.ext import Application

from bot.app import build_application
from bot.config import Settings
from bot.library import Library
from retrieval import open_index
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


@asynccontextmanager
async def running_bot(
    telegram: FakeTelegram,
    corpus_dir: Path,
    *,
    stop_within: float = STOP_WITHIN,
    **overrides: object,
) -> AsyncIterator[RunningBot]:
    """The real Application, polling the fake server, with settings `overrides`.

    With `webhook_url` (and `webhook_secret`, `webhook_port`) among them it takes updates on a
    webhook on 127.0.0.1 instead (see `post_update`); the URL is only told to the fake server.

    It is stopped however the test ends, within `stop_within` seconds (see `stop_bot`).
    """
    settings = make_settings(telegram, corpus_dir, **overrides)
    library = Library.open(settings.corpus_dir)
    application = build_application(settings, library)
    try:
        async with asyncio.timeout(START_WITHIN):
            await application.initialize()
            assert application.post_init is not None
            await application.post_init(application)
            await application.start()
            assert application.updater is not None
            if settings.webhook_url:
                assert settings.webhook_secret is not None
                await application.updater.start_webhook(
                    listen=settings.webhook_listen,
                    port=settings.webhook_port,
                    url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
                    webhook_url=settings.webhook_url,
                    secret_token=settings.webhook_secret.get_secret_value(),
                )
            else:
                await application.updater.start_polling(
                    poll_interval=0, timeout=1, error_callback=partial(_polling_failed, application)
                )
        yield RunningBot(application, library, telegram)
    finally:
        await stop_bot(application, stop_within)


async def stop_bot(application: Application, seconds: float) -> None:  # type: ignore[type-arg]
    """Stop polling, the application and its HTTP clients within `seconds`, or fail.

    Stopping waits for the update being handled. A handler that never returns (a test that
    holds it and fails before letting go) would make that wait, and the run, last forever; so
    past the deadline every task left on the test's loop is cancelled and the test fails with
    this error instead.

    Raises:
        AssertionError: If the bot did not stop in time.
    """
    stopping = asyncio.ensure_future(_stop(application))
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
            await application.shutdown()
    stuck = sorted({task.get_coro().__qualname__ for task in leftovers})  # type: ignore[union-attr]
    raise AssertionError(f"the bot did not stop within {seconds:g} s; cancelled {stuck}")


async def _stop(application: Application) -> None:  # type: ignore[type-arg]
    """Stop whatever of the application was started, then shut it down."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown is not None:  # as run_polling does
        await application.post_shutdown(application)


def _polling_failed(application: Application, error: TelegramError) -> None:  # type: ignore[type-arg]
    """As in `run_polling`: an error while polling goes to the application's error handler."""
    application.create_task(application.process_error(None, error))


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
