"""The test harness itself: a test that fails, or holds the bot forever, cannot hang the run.

The confirmation scenario once did: with the confirmation of updates broken the test failed,
the update it held was never released, the `bot` fixture waited forever to stop the bot, and
pytest-timeout had already let go of the failed test (see `tests/teardown_watchdog.py`).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from retrieval import SearchResult
from testkit.telegram_server import FakeTelegram
from tests.conftest import ROOT, running_bot

# Processes and the real Application over HTTP: `make quick` leaves these out.
pytestmark = pytest.mark.slow


def run_pytest(cwd: Path, *args: str, pythonpath: str, limit: float) -> tuple[str, float, int]:
    """Run pytest in a subprocess; its output, its duration and its exit status."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd, env={**os.environ, "PYTHONPATH": pythonpath},
        capture_output=True, text=True, timeout=limit, check=False,
    )  # fmt: skip
    return done.stdout + done.stderr, time.monotonic() - started, done.returncode


def test_the_confirmation_test_fails_fast_when_updates_are_confirmed_early(
    tmp_path: Path,
) -> None:
    # The break the hang was found with, in today's terms: the offset passes the updates in
    # hand, so the poller confirms an update as soon as it has fetched it.
    (tmp_path / "break_confirmation.py").write_text(
        "from bot.dispatch import Ledger\n"
        "Ledger.offset = property(lambda self: 0 if self._newest is None else self._newest + 1)\n",
        encoding="utf-8",
    )
    output, seconds, status = run_pytest(
        ROOT,
        "-p", "break_confirmation",
        "tests/test_faults.py::test_updates_are_confirmed_only_once_handled",
        pythonpath=f"{tmp_path}:{ROOT}",
        limit=120,
    )  # fmt: skip
    assert status == 1, output
    assert "the update was confirmed before it was handled" in output
    assert "1 failed" in output and "error" not in output.splitlines()[-1], output
    assert seconds < 30, output


async def test_a_handler_that_never_returns_fails_the_test_within_the_stop_deadline(
    telegram: FakeTelegram, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered = asyncio.Event()
    never = asyncio.Event()  # never set: the test "forgets" to let the handler go

    async def stuck(question: str, k: int) -> SearchResult:
        entered.set()
        await never.wait()
        raise AssertionError("unreachable")

    async def scenario() -> None:
        async with running_bot(telegram, corpus_dir, stop_within=1.0) as bot:
            monkeypatch.setattr(bot.library, "search", stuck)
            telegram.push(telegram.private_chat(5), telegram.user(5), "siapa presiden ukraina")
            await asyncio.wait_for(entered.wait(), 10)

    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"did not stop within 1 s; cancelled .*stuck"):
        await scenario()
    assert time.monotonic() - started < 10
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


HUNG_TEARDOWN = """
    import time

    import pytest


    @pytest.fixture
    def stuck():
        yield
        time.sleep(600)


    def test_fails_then_its_fixture_hangs(stuck):
        raise AssertionError("deliberately")
"""


def test_a_teardown_that_hangs_after_a_failure_ends_the_run(tmp_path: Path) -> None:
    # pytest-timeout has stopped timing once the test failed; the watchdog has not.
    (tmp_path / "test_hung.py").write_text(textwrap.dedent(HUNG_TEARDOWN), encoding="utf-8")
    output, seconds, status = run_pytest(
        tmp_path,
        "-p", "tests.teardown_watchdog", "-o", "teardown_timeout=1", "--timeout=30",
        "test_hung.py",
        pythonpath=str(ROOT),
        limit=60,
    )  # fmt: skip
    assert status == 1, output
    assert "test_hung.py::test_fails_then_its_fixture_hangs: teardown still running after 1 s" in (
        output
    )
    assert "in stuck" in output  # the hung fixture's stack
    assert seconds < 20, output
