"""Tanya Artikel: the Telegram bot on top of the retrieval engine."""

import os

# Opt in to python-telegram-bot's coming API: durations such as RetryAfter.retry_after are
# timedeltas. Without it, PTB 22 warns on every flood-control error.
os.environ.setdefault("PTB_TIMEDELTA", "1")
