import pytest

from retrieval.answers import AnswerType, AnswerTypes

DATE, NUMBER, WORD = AnswerType.DATE, AnswerType.NUMBER, AnswerType.WORD


@pytest.fixture(scope="module")
def answer_types() -> AnswerTypes:
    return AnswerTypes.default()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Kapan invasi dimulai?", DATE),
        ("Kapankah Harold Pinter dilahirkan?", DATE),
        ("Sejak kapan harga BBM naik?", DATE),
        ("Tanggal berapa gempa kedua terjadi?", DATE),
        ("Pada tahun berapakah Jepang menyerah?", DATE),
        ("Bulan apa festival itu dibuka?", DATE),
        ("TAHUN BERAPA kota itu lahir", DATE),
        ("Berapa tahun konflik itu berlangsung?", NUMBER),
        ("Berapakah jumlah korban banjir?", NUMBER),
        ("berapa persenkah kenaikannya", NUMBER),
        ("Siapa presiden Ukraina?", WORD),
        ("Di negara manakah Cancun?", WORD),
        ("Apa nama bandara di Yogyakarta?", WORD),
        ("Zelensky", WORD),
        ("", WORD),
    ],
)
def test_question_words_say_what_kind_of_answer_is_wanted(
    answer_types: AnswerTypes, question: str, expected: AnswerType
) -> None:
    assert answer_types.expected(question) is expected


@pytest.mark.parametrize(
    ("kind", "word", "answers"),
    [
        (DATE, "agustus", True),
        (DATE, "nopember", True),
        (DATE, "senin", True),
        (DATE, "2005", True),
        (DATE, "1945", True),
        (DATE, "309", False),
        (DATE, "jakarta", False),
        (NUMBER, "309", True),
        (NUMBER, "2005", True),
        (NUMBER, "tiga", True),
        (NUMBER, "juta", True),
        (NUMBER, "agustus", False),
        (NUMBER, "pasukan", False),
        (WORD, "pasukan", True),
        (WORD, "2005", True),
    ],
)
def test_words_that_can_answer_each_kind(
    answer_types: AnswerTypes, kind: AnswerType, word: str, answers: bool
) -> None:
    assert answer_types.can_answer(kind, word) is answers
