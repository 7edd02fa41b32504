"""A small Bot API server on 127.0.0.1 for end-to-end tests: real HTTP, real JSON.

It keeps a queue of updates for getUpdates (with offsets and long polling), records what the bot
sends, checks messages the way Telegram does (HTML entities, 4,096 characters, forum topics,
inline keyboards), and can be told to fail the next calls of a method: an error answer (429 with
retry_after, 400, 403, 500, ...), a hang past the client's timeout, or a connection closed
without an answer. Documents pushed to the bot are served by getFile and the file download
path (`/file/bot<token>/<file_path>`, PTB's `base_file_url`); button presses come as callback
queries, answered with answerCallbackQuery, and edits (editMessageText,
editMessageReplyMarkup) are recorded in `edits`.
"""

from __future__ import annotations

import contextlib
import email.policy
import itertools
import json
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

JSON = dict[str, Any]
# Parameters that arrive as plain strings; every other form value is JSON-encoded by the client.
_RAW_PARAMETERS = {"text", "parse_mode", "action", "url", "secret_token", "language_code"}
_ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "blockquote", "tg-spoiler", "span", "tg-emoji",
}  # fmt: skip
MESSAGE_LIMIT = 4096
# Telegram's limits: getFile serves files up to 20 MB; a button's callback data is 1-64 bytes.
FILE_LIMIT = 20 * 1024 * 1024
CALLBACK_DATA_LIMIT = 64
# The updates getUpdates sends when the bot has not said which: all but these three.
DEFAULT_UPDATES = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post",
        "business_connection", "business_message", "edited_business_message",
        "deleted_business_messages", "inline_query", "chosen_inline_result", "callback_query",
        "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer",
        "my_chat_member", "chat_join_request", "chat_boost", "removed_chat_boost",
    }
)  # fmt: skip
_TAG = re.compile(r"</?[a-z-]+(?:\s[^<>]*)?>")
_BAD_AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")


class ApiError(Exception):
    """A Bot API error response."""

    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to = migrate_to


@dataclass(frozen=True)
class Failure:
    """A scripted failure for the next call of a method.

    Attributes:
        error: Answer with this Bot API error instead of serving the call.
        hang: Serve the call (a message is delivered) but answer only after this many seconds,
            as Telegram does when it is slow: the client has given up by then, not knowing
            whether its message arrived.
        drop: Wait this many seconds (as within a long poll), then close the connection
            without an answer; the call is not served.
        chat_id: Only for a call about this chat (any call when None).
        reply_to: Only for a reply to this message (any call when None).
    """

    error: ApiError | None = None
    hang: float = 0.0
    drop: float | None = None
    chat_id: int | None = None
    reply_to: int | None = None


class _Server(ThreadingHTTPServer):
    """A thread per connection, and room for many connections at once.

    The bot opens a connection per reply in flight (64 chats at once by default); with the
    standard backlog of 5, connections beyond it would be dropped, as Telegram never does.
    """

    daemon_threads = True
    request_queue_size = 256


