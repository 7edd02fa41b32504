"""Handlers for admins adding and removing articles from the chat: narrow, call, render, reply.

- a document (`.txt`, `.md`, `.html`) sent to the bot in a private chat;
- a link sent alone in a private chat, or `/add <link>`;
- `/remove`: a list of the articles as buttons, a confirmation, then the file is deleted.

The work (checking, naming, saving, fetching, reloading) is `bot.ingest`'s; what buttons mean is
`bot.buttons`'; the replies are `bot.render_admin`'s. Everything here is admin-only: a document
from anyone else never reaches `document` (app.py routes it to the question handler, which
answers that it only reads text), and a button pressed by someone else does nothing.
"""

from __future__ import annotations

import logging
import re

from telegram import Message, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import buttons, render, render_admin
from bot.buttons import Kind
from bot.config import TOKEN_PATTERN
from bot.delivery import Courier, edit
from bot.handlers import command_argument, example_questions
from bot.ingest import Added, Ingest, Refusal, Refused, check_upload
from bot.render import Lang, clip
from bot.stats import StatsStore

logger = logging.getLogger(__name__)

# A message that is nothing but one web address.
LINK_ONLY = re.compile(r"^\s*(https?://\S+)\s*$", re.IGNORECASE)


def only_link(text: str | None) -> str | None:
    """The address, if `text` is a single http(s) link and nothing else."""
    match = LINK_ONLY.match(text or "")
    return match.group(1) if match else None


