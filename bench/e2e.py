"""End-to-end load on the bot: `python -m bot` as a process, against the test Bot API server.

    python -m bench.e2e [--passages 100000] [--questions 3000] [--rate 120]
                        [--reload-rate 50] [--words DIR] [--archive DIR]

Builds a synthetic archive (see `retrieval.bench`), starts the bot on it, then:
1. sustained load: questions from distinct users at `--rate` per second; reports answered
   exactly once, answered twice, lost, throughput and latency (question pushed → reply sent);
2. reload under load: an admin's /reload rebuilds the index (a file was added) while questions
   keep coming at `--reload-rate`; reports their latency while the reload runs.
Memory: the bot process's peak and current RSS after start-up and after the reload, and the
peak of the child process that built the new index (from the bot's log). Last, the bot is
restarted with the articles unchanged, and the time to its first answer is measured.
Nothing here is a test; it prints figures.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from retrieval.bench import word_frequencies, write_archive
from testkit.process import BOT_COMMAND, bot_env, stop
from testkit.telegram_server import JSON, FakeTelegram

TOKEN = "1234567:AABenchmarkTokenNotSecret_0123456789abc"  # noqa: S105 - fake server only
ADMIN = 1
FIRST_USER = 100_000


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile in milliseconds."""
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def push_at_rate(
    telegram: FakeTelegram, questions: list[str], rate: float, first_user: int
) -> dict[int, float]:
    """Push one question per new user at a steady rate; return each user's push time."""
    pushed: dict[int, float] = {}
    start = time.monotonic()
    for offset, question in enumerate(questions):
        delay = start + offset / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        user = first_user + offset
        pushed[user] = time.monotonic()
        telegram.push(telegram.private_chat(user), telegram.user(user), question)
    return pushed


def replies(telegram: FakeTelegram, users: dict[int, float]) -> tuple[Counter[int], list[float]]:
    """Replies per user, and each first reply's latency in seconds."""
    with telegram.batch():
        sent = [m for m in telegram.sent if m["chat"]["id"] in users]
    counts = Counter(m["chat"]["id"] for m in sent)
    first: dict[int, JSON] = {}
    for message in sent:
        first.setdefault(message["chat"]["id"], message)
    return counts, [first[u]["_at"] - users[u] for u in first]