class _EntityParser(HTMLParser):
    """Parses Telegram HTML: only known tags, balanced, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: unsupported start tag "{tag}"'
            )
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise ApiError(
                400, f"Bad Request: can't parse entities: can't find end tag for \"{tag}\""
            )
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(text: str) -> str:
    """The plain text Telegram would show, or the error Telegram would give."""
    bare = _TAG.sub("", text)
    if "<" in bare or ">" in bare or _BAD_AMPERSAND.search(bare):
        raise ApiError(400, "Bad Request: can't parse entities: unescaped character")
    parser = _EntityParser()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise ApiError(
            400, f"Bad Request: can't parse entities: can't find end tag for \"{parser.stack[-1]}\""
        )
    return "".join(parser.text)


@dataclass
class FakeTelegram:
    """The fake server's state; `start()` serves it on a free port of 127.0.0.1."""

    token: str
    bot_id: int = 7000001
    bot_username: str = "tanya_artikel_test_bot"
    updates: list[JSON] = field(default_factory=list)
    sent: list[JSON] = field(default_factory=list)
    # Every call: method and parameters, with "_at", the time.monotonic() it arrived.
    calls: list[tuple[str, JSON]] = field(default_factory=list)
    failures: dict[str, deque[Failure]] = field(default_factory=lambda: defaultdict(deque))
    # Scripted failures as they were served: method, parameters of the call, failure.
    failed: list[tuple[str, JSON, Failure]] = field(default_factory=list)
    # The highest offset getUpdates has confirmed, and the highest update id it has handed out.
    confirmed: int = 0
    handed_out: int = 0
    # When each update was first handed out by getUpdates (time.monotonic()).
    first_handed_out: dict[int, float] = field(default_factory=dict)
    # The update types getUpdates hands out, as the bot last asked (None: Telegram's default).
    allowed_updates: frozenset[str] | None = None
    topics: set[tuple[int, int]] = field(default_factory=set)
    # Messages deleted from their chats (chat, message), and groups moved to a supergroup.
    deleted: set[tuple[int, int]] = field(default_factory=set)
    migrated: dict[int, int] = field(default_factory=dict)
    # Documents pushed to the bot, by file_id, and the file paths getFile gave out for them.
    files: dict[str, bytes] = field(default_factory=dict)
    file_paths: dict[str, str] = field(default_factory=dict)
    # File paths the bot downloaded, in order.
    downloads: list[str] = field(default_factory=list)
    # Every editMessageText / editMessageReplyMarkup served: its parameters, with "_method"
    # and "_at" (time.monotonic()) added.
    edits: list[JSON] = field(default_factory=list)
    # Every answerInlineQuery served (its parameters), and every document the bot sent (with
    # its "_content" bytes).
    inline_answers: list[JSON] = field(default_factory=list)
    documents: list[JSON] = field(default_factory=list)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _callback_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    # ----------------------------------------------------------------- driving the test
    def start(self, port: int = 0) -> str:
        """Serve in a thread (on `port`, or a free one); return `base_url`."""
        state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle's algorithm and
            # delayed ACKs add about 40 ms to every request on a kept-alive connection.
            disable_nagle_algorithm = True

            def handle(self) -> None:
                with contextlib.suppress(ConnectionResetError):  # a bot killed mid-request
                    super().handle()

            def do_POST(self) -> None:
                state._serve(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self._server = _Server(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.base_url

    @property
    def base_url(self) -> str:
        """The bot's `TELEGRAM_API_BASE_URL` for this server (the token is appended)."""
        if self._server is None:
            raise RuntimeError("the server has not started")
        return f"http://127.0.0.1:{self._server.server_port}/bot"

    @property
    def file_base_url(self) -> str:
        """The bot's `TELEGRAM_API_BASE_FILE_URL` for this server (the token is appended)."""
        if self._server is None:
            raise RuntimeError("the server has not started")
        return f"http://127.0.0.1:{self._server.server_port}/file/bot"

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the server still: nothing is served while the block runs.

        Updates pushed in the block reach the bot in one batch; `sent` read in it stays put.
        """
        with self._changed:
            yield
            self._changed.notify_all()

    def stop(self) -> None:
        """Stop serving; calls still hanging or waiting to drop end now."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def fail_next(
        self,
        method: str,
        code: int,
        description: str,
        retry_after: int | None = None,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> None:
        """Make the next call of `method` (about that chat, replying to that message) fail."""
        error = ApiError(code, description, retry_after)
        self._script(method, Failure(error=error, chat_id=chat_id, reply_to=reply_to))

    def hang_next(
        self,
        method: str,
        seconds: float,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> None:
        """Serve the next call of `method` (as `fail_next` picks it), but answer after `seconds`."""
        self._script(method, Failure(hang=seconds, chat_id=chat_id, reply_to=reply_to))

    def drop_next(self, method: str, after: float = 0.2) -> None:
        """Close the connection of the next call of `method` after `after` seconds, unanswered."""
        self._script(method, Failure(drop=after))

    def _script(self, method: str, failure: Failure) -> None:
        with self._changed:
            self.failures[method].append(failure)

    def user(self, user_id: int, language_code: str = "id", is_bot: bool = False) -> JSON:
        """A Telegram User object."""
        return {
            "id": user_id,
            "is_bot": is_bot,
            "first_name": f"User{user_id}",
            "language_code": language_code,
        }

    @staticmethod
    def private_chat(user_id: int) -> JSON:
        """A private chat with a user."""
        return {"id": user_id, "type": "private", "first_name": f"User{user_id}"}

    @staticmethod
    def group(chat_id: int, forum: bool = False) -> JSON:
        """A supergroup (optionally a forum)."""
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}", "is_forum": forum}

    def push(
        self,
        chat: JSON,
        sender: JSON,
        text: str | None = None,
        *,
        reply_to: JSON | None = None,
        thread_id: int | None = None,
        sticker: bool = False,
        edited_of: JSON | None = None,
        photo: bool = False,
        caption: str | None = None,
        sender_chat: JSON | None = None,
    ) -> JSON:
        """Queue a message update (or an edit of an earlier message) and return the message.

        A `photo` may have a `caption`; with `sender_chat`, the message is sent on behalf of
        that chat (an anonymous admin's, with `anonymous_admin()` as the sender).
        """
        message: JSON = {
            "message_id": edited_of["message_id"] if edited_of else next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if photo:
            message["photo"] = [
                {"file_id": "p1", "file_unique_id": "p1", "width": 640, "height": 480}
            ]
        if caption is not None:
            message["caption"] = caption
            if caption.startswith("/"):
                command = caption.split(maxsplit=1)[0]
                message["caption_entities"] = [
                    {"type": "bot_command", "offset": 0, "length": len(command)}
                ]
        if sender_chat is not None:
            message["sender_chat"] = sender_chat
        if sticker:
            message["sticker"] = {
                "file_id": "s1", "file_unique_id": "s1", "type": "regular",
                "width": 512, "height": 512, "is_animated": False, "is_video": False,
            }  # fmt: skip
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if edited_of is not None:
            message["edit_date"] = int(time.time())
        self.push_update({"edited_message" if edited_of else "message": message})
        return message

    @staticmethod
    def anonymous_admin() -> JSON:
        """The sender Telegram names for an anonymous group admin (`sender_chat` is the group)."""
        return {"id": 1087968824, "is_bot": True, "first_name": "Group",
                "username": "GroupAnonymousBot"}  # fmt: skip

    def delete(self, chat_id: int, message_id: int) -> None:
        """Delete a message, as an anti-spam bot does: replies to it can no longer quote it."""
        with self._changed:
            self.deleted.add((chat_id, message_id))

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """Upgrade a group to a supergroup: what is sent to the old chat fails, naming the new."""
        with self._changed:
            self.migrated[chat_id] = new_chat_id

    def push_document(
        self,
        chat: JSON,
        sender: JSON,
        content: bytes,
        file_name: str | None = None,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> JSON:
        """Queue a message with a document (served by getFile) and return the message."""
        with self._changed:
            number = len(self.files) + 1
            file_id = f"doc{number}-{len(content)}"
            self.files[file_id] = content
        document: JSON = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(content),
        }
        if file_name is not None:
            document["file_name"] = file_name
        if mime_type is not None:
            document["mime_type"] = mime_type
        message: JSON = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            "document": document,
        }
        if caption is not None:
            message["caption"] = caption
        self.push_update({"message": message})
        return message

    def push_inline_query(self, sender: JSON, query: str, chat_type: str = "sender") -> JSON:
        """Queue an inline query (`@bot query` typed in any chat) and return it."""
        inline: JSON = {
            "id": f"iq{next(self._callback_ids)}",
            "from": sender,
            "query": query,
            "offset": "",
            "chat_type": chat_type,
        }
        self.push_update({"inline_query": inline})
        return inline

    def push_callback(self, sender: JSON, message: JSON, data: str) -> JSON:
        """Queue a press of a button (with `data`) under `message`, one the bot sent.

        `message` may be an entry of `sent`; the test server's own keys (`_params`, ...) are
        left out. Returns the callback query.
        """
        query_id = f"cb{next(self._callback_ids)}"
        bare = {k: v for k, v in message.items() if not k.startswith("_")}
        query: JSON = {
            "id": query_id,
            "from": sender,
            "message": bare,
            "chat_instance": f"ci{bare['chat']['id']}",
            "data": data,
        }
        self.push_update({"callback_query": query})
        return query

    def push_update(self, update: JSON) -> JSON:
        """Queue any update (its `update_id` is given here) and return it."""
        with self._changed:
            self.updates.append({"update_id": next(self._update_ids), **update})
            self._changed.notify_all()
        return self.updates[-1]

    def redeliver(self, update: JSON) -> None:
        """Queue an update again with its own id, as Telegram does with one never confirmed."""
        with self._changed:
            self.updates.append(update)
            self.updates.sort(key=lambda queued: int(queued["update_id"]))
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Block until `predicate()` holds, or fail the test after `timeout` seconds."""
        if not self.happens(predicate, timeout):
            raise AssertionError(f"timed out after {timeout} s; sent so far: {self.sent}")

    def happens(self, predicate: Callable[[], bool], within: float) -> bool:
        """Whether `predicate()` holds within `within` seconds (checked on every change).

        For "nothing more happens", call it with a deadline that is long on purpose: it returns
        as soon as the thing happens, so only a passing test waits the whole deadline.
        """
        deadline = time.monotonic() + within
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def wait_sent(self, count: int, timeout: float = 10.0) -> list[JSON]:
        """Wait until at least `count` messages were sent; return them all."""
        self.wait_for(lambda: len(self.sent) >= count, timeout)
        return list(self.sent)

    def wait_edits(self, count: int, timeout: float = 10.0) -> list[JSON]:
        """Wait until at least `count` edits were made; return them all."""
        self.wait_for(lambda: len(self.edits) >= count, timeout)
        return list(self.edits)

    def method_calls(self, method: str) -> list[JSON]:
        """Parameters of every call of `method` so far."""
        with self._changed:
            return [params for name, params in self.calls if name == method]

    # ----------------------------------------------------------------- serving
    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        if request.path.startswith("/file/"):
            self._serve_file(request)
            return
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        prefix, _, method = request.path.rpartition("/")
        scripted: Failure | None = None
        try:
            if prefix != f"/bot{self.token}":
                raise ApiError(401, "Unauthorized")
            params = _parameters(body, request.headers.get("Content-Type", ""))
            with self._changed:
                params["_at"] = time.monotonic()  # when the call arrived, as sent messages' _at
                self.calls.append((method, params))
                scripted = self._scripted(method, params)
                if scripted:
                    self.failed.append((method, params, scripted))
                self._changed.notify_all()
            if scripted and scripted.drop is not None:
                self._stopping.wait(scripted.drop)
                request.close_connection = True
                return
            if scripted and scripted.error:
                raise scripted.error
            result = self._call(method, params)
            reply: JSON = {"ok": True, "result": result}
            status = 200
        except ApiError as error:
            status = error.code
            reply = {"ok": False, "error_code": error.code, "description": error.description}
            if error.retry_after is not None:
                reply["parameters"] = {"retry_after": error.retry_after}
            if error.migrate_to is not None:
                reply["parameters"] = {"migrate_to_chat_id": error.migrate_to}
        data = json.dumps(reply).encode()
        if scripted and scripted.hang:
            self._stopping.wait(scripted.hang)
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the bot hung up (it gave up waiting, or is shutting down a long poll)

    def _serve_file(self, request: BaseHTTPRequestHandler) -> None:
        """A file download, as Telegram serves `https://api.telegram.org/file/bot<token>/<path>`."""
        prefix = f"/file/bot{self.token}/"
        requested = unquote(request.path)  # PTB quotes the URL's path: the token's colon too
        path = requested[len(prefix) :] if requested.startswith(prefix) else None
        with self._changed:
            file_id = self.file_paths.get(path or "")
            data = self.files.get(file_id or "")
            if data is not None and path is not None:
                self.downloads.append(path)
            self._changed.notify_all()
        status = 200 if data is not None else 404
        if data is None:
            data = b'{"ok":false,"error_code":404,"description":"Not Found"}'
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/octet-stream")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _scripted(self, method: str, params: JSON) -> Failure | None:
        """Take the first failure scripted for this call, if any."""
        queue = self.failures[method]
        chat = int(params.get("chat_id", 0))
        reply_to = (params.get("reply_parameters") or {}).get("message_id")
        for failure in queue:
            if failure.chat_id not in (None, chat) or failure.reply_to not in (None, reply_to):
                continue
            queue.remove(failure)
            return failure
        return None

    def _call(self, method: str, params: JSON) -> Any:
        match method:
            case "getMe":
                return {
                    "id": self.bot_id, "is_bot": True, "first_name": "Tanya Artikel",
                    "username": self.bot_username, "can_join_groups": True,
                    "can_read_all_group_messages": False, "supports_inline_queries": True,
                }  # fmt: skip
            case "getUpdates":
                return self._get_updates(params)
            case "deleteWebhook" | "setWebhook" | "setMyCommands" | "deleteMyCommands":
                return True
            case "sendChatAction":
                self._check_thread(params)
                return True
            case "sendMessage":
                return self._send_message(params)
            case "editMessageText":
                text = self._check_text(params)
                markup = self._check_markup(params)
                self._record_edit(method, params)
                chat = {"id": params["chat_id"], "type": "private"}
                edited: JSON = {
                    "message_id": params["message_id"], "date": 0, "chat": chat, "text": text,
                }  # fmt: skip
                if markup is not None:
                    edited["reply_markup"] = markup
                return edited
            case "editMessageReplyMarkup":
                self._check_markup(params)
                self._record_edit(method, params)
                return True
            case "answerCallbackQuery":
                if len(str(params.get("text", ""))) > 200:
                    raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
                return True
            case "getFile":
                return self._get_file(params)
            case "answerInlineQuery":
                return self._answer_inline_query(params)
            case "sendDocument":
                return self._send_document(params)
            case _:
                raise ApiError(404, "Not Found")

    def _answer_inline_query(self, params: JSON) -> bool:
        """Check the results as Telegram does and record them in `inline_answers`.

        At most 50, ids unique and at most 64 bytes, each message valid HTML within the limit.
        """
        results = params.get("results") or []
        ids = [str(r.get("id", "")) for r in results]
        if len(results) > 50 or len(set(ids)) != len(ids):
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        for result in results:
            if not 0 < len(str(result.get("id", "")).encode()) <= 64:
                raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
            content = result.get("input_message_content") or {}
            self._check_text({"text": content.get("message_text", ""), **content})
        with self._changed:
            self.inline_answers.append({**params, "_at": time.monotonic()})
            self._changed.notify_all()
        return True

    def _send_document(self, params: JSON) -> JSON:
        """Record a document the bot sends (uploaded as a file) in `documents`."""
        chat_id = int(params["chat_id"])
        document = params.get("document")
        if not isinstance(document, tuple):
            raise ApiError(400, "Bad Request: there is no document in the request")
        file_name, content = document
        with self._changed:
            message: JSON = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "document": {"file_id": f"sent{len(self.documents)}",
                             "file_unique_id": f"usent{len(self.documents)}",
                             "file_name": file_name, "file_size": len(content)},
            }  # fmt: skip
            self.documents.append({**message, "_content": content, "_params": params})
            self._changed.notify_all()
        return message

    def _get_updates(self, params: JSON) -> list[JSON]:
        offset = int(params.get("offset", 0))
        deadline = time.monotonic() + float(params.get("timeout", 0))
        with self._changed:
            if "allowed_updates" in params:  # kept until asked otherwise; [] is the default
                self.allowed_updates = frozenset(params["allowed_updates"]) or None
            # Telegram forgets the updates below the offset: asking for it confirms them, and
            # never sends the kinds the bot did not ask for.
            self.confirmed = max(self.confirmed, offset)
            self.updates = [
                u for u in self.updates if u["update_id"] >= offset and self._allowed(u)
            ]
            while not self.updates and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            batch = list(self.updates[: int(params.get("limit", 100))])
            if batch:
                self.handed_out = max(self.handed_out, batch[-1]["update_id"])
                now = time.monotonic()
                for update in batch:
                    self.first_handed_out.setdefault(update["update_id"], now)
            return batch

    def _allowed(self, update: JSON) -> bool:
        """Whether Telegram would send this update, given the bot's `allowed_updates`."""
        kinds = set(update) - {"update_id"}
        allowed = self.allowed_updates or DEFAULT_UPDATES
        return bool(kinds & allowed)

    def _check_thread(self, params: JSON) -> None:
        thread = params.get("message_thread_id")
        if thread is not None and (int(params["chat_id"]), int(thread)) not in self.topics:
            raise ApiError(400, "Bad Request: message thread not found")

    def _check_text(self, params: JSON) -> str:
        text = str(params.get("text", ""))
        plain = parse_html(text) if params.get("parse_mode") == "HTML" else text
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(plain.encode("utf-16-le")) // 2 > MESSAGE_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        return plain

    def _get_file(self, params: JSON) -> JSON:
        file_id = str(params.get("file_id", ""))
        with self._changed:
            data = self.files.get(file_id)
            if data is None:
                raise ApiError(400, "Bad Request: invalid file_id")
            if len(data) > FILE_LIMIT:
                raise ApiError(400, "Bad Request: file is too big")
            path = f"documents/file_{len(self.file_paths)}"
            self.file_paths[path] = file_id
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "file_path": path,
        }

    @staticmethod
    def _check_markup(params: JSON) -> JSON | None:
        """The inline keyboard of a call, checked as Telegram does, or None without one."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
        if not isinstance(rows, list):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in rows:
            for button in row:
                if not str(button.get("text", "")).strip():
                    raise ApiError(400, "Bad Request: text buttons are unallowed")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return dict(markup)

    def _record_edit(self, method: str, params: JSON) -> None:
        with self._changed:
            self.edits.append({**params, "_method": method, "_at": time.monotonic()})
            self._changed.notify_all()

    def _send_message(self, params: JSON) -> JSON:
        self._check_thread(params)
        plain = self._check_text(params)
        markup = self._check_markup(params)
        chat_id = int(params["chat_id"])
        reply = dict(params.get("reply_parameters") or {})
        with self._changed:
            if chat_id in self.migrated:
                raise ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    migrate_to=self.migrated[chat_id],
                )
            if (chat_id, reply.get("message_id")) in self.deleted:
                if not reply.get("allow_sending_without_reply"):
                    raise ApiError(400, "Bad Request: message to be replied not found")
                reply = {}
            message: JSON = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "from": {"id": self.bot_id, "is_bot": True, "first_name": "Tanya Artikel",
                         "username": self.bot_username},
                "text": plain,
            }  # fmt: skip
            if "message_thread_id" in params:
                message["message_thread_id"] = int(params["message_thread_id"])
                message["is_topic_message"] = True
            if markup is not None:
                message["reply_markup"] = markup
            self.sent.append(
                {
                    **message,
                    "_params": params,
                    "_reply_to": reply.get("message_id"),
                    "_at": time.monotonic(),
                }
            )
            self._changed.notify_all()
        return message


def _parameters(body: bytes, content_type: str) -> JSON:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        decoded: JSON = json.loads(body)
        return decoded
    if content_type.startswith("multipart/form-data"):
        return _multipart(body, content_type)
    params: JSON = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        if key in _RAW_PARAMETERS:
            params[key] = value
        else:
            try:
                params[key] = json.loads(value)
            except json.JSONDecodeError:
                params[key] = value
    return params


def _multipart(body: bytes, content_type: str) -> JSON:
    """Form fields of a multipart upload; a file field becomes (file name, bytes)."""
    form = BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    params: JSON = {}
    for part in form.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if part.get_filename() is not None:
            params[name] = (part.get_filename(), payload)
        elif name in _RAW_PARAMETERS:
            params[name] = payload.decode()
        else:
            try:
                params[name] = json.loads(payload)
            except json.JSONDecodeError:
                params[name] = payload.decode()
    return params
