import io
import json
from pathlib import Path

import pytest

from retrieval.__main__ import main

SEEDS = str(Path(__file__).resolve().parent.parent / "seeds")


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    code = main(list(args), stdin=io.StringIO(stdin))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_prints_one_object_per_question(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "search", "--corpus", SEEDS, "--json", "siapa presiden ukraina", "halo"
    )
    assert code == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["query"] == "siapa presiden ukraina"
    assert first["answered"] is True
    hit = first["hits"][0]
    assert set(hit) >= {"article", "title", "heading", "text", "score"}
    assert hit["heading"] == "Ukraina Siapkan Jaminan Keamanan"
    assert "Zelenskyy" in hit["text"]
    assert (second["answered"], second["hits"]) == (False, [])
    assert (second["abstention"], second["small_talk"]) == ("small_talk", "greeting")


def test_text_says_why_small_talk_gets_no_passage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "search", "--corpus", SEEDS, "makasih kak!", "siapa kamu?")
    assert code == 0
    assert "(no answer: small_talk, thanks)" in out
    assert "(no answer: small_talk, about_bot)" in out


def test_json_shows_the_question_as_cleaned(capsys: pytest.CaptureFixture[str]) -> None:
    message = "halo kak 👋 siapa presiden ukraina??? https://contoh.co.id/a/1"
    code, out, _ = run(capsys, "search", "--corpus", SEEDS, "--json", message)
    assert code == 0
    result = json.loads(out)
    assert (result["cleaned"], result["small_talk"]) == ("siapa presiden ukraina?", None)
    assert "Zelenskyy" in result["hits"][0]["text"]


def test_reads_questions_from_stdin_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    questions = "kapan invasi dimulai\n\nsiapa dubes rusia utk indonesia\n"
    code, out, _ = run(
        capsys, "search", "--corpus", SEEDS, "--json", "--top-k", "1", stdin=questions
    )
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["query"] for line in lines] == [
        "kapan invasi dimulai",
        "siapa dubes rusia utk indonesia",
    ]
    assert all(len(line["hits"]) == 1 for line in lines)


@pytest.mark.parametrize(("semantic", "answered"), [([], False), (["--semantic"], True)])
def test_semantic_answers_english_questions(
    capsys: pytest.CaptureFixture[str], semantic: list[str], answered: bool
) -> None:
    question = "What are Western countries giving to Ukraine?"
    code, out, _ = run(capsys, "search", "--corpus", SEEDS, "--json", *semantic, question)
    assert code == 0
    result = json.loads(out)
    assert result["answered"] is answered
    assert not answered or "Sejak awal invasi pada Februari 2022" in result["hits"][0]["text"]


def test_text_output_marks_matched_words(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "search", "--corpus", SEEDS, "siapa presiden ukraina")
    assert code == 0
    assert "› Ukraina Siapkan Jaminan Keamanan" in out
    assert "[Presiden] [Ukraina] Volodymyr Zelenskyy" in out


@pytest.mark.parametrize(
    "args",
    [
        ["search", "--corpus", "/no/such/dir", "x"],
        ["search", "--corpus", "EMPTY", "x"],
        ["search", "x"],
        ["search", "--corpus", SEEDS, "--top-k", "0", "x"],
        ["frobnicate"],
    ],
)
def test_bad_usage_and_missing_corpus_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str]
) -> None:
    args = [str(tmp_path) if a == "EMPTY" else a for a in args]
    code: int | str | None
    try:
        code = main(args, stdin=io.StringIO(""))
    except SystemExit as stop:
        code = stop.code  # argparse exits by itself on bad usage
    _, err = capsys.readouterr()
    assert code == 2
    assert len(err.strip().splitlines()) == 1


def test_json_gives_each_hit_its_articles_url_and_date(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "rob.md").write_text(
        "---\nurl: https://kabar.example/rob\ndate: 2025-03-01\n---\n"
        "# Banjir Rob\n\nBanjir rob merendam Semarang pada Jumat malam.\n",
        encoding="utf-8",
    )
    (tmp_path / "gempa.txt").write_text(
        "Gempa\n\nGempa mengguncang Cianjur pada November.\n", encoding="utf-8"
    )
    code, out, _ = run(
        capsys,
        "search",
        "--corpus",
        str(tmp_path),
        "--json",
        "banjir rob semarang",
        "gempa cianjur",
    )
    assert code == 0
    rob, gempa = (json.loads(line)["hits"][0] for line in out.splitlines())
    assert (rob["url"], rob["date"]) == ("https://kabar.example/rob", "2025-03-01")
    assert (gempa["url"], gempa["date"]) == (None, None)
