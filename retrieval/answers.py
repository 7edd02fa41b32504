"""What kind of word answers a question, and which words of a passage could be that answer.

A question word says what is wanted: "kapan" a date, "berapa" a number. The passage that answers
a question holds such a word close to the question's own words, and that word is not one of the
question's words (the date a question mentions is not its answer). The lists live in
`data/question_types.tsv` and `data/answer_words.tsv`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from retrieval.text import load_word_map, normalize

_WORD = re.compile(r"[^\W_]+")
_YEAR = re.compile(r"1\d{3}|20\d{2}")


class AnswerType(StrEnum):
    """The kind of word a question asks for."""

    DATE = "date"
    """A year, a month or day name, or a day/month numeral."""
    NUMBER = "number"
    """A numeral or a number word."""
    WORD = "word"
    """Any word: the question words do not say more."""


@dataclass(frozen=True, slots=True)
class AnswerTypes:
    """Question phrases and the answer types they ask for; words that can be such an answer.

    Attributes:
        phrases: Question phrases (normalised words) and the answer type each asks for.
        words: Normalised words (month and day names, number words) and the type they answer.
    """

    phrases: Mapping[tuple[str, ...], AnswerType]
    words: Mapping[str, AnswerType]

    @classmethod
    def default(cls) -> AnswerTypes:
        """The packaged Indonesian lists."""
        return cls(
            phrases={
                tuple(phrase.split()): AnswerType(kind[0])
                for phrase, kind in load_word_map("question_types.tsv").items()
            },
            words={
                word: AnswerType(kind[0])
                for word, kind in load_word_map("answer_words.tsv").items()
            },
        )

    def expected(self, question: str) -> AnswerType:
        """The answer type `question` asks for: its longest known phrase decides (first if tied)."""
        words = _WORD.findall(normalize(question))
        longest = max((len(phrase) for phrase in self.phrases), default=0)
        best: tuple[int, AnswerType] = (0, AnswerType.WORD)
        for start in range(len(words)):
            for size in range(longest, best[0], -1):
                kind = self.phrases.get(tuple(words[start : start + size]))
                if kind is not None:
                    best = (size, kind)
                    break
        return best[1]

    def can_answer(self, kind: AnswerType, word: str) -> bool:
        """Whether the normalised `word` can be an answer of type `kind`.

        Numerals are numbers, and those that look like a year are dates as well. (A day/month
        numeral such as "19/12" is not looked for: news writes it next to a day name.)
        """
        if kind is AnswerType.WORD or self.words.get(word) is kind:
            return True
        if kind is AnswerType.NUMBER:
            return word.isdigit()
        return kind is AnswerType.DATE and _YEAR.fullmatch(word) is not None
