"""The test Bot API server's documents, file downloads, buttons and edits, over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from testkit.telegram_server import FakeTelegram

TOKEN = "1234567:AAFakeTokenForTests_0123456789abcdefghij"


@pytest.fixture
def server() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram(TOKEN)
    telegram.start()
    yield telegram
    telegram.stop()


def call(server: FakeTelegram, method: str, **params: Any) -> Any:
    """A Bot API call as PTB makes it: form values JSON-encoded, strings as they are."""
    body = json.dumps(params).encode()
    request = urllib.request.Request(
        f"{server.base_url}{TOKEN}/{method}", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


def test_documents_are_served_by_get_file_and_the_file_path(server: FakeTelegram) -> None:
    message = server.push_document(
        server.private_chat(1), server.user(1), b"# Judul\n\nIsi.\n", "a.md", mime_type="text/md"
    )
    document = message["document"]
    assert (document["file_name"], document["file_size"]) == ("a.md", 14)
    found = call(server, "getFile", file_id=document["file_id"])["result"]
    assert found["file_size"] == 14 and found["file_path"].startswith("documents/")
    # PTB quotes the path, the token's colon included.
    url = f"{server.file_base_url}{TOKEN.replace(':', '%3A')}/{found['file_path']}"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() == b"# Judul\n\nIsi.\n"
    assert server.downloads == [found["file_path"]]
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{server.file_base_url}wrong-token/{found['file_path']}", timeout=5)
    assert call(server, "getFile", file_id="nope")["description"] == "Bad Request: invalid file_id"
    big = server.push_document(server.private_chat(1), server.user(1), b"x" * (21 * 1024 * 1024))
    too_big = call(server, "getFile", file_id=big["document"]["file_id"])
    assert too_big["description"] == "Bad Request: file is too big"


def test_buttons_callbacks_and_edits(server: FakeTelegram) -> None:
    keyboard = {"inline_keyboard": [[{"text": "Next ›", "callback_data": "src:1"}]]}
    sent = call(server, "sendMessage", chat_id=1, text="page 1", reply_markup=keyboard)["result"]
    assert sent["reply_markup"] == keyboard
    query = server.push_callback(server.user(1), server.sent[0], "src:1")
    assert server.updates[-1]["callback_query"] == query
    assert (
        query["message"]["message_id"] == sent["message_id"] and "_params" not in query["message"]
    )
    assert call(server, "answerCallbackQuery", callback_query_id=query["id"])["result"] is True
    edited = call(
        server, "editMessageText", chat_id=1, message_id=sent["message_id"], text="page 2"
    )
    assert edited["result"]["text"] == "page 2"
    assert [e["_method"] for e in server.wait_edits(1)] == ["editMessageText"]
    bad = {"inline_keyboard": [[{"text": "x", "callback_data": "y" * 65}]]}
    refused = call(server, "sendMessage", chat_id=1, text="t", reply_markup=bad)
    assert refused["description"] == "Bad Request: BUTTON_DATA_INVALID"
    assert call(server, "editMessageReplyMarkup", chat_id=1, message_id=1, reply_markup=keyboard)[
        "ok"
    ]
    assert len(server.edits) == 2
