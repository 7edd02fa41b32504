"""`python -m bot` as a process: its environment, and stopping it as a service manager would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BOT_COMMAND = (sys.executable, "-m", "bot")


def bot_env(**settings: str) -> dict[str, str]:
    """The environment for the bot, with `settings` (`CORPUS_DIR=...`).

    It is this process's environment without Telegram or admin settings of its own (a
    developer's), with the project on `PYTHONPATH`.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADMIN_"))}
    return env | {"PYTHONPATH": str(ROOT)} | settings


def stop(process: subprocess.Popen[Any], timeout: float = 60.0) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
