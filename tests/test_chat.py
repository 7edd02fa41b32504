import pytest

from retrieval import Analyzer, Register
from retrieval.answers import AnswerType, AnswerTypes
from retrieval.chat import Mark, QuestionReader, RegisterWords, Scope


@pytest.fixture(scope="module")
def reader() -> QuestionReader:
    analyzer = Analyzer.default()
    return QuestionReader.default(analyzer, AnswerTypes.default(analyzer))


@pytest.mark.parametrize(
    ("message", "cleaned"),
    [
        ("siapa presiden https://kompas.com/read/2025/1/2/x ukraina", "siapa presiden\nukraina"),
        ("Siapa dubes rusia? baca di https://contoh.co.id/a/987", "Siapa dubes rusia?"),
        ("Siapa dubes rusia? Sumber: www.detik.com/berita/1", "Siapa dubes rusia?"),
        ("kapan invasi dimulai t.me/beritaku/123", "kapan invasi dimulai"),
        ("kapan invasi dimulai (via bit.ly/abc)", "kapan invasi dimulai (\n)"),
        ("cek kompas.com deh, siapa presiden", "deh, siapa presiden"),
        ("@budi_s @tanya_bot siapa presiden", "siapa presiden"),
        ("email budi@mail.com", "email budi@mail.com"),  # not a mention: no space before @
        ("siapa 😀🇮🇩 presiden 👍🏽 ukraina 👨\u200d👩\u200d👧", "siapa presiden ukraina"),
        ("suhu 25° dan © 2024", "suhu 25° dan © 2024"),  # older symbols are not emoji
        ("siapa presiden ukraina???!!!", "siapa presiden ukraina?"),
        ("kenapa..... nato ditahan,,,", "kenapa. nato ditahan,"),
        ("halo kak\n\n  siapa   presiden\r\nukraina", "halo kak\nsiapa presiden\nukraina"),
        ("harga Rp 5.400 naik", "harga Rp 5.400 naik"),
        (
            "siapa presiden https://x.co.id/a?b=1, kapan dilantik?",
            "siapa presiden\n, kapan dilantik?",
        ),
        ("", ""),
    ],
)
def test_cleaning(reader: QuestionReader, message: str, cleaned: str) -> None:
    assert reader.clean(message) == cleaned


@pytest.mark.parametrize(
    ("message", "text", "terms", "register"),
    [
        # register around a question never counts as what it asks about
        (
            "halo kak, siapa presiden ukraina?",
            "siapa presiden ukraina?",
            ["presiden", "ukraina"],
            [Register.GREETING, Register.ADDRESS],
        ),
        ("Assalamualaikum, mau nanya dong gan: siapa presiden ukraina", None, None, None),
        ("siapa presiden ukraina sih kak", "siapa presiden ukraina", ["presiden", "ukraina"], None),
        ("siapa presiden ukraina ya? makasiiih 🙏🙏", None, ["presiden", "ukraina"], None),
        (
            "Permisi pak, tolong dijawab: siapa presiden ukraina",
            None,
            ["presiden", "ukraina"],
            None,
        ),
        ("presiden ukraina siapa wkwkwk", None, ["presiden", "ukraina"], [Register.LAUGHTER]),
        ("hai bot, siapa presiden ukraina", None, ["presiden", "ukraina"], None),
        (
            "thanks in advance! who is the president of ukraine",
            None,
            ["president", "ukraina"],
            None,
        ),
        ("pagi, siapa presiden ukraina", None, ["presiden", "ukraina"], [Register.GREETING]),
        # ... but words that are often content stay when nothing else is register
        ("Ibu kota Rusia apa?", "Ibu kota Rusia apa?", ["ibu", "kota", "rusia"], []),
        ("Pagi ini harga bensin naik?", None, ["pagi", "harga", "bensin", "naik"], []),
        ("Bagaimana cara pakai vaksin?", None, ["cara", "pakai", "vaksin"], []),
        ("Siapa pemain terbaik musim ini?", None, ["pemain", "terbaik", "musim"], []),
        ("Siapa yang hadir di pertemuan?", None, ["hadir", "pertemuan"], []),
        (
            "Selamat pagi, ibu kota Rusia apa?",
            "ibu kota Rusia apa?",
            ["ibu", "kota", "rusia"],
            None,
        ),
        ("berapa orang yang selamat", None, ["orang", "selamat"], []),
        ("Kepada siapa Jokowi mengucapkan terima kasih?", None, ["jokowi", "mengucapkan"], None),
    ],
)
def test_register_around_a_question_is_set_apart(
    reader: QuestionReader,
    message: str,
    text: str | None,
    terms: list[str] | None,
    register: list[Register] | None,
) -> None:
    question = reader.read(message)
    assert question.small_talk is None
    if text is not None:
        assert question.text == text
    if terms is not None:
        assert [t.surface for t in question.terms] == terms
    if register is not None:
        assert sorted(question.register) == sorted(register)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("halo", Register.GREETING),
        ("Haloooo kak 👋", Register.GREETING),
        ("selamat malam semuanya", Register.GREETING),
        ("assalamualaikum wr wb", Register.GREETING),
        ("gimana kabarnya?", Register.GREETING),
        ("good morning!", Register.GREETING),
        ("makasih ya kak 🙏", Register.THANKS),
        ("terima kasih banyak atas infonya", Register.THANKS),
        ("thx bro", Register.THANKS),
        ("oke makasih", Register.THANKS),
        ("dadah", Register.FAREWELL),
        ("sampai jumpa lagi ya", Register.FAREWELL),
        ("maaf ganggu", Register.APOLOGY),
        ("mantul gan", Register.PRAISE),
        ("keren banget!!!", Register.PRAISE),
        ("sip, noted", Register.ACK),
        ("wkwkwkwk", Register.LAUGHTER),
        ("awokawokawok 😂", Register.LAUGHTER),
        ("tes tes", Register.PING),
        ("P", Register.PING),
        ("kamu siapa sih?", Register.ABOUT_BOT),
        ("halo, kamu bisa apa aja?", Register.ABOUT_BOT),
        ("who are you?", Register.ABOUT_BOT),
        ("permisi", Register.REQUEST),
        ("mau nanya dong", Register.REQUEST),
        ("min?", Register.ADDRESS),
        ("Siapa duta besar Rusia? thanks", None),  # a question wrapped in small talk
        ("😀😀😀", None),  # nothing at all: not small talk either
        ("siapa yang di mana?", None),
    ],
)
def test_small_talk(reader: QuestionReader, message: str, kind: Register | None) -> None:
    assert reader.read(message).small_talk is kind


