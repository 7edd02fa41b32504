"""Inline keyboards and what their buttons send back (callback data).

Three uses: turning the pages of /sources, /remove's list of articles and its confirmation,
and the 👍/👎 under an answer (which names the answer by its random id).
Telegram returns a button's callback data (at most 64 bytes) when it is pressed; it names an
article by a short hash of its file name, looked up again among the articles in service, so a
press never carries a path and a stale button finds nothing. Pure: no Telegram calls.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render import Lang, clip
from retrieval import Article, Corpus

# Articles listed per page of /remove (one button each).
REMOVE_PER_PAGE = 8
# Characters of a title on a button.
BUTTON_LABEL = 48
_KEY_CHARS = 16
# The length of an answer's id (bot.stats.new_answer_id).
ANSWER_ID_CHARS = 12
_DATA = re.compile(r"(src|rml|rmq|rmy|rmx|fu|fd):([0-9a-f]{16}|[0-9]{1,6}|[A-Za-z0-9_-]{12})?")


class Kind(StrEnum):
    """What a button does; its value starts the callback data."""

    SOURCES_PAGE = "src"
    """Show a page of /sources (`src:2`)."""
    REMOVE_PAGE = "rml"
    """Show a page of /remove's list (`rml:2`)."""
    REMOVE_ASK = "rmq"
    """Ask to confirm removing an article (`rmq:<key>`)."""
    REMOVE_YES = "rmy"
    """Remove it (`rmy:<key>`)."""
    REMOVE_CANCEL = "rmx"
    """Leave it (`rmx:`)."""
    VOTE_UP = "fu"
    """👍 on an answer (`fu:<answer id>`)."""
    VOTE_DOWN = "fd"
    """👎 on an answer (`fd:<answer id>`)."""


@dataclass(frozen=True, slots=True)
class Press:
    """A button press: what it asks for, and the page or the article's key."""

    kind: Kind
    page: int = 0
    key: str = ""

    @property
    def data(self) -> str:
        """The callback data for this press."""
        if self.kind in {Kind.SOURCES_PAGE, Kind.REMOVE_PAGE}:
            return f"{self.kind.value}:{self.page}"
        return f"{self.kind.value}:{self.key}"


def parse(data: str | None) -> Press | None:
    """The press a button's callback data stands for; None if it is not one of ours."""
    match = _DATA.fullmatch(data or "")
    if match is None:
        return None
    kind, value = Kind(match.group(1)), match.group(2) or ""
    if kind in {Kind.SOURCES_PAGE, Kind.REMOVE_PAGE}:
        return Press(kind, page=int(value)) if value.isdigit() and len(value) <= 6 else None
    if kind is Kind.REMOVE_CANCEL:
        return Press(kind) if not value else None
    if kind in {Kind.VOTE_UP, Kind.VOTE_DOWN}:
        return Press(kind, key=value) if len(value) == ANSWER_ID_CHARS else None
    return Press(kind, key=value) if len(value) == _KEY_CHARS else None


def article_key(name: str) -> str:
    """A short key for an article file name, for callback data."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:_KEY_CHARS]


def find(articles: Sequence[Article], key: str) -> Article | None:
    """The article whose key is `key`, if it is still there."""
    return next((a for a in articles if article_key(a.name) == key), None)


def page_count(items: int, per_page: int) -> int:
    """How many pages `items` take (at least one)."""
    return max(1, math.ceil(items / per_page))


def _turn(kind: Kind, page: int, pages: int, lang: Lang) -> list[InlineKeyboardButton]:
    """The ‹ and › buttons of a page, where there is a page before and after."""
    row = []
    if page > 0:
        text = "‹ Prev" if lang is Lang.EN else "‹ Sebelumnya"
        row.append(InlineKeyboardButton(text, callback_data=Press(kind, page - 1).data))
    if page < pages - 1:
        text = "Next ›" if lang is Lang.EN else "Berikutnya ›"
        row.append(InlineKeyboardButton(text, callback_data=Press(kind, page + 1).data))
    return row


def sources_keyboard(page: int, pages: int, lang: Lang) -> InlineKeyboardMarkup | None:
    """The buttons under a page of /sources; None when there is one page."""
    row = _turn(Kind.SOURCES_PAGE, page, pages, lang)
    return InlineKeyboardMarkup([row]) if row else None


def remove_keyboard(corpus: Corpus, page: int, lang: Lang) -> InlineKeyboardMarkup:
    """A page of /remove's list: a button per article, the page turns, and cancel."""
    start = page * REMOVE_PER_PAGE
    rows = [
        [
            InlineKeyboardButton(
                f"🗑 {clip(corpus.label(article.name), BUTTON_LABEL)}",
                callback_data=Press(Kind.REMOVE_ASK, key=article_key(article.name)).data,
            )
        ]
        for article in corpus.articles[start : start + REMOVE_PER_PAGE]
    ]
    pages = page_count(len(corpus.articles), REMOVE_PER_PAGE)
    if turn := _turn(Kind.REMOVE_PAGE, page, pages, lang):
        rows.append(turn)
    rows.append([_cancel(lang)])
    return InlineKeyboardMarkup(rows)


def confirm_keyboard(article: Article, lang: Lang) -> InlineKeyboardMarkup:
    """Yes (remove) and cancel, for one article."""
    yes = "🗑 Yes, remove it" if lang is Lang.EN else "🗑 Ya, hapus"
    press = Press(Kind.REMOVE_YES, key=article_key(article.name))
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(yes, callback_data=press.data), _cancel(lang)]]
    )


def _cancel(lang: Lang) -> InlineKeyboardButton:
    text = "Cancel" if lang is Lang.EN else "Batal"
    return InlineKeyboardButton(text, callback_data=Press(Kind.REMOVE_CANCEL).data)


def feedback_keyboard(answer: str) -> InlineKeyboardMarkup:
    """👍 and 👎 under an answer, in one row."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("👍", callback_data=Press(Kind.VOTE_UP, key=answer).data),
                InlineKeyboardButton("👎", callback_data=Press(Kind.VOTE_DOWN, key=answer).data),
            ]
        ]
    )
