"""An on-disk index cache, so a restart with unchanged articles skips analysis and weighting.

The cache is one `.npz` file (numpy arrays and a JSON header; nothing is unpickled). It is
used only when its key matches: a hash of every article file's name and bytes, the language
data files, the analyzer and cache versions, and the search parameters. A stale, corrupt or
unreadable cache is rebuilt, never trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import unicodedata
import uuid
from dataclasses import asdict, dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.corpus import Article, Corpus, Passage, SkippedFile, article_files, load_corpus
from retrieval.index import Index, SearchParams
from retrieval.text import ANALYZER_VERSION, Analyzer

logger = logging.getLogger(__name__)

CACHE_VERSION = "1"
_DATA_FILES = ("stopwords.txt", "slang.tsv", "boilerplate.txt")


@dataclass(frozen=True, slots=True)
class Opened:
    """A corpus and its index, and whether they came from the cache."""

    corpus: Corpus
    index: Index
    from_cache: bool


def fingerprint(directory: Path, params: SearchParams) -> str:
    """The cache key of a corpus directory: changes whenever anything that shapes the index does."""
    # Stems and Unicode rules come from PyStemmer and the Python build: upgrades change terms.
    versions = (
        f"{CACHE_VERSION}\0{ANALYZER_VERSION}\0{metadata.version('PyStemmer')}\0"
        f"{unicodedata.unidata_version}\0{params!r}\0"
    )
    digest = hashlib.sha256(versions.encode())
    data = resources.files("retrieval").joinpath("data")
    for data_file in _DATA_FILES:
        digest.update(data.joinpath(data_file).read_bytes())
    for path, name in article_files(directory):
        if isinstance(name, SkippedFile):
            digest.update(f"\0skipped\0{name.name}\0".encode())
            continue
        digest.update(f"\0{name}\0".encode())
        try:
            with path.open("rb") as file:
                digest.update(hashlib.file_digest(file, "sha256").digest())
        except OSError as error:
            digest.update(f"unreadable {error.errno}".encode())
    return digest.hexdigest()


def open_index(
    directory: Path,
    analyzer: Analyzer,
    cache_file: Path | None,
    params: SearchParams | None = None,
) -> Opened:
    """Load the corpus and its index from the cache if it is current, else build and save it.

    Raises:
        CorpusError: If the directory is missing or holds no usable article.
    """
    params = params or SearchParams()
    key = fingerprint(directory, params) if cache_file else ""
    if cache_file and (cached := _read(cache_file, key, analyzer, params)):
        return Opened(*cached, from_cache=True)
    corpus = load_corpus(directory)
    index = Index(corpus.passages, analyzer, params)
    # Save only if no file changed while loading: the key must describe the bytes indexed.
    if cache_file and fingerprint(directory, params) == key:
        _write(cache_file, key, corpus, index)
    return Opened(corpus, index, from_cache=False)


def _read(
    path: Path, key: str, analyzer: Analyzer, params: SearchParams
) -> tuple[Corpus, Index] | None:
    try:
        with path.open("rb") as file, np.load(file, allow_pickle=False) as saved:
            header = json.loads(bytes(saved["header"]).decode("utf-8"))
            if header.get("key") != key:
                logger.info("index cache %s is out of date; rebuilding", path)
                return None
            arrays = {name: saved[name] for name in saved.files if name != "header"}
        corpus = _corpus_from_json(header["corpus"])
        return corpus, Index.from_arrays(corpus.passages, analyzer, params, arrays)
    except FileNotFoundError:
        return None
    except Exception as error:  # whatever is wrong with a cache, it is rebuilt
        logger.warning("index cache %s is unusable (%r); rebuilding", path, error)
        return None


def _write(path: Path, key: str, corpus: Corpus, index: Index) -> None:
    """Save atomically (write a temporary file, then rename); a failure only costs speed."""
    header = json.dumps({"key": key, "corpus": _corpus_to_json(corpus)}, ensure_ascii=False)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as file:
            arrays = index.to_arrays()
            arrays["header"] = np.frombuffer(header.encode("utf-8"), dtype=np.uint8)
            np.savez(file, allow_pickle=False, **arrays)
        temporary.replace(path)
    except OSError as error:
        logger.warning("could not write the index cache %s: %s", path, error)
        with contextlib.suppress(OSError):
            temporary.unlink()


def _corpus_to_json(corpus: Corpus) -> dict[str, Any]:
    return {
        "articles": [asdict(a) for a in corpus.articles],
        "passages": [[p.article, p.title, p.heading, p.position, p.text] for p in corpus.passages],
        "skipped": [asdict(s) for s in corpus.skipped],
    }


def _corpus_from_json(data: dict[str, Any]) -> Corpus:
    return Corpus(
        articles=tuple(
            Article(a["name"], a["title"], tuple(a["headings"]), a["passages"], a["digest"])
            for a in data["articles"]
        ),
        passages=tuple(Passage(*p) for p in data["passages"]),
        skipped=tuple(SkippedFile(**s) for s in data["skipped"]),
    )
