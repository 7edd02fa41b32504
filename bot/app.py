"""Wiring and lifecycle: logging, the Application, its handlers and the command menu.

`Service` is what feeds the Application updates: the dispatcher, and the poller or the webhook.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
import sys
from dataclasses import dataclass, field
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
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.admin import LINK_ONLY, Admin
from bot.config import TOKEN_PATTERN, Settings
from bot.dispatch import Dispatcher, InboxQueue
from bot.fetch import FetchPolicy, address_rule
from bot.flood import ChatRateLimiter, retry_seconds
from bot.handlers import ASK_COMMANDS, Handlers
from bot.ingest import Ingest
from bot.inline import Inline
from bot.library import Library
from bot.limits import Quotas, RateLimiter
from bot.polling import POLL_TIMEOUT, Poller
from bot.stats import StatsStore
from bot.store import UpdateStore

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
ADMIN_COMMANDS = (
    *PRIVATE_COMMANDS,
    BotCommand("reload", "Muat ulang artikel / reload articles"),
    BotCommand("add", "Tambah artikel dari tautan / add an article from a link"),
    BotCommand("remove", "Hapus artikel / remove an article"),
    BotCommand("stats", "Statistik pertanyaan / question statistics"),
)


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


def build_application(
    settings: Settings,
    library: Library,
    update_queue: InboxQueue | None = None,
) -> Application:  # type: ignore[type-arg]
    """The Application with its handlers; `build_service` adds what feeds it updates.

    With polling it has no Updater: the bot's own `Poller` fetches updates. With a webhook,
    PTB's Updater serves it and puts updates in `update_queue`, the dispatcher's inbox.
    """
    stats = open_stats(settings)
    builder = ApplicationBuilder()
    if not settings.webhook_url:
        builder = builder.updater(None)
    elif update_queue is not None:
        builder = builder.update_queue(update_queue)
    application = (
        builder.token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_file_url)
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
        .post_shutdown(partial(_close_stats, stats))
        .build()
    )
    handlers = Handlers(
        library,
        top_k=settings.top_k,
        admin_ids=settings.admin_user_ids,
        quotas=quotas(settings),
        stats=stats,
        feedback=settings.feedback,
    )
    # Inline queries come as people type: their own limits, the same settings.
    inline = Inline(library, settings.top_k, quotas(settings), handlers.examples)
    policy = FetchPolicy(
        allowed=address_rule(settings.ingest_allow_private_hosts),
        timeout=settings.ingest_fetch_timeout,
    )
    admin = Admin(Ingest(library, policy), settings.admin_user_ids, handlers.courier, stats)
    # Edits are not answered again: one question, one answer (the help text says so).
    new = filters.UpdateType.MESSAGE
    # An admin's documents and lone links in a private chat add articles; anyone else's go on
    # to the question handler (a document is "not text", a link alone is no question).
    admin_private = new & filters.ChatType.PRIVATE & filters.User(user_id=settings.admin_user_ids)
    application.add_handlers(
        [
            CommandHandler(["start", "help"], handlers.help, filters=new),
            CommandHandler("sources", handlers.sources, filters=new),
            CommandHandler(ASK_COMMANDS, handlers.ask, filters=new),
            # Not blocking: questions keep being answered while a reload builds its index,
            # and while an article is downloaded, fetched, checked and loaded.
            CommandHandler("reload", handlers.reload, filters=new, block=False),
            CommandHandler("add", admin.add, filters=new, block=False),
            CommandHandler("remove", admin.remove, filters=new),
            CommandHandler("stats", admin.stats_report, filters=new),
            MessageHandler(admin_private & filters.Document.ALL, admin.document, block=False),
            MessageHandler(
                admin_private & ~filters.COMMAND & filters.Regex(LINK_ONLY), admin.link, block=False
            ),
            CallbackQueryHandler(admin.button, pattern=r"^rm", block=False),
            CallbackQueryHandler(handlers.vote, pattern=r"^f[ud]:"),
            CallbackQueryHandler(handlers.sources_page),
            InlineQueryHandler(inline.query),
            # Text and anything with a caption (photos, documents, videos): a command in a
            # caption comes here too, since PTB reads commands in text only.
            MessageHandler(new & ~filters.COMMAND & ~filters.StatusUpdate.ALL, handlers.message),
        ]
    )
    application.add_error_handler(handlers.error)
    return application


def quotas(settings: Settings) -> Quotas:
    """The per-user and per-group limits the settings ask for."""
    return Quotas(
        RateLimiter(settings.rate_limit_questions, settings.rate_limit_seconds),
        RateLimiter(settings.rate_limit_chat_questions, settings.rate_limit_seconds),
    )


def open_stats(settings: Settings) -> StatsStore | None:
    """The statistics store, or None when `STATS_DB` is empty.

    Voters are hashed with a key made from the bot token: the database alone cannot tell who
    voted, and the key never touches the disk.
    """
    if settings.stats_db is None:
        return None
    token = settings.telegram_bot_token.get_secret_value().encode()
    key = hashlib.sha256(b"tanya-artikel votes\0" + token).digest()
    return StatsStore(settings.stats_db, key, settings.stats_retention_days)


async def _close_stats(stats: StatsStore | None, _: Application) -> None:  # type: ignore[type-arg]
    """At shutdown: write the statistics still queued."""
    if stats is not None:
        await stats.close()


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
                delay = max(delay, retry_seconds(error))
            logger.warning("cannot reach Telegram (%s); trying again in %.0f s", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, CONNECT_MAX_DELAY)


# What the bot asks Telegram for: new messages (an edit is not asked again), button presses and
# inline queries. Telegram sends no other kind.
UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY)


@dataclass
class Service:
    """The Application and what feeds it: the dispatcher, and the poller or PTB's webhook.

    `start` and `stop` follow python-telegram-bot's own run: the Application is initialized
    (`connect`) and its `post_init` has run before `start`; `stop` stops taking updates in,
    lets the updates being handled finish, confirms them and shuts the Application down.
    """

    application: Application  # type: ignore[type-arg]
    dispatcher: Dispatcher
    settings: Settings
    poller: Poller | None = field(default=None, init=False)

    async def start(self, poll_timeout: float = POLL_TIMEOUT) -> None:
        """Start handling, then taking updates in (long polling, or the webhook)."""
        settings, application = self.settings, self.application
        await application.start()
        await self.dispatcher.start(application)
        if not settings.webhook_url:
            self.poller = Poller(
                application, self.dispatcher, timeout=poll_timeout, allowed_updates=UPDATES
            )
            await self.poller.start()
            return
        assert application.updater is not None, "a webhook needs PTB's Updater"
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        await application.updater.start_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=UPDATES,
        )

    async def stop(self) -> None:
        """Stop taking updates in, finish those being handled, confirm them, shut down."""
        application = self.application
        if self.poller is not None:
            await self.poller.stop()
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        await self.dispatcher.stop()
        if self.poller is not None:
            await self.poller.confirm()
        if application.running:
            await application.stop()
            if application.post_stop:
                await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)

    async def failed(self) -> None:
        """Return (raising its error) when the poller has stopped on an error; else never."""
        if self.poller is None or self.poller.task is None:
            await asyncio.Event().wait()
            return
        await self.poller.task


def build_service(settings: Settings, library: Library, store: UpdateStore) -> Service:
    """The Application with its dispatcher (remembering handled updates in `store`)."""
    dispatcher = Dispatcher(store, settings.concurrent_chats)
    inbox = InboxQueue(dispatcher) if settings.webhook_url else None
    return Service(build_application(settings, library, inbox), dispatcher, settings)


async def serve(service: Service, stopping: asyncio.Event) -> None:
    """Run the started-up service until `stopping` is set or polling fails, then stop it."""
    application = service.application
    if application.post_init:
        await application.post_init(application)
    try:
        await service.start()
        waiting = asyncio.ensure_future(stopping.wait())
        failing = asyncio.ensure_future(service.failed())
        try:
            await asyncio.wait({waiting, failing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            if not failing.done():
                failing.cancel()
        if failing.done() and not failing.cancelled():
            failing.result()  # the poller's error: InvalidToken, or a bug
    finally:
        await service.stop()


def run(settings: Settings, library: Library, store: UpdateStore) -> bool:
    """Serve until stopped (SIGINT/SIGTERM): long polling, or a webhook if one is set.

    Returns:
        False if the process was stopped before Telegram ever answered.

    Raises:
        InvalidToken: If Telegram rejects the token.
    """
    service = build_service(settings, library, store)
    application = service.application
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    signals = (signal.SIGINT, signal.SIGTERM)
    try:
        connecting = loop.create_task(connect(application))
        for stop in signals:
            loop.add_signal_handler(stop, connecting.cancel)
        try:
            loop.run_until_complete(connecting)
        except asyncio.CancelledError:
            logger.info("stopped before Telegram answered")
            return False
        stopping = asyncio.Event()
        for stop in signals:
            loop.add_signal_handler(stop, stopping.set)
        loop.run_until_complete(serve(service, stopping))
        return True
    finally:
        for stop in signals:
            loop.remove_signal_handler(stop)
        loop.close()
