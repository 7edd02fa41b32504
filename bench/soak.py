"""Soak: `python -m bot` answering thousands of questions while Telegram keeps failing a little.

    PYTHONPATH=. python -m bench.soak [--questions 5000] [--users 200] [--groups 20]
                                      [--faults 0.05] [--rate 40] [--crash] [--seed 1]
                                      [--no-stats | --stats-cost] [--json]

Runs the bot as a process on the seed articles against the test Bot API server. Simulated users
ask one question at a time, in their group (`/ask@bot …` or a reply to the bot) or privately,
and ask again once answered. With `--faults` of the questions one fault is scripted, on the
reply to that question or on the next long poll: 429 with retry_after, 500 or 502, a send that
hangs past the bot's timeout, a long poll whose connection drops, rejected HTML, or a 403 (a
refusal for good: that question cannot be answered, and the bot must log it). `--crash` kills
the bot with SIGKILL while it handles a burst of questions, halfway through, and starts it again.
The bot keeps its statistics (STATS_DB, with the 👍/👎 buttons) as it does by default;
`--no-stats` runs it without; `--stats-cost` runs the soak without, then with, and prints what the
store costs as ratios (throughput and p95, store on against off, in the same run).

Every reply is attributed to its question. In a group the bot quotes the question. In a private
chat it does not, but it answers a chat's questions in the order asked, each once per process:
the n-th reply (or refusal) a process sends there belongs to the n-th question it handles there.
The first process handles a chat's questions from its first; after a crash the new one starts
at the first question the killed one had not handled: not confirmed to Telegram, or stored in
the inbox, and not recorded as handled (read from its update store). So "twice" and "lost" are
exact across the restart. Each answer is one message.

The bot's flood limits (FLOOD_*) are raised for the run: the test server enforces none, and at
Telegram's 20 replies per minute per group, 20 busy groups would measure throttling instead.
Nothing here is a test; it prints figures (tests/test_soak.py runs a short one).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from bot.store import beside, read_store
from testkit.process import BOT_COMMAND, bot_env, stop
from testkit.telegram_server import JSON, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "1234567:AASoakTokenNotSecret_0123456789abcdefghij"  # noqa: S105 - fake server only
FIRST_GROUP = -1001000000000
# Longer than PTB's 5 s read timeout: the bot gives up on the answer, the message was delivered.
HANG = 6.0
APOLOGY = "Maaf, terjadi kesalahan"
# Questions pushed at once just before the SIGKILL, so that some are being handled.
BURST = 10
# Seconds a user waits for an answer before giving up on it (it then counts as lost).
PATIENCE = 60.0


# Scripts a fault on the reply to a question (chat, and message for a quoting reply in a group)
# or on the next long poll.
Fault = Callable[[FakeTelegram, int, int | None], None]


def _send_error(code: int, description: str, retry_after: int | None = None) -> Fault:
    def script(tg: FakeTelegram, chat: int, message: int | None) -> None:
        tg.fail_next("sendMessage", code, description, retry_after, chat_id=chat, reply_to=message)

    return script


def _poll_error(code: int, description: str, retry_after: int | None = None) -> Fault:
    return lambda tg, _, __: tg.fail_next("getUpdates", code, description, retry_after)


def _hang(tg: FakeTelegram, chat: int, message: int | None) -> None:
    tg.hang_next("sendMessage", HANG, chat_id=chat, reply_to=message)


# name → (weight, how to script it); 403 is rare on purpose: "a few permanent refusals".
FAULTS: dict[str, tuple[float, Fault]] = {
    "429 on sendMessage": (14, _send_error(429, "Too Many Requests: retry after 1", 1)),
    "429 on getUpdates": (10, _poll_error(429, "Too Many Requests: retry after 1", 1)),
    "500 on sendMessage": (12, _send_error(500, "Internal Server Error")),
    "502 on sendMessage": (12, _send_error(502, "Bad Gateway")),
    "502 on getUpdates": (10, _poll_error(502, "Bad Gateway")),
    "sendMessage hangs": (6, _hang),
    "long poll dropped": (14, lambda tg, _, __: tg.drop_next("getUpdates", 0.2)),
    "can't parse entities": (
        12,
        _send_error(400, "Bad Request: can't parse entities: unsupported start tag"),
    ),
    "403 blocked (for good)": (4, _send_error(403, "Forbidden: bot was blocked by the user")),
}


@dataclass(frozen=True, slots=True)
class Config:
    """What to run: questions, users (each in one of the groups) and faults."""

    questions: int = 5000
    users: int = 200
    groups: int = 20
    fault_rate: float = 0.05
    rate: float = 40.0
    crash: bool = False
    seed: int = 1
    stats: bool = True


@dataclass
class Asked:
    """One question and what became of it."""

    user: int
    chat: int
    message_id: int
    update_id: int
    pushed: float
    replies: list[JSON] = field(default_factory=list)
    refused: bool = False


@dataclass(frozen=True, slots=True)
class Report:
    """The soak's figures; memory is None where the run was too short or restarted."""

    config: Config
    faults: dict[str, int]
    faults_served: int
    once: int
    twice: int
    lost: int
    refused: int
    refused_logged: int
    apologies: int
    unattributed: int
    p50_ms: float
    p95_ms: float
    seconds: float
    token_in_log: bool
    errors: tuple[str, ...]
    peak_rss_mb: float | None = None
    rss_first_mb: float | None = None
    rss_last_mb: float | None = None
    in_flight: int = 0
    twice_in_flight: int = 0
    unrecorded: int = 0
    fetch_p50_ms: float = float("nan")  # from a question's push to getUpdates handing it out
    fetch_p95_ms: float = float("nan")


