import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import rank_bm25

from retrieval import Analyzer, BM25Params, Variant, load_corpus
from retrieval.bm25 import BM25Matrix, Vocabulary

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def random_corpus(rng: random.Random, docs: int, vocabulary: int) -> list[list[str]]:
    words = [f"w{i}" for i in range(vocabulary)]
    # Zipf-like: early words are frequent, so some idf values go negative for Okapi.
    return [
        [
            words[min(int(rng.paretovariate(1.0)) - 1, vocabulary - 1)]
            for _ in range(rng.randint(0, 40))
        ]
        for _ in range(docs)
    ]


def reference_model(documents: list[list[str]], params: BM25Params) -> rank_bm25.BM25:
    """The rank-bm25 model whose scores the engine reproduces."""
    match params.variant:
        case Variant.OKAPI:
            return rank_bm25.BM25Okapi(documents, k1=params.k1, b=params.b)
        case Variant.PLUS:
            return rank_bm25.BM25Plus(documents, k1=params.k1, b=params.b)
        case Variant.L:
            return rank_bm25.BM25L(documents, k1=params.k1, b=params.b)


def seed_corpus() -> list[list[str]]:
    analyzer = Analyzer.default()
    return [[t.stem for t in analyzer.terms(p.text)] for p in load_corpus(SEEDS).passages]


@pytest.mark.parametrize("variant", list(Variant))
@pytest.mark.parametrize(("k1", "b"), [(1.5, 0.75), (0.8, 0.9), (2.0, 0.0)])
@pytest.mark.parametrize("size", ["seed", "small", "large"])
def test_scores_match_rank_bm25(variant: Variant, k1: float, b: float, size: str) -> None:
    rng = random.Random(f"{variant}-{k1}-{b}-{size}")
    if size == "seed":
        documents = seed_corpus()
    else:
        documents = random_corpus(rng, 12 if size == "small" else 2000, 300)
    params = BM25Params(variant, k1, b)
    matrix = BM25Matrix(documents, params)
    reference = reference_model(documents, params)
    vocabulary = [*sorted({w for d in documents for w in d}), "unknown-word"]
    for _ in range(25):
        query = [rng.choice(vocabulary) for _ in range(rng.randint(1, 8))]
        expected = reference.get_scores(query)
        np.testing.assert_allclose(matrix.scores(Counter(query)), expected, rtol=0, atol=1e-9)


def test_seed_has_negative_okapi_idf_that_parity_covers() -> None:
    # The floor for words in more than half of six passages is what makes the seed special.
    reference = reference_model(seed_corpus(), BM25Params(Variant.OKAPI))
    assert reference.idf["rusia"] == pytest.approx(reference.epsilon * reference.average_idf)


def test_contains_reports_term_presence_per_row() -> None:
    matrix = BM25Matrix([["a", "b"], ["b"], []], BM25Params())
    rows = np.array([0, 1, 2])
    assert matrix.contains(rows, "a").tolist() == [True, False, False]
    assert matrix.contains(rows, "b").tolist() == [True, True, False]
    assert matrix.contains(rows, "zzz").tolist() == [False, False, False]


def test_field_without_any_term_scores_zero() -> None:
    matrix = BM25Matrix([[], []], BM25Params())
    assert matrix.scores({"a": 1.0}).tolist() == [0.0, 0.0]


TERMS = sorted(["a", "ab", "abc", "b", "kerja sama", "ärger", "é", "日本", "🙂"])


@pytest.mark.parametrize(("term", "column"), [(t, i) for i, t in enumerate(TERMS)])
def test_vocabulary_finds_every_term_at_its_sorted_column(term: str, column: int) -> None:
    vocabulary = Vocabulary(TERMS)
    assert vocabulary.get(term) == column
    assert term in vocabulary
    assert vocabulary.term(column) == term


@pytest.mark.parametrize("term", ["", "aa", "abcd", "kerja", "c", "zzz", "\ud800", "0"])
def test_vocabulary_misses_unknown_terms_and_prefixes(term: str) -> None:
    vocabulary = Vocabulary(TERMS)
    assert vocabulary.get(term) is None
    assert term not in vocabulary


def test_vocabulary_round_trips_through_arrays_and_rejects_bad_ones() -> None:
    arrays = Vocabulary(TERMS).to_arrays("v.")
    restored = Vocabulary.from_arrays(arrays, "v.")
    assert (len(restored), restored.terms()) == (len(TERMS), TERMS)
    assert len(Vocabulary([])) == 0 and Vocabulary([]).get("a") is None
    with pytest.raises(ValueError, match="inconsistent"):
        Vocabulary.from_arrays({**arrays, "v.starts": arrays["v.starts"][:-1]}, "v.")


def test_matrix_columns_follow_the_sorted_terms() -> None:
    matrix = BM25Matrix([["zebra", "apel"], ["mangga"]], BM25Params())
    assert matrix.vocabulary.terms() == ["apel", "mangga", "zebra"]
    assert matrix.contains(np.array([0, 1]), "zebra").tolist() == [True, False]
