"""`python -m bot`: read the settings, load the articles, and serve until stopped."""

from __future__ import annotations

import logging
import os
import sys

from pydantic import ValidationError
from telegram.error import InvalidToken

from bot.app import run, setup_logging
from bot.config import Settings, describe_errors, token_is_wrong
from bot.library import Library
from bot.store import StoreError, UpdateStore, beside
from retrieval import CorpusError, unusable_cache

logger = logging.getLogger("bot")

HOW_TO_CONFIGURE = (
    "Put TELEGRAM_BOT_TOKEN=<token> in .env (copy .env.example); get a token from @BotFather "
    "in Telegram with /newbot. See README.md."
)


def main() -> int:
    """Start the bot; return the exit code (2 for a configuration or corpus problem)."""
    # Opt in to python-telegram-bot's coming API: durations such as RetryAfter.retry_after are
    # timedeltas. Without it, PTB 22 warns on every flood-control error.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    try:
        settings = Settings()
    except ValidationError as error:
        advice = f" {HOW_TO_CONFIGURE}" if token_is_wrong(error) else " See .env.example."
        sys.stderr.write(f"Cannot start: {describe_errors(error)}.{advice}\n")
        return 2
    setup_logging(settings.log_level)
    if settings.index_cache and (problem := unusable_cache(settings.index_cache)):
        logger.error(
            "cannot start: INDEX_CACHE %s cannot be used (%s); set it to a writable file path, "
            "or leave it empty to run without an index cache",
            settings.index_cache,
            problem,
        )
        return 2
    try:
        store = UpdateStore.open(beside(settings.index_cache))
    except StoreError as error:
        logger.error("cannot start: %s; move it away to start afresh", error)
        return 2
    try:
        return _serve(settings, store)
    finally:
        store.close()


def _serve(settings: Settings, store: UpdateStore) -> int:
    """Load the articles and serve; the exit code."""
    if store.path is None and settings.webhook_url:
        logger.warning(
            "no INDEX_CACHE, so updates taken in by the webhook are kept in memory only: "
            "those not yet handled when the process dies are lost"
        )
    try:
        library = Library.open(
            settings.corpus_dir, settings.index_cache, semantic=settings.semantic
        )
    except CorpusError as error:
        logger.error("cannot start: %s (set CORPUS_DIR to a folder of articles)", error)
        return 2
    corpus = library.snapshot.corpus
    logger.info(
        "loaded %d articles, %d passages from %s in %.2f s%s",
        len(corpus.articles),
        len(corpus.passages),
        settings.corpus_dir,
        library.snapshot.seconds,
        " (index from cache)" if library.snapshot.from_cache else "",
    )
    for skipped in corpus.skipped:
        logger.warning("skipped %s: %s", skipped.name, skipped.reason)
    try:
        run(settings, library, store)
    except InvalidToken:
        # PTB's message quotes the token, so it is not logged.
        logger.error(
            "Telegram rejected TELEGRAM_BOT_TOKEN: check it, or get a new one from @BotFather"
        )
        return 2
    except Exception:
        logger.exception("the bot stopped on an unexpected error")  # the formatter redacts
        return 1
    finally:
        library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
