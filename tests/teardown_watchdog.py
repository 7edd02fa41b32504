"""A last resort against a teardown that never ends: the run stops with the stacks dumped.

pytest-timeout (2.4) cancels its timer as soon as a test fails (its `pytest_exception_interact`
hook, meant for entering pdb), and pytest's own `faulthandler_timeout` does the same, so the
teardown of a *failed* test runs with no time limit at all, whichever timeout method is set
(pytest-timeout issue #196). A fixture that then waits forever holds the whole run: in CI, until
the job's own limit. This plugin arms its own timer around every teardown; when it fires, it
prints which test's teardown hung and every thread's stack, and ends the process with status 1.

The fixtures are meant never to get there (every wait in them has a deadline, see
`tests/conftest.py`); this catches whatever slips through. Set the limit with the ini option
`teardown_timeout` (seconds, 0 for none).
"""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
from collections.abc import Generator

import pytest

DEFAULT_SECONDS = 60.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "teardown_timeout",
        "seconds a test's teardown may take before the run is ended (0: no limit)",
        default=str(DEFAULT_SECONDS),
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    seconds = float(item.config.getini("teardown_timeout"))
    if seconds <= 0:
        return (yield)
    timer = threading.Timer(seconds, _teardown_hung, (item, seconds))
    timer.daemon = True
    timer.start()
    try:
        return (yield)
    finally:
        timer.cancel()


def _teardown_hung(item: pytest.Item, seconds: float) -> None:
    """In the timer's thread: report, dump every stack, end the run."""
    capture = item.config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend_global_capture(in_=True)  # so this reaches the real stderr
    stream = sys.__stderr__
    assert stream is not None
    stream.write(
        f"\n{item.nodeid}: teardown still running after {seconds:g} s (teardown_timeout); "
        "ending the run. Stacks:\n"
    )
    stream.flush()
    faulthandler.dump_traceback(file=stream, all_threads=True)
    stream.flush()
    os._exit(1)
