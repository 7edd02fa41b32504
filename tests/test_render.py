import pytest
from telegram.constants import MessageLimit

from bot import render
from bot.library import Changes, Failure, ReloadReport
from bot.render import Lang, telegram_length
from bot.stats import Summary
from retrieval import (
    Abstention,
    AnswerType,
    Article,
    Corpus,
    Hit,
    Opened,
    Passage,
    Question,
    Register,
    SearchResult,
    Skip,
    SkippedFile,
    Source,
    Span,
)
from testkit.telegram_server import parse_html


def make_hit(text: str, title: str = "Judul", heading: str | None = "Bagian") -> Hit:
    return Hit(Passage("a.txt", title, heading, 0, text), 1.0, 1.0, (), (), Span(0, len(text)))


@pytest.mark.parametrize(
    ("code", "lang"),
    [(None, Lang.ID), ("id", Lang.ID), ("en", Lang.EN), ("en-GB", Lang.EN), ("ms", Lang.ID)],
)
def test_language_follows_telegram_language_code(code: str | None, lang: Lang) -> None:
    assert Lang.of(code) is lang


def test_quote_escapes_corpus_text_and_marks_highlights() -> None:
    text = "A <b> & B tentang NATO."
    hit = Hit(
        Passage("a.txt", "Judul <x> & y", "Bagian <i>", 0, text),
        1.0, 1.0, ("nato",), (Span(18, 22),), Span(0, len(text)),
    )  # fmt: skip
    html = render.quote(hit)
    assert html == (
        "<b>Judul &lt;x&gt; &amp; y</b> › <i>Bagian &lt;i&gt;</i>\n"
        "<blockquote>A &lt;b&gt; &amp; B tentang <b>NATO</b>.</blockquote>"
    )
    assert parse_html(html)  # valid for Telegram


def test_lead_passage_shows_title_alone() -> None:
    hit = make_hit("Isi.", heading=None)
    assert render.quote(hit).startswith("<b>Judul</b>\n<blockquote>")


def test_long_passage_is_trimmed_around_its_best_sentence() -> None:
    filler = "Kalimat pengisi yang tidak penting sama sekali. " * 60
    best = "Jawaban penting ada di sini."
    text = filler + best + " " + filler
    start = text.index(best)
    hit = Hit(
        Passage("a.txt", "T", None, 0, text), 1.0, 1.0, (), (), Span(start, start + len(best))
    )
    html = render.quote(hit)
    assert best in html
    assert "<blockquote>…" in html and html.endswith("…</blockquote>")
    assert len(html) < render.PASSAGE_LIMIT + 100


def test_huge_title_is_clipped() -> None:
    html = render.quote(make_hit("Isi.", title="T" * 10_000))
    assert len(html) < 400


@pytest.mark.parametrize("blocks", [3, 10, 40])
def test_pack_never_exceeds_the_limit_and_keeps_tags_balanced(blocks: int) -> None:
    block = render.quote(make_hit("kata 😀 " * 150))
    messages = render.pack([block] * blocks)
    assert all(telegram_length(m) <= MessageLimit.MAX_TEXT_LENGTH for m in messages)
    assert sum(m.count("<blockquote>") for m in messages) == blocks
    for message in messages:
        parse_html(message)


def test_telegram_length_counts_utf16_units() -> None:
    assert telegram_length("a😀") == 3


def test_to_plain_strips_tags_and_unescapes() -> None:
    assert render.to_plain("<b>A &lt;x&gt; &amp;</b>\n<blockquote>q</blockquote>") == "A <x> &\nq"


def test_not_found_and_no_words_answers() -> None:
    not_found = SearchResult("x", answered=False, hits=(), abstention=Abstention.NOT_FOUND)
    no_words = SearchResult("?", answered=False, hits=(), abstention=Abstention.NO_WORDS)
    assert "/sources" in render.answer(not_found, Lang.ID, "contoh", corpus_of(1))[0]
    assert "Send /sources" in render.answer(not_found, Lang.EN, "e.g.", corpus_of(1))[0]
    assert (
        "<i>contoh &lt;x&gt;</i>" in render.answer(no_words, Lang.ID, "contoh <x>", corpus_of(1))[0]
    )


