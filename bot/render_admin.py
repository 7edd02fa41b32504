"""Replies to an admin adding and removing articles, as Telegram HTML. Pure: values in, text out."""

from __future__ import annotations

from bot import render
from bot.fetch import Problem
from bot.ingest import Added, Refusal, Refused, Removed
from bot.render import Lang, clip, escape, pack, reload_message, skip_reason, source_line
from retrieval import Article, Corpus

_TEXTS: dict[str, dict[Lang, str]] = {
    "added": {
        Lang.ID: "✅ Artikel baru disimpan: <code>{name}</code>",
        Lang.EN: "✅ New article saved: <code>{name}</code>",
    },
    "updated": {
        Lang.ID: "✅ Artikel diperbarui (file lama diganti): <code>{name}</code>",
        Lang.EN: "✅ Article updated (the old file was replaced): <code>{name}</code>",
    },
    "summary": {
        Lang.ID: "{sections} bagian, {passages} paragraf. Coba tanyakan: <i>{example}</i>",
        Lang.EN: "{sections} section(s), {passages} passage(s). Try asking: <i>{example}</i>",
    },
    "refused": {
        Lang.ID: "⚠️ Artikel tidak disimpan: {reason}.",
        Lang.EN: "⚠️ Not saved: {reason}.",
    },
    "not_removed": {
        Lang.ID: "⚠️ Tidak dihapus: {reason}.",
        Lang.EN: "⚠️ Not removed: {reason}.",
    },
    "add_usage": {
        Lang.ID: "Kirim alamat artikel setelah perintah, misalnya:\n"
        "<code>/add https://contoh.co.id/berita/judul-artikel</code>\n"
        "Atau kirim saja tautannya, atau file .txt, .md atau .html.",
        Lang.EN: "Put the article's address after the command, for example:\n"
        "<code>/add https://example.com/news/article-title</code>\n"
        "Or just send the link, or a .txt, .md or .html file.",
    },
    "remove_list": {
        Lang.ID: "Pilih artikel yang akan dihapus ({page}/{pages}):",
        Lang.EN: "Choose the article to remove ({page}/{pages}):",
    },
    "remove_confirm": {
        Lang.ID: "Hapus <b>{title}</b> (<code>{name}</code>)? File-nya dihapus dari folder "
        "artikel.",
        Lang.EN: "Remove <b>{title}</b> (<code>{name}</code>)? Its file is deleted from the "
        "article folder.",
    },
    "removed": {
        Lang.ID: "🗑 Dihapus: <code>{name}</code>",
        Lang.EN: "🗑 Removed: <code>{name}</code>",
    },
    "cancelled": {
        Lang.ID: "Dibatalkan: tidak ada artikel yang dihapus.",
        Lang.EN: "Cancelled: no article was removed.",
    },
}
_REFUSALS: dict[Refusal, dict[Lang, str]] = {
    Refusal.FILE_TYPE: {
        Lang.ID: "hanya file .txt, .md dan .html yang bisa ditambahkan, bukan {0}",
        Lang.EN: Refusal.FILE_TYPE.value,
    },
    Refusal.FILE_TOO_LARGE: {
        Lang.ID: "ukuran file {0:,} byte; batasnya {1:,}",
        Lang.EN: Refusal.FILE_TOO_LARGE.value,
    },
    Refusal.DOWNLOAD: {
        Lang.ID: "file tidak bisa diunduh dari Telegram ({0})",
        Lang.EN: Refusal.DOWNLOAD.value,
    },
    Refusal.INVALID: {
        Lang.ID: "artikel tidak bisa dipakai: {0}",
        Lang.EN: Refusal.INVALID.value,
    },
    Refusal.FETCH: {
        Lang.ID: "halaman tidak bisa diambil: {0}",
        Lang.EN: Refusal.FETCH.value,
    },
    Refusal.NO_ARTICLE: {
        Lang.ID: "tidak ditemukan teks artikel di dalamnya",
        Lang.EN: Refusal.NO_ARTICLE.value,
    },
    Refusal.NOT_SAVED: {
        Lang.ID: "file tidak bisa disimpan ({0})",
        Lang.EN: Refusal.NOT_SAVED.value,
    },
    Refusal.GONE: {
        Lang.ID: "artikel itu sudah tidak ada",
        Lang.EN: Refusal.GONE.value,
    },
    Refusal.LAST_ARTICLE: {
        Lang.ID: "ini satu-satunya artikel; tambahkan artikel lain dulu",
        Lang.EN: Refusal.LAST_ARTICLE.value,
    },
    Refusal.NOT_REMOVED: {
        Lang.ID: "file tidak bisa dihapus ({0})",
        Lang.EN: Refusal.NOT_REMOVED.value,
    },
}
_PROBLEMS_ID = {
    Problem.BAD_URL: "bukan alamat web (harus diawali http:// atau https://)",
    Problem.NO_ADDRESS: "nama {0} tidak ditemukan",
    Problem.PRIVATE: "{0} adalah alamat di mesin ini atau di jaringan privat",
    Problem.TIMEOUT: "tidak ada jawaban lengkap dalam {0:g} detik",
    Problem.REDIRECTS: "dialihkan (redirect) lebih dari {0} kali",
    Problem.STATUS: "situs menjawab dengan status HTTP {0}",
    Problem.NOT_HTML: "bukan halaman web (jenis isinya {0})",
    Problem.TOO_LARGE: "halaman lebih besar dari {0:,} byte",
    Problem.CONNECTION: "situs tidak bisa dihubungi ({0})",
}


