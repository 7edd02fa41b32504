"""A short soak of `python -m bot` (see bench/soak.py), and a short crash and restart.

The soak runs as the command a person runs, `python -m bench.soak`, and reports in JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from testkit.process import ROOT, bot_env

# Processes and the real Application over HTTP: `make quick` leaves these out.
pytestmark = pytest.mark.slow

SHORT = ["--questions", "300", "--users", "20", "--groups", "4", "--faults", "0.05", "--rate", "60"]


def soak(*options: str) -> dict[str, Any]:
    """Run the soak; its report."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", *SHORT, *options, "--json"],
        cwd=ROOT, env=bot_env(), capture_output=True, text=True, timeout=85, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def check_faults(report: dict[str, Any]) -> None:
    """Every kind of fault was injected, and the server served each one."""
    assert set(report["faults"]) == set(report["fault_kinds"])
    assert report["faults_served"] == sum(report["faults"].values())
    assert report["errors"] == []  # nothing given up on, no handler error
    assert not report["token_in_log"]


@pytest.mark.timeout(90)
def test_short_soak_answers_every_question_exactly_once() -> None:
    report = soak()
    check_faults(report)
    assert report["refused"] > 0  # the 403s: questions that cannot be answered
    assert report["refused_logged"] == report["refused"]
    assert (report["once"], report["twice"], report["lost"]) == (300 - report["refused"], 0, 0)
    assert (report["apologies"], report["unattributed"]) == (0, 0)


@pytest.mark.timeout(90)
def test_short_crash_and_restart_loses_nothing() -> None:
    report = soak("--crash", "--seed", "3")
    check_faults(report)
    assert report["in_flight"] >= 10  # the burst the bot was handling when it was killed
    assert report["lost"] == 0
    assert report["once"] + report["twice"] + report["refused"] == 300
    assert report["twice"] == report["twice_in_flight"]  # only questions in flight at the kill
    # ... and only those the killed process had answered but not yet recorded as handled.
    assert report["twice"] == report["unrecorded"]
    assert (report["apologies"], report["unattributed"]) == (0, 0)
