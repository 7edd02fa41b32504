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
