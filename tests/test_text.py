import pytest

from retrieval.text import Analyzer, formal_form, normalize, split_reduplication


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer.default()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("NATO", "nato"),
        ("Ｚｅｌｅｎｓｋｙｙ", "zelenskyy"),  # full-width letters (NFKC)
        ("Ukr\u200baina", "ukraina"),  # zero-width space
        ("Jum\u2019at", "jumat"),  # apostrophe inside a word
        ("negara\u2011negara", "negara-negara"),  # non-breaking hyphen
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # case folding, not lower()
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("negara-negara", ["negara"]),
        ("mitra-mitra", ["mitra"]),
        ("anak-anaknya", ["anak"]),
        ("berkali-kali", ["berkali"]),
        ("negara2", ["negara"]),
        ("negaranegara", ["negara"]),  # typed without the hyphen
        ("cincin", ["cincin"]),  # a word, not a reduplication
        ("rusia-ukraina", ["rusia", "ukraina"]),
        ("covid-19", ["covid", "19"]),
        ("perdamaian", ["perdamaian"]),
    ],
)
def test_split_reduplication(word: str, parts: list[str]) -> None:
    assert split_reduplication(word) == parts


@pytest.mark.parametrize(
    ("text", "surfaces"),
    [
        ("Siapa dubes Rusia utk Indonesia?", ["duta", "besar", "rusia", "indonesia"]),
        ("kemlu RI", ["kementerian", "luar", "negeri", "republik", "indonesia"]),
        ("yg ga dtg krn hujan", ["dtg", "hujan"]),
        ("Apa yang sedang disusun oleh Zelenskyy?", ["disusun", "zelenskyy"]),
        ("Who is the Russian ambassador?", ["russian", "ambassador"]),
        ("17 negara pada 2024", ["17", "negara", "2024"]),
        ("😀 🇮🇩 !!! ???", []),
        ("", []),
        ("a b c", []),
    ],
)
def test_terms_drop_stop_words_and_expand_slang(
    analyzer: Analyzer, text: str, surfaces: list[str]
) -> None:
    assert [t.surface for t in analyzer.terms(text)] == surfaces


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("menghargai", "harga"),
        ("diinisiasi", "inisiasi"),
        ("menginisiasi", "inisiasi"),
        ("beranggotakan", "anggota"),
        ("kehadiran", "hadir"),
        ("2022", "2022"),
    ],
)
def test_stems(analyzer: Analyzer, word: str, stem: str) -> None:
    assert analyzer.stem(word) == stem


def test_term_spans_point_into_the_original_text(analyzer: Analyzer) -> None:
    text = "Negara-negara Barat, kata Dubes."
    spans = [(text[t.start : t.end], t.surface) for t in analyzer.terms(text)]
    assert spans == [
        ("Negara-negara", "negara"),
        ("Barat", "barat"),
        ("kata", "kata"),
        ("Dubes", "duta"),
        ("Dubes", "besar"),
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # chat abbreviations of question and function words
        ("kpn brp sapa gmn knp", ["kapan", "berapa", "siapa", "bagaimana", "kenapa"]),
        ("udah aja gak ga nggak", ["sudah", "saja", "tidak", "tidak", "tidak"]),
        (
            "thn tgl blm ttg dg jd sm org",
            [
                "tahun",
                "tanggal",
                "belum",
                "tentang",
                "dengan",
                "jadi",
                "sama",
                "orang",
            ],
        ),
        # colloquial verbs, on both sides of a match
        ("bilang ngomong kasih nanya", ["kata", "bicara", "beri", "tanya"]),
        # numbers with thousands separators are one number
        (
            "Rp 5.400 dan 1.000.000, pukul 10.00",
            ["rp", "5400", "dan", "1000000", "pukul", "10", "00"],
        ),
    ],
)
def test_words_expand_chat_spellings(analyzer: Analyzer, text: str, words: list[str]) -> None:
    assert [w.text for w in analyzer.words(text)] == words


@pytest.mark.parametrize(
    ("word", "formal"),
    [
        ("ngirim", "mengirim"),
        ("nolak", "menolak"),
        ("nyerang", "menyerang"),
        ("nulis", "menulis"),
        ("mukul", "memukul"),
        ("ngambil", "mengambil"),
        ("kirimin", "kirimkan"),
        ("ngirimin", "mengirimkan"),
        ("nyiapin", "menyiapkan"),
        ("ngebantu", "bantu"),
        ("ngejelasin", "jelaskan"),
        # words that only look colloquial stay as they are
        ("negara", "negara"),
        ("nama", "nama"),
        ("makan", "makan"),
        ("masukan", "masukan"),
        ("makin", "makin"),
        ("lenin", "lenin"),
        ("putin", "putin"),
        ("ingin", "ingin"),
        ("nato", "nato"),
        ("menolak", "menolak"),
    ],
)
def test_colloquial_verb_forms_read_as_formal(word: str, formal: str) -> None:
    assert formal_form(word) == formal


def test_a_colloquial_form_meets_its_formal_word(analyzer: Analyzer) -> None:
    asked = {t.stem for t in analyzer.terms("siapa yg nolak ngirim pasukan")}
    written = {t.stem for t in analyzer.terms("Rusia menolak mengirimkan pasukan")}
    assert asked <= written