def text(key: str, lang: Lang, **values: object) -> str:
    """A fixed reply in `lang`, with `values` HTML-escaped into it."""
    return _TEXTS[key][lang].format(**{k: escape(clip(str(v))) for k, v in values.items()})


def reason(refused: Refused, lang: Lang) -> str:
    """Why an upload, link or removal was refused, in `lang` (plain text)."""
    if refused.skipped is not None:
        detail = skip_reason(refused.skipped, lang)
        return _REFUSALS[refused.refusal][lang].format(detail)
    if refused.problem is not None:
        template = refused.problem.value if lang is Lang.EN else _PROBLEMS_ID[refused.problem]
        detail = template.format(*refused.values)
        return _REFUSALS[refused.refusal][lang].format(detail)
    return _REFUSALS[refused.refusal][lang].format(*refused.values)


def refused_message(refused: Refused, lang: Lang, *, removing: bool = False) -> str:
    """The one reply to a refused upload, link or removal."""
    key = "not_removed" if removing else "refused"
    return text(key, lang, reason=clip(reason(refused, lang), 600))


def added_message(added: Added, example: str, lang: Lang) -> list[str]:
    """An article added, and the reload's report.

    It says the file's name (new or updated), the title, source and size, and a question to try.
    """
    article = added.article
    head = text("updated" if added.saved.updated else "added", lang, name=added.saved.name)
    lines = [head, f"<b>{escape(clip(article.title))}</b>"]
    if source := source_line(article, lang):
        lines.append(source)
    lines.append(
        text(
            "summary",
            lang,
            sections=len(article.headings),
            passages=article.passages,
            example=example,
        )
    )
    # Saves close together share reloads: the one that follows a save may find its file
    # loaded already, and "no file changed" would read as if the save had not happened.
    unchanged = "\n" + render.text("unchanged", lang)
    report = [part.replace(unchanged, "") for part in reload_message(added.report, lang)]
    return pack(["\n".join(lines), *report])


def removed_message(removed: Removed, lang: Lang) -> str:
    """An article removed, and the reload's report, in one message (it replaces the list)."""
    report = "\n\n".join(reload_message(removed.report, lang))
    return pack([text("removed", lang, name=removed.name), report])[0]


def remove_list(corpus: Corpus, page: int, pages: int, lang: Lang) -> str:
    """The text over /remove's buttons."""
    return text("remove_list", lang, page=page + 1, pages=pages)


def remove_confirm(corpus: Corpus, article: Article, lang: Lang) -> str:
    """The question before an article is removed."""
    return text("remove_confirm", lang, title=corpus.label(article.name), name=article.name)
