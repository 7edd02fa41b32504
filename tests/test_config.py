import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.app import REDACTED, RedactingFormatter
from bot.config import Settings, describe_errors, token_is_wrong

TOKEN = "1234567:AAFakeTokenForTests_0123456789abcdefghij"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, telegram_bot_token=TOKEN, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        ("42,43", {42, 43}),
        ("[42, 43]", {42, 43}),
        ("42", {42}),
        ("", set()),
        (" 42 , 43 ", {42, 43}),
    ],
)
def test_admin_ids_accept_lists_in_both_forms(raw: str, ids: set[int]) -> None:
    assert settings(admin_user_ids=raw).admin_user_ids == ids


def test_defaults() -> None:
    s = settings()
    assert s.telegram_api_base_url == "https://api.telegram.org/bot"
    assert (str(s.corpus_dir), s.top_k, s.log_level, s.webhook_url) == ("seeds", 3, "INFO", None)
    assert s.concurrent_chats == 64


def test_env_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("ADMIN_USER_IDS", "7,8")
    monkeypatch.setenv("TOP_K", "5")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    s = Settings(_env_file=None)
    assert s.admin_user_ids == {7, 8}
    assert s.top_k == 5
    assert s.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"telegram_bot_token": "not-a-token"},
            "TELEGRAM_BOT_TOKEN does not look like a bot token",
        ),
        ({"top_k": 0}, "TOP_K Input should be greater than or equal to 1"),
        ({"concurrent_chats": 0}, "CONCURRENT_CHATS Input should be greater than or equal to 1"),
        # No more than python-telegram-bot's 256 connections for requests other than polling.
        ({"concurrent_chats": 257}, "CONCURRENT_CHATS Input should be less than or equal to 256"),
        ({"webhook_url": "https://example.org/hook"}, "WEBHOOK_SECRET must be set"),
        (
            {"telegram_api_base_url": "http://127.0.0.1:8081"},
            "TELEGRAM_API_BASE_URL must end with /bot (the token is appended to it)",
        ),
        (
            {"telegram_api_base_url": "api.telegram.org/bot"},
            "TELEGRAM_API_BASE_URL must be an http or https URL",
        ),
    ],
)
def test_errors_name_the_setting_without_its_value(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None, **{"telegram_bot_token": TOKEN, **values})  # type: ignore[arg-type]
    text = describe_errors(error.value)
    assert message in text
    assert TOKEN not in text and "not-a-token" not in text


def test_token_is_secret_in_repr() -> None:
    assert TOKEN not in repr(settings())


def test_formatter_redacts_tokens_in_messages_and_tracebacks() -> None:
    formatter = RedactingFormatter("%(message)s")
    try:
        raise RuntimeError(f"failed POST https://api.telegram.org/bot{TOKEN}/getMe")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "url %s", (TOKEN,), sys.exc_info()
        )
    text = formatter.format(record)
    assert TOKEN not in text and text.count(REDACTED) == 2


def test_logging_setup_redacts_and_quietens_httpx() -> None:
    from bot.app import setup_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("DEBUG")
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
        assert all(isinstance(h.formatter, RedactingFormatter) for h in root.handlers)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("https://api.telegram.org/bot", "https://api.telegram.org/bot"),
        ("https://api.telegram.org/bot/", "https://api.telegram.org/bot"),
        (" http://127.0.0.1:8081/bot ", "http://127.0.0.1:8081/bot"),
    ],
)
def test_base_url_loses_a_trailing_slash(given: str, used: str) -> None:
    assert settings(telegram_api_base_url=given).telegram_api_base_url == used


def test_only_a_token_error_is_a_token_error() -> None:
    with pytest.raises(ValidationError) as top_k:
        settings(top_k=0, admin_user_ids="abc")
    assert not token_is_wrong(top_k.value)
    with pytest.raises(ValidationError) as token:
        Settings(_env_file=None, telegram_bot_token="nope")
    assert token_is_wrong(token.value)


def test_ingest_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings()
    assert s.telegram_api_base_file_url == "https://api.telegram.org/file/bot"
    assert (s.ingest_allow_private_hosts, s.ingest_fetch_timeout) == (False, 30.0)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_FILE_URL", "http://127.0.0.1:8081/file/bot/")
    monkeypatch.setenv("INGEST_ALLOW_PRIVATE_HOSTS", "true")
    monkeypatch.setenv("INGEST_FETCH_TIMEOUT", "5")
    s = Settings(_env_file=None)
    assert s.telegram_api_base_file_url == "http://127.0.0.1:8081/file/bot"
    assert (s.ingest_allow_private_hosts, s.ingest_fetch_timeout) == (True, 5.0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"telegram_api_base_file_url": "http://127.0.0.1:8081/file"},
            "TELEGRAM_API_BASE_FILE_URL must be an http or https URL ending with /bot",
        ),
        ({"ingest_fetch_timeout": 0}, "INGEST_FETCH_TIMEOUT Input should be greater than 0"),
        ({"ingest_allow_private_hosts": "maybe"}, "INGEST_ALLOW_PRIVATE_HOSTS Input should be"),
    ],
)
def test_bad_ingest_settings_are_named(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as error:
        settings(**values)
    assert message in describe_errors(error.value)


def test_every_setting_is_described_in_env_example() -> None:
    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text("utf-8")
    names = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line[:40]}
    assert {name.upper() for name in Settings.model_fields} <= names


@pytest.mark.parametrize(
    ("raw", "on"), [(None, True), ("on", True), ("off", False), ("OFF", False), ("0", False)]
)
def test_semantic_is_on_unless_turned_off(raw: str | None, on: bool) -> None:
    assert settings(**({} if raw is None else {"semantic": raw})).semantic is on
