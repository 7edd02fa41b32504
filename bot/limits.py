"""Question rate limits per user and per group (sliding windows), pure and clock-injected."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a question may be answered, and whether to tell the user to wait.

    Attributes:
        allowed: Answer the question.
        warn: Refused, and the user has not been told yet in this window.
        retry_after: Seconds until the user may ask again (0 when allowed).
        group: Refused by the group's limit rather than the asker's own.
    """

    allowed: bool
    warn: bool = False
    retry_after: float = 0.0
    group: bool = False


class RateLimiter:
    """At most `limit` questions per `window` seconds per key; one warning per window."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._asked: dict[int, deque[float]] = {}
        self._warned_until: dict[int, float] = {}
        self._swept = float("-inf")

    def check(self, key: int, now: float, *, record: bool = True) -> Verdict:
        """Judge a question from `key` at time `now` (seconds); record it if allowed and `record`.

        With `record=False` nothing is counted (a refusal still warns once per window).
        """
        if now - self._swept > self.window:
            self.forget_idle(now)
            self._swept = now
        times = self._asked.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.limit:
            if record:
                times.append(now)
                self._warned_until.pop(key, None)
            return Verdict(allowed=True)
        retry_after = times[0] + self.window - now
        warn = self._warned_until.get(key, float("-inf")) <= now
        if warn:
            self._warned_until[key] = times[0] + self.window
        return Verdict(allowed=False, warn=warn, retry_after=retry_after)

    def remembered(self) -> frozenset[int]:
        """The keys it holds anything for (recent questions or a warning): bounded by use."""
        return frozenset(self._asked) | frozenset(self._warned_until)

    def forget_idle(self, now: float) -> None:
        """Drop users with no question inside the window, so memory stays bounded."""
        idle = [
            k for k, times in self._asked.items() if not times or times[-1] <= now - self.window
        ]
        for key in idle:
            del self._asked[key]
            self._warned_until.pop(key, None)


class Quotas:
    """The per-user and per-group limits, decided together for one question."""

    def __init__(self, user: RateLimiter, group: RateLimiter) -> None:
        self.user = user
        self.group = group

    def admit(self, user: int, group: int | None, now: float) -> Verdict:
        """Judge a question from `user`, in `group` (None in a private chat), at `now`.

        A question the group's limit refuses does not count against the asker's own limit, so
        one busy group cannot use up its members' private questions.
        """
        verdict = self.user.check(user, now, record=False)
        if verdict.allowed and group is not None:
            verdict = replace(self.group.check(group, now), group=True)
        if verdict.allowed:
            self.user.check(user, now)
        return verdict
