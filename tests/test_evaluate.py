from collections.abc import Sequence
from pathlib import Path

import pytest

from retrieval import Passage
from retrieval.evaluate import Question, Scores, evaluate, main

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


def test_metrics_of_a_ranking_worked_out_by_hand() -> None:
    paragraphs = [Passage("a.txt", "Judul", None, i, f"paragraf nomor {i}") for i in range(12)]
    # Question i is answered by paragraph i; the ranking below puts it at these places.
    places = {"q0": 1, "q1": 2, "q2": 4, "q3": 11, "q4": None}  # 11th: past the top 10
    answered = {"q0": True, "q1": True, "q2": False, "q3": True, "q4": False, "oos1": False}

    def rank(question: str) -> tuple[bool, Sequence[Passage]]:
        place = places.get(question)
        others = [p for p in paragraphs if p.text != f"paragraf nomor {question[1:]}"]
        ranking = others[:11]
        if place is not None:
            ranking.insert(place - 1, paragraphs[int(question[1:])])
        return answered.get(question, True), ranking

    questions = [Question(q, (f"paragraf nomor {q[1:]}",)) for q in places]
    questions += [Question("oos1", ()), Question("oos2", ())]
    assert evaluate(rank, questions) == Scores(
        hit1=1 / 5,
        hit3=2 / 5,
        mrr10=(1 + 1 / 2 + 1 / 4) / 5,
        answered_in_scope=3 / 5,
        answered_right=1 / 5,  # q0 alone is answered with its paragraph first
        abstained_out_of_scope=1 / 2,
    )


def test_seed_figures_are_the_readme_s(capsys: pytest.CaptureFixture[str]) -> None:
    questions = str(ROOT / "tests/data/seed-questions.jsonl")
    assert main([questions, "--corpus", str(ROOT / "seeds")]) == 0
    rows = {
        line[:28].strip(): line[28:].split()
        for line in capsys.readouterr().out.splitlines()
        if line.startswith(("baseline", "engine", "hybrid"))
    }
    # README, "Measured quality": hit@1, hit@3, MRR@10, answered, ans&right, oos-abst.
    assert rows == {
        "baseline bm25 whitespace": ["0.800", "0.933", "0.878", "0.933", "0.800", "1.000"],
        "engine (BM25 alone)": ["1.000", "1.000", "1.000", "0.933", "0.933", "1.000"],
        "hybrid": ["1.000", "1.000", "1.000", "1.000", "1.000", "1.000"],
    }
