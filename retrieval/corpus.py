"""Article files → passages.

A corpus is a directory of `.txt` (the seed's plain format) and `.md` articles. Loading never
fails on one bad file: it is skipped with a reason, and the good files load.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from retrieval.frontmatter import FrontMatterError, Metadata, split_front_matter
from retrieval.text import load_word_list

ARTICLE_SUFFIXES = frozenset({".txt", ".md"})
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
_HEADING_MAX_CHARS = 100
_HEADING_MAX_WORDS = 14
_SENTENCE_END = ".!?;:,…"
_CLOSERS = "\"'”’)]»"
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_MD_SETEXT = re.compile(r"^([=-])\1+$")
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_MD_QUOTE = re.compile(r"^\s*>+\s?")
_MD_INLINE = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>\n]*)?/?>"), ""),
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Passage:
    """One paragraph of an article: the unit the engine answers with.

    Attributes:
        file: The article's file: its path relative to the corpus directory, `/` separated.
        title: The article's title.
        heading: The section heading above the paragraph, or None for the lead.
        position: The paragraph's 0-based position in its article.
        text: The paragraph's text, with line breaks folded into spaces.
    """

    file: str
    title: str
    heading: str | None
    position: int
    text: str


class Passages(Sequence[Passage]):
    """Passages stored compactly (one UTF-8 blob and a few integer arrays), made on access.

    An archive of 100,000 passages as Python objects takes seconds of single-threaded work to
    rebuild from a cache, during which a bot serving questions on other threads stalls; this
    loads as a handful of arrays. It is immutable, like the tuple it stands for.
    """

    def __init__(self, passages: Iterable[Passage] = ()) -> None:
        """Store `passages` in this order."""
        files: dict[str, int] = {}
        contexts: dict[tuple[str, str | None], int] = {}
        file, context, position, texts = [], [], [], []
        for passage in passages:
            file.append(files.setdefault(passage.file, len(files)))
            context.append(contexts.setdefault((passage.title, passage.heading), len(contexts)))
            position.append(passage.position)
            texts.append(passage.text.encode("utf-8"))
        self._files = tuple(files)
        self._contexts = tuple(contexts)
        self._file = np.array(file, dtype=np.int32)
        self._context = np.array(context, dtype=np.int32)
        self._position = np.array(position, dtype=np.int32)
        self._text = b"".join(texts)
        self._starts = np.concatenate(([0], np.cumsum([len(t) for t in texts], dtype=np.int64)))

    def to_arrays(self, prefix: str) -> dict[str, npt.NDArray[Any]]:
        """The passages as plain arrays, names starting with `prefix`."""
        tables = json.dumps([self._files, self._contexts], ensure_ascii=False)
        return {
            f"{prefix}tables": np.frombuffer(tables.encode("utf-8"), dtype=np.uint8),
            f"{prefix}file": self._file,
            f"{prefix}context": self._context,
            f"{prefix}position": self._position,
            f"{prefix}text": np.frombuffer(self._text, dtype=np.uint8),
            f"{prefix}starts": self._starts,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[Any]], prefix: str) -> Passages:
        """Rebuild passages saved by `to_arrays`.

        Raises:
            ValueError: If the arrays do not fit together.
        """
        passages = cls.__new__(cls)
        files, contexts = json.loads(arrays[f"{prefix}tables"].tobytes().decode("utf-8"))
        passages._files = tuple(files)
        passages._contexts = tuple(map(tuple, contexts))
        passages._file = arrays[f"{prefix}file"]
        passages._context = arrays[f"{prefix}context"]
        passages._position = arrays[f"{prefix}position"]
        passages._text = arrays[f"{prefix}text"].tobytes()
        passages._starts = arrays[f"{prefix}starts"]
        size = len(passages._file)
        shapes = {a.shape for a in (passages._context, passages._position, passages._starts[1:])}
        if (
            shapes != {(size,)}
            or passages._starts[:1].tolist() != [0]
            or passages._starts[-1] != len(passages._text)
            or np.any(np.diff(passages._starts) < 0)
            or not _indexes(passages._file, len(passages._files))
            or not _indexes(passages._context, len(passages._contexts))
        ):
            raise ValueError("inconsistent passage arrays")
        return passages

    def __len__(self) -> int:
        return len(self._file)

    @overload
    def __getitem__(self, index: int) -> Passage: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Passage]: ...

    def __getitem__(self, index: int | slice) -> Passage | Sequence[Passage]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        row = range(len(self))[index]  # bounds check and negative indices, as a tuple does
        start, end = int(self._starts[row]), int(self._starts[row + 1])
        title, heading = self._contexts[self._context[row]]
        return Passage(
            self._files[self._file[row]],
            title,
            heading,
            int(self._position[row]),
            self._text[start:end].decode("utf-8"),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Passages({len(self)} passages)"


def _indexes(values: npt.NDArray[Any], size: int) -> bool:
    """Tell whether every value indexes a table of `size` entries."""
    return not values.size or (int(values.min()) >= 0 and int(values.max()) < size)


@dataclass(frozen=True, slots=True)
class Article:
    """An article file that loaded, with the sections it has and a digest of its bytes.

    The metadata fields come from a Markdown article's front matter (see
    `retrieval.frontmatter`); they are None where it has none, as for every `.txt` article.

    Attributes:
        name: The file's name in the corpus directory.
        title: The article's title.
        headings: Its section headings, in order, each once.
        passages: How many paragraphs it has.
        digest: A digest of the file's bytes.
        url: Where it was published (http or https).
        date: When it was published, ISO `YYYY-MM-DD`.
        author: Who wrote it.
        site: The publication's name.
    """

    name: str
    title: str
    headings: tuple[str, ...]
    passages: int
    digest: str
    url: str | None = None
    date: str | None = None
    author: str | None = None
    site: str | None = None


class Skip(StrEnum):
    """Why an article file did not load; each has an English text with `{}` for its values."""

    NOT_UTF8 = "not valid UTF-8 (byte 0x{0:02x} at offset {1})"
    EMPTY = "empty file"
    BINARY = "binary data, not text"
    TOO_LARGE = "too large ({0:,} bytes; the limit is {1:,})"
    UNREADABLE = "cannot be read ({0})"
    NO_PARAGRAPH = "no paragraph found (a title alone is not an article)"
    BAD_NAME = "file name is not valid UTF-8"
    BROKEN_LINK = "broken symbolic link"
    BAD_FRONT_MATTER = "unusable front matter ({0})"


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file that did not load, and why (shown to admins, in their language).

    Attributes:
        name: The file's name in the corpus directory.
        skip: Why it did not load.
        values: What the reason's text refers to (a byte and its offset, sizes, an error).
    """

    name: str
    skip: Skip
    values: tuple[int | str, ...] = ()

    @property
    def reason(self) -> str:
        """Why, in English (for logs and the command line)."""
        return self.skip.value.format(*self.values)


