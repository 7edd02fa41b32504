"""Adding and removing articles: names, upload checks and saving, without Telegram."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from bot.fetch import FetchPolicy
from bot.ingest import (
    MAX_UPLOAD_BYTES,
    Added,
    Ingest,
    Refusal,
    Refused,
    Removed,
    Saved,
    check_upload,
    delete_article,
    page_name,
    save_article,
    slug,
    upload_name,
    upload_suffix,
)
from bot.library import Library
from retrieval import Skip, load_corpus

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = b"# Gempa Cianjur\n\nGempa bermagnitudo 5,6 mengguncang Cianjur.\n"


@pytest.mark.parametrize(
    ("file_name", "name"),
    [
        ("Berita Banjir.md", "berita-banjir.md"),
        ("../../etc/passwd.md", "passwd.md"),
        ("..\\..\\windows\\system.ini.txt", "system-ini.txt"),
        ("/abs/path/to/x.TXT", "x.txt"),
        (".hidden.md", "hidden.md"),
        ("...md", "artikel.md"),
        ("..md", "artikel.md"),
        ("Peñasco – Édition spéciale.html", "penasco-edition-speciale.md"),
        ("berita.htm", "berita.md"),
        ("主页.md", "artikel.md"),
        ("a\x00b\nc.md", "a-b-c.md"),
        ("CON.txt", "con.txt"),
        (None, "artikel.md"),
        ("x" * 300 + ".md", "x" * 80 + ".md"),
        ("kata-" * 40 + ".md", ("kata-" * 16).rstrip("-") + ".md"),
    ],
)
def test_upload_names_are_safe_slugs(file_name: str | None, name: str) -> None:
    suffix = upload_suffix(file_name, "text/markdown")
    assert suffix is not None
    made = upload_name(file_name, suffix)
    assert made == name
    assert "/" not in made and "\\" not in made and not made.startswith(".")


@pytest.mark.parametrize(
    ("file_name", "mime", "suffix"),
    [
        ("a.txt", None, ".txt"),
        ("a.MD", None, ".md"),
        ("a.markdown", None, ".md"),
        ("a.html", None, ".html"),
        ("a.htm", "text/html", ".html"),
        ("a.exe", "text/plain", None),  # the name decides, not the claimed type
        ("a.txt.exe", None, None),
        ("a.pdf", None, None),
        ("a.docx", None, None),
        (None, "text/plain", ".txt"),
        ("noextension", "text/html; charset=utf-8", ".html"),
        (None, "application/octet-stream", None),
        (None, None, None),
    ],
)
def test_upload_suffix(file_name: str | None, mime: str | None, suffix: str | None) -> None:
    assert upload_suffix(file_name, mime) == suffix


def test_check_upload_refuses_before_downloading() -> None:
    assert check_upload("a.md", None, 1000) == ".md"
    assert check_upload("a.md", None, None) == ".md"  # size unknown: checked after download
    assert check_upload("setup.exe", "application/x-msdownload", 10) == Refused(
        Refusal.FILE_TYPE, (".exe",)
    )
    big = 30 * 1024 * 1024
    assert check_upload("a.txt", None, big) == Refused(
        Refusal.FILE_TOO_LARGE, (big, MAX_UPLOAD_BYTES)
    )


@pytest.mark.parametrize(
    ("title", "url", "taken", "name"),
    [
        ("Banjir Rob di Semarang", "https://k.example/a", {}, "banjir-rob-di-semarang.md"),
        # the same page again: same name (it is updated)
        ("Banjir", "https://k.example/a", {"banjir.md": "https://k.example/a"}, "banjir.md"),
        # another page with the same title: a new name
        ("Banjir", "https://k.example/b", {"banjir.md": "https://k.example/a"}, "banjir-2.md"),
        (
            "Banjir",
            "https://k.example/c",
            {"banjir.md": None, "banjir-2.md": "https://k.example/b"},
            "banjir-3.md",
        ),
        (None, "https://k.example/berita/panen-raya-padi?id=3", {}, "panen-raya-padi.md"),
        (None, "https://k.example/", {}, "k-example.md"),
        ("../../etc/cron.d/evil", "https://k.example/", {}, "etc-cron-d-evil.md"),
    ],
)
def test_page_names(title: str | None, url: str, taken: dict[str, str | None], name: str) -> None:
    assert page_name(title, url, taken) == name


@pytest.mark.parametrize(
    ("text", "stem"),
    [("Harga Beras Turun 5%!", "harga-beras-turun-5"), ("---", "artikel"), ("", "artikel")],
)
def test_slug(text: str, stem: str) -> None:
    assert slug(text) == stem


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_saving_writes_one_file_atomically_and_says_when_it_replaced_one(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    saved = save_article(corpus, "gempa.md", ARTICLE)
    assert isinstance(saved, Saved)
    assert (saved.name, saved.updated, saved.article.title) == ("gempa.md", False, "Gempa Cianjur")
    assert (corpus / "gempa.md").read_bytes() == ARTICLE
    again = save_article(corpus, "gempa.md", ARTICLE.replace(b"5,6", b"6,1"))
    assert isinstance(again, Saved) and again.updated
    assert b"6,1" in (corpus / "gempa.md").read_bytes()
    assert listing(tmp_path) == ["corpus", "corpus/gempa.md"]  # no temporary file left


def test_a_file_that_fails_the_check_is_not_saved(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    for data, skip in [
        (b"\xff\xfe\x00 bukan teks", Skip.BINARY),
        (b"Judul\n\n\xff bukan utf-8\n", Skip.NOT_UTF8),
        (b"# Judul saja\n", Skip.NO_PARAGRAPH),
        (b"---\ndate: kemarin\n---\n# J\n\nIsi.\n", Skip.BAD_FRONT_MATTER),
        (b"   \n", Skip.EMPTY),
        (b"x" * (MAX_UPLOAD_BYTES + 1), Skip.TOO_LARGE),
    ]:
        refused = save_article(corpus, "rusak.md", data)
        assert isinstance(refused, Refused) and refused.refusal is Refusal.INVALID
        assert refused.skipped is not None and refused.skipped.skip is skip
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before


def test_a_link_in_the_corpus_is_replaced_not_followed(tmp_path: Path) -> None:
    corpus, outside = tmp_path / "corpus", tmp_path / "outside.md"
    corpus.mkdir()
    outside.write_bytes(b"# Rahasia\n\nJangan ditimpa.\n")
    (corpus / "gempa.md").symlink_to(outside)
    saved = save_article(corpus, "gempa.md", ARTICLE)
    assert isinstance(saved, Saved) and saved.updated
    assert outside.read_bytes() == b"# Rahasia\n\nJangan ditimpa.\n"
    assert not (corpus / "gempa.md").is_symlink()


def test_a_folder_in_the_way_refuses_the_save(tmp_path: Path) -> None:
    (tmp_path / "gempa.md").mkdir()
    refused = save_article(tmp_path, "gempa.md", ARTICLE)
    assert isinstance(refused, Refused) and refused.refusal is Refusal.NOT_SAVED
    assert listing(tmp_path) == ["gempa.md"]


@pytest.mark.parametrize("name", ["../x.md", "a/b.md", ".hidden.md", "a\\b.md", "/etc/x.md"])
def test_save_takes_only_plain_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a plain file name"):
        save_article(tmp_path, name, ARTICLE)


def test_delete_removes_only_files_inside_the_folder(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "sub" / "a.md").write_bytes(ARTICLE)
    (tmp_path / "outside.md").write_bytes(ARTICLE)
    (corpus / "link.md").symlink_to(tmp_path / "outside.md")
    assert delete_article(corpus, "../outside.md") == Refused(Refusal.GONE)
    assert delete_article(corpus, str(tmp_path / "outside.md")) == Refused(Refusal.GONE)
    assert delete_article(corpus, "missing.md") == Refused(Refusal.GONE)
    assert delete_article(corpus, "sub/a.md") is None
    assert delete_article(corpus, "link.md") is None  # the link goes, not what it points to
    assert (tmp_path / "outside.md").exists()
    assert listing(corpus) == ["sub"]


@pytest.fixture
def ingest(tmp_path: Path) -> Ingest:
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    return Ingest(Library.open(corpus), FetchPolicy())


async def test_an_upload_is_saved_and_served(ingest: Ingest) -> None:
    added = await ingest.upload("../Gempa Cianjur.md", ".md", ARTICLE)
    assert isinstance(added, Added)
    assert (added.saved.name, added.saved.updated) == ("gempa-cianjur.md", False)
    assert added.report.changes.added == ("gempa-cianjur.md",)
    assert added.article.title == "Gempa Cianjur"
    result = await ingest.library.search("gempa cianjur magnitudo berapa", 1)
    assert result.hits[0].passage.file == "gempa-cianjur.md"


async def test_an_html_upload_becomes_markdown_and_an_empty_page_is_refused(
    ingest: Ingest,
) -> None:
    page = (ROOT / "tests" / "data" / "pages" / "dateline-subjudul.html").read_bytes()
    added = await ingest.upload("panen.html", ".html", page)
    assert isinstance(added, Added)
    assert added.saved.name == "panen.md"
    saved = (ingest.library.directory / "panen.md").read_text("utf-8")
    assert saved.startswith("---\ntitle: Panen Raya Padi di Indramayu Naik 12 Persen\n")
    empty = (ROOT / "tests" / "data" / "pages" / "tanpa-artikel.html").read_bytes()
    assert await ingest.upload("indeks.html", ".html", empty) == Refused(Refusal.NO_ARTICLE)
    assert not (ingest.library.directory / "indeks.md").exists()


async def test_removing_reloads_and_the_only_article_stays(ingest: Ingest) -> None:
    (name,) = [a.name for a in ingest.library.snapshot.corpus.articles]
    assert await ingest.remove(name) == Refused(Refusal.LAST_ARTICLE)
    assert await ingest.remove("missing.md") == Refused(Refusal.GONE)
    added = await ingest.upload("gempa.md", ".md", ARTICLE)
    assert isinstance(added, Added)
    removed = await ingest.remove("gempa.md")
    assert isinstance(removed, Removed) and removed.report.changes.removed == ("gempa.md",)
    assert [a.name for a in load_corpus(ingest.library.directory).articles] == [name]
    assert [p.name for p in ingest.library.directory.iterdir()] == [name]


async def test_the_extractors_log_nothing_about_a_refused_page(
    ingest: Ingest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "bot")
    for data in (b"", b"\x00\x01", b"<html><body><nav>Beranda</nav></body></html>"):
        assert await ingest.upload("x.html", ".html", data) == Refused(Refusal.NO_ARTICLE)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
