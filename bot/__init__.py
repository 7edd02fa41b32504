"""Tanya Artikel: the Telegram bot on top of the retrieval engine."""
