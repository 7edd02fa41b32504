"""Telegram handlers: narrow the update, ask the library, render, reply.

The decisions (is this a question for us, what is the question) are pure functions below,
tested without Telegram.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from telegram import Message, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot import buttons, render
from bot.delivery import Courier, edit
from bot.library import Library
from bot.limits import Quotas
from bot.render import Lang, clip
from bot.stats import Asked, StatsStore, Vote, new_answer_id
from retrieval import Abstention, Corpus, SearchResult

logger = logging.getLogger(__name__)

# Seconds a search may take before the user sees "typing…".
TYPING_DELAY = 0.3


# The commands that ask a question; the question follows them.
ASK_COMMANDS = ("ask", "tanya")
# A command at the start of a caption ("/tanya@bot siapa …"); PTB reads commands in text only.
_COMMAND = re.compile(r"^/(\w+)(?:@(\w+))?(?:\s+(.*))?$", re.DOTALL)


class Action(StrEnum):
    """What to do with a plain (non-command) message."""

    ANSWER = "answer"
    USAGE = "usage"
    """An ask command with no question: say how to ask."""
    NOT_TEXT = "not_text"
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class Incoming:
    """The parts of a message that decide whether it is a question for the bot.

    Attributes:
        text: The message's text, or the caption of its photo, document, video or animation.
        private: Whether it is in a private chat.
        from_bot: Whether a bot sent it (an anonymous admin or a channel posting in a group
            is not one, though Telegram names a bot as the sender).
        reply_to_me: Whether it replies to one of the bot's messages.
    """

    text: str | None
    private: bool
    from_bot: bool
    reply_to_me: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do, and the question text when answering."""

    action: Action
    question: str = ""


def decide(message: Incoming, bot_username: str) -> Decision:
    """Decide about a plain message.

    In a private chat every message is a question. In a group only a reply to the bot, a
    message that mentions it, or a caption that starts with an ask command is; the rest is
    other people's chatter. Bots are never answered.
    """
    if message.from_bot:
        return Decision(Action.IGNORE)
    if message.text is not None and (command := _COMMAND.match(message.text.strip())):
        name, target, question = command.groups()
        if name.lower() not in ASK_COMMANDS or (target and target.lower() != bot_username.lower()):
            return Decision(Action.IGNORE)
        question = (question or "").strip()
        return Decision(Action.ANSWER, question) if question else Decision(Action.USAGE)
    mention = re.compile(rf"@{re.escape(bot_username)}\b", re.IGNORECASE)
    addressed = message.private or message.reply_to_me
    if message.text is not None and mention.search(message.text):
        return Decision(Action.ANSWER, mention.sub(" ", message.text).strip())
    if not addressed:
        return Decision(Action.IGNORE)
    if message.text is None:
        return Decision(Action.NOT_TEXT)
    return Decision(Action.ANSWER, message.text)


