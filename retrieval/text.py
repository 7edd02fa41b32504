"""Indonesian text analysis: normalisation, word splitting, slang, stop words and stemming.

The same `Analyzer` reads articles and questions, so both sides of a match are spelled alike.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib import resources

import Stemmer
from wordfreq import zipf_frequency

# Bump when analysis changes the terms it produces: on-disk index caches are keyed on it.
ANALYZER_VERSION = "2"

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011"), "-")
_APOSTROPHES = re.compile(r"(?<=[^\W\d_])['\u2019\u02bc](?=[^\W\d_])")
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
# A word in raw text may also hold joiners, combining accents, apostrophes and Unicode hyphens.
_JOINERS = "\u00ad\u200b-\u200d\u2060\u0300-\u036f"
# A number with thousands separators ("5.400", "1.000.000") is one word, read without them.
_THOUSANDS = r"(?<![\d.])\d{1,3}(?:\.\d{3})+(?![.\d])"
_RAW_WORD = re.compile(
    rf"{_THOUSANDS}|"
    rf"[^\W_](?:[^\W_]|[{_JOINERS}])*(?:['\u2019\u02bc\u2010\u2011-](?:[^\W_]|[{_JOINERS}])+)*"
)
# Chat shorthand for reduplication: "negara2" means "negara-negara", and typed without the
# hyphen, "negaranegara" does too (halves of four letters or more: "cincin" is a word).
_CHAT_PLURAL = re.compile(r"^([^\W\d_]{2,})2$|^([^\W\d_]{4,})\2$")
# Jakarta colloquial verb forms: the meN- prefix without its "me" ("nolak" for "menolak",
# "ngirim" for "mengirim") and the suffix -in for -kan ("kirimin" for "kirimkan"). A form is
# read as the formal word only if that word is clearly commoner (Zipf units: 0.5 is about 3x).
_NASAL_STARTS = ("m", "n")
_VOWELS = frozenset("aeiou")
_MIN_COLLOQUIAL, _COMMONER_BY = 5, 0.5


@dataclass(frozen=True, slots=True)
class Word:
    """A word of a text as the analyzer reads it, stop words included.

    Attributes:
        text: The normalised word (case-folded, slang expanded, reduplication reduced,
            colloquial affixes removed).
        start: Start offset of the source word in the original text.
        end: End offset of the source word in the original text.
    """

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Term:
    """One content word of a text, as matched by the index.

    Attributes:
        surface: The normalised word form (case-folded, slang expanded, reduplication reduced).
        stem: The word's stem; words that share a stem match each other.
        start: Start offset of the source word in the original text.
        end: End offset of the source word in the original text.
    """

    surface: str
    stem: str
    start: int
    end: int


def normalize(text: str) -> str:
    """Return `text` in NFKC, case-folded, without invisible characters.

    Offsets can shift under NFKC, so callers that need offsets normalise word by word.
    """
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_DASHES)
    return _APOSTROPHES.sub("", text.casefold())


def split_reduplication(word: str) -> list[str]:
    """Split a hyphenated word into the words it stands for.

    Full and affixed reduplication collapse to the base (`negara-negara`, `negara2` and
    `negaranegara` → `negara`, `anak-anaknya` → `anak`, `berkali-kali` → `berkali`); compounds split
    (`rusia-ukraina` → `rusia`, `ukraina`).
    """
    if match := _CHAT_PLURAL.match(word):
        return [match.group(1) or match.group(2)]
    parts = [part for part in word.split("-") if part]
    if len(parts) == 2:
        first, second = parts
        if first == second or second.startswith(first) or first.endswith(second):
            return [first]
    return list(dict.fromkeys(parts))


def load_word_list(name: str) -> frozenset[str]:
    """Read a packaged one-word-a-line data file, skipping blank lines and `#` comments."""
    return frozenset(_data_lines(name))


def load_word_map(name: str) -> dict[str, tuple[str, ...]]:
    """Read a packaged `word<TAB>replacement words` data file."""
    mapping: dict[str, tuple[str, ...]] = {}
    for line in _data_lines(name):
        key, _, value = line.partition("\t")
        mapping[key.strip()] = tuple(value.split())
    return mapping


def _data_lines(name: str) -> Iterator[str]:
    text = resources.files("retrieval").joinpath("data", name).read_text(encoding="utf-8")
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            yield line.casefold()


# Zipf frequency (log10 of occurrences per billion words) of the rarest and commonest words.
_ZIPF_RARE, _ZIPF_COMMON = 2.0, 8.0


@lru_cache(maxsize=1 << 17)
def zipf(word: str) -> float:
    """How common `word` is in Indonesian at large: wordfreq's Zipf frequency, 0 if unknown."""
    return float(zipf_frequency(word, "id"))


def general_rarity(word: str) -> float:
    """How rare `word` is in Indonesian at large, from 0.05 (very common) to 1 (rare or unknown).

    Uses wordfreq's Indonesian frequencies, so a word that a small corpus has never seen is not
    automatically treated as highly informative ("dimulai" is common, "Tolchenov" is not).
    """
    common = max(zipf(word), _ZIPF_RARE)
    return min(1.0, max(0.05, (_ZIPF_COMMON - common) / (_ZIPF_COMMON - _ZIPF_RARE)))


