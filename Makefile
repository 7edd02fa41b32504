# Two commands for a newcomer: `make run` and `make test`. Each creates .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= ../shared

.PHONY: run test lint types unit search evaluate format clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23.2"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

test: lint types unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Ask the seed articles from the terminal: make search Q="siapa presiden ukraina"
search: $(STAMP)
	$(BIN)/python -m retrieval search --corpus seeds "$(Q)"

# Answer-quality figures of the README (needs ../shared/eval), BM25 alone and hybrid in each run.
# The first run encodes the external corpus's 3,024 passages (a few minutes; kept in .cache).
evaluate: $(STAMP)
	$(BIN)/python -m retrieval.evaluate $(SHARED)/eval/seed-questions.jsonl --corpus seeds
	$(BIN)/python -m retrieval.evaluate $(SHARED)/eval/english-dev.jsonl --corpus seeds
	$(BIN)/python -m retrieval.evaluate $(SHARED)/eval/external/dev-queries.jsonl \
		--corpus $(SHARED)/eval/external/corpus --holdout 0.1
	$(BIN)/python -m retrieval.evaluate $(SHARED)/eval/external/dev-queries-squad.jsonl \
		--corpus $(SHARED)/eval/external/corpus
	$(BIN)/python -m retrieval.evaluate $(SHARED)/eval/chatty/seed.jsonl --corpus seeds
	$(BIN)/python -m retrieval.evaluate $(SHARED)/eval/chatty/external.jsonl \
		--corpus $(SHARED)/eval/external/corpus

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