@dataclass(frozen=True, slots=True)
class Corpus:
    """Everything that loaded from a directory, and what was skipped.

    Attributes:
        articles: The articles that loaded, in name order.
        passages: Their passages, article by article.
        skipped: The files that did not load, and why.
        files: Every article file as it was read: its name, and a digest of its bytes or why
            they were not used. It tells whether a saved index still fits the directory.
    """

    articles: tuple[Article, ...]
    passages: Sequence[Passage]
    skipped: tuple[SkippedFile, ...]
    files: tuple[tuple[str, str], ...] = ()
    _labels: dict[str, str] = field(init=False, repr=False, compare=False)
    _by_name: dict[str, Article] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        titles = Counter(a.title for a in self.articles)
        labels = {
            a.name: a.title if titles[a.title] == 1 else f"{a.title} ({a.name})"
            for a in self.articles
        }
        object.__setattr__(self, "_labels", labels)
        object.__setattr__(self, "_by_name", {a.name: a for a in self.articles})

    def article(self, file: str) -> Article | None:
        """The article loaded from `file` (a passage's `file`), if there is one."""
        return self._by_name.get(file)

    def label(self, file: str) -> str:
        """The title of the article in `file` as people see it.

        Where two articles have the same title, each is told apart by its file name.
        """
        return self._labels.get(file, file)


class CorpusError(Exception):
    """The corpus cannot be used at all: no directory, or not a single passage.

    Attributes:
        missing_directory: Whether the directory itself is missing.
    """

    def __init__(self, message: str, *, missing_directory: bool = False) -> None:
        super().__init__(message)
        self.missing_directory = missing_directory


class _BadFileError(Exception):
    """A file that is skipped, and why."""

    def __init__(self, skip: Skip, *values: int | str) -> None:
        super().__init__(skip.value.format(*values))
        self.skip = skip
        self.values = values


