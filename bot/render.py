"""Replies as Telegram HTML: escaped, balanced, and split to fit Telegram's 4,096-character limit.

Everything here is pure: text in, message strings out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from telegram.constants import MessageLimit

from bot.library import Failure, ReloadReport
from bot.stats import Summary
from retrieval import (
    Abstention,
    Article,
    Corpus,
    Hit,
    Register,
    SearchResult,
    Skip,
    SkippedFile,
    Span,
)

# A quoted passage longer than this is cut down to the sentences around its best one; when
# an answer's passages do not fit one message together, down to as little as MIN_PASSAGE.
PASSAGE_LIMIT = 1200
MIN_PASSAGE = 300
# Titles and headings longer than this are cut (a title is a whole line of an article file).
LABEL_LIMIT = 200
# /sources shows at most this many articles a page (pages have buttons to turn them).
SOURCES_PER_PAGE = 10
_MONTHS = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
_TAG = re.compile(r"<[^>]+>")


class Lang(StrEnum):
    """Reply language: Indonesian by default, English for users whose Telegram is in English."""

    ID = "id"
    EN = "en"

    @classmethod
    def of(cls, language_code: str | None) -> Lang:
        """Pick the language from a Telegram `language_code` such as `en-GB`."""
        return cls.EN if (language_code or "").lower().startswith("en") else cls.ID


_TEXTS: dict[str, dict[Lang, str]] = {
    "not_found": {
        Lang.ID: "Maaf, artikel yang saya punya tidak membahas hal itu. "
        "Ketik /sources untuk melihat topik yang tersedia.",
        Lang.EN: "Sorry, my articles do not cover that. Send /sources to see what they are about.",
    },
    "no_words": {
        Lang.ID: "Pertanyaannya belum jelas. Tulis pertanyaan dengan kata-kata, "
        "misalnya: <i>{example}</i>",
        Lang.EN: "I could not find a question in that. Ask in words, for example: <i>{example}</i>",
    },
    "not_text": {
        Lang.ID: "Saya hanya bisa menjawab pertanyaan berupa teks.",
        Lang.EN: "I can only answer questions written as text.",
    },
    "usage": {
        Lang.ID: "Tulis pertanyaan setelah perintah, misalnya:\n<code>/tanya {example}</code>",
        Lang.EN: "Put your question after the command, for example:\n<code>/ask {example}</code>",
    },
    "slow_down": {
        Lang.ID: "Pelan-pelan ya 🙂 Tunggu sekitar {seconds} detik sebelum bertanya lagi.",
        Lang.EN: "Easy there 🙂 Please wait about {seconds} seconds before asking again.",
    },
    "busy_group": {
        Lang.ID: "Grup ini sedang banyak bertanya 🙂 Tunggu sekitar {seconds} detik, lalu tanyakan "
        "lagi.",
        Lang.EN: "This group has asked a lot just now 🙂 Please wait about {seconds} seconds, then "
        "ask again.",
    },
    "error": {
        Lang.ID: "Maaf, terjadi kesalahan. Silakan coba lagi sebentar lagi.",
        Lang.EN: "Sorry, something went wrong. Please try again in a moment.",
    },
    "not_admin": {
        Lang.ID: "Maaf, perintah ini hanya untuk admin bot.",
        Lang.EN: "Sorry, only the bot's admins can do that.",
    },
    # An admin's /reload.
    "reloaded": {
        Lang.ID: "✅ Dimuat ulang: {articles} artikel, {passages} paragraf dalam {seconds} detik.",
        Lang.EN: "✅ Reloaded: {articles} articles, {passages} passages in {seconds} s.",
    },
    "reload_failed": {
        Lang.ID: "⚠️ Gagal memuat ulang: {problem}. Artikel lama tetap dipakai: "
        "{articles} artikel, {passages} paragraf.",
        Lang.EN: "⚠️ Reload failed: {problem}. The previous articles stay in service: "
        "{articles} articles, {passages} passages.",
    },
    "added": {Lang.ID: "Ditambah:", Lang.EN: "Added:"},
    "removed": {Lang.ID: "Dihapus:", Lang.EN: "Removed:"},
    "changed": {Lang.ID: "Diubah:", Lang.EN: "Changed:"},
    "kept": {
        Lang.ID: "Rusak, versi sebelumnya tetap dipakai:",
        Lang.EN: "Broken now, previous version kept:",
    },
    "still_kept": {
        Lang.ID: "Masih rusak, versi sebelumnya tetap dipakai:",
        Lang.EN: "Still broken, previous version kept:",
    },
    "unchanged": {Lang.ID: "Tidak ada file yang berubah.", Lang.EN: "No file changed."},
    "skipped": {Lang.ID: "File yang dilewati:", Lang.EN: "Skipped files:"},
    # Feedback, inline mode and /stats.
    "vote_up": {
        Lang.ID: "Terima kasih! 👍 Senang jawabannya membantu.",
        Lang.EN: "Thank you! 👍 Glad it helped.",
    },
    "vote_down": {
        Lang.ID: "Terima kasih, masukan Anda kami catat. 👎",
        Lang.EN: "Thank you, your feedback is noted. 👎",
    },
    "inline_hint_title": {
        Lang.ID: "Ketik pertanyaan tentang artikel",
        Lang.EN: "Type a question about the articles",
    },
    "inline_hint": {
        Lang.ID: "Tanya Artikel menjawab dengan mengutip paragraf artikel berita. Ketik "
        "pertanyaan setelah nama bot, misalnya: {example}",
        Lang.EN: "Tanya Artikel answers by quoting news articles' paragraphs. Type a question "
        "after the bot's name, for example: {example}",
    },
    "inline_not_found_title": {
        Lang.ID: "Tidak ditemukan di artikel",
        Lang.EN: "Not found in the articles",
    },
    "inline_slow_down_title": {
        Lang.ID: "Pelan-pelan ya 🙂",
        Lang.EN: "Easy there 🙂",
    },
    "stats_unavailable": {
        Lang.ID: "Statistik tidak tersedia: basis datanya tidak bisa dibaca (lihat log bot).",
        Lang.EN: "Statistics are unavailable: the database cannot be read (see the bot's log).",
    },
    "stats_off": {
        Lang.ID: "Statistik tidak dicatat (STATS_DB kosong).",
        Lang.EN: "Statistics are not kept (STATS_DB is empty).",
    },
    # Small talk, answered in kind.
    "talk_about": {
        Lang.ID: "Saya bot yang menjawab pertanyaan tentang {articles} artikel berita dengan "
        "mengutip paragraf yang menjawabnya. Tanyakan saja, misalnya: <i>{example}</i>\n"
        "/help menjelaskan caranya, /sources menampilkan daftar artikelnya.",
        Lang.EN: "I am a bot that answers questions about {articles} news article(s) by quoting "
        "the paragraphs that answer them. Just ask, for example: <i>{example}</i>\n"
        "/help says how, /sources lists the articles.",
    },
    "talk_thanks": {
        Lang.ID: "Sama-sama! 🙂 Kalau ada pertanyaan lain tentang artikelnya, tanyakan saja.",
        Lang.EN: "You're welcome! 🙂 Ask me anything else about the articles.",
    },
    "talk_apology": {
        Lang.ID: "Tidak apa-apa 🙂 Silakan bertanya, misalnya: <i>{example}</i>",
        Lang.EN: "No problem 🙂 Go ahead and ask, for example: <i>{example}</i>",
    },
    "talk_farewell": {
        Lang.ID: "Sampai jumpa! 👋",
        Lang.EN: "Goodbye! 👋",
    },
    "talk_greeting": {
        Lang.ID: "Halo! 👋 Tanyakan apa saja tentang artikel berita saya, misalnya: "
        "<i>{example}</i>",
        Lang.EN: "Hello! 👋 Ask me anything about my news articles, for example: <i>{example}</i>",
    },
    "talk_ping": {
        Lang.ID: "Saya aktif ✅ Silakan bertanya, misalnya: <i>{example}</i>",
        Lang.EN: "I am here ✅ Go ahead and ask, for example: <i>{example}</i>",
    },
    "talk_praise": {
        Lang.ID: "Terima kasih! 😊 Ada pertanyaan lain?",
        Lang.EN: "Thank you! 😊 Anything else?",
    },
    "talk_ack": {
        Lang.ID: "Siap 👍 Kalau ada pertanyaan lain, tanyakan saja.",
        Lang.EN: "Alright 👍 Ask me anything else.",
    },
    "talk_laughter": {
        Lang.ID: "😄 Ada yang ingin ditanyakan tentang artikelnya? Misalnya: <i>{example}</i>",
        Lang.EN: "😄 Anything you would like to know about the articles? For example: "
        "<i>{example}</i>",
    },
    "talk_go_ahead": {
        Lang.ID: "Silakan, mau tanya apa? Misalnya: <i>{example}</i>",
        Lang.EN: "Go ahead, what would you like to know? For example: <i>{example}</i>",
    },
}
# Why a file did not load, in Indonesian (the English texts are retrieval's `Skip`).
_SKIPS_ID = {
    Skip.NOT_UTF8: "bukan teks UTF-8 yang sah (byte 0x{0:02x} di posisi {1})",
    Skip.EMPTY: "file kosong",
    Skip.BINARY: "berisi data biner, bukan teks",
    Skip.TOO_LARGE: "terlalu besar ({0:,} byte; batasnya {1:,})",
    Skip.UNREADABLE: "tidak bisa dibaca ({0})",
    Skip.NO_PARAGRAPH: "tidak ada paragraf (judul saja belum menjadi artikel)",
    Skip.BAD_NAME: "nama file bukan UTF-8 yang sah",
    Skip.BROKEN_LINK: "tautan simbolik yang rusak",
    Skip.BAD_FRONT_MATTER: "front matter tidak bisa dipakai ({0})",
}
_FAILURES = {
    Failure.NO_DIRECTORY: {
        Lang.ID: "folder artikel tidak ditemukan",
        Lang.EN: "the article folder was not found",
    },
    Failure.NO_ARTICLE: {
        Lang.ID: "tidak ada artikel dengan paragraf",
        Lang.EN: "no article with a paragraph",
    },
    Failure.BUILD: {
        Lang.ID: "pembuatan indeks gagal (lihat log bot)",
        Lang.EN: "building the index failed (see the bot's log)",
    },
}
# The reply to each kind of small talk (see retrieval's `Register`).
_SMALL_TALK = {
    Register.ABOUT_BOT: "talk_about",
    Register.THANKS: "talk_thanks",
    Register.APOLOGY: "talk_apology",
    Register.FAREWELL: "talk_farewell",
    Register.GREETING: "talk_greeting",
    Register.PING: "talk_ping",
    Register.PRAISE: "talk_praise",
    Register.ACK: "talk_ack",
    Register.LAUGHTER: "talk_laughter",
}


def text(key: str, lang: Lang, **values: object) -> str:
    """A fixed reply in `lang`, with `values` HTML-escaped into it."""
    return _TEXTS[key][lang].format(**{k: escape(clip(str(v))) for k, v in values.items()})


def escape(value: str) -> str:
    """Escape text for Telegram HTML (only `&`, `<` and `>` matter there)."""
    return html.escape(value, quote=False)


def to_plain(message: str) -> str:
    """The same message without markup, for when Telegram rejects the HTML."""
    return html.unescape(_TAG.sub("", message))


def clip(value: str, limit: int = LABEL_LIMIT) -> str:
    """Cut `value` to at most `limit` characters, marking the cut with an ellipsis."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def telegram_length(message: str) -> int:
    """Length as Telegram counts it (UTF-16 code units) of the HTML source, an upper bound."""
    return len(message.encode("utf-16-le", "surrogatepass")) // 2