def command_argument(text: str | None) -> str:
    """The text after a command (`/ask@bot  siapa …` → `siapa …`), line breaks kept."""
    parts = (text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def example_questions(headings: Iterable[str], titles: Iterable[str], count: int = 3) -> list[str]:
    """Example questions from the corpus: its section headings, else its titles, lower-cased."""
    examples: dict[str, None] = {}
    for topic in itertools.chain(headings, titles):
        examples[clip(re.sub(r"[\"“”]", "", topic).lower(), 80)] = None
        if len(examples) == count:
            break
    return list(examples)


class Handlers:
    """The bot's handlers, sharing the library and the question rate limits."""

    def __init__(
        self,
        library: Library,
        top_k: int,
        admin_ids: frozenset[int],
        quotas: Quotas,
        stats: StatsStore | None = None,
        feedback: bool = True,
    ) -> None:
        self.library = library
        self.top_k = top_k
        self.admin_ids = admin_ids
        self.quotas = quotas
        self.stats = stats
        self.feedback = feedback and stats is not None  # votes are kept in the store
        self.courier = Courier()

    def examples(self) -> list[str]:
        """Example questions taken from the corpus in service."""
        articles = self.library.snapshot.corpus.articles
        return example_questions(
            (h for a in articles for h in a.headings), (a.title for a in articles)
        )

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start and /help."""
        message, lang = _narrow(update)
        if message is None or not await self._admitted(message, lang):
            return
        articles = self.library.snapshot.corpus.articles
        bot_name = context.bot.username
        await self.courier.reply(
            message, [render.help_message(articles, self.examples(), lang, bot_name)]
        )

    async def sources(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """/sources: the articles and their sections."""
        message, lang = _narrow(update)
        if message is None or not await self._admitted(message, lang):
            return
        pages = render.sources_message(self.library.snapshot.corpus, lang)
        markup = buttons.sources_keyboard(0, len(pages), lang)
        await self.courier.reply(message, pages[:1], markup)

    async def sources_page(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """A press of a /sources page button: that page, in the same message.

        Any other button that reaches here (one of an older version of the bot) is answered,
        so the client stops waiting, and otherwise ignored.
        """
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        press = buttons.parse(query.data)
        if press is None or press.kind is not buttons.Kind.SOURCES_PAGE:
            return
        lang = Lang.of(query.from_user.language_code)
        pages = render.sources_message(self.library.snapshot.corpus, lang)
        page = min(press.page, len(pages) - 1)
        await edit(query, pages[page], buttons.sources_keyboard(page, len(pages), lang))

    async def ask(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """/ask and /tanya: the question follows the command."""
        message, lang = _narrow(update)
        if message is None or _from_bot(message) or not await self._admitted(message, lang):
            return
        question = command_argument(message.text)
        if question:
            await self._answer(message, question, lang)
        else:
            await self._usage(message, lang)

    async def message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain messages and captions: questions in private, replies to the bot, mentions.

        A caption may also start with an ask command.
        """
        message, lang = _narrow(update)
        if message is None:
            return
        decision = decide(_incoming(message, context.bot.id), context.bot.username)
        if decision.action is Action.IGNORE or not await self._admitted(message, lang):
            return
        if decision.action is Action.ANSWER:
            await self._answer(message, decision.question, lang)
        elif decision.action is Action.USAGE:
            await self._usage(message, lang)
        else:
            await self.courier.reply(message, [render.text("not_text", lang)])

    async def reload(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """/reload (admins only): re-read the corpus and swap the index in."""
        message, lang = _narrow(update)
        if message is None or message.from_user is None:
            return
        if message.from_user.id not in self.admin_ids:
            # In groups stay quiet, so nobody learns who the admins are.
            if message.chat.type == ChatType.PRIVATE:
                await self.courier.reply(message, [render.text("not_admin", lang)])
            return
        logger.info("reload requested by admin %s", message.from_user.id)
        await message.reply_chat_action(ChatAction.TYPING)
        report = await self.library.reload()
        await self.courier.reply(message, render.reload_message(report, lang))

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error with its update's id and chat, and tell the user in one line.

        A network error while polling (no update) is Telegram being unreachable for a moment:
        PTB polls again, so one line says so.
        """
        if update is None and isinstance(context.error, NetworkError):
            logger.warning("getting updates failed (%s); polling again", context.error)
            return
        update_id = update.update_id if isinstance(update, Update) else None
        chat = (
            update.effective_chat.id
            if isinstance(update, Update) and update.effective_chat
            else None
        )
        # Names and texts stay out of the log above DEBUG.
        logger.error(
            "error while handling update %s in chat %s: %r",
            update_id,
            chat,
            context.error,
            exc_info=context.error,
        )
        logger.debug("the update: %r", update)
        if isinstance(update, Update) and update.effective_message is not None:
            lang = Lang.of(update.effective_user.language_code if update.effective_user else None)
            try:
                await update.effective_message.reply_text(render.text("error", lang))
            except TelegramError as error:
                logger.warning("could not report the error to the user: %s", error)

    async def _admitted(self, message: Message, lang: Lang) -> bool:
        """Whether the sender's and the group's limits allow a reply now; else ask to wait.

        Every reply counts (answers, help, usage, sources). A refused person is told once per
        window; a group over its limit is told once per window, for everyone in it, and
        further messages meanwhile go unanswered.
        """
        group = message.chat.id if message.chat.type != ChatType.PRIVATE else None
        verdict = self.quotas.admit(_sender(message), group, time.monotonic())
        if not verdict.allowed and verdict.warn:
            key = "busy_group" if verdict.group else "slow_down"
            seconds = math.ceil(verdict.retry_after)
            await self.courier.reply(message, [render.text(key, lang, seconds=seconds)])
        return verdict.allowed

    async def _usage(self, message: Message, lang: Lang) -> None:
        example = (self.examples() or ["..."])[0]
        await self.courier.reply(message, [render.text("usage", lang, example=example)])

    async def _answer(self, message: Message, question: str, lang: Lang) -> None:
        """Search, with "typing…" when the answer is not instant, and reply."""
        search = asyncio.ensure_future(self.library.search(question, self.top_k))
        # Show "typing…" only when the answer is not instant, saving a request per question.
        done, _ = await asyncio.wait({search}, timeout=TYPING_DELAY)
        if not done:
            try:
                await message.reply_chat_action(ChatAction.TYPING)
            except TelegramError as error:  # cosmetic: the answer still goes out
                logger.info("could not show typing in chat %s: %s", message.chat.id, error)
        result = await search
        example = (self.examples() or ["..."])[0]
        corpus = self.library.snapshot.corpus
        answer = new_answer_id()
        if self.stats is not None and (
            asked := asked_row(answer, message.chat.type, result, corpus)
        ):
            self.stats.record(asked)
        markup = buttons.feedback_keyboard(answer) if self.feedback and result.answered else None
        await self.courier.reply(message, render.answer(result, lang, example, corpus), markup)

    async def vote(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """A press of 👍 or 👎 under an answer: noted once per person (a new press changes it).

        The press is acknowledged with a short thank-you; the buttons stay.
        """
        query = update.callback_query
        if query is None:
            return
        press = buttons.parse(query.data)
        lang = Lang.of(query.from_user.language_code)
        if self.stats is None or press is None or press.kind not in _VOTES:
            await query.answer()
            return
        vote = _VOTES[press.kind]
        self.stats.vote(press.key, query.from_user.id, vote)
        await query.answer(render.text("vote_up" if vote is Vote.UP else "vote_down", lang))


_VOTES = {buttons.Kind.VOTE_UP: Vote.UP, buttons.Kind.VOTE_DOWN: Vote.DOWN}


def asked_row(answer: str, chat_type: str, result: SearchResult, corpus: Corpus) -> Asked | None:
    """The statistics row of an answered or not-found question; None for small talk and the like.

    Only the question as cleaned is kept (no links, mentions or greetings), and the first
    passage's article: no user or chat.
    """
    question = result.question
    if question is None or result.abstention not in {None, Abstention.NOT_FOUND}:
        return None
    first = result.hits[0].passage if result.answered and result.hits else None
    return Asked(
        answer=answer,
        at=time.time(),
        chat_type=chat_type,
        question=question.text,
        answered=result.answered,
        file=first.file if first else None,
        title=corpus.label(first.file) if first else None,
        position=first.position if first else None,
    )


def _narrow(update: Update) -> tuple[Message | None, Lang]:
    user = update.effective_user
    return update.effective_message, Lang.of(user.language_code if user else None)


def _from_bot(message: Message) -> bool:
    """Sent by a bot: not by a person, an anonymous group admin or a channel posting as itself.

    Anonymous admins and channels come as `sender_chat`, with Telegram's GroupAnonymousBot or
    Channel_Bot as `from`. Posts a linked channel forwards into its discussion group are the
    channel's, not questions.
    """
    if message.is_automatic_forward:
        return True
    bot = message.from_user is not None and message.from_user.is_bot
    return bot and message.sender_chat is None


def _sender(message: Message) -> int:
    """Whom the limits count a message against: the person, or the chat it was sent as."""
    if message.sender_chat is not None:
        return message.sender_chat.id
    return message.from_user.id if message.from_user else message.chat.id


def _incoming(message: Message, bot_id: int) -> Incoming:
    replied = message.reply_to_message
    return Incoming(
        text=message.text if message.text is not None else message.caption,
        private=message.chat.type == ChatType.PRIVATE,
        from_bot=_from_bot(message),
        reply_to_me=replied is not None
        and replied.from_user is not None
        and replied.from_user.id == bot_id,
    )
