"""Inline mode: `@yourbot question` in any chat shows answers to share there.

The bot need not be in that chat. Each result is a passage (the article's title › heading, its
best sentence); choosing one sends the quoted passage with its title, heading and source. An
empty or too short query shows a hint, and "not found" one result saying so.

Telegram sends a new query as people type, so inline queries have limits of their own (the same
settings as questions, counted apart: typing a question must not use up the chat's answers), and
they are not kept for /stats (half-typed questions would fill the "not found" list).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from telegram import InlineQueryResultArticle, InputTextMessageContent, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot import render
from bot.library import Library
from bot.limits import Quotas
from bot.render import InlineAnswer, Lang

# A query shorter than this (in characters) gets the hint: people are still typing.
MIN_QUERY = 3
# Seconds Telegram may serve the same results for the same query to anyone.
CACHE_SECONDS = 30


class Inline:
    """The inline query handler."""

    def __init__(
        self,
        library: Library,
        top_k: int,
        quotas: Quotas,
        examples: Callable[[], list[str]],
    ) -> None:
        self.library = library
        self.top_k = top_k
        self.quotas = quotas
        self.examples = examples

    async def query(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer an inline query with passages, a hint, "not found", or a request to wait."""
        inline = update.inline_query
        if inline is None:
            return
        lang = Lang.of(inline.from_user.language_code)
        question = inline.query.strip()
        if len(question) < MIN_QUERY:
            example = (self.examples() or ["..."])[0]
            await inline.answer(_results([render.inline_hint(lang, example)]), cache_time=300)
            return
        verdict = self.quotas.admit(inline.from_user.id, None, time.monotonic())
        if not verdict.allowed:
            wait = render.inline_slow_down(lang, math.ceil(verdict.retry_after))
            # Personal and not cached: the next person with the same query is not refused.
            await inline.answer(_results([wait]), cache_time=0, is_personal=True)
            return
        result = await self.library.search(question, self.top_k)
        answers = render.inline_answers(result, lang, self.library.snapshot.corpus)
        await inline.answer(_results(answers), cache_time=CACHE_SECONDS, is_personal=False)


def _results(answers: list[InlineAnswer]) -> list[InlineQueryResultArticle]:
    return [
        InlineQueryResultArticle(
            id=answer.id,
            title=answer.title,
            description=answer.description,
            input_message_content=InputTextMessageContent(
                answer.text,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
        )
        for answer in answers
    ]
