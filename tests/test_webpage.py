"""HTML → article on the three saved page layouts (tests/data/pages)."""

from __future__ import annotations

import pytest

from retrieval import SkippedFile
from retrieval.corpus import read_article
from retrieval.frontmatter import Metadata, split_front_matter
from retrieval.webpage import html_article
from tests.page_server import PAGES

URL = "https://kabarpesisir.example/daerah/banjir-rob"


def page(name: str) -> bytes:
    return (PAGES / f"{name}.html").read_bytes()


@pytest.mark.parametrize(
    ("name", "url", "metadata", "headings", "first", "dropped"),
    [
        (
            "berita-navigasi",
            URL,
            Metadata(
                title="Banjir Rob Rendam Pesisir Semarang, 1.200 Warga Mengungsi",
                url=URL,
                date="2025-03-01",
                author="Rina Wulandari",
                site="Kabar Pesisir",
            ),
            ("Penyebab Rob Lebih Tinggi", "Bantuan untuk Pengungsi"),
            "Banjir rob setinggi 70 sentimeter",
            # navigation, breadcrumb, share buttons, comments, sidebar, footer
            ["Indeks Berita", "Bagikan", "kapan tanggul permanen", "Terpopuler", "Harga Cabai",
             "Hak cipta", "Tulis komentar", "Advertisement"],
        ),
        (
            "dateline-subjudul",
            None,  # an uploaded file: no address
            Metadata(
                title="Panen Raya Padi di Indramayu Naik 12 Persen",
                date="2025-02-06",  # from the dateline shown on the page
                author="Penulis Agus Santoso; Editor Dewi Lestari",
            ),
            ("Harga Gabah di Tingkat Petani", "Target Serapan Bulog"),
            "Kamis, 6 Februari 2025",
            ["Masuk", "Berita terkait", "Pasang Iklan"],
        ),
    ],
)  # fmt: skip
def test_a_news_page_becomes_an_article_with_its_metadata_and_headings(
    name: str,
    url: str | None,
    metadata: Metadata,
    headings: tuple[str, ...],
    first: str,
    dropped: list[str],
) -> None:
    found = html_article(page(name), url)
    assert found is not None
    assert found.metadata == metadata
    assert split_front_matter(found.markdown)[0] == metadata
    loaded = read_article(f"{name}.md", found.markdown.encode())
    assert not isinstance(loaded, SkippedFile)
    article, passages = loaded
    assert (article.title, article.headings) == (metadata.title, headings)
    assert (article.url, article.date, article.site) == (metadata.url, metadata.date, metadata.site)
    assert passages[0].text.startswith(first) and passages[0].heading is None
    assert len(passages) >= 6
    for text in dropped:
        assert text not in found.markdown


def test_the_dateline_paragraph_stays_with_its_text() -> None:
    found = html_article(page("dateline-subjudul"))
    assert found is not None
    assert "INDRAMAYU, Warta Nusantara – Produksi gabah" in found.markdown.replace("**", "")


@pytest.mark.parametrize(
    "html",
    [
        page("tanpa-artikel"),  # an index page: links, a form, pagination
        b"",
        b"\x00\x01\x02 binary",
        b"<html><head><title>Kosong</title></head><body></body></html>",
        b"<html><body><nav><a href='/'>Beranda</a></nav></body></html>",
    ],
)
def test_a_page_without_article_text_gives_nothing(html: bytes) -> None:
    assert html_article(html, URL) is None


def test_an_uploaded_page_keeps_its_canonical_address() -> None:
    html = page("dateline-subjudul").replace(
        b"</head>", b'<link rel="canonical" href="https://warta.example/panen-raya"></head>'
    )
    found = html_article(html)
    assert found is not None and found.metadata.url == "https://warta.example/panen-raya"
    # A fetched page's own address wins over what the page claims.
    fetched = html_article(html, URL)
    assert fetched is not None and fetched.metadata.url == URL
