"""What kind of word answers a question, and which words of a passage could be that answer.

A question word says what is wanted: "kapan" a date, "berapa" a number. The passage that answers
a question holds such a word close to the question's own words, and that word is not one of the
question's words (the date a question mentions is not its answer). The lists live in
`data/question_types.tsv` and `data/answer_words.tsv`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from retrieval.text import Analyzer, load_word_map, normalize

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
    def default(cls, analyzer: Analyzer | None = None) -> AnswerTypes:
        """The packaged Indonesian lists; question phrases read by `analyzer` when given.

        Reading the phrases as questions are read lets one entry cover its chat spellings
        ("tahun berapa" also matches "thn brp").
        """

        def words(phrase: str) -> tuple[str, ...]:
            if analyzer is None:
                return tuple(_WORD.findall(normalize(phrase)))
            return tuple(word.text for word in analyzer.words(phrase))

        return cls(
            phrases={
                words(phrase): AnswerType(kind[0])
                for phrase, kind in load_word_map("question_types.tsv").items()
            },
            words={
                word: AnswerType(kind[0])
                for word, kind in load_word_map("answer_words.tsv").items()
            },
        )

    def find(self, words: Sequence[str]) -> tuple[AnswerType, range]:
        """The answer type a question's `words` ask for, and where its question phrase stands.

        The longest known phrase decides (the first if tied); with none, any word can answer
        and the range is empty.
        """
        longest = max((len(phrase) for phrase in self.phrases), default=0)
        best: tuple[AnswerType, range] = (AnswerType.WORD, range(0))
        for start in range(len(words)):
            for size in range(longest, len(best[1]), -1):
                kind = self.phrases.get(tuple(words[start : start + size]))
                if kind is not None:
                    best = (kind, range(start, start + size))
                    break
        return best

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
