"""The update store: handled ids and the webhook's inbox, across a reopening."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import FILE_NAME, StoreError, UpdateStore, beside, read_store


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / FILE_NAME  # the folder is created on opening


@pytest.fixture
def store(path: Path) -> Iterator[UpdateStore]:
    opened = UpdateStore.open(path)
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("index_cache", "expected"),
    [
        (Path(".cache/index.npz"), Path(".cache/updates.sqlite3")),
        (Path("/var/lib/bot/idx.npz"), Path("/var/lib/bot/updates.sqlite3")),
        (None, None),  # no cache: the store is in memory
    ],
)
def test_the_store_lives_beside_the_index_cache(
    index_cache: Path | None, expected: Path | None
) -> None:
    assert beside(index_cache) == expected


async def test_handled_ids_survive_reopening(store: UpdateStore, path: Path) -> None:
    for update_id in (7, 8, 9):
        await store.record_handled(update_id)
    await store.record_handled(8)  # again: no harm
    store.close()
    reopened = UpdateStore.open(path)
    try:
        assert sorted(await reopened.handled_ids()) == [7, 8, 9]
    finally:
        reopened.close()
    assert read_store(path) == ({7, 8, 9}, set())


async def test_only_the_latest_handled_ids_are_kept(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.store.PRUNE_EVERY", 4)
    store = UpdateStore.open(path, remembered=5)
    try:
        for update_id in range(100, 120):
            await store.record_handled(update_id)
        assert sorted(await store.handled_ids()) == list(range(115, 120))
        assert sorted(await store.handled_ids(2)) == [118, 119]
        assert len(read_store(path)[0]) <= 5 + 4  # the table is cut back every 4
    finally:
        store.close()


async def test_the_inbox_keeps_webhook_updates_until_handled(store: UpdateStore) -> None:
    assert await store.receive(12, '{"update_id": 12}')
    assert await store.receive(11, '{"update_id": 11}')
    assert await store.receive(12, '{"update_id": 12}')  # Telegram sent it again: kept once
    assert await store.inbox() == [(11, '{"update_id": 11}'), (12, '{"update_id": 12}')]
    await store.record_handled(11)
    assert await store.inbox() == [(12, '{"update_id": 12}')]
    assert not await store.receive(11, '{"update_id": 11}')  # handled: not taken in again
    assert await store.inbox() == [(12, '{"update_id": 12}')]


async def test_without_a_path_the_store_is_in_memory() -> None:
    store = UpdateStore.open(None)
    try:
        await store.record_handled(3)
        await store.receive(4, "{}")
        assert (await store.handled_ids(), await store.inbox()) == ([3], [(4, "{}")])
    finally:
        store.close()


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / FILE_NAME
    broken.write_bytes(b"this is not an SQLite database, not at all" * 100)
    with pytest.raises(StoreError, match=f"the update store {broken} cannot be used"):
        UpdateStore.open(broken)