@pytest.mark.parametrize(
    ("kind", "indonesian", "english"),
    [
        (Register.THANKS, "Sama-sama", "You're welcome"),
        (Register.GREETING, "Halo! 👋", "Hello! 👋"),
        (Register.ABOUT_BOT, "Saya bot yang menjawab pertanyaan tentang 2 artikel", "about 2 news"),
        (Register.FAREWELL, "Sampai jumpa", "Goodbye"),
        (Register.APOLOGY, "Tidak apa-apa", "No problem"),
        (Register.PING, "Saya aktif", "I am here"),
        (Register.PRAISE, "Terima kasih!", "Thank you!"),
        (Register.ACK, "Siap 👍", "Alright 👍"),
        (Register.LAUGHTER, "😄", "😄"),
        (Register.REQUEST, "mau tanya apa?", "what would you like to know?"),
        (Register.ADDRESS, "mau tanya apa?", "what would you like to know?"),
    ],
)
def test_small_talk_is_answered_in_kind(kind: Register, indonesian: str, english: str) -> None:
    question = Question("x", (), frozenset(), AnswerType.WORD, (kind,))
    result = SearchResult("x", False, (), Abstention.SMALL_TALK, question)
    for lang, expected in ((Lang.ID, indonesian), (Lang.EN, english)):
        (reply,) = render.answer(result, lang, "siapa <presiden>", corpus_of(2))
        assert expected in reply
        assert parse_html(reply)
        assert "<presiden>" not in reply


def corpus_of(count: int) -> Corpus:
    return Corpus(articles(count), (), ())


def articles(count: int) -> tuple[Article, ...]:
    return tuple(
        Article(f"{i}.txt", f"Judul {i} <x>", ("Satu", "Dua"), 2, "d") for i in range(count)
    )


@pytest.mark.parametrize("lang", list(Lang))
def test_help_mentions_how_to_ask_and_examples(lang: Lang) -> None:
    html = render.help_message(articles(5), ["contoh satu", "contoh dua"], lang, "the_bot")
    assert "@the_bot" in html and "contoh satu" in html and "/sources" in html
    assert "Judul 0 &lt;x&gt;" in html and ("2 more" in html or "2 lainnya" in html)
    parse_html(html)


def test_sources_lists_every_article_within_limits() -> None:
    messages = render.sources_message(Corpus(articles(300), (), ()), Lang.ID)
    assert len(messages) > 1
    assert all(telegram_length(m) <= MessageLimit.MAX_TEXT_LENGTH for m in messages)
    assert sum(m.count("› Satu") for m in messages) == 300


def report(failure: Failure | None = None, **changes: tuple[str, ...]) -> ReloadReport:
    skipped = (
        SkippedFile("bad <1>.txt", Skip.NOT_UTF8, (0xFF, 3)),
        SkippedFile("old.txt", Skip.EMPTY),
    )
    corpus = Corpus(articles(2), (), skipped)
    snapshot = Opened(corpus, None, Source.HERE, 0.1)  # type: ignore[arg-type]
    return ReloadReport(snapshot, Changes(**changes), 0.25, failure)


def test_reload_message_reports_changes_and_skipped_files() -> None:
    (html,) = render.reload_message(report(added=("new.txt",), kept=("old.txt",)), Lang.ID)
    assert "2 artikel" in html and "0.25 detik" in html
    assert "Ditambah:\n• <code>new.txt</code>" in html
    assert "versi sebelumnya tetap dipakai:\n• <code>old.txt</code>: file kosong" in html
    assert (
        "<code>bad &lt;1&gt;.txt</code>: bukan teks UTF-8 yang sah (byte 0xff di posisi 3)" in html
    )
    assert html.count("old.txt") == 1  # not also among the skipped files
    assert "Tidak ada file yang berubah" not in html


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            Lang.ID,
            "Masih rusak, versi sebelumnya tetap dipakai:\n• <code>old.txt</code>: file kosong",
        ),
        (Lang.EN, "Still broken, previous version kept:\n• <code>old.txt</code>: empty file"),
    ],
)
def test_reload_message_with_nothing_new_says_so_once(lang: Lang, expected: str) -> None:
    (html,) = render.reload_message(report(still_kept=("old.txt",)), lang)
    assert expected in html
    assert ("No file changed." in html) is (lang is Lang.EN)
    assert ("Tidak ada file yang berubah." in html) is (lang is Lang.ID)


def test_reload_message_when_nothing_loaded() -> None:
    (html,) = render.reload_message(report(Failure.NO_ARTICLE), Lang.EN)
    assert "Reload failed: no article with a paragraph" in html
    assert "previous articles stay in service" in html
    (html,) = render.reload_message(report(Failure.NO_ARTICLE), Lang.ID)
    assert "Gagal memuat ulang: tidak ada artikel dengan paragraf" in html


