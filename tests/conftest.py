from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from telegram.error import TelegramError
from telegram.ext import Application

from bot.app import build_application
from bot.config import Settings
from bot.library import Library
from tests.telegram_server import JSON, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "1234567:AAFakeTokenForTests_0123456789abcdefghij"
ADMIN = 4242


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
def corpus_dir(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(ROOT / "seeds", target)
    return target


def make_settings(telegram: FakeTelegram, corpus_dir: Path, **overrides: object) -> Settings:
    assert telegram._server is not None
    values: dict[str, object] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": f"http://127.0.0.1:{telegram._server.server_port}/bot",
        "admin_user_ids": str(ADMIN),
        "corpus_dir": corpus_dir,
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
    telegram: FakeTelegram, corpus_dir: Path, **overrides: object
) -> AsyncIterator[RunningBot]:
    """The real Application, polling the fake server, with settings `overrides`."""
    settings = make_settings(telegram, corpus_dir, **overrides)
    library = Library.open(settings.corpus_dir)
    application = build_application(settings, library)
    async with application:
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0, timeout=1, error_callback=partial(_polling_failed, application)
        )
        yield RunningBot(application, library, telegram)
        await application.updater.stop()
        await application.stop()


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
