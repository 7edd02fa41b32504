import pytest

from retrieval.answers import AnswerType, AnswerTypes
from retrieval.text import Analyzer

DATE, NUMBER, WORD = AnswerType.DATE, AnswerType.NUMBER, AnswerType.WORD


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer.default()


@pytest.fixture(scope="module")
def answer_types(analyzer: Analyzer) -> AnswerTypes:
    return AnswerTypes.default(analyzer)


@pytest.mark.parametrize(
    ("question", "expected", "phrase"),
    [
        ("Kapan invasi dimulai?", DATE, "kapan"),
        ("Kapankah Harold Pinter dilahirkan?", DATE, "kapankah"),
        ("Sejak kapan harga BBM naik?", DATE, "sejak kapan"),
        ("Tanggal berapa gempa kedua terjadi?", DATE, "tanggal berapa"),
        ("Pada tahun berapakah Jepang menyerah?", DATE, "tahun berapakah"),
        ("Bulan apa festival itu dibuka?", DATE, "bulan apa"),
        ("TAHUN BERAPA kota itu lahir", DATE, "tahun berapa"),
        ("kpn invasi mulai", DATE, "kapan"),  # chat spellings of the phrase
        ("thn brp kota itu lahir", DATE, "tahun berapa"),
        ("Berapa tahun konflik itu berlangsung?", NUMBER, "berapa"),
        ("Berapa lama konflik itu berlangsung?", NUMBER, "berapa lama"),
        ("Berapakah jumlah korban banjir?", NUMBER, "berapakah"),
        ("berapa persenkah kenaikannya", NUMBER, "berapa"),
        ("tolcenov bilang apa", WORD, "kata apa"),
        ("Siapa presiden Ukraina?", WORD, ""),
        ("Di negara manakah Cancun?", WORD, ""),
        ("Apa nama bandara di Yogyakarta?", WORD, ""),
        ("Zelensky", WORD, ""),
        ("", WORD, ""),
    ],
)
def test_question_phrases_say_what_kind_of_answer_is_wanted(
    analyzer: Analyzer, answer_types: AnswerTypes, question: str, expected: AnswerType, phrase: str
) -> None:
    words = [word.text for word in analyzer.words(question)]
    kind, where = answer_types.find(words)
    assert kind is expected
    assert " ".join(words[where.start : where.stop]) == phrase


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