@pytest.mark.parametrize(
    ("message", "answer_type", "terms", "optional"),
    [
        (
            "tahun berapa invasi dimulai?",
            AnswerType.DATE,
            ["tahun", "invasi", "dimulai"],
            ["tahun"],
        ),
        ("thn brp invasi dimulai?", AnswerType.DATE, ["tahun", "invasi", "dimulai"], ["tahun"]),
        (
            "berapa lama perang berlangsung",
            AnswerType.NUMBER,
            ["lama", "perang", "berlangsung"],
            ["lama"],
        ),
        ("kpn invasi mulai?", AnswerType.DATE, ["invasi", "mulai"], []),
        ("tolcenov bilang apa?", AnswerType.WORD, ["tolcenov", "kata"], ["kata"]),
        ("siapa presiden ukraina", AnswerType.WORD, ["presiden", "ukraina"], []),
    ],
)
def test_question_phrase_sets_the_answer_type_and_is_optional(
    reader: QuestionReader,
    message: str,
    answer_type: AnswerType,
    terms: list[str],
    optional: list[str],
) -> None:
    question = reader.read(message)
    assert question.answer_type is answer_type
    assert [t.surface for t in question.terms] == terms
    assert [question.terms[i].surface for i in sorted(question.optional)] == optional


def test_a_question_phrase_alone_asks_nothing(reader: QuestionReader) -> None:
    question = reader.read("tahun berapa?")
    assert not question.asks
    assert question.small_talk is None


def test_where_scopes_apply() -> None:
    analyzer = Analyzer.default()
    marks = {
        "oi": Mark(Register.GREETING, Scope.EDGE),
        "om": Mark(Register.ADDRESS, Scope.BESIDE),
        "lho": Mark(Register.PARTICLE, Scope.ANYWHERE),
    }
    words = RegisterWords.build(marks.items(), analyzer)
    reader = QuestionReader(analyzer, AnswerTypes.default(analyzer), words)

    def surfaces(message: str) -> list[str]:
        return [t.surface for t in reader.read(message).terms]

    assert surfaces("oi gempa cianjur") == ["gempa", "cianjur"]  # edge: at the start
    assert surfaces("gempa oi cianjur") == ["gempa", "oi", "cianjur"]  # ... not inside
    assert surfaces("gempa lho cianjur") == ["gempa", "cianjur"]  # anywhere
    assert surfaces("om gempa cianjur") == ["om", "gempa", "cianjur"]  # beside, alone
    assert surfaces("oi om gempa cianjur") == ["gempa", "cianjur"]  # beside an edge word
    assert surfaces("om, gempa cianjur") == ["gempa", "cianjur"]  # a clause of its own


@pytest.mark.parametrize(
    ("message", "english"),
    [
        ("Who is the Russian ambassador in Jakarta?", True),
        ("Why does Russia reject NATO?", True),
        ("How much does petrol cost today?", True),
        ("halo, when did the invasion start? thanks", True),
        ("What's the NATO plan?", True),
        ("Recommend a good movie", True),
        ("NATO and Zelensky", False),  # one function word: not enough to tell
        ("siapa presiden ukraina", False),
        ("Siapa pengarang buku The Clash of Civilizations?", False),  # its question word
        ("apa itu Friends for Peace", False),
        ("Zelensky NATO Ukraine", False),  # names say nothing either way
    ],
)
def test_english_questions_are_told_by_their_function_words(
    reader: QuestionReader, message: str, english: bool
) -> None:
    assert reader.read(message).english is english
