from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from retrieval import CorpusError, Passage, Passages, SkippedFile, load_corpus
from retrieval.corpus import read_article

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def write(directory: Path, name: str, content: str | bytes) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_seed_loads_with_title_headings_and_six_paragraphs() -> None:
    corpus = load_corpus(SEEDS)
    (article,) = corpus.articles
    assert article.title == (
        "Rusia Buka Pintu untuk Indonesia dalam Upaya Perdamaian Ukraina, Tolak Keterlibatan NATO"
    )
    assert article.headings == (
        'Peran Indonesia dalam "Friends for Peace"',
        "Penolakan Tegas terhadap NATO",
        "Ukraina Siapkan Jaminan Keamanan",
    )
    assert [p.heading for p in corpus.passages] == [
        None,
        None,
        'Peran Indonesia dalam "Friends for Peace"',
        "Penolakan Tegas terhadap NATO",
        "Penolakan Tegas terhadap NATO",
        "Ukraina Siapkan Jaminan Keamanan",
    ]
    assert [p.position for p in corpus.passages] == list(range(6))
    assert corpus.passages[0].text.startswith("Moskwa dengan tegas")
    assert not any("Scroll to Top" in p.text for p in corpus.passages)
    assert corpus.skipped == ()


def test_plain_text_boilerplate_and_wrapped_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.txt",
        "Judul Berita\n\nParagraf pembuka yang\nterbungkus dua baris.\n\n"
        "Baca juga: Berita lain yang menarik\n\nFoto: Antara/Budi\n\nSubjudul Penting\n\n"
        "Isi bagian kedua.\n\n"
        "Advertisement\n\nScroll to Top\n",
    )
    corpus = load_corpus(tmp_path)
    assert [(p.heading, p.text) for p in corpus.passages] == [
        (None, "Paragraf pembuka yang terbungkus dua baris."),
        ("Subjudul Penting", "Isi bagian kedua."),
    ]


def test_short_line_ending_a_sentence_is_a_paragraph_not_a_heading(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "Judul\n\nIni kalimat pendek.\n\nLanjutan paragraf.\n")
    assert [p.heading for p in load_corpus(tmp_path).passages] == [None, None]


def test_markdown_article(tmp_path: Path) -> None:
    write(
        tmp_path,
        "b.md",
        "# Judul *Markdown*\n\nLead dengan [tautan](https://example.com) dan **tebal**.\n\n"
        "## Bagian Satu\n\n- butir `kode` pertama\n- butir kedua\n\n"
        "### Sub Bagian\n\n> kutipan _miring_\n\n```\nkode = 1\n```\n",
    )
    corpus = load_corpus(tmp_path)
    assert corpus.articles[0].title == "Judul Markdown"
    assert [(p.heading, p.text) for p in corpus.passages] == [
        (None, "Lead dengan tautan dan tebal."),
        ("Bagian Satu", "butir kode pertama butir kedua"),
        ("Sub Bagian", "kutipan miring"),
    ]


