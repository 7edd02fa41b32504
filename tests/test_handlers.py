import pytest

from bot.handlers import Action, Decision, Incoming, command_argument, decide, example_questions

BOT = "tanya_bot"


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
