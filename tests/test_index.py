import json
from pathlib import Path

import pytest

from retrieval import Abstention, Analyzer, Index, Passage, load_corpus, sentences

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    json.loads(line)
    for line in (ROOT / "tests/data/seed-questions.jsonl").read_text(encoding="utf-8").splitlines()
]


@pytest.fixture(scope="module")
def seed_index() -> Index:
    return Index(load_corpus(ROOT / "seeds").passages, Analyzer.default())


def passage(text: str, position: int = 0, heading: str | None = None) -> Passage:
    return Passage("a.txt", "Judul", heading, position, text)


@pytest.mark.parametrize(
    "case",
    [q for q in QUESTIONS if q["lang"] == "id" and q["gold"]],
    ids=lambda q: f"{q['id']}-{q['kind']}",
)
def test_seed_question_ranks_its_paragraph_first(
    seed_index: Index, case: dict[str, object]
) -> None:
    result = seed_index.search(str(case["question"]))
    assert result.answered
    gold = case["gold"]
    assert isinstance(gold, list)
    assert any(g in result.hits[0].passage.text for g in gold)


@pytest.mark.parametrize(
    "case", [q for q in QUESTIONS if not q["gold"]], ids=lambda q: f"{q['id']}-{q['question']}"
)
def test_out_of_scope_seed_question_abstains(seed_index: Index, case: dict[str, object]) -> None:
    result = seed_index.search(str(case["question"]))
    assert not result.answered
    assert result.hits == ()
    assert result.abstention in {Abstention.NOT_FOUND, Abstention.NO_WORDS}


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("dubes rusia utk indonesia siapa?", "Duta Besar Rusia untuk Indonesia"),
        ("Tolcenov menyoroti apa?", "Tolchenov menyoroti partisipasi"),
        ("apa yg disiapkan Zelensky", "Presiden Ukraina Volodymyr Zelenskyy"),
        ("sikap Moskow soal peran NATO", "Moskwa dengan tegas"),
        ("kenapa pasukan nato ditahan", "pengiriman langsung pasukan NATO masih ditahan"),
        ("PBB friends for peace pertemuan pertama", "Tolchenov menyoroti partisipasi"),
        ("JAMINAN KEAMANAN UKRAINA!!!", "Zelenskyy menegaskan"),
    ],
)
def test_informal_typo_and_abbreviated_questions(
    seed_index: Index, question: str, gold: str
) -> None:
    result = seed_index.search(question)
    assert result.answered
    assert gold in result.hits[0].passage.text


@pytest.mark.parametrize(
    ("question", "abstention"),
    [
        ("", Abstention.EMPTY),
        ("   \n\t", Abstention.EMPTY),
        ("?!.,;", Abstention.NO_WORDS),
        ("😀🙏🇮🇩", Abstention.NO_WORDS),
        ("siapa yang di mana?", Abstention.NO_WORDS),
        ("кто посол России", Abstention.NOT_FOUND),
        ("俄罗斯大使是谁", Abstention.NOT_FOUND),
        ("Berapa skor Indonesia lawan Vietnam tadi malam?", Abstention.NOT_FOUND),
        ("x" * 10_000, Abstention.NOT_FOUND),
        ("halo apa kabar semuanya " * 400, Abstention.NOT_FOUND),
    ],
)
def test_questions_without_an_answer_say_why(
    seed_index: Index, question: str, abstention: Abstention
) -> None:
    result = seed_index.search(question)
    assert (result.answered, result.hits, result.abstention) == (False, (), abstention)


def test_very_long_question_still_finds_its_passage(seed_index: Index) -> None:
    result = seed_index.search("siapa presiden ukraina? " * 400)
    assert "Volodymyr Zelenskyy" in result.hits[0].passage.text


def test_english_question_is_answered_right_or_not_at_all(seed_index: Index) -> None:
    result = seed_index.search("Who is the Russian ambassador to Indonesia?")
    assert not result.answered or "Sergei Tolchenov" in result.hits[0].passage.text


def test_exact_word_beats_a_stem_only_match() -> None:
    # Snowball stems both "menghargai" and "harga" to "harga"; the exact form must win.
    index = Index(
        [
            passage("Harga minyak dunia naik tajam pekan ini.", 0),
            passage("Rusia menghargai usaha berbagai negara pekan ini.", 1),
            passage("Cuaca cerah sepanjang hari di ibu kota.", 2),
        ],
        Analyzer.default(),
    )
    assert index.search("siapa yang menghargai usaha negara").hits[0].passage.position == 1
    assert index.search("harga minyak").hits[0].passage.position == 0


def test_title_and_heading_words_count_for_their_passages() -> None:
    index = Index(
        [
            Passage("a.txt", "Banjir Jakarta", None, 0, "Air naik setinggi satu meter."),
            Passage("b.txt", "Gempa Cianjur", "Korban", 0, "Air naik setinggi satu meter."),
            Passage("c.txt", "Pemilu", None, 0, "Suara dihitung ulang di tiga kecamatan."),
        ],
        Analyzer.default(),
    )
    assert index.search("air naik saat gempa").hits[0].passage.article == "b.txt"
    assert index.search("air naik saat banjir").hits[0].passage.article == "a.txt"


def test_ties_break_in_corpus_order() -> None:
    text = "Pasukan perdamaian tiba di perbatasan kemarin."
    others = ["Harga beras naik.", "Hujan turun deras.", "Pasar saham dibuka.", "Kereta baru tiba."]
    index = Index(
        [passage(text, i) for i in range(3)] + [passage(t, 3 + i) for i, t in enumerate(others)],
        Analyzer.default(),
    )
    result = index.search("pasukan perdamaian perbatasan", k=3)
    assert [h.passage.position for h in result.hits] == [0, 1, 2]


def test_k_limits_hits_and_weak_passages_are_left_out(seed_index: Index) -> None:
    assert len(seed_index.search("siapa presiden ukraina", k=1).hits) == 1
    ranking = seed_index.search("siapa presiden ukraina", k=6, abstain=False).hits
    shown = seed_index.search("siapa presiden ukraina", k=6).hits
    assert len(ranking) > len(shown) >= 1
    assert all(hit.confidence >= seed_index.params.min_confidence for hit in shown)


def test_hit_marks_matched_words_and_best_sentence(seed_index: Index) -> None:
    hit = seed_index.search("kenapa pengiriman pasukan nato masih ditahan").hits[0]
    text = hit.passage.text
    assert [text[s.start : s.end] for s in hit.highlights] == [
        "pengiriman",
        "pasukan",
        "NATO",
        "ditahan",
    ]
    assert set(hit.matched) == {"pengiriman", "pasukan", "nato", "ditahan"}
    assert text[hit.best.start : hit.best.end].startswith("Namun, pengiriman langsung")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Satu. Dua! Tiga?", ["Satu.", "Dua!", "Tiga?"]),
        ("Kata Dr. Bana hari ini. Lalu pulang.", ["Kata Dr. Bana hari ini.", "Lalu pulang."]),
        ("Harga Rp 5.400 turun. Selesai.", ["Harga Rp 5.400 turun.", "Selesai."]),
        ('Ia berkata, "Cukup." Lalu pergi.', ['Ia berkata, "Cukup."', "Lalu pergi."]),
        ("tanpa titik", ["tanpa titik"]),
    ],
)
def test_sentences(text: str, expected: list[str]) -> None:
    assert [text[s.start : s.end] for s in sentences(text)] == expected


def test_empty_passage_list_is_rejected() -> None:
    with pytest.raises(ValueError, match="empty corpus"):
        Index([], Analyzer.default())
