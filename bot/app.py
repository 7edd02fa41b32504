"""Wiring and lifecycle: logging, the Application, its handlers and the command menu."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from functools import partial
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)

from bot.config import TOKEN_PATTERN, Settings
from bot.flood import ChatRateLimiter
from bot.handlers import ASK_COMMANDS, Handlers
from bot.library import Library
from bot.limits import Quotas, RateLimiter

logger = logging.getLogger(__name__)

REDACTED = "[REDACTED-TOKEN]"
# Seconds between attempts to reach Telegram at start-up: the first pause, then doubling.
CONNECT_FIRST_DELAY = 1.0
CONNECT_MAX_DELAY = 60.0
PRIVATE_COMMANDS = (
    BotCommand("help", "Cara bertanya / how to ask"),
    BotCommand("sources", "Daftar artikel / list of articles"),
)
GROUP_COMMANDS = (
    BotCommand("tanya", "Tanya tentang artikel"),
    BotCommand("ask", "Ask about the articles"),
    *PRIVATE_COMMANDS,
)
ADMIN_COMMANDS = (*PRIVATE_COMMANDS, BotCommand("reload", "Muat ulang artikel / reload articles"))


class HandledQueue(asyncio.Queue[object]):
    """An update queue whose `put` returns once everything queued has been handled.

    PTB's Updater confirms a batch of updates to Telegram (by asking for the next offset) as
    soon as it has queued them, so updates still waiting when the process dies are lost. Held
    back until they are handled, they stay unconfirmed and Telegram delivers them again after a
    restart; the cost is that the handled part of the batch in flight is answered again.
    """

    async def put(self, item: object) -> None:
        """Queue `item`, then wait until the application has handled it."""
        await super().put(item)
        await self.join()


class RedactingFormatter(logging.Formatter):
    """Formats records, tracebacks included, with anything shaped like a bot token removed."""

    def format(self, record: logging.LogRecord) -> str:
        """Format as usual, then redact."""
        return TOKEN_PATTERN.sub(REDACTED, super().format(record))


def setup_logging(level: str) -> None:
    """Log to stderr through the redacting formatter; keep httpx from logging request URLs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL (which holds the token) at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def build_application(settings: Settings, library: Library) -> Application:  # type: ignore[type-arg]
    """The Application with its handlers; `run_polling` or `run_webhook` starts it."""
    builder = ApplicationBuilder()
    if not settings.webhook_url:
        # Not for webhooks: Telegram posts those concurrently and would time out waiting.
        builder = builder.update_queue(HandledQueue())
    application = (
        builder.token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                # A question deleted before its answer (anti-spam bots delete commands) still
                # gets the answer, unquoted.
                allow_sending_without_reply=True,
            )
        )
        .rate_limiter(
            ChatRateLimiter(
                overall_max_rate=settings.flood_messages_per_second,
                group_max_rate=settings.flood_messages_per_minute_per_group,
                max_retries=3,
            )
        )
        .post_init(partial(_register_commands, admin_ids=settings.admin_user_ids))
        .build()
    )
    handlers = Handlers(
        library,
        top_k=settings.top_k,
        admin_ids=settings.admin_user_ids,
        quotas=Quotas(
            RateLimiter(settings.rate_limit_questions, settings.rate_limit_seconds),
            RateLimiter(settings.rate_limit_chat_questions, settings.rate_limit_seconds),
        ),
    )
    # Edits are not answered again: one question, one answer (the help text says so).
    new = filters.UpdateType.MESSAGE
    application.add_handlers(
        [
            CommandHandler(["start", "help"], handlers.help, filters=new),
            CommandHandler("sources", handlers.sources, filters=new),
            CommandHandler(ASK_COMMANDS, handlers.ask, filters=new),
            # Not blocking: questions keep being answered while a reload builds its index.
            CommandHandler("reload", handlers.reload, filters=new, block=False),
            # Text and anything with a caption (photos, documents, videos): a command in a
            # caption comes here too, since PTB reads commands in text only.
            MessageHandler(new & ~filters.COMMAND & ~filters.StatusUpdate.ALL, handlers.message),
        ]
    )
    application.add_error_handler(handlers.error)
    return application


async def _register_commands(application: Application, admin_ids: frozenset[int]) -> None:  # type: ignore[type-arg]
    """Set the command menu per scope; a failure is logged, not fatal."""
    bot = application.bot
    scopes = [
        (PRIVATE_COMMANDS, BotCommandScopeAllPrivateChats()),
        (GROUP_COMMANDS, BotCommandScopeAllGroupChats()),
        *((ADMIN_COMMANDS, BotCommandScopeChat(admin)) for admin in sorted(admin_ids)),
    ]
    for commands, scope in scopes:
        try:
            await bot.set_my_commands(commands, scope=scope)
        except TelegramError as error:
            logger.warning("could not set the %s command menu: %s", scope.type, error)


async def connect(application: Application) -> None:  # type: ignore[type-arg]
    """Initialize the application, waiting for Telegram to answer.

    Network failures and server errors are tried again with a growing pause, one WARNING line
    each, until Telegram answers or the process is stopped; a rejected token ends it.

    Raises:
        InvalidToken: If Telegram rejects the token.
    """
    delay = CONNECT_FIRST_DELAY
    while True:
        try:
            await application.initialize()
            return
        except (NetworkError, RetryAfter) as error:
            if isinstance(error, RetryAfter):
                delay = max(delay, error.retry_after.total_seconds())  # type: ignore[union-attr]
            logger.warning("cannot reach Telegram (%s); trying again in %.0f s", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, CONNECT_MAX_DELAY)


def run(settings: Settings, library: Library) -> bool:
    """Serve until stopped (SIGINT/SIGTERM): long polling, or a webhook if one is set.

    Returns:
        False if the process was stopped before Telegram ever answered.

    Raises:
        InvalidToken: If Telegram rejects the token.
    """
    application = build_application(settings, library)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # the loop python-telegram-bot goes on with
    connecting = loop.create_task(connect(application))
    for stop in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop, connecting.cancel)
    try:
        loop.run_until_complete(connecting)
    except asyncio.CancelledError:
        logger.info("stopped before Telegram answered")
        return False
    finally:
        for stop in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(stop)
    updates = [Update.MESSAGE]
    if settings.webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=updates,
        )
    else:
        application.run_polling(allowed_updates=updates)
    return True
