"""Adding and removing articles from the chat: check, name, save atomically, reload.

An admin sends a file (`.txt`, `.md`, `.html`) or a link; `Ingest` turns it into an article
file in `CORPUS_DIR` and reloads the library. Nothing from the upload is trusted as a path:
the file name is made here (a slug, no folders, a fixed extension), the bytes are checked with
the corpus loader itself before they are visible, and they are written to a hidden temporary
file in `CORPUS_DIR` that is renamed into place, so a reload never reads half a file and
nothing is written outside the folder.

The decisions (which uploads are accepted, the file names) are pure functions, tested without
Telegram or a network; `Ingest` does the saving, fetching and reloading.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

from bot.fetch import FetchError, FetchPolicy, Page, Problem, fetch_page
from bot.library import Library, ReloadReport
from retrieval import Article, SkippedFile
from retrieval.corpus import DEFAULT_MAX_FILE_BYTES, read_article
from retrieval.webpage import html_article

logger = logging.getLogger(__name__)
# trafilatura and htmldate log the page's address (an admin's message) at WARNING, and a page
# they cannot parse as an ERROR; the bot's reply and its own log line say what happened.
for _extractor in ("trafilatura", "htmldate"):
    logging.getLogger(_extractor).setLevel(logging.CRITICAL)

# The largest upload downloaded: the loader's limit for an article file (an HTML page's article
# is smaller than the page).
MAX_UPLOAD_BYTES = DEFAULT_MAX_FILE_BYTES
# Upload extensions and what they are saved as: HTML becomes a Markdown article.
UPLOAD_SUFFIXES = {
    ".txt": ".txt",
    ".md": ".md",
    ".markdown": ".md",
    ".html": ".html",
    ".htm": ".html",
}
# For a document sent without a file name.
MIME_SUFFIXES = {
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/html": ".html",
}
MAX_STEM_CHARS = 80
DEFAULT_STEM = "artikel"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class Refusal(StrEnum):
    """Why an article was not added or removed; each has an English text with `{}` values."""

    FILE_TYPE = "only .txt, .md and .html files can be added, not {0}"
    FILE_TOO_LARGE = "the file is {0:,} bytes; the limit is {1:,}"
    DOWNLOAD = "the file could not be downloaded from Telegram ({0})"
    INVALID = "the article cannot be used: {0}"
    """The corpus loader refused it (`skipped` says why)."""
    FETCH = "the page could not be fetched: {0}"
    """Fetching failed (`problem` says why)."""
    NO_ARTICLE = "no article text was found in it"
    NOT_SAVED = "the file could not be saved ({0})"
    GONE = "that article is no longer there"
    LAST_ARTICLE = "it is the only article; add another one first"
    NOT_REMOVED = "the file could not be removed ({0})"


@dataclass(frozen=True, slots=True)
class Refused:
    """An upload, link or removal that was refused, and why.

    Attributes:
        refusal: Why.
        values: What the reason's text refers to.
        skipped: The loader's reason, for `INVALID`.
        problem: The fetch's problem, for `FETCH`.
    """

    refusal: Refusal
    values: tuple[int | float | str, ...] = ()
    skipped: SkippedFile | None = None
    problem: Problem | None = None

    @property
    def reason(self) -> str:
        """Why, in English (for logs)."""
        if self.skipped is not None:
            return self.refusal.value.format(self.skipped.reason)
        if self.problem is not None:
            return self.refusal.value.format(self.problem.value.format(*self.values))
        return self.refusal.value.format(*self.values)


@dataclass(frozen=True, slots=True)
class Saved:
    """An article file written into the corpus folder.

    Attributes:
        name: Its file name there.
        updated: Whether it replaced a file of that name.
        article: The article as the loader read it.
    """

    name: str
    updated: bool
    article: Article


@dataclass(frozen=True, slots=True)
class Added:
    """An article saved and the reload that followed."""

    saved: Saved
    report: ReloadReport

    @property
    def article(self) -> Article:
        """The article as served now (as saved, if the reload kept the old index)."""
        return self.report.snapshot.corpus.article(self.saved.name) or self.saved.article


@dataclass(frozen=True, slots=True)
class Removed:
    """An article file deleted and the reload that followed."""

    name: str
    report: ReloadReport


def upload_suffix(file_name: str | None, mime_type: str | None) -> str | None:
    """The kind of an upload (`.txt`, `.md` or `.html`) from its name, else its MIME type.

    None if it is not one the bot takes: a file named `.exe` is refused whatever its type says.
    """
    suffix = PurePosixPath(_base_name(file_name or "")).suffix.lower()
    if suffix:
        return UPLOAD_SUFFIXES.get(suffix)
    return MIME_SUFFIXES.get((mime_type or "").split(";", 1)[0].strip().lower())


def check_upload(
    file_name: str | None, mime_type: str | None, size: int | None, limit: int = MAX_UPLOAD_BYTES
) -> str | Refused:
    """Whether to download an upload: its kind, or why not (before a byte is fetched)."""
    suffix = upload_suffix(file_name, mime_type)
    if suffix is None:
        shown = PurePosixPath(_base_name(file_name or "")).suffix or mime_type or "?"
        return Refused(Refusal.FILE_TYPE, (shown[:40],))
    if size is not None and size > limit:
        return Refused(Refusal.FILE_TOO_LARGE, (size, limit))
    return suffix


def slug(text: str, limit: int = MAX_STEM_CHARS) -> str:
    """`text` as a file-name stem: lower-case ASCII letters and digits joined by `-`.

    Accents are dropped (`Peñasco` → `penasco`); anything else becomes a separator, so no
    path part, dot or space survives. Cut at a separator to at most `limit` characters;
    `DEFAULT_STEM` when nothing is left.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    stem = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(stem) > limit:
        cut = stem.rfind("-", 0, limit + 1)
        stem = stem[: cut if cut > 0 else limit].strip("-")
    return stem or DEFAULT_STEM


