"""Answers questions from news articles: Indonesian-aware BM25 over article paragraphs.

Data flows one way: files → `Corpus` of passages → `Index` → `SearchResult` hits.
This package knows nothing of Telegram or of settings objects.
"""

from retrieval.answers import AnswerType
from retrieval.bm25 import BM25Params, Variant
from retrieval.cache import Opened, fingerprint, open_index, prepare_cache, read_cache
from retrieval.chat import Question, Register
from retrieval.corpus import (
    Article,
    Corpus,
    CorpusError,
    Passage,
    Passages,
    SkippedFile,
    carry_over,
    load_corpus,
)
from retrieval.index import Abstention, Hit, Index, SearchParams, SearchResult, Span, sentences
from retrieval.text import ANALYZER_VERSION, Analyzer

__all__ = [
    "ANALYZER_VERSION",
    "Abstention",
    "Analyzer",
    "AnswerType",
    "Article",
    "BM25Params",
    "Corpus",
    "CorpusError",
    "Hit",
    "Index",
    "Opened",
    "Passage",
    "Passages",
    "Question",
    "Register",
    "SearchParams",
    "SearchResult",
    "SkippedFile",
    "Span",
    "Variant",
    "carry_over",
    "fingerprint",
    "load_corpus",
    "open_index",
    "prepare_cache",
    "read_cache",
    "sentences",
]
