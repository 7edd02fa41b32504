"""Answers questions from news articles: Indonesian-aware BM25 over article paragraphs.

Data flows one way: files → `Corpus` of passages → `Index` → `SearchResult` hits.
This package knows nothing of Telegram or of settings objects.
"""

from retrieval.answers import AnswerType
from retrieval.bm25 import BM25Params, Variant
from retrieval.cache import (
    BuildError,
    IndexConfig,
    Opened,
    Source,
    Stemmer,
    open_index,
    unusable_cache,
)
from retrieval.chat import Question, Register
from retrieval.corpus import (
    Article,
    Corpus,
    CorpusError,
    Passage,
    Passages,
    Skip,
    SkippedFile,
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
    "BuildError",
    "Corpus",
    "CorpusError",
    "Hit",
    "Index",
    "IndexConfig",
    "Opened",
    "Passage",
    "Passages",
    "Question",
    "Register",
    "SearchParams",
    "SearchResult",
    "Skip",
    "SkippedFile",
    "Source",
    "Span",
    "Stemmer",
    "Variant",
    "load_corpus",
    "open_index",
    "sentences",
    "unusable_cache",
]
