from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from bot.library import Changes, Failure, Library, diff_articles
from retrieval import Corpus, Index, IndexConfig, load_corpus
from retrieval.cache import VectorJob
from retrieval.cache import prepare as real_prepare
from tests.conftest import hold_rebuilds


def write(directory: Path, name: str, body: str | bytes) -> None:
    path = directory / name
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body, encoding="utf-8")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write(tmp_path, "a.txt", "Banjir\n\nBanjir melanda Jakarta pada Senin pagi.\n")
    write(tmp_path, "b.txt", "Gempa\n\nGempa mengguncang Cianjur kemarin sore.\n")
    return tmp_path


def test_diff_articles(corpus: Path) -> None:
    before = load_corpus(corpus)
    write(corpus, "b.txt", "Gempa\n\nGempa besar mengguncang Cianjur.\n")
    write(corpus, "c.txt", "Pemilu\n\nSuara dihitung ulang.\n")
    (corpus / "a.txt").unlink()
    assert diff_articles(before, load_corpus(corpus)) == Changes(
        added=("c.txt",), removed=("a.txt",), changed=("b.txt",)
    )


async def test_broken_file_keeps_its_previous_version(
    corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = Library.open(corpus)
    write(corpus, "a.txt", b"Banjir\n\n\xff broken \xfe\n")
    with caplog.at_level(logging.INFO, "bot.library"):
        report = await library.reload()
    assert report.failure is None and 0 <= report.seconds < 60
    (line,) = [r.getMessage() for r in caplog.records if r.name == "bot.library"]
    assert re.fullmatch(r"reloaded 2 articles, 2 passages in \d+\.\d\d s "
                        r"\(build peak memory \d+ MB\)", line)  # fmt: skip
    assert report.changes.kept == ("a.txt",)
    assert [a.name for a in report.snapshot.corpus.articles] == ["a.txt", "b.txt"]
    assert (await library.search("banjir jakarta", 1)).answered


async def test_nothing_usable_keeps_the_old_snapshot(
    corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = Library.open(corpus)
    old = library.snapshot
    for path in corpus.iterdir():
        path.unlink()
    report = await library.reload()
    assert report.failure is Failure.NO_ARTICLE
    assert 0 <= report.seconds < 60
    assert library.snapshot is old
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"reload failed, keeping the old corpus: no article with a paragraph in {corpus}"
    ]


async def test_a_directory_gone_keeps_the_old_snapshot_and_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    write(folder, "a.txt", "Banjir\n\nBanjir melanda Jakarta pada Senin pagi.\n")
    library = Library.open(folder)
    old = library.snapshot
    (folder / "a.txt").unlink()
    folder.rmdir()
    report = await library.reload()
    assert report.failure is Failure.NO_DIRECTORY  # not "no article": the folder is gone
    assert library.snapshot is old


async def test_search_gives_at_most_k_hits(tmp_path: Path) -> None:
    for name in "abcd":
        write(tmp_path, f"{name}.txt", f"Banjir {name}\n\nBanjir melanda kota {name} lagi.\n")
    library = Library.open(tmp_path)
    assert [len((await library.search("banjir melanda", k)).hits) for k in (1, 2)] == [1, 2]


async def test_concurrent_reloads_run_one_after_the_other(corpus: Path) -> None:
    library = Library.open(corpus)
    write(corpus, "c.txt", "Pemilu\n\nSuara dihitung ulang di tiga kecamatan.\n")
    first, second = await asyncio.gather(library.reload(), library.reload())
    assert first.changes.added == ("c.txt",)
    assert second.changes == Changes()  # it saw the first reload's result
    assert len(library.snapshot.corpus.articles) == 3


async def test_searches_during_a_reload_are_answered_at_once_from_the_old_index(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = Library.open(corpus)
    building, gate = hold_rebuilds(monkeypatch)
    write(corpus, "a.txt", "Banjir\n\nBanjir melanda Bekasi pada Selasa malam.\n")
    reload = asyncio.create_task(library.reload())
    try:
        assert await asyncio.to_thread(building.wait, 10)
        during = await asyncio.wait_for(library.search("banjir melanda", 1), 1.0)
    finally:
        gate.set()  # the reload may finish now
        report = await asyncio.wait_for(reload, 60)
    assert "Jakarta" in during.hits[0].passage.text
    assert report.changes.changed == ("a.txt",)
    assert "Bekasi" in (await library.search("banjir melanda", 1)).hits[0].passage.text


async def test_reload_builds_the_index_in_another_process(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = Library.open(corpus)

    def no_build_here(*args: object) -> None:
        raise AssertionError("the serving process built an index")

    monkeypatch.setattr(Index, "__init__", no_build_here)
    write(corpus, "c.txt", "Pemilu\n\nSuara dihitung ulang di tiga kecamatan.\n")
    report = await library.reload()
    assert report.failure is None and report.changes.added == ("c.txt",)
    assert report.snapshot.builder_peak_mb is not None and report.snapshot.builder_peak_mb > 0
    assert (await library.search("suara dihitung ulang", 1)).answered


async def test_a_failing_build_keeps_the_old_snapshot(corpus: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    write(tmp_path, blocker.name, "x")
    library = Library.open(corpus, blocker / "index.npz")
    old = library.snapshot
    report = await library.reload()
    assert report.failure is Failure.BUILD
    assert library.snapshot is old


def test_start_up_builds_in_another_process_then_reads_the_cache(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache" / "index.npz"
    monkeypatch.setattr(Index, "__init__", lambda *args: pytest.fail("built in this process"))
    first = Library.open(corpus, cache).snapshot
    assert (first.from_cache, first.builder_peak_mb is not None) == (False, True)
    second = Library.open(corpus, cache).snapshot
    assert (second.from_cache, second.builder_peak_mb) == (True, None)
    assert second.corpus == first.corpus


async def test_the_reload_report_names_each_file_once_with_what_happened(corpus: Path) -> None:
    write(corpus, "c.txt", "Pemilu\n\nSuara dihitung ulang di tiga kecamatan.\n")
    library = Library.open(corpus)
    (corpus / "b.txt").unlink()
    write(corpus, "a.txt", "Banjir\n\nBanjir melanda Jakarta. Café".encode("latin-1"))
    write(corpus, "c.txt", "Pemilu\n\nSuara dihitung ulang di empat kecamatan.\n")
    write(corpus, "d.txt", "Judul saja\n")
    first = await library.reload()
    assert first.changes == Changes(removed=("b.txt",), changed=("c.txt",), kept=("a.txt",))
    second = await library.reload()  # nothing changed since
    assert second.changes == Changes(still_kept=("a.txt",))
    assert not second.changes.any
    write(corpus, "a.txt", "Banjir\n\nBanjir surut pada Selasa.\n")
    third = await library.reload()
    assert third.changes == Changes(changed=("a.txt",))
    assert [s.name for s in third.snapshot.corpus.skipped] == ["d.txt"]


def prepare_and_report_niceness(
    directory: Path,
    config: IndexConfig,
    cache_file: Path,
    previous: Corpus | None,
    vectors: bool = False,
) -> tuple[str, float]:
    """In the reload's build process instead of `prepare`: the real one, then its niceness."""
    result = real_prepare(directory, config, cache_file, previous, vectors)
    cache_file.with_name("niceness").write_text(str(os.nice(0)), encoding="utf-8")
    return result


async def test_reload_builds_at_a_lower_cpu_priority(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = os.nice(0)
    if ours >= 19:
        pytest.skip("already at the lowest priority: a lower one cannot be told apart")
    cache = tmp_path / "cache" / "index.npz"
    library = Library.open(corpus, cache)
    monkeypatch.setattr("retrieval.cache.prepare", prepare_and_report_niceness)
    write(corpus, "c.txt", "Pemilu\n\nSuara dihitung ulang di tiga kecamatan.\n")
    report = await library.reload()
    assert report.failure is None and report.changes.added == ("c.txt",)
    assert int(cache.with_name("niceness").read_text(encoding="utf-8")) == min(ours + 10, 19)


class HeldJob(VectorJob):
    """A vector job whose end is not seen until the test lets it go."""

    release = threading.Event()
    jobs: ClassVar[list[HeldJob]] = []

    def __init__(self, cache_file: Path, key: str) -> None:
        super().__init__(cache_file, key)
        HeldJob.jobs.append(self)

    def wait(self) -> bool:
        while not (HeldJob.release.wait(0.05) or self.stopped):
            pass
        return super().wait()


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[HeldJob]]:
    HeldJob.release.clear()
    HeldJob.jobs.clear()
    monkeypatch.setattr("bot.library.VectorJob", HeldJob)
    yield HeldJob
    HeldJob.release.set()


async def hybrid(library: Library) -> Index:
    for _ in range(600):
        if (index := library.snapshot.index).dense is not None:
            return index
        await asyncio.sleep(0.05)
    raise AssertionError("the passage vectors never came")


ENGLISH = "What was flooded on Monday morning?"


async def test_bm25_answers_alone_until_the_vectors_are_ready(
    corpus: Path, tmp_path: Path, held: type[HeldJob]
) -> None:
    library = Library.open(corpus, tmp_path / "cache" / "index.npz", semantic=True)
    assert library.snapshot.index.dense is None
    assert (await library.search("gempa cianjur", 1)).answered
    assert not (await library.search(ENGLISH, 1)).answered  # no word of it matches
    held.release.set()
    await hybrid(library)
    english = await library.search(ENGLISH, 1)
    assert english.answered and english.hits[0].passage.file == "a.txt"
    warm = Library.open(corpus, tmp_path / "cache" / "index.npz", semantic=True)
    assert warm.snapshot.index.dense is not None  # both at once from the cache
    assert len(held.jobs) == 1


async def test_a_reload_stops_the_encoding_and_encodes_only_what_changed(
    corpus: Path, held: type[HeldJob]
) -> None:
    library = Library.open(corpus, semantic=True)  # a temporary cache hands the vectors over
    write(corpus, "c.txt", "Pemilu\n\nSuara dihitung ulang di tiga kecamatan.\n")
    report = await library.reload()
    assert report.changes.added == ("c.txt",)
    first, second = held.jobs
    assert first.stopped and not second.stopped
    assert library.snapshot.vectors_missing == 3  # nothing was saved by the stopped job
    held.release.set()
    index = await hybrid(library)
    assert len(index.passages) == 3
    write(corpus, "c.txt", "Pemilu\n\nSuara dihitung ulang di empat kecamatan.\n")
    await library.reload()
    assert library.snapshot.vectors_missing == 1  # the others are reused by their text
    await hybrid(library)


async def test_closing_stops_the_encoding_without_a_warning(
    corpus: Path, tmp_path: Path, held: type[HeldJob], caplog: pytest.LogCaptureFixture
) -> None:
    library = Library.open(corpus, tmp_path / "index.npz", semantic=True)
    (job,) = held.jobs
    started = job.running
    library.close()
    assert started and job.stopped and not job.running
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


async def test_semantic_off_serves_bm25_alone(corpus: Path, tmp_path: Path) -> None:
    library = Library.open(corpus, tmp_path / "index.npz", semantic=False)
    assert (library.encoder, library.snapshot.index.dense, library.snapshot.vectors) == (
        None,
        None,
        None,
    )
