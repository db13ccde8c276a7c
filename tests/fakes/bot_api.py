"""An in-memory Telegram Bot API that answers like Telegram and records every call.

``FakeTelegram`` is the core; ``FakeTelegram.request()`` plugs it into PTB in-process as a
``telegram.request.BaseRequest`` and ``tests.fakes.http_server.FakeBotApiServer`` serves the same
core over real HTTP. Error answers are the JSON bodies Telegram sends, so PTB's own mapping turns
them into ``Forbidden``/``BadRequest``/``RetryAfter``/``ChatMigrated`` exactly as in production.
"""

from __future__ import annotations

import asyncio
import copy
import html
import itertools
import json
import math
import random
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Final
from urllib.parse import unquote, urlsplit

from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from tests.fakes.clock import system_seconds
from tests.fakes.updates import chat_member

JSONDict = dict[str, Any]

SEND_METHODS: Final = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "copyMessage", "forwardMessage"}
)
EDIT_METHODS: Final = frozenset({"editMessageText", "editMessageReplyMarkup"})

# Fields whose form value is a plain string even when it looks like JSON ("123", "true").
STRING_FIELDS: Final = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "description",
        "short_description",
        "name",
        "title",
        "language_code",
        "query",
        "business_connection_id",
        "message_effect_id",
        "emoji",
        "question",
        "explanation",
        "custom_emoji_id",
        "action",
        "document",
        "photo",
        "invite_link",
        "payload",
        "start_parameter",
        "game_short_name",
        "sticker",
    }
)
# Fields that carry a chat or user id: "123"/"-100123" become ints, "@name" stays a string.
ID_FIELDS: Final = frozenset({"chat_id", "from_chat_id", "user_id", "sender_chat_id"})

NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_COMMAND_RE: Final = re.compile(r"^[a-z0-9_]{1,32}$")
_TOKEN_PATH_RE: Final = re.compile(r"/bot([^/]+)/([^/?#]+)$")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request: what the bot uploaded."""

    filename: str
    content: bytes = field(repr=False)
    mime_type: str = "application/octet-stream"

    @property
    def size(self) -> int:
        """Return the number of bytes uploaded."""
        return len(self.content)


@dataclass(frozen=True)
class Call:
    """One request the fake received; ``status`` 0 means the connection was dropped."""

    t: float
    endpoint: str
    params: JSONDict
    status: int


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's (undocumented, approximate) flood limits as token buckets; ``scale`` x rates."""

    global_per_s: float = 30.0
    private_per_s: float = 1.0
    private_burst: float = 1.0
    group_per_min: float = 20.0
    scale: float = 1.0


@dataclass(frozen=True)
class Network:
    """The round trip between the bot and the Bot API, in seconds, for every method.

    ``round_trip`` applies to every method unless ``per_method`` names it; each call adds a
    uniform random ``jitter`` in [0, jitter). Half the round trip passes before the core sees
    the call (and records it), the other half before the answer reaches the bot. The default is
    the 0 ms network of the unit tests.
    """

    round_trip: float = 0.0
    jitter: float = 0.0
    per_method: Mapping[str, float] = field(default_factory=dict)
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.round_trip < 0 or self.jitter < 0 or any(v < 0 for v in self.per_method.values()):
            raise ValueError("round trips and jitter cannot be negative")


@dataclass(frozen=True)
class Outcome:
    """What the core answered: HTTP status, JSON body, and transport faults to simulate."""

    status: int
    body: JSONDict
    delay: float = 0.0
    dropped: bool = False

    def payload(self) -> bytes:
        """Return the body as UTF-8 JSON bytes."""
        return json.dumps(self.body, ensure_ascii=False).encode()


class ApiError(Exception):
    """An error answer of the Bot API (raised inside method handlers)."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        """Return the JSON body Telegram sends for this error."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    """Return a 400 ``Bad Request: ...`` error."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class _Bucket:
    """A token bucket measured with the core's clock."""

    rate: float
    capacity: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        """Refill up to ``now`` and return seconds until one token is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        missing = 1.0 - self.tokens
        return 0.0 if missing <= 1e-6 else missing / self.rate


@dataclass
class _Fault:
    """A pending injected failure."""

    endpoint: str
    remaining: int
    status: int = 0
    description: str = ""
    retry_after: int | None = None
    chat_id: int | str | None = None
    seconds: float = 0.0

    def matches(self, endpoint: str, params: Mapping[str, Any]) -> bool:
        """Return whether this fault applies to a call."""
        if self.endpoint not in ("*", endpoint):
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id


def _id_value(value: Any) -> Any:
    """Turn an id given as a numeric string into an int; leave everything else alone."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return value


def decode_value(name: str, value: Any) -> Any:
    """Decode one parameter the way Telegram reads a form field (JSON unless a text field)."""
    if name in ID_FIELDS:
        return _id_value(value)
    if not isinstance(value, str) or name in STRING_FIELDS:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return value if isinstance(decoded, str) else decoded