def answer(result: SearchResult, lang: Lang, example: str, corpus: Corpus) -> list[str]:
    """The reply messages for a search result: quoted passages, or why there are none.

    Small talk is answered in kind; `example` is a question to suggest, and `corpus` the
    articles in service (their titles as people see them, and how many there are).
    """
    if not result.answered:
        talk = result.question.small_talk if result.question else None
        if talk is not None:
            key = _SMALL_TALK.get(talk, "talk_go_ahead")
            return [text(key, lang, example=example, articles=len(corpus.articles))]
        if result.abstention in {Abstention.EMPTY, Abstention.NO_WORDS}:
            return [text("no_words", lang, example=example)]
        return [text("not_found", lang)]
    return pack(_quotes(result.hits, corpus, lang))


def _quotes(hits: Sequence[Hit], corpus: Corpus, lang: Lang = Lang.ID) -> list[str]:
    """The hits quoted so that together they fit one message when they can.

    Each passage is trimmed around its best sentence; when the quotes are too long together,
    every passage is trimmed further (never below `MIN_PASSAGE`), so an answer is one message
    rather than several.
    """
    limit, budget = MessageLimit.MAX_TEXT_LENGTH, PASSAGE_LIMIT
    while True:
        quotes = [
            quote(
                hit,
                corpus.label(hit.passage.file),
                budget,
                source=source_line(corpus.article(hit.passage.file), lang),
            )
            for hit in hits
        ]
        length = telegram_length("\n\n".join(quotes))
        if length <= limit or budget == MIN_PASSAGE:
            return quotes
        budget = max(MIN_PASSAGE, int(budget * limit / length * 0.95))


