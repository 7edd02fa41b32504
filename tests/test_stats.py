import asyncio
import logging
import sqlite3
import time
from pathlib import Path

import pytest

from bot.stats import DAY, Asked, StatsStore, Summary, Vote, new_answer_id, voter_key

KEY = b"k" * 32
USER = 5550123


def asked(question: str, answered: bool, at: float | None = None, **values: object) -> Asked:
    return Asked(
        answer=new_answer_id(),
        at=time.time() if at is None else at,
        chat_type="private",
        question=question,
        answered=answered,
        **values,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(tmp_path: Path) -> StatsStore:
    return StatsStore(tmp_path / "stats.sqlite3", KEY)


async def test_summary_counts_questions_votes_and_the_unanswered(store: StatsStore) -> None:
    zelensky = asked("siapa presiden ukraina", True, file="a.txt", title="Rusia", position=5)
    store.record(zelensky)
    store.record(asked("siapa presiden ukraina", True, file="a.txt", title="Rusia", position=5))
    store.record(asked("Harga bensin?", False))
    store.record(asked("harga bensin?", False))
    store.record(asked("resep nasi goreng", False))
    store.vote(zelensky.answer, USER, Vote.UP)
    store.vote(zelensky.answer, USER + 1, Vote.DOWN)
    summary = await store.summary()
    assert summary == Summary(
        days=7,
        questions=5,
        answered=2,
        up=1,
        down=1,
        unanswered=(("harga bensin?", 2), ("resep nasi goreng", 1)),
        disliked=(("Rusia", 5, 1),),
        quoted=(("Rusia", 2),),
    )


async def test_pressing_again_changes_the_vote_rather_than_adding_one(store: StatsStore) -> None:
    answer = asked("siapa presiden ukraina", True, file="a.txt", title="Rusia", position=5)
    store.record(answer)
    store.vote(answer.answer, USER, Vote.UP)
    await store.flush()
    store.vote(answer.answer, USER, Vote.DOWN)
    summary = await store.summary()
    assert summary is not None and (summary.up, summary.down) == (0, 1)


async def test_no_user_id_name_or_chat_id_is_written(store: StatsStore) -> None:
    answer = asked("siapa presiden ukraina", True, file="a.txt", title="Rusia", position=5)
    store.record(answer)
    store.vote(answer.answer, USER, Vote.UP)
    await store.flush()
    with sqlite3.connect(store.path) as db:
        (voter,) = db.execute("SELECT voter FROM votes").fetchone()
        dump = "\n".join(db.iterdump())
    assert voter == voter_key(KEY, answer.answer, USER)
    assert str(USER) not in dump and str(USER) not in store.path.read_bytes().decode("latin-1")
    # The same person on another answer is another voter: votes cannot be linked.
    assert voter_key(KEY, "another", USER) != voter


async def test_rows_past_the_retention_are_deleted_with_their_votes(tmp_path: Path) -> None:
    store = StatsStore(tmp_path / "stats.sqlite3", KEY, retention_days=30)
    old = asked("pertanyaan lama", True, at=time.time() - 31 * DAY, file="a.txt", position=0)
    store.record(old)
    store.vote(old.answer, USER, Vote.UP)
    store.record(asked("pertanyaan baru", True))
    await store.flush()  # the first flush also sweeps
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT question FROM questions").fetchall() == [("pertanyaan baru",)]
        assert db.execute("SELECT COUNT(*) FROM votes").fetchone() == (0,)


async def test_unanswered_questions_as_csv(store: StatsStore) -> None:
    store.record(asked("siapa presiden ukraina", True))
    store.record(asked('harga "bensin", hari ini', False))
    data = await store.unanswered_csv()
    assert data is not None
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == "time (UTC),chat,question"
    assert lines[1].endswith(',private,"harga ""bensin"", hari ini"')
    assert len(lines) == 2


async def test_a_broken_database_costs_the_statistics_never_an_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "stats.sqlite3"
    path.write_bytes(b"not a database at all")
    path.chmod(0o444)
    store = StatsStore(path, KEY)
    for _ in range(3):
        store.record(asked("siapa presiden ukraina", True))
        await store.flush()
    assert await store.summary() is None
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "answers go on" in errors[0]


async def test_writes_wait_in_memory_and_go_together_a_moment_later(
    store: StatsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.stats.FLUSH_SECONDS", 0.05)
    store.record(asked("siapa presiden ukraina", True))
    store.record(asked("kapan invasi dimulai", True))
    assert not store.path.exists()  # nothing was written on the caller's time
    for _ in range(500):  # up to 10 s
        if store.path.exists():
            break
        await asyncio.sleep(0.02)
    summary = await store.summary()
    assert summary is not None and summary.questions == 2


async def test_close_writes_what_is_queued(store: StatsStore) -> None:
    store.record(asked("siapa presiden ukraina", True))
    await store.close()
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM questions").fetchone() == (1,)
