"""Settings, read once at start-up from the environment and `.env` (see `.env.example`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# A Bot API token: the bot's numeric id, a colon, and a secret of URL-safe characters.
TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


class Settings(BaseSettings):
    """Everything the bot can be configured with; `.env.example` explains each setting."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    telegram_bot_token: SecretStr
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    admin_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    corpus_dir: Path = Path("seeds")
    index_cache: Path | None = Path(".cache/index.npz")
    top_k: int = Field(default=3, ge=1, le=10)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    flood_messages_per_second: float = Field(default=30.0, gt=0)
    flood_messages_per_minute_per_group: float = Field(default=20.0, gt=0)
    rate_limit_questions: int = Field(default=6, ge=1)
    rate_limit_chat_questions: int = Field(default=20, ge=1)
    rate_limit_seconds: float = Field(default=60.0, gt=0)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    # Where the bot downloads files sent to it (getFile's file_path is appended).
    telegram_api_base_file_url: str = "https://api.telegram.org/file/bot"
    # Adding articles from links (bot/fetch.py).
    ingest_allow_private_hosts: bool = False
    ingest_fetch_timeout: float = Field(default=30.0, gt=0, le=600)
    stats_db: Path | None = Path(".cache/stats.sqlite3")
    feedback: bool = True
    stats_retention_days: int = Field(default=30, ge=1)
    semantic: bool = True
    concurrent_chats: int = Field(default=64, ge=1, le=256)

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_PATTERN.fullmatch(value.get_secret_value().strip()):
            raise ValueError("does not look like a bot token (digits, a colon, then the secret)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("telegram_api_base_url")
    @classmethod
    def _base_url_shape(cls, value: str) -> str:
        """An http(s) URL ending in /bot, which the token is appended to; a trailing / goes."""
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http or https URL, such as https://api.telegram.org/bot")
        if not parts.path.endswith("/bot") or parts.query or parts.fragment:
            raise ValueError(
                "must end with /bot (the token is appended to it), "
                "such as https://api.telegram.org/bot"
            )
        return url

    @field_validator("telegram_api_base_file_url")
    @classmethod
    def _file_url_shape(cls, value: str) -> str:
        """An http(s) URL ending in /bot, which the token is appended to (PTB's base_file_url)."""
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        if (
            parts.scheme not in {"http", "https"}
            or not parts.netloc
            or not parts.path.endswith("/bot")
            or parts.query
            or parts.fragment
        ):
            raise ValueError(
                "must be an http or https URL ending with /bot (the token is appended to it), "
                "such as https://api.telegram.org/file/bot"
            )
        return url

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        """Accept `42,43`, `[42, 43]` or a single id."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in re.split(r"[,\s]+", text) if part]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("webhook_url", "webhook_secret", "index_cache", "stats_db", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET must be set with WEBHOOK_URL (Telegram sends it back)")
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def token_is_wrong(error: ValidationError) -> bool:
    """Whether the bot token is among the settings `error` is about."""
    return any(item["loc"][:1] == ("telegram_bot_token",) for item in error.errors())


def describe_errors(error: ValidationError) -> str:
    """One line naming each bad setting and the problem, never the value that was given.

    pydantic's own message repeats the input, which can be the token.
    """
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        name = str(item["loc"][0]).upper() if item["loc"] else "settings"  # not "IDS.0"
        if item["type"] == "missing":
            message = "is not set"
        elif item["type"] == "value_error":
            message = str(item.get("ctx", {}).get("error", item["msg"]))
        else:
            message = item["msg"]
        parts.append(f"{name} {message}")
    return "; ".join(parts)
