from bot.limits import Quotas, RateLimiter, Verdict


def test_allows_up_to_the_limit_then_warns_once_per_window() -> None:
    limiter = RateLimiter(limit=2, window=60)
    assert limiter.check(1, 0).allowed
    assert limiter.check(1, 1).allowed
    assert limiter.check(1, 2) == Verdict(allowed=False, warn=True, retry_after=58)
    assert limiter.check(1, 3) == Verdict(allowed=False, warn=False, retry_after=57)
    assert limiter.check(2, 3).allowed  # other users are not affected
    assert limiter.check(1, 60).allowed  # the first question left the window
    assert limiter.check(1, 61).allowed
    assert limiter.check(1, 62).warn  # a new window, a new warning


def test_forget_idle_drops_users_outside_the_window() -> None:
    limiter = RateLimiter(limit=1, window=10)
    limiter.check(1, 0)
    limiter.check(1, 1)  # refused, and warned until 10
    limiter.check(2, 5)
    limiter.forget_idle(10)  # user 1's question is exactly one window old: forgotten
    assert limiter.remembered() == {2}


def test_idle_users_are_swept_once_a_window_has_passed_since_the_last_sweep() -> None:
    limiter = RateLimiter(limit=1, window=10)
    limiter.check(1, 0)  # the first check sweeps
    limiter.check(2, 10)  # exactly one window later: not yet
    assert limiter.remembered() == {1, 2}
    limiter.check(3, 10.5)
    assert limiter.remembered() == {2, 3}


def test_idle_users_are_forgotten_as_time_passes() -> None:
    limiter = RateLimiter(limit=1, window=10)
    for user in range(100):
        limiter.check(user, 0)
    limiter.check(1000, 20)
    assert limiter.remembered() == {1000}


def test_a_peek_does_not_count() -> None:
    limiter = RateLimiter(limit=1, window=10)
    assert limiter.check(1, 0, record=False).allowed
    assert limiter.check(1, 0, record=False).allowed
    assert limiter.check(1, 1).allowed
    assert not limiter.check(1, 2, record=False).allowed


def test_a_group_refusal_does_not_count_against_the_asker() -> None:
    quotas = Quotas(RateLimiter(limit=2, window=60), RateLimiter(limit=1, window=60))
    assert quotas.admit(1, -100, 0).allowed
    refused = quotas.admit(2, -100, 1)  # the group has used its one question
    assert refused == Verdict(allowed=False, warn=True, retry_after=59, group=True)
    assert quotas.admit(2, None, 2).allowed  # user 2's own two questions are untouched
    assert quotas.admit(2, None, 3).allowed
    assert not quotas.admit(2, None, 4).allowed


def test_a_refused_user_does_not_use_the_groups_quota() -> None:
    quotas = Quotas(RateLimiter(limit=1, window=60), RateLimiter(limit=2, window=60))
    assert quotas.admit(1, -100, 0).allowed
    assert not quotas.admit(1, -100, 1).allowed  # user 1's limit: the group's is not touched
    assert quotas.admit(2, -100, 2).allowed
    assert not quotas.admit(3, -100, 3).allowed  # now the group's two are used