def main(argv: list[str] | None = None) -> int:
    """Run both phases and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=120.0)
    parser.add_argument("--reload-rate", type=float, default=50.0)
    parser.add_argument(
        "--words", type=Path, default=Path(__file__).resolve().parents[2] / "shared/eval/external"
    )
    parser.add_argument(
        "--archive", type=Path, help="keep the synthetic archive here and reuse it next time"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        corpus = args.archive or Path(folder) / "corpus"
        if not corpus.is_dir() or not any(corpus.iterdir()):
            corpus.mkdir(parents=True, exist_ok=True)
            write_archive(corpus, args.passages, word_frequencies(args.words), seed=args.passages)
        (corpus / "zz-new.txt").unlink(missing_ok=True)  # the reload phase adds it
        telegram = FakeTelegram(TOKEN)
        base_url = telegram.start()
        env = bot_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=base_url,
            CORPUS_DIR=str(corpus),
            ADMIN_USER_IDS=str(ADMIN),
            INDEX_CACHE=str(Path(folder) / "index.npz"),
            RATE_LIMIT_QUESTIONS="1000000",
            FLOOD_MESSAGES_PER_SECOND="100000",
            LOG_LEVEL="INFO",
        )
        started = time.monotonic()
        log = Path(folder) / "bot.log"
        with log.open("wb") as stderr:
            bot = subprocess.Popen(BOT_COMMAND, env=env, cwd=folder, stderr=stderr)
        try:
            telegram.wait_for(lambda: bool(telegram.method_calls("getUpdates")), timeout=600)
            print(f"bot ready in {time.monotonic() - started:.1f} s ({args.passages:,} passages)")
            print(f"bot memory after start-up: {memory(bot.pid)}")
            questions = _questions(corpus, args.questions)

            pushed = push_at_rate(telegram, questions, args.rate, FIRST_USER)
            with contextlib.suppress(AssertionError):  # lost answers are counted below
                telegram.wait_for(lambda: _all_answered(telegram, pushed), timeout=120)
            answered, latency = replies(telegram, pushed)
            first_push = min(pushed.values())
            last_reply = max(m["_at"] for m in telegram.sent)
            print(
                f"sustained: {len(pushed)} questions at {args.rate:.0f}/s -> "
                f"{sum(n == 1 for n in answered.values())} answered once, "
                f"{sum(n > 1 for n in answered.values())} twice, "
                f"{len(pushed) - len(answered)} lost; "
                f"{len(answered) / (last_reply - first_push):.0f} answers/s; "
                f"latency p50 {percentile(latency, 50):.0f} ms, "
                f"p95 {percentile(latency, 95):.0f} ms"
            )

            (corpus / "zz-new.txt").write_text("Berita Baru\n\nSebuah paragraf baru.\n", "utf-8")
            before = len(telegram.sent)
            telegram.push(telegram.private_chat(ADMIN), telegram.user(ADMIN), "/reload")
            reload_started = time.monotonic()
            during: dict[int, float] = {}
            user = FIRST_USER + len(pushed)
            batch_size = max(1, round(args.reload_rate))
            while not _reloaded(telegram, before) and time.monotonic() - reload_started < 600:
                batch = push_at_rate(telegram, questions[:batch_size], args.reload_rate, user)
                during |= batch
                user += len(batch)
            reload_seconds = time.monotonic() - reload_started
            with contextlib.suppress(AssertionError):  # lost answers are counted below
                telegram.wait_for(lambda: _all_answered(telegram, during), timeout=60)
            answered, latency = replies(telegram, during)
            print(
                f"during a {reload_seconds:.1f} s reload: {len(during)} questions at "
                f"{args.reload_rate:.0f}/s -> {sum(n == 1 for n in answered.values())} answered "
                f"once, {sum(n > 1 for n in answered.values())} twice, "
                f"{len(during) - len(answered)} lost; "
                f"latency p50 {percentile(latency, 50):.0f} ms, "
                f"p95 {percentile(latency, 95):.0f} ms, max {max(latency) * 1000:.0f} ms"
            )
            built = re.findall(r"build peak memory (\d+) MB", log.read_text("utf-8"))
            child = built[-1] if built else "?"
            print(f"bot memory after the reload: {memory(bot.pid)}; the child process that built "
                  f"the new index peaked at {child} MB")  # fmt: skip

            stop(bot)
            started = time.monotonic()
            with log.open("ab") as stderr:
                bot = subprocess.Popen(BOT_COMMAND, env=env, cwd=folder,
                                       stderr=stderr)  # fmt: skip
            user = FIRST_USER + 1_000_000
            telegram.push(telegram.private_chat(user), telegram.user(user), questions[0])
            telegram.wait_for(lambda: _all_answered(telegram, {user: started}), timeout=600)
            print(f"restart with unchanged articles: first answer {time.monotonic() - started:.1f}"
                  " s after the process started (index from the cache)")  # fmt: skip
        finally:
            stop(bot)
            telegram.stop()
    return 0


def memory(pid: int) -> str:
    """A process's peak and current resident memory, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text("utf-8")
    kb = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.MULTILINE))
    return f"peak {int(kb['VmHWM']) // 1024} MB, now {int(kb['VmRSS']) // 1024} MB"


def _all_answered(telegram: FakeTelegram, users: dict[int, float]) -> bool:
    return len(replies(telegram, users)[0]) >= len(users)


def _reloaded(telegram: FakeTelegram, since: int) -> bool:
    return any(m["chat"]["id"] == ADMIN for m in telegram.sent[since:])


def _questions(corpus: Path, count: int) -> list[str]:
    """Questions made of a few words of random paragraphs (as `retrieval.bench` makes them)."""
    rng = np.random.default_rng(7)
    files = sorted(corpus.glob("*.txt"))
    asked = []
    for index in rng.integers(0, len(files), size=count):
        paragraphs = files[int(index)].read_text("utf-8").split("\n\n")[1:]
        words = paragraphs[int(rng.integers(0, len(paragraphs)))].rstrip(".").split()
        picked = rng.choice(words, size=min(len(words), int(rng.integers(3, 9))), replace=False)
        asked.append("Apa " + " ".join(picked) + "?")
    return asked


if __name__ == "__main__":
    sys.exit(main())