def decode_params(fields: Mapping[str, Any]) -> JSONDict:
    """Normalise form/JSON/in-process parameters into Python objects (ints, dicts, lists)."""
    return {name: decode_value(name, value) for name, value in fields.items() if value is not None}


def _read_content(content: bytes | IO[bytes]) -> bytes:
    """Return the bytes of an upload given as bytes or a file handle."""
    if isinstance(content, bytes):
        return content
    data = content.read()
    return data if isinstance(data, bytes) else bytes(data)


_HTML_TAG = re.compile(r"<[^>]*>")


def _entities_parsed(text: str, parse_mode: Any) -> str:
    """The text a reader sees: Telegram applies its limits after parsing HTML/Markdown."""
    if parse_mode == "HTML":
        return html.unescape(_HTML_TAG.sub("", text))
    if parse_mode == "MarkdownV2":  # approximate: drop escapes and formatting characters
        return re.sub(r"\\(.)", r"\1", re.sub(r"(?<!\\)[*_~|`]", "", text))
    return text


def _inline_markup(value: Any) -> JSONDict | None:
    """Return ``value`` if it is an inline keyboard (the only markup Telegram echoes back)."""
    if isinstance(value, dict) and "inline_keyboard" in value:
        return value
    return None


class FakeTelegram:
    """Answers Bot API methods the way Telegram does and remembers every call."""

    def __init__(
        self,
        bot_id: int = 4242,
        username: str = "branchbot_test",
        token: str = "123456:TEST-token-abcdefghij",
        clock: Callable[[], float] = time.monotonic,
        *,
        limits: FloodLimits | None = None,
        first_name: str = "BranchBot",
        wall: Callable[[], float] = system_seconds,
        network: Network | None = None,
    ) -> None:
        self.bot_id = bot_id
        self.username = username
        self.token = token
        self.first_name = first_name
        self.limits = limits
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.network = network or Network()
        self._random = random.Random(self.network.seed)
        self.calls: list[Call] = []
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._next_update_id = 100_000_001
        self._updates: list[JSONDict] = []
        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, JSONDict] = {}
        self._started: set[int] = set()
        self._blocked: set[int] = set()
        self._missing: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._forbidden: dict[int, str] = {}
        self._members: dict[tuple[int, int], str] = {}
        self._messages: dict[int, dict[int, JSONDict]] = defaultdict(dict)
        # Messages people sent in private chats (from observed updates): the bot may delete them.
        self._incoming: dict[int, dict[int, JSONDict]] = defaultdict(dict)
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._menu_buttons: dict[int | None, JSONDict] = {}
        self._webhook: JSONDict = {}
        self._settings: dict[str, JSONDict] = {}
        # (field, language_code or "") -> text: the bot's (short) description per language
        self.descriptions: dict[tuple[str, str], str] = {}
        self._faults: list[_Fault] = []
        # Files people sent to the bot (see `put_file`): file_id -> (file_path, content).
        self._stored_files: dict[str, tuple[str, bytes]] = {}
        self._delays: list[_Fault] = []
        self._drops: list[_Fault] = []
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._methods: dict[str, tuple[str, Callable[[JSONDict], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "sendMessage": self._send_message,
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
                "sendChatAction": self._send_chat_action,
                "getFile": self._get_file,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
                "getChatAdministrators": self._get_chat_administrators,
                "leaveChat": self._leave_chat,
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
                "setMyDescription": self._describe("description", 512),
                "setMyShortDescription": self._describe("short_description", 120),
                "getMyDescription": self._described("description"),
                "getMyShortDescription": self._described("short_description"),
                "setMyName": self._store_setting("setMyName"),
                "close": self._true,
                "logOut": self._true,
            }.items()
        }

    # ------------------------------------------------------------------ entry points

    def handle(self, endpoint: str, params: Mapping[str, Any]) -> tuple[int, JSONDict]:
        """Answer one call: ``(http_status, body)``; a dropped connection gives ``(0, {})``."""
        outcome = self.serve(None, endpoint, params)
        return outcome.status, outcome.body

    def serve(self, token: str | None, endpoint: str, params: Mapping[str, Any]) -> Outcome:
        """Answer one call for an adapter; ``token=None`` skips the token check."""
        params = decode_params(params)
        with self._lock:
            now = self._clock()
            if token is not None and token != self.token:
                return self._record(now, endpoint, params, ApiError(401, "Unauthorized"))
            if self._take(self._drops, endpoint, params) is not None:
                self.calls.append(Call(now, endpoint, params, 0))
                return Outcome(0, {}, dropped=True)
            delay = self._take(self._delays, endpoint, params)
            name, handler = self._methods.get(endpoint.lower(), (endpoint, None))
            try:
                fault = self._take(self._faults, endpoint, params)
                if fault is not None:
                    retry = {"retry_after": fault.retry_after} if fault.retry_after else None
                    raise ApiError(fault.status, fault.description, retry)
                if handler is None:
                    raise ApiError(404, "Not Found: method not found")
                result = handler(params)
            except ApiError as error:
                outcome = self._record(now, name, params, error)
            else:
                self.calls.append(Call(now, name, params, 200))
                outcome = Outcome(200, {"ok": True, "result": result})
            if delay is not None:
                outcome = Outcome(outcome.status, outcome.body, delay=delay.seconds)
            return outcome

    def set_network(self, network: Network) -> None:
        """Change the simulated round trip (``Network()`` is the 0 ms network)."""
        with self._lock:
            self.network = network
            self._random = random.Random(network.seed)

    def round_trip(self, endpoint: str) -> float:
        """Draw the round trip, in seconds, of one call to ``endpoint``."""
        net = self.network
        base = net.per_method.get(endpoint, net.round_trip)
        if not net.jitter:
            return base
        with self._lock:
            return base + self._random.uniform(0.0, net.jitter)

    def request(self, *, long_poll_cap: float = 0.0) -> BaseRequest:
        """Return a new in-process ``BaseRequest`` adapter bound to this core.

        With ``long_poll_cap > 0`` an empty getUpdates waits (asynchronously) up to
        min(timeout, cap) s for an update, so ``Updater`` polling does not spin.
        """
        return InProcessRequest(self, long_poll_cap=long_poll_cap)

    def _record(self, now: float, endpoint: str, params: JSONDict, error: ApiError) -> Outcome:
        """Record a failed call and return its error outcome."""
        self.calls.append(Call(now, endpoint, params, error.status))
        return Outcome(error.status, error.body())

    @staticmethod
    def _take(faults: list[_Fault], endpoint: str, params: Mapping[str, Any]) -> _Fault | None:
        """Consume and return the first pending fault matching the call."""
        for fault in faults:
            if fault.matches(endpoint, params):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    faults.remove(fault)
                return fault
        return None

    # ------------------------------------------------------------------ world set-up

    def push_update(self, update: Mapping[str, Any]) -> JSONDict:
        """Queue an update for getUpdates (assigning update_id); its sender starts the bot."""
        stored = copy.deepcopy(dict(update))
        with self._cond:
            stored["update_id"] = self._next_update_id
            self._next_update_id += 1
            self._observe(stored)
            self._updates.append(stored)
            self._cond.notify_all()
        return copy.deepcopy(stored)

    def observe(self, update: Mapping[str, Any]) -> JSONDict:
        """Learn from an update delivered outside getUpdates (``process_update``, webhook)."""
        with self._lock:
            self._observe(dict(update))
        return dict(update)

    def started(self, user_id: int) -> None:
        """Mark ``user_id`` as having pressed /start (and not blocked the bot)."""
        with self._lock:
            self._started.add(user_id)
            self._blocked.discard(user_id)

    def block(self, user_id: int) -> None:
        """Make later sends to ``user_id`` fail with 403 "bot was blocked by the user"."""
        with self._lock:
            self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """Undo ``block``."""
        with self._lock:
            self._blocked.discard(user_id)

    def chat_not_found(self, chat_id: int) -> None:
        """Make later calls about ``chat_id`` fail with 400 "chat not found"."""
        with self._lock:
            self._missing.add(chat_id)

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """Make ``chat_id`` answer 400 with ``parameters.migrate_to_chat_id = new_chat_id``."""
        with self._lock:
            self._migrated[chat_id] = new_chat_id
            old = self._chats.get(chat_id, {"title": f"Group {chat_id}"})
            self._chats[new_chat_id] = {
                "id": new_chat_id,
                "type": "supergroup",
                "title": old.get("title", f"Group {new_chat_id}"),
            }

    def forbid(
        self, chat_id: int, description: str = "Forbidden: bot was kicked from the supergroup chat"
    ) -> None:
        """Make later calls about ``chat_id`` fail with 403 ``description``."""
        with self._lock:
            self._forbidden[chat_id] = description

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """Set what getChatMember answers for ``user_id`` in ``chat_id``."""
        chat_member(status, {"id": user_id, "is_bot": False, "first_name": "x"})  # validates
        with self._lock:
            self._members[(chat_id, user_id)] = status

    def fail_next(
        self,
        endpoint: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``endpoint`` ("*" = any) with an error."""
        with self._lock:
            self._faults.append(
                _Fault(endpoint, times, status, description, retry_after, _id_value(chat_id))
            )

    def delay_next(self, endpoint: str, seconds: float, *, times: int = 1) -> None:
        """Process the next call(s) normally but answer ``seconds`` late (in-process: TimedOut)."""
        with self._lock:
            self._delays.append(_Fault(endpoint, times, seconds=seconds))

    def fail_network_next(self, n: int = 1, *, endpoint: str = "*") -> None:
        """Drop the next ``n`` requests without processing them (in-process: NetworkError)."""
        with self._lock:
            self._drops.append(_Fault(endpoint, n))

    # ------------------------------------------------------------------ long polling

    def wait_for_updates(
        self, offset: int | None, timeout: float, cancelled: Callable[[], bool] = lambda: False
    ) -> bool:
        """Block up to ``timeout`` s until an update with id >= ``offset`` is queued."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._pending(offset) and not cancelled():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1))
            return self._pending(offset)

    def has_pending(self, offset: int | None = None) -> bool:
        """Return whether getUpdates with ``offset`` would return something now."""
        with self._lock:
            return self._pending(offset)

    def wake(self) -> None:
        """Wake every thread waiting in ``wait_for_updates``."""
        with self._cond:
            self._cond.notify_all()

    def _pending(self, offset: int | None) -> bool:
        """Return whether getUpdates with ``offset`` would return something (lock held)."""
        if offset is None or offset < 0:
            return bool(self._updates)
        return any(update["update_id"] >= offset for update in self._updates)

    # ------------------------------------------------------------------ assertions

    def sent(self, endpoint: str) -> list[JSONDict]:
        """Return the params of every successful call of ``endpoint``."""
        with self._lock:
            return [c.params for c in self.calls if c.endpoint == endpoint and c.status == 200]

    def messages_to(self, chat_id: int) -> list[JSONDict]:
        """Return the params of successful sendMessage/sendDocument/sendPhoto calls to a chat."""
        with self._lock:
            return [
                c.params
                for c in self.calls
                if c.endpoint in SEND_METHODS
                and c.status == 200
                and c.params.get("chat_id") == chat_id
            ]

    def count(self, endpoint: str, *, status: int | None = None) -> int:
        """Return how many calls of ``endpoint`` arrived (all attempts unless ``status``)."""
        with self._lock:
            return sum(
                1
                for c in self.calls
                if c.endpoint == endpoint and (status is None or c.status == status)
            )

    def errors(self, endpoint: str | None = None) -> list[Call]:
        """Return the calls that were not answered 200."""
        with self._lock:
            return [c for c in self.calls if c.status != 200 and endpoint in (None, c.endpoint)]

    def reset_calls(self) -> None:
        """Forget the recorded calls (state such as messages and users is kept)."""
        with self._lock:
            self.calls.clear()

    def max_per_window(
        self,
        scope_filter: Callable[[int], bool] | str | None = None,
        window_s: float = 1.0,
        *,
        endpoints: Iterable[str] = SEND_METHODS,
        per_chat: bool = True,
    ) -> int:
        """Return the most successful sends in any ``window_s`` window (per chat by default).

        ``scope_filter`` picks chats: a predicate on chat_id or "private"/"group"/"all".
        """
        match scope_filter:
            case None | "all":
                keep: Callable[[int], bool] = lambda _chat: True  # noqa: E731
            case "private":
                keep = lambda chat: chat > 0  # noqa: E731
            case "group":
                keep = lambda chat: chat < 0  # noqa: E731
            case str():
                raise ValueError(f"unknown scope {scope_filter!r}")
            case _:
                keep = scope_filter
        wanted = set(endpoints)
        series: dict[int, list[float]] = defaultdict(list)
        with self._lock:
            for c in self.calls:
                chat = c.params.get("chat_id")
                ok = c.endpoint in wanted and c.status == 200
                if ok and isinstance(chat, int) and keep(chat):
                    series[chat if per_chat else 0].append(c.t)
        best = 0
        for times in series.values():
            times.sort()
            start = 0
            for end, t in enumerate(times):
                while t - times[start] >= window_s:
                    start += 1
                best = max(best, end - start + 1)
        return best

    def messages_in(self, chat_id: int) -> dict[int, JSONDict]:
        """Every message the bot has in ``chat_id``, by message id, as they are now."""
        with self._lock:
            return copy.deepcopy(self._messages.get(chat_id, {}))

    def last_message(self, chat_id: int) -> JSONDict | None:
        """Return the newest message the bot has in ``chat_id``, as it is now (after edits)."""
        with self._lock:
            chat = self._messages.get(chat_id)
            if not chat:
                return None
            return copy.deepcopy(chat[max(chat)])

    def incoming(self, chat_id: int) -> list[int]:
        """Ids of the observed messages people sent to ``chat_id`` that are not deleted."""
        with self._lock:
            return sorted(self._incoming.get(chat_id, {}))

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """Return one message the bot sent, as it is now."""
        with self._lock:
            found = self._messages.get(chat_id, {}).get(message_id)
            return copy.deepcopy(found) if found else None

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """Return the command list set for a scope/language."""
        with self._lock:
            return copy.deepcopy(self._commands.get(self._scope_key(scope, language_code), []))

    @property
    def webhook(self) -> JSONDict:
        """Return the webhook settings (empty dict when none)."""
        with self._lock:
            return dict(self._webhook)

    @property
    def pending_updates(self) -> int:
        """Return how many updates getUpdates has not had confirmed yet."""
        with self._lock:
            return len(self._updates)

    # ------------------------------------------------------------------ internals

    def _observe(self, update: JSONDict) -> None:
        """Learn users and chats from an injected update; senders start the bot (lock held)."""
        for kind, body in update.items():
            if not isinstance(body, dict):
                continue
            sender = body.get("from")
            chat = body.get("chat") or (body.get("message") or {}).get("chat")
            if isinstance(chat, dict) and "id" in chat:
                self._chats[chat["id"]] = dict(chat)
            if kind == "message" and isinstance(chat, dict) and chat.get("type") == "private":
                self._incoming[chat["id"]][body.get("message_id", 0)] = copy.deepcopy(body)
            if isinstance(sender, dict) and "id" in sender and not sender.get("is_bot"):
                self._users[sender["id"]] = dict(sender)
                self._started.add(sender["id"])
            if kind == "my_chat_member" and isinstance(chat, dict):
                status = body.get("new_chat_member", {}).get("status")
                chat_id = chat.get("id")
                if isinstance(chat_id, int) and chat_id > 0:
                    if status == "kicked":
                        self._blocked.add(chat_id)
                    elif status == "member":
                        self._blocked.discard(chat_id)
                elif isinstance(chat_id, int):
                    if status in ("left", "kicked"):
                        self._forbidden[chat_id] = (
                            f"Forbidden: bot was kicked from the {chat.get('type', 'group')} chat"
                        )
                    else:
                        self._forbidden.pop(chat_id, None)

    def _bot_user(self) -> JSONDict:
        """Return the bot's ``User`` dict."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def _chat(self, chat_id: int) -> JSONDict:
        """Return a ``Chat`` dict for ``chat_id`` (learnt from updates or synthesised)."""
        known = self._chats.get(chat_id)
        if known:
            return dict(known)
        if chat_id > 0:
            person = self._users.get(chat_id, {})
            chat: JSONDict = {
                "id": chat_id,
                "type": "private",
                "first_name": person.get("first_name", f"User{chat_id}"),
            }
            if "username" in person:
                chat["username"] = person["username"]
            return chat
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}

    def _user(self, user_id: int) -> JSONDict:
        """Return a ``User`` dict for ``user_id``."""
        if user_id == self.bot_id:
            return self._bot_user()
        default = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        return dict(self._users.get(user_id, default))

    def _chat_id(self, params: JSONDict, key: str = "chat_id") -> int:
        """Resolve ``params[key]`` (int or @username) to a chat id, or raise 400."""
        raw = params.get(key)
        if raw is None or raw == "":
            raise _bad(f"{key} is empty")
        if isinstance(raw, bool):
            raise _bad("chat not found")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str) and raw.startswith("@"):
            for chat_id, chat in self._chats.items():
                if str(chat.get("username", "")).lower() == raw[1:].lower():
                    return chat_id
        raise _bad("chat not found")

    def _check_reachable(self, chat_id: int) -> None:
        """Raise the error Telegram gives when the bot cannot act in ``chat_id``."""
        if chat_id in self._migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if chat_id in self._missing:
            raise _bad("chat not found")
        if chat_id in self._forbidden:
            raise ApiError(403, self._forbidden[chat_id])
        if chat_id > 0 and chat_id != self.bot_id:
            if chat_id in self._blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if chat_id not in self._started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")

    def _check_flood(self, endpoint: str, chat_id: int) -> None:
        """Raise 429 when a flood bucket is empty; otherwise take one token from each."""
        limits = self.limits
        if limits is None:
            return
        scale = limits.scale
        wanted: list[tuple[tuple[str, int], float, float]] = []
        if endpoint in SEND_METHODS:
            rate = limits.global_per_s * scale
            wanted.append((("global", 0), rate, max(1.0, rate)))
            if chat_id > 0:
                wanted.append(
                    (("private", chat_id), limits.private_per_s * scale, limits.private_burst)
                )
        if chat_id < 0 and (endpoint in SEND_METHODS or endpoint in EDIT_METHODS):
            wanted.append(
                (("group", chat_id), limits.group_per_min * scale / 60.0, limits.group_per_min)
            )
        now = self._clock()
        buckets = []
        wait = 0.0
        for key, rate, capacity in wanted:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(rate, max(1.0, capacity), capacity, now)
            wait = max(wait, bucket.wait(now))
            buckets.append(bucket)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        for bucket in buckets:
            bucket.tokens -= 1.0

    def _gate(self, endpoint: str, params: JSONDict) -> int:
        """Resolve the chat, check reachability and flood limits; return the chat id."""
        chat_id = self._chat_id(params)
        self._check_reachable(chat_id)
        self._check_flood(endpoint, chat_id)
        return chat_id

    def _check_markup(self, params: JSONDict) -> JSONDict | None:
        """Validate ``reply_markup`` and return it if it is an inline keyboard."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        inline = _inline_markup(markup)
        if inline is None:
            return None
        rows = inline["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed "
                        "in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
        return inline

    @staticmethod
    def _check_text(
        text: Any, *, limit: int = 4096, what: str = "message text", parse_mode: Any = None
    ) -> str:
        """Validate a message text/caption; the limit counts the text after entity parsing."""
        if not isinstance(text, str) or not text.strip():
            raise _bad(f"{what} is empty")
        shown = _entities_parsed(text, parse_mode)
        if not shown.strip():
            raise _bad(f"{what} is empty")
        if len(shown.encode("utf-16-le")) // 2 > limit:
            raise _bad("message is too long" if limit == 4096 else "message caption is too long")
        return text

    def _new_message(self, chat_id: int, params: JSONDict, content: JSONDict) -> JSONDict:
        """Store and return a new message the bot sent to ``chat_id``."""
        msg: JSONDict = {
            "message_id": next(self._message_ids),
            "from": self._bot_user(),
            "chat": self._chat(chat_id),
            "date": int(self._wall()),
            **content,
        }
        if "message_thread_id" in params:
            msg["message_thread_id"] = params["message_thread_id"]
        markup = _inline_markup(params.get("reply_markup"))
        if markup is not None:
            msg["reply_markup"] = markup
        self._messages[chat_id][msg["message_id"]] = msg
        return copy.deepcopy(msg)

    def _file(self, value: Any, kind: str) -> tuple[str, JSONDict]:
        """Describe an uploaded file or a file_id/URL reference as Telegram would store it."""
        n = next(self._file_ids)
        info: JSONDict = {"file_id": f"{kind}-file-{n:06d}", "file_unique_id": f"{kind}u{n:06d}"}
        if isinstance(value, UploadedFile):
            if value.size == 0:
                raise _bad("file must be non-empty")
            info |= {"file_size": value.size}
            return value.filename, info | {"mime_type": value.mime_type}
        if isinstance(value, str) and value:
            if value.startswith(("http://", "https://", "attach://")):
                return value.rsplit("/", 1)[-1] or "file", info
            info["file_id"] = value
            return "file", info
        raise _bad(f"there is no {kind} in the request")

    def _describe(self, field: str, limit: int) -> Callable[[JSONDict], Any]:
        """setMyDescription / setMyShortDescription: per language_code; empty text removes."""

        def handler(params: JSONDict) -> bool:
            text = str(params.get(field) or "")
            if len(text) > limit:
                raise _bad(f"{field.upper()}_TOO_LONG")
            key = (field, str(params.get("language_code") or ""))
            if text:
                self.descriptions[key] = text
            else:
                self.descriptions.pop(key, None)
            return True

        return handler

    def _described(self, field: str) -> Callable[[JSONDict], Any]:
        """getMyDescription / getMyShortDescription: the language's text, else the default."""

        def handler(params: JSONDict) -> JSONDict:
            language = str(params.get("language_code") or "")
            text = self.descriptions.get((field, language), self.descriptions.get((field, ""), ""))
            return {field: text}

        return handler

    def _store_setting(self, endpoint: str) -> Callable[[JSONDict], Any]:
        """Return a handler that stores its params and answers True."""

        def handler(params: JSONDict) -> bool:
            self._settings[endpoint] = params
            return True

        return handler

    @staticmethod
    def _scope_key(scope: Any, language_code: Any) -> tuple[str, str]:
        """Return the key commands are stored under."""
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    # ------------------------------------------------------------------ methods

    @staticmethod
    def _true(params: JSONDict) -> bool:
        """Answer True."""
        return True

    def _get_me(self, params: JSONDict) -> JSONDict:
        """Answer getMe."""
        return self._bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        """Answer getUpdates: confirm updates below ``offset``, return up to ``limit``."""
        if self._webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = params.get("limit") or 100
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            limit = 100
        if isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]
        elif isinstance(offset, int):
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return copy.deepcopy(self._updates[:limit])

    def _send_message(self, params: JSONDict) -> JSONDict:
        """Answer sendMessage."""
        text = self._check_text(params.get("text"), parse_mode=params.get("parse_mode"))
        self._check_markup(params)
        chat_id = self._gate("sendMessage", params)
        return self._new_message(chat_id, params, {"text": text})

    def _send_media(self, endpoint: str, kind: str, params: JSONDict) -> JSONDict:
        """Answer sendDocument/sendPhoto."""
        self._check_markup(params)
        caption = params.get("caption")
        if caption is not None:
            self._check_text(
                caption, limit=1024, what="message caption", parse_mode=params.get("parse_mode")
            )
        chat_id = self._gate(endpoint, params)
        filename, info = self._file(params.get(kind), kind)
        content: JSONDict
        if kind == "photo":
            size = info.pop("file_size", 0)
            info.pop("mime_type", None)
            thumb = info | {
                "file_id": info["file_id"] + "-s",
                "file_unique_id": info["file_unique_id"] + "s",
                "width": 90,
                "height": 68,
            }
            full = info | {"width": 800, "height": 600}
            if size:
                thumb["file_size"] = min(size, 1500)
                full["file_size"] = size
            content = {"photo": [thumb, full]}
        else:
            content = {"document": info | {"file_name": filename}}
        if caption is not None:
            content["caption"] = caption
        return self._new_message(chat_id, params, content)

    def _send_document(self, params: JSONDict) -> JSONDict:
        """Answer sendDocument."""
        return self._send_media("sendDocument", "document", params)

    def _send_photo(self, params: JSONDict) -> JSONDict:
        """Answer sendPhoto."""
        return self._send_media("sendPhoto", "photo", params)

    def put_file(
        self, content: bytes, filename: str, mime_type: str = "application/octet-stream"
    ) -> JSONDict:
        """Store a file a person sends; return the ``document`` dict of their message."""
        with self._lock:
            n = next(self._file_ids)
            file_id = f"upload-file-{n:06d}"
            self._stored_files[file_id] = (f"documents/file_{n}_{filename}", content)
        return {
            "file_id": file_id,
            "file_unique_id": f"uploadu{n:06d}",
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(content),
        }

    def file_content(self, file_path: str) -> bytes | None:
        """The bytes behind a ``file_path`` that getFile gave out (the file download URL)."""
        with self._lock:
            for path, content in self._stored_files.values():
                if path == file_path:
                    return content
        return None

    def _get_file(self, params: JSONDict) -> JSONDict:
        """Answer getFile for a file stored with `put_file`."""
        file_id = str(params.get("file_id", ""))
        if file_id not in self._stored_files:
            raise _bad("invalid file_id")
        path, content = self._stored_files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": "u" + file_id,
            "file_size": len(content),
            "file_path": path,
        }

    def _send_chat_action(self, params: JSONDict) -> bool:
        """Answer sendChatAction."""
        self._check_reachable(self._chat_id(params))
        return True

    def _stored_message(self, endpoint: str, params: JSONDict, what: str) -> JSONDict:
        """Return the stored message an edit/delete refers to, or raise 400."""
        chat_id = self._chat_id(params)
        self._check_reachable(chat_id)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        msg = self._messages.get(chat_id, {}).get(message_id)
        if msg is None:
            raise _bad(f"message to {what} not found")
        if endpoint in EDIT_METHODS:
            self._check_flood(endpoint, chat_id)
        return msg

    def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        """Answer editMessageText; same text and markup is "message is not modified"."""
        text = self._check_text(params.get("text"), parse_mode=params.get("parse_mode"))
        markup = self._check_markup(params)
        if params.get("inline_message_id"):
            return True
        msg = self._stored_message("editMessageText", params, "edit")
        if "text" not in msg:
            raise _bad("there is no text in the message to edit")
        if msg["text"] == text and msg.get("reply_markup") == markup:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        msg["text"] = text
        return self._edited(msg, markup)

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        """Answer editMessageReplyMarkup (no markup removes the keyboard)."""
        markup = self._check_markup(params)
        if params.get("inline_message_id"):
            return True
        msg = self._stored_message("editMessageReplyMarkup", params, "edit")
        if msg.get("reply_markup") == markup:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        return self._edited(msg, markup)

    def _edited(self, msg: JSONDict, markup: JSONDict | None) -> JSONDict:
        """Apply the new markup and edit date to a stored message; return a copy."""
        if markup is None:
            msg.pop("reply_markup", None)
        else:
            msg["reply_markup"] = markup
        msg["edit_date"] = int(self._wall())
        return copy.deepcopy(msg)

    def _delete_message(self, params: JSONDict) -> bool:
        """Answer deleteMessage (bots may delete incoming messages in private chats too)."""
        incoming = self._incoming.get(self._chat_id(params), {})
        if params.get("message_id") in incoming:
            del incoming[params["message_id"]]
            return True
        msg = self._stored_message("deleteMessage", params, "delete")
        del self._messages[msg["chat"]["id"]][msg["message_id"]]
        return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        """Answer answerCallbackQuery."""
        if not params.get("callback_query_id"):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        return True

    def _set_my_commands(self, params: JSONDict) -> bool:
        """Answer setMyCommands (validates command names like Telegram)."""
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for item in commands:
            if not isinstance(item, dict) or not _COMMAND_RE.match(str(item.get("command"))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(item.get("description") or "")) <= 256:
                raise _bad("command description is empty")
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        """Answer getMyCommands."""
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: JSONDict) -> bool:
        """Answer deleteMyCommands."""
        self._commands.pop(self._scope_key(params.get("scope"), params.get("language_code")), None)
        return True

    def _set_webhook(self, params: JSONDict) -> bool:
        """Answer setWebhook (Telegram only accepts HTTPS URLs)."""
        url = str(params.get("url") or "")
        if not url:
            self._webhook = {}
            return True
        if not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook = {k: v for k, v in params.items() if k != "certificate"}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _delete_webhook(self, params: JSONDict) -> bool:
        """Answer deleteWebhook."""
        self._webhook = {}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        """Answer getWebhookInfo."""
        info: JSONDict = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            info["max_connections"] = self._webhook.get("max_connections", 40)
            if "allowed_updates" in self._webhook:
                info["allowed_updates"] = self._webhook["allowed_updates"]
        return info

    def _get_chat(self, params: JSONDict) -> JSONDict:
        """Answer getChat with a ``ChatFullInfo``."""
        chat_id = self._chat_id(params)
        if chat_id in self._migrated or chat_id in self._missing or chat_id in self._forbidden:
            self._check_reachable(chat_id)
        if chat_id > 0 and chat_id not in self._started and chat_id not in self._users:
            raise _bad("chat not found")
        return self._chat(chat_id) | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _get_chat_member(self, params: JSONDict) -> JSONDict:
        """Answer getChatMember ("member" unless ``set_member`` said otherwise)."""
        chat_id = self._chat_id(params)
        if chat_id < 0:
            self._check_reachable(chat_id)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise _bad("invalid user_id specified")
        status = self._members.get((chat_id, user_id), "member")
        return chat_member(status, self._user(user_id))

    def _get_chat_administrators(self, params: JSONDict) -> list[JSONDict]:
        """Answer getChatAdministrators from ``set_member`` statuses."""
        chat_id = self._chat_id(params)
        self._check_reachable(chat_id)
        return [
            chat_member(status, self._user(user_id))
            for (chat, user_id), status in self._members.items()
            if chat == chat_id and status in ("creator", "administrator")
        ]

    def _leave_chat(self, params: JSONDict) -> bool:
        """Answer leaveChat; later calls about the chat get 403."""
        chat_id = self._chat_id(params)
        self._check_reachable(chat_id)
        if chat_id < 0:
            kind = self._chat(chat_id).get("type", "supergroup")
            self._forbidden[chat_id] = f"Forbidden: bot is not a member of the {kind} chat"
        return True

    def _set_chat_menu_button(self, params: JSONDict) -> bool:
        """Answer setChatMenuButton."""
        chat_id = self._chat_id(params) if "chat_id" in params else None
        button = params.get("menu_button")
        self._menu_buttons[chat_id] = button if isinstance(button, dict) else {"type": "default"}
        return True

    def _get_chat_menu_button(self, params: JSONDict) -> JSONDict:
        """Answer getChatMenuButton."""
        chat_id = self._chat_id(params) if "chat_id" in params else None
        found = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return copy.deepcopy(found or {"type": "default"})


