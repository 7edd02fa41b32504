"""Chat messages → the questions they ask.

People type to a bot the way they chat: a greeting, an address word, a thank-you or a pasted
link around the question, and sometimes no question at all. `QuestionReader` cleans a message,
sets its conversational register apart (`data/register.tsv`) and reads what is left: the words a
passage must cover and the kind of answer wanted. A message that is nothing but register is
small talk, answered in kind rather than with a passage.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from retrieval.answers import AnswerType, AnswerTypes
from retrieval.text import Analyzer, Term, Word, load_word_list, normalize

# A link: with a scheme or "www.", or a bare domain of a common top-level domain, with any path;
# punctuation right after it belongs to the sentence.
_URL = (
    r"(?:(?<![\w.+-])(?:[a-z][a-z0-9+.-]{0,15}://|www\.)\S+?"
    r"|(?<![\w@.])(?:[\w-]+\.)+(?:com|id|net|org|co|io|me|info|news|tv|ly|gl|gov|edu|ac|go|or"
    r"|my|sg|xyz|site|online|app|dev|ai)\b(?:/\S*?)?)(?=[)\]}>,.;:!?\"']*(?:\s|$))"
)
_MENTION = re.compile(r"(?<![\w@])@\w{2,}")
_REPEATED_MARK = re.compile(r"([!?.,;:…])\1+")
_MIXED_MARKS = re.compile(r"[!?]{2,}")
_SPACES = re.compile(r"[^\S\n]+")
# Between two words, one of these ends a clause (a full stop only when no word follows at once,
# so "5.400" stays one number).
_CLAUSE_BREAK = re.compile(r"[,;:!?…\n]|\.(?!\w)")
_REPEATS = re.compile(r"(.)\1+")
_LETTERS = re.compile(r"[^\W\d_]+")
# A question with this many English function words and no Indonesian one is English.
_ENGLISH_WORDS = 2
# Emoji and pictographs: symbols from the arrows block on, their joiners, variation selectors,
# skin tones, tags and keycaps. Older symbols (°, ©) stay.
_FIRST_PICTOGRAPH = 0x2190
_EMOJI_EXTRAS = frozenset({0x200D, 0x20E3, 0xFE0E, 0xFE0F})


class Register(StrEnum):
    """Kinds of conversational register, most telling first (the order small talk is read in)."""

    ABOUT_BOT = "about_bot"
    """A question about the bot itself ("siapa kamu?")."""
    THANKS = "thanks"
    APOLOGY = "apology"
    FAREWELL = "farewell"
    GREETING = "greeting"
    PING = "ping"
    """Is the bot there? ("test", "p")."""
    PRAISE = "praise"
    ACK = "ack"
    """Agreement or acknowledgement ("ok siap")."""
    LAUGHTER = "laughter"
    REQUEST = "request"
    """Politeness and request markers ("permisi", "mau tanya", "tolong")."""
    ADDRESS = "address"
    """Terms of address ("kak", "min", "gan")."""
    PARTICLE = "particle"
    """Discourse particles and interjections ("dong", "sih", "nih")."""
    LINK = "link"
    """Words that introduce a pasted link ("baca di", "sumber:"); they go with the link."""


class Scope(StrEnum):
    """Where in a message a register word is set apart (see `data/register.tsv`)."""

    ANYWHERE = "anywhere"
    EDGE = "edge"
    BESIDE = "beside"
    LINK = "link"


@dataclass(frozen=True, slots=True)
class Mark:
    """A word of a message found to be register."""

    register: Register
    scope: Scope


@dataclass(frozen=True, slots=True)
class Question:
    """A chat message read as a question.

    Attributes:
        text: The question as cleaned: without links, mentions, emoji, repeated punctuation,
            line breaks, and the register around it.
        terms: Its content words in order (stop words and register words left out).
        optional: Positions in `terms` of the question phrase's words ("tahun" of "tahun
            berapa"): they say how the question asks, so a passage that has them counts them,
            and one that has not is not the worse for it.
        answer_type: The kind of word that answers it.
        register: The kinds of register the message held, most telling first.
        english: Whether it is asked in English rather than Indonesian (`LanguageGate`).
    """

    text: str
    terms: tuple[Term, ...]
    optional: frozenset[int]
    answer_type: AnswerType
    register: tuple[Register, ...]
    english: bool = False

    @property
    def asks(self) -> bool:
        """Whether anything is asked about: a content word outside the question phrase."""
        return len(self.optional) < len(self.terms)

    @property
    def small_talk(self) -> Register | None:
        """The kind of small talk, if the message is nothing but register."""
        return self.register[0] if self.register and not self.asks else None


@dataclass(frozen=True, slots=True)
class RegisterWords:
    """The register word list, ready to match against a message's analysed words.

    Attributes:
        phrases: Analysed, squeezed phrases and what they are.
        patterns: One-word wildcard patterns ("wkwk*") and what they match.
        links: A pattern for a pasted link with the words that introduce it.
    """

    phrases: Mapping[tuple[str, ...], Mark]
    patterns: tuple[tuple[re.Pattern[str], Mark], ...]
    links: re.Pattern[str]

    @classmethod
    def default(cls, analyzer: Analyzer) -> RegisterWords:
        """The packaged list (`data/register.tsv`), its phrases read by `analyzer`."""
        text = resources.files("retrieval").joinpath("data", "register.tsv").read_text("utf-8")
        rows = [
            line.split("\t")
            for line in map(str.strip, text.splitlines())
            if line and not line.startswith("#")
        ]
        return cls.build(
            (
                (phrase.casefold(), Mark(Register(kind), Scope(where)))
                for phrase, kind, where in rows
            ),
            analyzer,
        )

    @classmethod
    def build(cls, entries: Iterable[tuple[str, Mark]], analyzer: Analyzer) -> RegisterWords:
        """Index `entries` (phrase, mark): phrases are analysed as messages will be."""
        phrases: dict[tuple[str, ...], Mark] = {}
        patterns: list[tuple[re.Pattern[str], Mark]] = []
        leads: list[str] = []
        for phrase, mark in entries:
            if mark.scope is Scope.LINK:
                leads.append(r"\s+".join(map(re.escape, phrase.split())))
            elif "*" in phrase:
                literal = map(re.escape, _squeeze(phrase).split("*"))
                patterns.append((re.compile(".*".join(literal)), mark))
            else:
                words = tuple(_squeeze(w.text) for w in analyzer.words(phrase))
                phrases.setdefault(words, mark)
        lead = "|".join(sorted(leads, key=len, reverse=True))
        links = re.compile(rf"(?:(?<!\w)(?:{lead})\s*[:\-–—]?\s*)?(?:{_URL})", re.IGNORECASE)
        return cls(phrases, tuple(patterns), links)

    def match(self, words: Sequence[str], breaks: Sequence[bool]) -> list[Mark | None]:
        """The mark of each word, longest phrase first; a phrase never spans a clause break.

        Args:
            words: The message's analysed words.
            breaks: Whether a clause break comes before each word.
        """
        squeezed = [_squeeze(word) for word in words]
        longest = max(map(len, self.phrases), default=1)
        marks: list[Mark | None] = [None] * len(words)
        start = 0
        while start < len(words):
            size, mark = self._phrase_at(squeezed, breaks, start, longest)
            marks[start : start + size] = [mark] * size
            start += size
        return marks

    def _phrase_at(
        self, squeezed: Sequence[str], breaks: Sequence[bool], start: int, longest: int
    ) -> tuple[int, Mark | None]:
        for size in range(min(longest, len(squeezed) - start), 0, -1):
            if any(breaks[start + 1 : start + size]):
                continue
            if mark := self.phrases.get(tuple(squeezed[start : start + size])):
                return size, mark
        word = squeezed[start]
        return 1, next((m for p, m in self.patterns if p.fullmatch(word)), None)


@dataclass(frozen=True, slots=True)
class LanguageGate:
    """Tells English questions from Indonesian ones by their function words.

    A question with at least two English function words and no Indonesian one is English: an
    Indonesian question that quotes an English title ("Siapa pengarang buku The Clash of ...")
    keeps its Indonesian question word. Names and content words say nothing either way.

    Attributes:
        english: English function words (`data/english.txt`).
        indonesian: Indonesian function and question words (`data/stopwords.txt` less those).
    """

    english: frozenset[str]
    indonesian: frozenset[str]

    @classmethod
    def default(cls) -> LanguageGate:
        """The gate of the packaged word lists."""
        english = load_word_list("english.txt")
        return cls(english, load_word_list("stopwords.txt") - english)

    def is_english(self, text: str) -> bool:
        """Whether `text` is English."""
        words = _LETTERS.findall(normalize(text))
        return sum(word in self.english for word in words) >= _ENGLISH_WORDS and not any(
            word in self.indonesian for word in words
        )


class QuestionReader:
    """Reads chat messages as questions: cleaning, register, answer type, content words."""

    def __init__(
        self,
        analyzer: Analyzer,
        answer_types: AnswerTypes,
        register: RegisterWords,
        languages: LanguageGate | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.answer_types = answer_types
        self.register = register
        self.languages = languages or LanguageGate.default()

    @classmethod
    def default(cls, analyzer: Analyzer, answer_types: AnswerTypes) -> QuestionReader:
        """A reader with the packaged register and language lists."""
        return cls(analyzer, answer_types, RegisterWords.default(analyzer))

    def clean(self, message: str) -> str:
        """`message` without links, mentions, emoji, repeated punctuation and runs of spaces.

        The words that introduce a link go with it; line breaks stay, as clause breaks.
        """
        text = self.register.links.sub("\n", message)
        text = _MENTION.sub(" ", text)
        text = "".join(" " if _is_emoji(char) else char for char in text)
        text = _MIXED_MARKS.sub("?", _REPEATED_MARK.sub(r"\1", text))
        return "\n".join(
            filter(None, (_SPACES.sub(" ", line).strip() for line in text.split("\n")))
        )

    def read(self, message: str) -> Question:
        """Read `message`: what it asks, and the register around it."""
        cleaned = self.clean(message)
        words = self.analyzer.words(cleaned)
        breaks = [
            i == 0 or bool(_CLAUSE_BREAK.search(cleaned, words[i - 1].end, word.start))
            for i, word in enumerate(words)
        ]
        marks = self.register.match([w.text for w in words], breaks)
        content = [
            self.analyzer.is_content(w.text) and m is None
            for w, m in zip(words, marks, strict=True)
        ]
        dropped = _dropped(marks, content, _clauses(breaks))
        kept = [w for w, drop in zip(words, dropped, strict=True) if not drop]
        answer_type, phrase = self.answer_types.find([w.text for w in kept])
        chosen = [(i, w) for i, w in enumerate(kept) if self.analyzer.is_content(w.text)]
        terms = tuple(Term(w.text, self.analyzer.stem(w.text), w.start, w.end) for _, w in chosen)
        optional = frozenset(n for n, (i, _) in enumerate(chosen) if i in phrase)
        found = {m.register for m, drop in zip(marks, dropped, strict=True) if m and drop}
        register = tuple(kind for kind in Register if kind in found)
        text = _question_text(cleaned, words, dropped, content, breaks)
        english = self.languages.is_english(text)
        return Question(text, terms, optional, answer_type, register, english)


def _is_emoji(char: str) -> bool:
    point = ord(char)
    category = unicodedata.category(char)
    return (
        (category in {"So", "Sk", "Co", "Cs"} and point >= _FIRST_PICTOGRAPH)
        or category == "Me"
        or point in _EMOJI_EXTRAS
        or 0xE0000 <= point <= 0xE007F
    )


def _squeeze(word: str) -> str:
    """Letters repeated for emphasis squeezed to one ("makasiiih", "maaf" → "makasih", "maf")."""
    return _REPEATS.sub(r"\1", word)


def _clauses(breaks: Sequence[bool]) -> list[int]:
    """The clause number of each word."""
    clause, numbers = -1, []
    for starts in breaks:
        clause += starts
        numbers.append(clause)
    return numbers


def _dropped(
    marks: Sequence[Mark | None], content: Sequence[bool], clause: Sequence[int]
) -> list[bool]:
    """Which register words to set apart, by where they stand (see `Scope`)."""
    dropped = [m is not None and m.scope is Scope.ANYWHERE for m in marks]
    talking = {clause[i] for i, is_content in enumerate(content) if is_content}
    for i, mark in enumerate(marks):  # clauses of nothing but register and function words
        if mark is not None and clause[i] not in talking:
            dropped[i] = True
    if talking:  # the runs of register words that open and close the question
        first = [i for i, number in enumerate(clause) if number == min(talking)]
        last = [i for i, number in enumerate(clause) if number == max(talking)]
        for run in (_edge_run(first, marks, content), _edge_run(last[::-1], marks, content)):
            if any((mark := marks[i]) and mark.scope is not Scope.BESIDE for i in run):
                for i in run:
                    dropped[i] = True
    return dropped


def _edge_run(
    words: Sequence[int], marks: Sequence[Mark | None], content: Sequence[bool]
) -> list[int]:
    """The register words from the first of `words` on, with the function words between them."""
    run: list[int] = []
    for i in words:
        if content[i] or (marks[i] is None and not run):
            break
        run.append(i)
    while run and marks[run[-1]] is None:
        run.pop()
    return run


def _question_text(
    cleaned: str,
    words: Sequence[Word],
    dropped: Sequence[bool],
    content: Sequence[bool],
    breaks: Sequence[bool],
) -> str:
    """The question's own words as typed, from its first kept word to its last.

    Only clauses that ask something count; when none does, the whole cleaned message.
    """
    clause = _clauses(breaks)
    asking = {clause[i] for i, is_content in enumerate(content) if is_content}
    kept = [w for i, w in enumerate(words) if not dropped[i] and clause[i] in asking]
    if not kept:
        return " ".join(cleaned.split())
    end = kept[-1].end
    if cleaned[end : end + 1] == "?":
        end += 1
    return " ".join(cleaned[kept[0].start : end].split())
