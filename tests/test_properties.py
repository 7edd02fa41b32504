"""Property tests: hostile questions and article files never break the engine or the replies."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.constants import MessageLimit

from bot import render
from bot.render import Lang, telegram_length
from retrieval import Analyzer, CorpusError, Index, load_corpus
from testkit.telegram_server import parse_html

ROOT = Path(__file__).resolve().parent.parent
CORPUS = load_corpus(ROOT / "seeds")
INDEX = Index(CORPUS.passages, Analyzer.default())
# Characters that tend to break text handling: joiners, RTL override, combining accent, soft
# hyphen, a regional-indicator half of a flag, emoji, dotted I, sharp s, NUL, markup.
TRICKY = [*"aAzZ09 -'’.,?!<>&\"\n\t", "\u200b", "\u200d", "\u202e", "\u0301", "\u00ad"]
TRICKY += ["\U0001f1ee", "😀", "İ", "ß", "\x00"]

questions = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from(TRICKY), max_size=300),
    st.builds(
        lambda word, times: (word + " ") * times,
        st.sampled_from(["rusia", "yang", "2022", "x" * 50]),
        st.integers(1, 3000),
    ),
)


@settings(max_examples=300, deadline=None)
@given(question=questions, k=st.integers(1, 6), lang=st.sampled_from(list(Lang)))
def test_any_question_gives_a_valid_reply(question: str, k: int, lang: Lang) -> None:
    result = INDEX.search(question, k)
    assert result.answered == bool(result.hits)
    for message in render.answer(result, lang, "siapa presiden ukraina", CORPUS):
        assert 0 < telegram_length(message) <= MessageLimit.MAX_TEXT_LENGTH
        assert parse_html(message).strip()


@settings(max_examples=100, deadline=None)
@given(content=st.binary(max_size=2000), suffix=st.sampled_from([".txt", ".md"]))
def test_any_bytes_as_an_article_never_break_a_load(
    tmp_path_factory: pytest.TempPathFactory, content: bytes, suffix: str
) -> None:
    directory = tmp_path_factory.mktemp("corpus")
    (directory / "good.txt").write_text("Judul\n\nParagraf yang baik.\n", encoding="utf-8")
    (directory / f"any{suffix}").write_bytes(content)
    corpus = load_corpus(directory)
    assert "good.txt" in {a.name for a in corpus.articles}
    assert f"any{suffix}" in {a.name for a in corpus.articles} | {s.name for s in corpus.skipped}
    assert Index(corpus.passages, Analyzer.default()).search("paragraf baik").answered


def test_only_bad_files_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"\xff\xfe")
    with pytest.raises(CorpusError, match="no article with a paragraph"):
        load_corpus(tmp_path)
