from pathlib import Path

import pytest

from retrieval.evaluate import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("split", "count"), [(None, 19), ("even", 10), ("odd", 9)])
def test_split_keeps_one_half_of_the_questions(
    capsys: pytest.CaptureFixture[str], split: str | None, count: int
) -> None:
    options = ["--split", split] if split else []
    questions = str(ROOT / "tests/data/seed-questions.jsonl")
    assert main([questions, "--corpus", str(ROOT / "seeds"), *options]) == 0
    assert capsys.readouterr().out.startswith(f"{count} questions")


def test_chat_style_questions_are_measured_clean_and_as_typed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    questions = str(ROOT / "tests/data/chatty-seed.jsonl")
    assert main([questions, "--corpus", str(ROOT / "seeds")]) == 0
    out = capsys.readouterr().out
    table = out[out.index("kind ") :].splitlines()
    assert table[0].split() == ["kind", "questions", "clean", "as", "typed"]
    rows = {line.split()[0]: line.split()[1:] for line in table[1:-1]}
    assert rows["all"] == ["14", "1.000", "1.000"]
    assert rows["link"] == ["1", "1.000", "1.000"]
    assert table[-1] == "small talk not answered: 10 of 10"
