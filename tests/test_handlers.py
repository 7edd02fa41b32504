from pathlib import Path

import pytest

from bot.handlers import (
    Action,
    Decision,
    Incoming,
    asked_row,
    command_argument,
    decide,
    example_questions,
)
from retrieval import Abstention, Analyzer, Index, load_corpus

BOT = "tanya_bot"
SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.mark.parametrize(
    ("incoming", "decision"),
    [
        (
            Incoming("siapa presiden?", True, False, False),
            Decision(Action.ANSWER, "siapa presiden?"),
        ),
        (Incoming(None, True, False, False), Decision(Action.NOT_TEXT)),
        (Incoming("siapa presiden?", False, False, False), Decision(Action.IGNORE)),
        (Incoming(None, False, False, False), Decision(Action.IGNORE)),
        (Incoming("kapan?", False, False, True), Decision(Action.ANSWER, "kapan?")),
        (Incoming(None, False, False, True), Decision(Action.NOT_TEXT)),
        (
            Incoming("@Tanya_Bot siapa dubes?", False, False, False),
            Decision(Action.ANSWER, "siapa dubes?"),
        ),
        (
            Incoming("siapa dubes @tanya_bot", False, False, False),
            Decision(Action.ANSWER, "siapa dubes"),
        ),
        (Incoming("@tanya_bot_fan halo", False, False, False), Decision(Action.IGNORE)),
        (Incoming("@other_bot halo", False, False, False), Decision(Action.IGNORE)),
        (Incoming("siapa presiden?", True, True, False), Decision(Action.IGNORE)),
        (Incoming("@tanya_bot halo", False, True, False), Decision(Action.IGNORE)),
        # an ask command in a caption (PTB reads commands in text only)
        (
            Incoming("/tanya@tanya_bot siapa dubes?", False, False, False),
            Decision(Action.ANSWER, "siapa dubes?"),
        ),
        (
            Incoming("/ASK siapa\ndubes", False, False, False),
            Decision(Action.ANSWER, "siapa\ndubes"),
        ),
        (Incoming("/tanya@tanya_bot", False, False, False), Decision(Action.USAGE)),
        (Incoming("/tanya@other_bot siapa", False, False, False), Decision(Action.IGNORE)),
        (Incoming("/start", True, False, False), Decision(Action.IGNORE)),
        (Incoming("/tanyain siapa", True, False, False), Decision(Action.IGNORE)),
    ],
)
def test_decide(incoming: Incoming, decision: Decision) -> None:
    assert decide(incoming, BOT) == decision


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("/ask siapa presiden", "siapa presiden"),
        ("/tanya@tanya_bot   kenapa\nnato ditahan ", "kenapa\nnato ditahan"),
        ("/ask", ""),
        ("/ask@tanya_bot", ""),
        (None, ""),
    ],
)
def test_command_argument(text: str | None, question: str) -> None:
    assert command_argument(text) == question


def test_example_questions_come_from_headings_then_titles() -> None:
    assert example_questions(['Peran "Friends"', "Jaminan"], ["Judul"], 3) == [
        "peran friends",
        "jaminan",
        "judul",
    ]
    assert example_questions([], ["Judul A", "Judul A"]) == ["judul a"]


@pytest.mark.parametrize(
    ("message", "kept", "answered"),
    [
        ("halo kak, siapa presiden ukraina? 🙏", "siapa presiden ukraina?", True),
        ("Berapa harga bensin hari ini? https://x.co.id/a", "Berapa harga bensin hari ini?", False),
        ("makasih!", None, False),  # small talk is no question
        ("😀😀", None, False),
    ],
)
def test_the_statistics_keep_real_questions_as_cleaned(
    message: str, kept: str | None, answered: bool
) -> None:
    corpus = load_corpus(SEEDS)
    result = Index(corpus.passages, Analyzer.default()).search(message)
    row = asked_row("abcdefghijkl", "private", result, corpus)
    if kept is None:
        assert row is None
        return
    assert row is not None
    assert (row.question, row.answered, row.chat_type) == (kept, answered, "private")
    if answered:
        assert (row.file, row.position) == (corpus.passages[5].file, 5)
        assert row.title is not None and row.title.startswith("Rusia Buka Pintu")
    else:
        assert (row.file, row.title, row.position) == (None, None, None)
        assert result.abstention is Abstention.NOT_FOUND