def test_oversized_lists_and_titles_still_fit() -> None:
    huge = (Article("a.txt", "T " * 5000, tuple(f"Bagian {i}" for i in range(900)), 1, "d"),)
    many = tuple(f"file-{i:04}.txt" for i in range(900))
    corpus = Corpus(huge, (), tuple(SkippedFile(n, Skip.EMPTY) for n in many))
    big = ReloadReport(Opened(corpus, None, Source.HERE, 0.1), Changes(added=many), 1.0)  # type: ignore[arg-type]
    messages = [
        *render.sources_message(corpus, Lang.ID),
        *render.reload_message(big, Lang.EN),
        render.help_message(huge, ["x" * 5000], Lang.ID, "bot"),
        render.pack(["<b>" + "y" * 9000 + "</b>"])[0],
    ]
    for message in messages:
        assert telegram_length(message) <= MessageLimit.MAX_TEXT_LENGTH
        parse_html(message)


def test_articles_with_the_same_title_are_told_apart() -> None:
    same = (
        Article("a.txt", "Banjir", (), 1, "d"),
        Article("b.txt", "Banjir", (), 1, "e"),
        Article("c.txt", "Gempa", (), 1, "f"),
    )
    corpus = Corpus(same, (), ())
    (sources,) = render.sources_message(corpus, Lang.ID)
    assert "1. <b>Banjir (a.txt)</b>" in sources and "2. <b>Banjir (b.txt)</b>" in sources
    assert "3. <b>Gempa</b>" in sources
    hit = Hit(Passage("b.txt", "Banjir", None, 0, "Air naik."), 1.0, 1.0, (), (), Span(0, 9))
    (reply,) = render.answer(SearchResult("q", True, (hit,)), Lang.ID, "x", corpus)
    assert reply.startswith("<b>Banjir (b.txt)</b>")


def test_an_answer_of_long_passages_is_one_message() -> None:
    sentence = "Kapal selam <nomor> & kapal perang berlayar jauh ke laut dalam. "
    hits = [
        Hit(
            Passage(f"{n}.txt", "Armada " * 30, "Bagian " * 30, 0, sentence * 60),
            1.0,
            1.0,
            ("kapal",),
            tuple(Span(i * len(sentence), i * len(sentence) + 5) for i in range(60)),
            Span(20 * len(sentence), 21 * len(sentence)),
        )
        for n in range(3)
    ]
    (reply,) = render.answer(SearchResult("q", True, tuple(hits)), Lang.ID, "x", corpus_of(3))
    assert telegram_length(reply) <= MessageLimit.MAX_TEXT_LENGTH
    assert reply.count("<blockquote>") == 3
    assert parse_html(reply)


ROB = Article(
    "rob.md",
    "Banjir Rob",
    ("Bantuan",),
    2,
    "d",
    url="https://kabar.example/rob?a=1&b=<2>",
    date="2025-03-01",
    site="Kabar <Pesisir>",
)


@pytest.mark.parametrize(
    ("article", "lang", "line"),
    [
        (
            ROB,
            Lang.EN,
            '<a href="https://kabar.example/rob?a=1&amp;b=&lt;2&gt;">Kabar &lt;Pesisir&gt; · '
            "1 Mar 2025</a>",
        ),
        (
            Article("a.md", "T", (), 1, "d", url="https://www.kompas.com/x", date="2025-08-17"),
            Lang.ID,
            '<a href="https://www.kompas.com/x">kompas.com · 17 Agu 2025</a>',
        ),
        (Article("a.md", "T", (), 1, "d", site="Kompas"), Lang.ID, "Kompas"),
        (Article("a.md", "T", (), 1, "d", date="2025-12-01"), Lang.ID, "1 Des 2025"),
        (Article("a.md", "T", (), 1, "d", url="javascript:alert(1)"), Lang.EN, None),
        (Article("a.txt", "T", (), 1, "d"), Lang.ID, None),
        (None, Lang.ID, None),
    ],
)
def test_source_line(article: Article | None, lang: Lang, line: str | None) -> None:
    assert render.source_line(article, lang) == line
    if line:
        parse_html(line)