def split_api_path(path: str) -> tuple[str | None, str]:
    """Split ``.../bot<token>/<method>`` into ``(token, method)``; token None if absent."""
    match = _TOKEN_PATH_RE.search(path)
    if match:
        return match.group(1), match.group(2)
    return None, path.rstrip("/").rsplit("/", 1)[-1]


class InProcessRequest(BaseRequest):
    """A ``BaseRequest`` that hands PTB's requests straight to a ``FakeTelegram`` core."""

    def __init__(
        self, core: FakeTelegram, read_timeout: float | None = 5.0, long_poll_cap: float = 0.0
    ) -> None:
        self._core = core
        self._read_timeout = read_timeout
        self._long_poll_cap = long_poll_cap

    @property
    def read_timeout(self) -> float | None:
        """Return the default read timeout PTB adds to getUpdates' long-poll timeout."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer one request from the core, raising transport faults as HTTPXRequest would."""
        path = urlsplit(url).path
        if "/file/bot" in path:
            # Downloads: .../file/bot<token>/<file_path> of a file stored with put_file.
            token_and_path = unquote(path).split("/file/bot", 1)[1]
            token, _, file_path = token_and_path.partition("/")
            content = self._core.file_content(file_path) if token == self._core.token else None
            if content is None:
                return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}'
            return 200, content
        token, endpoint = split_api_path(path)
        params: JSONDict = dict(request_data.parameters) if request_data else {}
        if request_data is not None:
            for name, (filename, content, mime_type) in request_data.multipart_data.items():
                params[name] = UploadedFile(filename, _read_content(content), mime_type)
        trip = self._core.round_trip(endpoint)
        if trip:  # the request travels to the server...
            await asyncio.sleep(trip / 2)
        if endpoint.lower() == "getupdates" and self._long_poll_cap > 0:
            await self._long_poll(decode_params(params))
        outcome = self._core.serve(token, endpoint, params)
        if trip:  # ...and the answer back
            await asyncio.sleep(trip / 2)
        if outcome.dropped:
            raise NetworkError(
                "httpx.RemoteProtocolError: Server disconnected without sending a response."
            )
        if outcome.delay:
            raise TimedOut(f"Timed out (fake Bot API answered {outcome.delay} s late)")
        return outcome.status, outcome.payload()

    async def _long_poll(self, params: JSONDict) -> None:
        """Wait without blocking the loop until an update is queued or the poll times out."""
        timeout, offset = params.get("timeout"), params.get("offset")
        if not isinstance(timeout, int | float) or timeout <= 0:
            return
        offset = offset if isinstance(offset, int) else None
        deadline = time.monotonic() + min(float(timeout), self._long_poll_cap)
        # push_update may come from any thread, so poll the core rather than await an Event.
        while not self._core.has_pending(offset) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