def test_bom_is_ignored_and_subdirectories_load(tmp_path: Path) -> None:
    write(tmp_path, "sub/c.txt", "\ufeffJudul BOM\n\nSatu paragraf.\n".encode())
    corpus = load_corpus(tmp_path)
    assert corpus.articles[0].name == "sub/c.txt"
    assert corpus.articles[0].title == "Judul BOM"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bad.txt", b"Judul\n\nteks \xff\xfe rusak\n", "not valid UTF-8 (byte 0xff at offset 12)"),
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"\n\n   \n", "empty file"),
        ("title-only.txt", b"Hanya Judul\n", "no paragraph found"),
        ("binary.txt", b"\x00\x01\x02abc", "binary data"),
        ("huge.txt", b"Judul\n\n" + b"kata " * 300, "too large"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    write(tmp_path, "good.txt", "Judul\n\nParagraf yang baik.\n")
    write(tmp_path, name, content)
    corpus = load_corpus(tmp_path, max_file_bytes=1000)
    assert [a.name for a in corpus.articles] == ["good.txt"]
    (skipped,) = corpus.skipped
    assert skipped.name == name
    assert reason in skipped.reason


def test_hidden_other_extensions_and_outside_symlinks_are_ignored(tmp_path: Path) -> None:
    corpus_dir = tmp_path / "corpus"
    write(corpus_dir, "ok.txt", "Judul\n\nParagraf.\n")
    write(corpus_dir, ".hidden.txt", "Rahasia\n\nJangan dimuat.\n")
    write(corpus_dir, ".git/x.txt", "Rahasia\n\nJangan dimuat.\n")
    write(corpus_dir, "notes.csv", "a,b\n")
    outside = write(tmp_path, "secret.txt", "Rahasia\n\nDi luar korpus.\n")
    (corpus_dir / "link.txt").symlink_to(outside)
    (corpus_dir / "inside-link.txt").symlink_to(corpus_dir / "ok.txt")
    corpus = load_corpus(corpus_dir)
    assert [a.name for a in corpus.articles] == ["inside-link.txt", "ok.txt"]


def test_symlink_loops_broken_links_and_odd_names_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "ok.txt", "Judul\n\nParagraf.\n")
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing.txt")
    (tmp_path / "rusak\udcfe.txt").write_text("Judul\n\nParagraf.\n", encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert [a.name for a in corpus.articles] == ["ok.txt"]
    assert {(s.name, s.reason) for s in corpus.skipped} == {
        ("gone.txt", "broken symbolic link"),
        ("loop.txt", "broken symbolic link"),
        ("rusak\ufffd.txt", "file name is not valid UTF-8"),
    }


def test_markdown_keeps_comparisons_and_drops_tags(tmp_path: Path) -> None:
    write(tmp_path, "m.md", "# T\n\nJika x < 5 dan y > 3 maka <span>benar</span>.\n")
    assert load_corpus(tmp_path).passages[0].text == "Jika x < 5 dan y > 3 maka benar."


def test_article_digest_changes_with_content(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "Judul\n\nSatu.\n")
    before = load_corpus(tmp_path).articles[0].digest
    path.write_text("Judul\n\nDua.\n", encoding="utf-8")
    assert load_corpus(tmp_path).articles[0].digest != before


@pytest.mark.parametrize(
    "files",
    [{}, {"empty.txt": ""}, {"readme.rst": "Judul\n\nParagraf.\n"}],
)
def test_corpus_without_passages_is_an_error(tmp_path: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        write(tmp_path, name, content)
    with pytest.raises(CorpusError, match="no article with a paragraph"):
        load_corpus(tmp_path)


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "nope")


def test_passages_store_reads_back_what_it_was_given() -> None:
    given = (
        Passage("a.txt", "Judul", None, 0, "Paragraf pertama."),
        Passage("a.txt", "Judul", "Bagian ✓", 1, "Kedua — dengan “kutipan” dan 日本."),
        Passage("b/c.md", "Lain", "Bagian ✓", 0, ""),
    )
    store = Passages(given)
    assert (len(store), store[1], store[-1], store[:2]) == (3, given[1], given[2], list(given[:2]))
    assert store == given and given == store and store != given[:2]
    with pytest.raises(IndexError):
        store[3]
    assert Passages.from_arrays(store.to_arrays("p."), "p.") == given


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("p.file", np.array([0, 5], dtype=np.int32)),
        ("p.context", np.array([0, -1], dtype=np.int32)),
        ("p.position", np.array([0], dtype=np.int32)),
        ("p.starts", np.array([0, 3, 99], dtype=np.int64)),
    ],
)
def test_passages_store_rejects_arrays_that_do_not_fit(name: str, value: npt.NDArray[Any]) -> None:
    store = Passages([Passage("a.txt", "T", None, 0, "abc"), Passage("b.txt", "U", None, 0, "d")])
    with pytest.raises(ValueError, match="inconsistent"):
        Passages.from_arrays({**store.to_arrays("p."), name: value}, "p.")


def test_markdown_setext_title_and_headings(tmp_path: Path) -> None:
    write(
        tmp_path,
        "s.md",
        "Judul Setext\n============\n\nParagraf pembuka.\n\nBagian Dua\n----------\n\n"
        "Isi bagian dua.\n\n-----\n\n=====\n\nPenutup.\n",
    )
    corpus = load_corpus(tmp_path)
    assert corpus.articles[0].title == "Judul Setext"
    assert [(p.heading, p.text) for p in corpus.passages] == [
        (None, "Paragraf pembuka."),
        ("Bagian Dua", "Isi bagian dua."),
        ("Bagian Dua", "Penutup."),  # a rule, and "=====" with nothing above it, are no text
    ]


@pytest.mark.parametrize(
    "content",
    ["Judul\n\nSubjudul Satu\n\nSubjudul Dua\n", "Judul\n\nSubjudul Satu\n"],
    ids=["headings", "one-heading"],
)
def test_plain_text_with_headings_but_no_paragraph_is_skipped(tmp_path: Path, content: str) -> None:
    write(tmp_path, "kosong.txt", content)
    write(tmp_path, "isi.txt", "Isi\n\nParagraf yang sebenarnya.\n")
    corpus = load_corpus(tmp_path)
    assert [a.name for a in corpus.articles] == ["isi.txt"]
    assert [(s.name, s.reason) for s in corpus.skipped] == [
        ("kosong.txt", "no paragraph found (a title alone is not an article)")
    ]


