"""Answers questions from news articles: Indonesian-aware BM25 over article paragraphs.

Data flows one way: files → `Corpus` of passages → `Index` → `SearchResult` hits.
This package knows nothing of Telegram or of settings objects.
"""

from retrieval.bm25 import BM25Params, Variant
from retrieval.cache import Opened, open_index
from retrieval.corpus import (
    Article,
    Corpus,
    CorpusError,
    Passage,
    SkippedFile,
    load_corpus,
)
from retrieval.index import Abstention, Hit, Index, SearchParams, SearchResult, Span, sentences
from retrieval.text import ANALYZER_VERSION, Analyzer

__all__ = [
    "ANALYZER_VERSION",
    "Abstention",
    "Analyzer",
    "Article",
    "BM25Params",
    "Corpus",
    "CorpusError",
    "Hit",
    "Index",
    "Opened",
    "Passage",
    "SearchParams",
    "SearchResult",
    "SkippedFile",
    "Span",
    "Variant",
    "load_corpus",
    "open_index",
    "sentences",
]