class Admin:
    """The admin handlers, sharing the ingest service and the courier."""

    def __init__(
        self,
        ingest: Ingest,
        admin_ids: frozenset[int],
        courier: Courier,
        stats: StatsStore | None = None,
    ) -> None:
        self.ingest = ingest
        self.admin_ids = admin_ids
        self.courier = courier
        self.stats = stats

    async def stats_report(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """/stats (admins): the last 7 days at a glance; `/stats csv`: the unanswered as a file."""
        message, lang = _narrow(update)
        if message is None or not await self._admitted(message, lang):
            return
        if self.stats is None:
            await self.courier.reply(message, [render.text("stats_off", lang)])
            return
        if command_argument(message.text).lower() == "csv":
            data = await self.stats.unanswered_csv()
            if data is not None:
                await message.reply_document(data, filename="unanswered.csv")
                return
        elif (summary := await self.stats.summary()) is not None:
            await self.courier.reply(message, render.stats_message(summary, lang))
            return
        await self.courier.reply(message, [render.text("stats_unavailable", lang)])

    async def document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An admin's document in a private chat: check, download, save, reload, report."""
        message, lang = _narrow(update)
        if message is None or message.document is None or not self._admin(message):
            return
        document = message.document
        checked = check_upload(document.file_name, document.mime_type, document.file_size)
        if isinstance(checked, Refused):
            await self.courier.reply(message, [render_admin.refused_message(checked, lang)])
            return
        await _typing(message)
        try:
            file = await context.bot.get_file(document.file_id)
            data = bytes(await file.download_as_bytearray())
        except TelegramError as error:
            logger.warning("downloading an admin's document failed: %s", error)
            detail = clip(TOKEN_PATTERN.sub("…", str(error)), 120)
            outcome: Added | Refused = Refused(Refusal.DOWNLOAD, (detail,))
        else:
            outcome = await self.ingest.upload(document.file_name, checked, data)
        await self._report(message, outcome, lang)

    async def link(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """A private message from an admin that is only a link: add the page it leads to."""
        message, lang = _narrow(update)
        if message is None or not self._admin(message):
            return
        if url := only_link(message.text):
            await self._add_page(message, url, lang)

    async def add(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """/add <link> (admins): add the page it leads to."""
        message, lang = _narrow(update)
        if message is None or not await self._admitted(message, lang):
            return
        url = command_argument(message.text)
        if not url:
            await self.courier.reply(message, [render_admin.text("add_usage", lang)])
            return
        await self._add_page(message, url, lang)

    async def remove(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """/remove (admins): the articles as buttons; pressing one asks to confirm."""
        message, lang = _narrow(update)
        if message is None or not await self._admitted(message, lang):
            return
        corpus = self.ingest.library.snapshot.corpus
        pages = buttons.page_count(len(corpus.articles), buttons.REMOVE_PER_PAGE)
        await self.courier.reply(
            message,
            [render_admin.remove_list(corpus, 0, pages, lang)],
            buttons.remove_keyboard(corpus, 0, lang),
        )

    async def button(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """A press of one of /remove's buttons: turn the page, confirm, remove or cancel."""
        query = update.callback_query
        if query is None:
            return
        lang = Lang.of(query.from_user.language_code)
        press = buttons.parse(query.data)
        if press is None or query.from_user.id not in self.admin_ids:
            await query.answer(render.text("not_admin", lang))
            return
        corpus = self.ingest.library.snapshot.corpus
        if press.kind is Kind.REMOVE_CANCEL:
            await query.answer()
            await edit(query, render_admin.text("cancelled", lang))
            return
        if press.kind is Kind.REMOVE_PAGE:
            pages = buttons.page_count(len(corpus.articles), buttons.REMOVE_PER_PAGE)
            page = min(press.page, pages - 1)
            await query.answer()
            text = render_admin.remove_list(corpus, page, pages, lang)
            await edit(query, text, buttons.remove_keyboard(corpus, page, lang))
            return
        article = buttons.find(corpus.articles, press.key)
        if article is None:
            gone = Refused(Refusal.GONE)
            await query.answer(clip(render_admin.reason(gone, lang), 190))
            await edit(query, render_admin.refused_message(gone, lang, removing=True))
            return
        if press.kind is Kind.REMOVE_ASK:
            await query.answer()
            text = render_admin.remove_confirm(corpus, article, lang)
            await edit(query, text, buttons.confirm_keyboard(article, lang))
            return
        await query.answer()  # now: the reload that follows may take a while
        logger.info("admin %s removes article %s", query.from_user.id, article.name)
        outcome = await self.ingest.remove(article.name)
        if isinstance(outcome, Refused):
            await edit(query, render_admin.refused_message(outcome, lang, removing=True))
        else:
            await edit(query, render_admin.removed_message(outcome, lang))

    async def _add_page(self, message: Message, url: str, lang: Lang) -> None:
        logger.info("admin %s adds a page", _sender(message))
        await _typing(message)
        await self._report(message, await self.ingest.page(url), lang)

    async def _report(self, message: Message, outcome: Added | Refused, lang: Lang) -> None:
        if isinstance(outcome, Refused):
            await self.courier.reply(message, [render_admin.refused_message(outcome, lang)])
            return
        article = outcome.article
        example = (example_questions(article.headings, [article.title], 1) or ["..."])[0]
        await self.courier.reply(message, render_admin.added_message(outcome, example, lang))

    def _admin(self, message: Message) -> bool:
        return message.from_user is not None and message.from_user.id in self.admin_ids

    async def _admitted(self, message: Message, lang: Lang) -> bool:
        """Whether an admin sent it; others are told so in private and ignored in groups."""
        if self._admin(message):
            return True
        # In groups stay quiet, so nobody learns who the admins are.
        if message.chat.type == ChatType.PRIVATE:
            await self.courier.reply(message, [render.text("not_admin", lang)])
        return False


def _narrow(update: Update) -> tuple[Message | None, Lang]:
    user = update.effective_user
    return update.effective_message, Lang.of(user.language_code if user else None)


def _sender(message: Message) -> int | None:
    return message.from_user.id if message.from_user else None


async def _typing(message: Message) -> None:
    """Show "typing…" while a download, fetch or reload runs; cosmetic, so failures pass."""
    try:
        await message.reply_chat_action(ChatAction.TYPING)
    except TelegramError as error:
        logger.info("could not show typing in chat %s: %s", message.chat.id, error)