def quote(
    hit: Hit, title: str | None = None, limit: int = PASSAGE_LIMIT, source: str | None = None
) -> str:
    """One passage: title › heading, its source, then the passage with matched words in bold.

    `title` is the article's title as people see it (the passage's own title by default); a
    passage longer than `limit` characters is trimmed to the part around its best sentence.
    `source` is the article's `source_line`, shown under the title when it has one.
    """
    passage = hit.passage
    place = f"<b>{escape(clip(title or passage.title))}</b>"
    if passage.heading:
        place += f" › <i>{escape(clip(passage.heading))}</i>"
    if source:
        place += f"\n{source}"
    return f"{place}\n<blockquote>{_marked(hit, limit)}</blockquote>"


def format_date(iso: str, lang: Lang) -> str:
    """An ISO date as people read it in `lang`: `1 Mar 2025`, `1 Agu 2025` (as given if not one)."""
    try:
        day = dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.day} {_MONTHS[lang.value][day.month - 1]} {day.year}"


def source_line(article: Article | None, lang: Lang) -> str | None:
    """Where and when an article was published, as HTML: `Kompas · 1 Mar 2025`.

    It links to the article's address when it has one (the site then defaults to the
    address's host); None for an article with no metadata.
    """
    if article is None:
        return None
    url = article.url if article.url and _web(article.url) else None
    site = article.site or (_host(url) if url else None)
    parts = [
        clip(part, 80) for part in (site, article.date and format_date(article.date, lang)) if part
    ]
    if not parts:
        return None
    label = escape(" · ".join(parts))
    if url is None:
        return label
    return f'<a href="{html.escape(url, quote=True)}">{label}</a>'


