"""Article metadata: the YAML front matter a Markdown article may start with.

    ---
    title: Banjir Rob Rendam Pesisir Semarang
    url: https://kabarpesisir.example/daerah/banjir-rob
    date: 2025-03-01
    author: Rina Wulandari
    site: Kabar Pesisir
    ---
    # Banjir Rob Rendam Pesisir Semarang
    ...

Every field is optional; other fields are ignored. The YAML is read with PyYAML's `safe_load`
(plain data only: no tags, no objects). Pure: text in, values out.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import yaml

# A front matter larger than this is not metadata; the file is refused rather than parsed.
MAX_FRONT_MATTER_CHARS = 16 * 1024
# Longest value kept for a text field (a title is one line; an author list can run on).
MAX_FIELD_CHARS = 500
_FENCE = re.compile(r"^---[ \t]*$")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
# A line that starts a YAML mapping ("title: ..."): an unparsable block of such lines is a
# broken front matter; any other block between two `---` lines is Markdown (two rules).
_KEY_LINE = re.compile(r"^[A-Za-z_][\w-]*\s*:(?:\s|$)")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Metadata:
    """Where and when an article was published, and by whom; every field may be missing.

    Attributes:
        title: The article's title.
        url: Where it was published: an http or https address.
        date: Its publication date, ISO `YYYY-MM-DD`.
        author: Who wrote it.
        site: The publication's name (`Kompas`).
    """

    title: str | None = None
    url: str | None = None
    date: str | None = None
    author: str | None = None
    site: str | None = None

    @property
    def any(self) -> bool:
        """Whether any field is set."""
        return any((self.title, self.url, self.date, self.author, self.site))


class FrontMatterError(ValueError):
    """The file starts with front matter that cannot be used; the message says why."""


def split_front_matter(text: str) -> tuple[Metadata, str]:
    """Read the front matter at the start of `text`; return it and the text after it.

    Front matter is a `---` first line, YAML mapping lines, and a closing `---` (or `...`)
    line. Text without it comes back whole with empty metadata; so does a block between two
    `---` lines that is not YAML keys (Markdown allows a rule as the first line).

    Raises:
        FrontMatterError: If the block is YAML keys but not valid YAML, is too large, or
            holds a field of the wrong kind (a `url` that is not an http address, a `date`
            that is not a date).
    """
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0].rstrip("\r")):
        return Metadata(), text
    end = next((i for i, line in enumerate(lines[1:], 1) if _CLOSE.match(line.rstrip("\r"))), None)
    if end is None:
        return Metadata(), text
    block = "\n".join(lines[1:end])
    first = next((line for line in lines[1:end] if line.strip()), "")
    if not _KEY_LINE.match(first):
        return Metadata(), text
    if len(block) > MAX_FRONT_MATTER_CHARS:
        raise FrontMatterError(f"longer than {MAX_FRONT_MATTER_CHARS:,} characters")
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" on line {mark.line + 2}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "unreadable"
        raise FrontMatterError(f"not valid YAML: {problem}{where}") from error
    except (ValueError, RecursionError) as error:  # a timestamp that is no date; deep nesting
        raise FrontMatterError(f"not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise FrontMatterError("not a list of fields (name: value)")
    return metadata_of(data), "\n".join(lines[end + 1 :])


def metadata_of(data: dict[object, object]) -> Metadata:
    """The known fields of a parsed front matter, checked and tidied.

    Raises:
        FrontMatterError: If `url` is not an http(s) address or `date` is not a date.
    """
    return Metadata(
        title=_text(data.get("title")),
        url=_url(data.get("url")),
        date=_date(data.get("date")),
        author=_text(data.get("author")),
        site=_text(data.get("site")),
    )


def front_matter(metadata: Metadata) -> str:
    """`metadata` as a front matter block (with its `---` lines), or "" when it is empty."""
    fields = {
        name: value
        for name, value in (
            ("title", metadata.title),
            ("url", metadata.url),
            ("date", metadata.date),
            ("author", metadata.author),
            ("site", metadata.site),
        )
        if value
    }
    if not fields:
        return ""
    # Dates stay strings in quotes, so every reader sees the same text.
    body = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False, width=1_000_000)
    return f"---\n{body}---\n"


def web_url(value: str | None) -> str | None:
    """`value` if it is an http or https address with a host, else None."""
    if not value:
        return None
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        return None
    return value


def iso_date(value: object) -> str | None:
    """A date as `YYYY-MM-DD`, or None if `value` is none.

    It may be a date, a datetime or an ISO string (`2025-03-01`, `2025-03-01T08:15+07:00`).
    """
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            return None
    return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value if item is not None)
    if isinstance(value, dict):
        return None
    text = _SPACES.sub(" ", str(value)).strip()
    if len(text) > MAX_FIELD_CHARS:
        text = text[: MAX_FIELD_CHARS - 1].rstrip() + "…"
    return text or None


def _url(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    url = web_url(value) if isinstance(value, str) else None
    if url is None:
        raise FrontMatterError("url is not an http or https address")
    return url


def _date(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    date = iso_date(value)
    if date is None:
        raise FrontMatterError("date is not a date (write it as YYYY-MM-DD)")
    return date