def upload_name(file_name: str | None, suffix: str) -> str:
    """The corpus file name for an upload: its own name's slug, saved as `.txt` or `.md`.

    Only the last part of the name counts (`../../etc/passwd.md` → `passwd.md`); HTML is saved
    as Markdown.
    """
    stem = PurePosixPath(_base_name(file_name or "")).stem
    return slug(stem) + (".txt" if suffix == ".txt" else ".md")


def page_name(title: str | None, url: str, taken: Mapping[str, str | None]) -> str:
    """The corpus file name for a fetched page: its title's slug (else its address's).

    `taken` maps the names in use to their article's `url`: the same page fetched again
    keeps its name (and replaces the file); another page with the same title gets `-2`, `-3`.
    """
    if not title:
        path = PurePosixPath(url.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0])
        title = path.name if len(path.parts) > 1 and path.name else path.parts[0]
    stem = slug(title)
    name, number = f"{stem}.md", 1
    while name in taken and taken[name] != url:
        number += 1
        name = f"{stem}-{number}.md"
    return name


def _base_name(file_name: str) -> str:
    """The last part of a name that may hold slash or backslash separators."""
    return re.split(r"[/\\]", file_name.strip())[-1]


def save_article(directory: Path, name: str, data: bytes) -> Saved | Refused:
    """Check `data` with the corpus loader and write it as `directory/name`, atomically.

    The bytes go to a hidden temporary file in `directory` (which a reload skips) and are
    renamed over `name`. A file of that name is replaced (`updated`); a symbolic link of that
    name is replaced by the file, never followed.

    Raises:
        ValueError: If `name` is not a plain article file name (a bug: names are made here).
    """
    if name != PurePosixPath(name).name or name.startswith(".") or "\\" in name:
        raise ValueError(f"not a plain file name: {name!r}")
    checked = read_article(name, data)
    if isinstance(checked, SkippedFile):
        return Refused(Refusal.INVALID, skipped=checked)
    if not directory.is_dir():
        return Refused(Refusal.NOT_SAVED, ("no corpus folder",))
    target = directory / name
    updated = target.exists() or target.is_symlink()
    temporary = directory / f".{name}.{uuid.uuid4().hex}.part"
    try:
        with temporary.open("xb") as file:  # exclusive: never through an existing link
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(target)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        return Refused(Refusal.NOT_SAVED, (error.strerror or type(error).__name__,))
    return Saved(name, updated, checked[0])