def _web(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)


def _host(url: str) -> str | None:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


def _marked(hit: Hit, limit: int) -> str:
    """The passage text, escaped, with highlights in bold, trimmed to `limit` characters."""
    body = hit.passage.text
    window = _window(body, hit.best, limit)
    parts = ["…" if window.start > 0 else ""]
    cursor = window.start
    for span in hit.highlights:
        if span.start < cursor or span.end > window.end:
            continue
        parts += [
            escape(body[cursor : span.start]),
            "<b>",
            escape(body[span.start : span.end]),
            "</b>",
        ]
        cursor = span.end
    parts.append(escape(body[cursor : window.end]))
    if window.end < len(body):
        parts.append("…")
    return "".join(parts)


def _window(body: str, best: Span, limit: int) -> Span:
    """A range of at most `limit` characters around the best sentence, on word boundaries."""
    if len(body) <= limit:
        return Span(0, len(body))
    if best.end - best.start >= limit:
        end = body.rfind(" ", best.start, best.start + limit)
        return Span(best.start, end if end > best.start else best.start + limit)
    spare = limit - (best.end - best.start)
    start = max(0, best.start - spare // 2)
    end = min(len(body), start + limit)
    start = max(0, end - limit)
    if start > 0:
        space = body.find(" ", start, best.start)
        start = space + 1 if space != -1 else start
    if end < len(body):
        space = body.rfind(" ", best.end, end)
        end = space if space != -1 else end
    return Span(start, end)


def pack(blocks: Sequence[str], limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Join blocks into as few messages as fit `limit`.

    Blocks are kept whole where they fit (a quoted passage is trimmed to fit); a longer block
    is split between its lines, and a single line that is still too long loses its markup
    and is cut.
    """
    pieces: list[str] = []
    for block in blocks:
        if telegram_length(block) <= limit:
            pieces.append(block)
            continue
        for line in block.split("\n"):
            fits = telegram_length(line) <= limit
            pieces.append(line if fits else escape(clip(to_plain(line), limit // 2)))
    messages: list[str] = []
    for piece in pieces:
        if messages and telegram_length(messages[-1]) + 2 + telegram_length(piece) <= limit:
            messages[-1] += "\n\n" + piece
        else:
            messages.append(piece)
    return messages


def help_message(
    articles: Sequence[Article], examples: Sequence[str], lang: Lang, bot_username: str
) -> str:
    """/start and /help: what the bot knows and how to ask, with examples from the corpus."""
    topics = ", ".join(f"<i>{escape(clip(a.title))}</i>" for a in articles[:3])
    more = len(articles) - 3
    sample = "\n".join(f"• {escape(clip(e))}" for e in examples)
    first = escape(clip(examples[0])) if examples else "..."
    if lang is Lang.EN:
        known = f"I answer questions about {len(articles)} news article(s): {topics}"
        known += f" and {more} more." if more > 0 else "."
        return (
            f"👋 {known}\nI quote the paragraphs that answer you, with their title and section.\n\n"
            f"<b>Private chat:</b> just send your question.\n"
            f"<b>Groups:</b> <code>/ask your question</code> (or <code>/tanya</code>), "
            f"reply to one of my messages, or mention @{escape(bot_username)}.\n\n"
            f"Examples:\n{sample}\n\n"
            f"/sources lists the articles and their sections. Edited messages are not answered "
            f"again: send a new question instead.\nTry: <code>/ask {first}</code>"
        )
    known = f"Saya menjawab pertanyaan tentang {len(articles)} artikel berita: {topics}"
    known += f" dan {more} lainnya." if more > 0 else "."
    return (
        f"👋 {known}\nSaya mengutip paragraf yang menjawab, lengkap dengan judul dan bagiannya.\n\n"
        f"<b>Chat pribadi:</b> langsung kirim pertanyaan.\n"
        f"<b>Grup:</b> <code>/tanya pertanyaan</code> (atau <code>/ask</code>), balas pesan saya, "
        f"atau sebut @{escape(bot_username)}.\n\n"
        f"Contoh:\n{sample}\n\n"
        f"/sources menampilkan daftar artikel dan bagiannya. Pesan yang diedit tidak dijawab "
        f"ulang: kirim pertanyaan baru.\nCoba: <code>/tanya {first}</code>"
    )


def sources_message(corpus: Corpus, lang: Lang) -> list[str]:
    """/sources: every article with its source and sections, as pages of one message each.

    A page holds at most `SOURCES_PER_PAGE` articles and fits one message; the bot shows the
    first with buttons to turn the pages. An article too long for a page loses its last
    sections.
    """
    head = "📚 <b>Articles</b>" if lang is Lang.EN else "📚 <b>Daftar artikel</b>"
    # Room for the head with its page number, and the blank lines between articles.
    budget = MessageLimit.MAX_TEXT_LENGTH - telegram_length(head) - 20
    pages: list[list[str]] = [[]]
    used = 0
    for number, article in enumerate(corpus.articles, 1):
        lines = [f"{number}. <b>{escape(clip(corpus.label(article.name)))}</b>"]
        if source := source_line(article, lang):
            lines.append(f"   {source}")
        lines += [f"   › {escape(clip(h))}" for h in article.headings]
        block = _fitted(lines, budget)
        size = telegram_length(block) + 2
        if pages[-1] and (len(pages[-1]) == SOURCES_PER_PAGE or used + size > budget):
            pages.append([])
            used = 0
        pages[-1].append(block)
        used += size
    count = len(pages)
    return [
        "\n\n".join([f"{head} ({number}/{count})" if count > 1 else head, *blocks])
        for number, blocks in enumerate(pages, 1)
    ]


def _fitted(lines: list[str], budget: int) -> str:
    """The lines of an article's block, the last ones left out (marked `› …`) to fit `budget`."""
    block = "\n".join(lines)
    while telegram_length(block) > budget and len(lines) > 1:
        lines = lines[: max(1, len(lines) // 2)]
        block = "\n".join([*lines, "   › …"])
    if telegram_length(block) > budget:
        block = escape(clip(to_plain(block), budget // 2))
    return block


def reload_message(report: ReloadReport, lang: Lang) -> list[str]:
    """What an admin's /reload did: counts, time, what changed, and the files that did not load."""
    corpus = report.snapshot.corpus
    articles, passages = len(corpus.articles), len(corpus.passages)
    if report.failure:
        head = text(
            "reload_failed",
            lang,
            problem=_FAILURES[report.failure][lang],
            articles=articles,
            passages=passages,
        )
    else:
        seconds = f"{report.seconds:.2f}"
        head = text("reloaded", lang, articles=articles, passages=passages, seconds=seconds)
    changes = report.changes
    reasons = {s.name: skip_reason(s, lang) for s in corpus.skipped}
    lines = [head]
    for key, names in (
        ("added", changes.added),
        ("removed", changes.removed),
        ("changed", changes.changed),
        ("kept", changes.kept),
        ("still_kept", changes.still_kept),
    ):
        if names:
            lines.append(text(key, lang))
            lines += [_file_line(name, reasons.get(name)) for name in names]
    if not report.failure and not changes.any:
        lines.append(text("unchanged", lang))
    blocks = ["\n".join(lines)]
    carried = {*changes.kept, *changes.still_kept}
    skipped = [_file_line(s.name, reasons[s.name]) for s in corpus.skipped if s.name not in carried]
    if skipped:
        blocks.append("\n".join([text("skipped", lang), *skipped]))
    return pack(blocks)


def skip_reason(skipped: SkippedFile, lang: Lang) -> str:
    """Why a file did not load, in `lang` (plain text)."""
    if lang is Lang.EN:
        return skipped.reason
    return _SKIPS_ID[skipped.skip].format(*skipped.values)


def _file_line(name: str, reason: str | None) -> str:
    line = f"• <code>{escape(clip(name))}</code>"
    return f"{line}: {escape(reason)}" if reason else line


def split_plain(message: str, limit: int) -> list[str]:
    """The message as plain text in parts of at most `limit` UTF-16 units.

    Parts end at a line break, else at a space, where one falls in the second half of the part.
    """
    parts = []
    rest = to_plain(message).strip()
    while telegram_length(rest) > limit:
        end = _fitting(rest, limit)
        cut = rest.rfind("\n", end // 2, end)
        if cut <= 0:
            cut = rest.rfind(" ", end // 2, end)
        if cut <= 0:
            cut = max(end, 1)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [*parts, rest] if rest else parts


def _fitting(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 units."""
    units = 0
    for position, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return position
    return len(text)


@dataclass(frozen=True, slots=True)
class InlineAnswer:
    """One result of an inline query (`@bot question` in any chat).

    Attributes:
        id: A unique id for the result (at most 64 bytes).
        title: What the list shows in bold: the article's title › section heading.
        description: The line under it: the passage's best sentence.
        text: The message sent into the chat when it is chosen (Telegram HTML).
    """

    id: str
    title: str
    description: str
    text: str


def inline_answers(result: SearchResult, lang: Lang, corpus: Corpus) -> list[InlineAnswer]:
    """The results of an inline query: the quoted passages, or one that says why there are none.

    Choosing a passage sends it as an answer in the chat would show it: title › heading, its
    source, the quote.
    """
    if not result.answered:
        key = "not_found" if result.abstention is Abstention.NOT_FOUND else "no_words"
        message = text(key, lang, example="…")
        return [
            InlineAnswer("none", text("inline_not_found_title", lang), to_plain(message), message)
        ]
    answers = []
    for hit, quoted in zip(result.hits, _quotes(result.hits, corpus, lang), strict=True):
        passage = hit.passage
        title = clip(corpus.label(passage.file), 120 if passage.heading is None else 60)
        if passage.heading:
            title += f" › {clip(passage.heading, 60)}"
        best = passage.text[hit.best.start : hit.best.end]
        key = hashlib.sha256(f"{passage.file}#{passage.position}".encode()).hexdigest()[:32]
        answers.append(InlineAnswer(key, title, clip(best, 160), quoted))
    return answers


def inline_hint(lang: Lang, example: str) -> InlineAnswer:
    """The one result shown for an empty or too short inline query: how to ask."""
    message = text("inline_hint", lang, example=example)
    return InlineAnswer("hint", text("inline_hint_title", lang), to_plain(message), message)


def inline_slow_down(lang: Lang, seconds: int) -> InlineAnswer:
    """The one result shown to someone over their limit."""
    message = text("slow_down", lang, seconds=seconds)
    return InlineAnswer("wait", text("inline_slow_down_title", lang), message, message)


def stats_message(summary: Summary, lang: Lang) -> list[str]:
    """/stats: the last days at a glance."""
    en = lang is Lang.EN
    share = f"{summary.answered / summary.questions:.0%}" if summary.questions else "–"
    head = (
        f"📊 <b>The last {summary.days} days</b>\n"
        f"Questions: {summary.questions}, answered: {summary.answered} ({share})\n"
        f"👍 {summary.up} · 👎 {summary.down}"
        if en
        else f"📊 <b>{summary.days} hari terakhir</b>\n"
        f"Pertanyaan: {summary.questions}, terjawab: {summary.answered} ({share})\n"
        f"👍 {summary.up} · 👎 {summary.down}"
    )
    blocks = [head]
    if summary.unanswered:
        title = "Most asked, not found:" if en else "Paling sering ditanyakan, tidak ditemukan:"
        lines = [f"{n}× {escape(clip(q, 120))}" for q, n in summary.unanswered]
        blocks.append("\n".join([f"<b>{title}</b>", *lines]))
    if summary.disliked:
        title = "Answers with the most 👎:" if en else "Jawaban dengan 👎 terbanyak:"
        word = "paragraph" if en else "paragraf"
        lines = [
            f"{n}× {escape(clip(t or '?', 100))} ({word} {p + 1})" for t, p, n in summary.disliked
        ]
        blocks.append("\n".join([f"<b>{title}</b>", *lines]))
    if summary.quoted:
        title = "Articles quoted most:" if en else "Artikel yang paling sering dikutip:"
        lines = [f"{n}× {escape(clip(t or '?', 100))}" for t, n in summary.quoted]
        blocks.append("\n".join([f"<b>{title}</b>", *lines]))
    hint = (
        "Send /stats csv for the unanswered questions as a file."
        if en
        else "Kirim /stats csv untuk daftar pertanyaan yang tidak terjawab dalam file."
    )
    blocks.append(f"<i>{hint}</i>")
    return pack(blocks)