def test_a_short_last_line_after_paragraphs_is_still_a_paragraph(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "Judul\n\nParagraf pertama.\n\nFoto bersama para menteri\n")
    texts = [p.text for p in load_corpus(tmp_path).passages]
    assert texts == ["Paragraf pertama.", "Foto bersama para menteri"]


def test_articles_with_the_same_title_are_told_apart_by_file_name(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "Banjir Jakarta\n\nAir naik setinggi satu meter.\n")
    write(tmp_path, "b/c.md", "# Banjir Jakarta\n\nAir surut pada Selasa.\n")
    write(tmp_path, "d.txt", "Gempa\n\nGempa di Cianjur.\n")
    corpus = load_corpus(tmp_path)
    assert [corpus.label(a.name) for a in corpus.articles] == [
        "Banjir Jakarta (a.txt)",
        "Banjir Jakarta (b/c.md)",
        "Gempa",
    ]


FRONT = (
    "---\ntitle: Banjir Rob di Semarang\nurl: https://kabarpesisir.example/rob\n"
    "date: 2025-03-01\nauthor: Rina\nsite: Kabar Pesisir\n---\n"
    "# Banjir Rob\n\nAir laut masuk ke permukiman.\n\n## Bantuan\n\nDapur umum didirikan.\n"
)


def test_markdown_front_matter_gives_the_article_its_metadata(tmp_path: Path) -> None:
    write(tmp_path, "rob.md", FRONT)
    write(tmp_path, "plain.txt", "Judul\n\nIsi paragraf.\n")
    write(tmp_path, "a.md", "# Tanpa Metadata\n\nIsi.\n")
    corpus = load_corpus(tmp_path)
    rob = corpus.article("rob.md")
    assert rob is not None
    # The front matter's title wins over the `# ` line, which is not taken for a heading.
    assert (rob.title, rob.headings) == ("Banjir Rob di Semarang", ("Bantuan",))
    assert (rob.url, rob.date, rob.author, rob.site) == (
        "https://kabarpesisir.example/rob",
        "2025-03-01",
        "Rina",
        "Kabar Pesisir",
    )
    assert [p.text for p in corpus.passages if p.file == "rob.md"] == [
        "Air laut masuk ke permukiman.",
        "Dapur umum didirikan.",
    ]
    for name in ("plain.txt", "a.md"):
        article = corpus.article(name)
        assert article is not None
        assert (article.url, article.date, article.author, article.site) == (None,) * 4
    assert corpus.article("missing.md") is None


def test_a_txt_file_has_no_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "---\ntitle: x\n---\nJudul\n\nIsi paragraf.\n")
    (article,) = load_corpus(tmp_path).articles
    assert (article.title, article.url) == ("---", None)


def test_broken_front_matter_skips_the_file_with_its_reason(tmp_path: Path) -> None:
    write(tmp_path, "good.txt", "Judul\n\nIsi.\n")
    write(tmp_path, "bad.md", "---\ntitle: [tak ditutup\n---\n# Judul\n\nIsi.\n")
    write(tmp_path, "date.md", "---\ndate: kemarin\n---\n# Judul\n\nIsi.\n")
    reasons = {s.name: s.reason for s in load_corpus(tmp_path).skipped}
    assert reasons["bad.md"].startswith("unusable front matter (not valid YAML")
    assert reasons["date.md"] == (
        "unusable front matter (date is not a date (write it as YYYY-MM-DD))"
    )


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.md", FRONT.encode(), None),
        ("a.txt", b"Judul\n\nIsi.\n", None),
        ("a.txt", b"", "empty file"),
        ("a.txt", b"Judul\n\n\x00\x01", "binary data, not text"),
        ("a.txt", b"Judul\n\n\xff\xfe", "not valid UTF-8 (byte 0xff at offset 7)"),
        ("a.md", b"# Judul saja\n", "no paragraph found (a title alone is not an article)"),
        ("a.txt", b"x" * 6_000_000, "too large (6,000,000 bytes; the limit is 5,242,880)"),
    ],
)
def test_read_article_checks_one_file_as_the_loader_does(
    tmp_path: Path, name: str, data: bytes, reason: str | None
) -> None:
    checked = read_article(name, data)
    write(tmp_path, name, data)
    if reason is None:
        assert not isinstance(checked, SkippedFile)
        corpus = load_corpus(tmp_path)
        assert corpus.articles == (checked[0],)
        assert list(corpus.passages) == checked[1]
    else:
        assert isinstance(checked, SkippedFile) and checked.reason == reason
        with pytest.raises(CorpusError):
            load_corpus(tmp_path)
