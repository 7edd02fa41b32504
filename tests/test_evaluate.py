from pathlib import Path

import pytest

from retrieval.evaluate import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("split", "count"), [(None, 19), ("even", 10), ("odd", 9)])
def test_split_keeps_one_half_of_the_questions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, split: str | None, count: int
) -> None:
    options = ["--split", split] if split else []
    questions = str(ROOT / "tests/data/seed-questions.jsonl")
    corpus = ["--corpus", str(ROOT / "seeds"), "--cache", str(tmp_path)]
    assert main([questions, *corpus, *options]) == 0
    assert capsys.readouterr().out.startswith(f"{count} questions")


def test_bm25_alone_and_hybrid_are_measured_in_the_same_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    questions = str(ROOT / "tests/data/english-dev.jsonl")
    assert main([questions, "--corpus", str(ROOT / "seeds"), "--cache", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    alone = next(line for line in lines if line.startswith("engine (BM25 alone)")).split()
    hybrid = next(line for line in lines if line.startswith("hybrid ")).split()
    # hit@1 ... ans&right, oos-abst: English questions are answered from the Indonesian article.
    assert (alone[-2], alone[-1]) == ("0.200", "1.000")
    assert (hybrid[1:], list(tmp_path.glob("seeds-*.npz")) != []) == (["1.000"] * 6, True)


def test_no_semantic_measures_bm25_alone(capsys: pytest.CaptureFixture[str]) -> None:
    questions = str(ROOT / "tests/data/english-dev.jsonl")
    assert main([questions, "--corpus", str(ROOT / "seeds"), "--no-semantic"]) == 0
    out = capsys.readouterr().out
    assert "engine (BM25 alone)" in out and "hybrid" not in out


def test_chat_style_questions_are_measured_clean_and_as_typed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    questions = str(ROOT / "tests/data/chatty-seed.jsonl")
    assert main([questions, "--corpus", str(ROOT / "seeds"), "--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    alone, hybrid = out[out.index("engine (BM25 alone):\n") :].split("hybrid:\n")
    for table in (alone, hybrid):
        lines = table.splitlines()[table.startswith("engine") :]
        assert lines[0].split() == ["kind", "questions", "clean", "as", "typed"]
        rows = {line.split()[0]: line.split()[1:] for line in lines[1:-1]}
        assert rows["all"] == ["14", "1.000", "1.000"]
        assert rows["link"] == ["1", "1.000", "1.000"]
        assert lines[-1] == "small talk not answered: 10 of 10"
