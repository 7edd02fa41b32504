"""Sending replies through Telegram's failures: retry, fall back, or log and go on.

`plan` is the policy, pure and tested without Telegram; `Courier` carries it out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import httpx
from telegram import CallbackQuery, InlineKeyboardMarkup, Message
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot import render

logger = logging.getLogger(__name__)

# Retries of a send that Telegram answered with a server error (5xx), or that never reached it.
# A pause here delays only this chat (chats are handled side by side): three retries, 0.5, 1
# and 2 s apart, ride out a short Bot API hiccup without keeping the chat waiting long.
RETRIES = 3
BACKOFF = 0.5
# A reply Telegram calls too long goes again as plain text in parts of at most this length:
# Telegram measures differently from us then, so keep a wide margin.
SPLIT_LIMIT = MessageLimit.MAX_TEXT_LENGTH // 2
# Errors of a connection that was never made: the request did not reach Telegram.
_NOT_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Remedy(StrEnum):
    """What to do after a failed send."""

    RETRY = "retry"  # the same message again, after a pause
    MIGRATED = "migrated"  # the group became a supergroup: send to its new chat
    PLAIN = "plain"  # Telegram rejected our HTML: the same text without markup
    MAIN_THREAD = "main_thread"  # the forum topic is gone: reply in the chat's main thread
    SPLIT = "split"  # Telegram says it is too long: plain text in smaller parts
    REFUSED = "refused"  # the bot was blocked or removed (403): send nothing more there
    UNCERTAIN = "uncertain"  # the request left but no answer came: it may have arrived
    GIVE_UP = "give_up"  # still failing after the retries, or flood control after its own
    RAISE = "raise"  # not a delivery problem: the error handler reports it


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send as a reply, and how."""

    text: str
    quote: bool
    html: bool = True
    in_topic: bool = True
    chat: int | None = None  # another chat than the question's: a group's new supergroup
    markup: InlineKeyboardMarkup | None = None  # buttons under the message


@dataclass(frozen=True, slots=True)
class Plan:
    """A remedy, the pause before it, and the messages to send instead of the failed one."""

    remedy: Remedy
    delay: float = 0.0
    then: tuple[Outgoing, ...] = ()


def plan(error: TelegramError, outgoing: Outgoing, failures: int) -> Plan:
    """Decide what follows the `failures`-th failed send of a reply (counted over its fallbacks).

    A timed-out or cut-off send is not repeated: Telegram may have delivered it, and a second
    copy of an answer is worse than a logged, possibly missing one. Telegram answering with a
    server error, or a connection that was never made, means nothing was sent: that is retried.
    """
    if isinstance(error, Forbidden):
        return Plan(Remedy.REFUSED)
    if isinstance(error, ChatMigrated):  # the question cannot be quoted in the new chat
        moved = replace(outgoing, chat=error.new_chat_id, quote=False, in_topic=False)
        return Plan(Remedy.MIGRATED, then=(moved,))
    if isinstance(error, BadRequest):
        return _fallback(str(error).lower(), outgoing)
    if isinstance(error, RetryAfter):  # the rate limiter has waited and retried already
        return Plan(Remedy.GIVE_UP)
    if not isinstance(error, NetworkError):
        return Plan(Remedy.RAISE)
    if may_have_arrived(error):
        return Plan(Remedy.UNCERTAIN)
    if failures > RETRIES:
        return Plan(Remedy.GIVE_UP)
    return Plan(Remedy.RETRY, BACKOFF * 2 ** (failures - 1), (outgoing,))


def may_have_arrived(error: NetworkError) -> bool:
    """Whether the failed request may have been carried out by Telegram.

    PTB raises a bare NetworkError for an error status it has no class for (5xx): Telegram
    answered that it failed. Transport errors carry the httpx error as their cause.
    """
    cause = error.__cause__
    if cause is None or isinstance(cause, TelegramError):
        return False
    return not isinstance(cause, _NOT_CONNECTED)