def formal_form(word: str, frequency: Callable[[str], float] = zipf) -> str:
    """The formal word a Jakarta colloquial verb form stands for, else `word` itself.

    `nolak` → `menolak`, `ngirim` → `mengirim`, `nyerang` → `menyerang`, `kirimin` →
    `kirimkan`, `ngirimin` → `mengirimkan`, `ngebantu` → `bantu`; the stemmer then finds the
    base as for any formal word. The formal word counts only when Indonesian at large uses it
    clearly more than the form (`frequency`, in Zipf units), so words that merely look
    prefixed or suffixed (`negara`, `masukan`, `Lenin`) stay as they are.
    """
    if len(word) < _MIN_COLLOQUIAL or not word.isalpha():
        return word
    bare = word[3:]  # "ngebantu": nge- before a consonant stands for the whole meN-
    bases = [word, bare] if word.startswith("nge") and bare[:1] not in _VOWELS else [word]
    forms = [*bases, *(base[:-2] + "kan" for base in bases if base.endswith("in"))]
    candidates = forms[1:] + [f"me{form}" for form in forms if form.startswith(_NASAL_STARTS)]
    if not candidates:
        return word
    best_frequency, best = max((frequency(c), c) for c in candidates)
    return best if best_frequency >= frequency(word) + _COMMONER_BY else word


def snowball_stemmer() -> Callable[[str], str]:
    """Snowball Indonesian stemmer (PyStemmer, BSD licence)."""
    return Stemmer.Stemmer("indonesian").stemWord  # type: ignore[no-any-return]


def _stem_fully(stem: Callable[[str], str], word: str) -> str:
    """Stem until the word stops changing: Snowball strips one affix layer per pass.

    ("keterlibatan" → "terlibat" → "libat", so it meets "terlibat" → "libat").
    """
    for _ in range(3):
        shorter = stem(word)
        if shorter == word:
            break
        word = shorter
    return word


class Analyzer:
    """Turns text into content terms: normalise, split, expand slang, drop stop words, stem.

    Words and stems are cached per unique spelling, since news vocabulary repeats heavily.
    """

    def __init__(
        self,
        *,
        stop_words: frozenset[str],
        slang: Mapping[str, tuple[str, ...]],
        stem: Callable[[str], str],
        frequency: Callable[[str], float] = zipf,
        cache_size: int = 1 << 19,
    ) -> None:
        self.stop_words = stop_words
        self.slang = dict(slang)
        self._frequency = frequency
        self._stem = lru_cache(maxsize=cache_size)(partial(_stem_fully, stem))
        # Searches and index builds run in worker threads; PyStemmer objects are not thread-safe.
        self._lock = threading.Lock()
        self._expand = lru_cache(maxsize=cache_size)(self._expand_word)
        self._word = lru_cache(maxsize=cache_size)(self._analyze_word)

    @classmethod
    def default(cls) -> Analyzer:
        """The analyzer the engine ships with: packaged word lists and Snowball stemming."""
        return cls(
            stop_words=load_word_list("stopwords.txt"),
            slang=load_word_map("slang.tsv"),
            stem=snowball_stemmer(),
        )

    def stem(self, word: str) -> str:
        """Stem one normalised word (numbers and short words are kept as they are)."""
        if len(word) < 4 or not word.isalpha():
            return word
        with self._lock:
            return self._stem(word)

    def is_content(self, word: str) -> bool:
        """Whether a normalised word carries meaning: not a stop word, not a lone letter."""
        return word not in self.stop_words and (len(word) > 1 or word.isdigit())

    def words(self, text: str) -> list[Word]:
        """Every word of `text` in order, stop words included: what a question is read from."""
        return [
            Word(word, match.start(), match.end())
            for match in _RAW_WORD.finditer(text)
            for word in self._expand(match.group())
        ]

    def terms(self, text: str) -> list[Term]:
        """Return the content terms of `text` in order: no stop words, no lone letters."""
        return [
            Term(surface, stem, match.start(), match.end())
            for match in _RAW_WORD.finditer(text)
            for surface, stem in self._word(match.group())
        ]

    def tokens(self, text: str) -> list[tuple[str, str]]:
        """The (surface, stem) pairs of `terms`, without spans: the lean form for indexing."""
        return [pair for match in _RAW_WORD.finditer(text) for pair in self._word(match.group())]

    def _expand_word(self, raw: str) -> tuple[str, ...]:
        """The normalised words one word as written stands for; cached per spelling.

        Slang is expanded first (its entries are deliberate); a word it leaves alone may still
        be a colloquial verb form, whose formal word goes through the slang map in turn.
        """
        found: list[str] = []
        for token in _WORD.findall(normalize(raw).replace(".", "")):
            for part in split_reduplication(token):
                for word in self.slang.get(part, (part,)):
                    for piece in split_reduplication(word):
                        formal = formal_form(piece, self._frequency)
                        found.extend(self.slang.get(formal, (formal,)))
        return tuple(found)

    def _analyze_word(self, raw: str) -> tuple[tuple[str, str], ...]:
        """The (surface, stem) content terms of one word as written; cached per spelling."""
        return tuple((word, self.stem(word)) for word in self._expand(raw) if self.is_content(word))
