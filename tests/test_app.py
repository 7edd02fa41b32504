import asyncio

import pytest
from telegram.error import NetworkError, RetryAfter

from bot.app import CONNECT_FIRST_DELAY, connect
from bot.flood import SLACK


class Unreachable:
    """A stand-in Application whose `initialize` fails with `errors`, one a call, then works."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    async def initialize(self) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
@pytest.mark.parametrize("timedelta", ["true", "false"], ids=["timedelta", "int"])
async def test_connect_waits_out_flood_control_and_network_errors(
    timedelta: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Start-up keeps to what python-telegram-bot gives as retry_after, either way it is set.
    monkeypatch.setenv("PTB_TIMEDELTA", timedelta)
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    application = Unreachable([RetryAfter(7), NetworkError("Bad Gateway"), NetworkError("x")])
    await connect(application)  # type: ignore[arg-type]
    assert application.calls == 4
    # The flood wait, then doubling from there: Telegram's wait is the least, not the next step.
    assert waited == pytest.approx([7 + SLACK, 2 * (7 + SLACK), 4 * (7 + SLACK)])
    assert CONNECT_FIRST_DELAY < 7