def test_an_answer_shows_its_articles_source_under_the_title() -> None:
    corpus = Corpus((ROB, Article("b.txt", "Gempa", (), 1, "e")), (), ())
    rob = Passage("rob.md", "Banjir Rob", "Bantuan", 1, "Dapur umum.")
    gempa = Passage("b.txt", "Gempa", None, 0, "Gempa kuat.")
    hits = tuple(Hit(p, 1.0, 1.0, (), (), Span(0, 11)) for p in (rob, gempa))
    (reply,) = render.answer(SearchResult("q", True, hits), Lang.EN, "x", corpus)
    assert reply.startswith(
        "<b>Banjir Rob</b> › <i>Bantuan</i>\n"
        '<a href="https://kabar.example/rob?a=1&amp;b=&lt;2&gt;">'
        "Kabar &lt;Pesisir&gt; · 1 Mar 2025</a>\n"
        "<blockquote>Dapur umum.</blockquote>"
    )
    assert "<b>Gempa</b>\n<blockquote>Gempa kuat.</blockquote>" in reply  # no metadata: as before
    parse_html(reply)


def test_sources_are_pages_of_at_most_ten_articles_with_their_links() -> None:
    many = tuple(
        Article(
            f"{i:02}.md", f"Judul {i}", ("Satu",), 1, "d", url=f"https://k.example/{i}", site="K"
        )
        for i in range(23)
    )
    pages = render.sources_message(Corpus(many, (), ()), Lang.ID)
    assert len(pages) == 3
    assert pages[0].startswith("📚 <b>Daftar artikel</b> (1/3)\n\n1. <b>Judul 0</b>\n")
    assert '   <a href="https://k.example/0">K</a>\n   › Satu' in pages[0]
    assert [page.count("<b>Judul") for page in pages] == [10, 10, 3]
    assert pages[2].startswith("📚 <b>Daftar artikel</b> (3/3)\n\n21. <b>Judul 20</b>")
    for page in pages:
        parse_html(page)
    (single,) = render.sources_message(Corpus(many[:2], (), ()), Lang.EN)
    assert single.startswith("📚 <b>Articles</b>\n\n1. ")  # one page: no page number


@pytest.mark.parametrize(
    ("iso", "lang", "shown"),
    [
        ("2025-03-01", Lang.EN, "1 Mar 2025"),
        ("2025-05-20", Lang.ID, "20 Mei 2025"),
        ("2025-05-20", Lang.EN, "20 May 2025"),
        ("2024-10-09", Lang.ID, "9 Okt 2024"),
        ("kemarin", Lang.ID, "kemarin"),
    ],
)
def test_format_date(iso: str, lang: Lang, shown: str) -> None:
    assert render.format_date(iso, lang) == shown


def test_every_skip_reason_has_an_indonesian_text() -> None:
    for skip in Skip:
        values: tuple[int | str, ...] = (1, 2) if "{1" in skip.value else ("x",)
        assert render.skip_reason(SkippedFile("a", skip, values), Lang.ID)


def test_inline_answers_are_the_quoted_passages_with_unique_short_ids() -> None:
    corpus = Corpus(articles(2), (), ())
    hits = tuple(
        Hit(Passage(f"{n}.txt", f"Judul {n} <x>", "Bagian", 0, "Isi <b> & kalimat. Dua."),
            1.0, 1.0, (), (), Span(0, 18))
        for n in range(2)
    )  # fmt: skip
    answers = render.inline_answers(SearchResult("q", True, hits), Lang.ID, corpus)
    assert [a.title for a in answers] == ["Judul 0 <x> › Bagian", "Judul 1 <x> › Bagian"]
    assert answers[0].description == "Isi <b> & kalimat."
    assert len({a.id for a in answers}) == 2 and all(len(a.id) <= 64 for a in answers)
    assert answers[0].text.startswith("<b>Judul 0 &lt;x&gt;</b>")
    assert all(parse_html(a.text) for a in answers)


def test_stats_message() -> None:
    summary = Summary(
        days=7,
        questions=4,
        answered=3,
        up=2,
        down=1,
        unanswered=(("harga <bensin>?", 2),),
        disliked=(("Rusia", 4, 1),),
        quoted=(("Rusia", 3),),
    )
    (html,) = render.stats_message(summary, Lang.ID)
    assert "Pertanyaan: 4, terjawab: 3 (75%)" in html and "👍 2 · 👎 1" in html
    assert "2× harga &lt;bensin&gt;?" in html and "1× Rusia (paragraf 5)" in html
    assert parse_html(html)
    (english,) = render.stats_message(Summary(7, 0, 0, 0, 0), Lang.EN)
    assert "Questions: 0, answered: 0 (–)" in english
