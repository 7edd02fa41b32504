# Two commands for a newcomer: `make run` and `make test`. Each creates .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MUTATE_STAMP := $(VENV)/.installed-mutate
SHARED ?= ../shared

.PHONY: run test quick lint types unit search evaluate format mutate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23.2"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

$(MUTATE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,mutate]"
	touch $(MUTATE_STAMP)

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

# The edit-test loop: everything but the slow tests (processes, the bot over HTTP), no lint.
quick: $(STAMP)
	$(BIN)/pytest -m "not slow" -q

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

# Mutation testing of the decisions (README, "Mutation testing"): slow, about an hour on two
# cores, so not part of `make test`. It resumes where it stopped; `rm -rf mutants` starts afresh.
# MUTANTS="bot.limits.*" narrows it (mutmut's names, shell patterns).
MUTANTS ?= bot.delivery.* bot.limits.* bot.handlers.x_decide__* \
	bot.handlers.x_command_argument__* bot.handlers.x*Handlers*reload__* \
	bot.handlers.x*Handlers*_admitted__* bot.handlers.x*Handlers*_answer__* \
	bot.library.x_diff_articles__* bot.library.x*Library*reload__* \
	bot.library.x*Library*search__* \
	retrieval.index.x*_Fields*scores__* retrieval.index.x*_Fields*matching__* \
	retrieval.index.x*Index*_candidates__* retrieval.index.x*Index*_coverage__* \
	retrieval.index.x*Index*_near_answers__* retrieval.index.x*Index*_fit__* \
	retrieval.index.x*Index*search__* \
	bot.dispatch.x_ordering_key__* bot.dispatch.x*Ledger*__* \
	bot.flood.x_chat_of__* bot.flood.x_is_group__* bot.flood.x_retry_seconds__* \
	bot.flood.x*Pauses*__* \
	bot.polling.x_seconds__* bot.polling.x_poll_delay__* bot.polling.x_poll_again_at_once__* \
	bot.polling.x_spill_now__*
# OMP_NUM_THREADS=1: mutmut forks each mutant's run from a process that may have used the
# encoder's OpenMP pool (libgomp), and a forked child that encodes would then hang.
mutate: $(MUTATE_STAMP)
	set -f; OMP_NUM_THREADS=1 $(BIN)/mutmut run --max-children 2 $(MUTANTS)
	@echo "Not killed (mutants outside MUTANTS are listed as 'not checked' and left out):"
	@$(BIN)/mutmut results | grep -v ": not checked" || true

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache mutants