def delete_article(directory: Path, name: str) -> Refused | None:
    """Delete the article file `name` (a corpus article's name) from `directory`.

    Only a file inside `directory` is deleted (a link is deleted, not what it points to).
    """
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        return Refused(Refusal.GONE)
    path = directory.joinpath(*relative.parts)
    if not path.parent.resolve().is_relative_to(directory.resolve()):
        return Refused(Refusal.GONE)
    try:
        path.unlink()
    except FileNotFoundError:
        return Refused(Refusal.GONE)
    except OSError as error:
        return Refused(Refusal.NOT_REMOVED, (error.strerror or type(error).__name__,))
    return None


class Ingest:
    """Adds and removes articles of the library's folder, then reloads the library."""

    def __init__(self, library: Library, policy: FetchPolicy) -> None:
        self.library = library
        self.policy = policy

    async def upload(self, file_name: str | None, suffix: str, data: bytes) -> Added | Refused:
        """Save an uploaded file (already checked by `check_upload`) and reload."""
        if len(data) > MAX_UPLOAD_BYTES:
            return Refused(Refusal.FILE_TOO_LARGE, (len(data), MAX_UPLOAD_BYTES))
        name = upload_name(file_name, suffix)
        if suffix == ".html":
            found = await asyncio.to_thread(html_article, data)
            if found is None:
                return Refused(Refusal.NO_ARTICLE)
            data = found.markdown.encode("utf-8")
        return await self._save(name, data)

    async def page(self, url: str) -> Added | Refused:
        """Fetch the page at `url`, save its article as Markdown, and reload."""
        try:
            page = await fetch_page(url, self.policy)
        except FetchError as error:
            # The address is the admin's message: its details only at DEBUG.
            logger.info("fetching a page failed: %s", error.problem.name)
            logger.debug("fetching %s failed: %s", url, error)
            return Refused(Refusal.FETCH, error.values, problem=error.problem)
        found = await asyncio.to_thread(html_article, _decoded(page), page.url)
        if found is None:
            return Refused(Refusal.NO_ARTICLE)
        articles = self.library.snapshot.corpus.articles
        taken: dict[str, str | None] = {a.name: a.url for a in articles}
        taken.update(
            (path.name, taken.get(path.name)) for path in self.library.directory.glob("*.md")
        )
        name = page_name(found.metadata.title, page.url, taken)
        return await self._save(name, found.markdown.encode("utf-8"))

    async def remove(self, name: str) -> Removed | Refused:
        """Delete the article file `name` and reload; the only article is never removed."""
        articles = self.library.snapshot.corpus.articles
        if name not in {a.name for a in articles}:
            return Refused(Refusal.GONE)
        if len(articles) == 1:
            return Refused(Refusal.LAST_ARTICLE)
        refused = await asyncio.to_thread(delete_article, self.library.directory, name)
        if refused is not None:
            return refused
        logger.info("removed article %s", name)
        return Removed(name, await self.library.reload())

    async def _save(self, name: str, data: bytes) -> Added | Refused:
        saved = await asyncio.to_thread(save_article, self.library.directory, name, data)
        if isinstance(saved, Refused):
            logger.info("refused article %s: %s", name, saved.reason)
            return saved
        logger.info("%s article %s", "updated" if saved.updated else "saved", name)
        return Added(saved, await self.library.reload())


def _decoded(page: Page) -> bytes | str:
    """The page as text when its Content-Type names a known character set, else its bytes."""
    if page.encoding:
        with contextlib.suppress(LookupError):
            return page.html.decode(page.encoding, errors="replace")
    return page.html