def fault_plan(config: Config, rng: random.Random) -> dict[int, str]:
    """Which question gets which fault: each kind once (when there are enough), then by weight."""
    count = round(config.questions * config.fault_rate)
    names = list(FAULTS)
    kinds = rng.sample(names, k=min(count, len(names)))
    weights = [FAULTS[name][0] for name in names]
    kinds += rng.choices(names, weights, k=count - len(kinds))
    return dict(zip(sorted(rng.sample(range(config.questions), count)), kinds, strict=True))


def questions() -> list[str]:
    """The seed questions (answerable and not) the users ask."""
    lines = (ROOT / "tests/data/seed-questions.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def memory_mb(pid: int, field_name: str) -> float:
    """A memory figure of a process (VmRSS, VmHWM) in MB, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field_name}:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")


class Soak:
    """The simulated users, the questions asked, and the replies attributed to them."""

    def __init__(self, config: Config, telegram: FakeTelegram) -> None:
        self.config = config
        self.telegram = telegram
        self.rng = random.Random(config.seed)
        self.texts = questions()
        self.asked: list[Asked] = []
        self.waiting: dict[int, Asked] = {}  # user → the question they wait on
        self.by_message: dict[int, Asked] = {}
        # A private chat's questions in the order asked, and the position of the next one the
        # bot process now running will answer there (see the module's docstring).
        self.private: dict[int, list[Asked]] = {}
        self.next_private: dict[int, int] = {}
        self.restarted_at = float("inf")  # when the process after the crash started
        self._old_private: dict[int, int] = {}  # the same positions for the killed process
        self.unrecorded = 0  # with `crash`: answered by the killed process, not recorded
        self.bot_messages: dict[int, JSON] = {}  # group → the bot's latest message there
        self.unattributed = 0
        self.answered = 0  # questions with a reply
        self.injected: Counter[str] = Counter()
        self.in_flight: set[int] = set()  # with `crash`: update ids unconfirmed at the kill
        self.seconds = 0.0
        self.rss_first: float | None = None  # after the first 1,000 answers
        self.rss_last: float | None = None
        self.peak_rss: float | None = None
        self._seen_sent = 0
        self._seen_failed = 0

    def group_of(self, user: int) -> int:
        """Each user is a member of one group."""
        return FIRST_GROUP - user % self.config.groups

    def ask(self, user: int, fault: str | None = None) -> Asked:
        """The user asks a question, in their group or privately; `fault` meets its reply."""
        tg = self.telegram
        question = self.rng.choice(self.texts)
        sender = tg.user(user)
        private = self.rng.random() < 0.5
        chat = tg.private_chat(user) if private else tg.group(self.group_of(user))
        earlier = None if private else self.bot_messages.get(chat["id"])
        # Holding the server's lock: the bot sees the question only with its fault in place.
        with tg.batch():
            if private:
                message = tg.push(chat, sender, question)
            elif earlier is not None and self.rng.random() < 0.3:
                message = tg.push(chat, sender, question, reply_to=earlier)
            else:
                message = tg.push(chat, sender, f"/ask@{tg.bot_username} {question}")
            if fault is not None:
                quoted = None if private else message["message_id"]
                FAULTS[fault][1](tg, chat["id"], quoted)
                self.injected[fault] += 1
            update_id = tg.updates[-1]["update_id"]
        asked = Asked(user, chat["id"], message["message_id"], update_id, time.monotonic())
        self.asked.append(asked)
        self.waiting[user] = asked
        self.by_message[asked.message_id] = asked
        if asked.chat > 0:
            self.private.setdefault(asked.chat, []).append(asked)
        return asked

    def collect(self) -> None:
        """Attribute new replies (and refusals) to questions; answered users may ask again."""
        tg = self.telegram
        with tg.batch():
            sent = tg.sent[self._seen_sent :]
            failed = tg.failed[self._seen_failed :]
            self._seen_sent += len(sent)
            self._seen_failed += len(failed)
        # A reply, or a refusal for good (403): what became of a question, in sending order.
        outcomes: list[tuple[float, int, int | None, JSON | None]] = [
            (m["_at"], m["chat"]["id"], m["_reply_to"], m) for m in sent
        ]
        for _, params, failure in failed:
            if failure.error is not None and failure.error.code == 403:
                reply = (params.get("reply_parameters") or {}).get("message_id")
                outcomes.append((params["_at"], int(params["chat_id"]), reply, None))
        for at, chat, reply_to, message in sorted(outcomes, key=lambda outcome: outcome[0]):
            asked = self._question_of(chat, reply_to, at)
            if asked is None:
                self.unattributed += message is not None
                continue
            if message is None:
                asked.refused = True
            else:
                asked.replies.append(message)
                self.answered += len(asked.replies) == 1
                if asked.chat < 0:
                    self.bot_messages[asked.chat] = {
                        k: v for k, v in message.items() if not k.startswith("_")
                    }
            self._settled(asked)

    def drive(
        self, start: Callable[[], subprocess.Popen[bytes]], store: Path | None = None
    ) -> None:
        """Ask every question at the configured rate (with `crash`, kill and restart the bot)."""
        config, tg = self.config, self.telegram
        faults = fault_plan(config, self.rng)
        bot = start()
        tg.wait_for(lambda: bool(tg.method_calls("getUpdates")), timeout=120)
        began = time.monotonic()
        crash_at = config.questions // 2 if config.crash else None
        while len(self.asked) < config.questions:
            self.collect()
            self._give_up_waiting(time.monotonic())
            if self.rss_first is None and self.answered >= 1000 and not config.crash:
                self.rss_first = memory_mb(bot.pid, "VmRSS")
            idle = [u for u in range(1, config.users + 1) if u not in self.waiting]
            number = len(self.asked)
            if crash_at is not None and number >= crash_at:
                if len(idle) < BURST:
                    time.sleep(0.002)
                    continue
                self._kill_mid_batch(bot, idle[:BURST], store)
                crash_at = None
                self.restarted_at = time.monotonic()
                bot = start()
            elif idle and time.monotonic() >= began + number / config.rate:
                self.ask(self.rng.choice(idle), faults.get(number))
            else:
                time.sleep(0.002)
        # Every question, including those whose user stopped waiting, has PATIENCE more to be
        # answered (or refused); what is not by then is lost.
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline and any(
            not a.replies and not a.refused for a in self.asked
        ):
            self.collect()
            time.sleep(0.05)
        time.sleep(1.0)  # for late duplicates, if any
        self.collect()
        self.seconds = time.monotonic() - began
        if not config.crash:
            self.rss_last = memory_mb(bot.pid, "VmRSS")
            self.peak_rss = memory_mb(bot.pid, "VmHWM")

    def _kill_mid_batch(
        self, bot: subprocess.Popen[bytes], users: list[int], store: Path | None
    ) -> None:
        """Push a burst; SIGKILL the bot once it has fetched it and sent a reply.

        The updates then handed out but not confirmed are in flight: Telegram sends them again.
        The new process will handle those the killed one had not recorded as handled (in its
        update store): in each private chat it starts at the first of them.
        """
        tg = self.telegram
        with tg.batch():  # all in one batch: the bot cannot poll while the lock is held
            last = [self.ask(user) for user in users][-1].update_id
        tg.wait_for(lambda: tg.handed_out >= last, timeout=30)
        replies = len(tg.sent)
        tg.wait_for(lambda: len(tg.sent) > replies, timeout=30)
        bot.kill()
        bot.wait()
        recorded, stored = (
            read_store(store) if store is not None and store.exists() else (set(), set())
        )
        # In flight: handed out and not confirmed, or confirmed because it was stored in the
        # inbox (held up behind a slow chat) and not handled yet.
        with tg.batch():
            self.in_flight = set(range(tg.confirmed, tg.handed_out + 1)) | stored
            confirmed = tg.confirmed
        self.collect()  # everything the killed process sent

        def handled(asked: Asked) -> bool:  # confirmed and not in the inbox, or recorded
            return (
                asked.update_id < confirmed and asked.update_id not in stored
            ) or asked.update_id in recorded

        for chat, asked in self.private.items():
            self.next_private[chat] = next(
                (i for i, a in enumerate(asked) if not handled(a)), len(asked)
            )
        self.unrecorded = sum(1 for a in self.asked if a.replies and not handled(a))

    def _give_up_waiting(self, now: float) -> None:
        for user, asked in list(self.waiting.items()):
            if now - asked.pushed > PATIENCE:
                del self.waiting[user]

    def _question_of(self, chat: int, reply_to: int | None, at: float) -> Asked | None:
        """The question a reply sent at `at` answers: quoted, or next in its private chat.

        The killed process's replies went out before `restarted_at`; they continue its count.
        """
        if chat < 0:
            return self.by_message.get(reply_to) if reply_to is not None else None
        asked = self.private.get(chat, [])
        if at < self.restarted_at:
            position = self._old_private.get(chat, 0)
            self._old_private[chat] = position + 1
        else:
            position = self.next_private.get(chat, 0)
            self.next_private[chat] = position + 1
        return asked[position] if position < len(asked) else None

    def _settled(self, asked: Asked) -> None:
        if self.waiting.get(asked.user) is asked:
            del self.waiting[asked.user]


def bot_environment(base_url: str, folder: Path, stats: bool) -> dict[str, str]:
    """Settings for `python -m bot`: seeds, a fresh index cache, limits out of the way."""
    return bot_env(
        STATS_DB=str(folder / "stats.sqlite3") if stats else "",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=base_url,
        CORPUS_DIR=str(ROOT / "seeds"),
        INDEX_CACHE=str(folder / "index.npz"),
        LOG_LEVEL="INFO",
        RATE_LIMIT_QUESTIONS="1000000",
        RATE_LIMIT_CHAT_QUESTIONS="1000000",
        FLOOD_MESSAGES_PER_SECOND="1000",
        FLOOD_MESSAGES_PER_MINUTE_PER_GROUP="60000",
    )


@contextlib.contextmanager
def bot_process(
    base_url: str, folder: Path, stats: bool
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """A starter for `python -m bot` (logging to folder/bot.log); the last one is stopped after."""
    started: list[subprocess.Popen[bytes]] = []
    env = bot_environment(base_url, folder, stats)

    def start() -> subprocess.Popen[bytes]:
        with (folder / "bot.log").open("ab") as log:
            started.append(subprocess.Popen(BOT_COMMAND, cwd=folder, env=env, stderr=log))
        return started[-1]

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                stop(process, timeout=30)


def run(config: Config) -> Report:
    """Run the soak; return its figures."""
    telegram = FakeTelegram(TOKEN)
    base_url = telegram.start()
    soak = Soak(config, telegram)
    try:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            with bot_process(base_url, folder, config.stats) as start:
                soak.drive(start, beside(folder / "index.npz"))
            log = (folder / "bot.log").read_text("utf-8", "replace")
    finally:
        telegram.stop()
    return _report(soak, log)


def _report(soak: Soak, log: str) -> Report:
    asked = soak.asked
    replies = Counter(len(a.replies) for a in asked)
    latency = [a.replies[0]["_at"] - a.pushed for a in asked if a.replies]
    handed_out = soak.telegram.first_handed_out
    fetch = [handed_out[a.update_id] - a.pushed for a in asked if a.update_id in handed_out]
    logged = {int(chat) for chat in re.findall(r"chat (-?\d+) refuses the bot", log)}
    refused = [a for a in asked if a.refused and not a.replies]
    twice = [a for a in asked if len(a.replies) > 1]
    return Report(
        config=soak.config,
        faults=dict(soak.injected),
        faults_served=len(soak.telegram.failed),
        once=replies[1],
        twice=len(twice),
        lost=sum(1 for a in asked if not a.replies and not a.refused),
        refused=len(refused),
        refused_logged=sum(1 for a in refused if a.chat in logged),
        apologies=sum(1 for a in asked for m in a.replies if m["text"].startswith(APOLOGY)),
        unattributed=soak.unattributed,
        p50_ms=float(np.percentile(latency, 50)) * 1000 if latency else float("nan"),
        p95_ms=float(np.percentile(latency, 95)) * 1000 if latency else float("nan"),
        seconds=soak.seconds,
        token_in_log=TOKEN.split(":")[1] in log,
        errors=tuple(line for line in log.splitlines() if " ERROR " in line),
        peak_rss_mb=soak.peak_rss,
        rss_first_mb=soak.rss_first,
        rss_last_mb=soak.rss_last,
        in_flight=sum(1 for a in asked if a.update_id in soak.in_flight),
        twice_in_flight=sum(1 for a in twice if a.update_id in soak.in_flight),
        unrecorded=soak.unrecorded,
        fetch_p50_ms=float(np.percentile(fetch, 50)) * 1000 if fetch else float("nan"),
        fetch_p95_ms=float(np.percentile(fetch, 95)) * 1000 if fetch else float("nan"),
    )


def print_report(report: Report) -> None:
    """The figures as a Markdown table."""
    config = report.config
    print(
        f"soak: {config.questions:,} questions from {config.users} users in "
        f"{config.groups} groups and their private chats, {config.rate:.0f}/s offered, "
        f"{'SIGKILL and restart halfway, ' if config.crash else ''}"
        f"{'' if config.stats else 'without statistics, '}{report.seconds:.0f} s"
    )
    faults = ", ".join(f"{name} {count}" for name, count in sorted(report.faults.items()))
    print(f"faults ({sum(report.faults.values())}, {report.faults_served} served): {faults}")
    rows = [
        ("answered exactly once", f"{report.once:,}"),
        ("answered twice", f"{report.twice:,}"),
        ("lost", f"{report.lost:,}"),
        ("refused for good (403), logged", f"{report.refused}, {report.refused_logged} logged"),
        (
            "apologies sent / replies not attributable",
            f"{report.apologies} / {report.unattributed}",
        ),
        ("latency p50 / p95", f"{report.p50_ms:,.0f} ms / {report.p95_ms:,.0f} ms"),
        (
            "time to fetch (push to getUpdates) p50 / p95",
            f"{report.fetch_p50_ms:,.0f} ms / {report.fetch_p95_ms:,.0f} ms",
        ),
    ]
    if report.peak_rss_mb is not None:
        rows.append(("peak RSS (VmHWM)", f"{report.peak_rss_mb:.0f} MB"))
    if report.rss_first_mb is not None and report.rss_last_mb is not None:
        growth = report.rss_last_mb - report.rss_first_mb
        rows.append(
            (
                "RSS after the first / last 1,000 answers",
                f"{report.rss_first_mb:.1f} / {report.rss_last_mb:.1f} MB ({growth:+.1f} MB)",
            )
        )
    if config.crash:
        rows.append(("in flight at the kill", f"{report.in_flight}"))
        rows.append(("answered twice, of them in flight", f"{report.twice_in_flight}"))
        rows.append(
            (
                "answered before the kill, not yet recorded as handled",
                f"{report.unrecorded}",
            )
        )
    rows.append(("ERROR lines in the bot's log", f"{len(report.errors)}"))
    rows.append(("token in the bot's log", "yes" if report.token_in_log else "no"))
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    for line in report.errors[:10]:
        print(line)


def print_stats_cost(off: Report, on: Report) -> None:
    """Throughput (answers a second) and latency with the statistics store, against without."""

    def throughput(report: Report) -> float:
        return (report.once + report.twice) / report.seconds

    print("| measure | store off | store on | on / off |\n|---|---|---|---|")
    for name, without, with_ in (
        ("throughput, answers/s", throughput(off), throughput(on)),
        ("p50, ms", off.p50_ms, on.p50_ms),
        ("p95, ms", off.p95_ms, on.p95_ms),
    ):
        print(f"| {name} | {without:.1f} | {with_:.1f} | {with_ / without:.2f} |")


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print its report; exit 1 if a question was lost or answered twice."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    defaults = Config()
    parser.add_argument("--questions", type=int, default=defaults.questions)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--groups", type=int, default=defaults.groups)
    parser.add_argument("--faults", type=float, default=defaults.fault_rate)
    parser.add_argument("--rate", type=float, default=defaults.rate)
    parser.add_argument("--crash", action="store_true")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    store = parser.add_mutually_exclusive_group()
    store.add_argument("--no-stats", action="store_true", help="run the bot with STATS_DB empty")
    store.add_argument(
        "--stats-cost", action="store_true", help="run without the store, then with; compare"
    )
    parser.add_argument("--json", action="store_true", help="the report as one JSON object")
    args = parser.parse_args(argv)
    config = Config(
        args.questions,
        args.users,
        args.groups,
        args.faults,
        args.rate,
        args.crash,
        args.seed,
        stats=not args.no_stats,
    )
    configs = [replace(config, stats=False), config] if args.stats_cost else [config]
    reports = [run(each) for each in configs]
    for report in reports:
        if args.json:
            print(json.dumps({**asdict(report), "fault_kinds": list(FAULTS)}))
        else:
            print_report(report)
    if args.stats_cost and not args.json:
        print_stats_cost(*reports)
    return 1 if any(_failed(report) for report in reports) else 0


def _failed(report: Report) -> bool:
    """Whether a question was lost, or answered twice outside a crash's batch in flight."""
    twice_allowed = report.twice_in_flight if report.config.crash else 0
    return bool(report.lost) or report.twice > twice_allowed


if __name__ == "__main__":
    sys.exit(main())
