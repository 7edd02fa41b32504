from __future__ import annotations

import pytest

from retrieval.frontmatter import (
    FrontMatterError,
    Metadata,
    front_matter,
    iso_date,
    split_front_matter,
    web_url,
)

FULL = Metadata(
    title="Banjir Rob",
    url="https://kabarpesisir.example/rob",
    date="2025-03-01",
    author="Rina Wulandari",
    site="Kabar Pesisir",
)


@pytest.mark.parametrize(
    ("text", "metadata", "rest"),
    [
        (
            "---\ntitle: Banjir Rob\nurl: https://kabarpesisir.example/rob\ndate: 2025-03-01\n"
            "author: Rina Wulandari\nsite: Kabar Pesisir\n---\n# Banjir\n\nIsi.\n",
            FULL,
            "# Banjir\n\nIsi.\n",
        ),
        # quoted values, a datetime, an author list, unknown fields, `...` to close, CRLF
        (
            "---\r\ntitle: 'Rob: 1.200 Mengungsi'\r\ndate: 2025-03-01T08:15:00+07:00\r\n"
            "author: [Rina, Budi]\r\ntags: [rob]\r\n...\r\nIsi.",
            Metadata(title="Rob: 1.200 Mengungsi", date="2025-03-01", author="Rina, Budi"),
            "Isi.",
        ),
        ("---\ndate: '2025-03-01'\n---\nIsi.", Metadata(date="2025-03-01"), "Isi."),
        ("---\ntitle:\nurl: ''\n---\nIsi.", Metadata(), "Isi."),
        ("---\ntitle: 2025\n---\nIsi.", Metadata(title="2025"), "Isi."),
        # no front matter: text as it is
        ("# Judul\n\nIsi.", Metadata(), "# Judul\n\nIsi."),
        # a rule, a paragraph, a rule: Markdown, not front matter
        ("---\nSebuah paragraf.\n---\nIsi.", Metadata(), "---\nSebuah paragraf.\n---\nIsi."),
        # never closed: a rule
        ("---\ntitle: Judul\n\nIsi.", Metadata(), "---\ntitle: Judul\n\nIsi."),
        # not at the start
        ("Isi.\n---\ntitle: x\n---\n", Metadata(), "Isi.\n---\ntitle: x\n---\n"),
    ],
)
def test_split_front_matter(text: str, metadata: Metadata, rest: str) -> None:
    assert split_front_matter(text) == (metadata, rest)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\ntitle: [unclosed\n---\nIsi.", "not valid YAML"),
        ("---\ntitle: a\n  b: c\n---\nIsi.", "not valid YAML"),
        ("---\ndate: 2025-13-45\n---\nIsi.", "not valid YAML"),
        ("---\ndate: kemarin sore\n---\nIsi.", "date is not a date"),
        ("---\nurl: javascript:alert(1)\n---\nIsi.", "url is not an http or https address"),
        ("---\nurl: kompas.com/a\n---\nIsi.", "url is not an http or https address"),
        ("---\nurl: [1, 2]\n---\nIsi.", "url is not an http or https address"),
        ("---\ntitle: !!python/object:os.system x\n---\nIsi.", "not valid YAML"),
        ("---\ntitle: " + "x" * 20_000 + "\n---\nIsi.", "longer than"),
        ("---\n- title\n- url\n---\nIsi.", None),  # a list is Markdown (a rule and items)
    ],
)
def test_broken_front_matter_says_why(text: str, problem: str | None) -> None:
    if problem is None:
        assert split_front_matter(text)[0] == Metadata()
        return
    with pytest.raises(FrontMatterError, match=problem):
        split_front_matter(text)


def test_front_matter_round_trips_and_quotes_what_yaml_would_misread() -> None:
    tricky = Metadata(
        title="Judul: dengan titik dua, # pagar & 'kutip'",
        url="https://contoh.example/a?b=1&c=2",
        date="2025-03-01",
        author="yes",  # YAML 1.1 would read a bare yes as true
        site="null",
    )
    block = front_matter(tricky)
    assert block.startswith("---\n") and block.endswith("---\n")
    assert split_front_matter(block + "Isi.") == (tricky, "Isi.")
    assert front_matter(Metadata()) == ""


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("https://a.example/x", "https://a.example/x"),
        (" http://a.example ", "http://a.example"),
        ("HTTPS://A.example/", "HTTPS://A.example/"),
        ("ftp://a.example/", None),
        ("https://", None),
        ("https://a.example/x y", None),
        ("", None),
        (None, None),
    ],
)
def test_web_url(value: str | None, url: str | None) -> None:
    assert web_url(value) == url


@pytest.mark.parametrize(
    ("value", "date"),
    [
        ("2025-03-01", "2025-03-01"),
        ("2025-03-01T08:15:00+07:00", "2025-03-01"),
        ("1 Maret 2025", None),
        (20250301, None),
        (None, None),
    ],
)
def test_iso_date(value: object, date: str | None) -> None:
    assert iso_date(value) == date