def load_corpus(directory: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Corpus:
    """Load every article under `directory` (recursively, in name order).

    Args:
        directory: The corpus directory.
        max_file_bytes: Files larger than this are skipped.

    Returns:
        The loaded corpus; bad files are listed in `skipped` with their reason.

    Raises:
        CorpusError: If the directory is missing or nothing in it yields a passage.
    """
    boilerplate = load_word_list("boilerplate.txt")
    articles: list[Article] = []
    passages: list[Passage] = []
    skipped: list[SkippedFile] = []
    files: list[tuple[str, str]] = []
    for _, name, data, state in _read_files(directory, max_file_bytes):
        files.append((name, state))
        if isinstance(data, SkippedFile):
            skipped.append(data)
            continue
        loaded = _article(name, data, state, boilerplate)
        if isinstance(loaded, SkippedFile):
            skipped.append(loaded)
            continue
        articles.append(loaded[0])
        passages.extend(loaded[1])
    if not passages:
        raise CorpusError(f"no article with a paragraph in {directory}")
    return Corpus(tuple(articles), Passages(passages), tuple(skipped), tuple(files))


def read_article(
    name: str, data: bytes, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> tuple[Article, list[Passage]] | SkippedFile:
    """Check and parse one article file's bytes as `load_corpus` would, without a directory.

    It is the same loader, so a file that passes here loads there (and a file refused here is
    refused with the same reason): what the bot checks before it saves an article.

    Args:
        name: The file's name (its extension says the format).
        data: Its bytes.
        max_file_bytes: Files larger than this are refused.

    Returns:
        The article and its passages, or why the file would be skipped.
    """
    try:
        if len(data) > max_file_bytes:
            raise _BadFileError(Skip.TOO_LARGE, len(data), max_file_bytes)
        _check_bytes(data)
    except _BadFileError as error:
        return SkippedFile(name, error.skip, error.values)
    return _article(name, data, hashlib.sha256(data).hexdigest(), load_word_list("boilerplate.txt"))


def _article(
    name: str, data: bytes, state: str, boilerplate: frozenset[str]
) -> tuple[Article, list[Passage]] | SkippedFile:
    """One file's article and passages from its bytes, or why it is skipped."""
    path = PurePosixPath(name)
    try:
        metadata, title, sections = _parse(
            data.decode("utf-8-sig"), path.suffix.lower(), boilerplate
        )
    except _BadFileError as error:
        return SkippedFile(name, error.skip, error.values)
    except UnicodeDecodeError as error:
        return SkippedFile(name, Skip.NOT_UTF8, (data[error.start], error.start))
    title = metadata.title or title or path.stem
    found = [
        Passage(name, title, heading, position, text)
        for position, (heading, text) in enumerate(sections)
    ]
    headings = tuple(dict.fromkeys(h for h, _ in sections if h is not None))
    article = Article(
        name,
        title,
        headings,
        len(found),
        state,
        url=metadata.url,
        date=metadata.date,
        author=metadata.author,
        site=metadata.site,
    )
    return article, found


def file_states(
    directory: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> tuple[tuple[str, str], ...]:
    """`Corpus.files` as `load_corpus` would find them now, without parsing anything.

    Raises:
        CorpusError: If the directory is missing.
    """
    return tuple((name, state) for _, name, _, state in _read_files(directory, max_file_bytes))


def _read_files(
    directory: Path, max_file_bytes: int
) -> Iterator[tuple[Path, str, bytes | SkippedFile, str]]:
    """Each article file: its path, its name, its bytes or why it is skipped, and its state.

    The state is a digest of the bytes, or the reason they were not read.

    Raises:
        CorpusError: If the directory is missing.
    """
    if not directory.is_dir():
        raise CorpusError(f"corpus directory not found: {directory}", missing_directory=True)
    for path, name in article_files(directory):
        if isinstance(name, SkippedFile):
            yield path, name.name, name, f"skipped: {name.reason}"
            continue
        try:
            data = _read(path, max_file_bytes)
        except _BadFileError as error:
            yield path, name, SkippedFile(name, error.skip, error.values), f"skipped: {error}"
            continue
        yield path, name, data, hashlib.sha256(data).hexdigest()


def carry_over(previous: Corpus, current: Corpus) -> Corpus:
    """Keep serving the previous version of articles whose files are broken now.

    A bad save (a half-written file, a wrong encoding) then does not make an article vanish.
    """
    broken = {s.name for s in current.skipped}
    kept = [a for a in previous.articles if a.name in broken]
    if not kept:
        return current
    names = {a.name for a in kept}
    articles = sorted([*current.articles, *kept], key=lambda a: a.name)
    order = {a.name: i for i, a in enumerate(articles)}
    passages = sorted(
        [*current.passages, *(p for p in previous.passages if p.file in names)],
        key=lambda p: (order[p.file], p.position),
    )
    return Corpus(tuple(articles), Passages(passages), current.skipped, current.files)


def article_files(directory: Path) -> Iterator[tuple[Path, str | SkippedFile]]:
    """Yield article files below `directory` with their relative names; never leave it.

    A file that cannot be used as named (a symlink loop, a name that is not UTF-8) comes with
    the reason it is skipped instead of its name.
    """
    root = directory.resolve()
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() not in ARTICLE_SUFFIXES:
            continue
        name = relative.as_posix()
        printable = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        if printable != name:
            yield path, SkippedFile(printable, Skip.BAD_NAME)
            continue
        try:
            inside = path.resolve(strict=True).is_relative_to(root)
        except (OSError, RuntimeError):  # a broken link or a symlink loop
            yield path, SkippedFile(name, Skip.BROKEN_LINK)
            continue
        if inside and path.is_file():
            yield path, name


def _read(path: Path, max_file_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_file_bytes:
            raise _BadFileError(Skip.TOO_LARGE, size, max_file_bytes)
        data = path.read_bytes()
    except OSError as error:
        raise _BadFileError(Skip.UNREADABLE, error.strerror or str(error)) from error
    _check_bytes(data)
    return data


def _check_bytes(data: bytes) -> None:
    """Refuse an empty or binary file.

    Raises:
        _BadFileError: If it is one.
    """
    if not data.strip():
        raise _BadFileError(Skip.EMPTY)
    if b"\x00" in data:
        raise _BadFileError(Skip.BINARY)


def _parse(
    text: str, suffix: str, boilerplate: frozenset[str]
) -> tuple[Metadata, str, list[tuple[str | None, str]]]:
    """Return the metadata, the title and the (heading, paragraph) pairs of one article's text.

    Only Markdown articles have metadata (their front matter).
    """
    metadata = Metadata()
    if suffix == ".md":
        try:
            metadata, text = split_front_matter(text)
        except FrontMatterError as error:
            raise _BadFileError(Skip.BAD_FRONT_MATTER, str(error)) from error
    blocks = _blocks(text, boilerplate, markdown=suffix == ".md")
    title, sections = (_parse_markdown if suffix == ".md" else _parse_plain)(blocks)
    if not sections:
        raise _BadFileError(Skip.NO_PARAGRAPH)
    return metadata, title, sections


def _blocks(text: str, boilerplate: frozenset[str], *, markdown: bool) -> list[list[str]]:
    """Split text into blank-line separated blocks of non-boilerplate lines."""
    blocks: list[list[str]] = [[]]
    fenced = False
    for raw in text.splitlines():
        line = raw.strip()
        if markdown and line.startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced:
            continue
        if markdown and (underline := _MD_SETEXT.match(line)):
            # "Title" over "=====" is a title, "Section" over "-----" a heading; with no text
            # above it, the line is a rule.
            if blocks[-1]:
                level = "#" if underline.group(1) == "=" else "##"
                blocks[-1] = [f"{level} {' '.join(blocks[-1])}"]
            blocks.append([])
        elif not line or (markdown and _MD_RULE.match(line)):
            blocks.append([])
        elif not _is_boilerplate(line, boilerplate):
            blocks[-1].append(line)
    return [block for block in blocks if block]


def _is_boilerplate(line: str, patterns: frozenset[str]) -> bool:
    folded = _SPACES.sub(" ", line.casefold())
    return any(fnmatch.fnmatchcase(folded, pattern) for pattern in patterns)


def _parse_plain(blocks: list[list[str]]) -> tuple[str, list[tuple[str | None, str]]]:
    if not blocks:
        return "", []
    title, *rest = blocks[0]
    blocks = ([rest] if rest else []) + blocks[1:]
    sections: list[tuple[str | None, str]] = []
    heading: str | None = None
    for index, block in enumerate(blocks):
        is_last = index == len(blocks) - 1
        if len(block) == 1 and _looks_like_heading(block[0]) and not (is_last and sections):
            heading = _fold(block[0])
        else:
            sections.append((heading, _fold(" ".join(block))))
    return _fold(title), sections


def _looks_like_heading(line: str) -> bool:
    """A heading is a short line without sentence-ending punctuation."""
    bare = line.rstrip(_CLOSERS)
    return (
        len(line) <= _HEADING_MAX_CHARS
        and len(line.split()) <= _HEADING_MAX_WORDS
        and bool(bare)
        and bare[-1] not in _SENTENCE_END
    )


def _parse_markdown(blocks: list[list[str]]) -> tuple[str, list[tuple[str | None, str]]]:
    title = ""
    heading: str | None = None
    sections: list[tuple[str | None, str]] = []
    for block in blocks:
        lines: list[str] = []
        for line in block:
            if match := _MD_HEADING.match(line):
                _flush(sections, heading, lines)
                lines = []
                text = _fold(_plain_inline(match.group(2)))
                if len(match.group(1)) == 1 and not title:
                    title = text
                else:
                    heading = text or None
            else:
                lines.append(_plain_inline(_MD_QUOTE.sub("", _MD_LIST.sub("", line))))
        _flush(sections, heading, lines)
    return title, sections


def _flush(sections: list[tuple[str | None, str]], heading: str | None, lines: list[str]) -> None:
    if text := _fold(" ".join(lines)):
        sections.append((heading, text))


def _plain_inline(text: str) -> str:
    for pattern, replacement in _MD_INLINE:
        text = pattern.sub(replacement, text)
    return text


def _fold(text: str) -> str:
    return _SPACES.sub(" ", text).strip()