def _fallback(reason: str, outgoing: Outgoing) -> Plan:
    if "can't parse entities" in reason and outgoing.html:
        plain = replace(outgoing, html=False, text=render.to_plain(outgoing.text))
        return Plan(Remedy.PLAIN, then=(plain,))
    if "thread not found" in reason and outgoing.in_topic:
        # The question is in the topic that is gone, so it cannot be quoted either.
        return Plan(Remedy.MAIN_THREAD, then=(replace(outgoing, in_topic=False, quote=False),))
    if "message is too long" in reason:
        if not outgoing.html:
            return Plan(Remedy.GIVE_UP)
        parts = render.split_plain(outgoing.text, SPLIT_LIMIT)
        return Plan(
            Remedy.SPLIT,
            then=tuple(
                replace(
                    outgoing,
                    text=part,
                    html=False,
                    quote=outgoing.quote and i == 0,
                    markup=outgoing.markup if i == len(parts) - 1 else None,
                )
                for i, part in enumerate(parts)
            ),
        )
    return Plan(Remedy.RAISE)


class Courier:
    """Sends replies by the policy above; logs a chat that refuses the bot once, not per reply."""

    def __init__(self) -> None:
        self._refusing: set[int] = set()

    async def reply(
        self,
        message: Message,
        texts: Sequence[str],
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        """Send `texts` in reply to `message`; the first one quotes it in groups.

        `markup` (buttons) goes under the last one.
        """
        group = message.chat.type != ChatType.PRIVATE
        for position, text in enumerate(texts):
            buttons = markup if position == len(texts) - 1 else None
            outgoing = Outgoing(text, quote=group and position == 0, markup=buttons)
            if not await self._deliver(message, outgoing):
                return

    async def _deliver(self, message: Message, outgoing: Outgoing) -> bool:
        """Send one reply with its retries and fallbacks; False if the chat refuses the bot."""
        chat = message.chat.id
        pending = [outgoing]
        failures = 0
        while pending:
            current = pending.pop(0)
            in_topic = current.in_topic and message.is_topic_message
            parse_mode = ParseMode.HTML if current.html else None
            try:
                if current.chat is not None:
                    await message.get_bot().send_message(
                        current.chat,
                        current.text,
                        parse_mode=parse_mode,
                        reply_markup=current.markup,
                    )
                else:
                    await message.reply_text(
                        current.text,
                        do_quote=current.quote,
                        parse_mode=parse_mode,
                        message_thread_id=message.message_thread_id if in_topic else None,
                        reply_markup=current.markup,
                    )
            except TelegramError as error:
                failures += 1
                step = plan(error, current, failures)
                if step.remedy is Remedy.RAISE:
                    raise
                self._log(step, chat, error)
                if step.remedy is Remedy.REFUSED:
                    return False
                await asyncio.sleep(step.delay)
                pending[:0] = step.then
            else:
                self._refusing.discard(chat)
        return True

    def _log(self, step: Plan, chat: int, error: TelegramError) -> None:
        match step.remedy:
            case Remedy.RETRY:
                logger.info(
                    "reply to chat %s failed (%s); retry in %.1f s", chat, error, step.delay
                )
            case Remedy.PLAIN:
                logger.warning("Telegram rejected our HTML (%s); sending plain text", error)
            case Remedy.MIGRATED:
                logger.info("chat %s became chat %s; replying there", chat, step.then[0].chat)
            case Remedy.MAIN_THREAD:
                logger.warning("topic gone in chat %s; replying outside it", chat)
            case Remedy.SPLIT:
                logger.warning("Telegram found a reply too long (%s); sending it in parts", error)
            case Remedy.REFUSED if chat not in self._refusing:
                self._refusing.add(chat)
                logger.warning("chat %s refuses the bot (%s); not replying there", chat, error)
            case Remedy.UNCERTAIN:
                logger.warning(
                    "no answer from Telegram for a reply to chat %s (%s); it may have arrived, "
                    "so it is not sent again",
                    chat,
                    error,
                )
            case Remedy.GIVE_UP:
                logger.error("could not send a reply to chat %s: %s", chat, error)


async def edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> bool:
    """Replace the text (and buttons) of the message whose button was pressed.

    Pressing a button twice asks for the text it shows already, which Telegram refuses as
    "message is not modified": that is no failure. Other failures (the message was deleted,
    or is too old to edit) are logged; the press has been answered anyway.

    Returns:
        Whether the message shows `text` now.
    """
    if not isinstance(query.message, Message):  # older than 48 hours: Telegram hides it
        logger.info("a button was pressed under a message that can no longer be edited")
        return False
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as error:
        if "not modified" in str(error).lower():
            return True
        logger.warning("could not edit a message after a button press: %s", error)
        return False
    except TelegramError as error:
        logger.warning("could not edit a message after a button press: %s", error)
        return False
    return True
