from __future__ import annotations

import pytest

from bot import buttons
from bot.buttons import Kind, Press
from bot.render import Lang
from bot.stats import new_answer_id
from retrieval import Article, Corpus

KEY = buttons.article_key("rob.md")


@pytest.mark.parametrize(
    ("data", "press"),
    [
        ("src:0", Press(Kind.SOURCES_PAGE, page=0)),
        ("src:12", Press(Kind.SOURCES_PAGE, page=12)),
        ("rml:3", Press(Kind.REMOVE_PAGE, page=3)),
        (f"rmq:{KEY}", Press(Kind.REMOVE_ASK, key=KEY)),
        (f"rmy:{KEY}", Press(Kind.REMOVE_YES, key=KEY)),
        ("rmx:", Press(Kind.REMOVE_CANCEL)),
        ("rmy:1234567890123456", Press(Kind.REMOVE_YES, key="1234567890123456")),
        ("fu:Ab3_-x9Kq0Zz", Press(Kind.VOTE_UP, key="Ab3_-x9Kq0Zz")),
        ("fd:Ab3_-x9Kq0Zz", Press(Kind.VOTE_DOWN, key="Ab3_-x9Kq0Zz")),
        # not ours, or not well-formed
        ("fu:", None),
        ("fu:Ab3_-x9Kq0Z", None),
        ("fd:Ab3_-x9Kq0Zz1", None),
        ("fu:Ab3_-x9Kq0Z!", None),
        (f"fu:{KEY}", None),
        ("rmq:Ab3_-x9Kq0Zz", None),
        ("src:", None),
        ("src:-1", None),
        ("src:1234567", None),
        ("src:abc", None),
        ("rmq:", None),
        ("rmq:3", None),
        (f"rmq:{KEY.upper()}", None),
        (f"rmq:{KEY}0", None),
        ("rmq:../../etc/passwd", None),
        ("rmx:1", None),
        (f"rmy:{KEY}\n", None),
        ("del:1", None),
        ("", None),
        (None, None),
    ],
)
def test_parse(data: str | None, press: Press | None) -> None:
    assert buttons.parse(data) == press
    if press is not None:
        assert buttons.parse(press.data) == press


def test_keys_find_articles_and_stale_keys_find_nothing() -> None:
    articles = (Article("a.md", "A", (), 1, "d"), Article("rob.md", "Rob", (), 1, "e"))
    assert buttons.find(articles, KEY) == articles[1]
    assert buttons.find(articles[:1], KEY) is None
    assert len(KEY) == 16 and buttons.article_key("rob.txt") != KEY


@pytest.mark.parametrize(("items", "pages"), [(0, 1), (1, 1), (8, 1), (9, 2), (17, 3)])
def test_page_count(items: int, pages: int) -> None:
    assert buttons.page_count(items, buttons.REMOVE_PER_PAGE) == pages


def callback_data(markup: object) -> list[list[str]]:
    rows = markup.inline_keyboard  # type: ignore[attr-defined]
    return [[button.callback_data for button in row] for row in rows]


def test_remove_keyboard_pages_and_fits_telegrams_limits() -> None:
    long_name = "x" * 200 + ".md"
    articles = tuple(Article(f"{i:02}-{long_name}", "Judul " * 40, (), 1, "d") for i in range(10))
    corpus = Corpus(articles, (), ())
    first = buttons.remove_keyboard(corpus, 0, Lang.ID)
    data = callback_data(first)
    assert len(data) == 8 + 2  # eight articles, the page turn, cancel
    assert data[0] == [f"rmq:{buttons.article_key(articles[0].name)}"]
    assert data[8] == ["rml:1"] and data[9] == ["rmx:"]
    last = callback_data(buttons.remove_keyboard(corpus, 1, Lang.EN))
    assert last[2] == ["rml:0"] and len(last) == 4
    for row in first.inline_keyboard:
        for button in row:
            assert len(button.text) <= 60
            assert 1 <= len(str(button.callback_data).encode()) <= 64


def test_sources_keyboard_turns_pages() -> None:
    assert buttons.sources_keyboard(0, 1, Lang.ID) is None
    assert callback_data(buttons.sources_keyboard(0, 3, Lang.ID)) == [["src:1"]]
    assert callback_data(buttons.sources_keyboard(1, 3, Lang.ID)) == [["src:0", "src:2"]]
    assert callback_data(buttons.sources_keyboard(2, 3, Lang.ID)) == [["src:1"]]


def test_confirm_keyboard() -> None:
    article = Article("rob.md", "Rob", (), 1, "d")
    assert callback_data(buttons.confirm_keyboard(article, Lang.ID)) == [[f"rmy:{KEY}", "rmx:"]]


def test_feedback_keyboard_is_one_row_for_an_answer() -> None:
    answer = new_answer_id()
    (row,) = buttons.feedback_keyboard(answer).inline_keyboard
    assert [(b.text, buttons.parse(b.callback_data)) for b in row] == [  # type: ignore[arg-type]
        ("👍", Press(Kind.VOTE_UP, key=answer)),
        ("👎", Press(Kind.VOTE_DOWN, key=answer)),
    ]
    assert all(len(str(b.callback_data).encode()) <= 64 for b in row)
