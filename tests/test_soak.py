"""A short soak of `python -m bot` (see bench/soak.py), and a short crash and restart."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from bench.soak import FAULTS, Config, Report, fault_plan, run

SHORT = Config(questions=300, users=20, groups=4, fault_rate=0.05, rate=60.0)


def check_faults(report: Report) -> None:
    """Every kind of fault was injected, and the server served each one."""
    assert set(report.faults) == set(FAULTS)
    assert report.faults_served == sum(report.faults.values())
    assert report.errors == ()  # nothing given up on, no handler error
    assert not report.token_in_log


def test_fault_plan_covers_every_kind_then_goes_by_weight() -> None:
    plan = fault_plan(Config(questions=5000), random.Random(1))
    assert len(plan) == 250
    assert set(plan.values()) == set(FAULTS)
    assert min(plan) >= 0 and max(plan) < 5000
    small = fault_plan(Config(questions=100), random.Random(1))
    assert len(small) == 5 and len(set(small.values())) == 5


@pytest.mark.timeout(90)
def test_short_soak_answers_every_question_exactly_once() -> None:
    report = run(SHORT)
    check_faults(report)
    assert report.refused > 0  # the 403s: questions that cannot be answered
    assert report.refused_logged == report.refused
    assert (report.once, report.twice, report.lost) == (300 - report.refused, 0, 0)
    assert (report.apologies, report.unattributed) == (0, 0)


@pytest.mark.timeout(90)
def test_short_crash_and_restart_loses_nothing() -> None:
    report = run(replace(SHORT, crash=True, seed=3))
    check_faults(report)
    assert report.in_flight >= 10  # the burst the bot was handling when it was killed
    assert report.lost == 0
    assert report.once + report.twice + report.refused == 300
    assert report.twice == report.twice_in_flight  # only questions in flight at the kill
