"""Tests of the fake Bot API, driving a real ``telegram.Bot`` / ``Application`` against it."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from tests.fakes import updates
from tests.fakes.bot_api import (
    NOT_MODIFIED,
    FakeTelegram,
    FloodLimits,
    Network,
    UploadedFile,
    decode_params,
)
from tests.fakes.clock import FrozenClock
from tests.fakes.http_server import FakeBotApiServer

USER = 1001
GROUP = -1001234567890
T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def retry_seconds(exc: RetryAfter) -> float:
    """Return ``exc.retry_after`` in seconds whether PTB gives an int or a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def keyboard(*data: str) -> InlineKeyboardMarkup:
    """Return a one-row inline keyboard."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.upper(), callback_data=d) for d in data]])


@pytest.fixture
def core() -> FakeTelegram:
    """Return a fake in which USER has started the bot."""
    fake = FakeTelegram()
    fake.started(USER)
    return fake


@pytest.fixture
async def bot(core: FakeTelegram) -> AsyncIterator[Bot]:
    """Return an initialised real Bot wired to the fake in-process."""
    async with Bot(core.token, request=core.request(), get_updates_request=core.request()) as b:
        yield b


@pytest.fixture
def server(core: FakeTelegram) -> Iterator[FakeBotApiServer]:
    """Return the fake behind a real HTTP server."""
    with FakeBotApiServer(core) as srv:
        yield srv


@pytest.fixture
async def http_bot(server: FakeBotApiServer) -> AsyncIterator[Bot]:
    """Return a real Bot with the default HTTPXRequest talking to the HTTP fake."""
    async with Bot(server.core.token, base_url=server.base_url) as b:
        yield b


# ---------------------------------------------------------------- in-process Bot


async def test_get_me_reports_the_fake_bot(bot: Bot, core: FakeTelegram) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (4242, "branchbot_test", True)
    assert me.can_join_groups
    assert core.count("getMe") >= 1


async def test_send_message_lands_in_the_right_chat(bot: Bot, core: FakeTelegram) -> None:
    first = await bot.send_message(USER, "hello")
    second = await bot.send_message(GROUP, "hi all")

    assert (first.chat.id, first.chat.type, first.text) == (USER, "private", "hello")
    assert (second.chat.id, second.chat.type) == (GROUP, "supergroup")
    assert second.message_id > first.message_id
    assert first.from_user is not None
    assert first.from_user.id == 4242
    assert isinstance(first.date, dt.datetime)
    assert first.date.tzinfo is not None
    assert core.messages_to(USER) == [{"chat_id": USER, "text": "hello"}]


async def test_reply_markup_round_trips(bot: Bot, core: FakeTelegram) -> None:
    markup = keyboard("ci:1", "ci:2")
    sent = await bot.send_message(USER, "check in?", reply_markup=markup)

    assert sent.reply_markup == markup
    assert core.sent("sendMessage")[0]["reply_markup"] == markup.to_dict()
    assert core.last_message(USER) is not None
    assert core.last_message(USER)["reply_markup"] == markup.to_dict()  # type: ignore[index]


async def test_edit_replaces_text_and_keyboard_then_refuses_same_content(
    bot: Bot, core: FakeTelegram
) -> None:
    sent = await bot.send_message(USER, "tally: 0", reply_markup=keyboard("a"))
    edited = await bot.edit_message_text(
        "tally: 1", USER, sent.message_id, reply_markup=keyboard("b")
    )
    assert isinstance(edited, type(sent))
    assert edited.text == "tally: 1"
    current = core.last_message(USER)
    assert current is not None
    assert (current["text"], current["reply_markup"]) == ("tally: 1", keyboard("b").to_dict())

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("tally: 1", USER, sent.message_id, reply_markup=keyboard("b"))
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", USER, 999_999)
    assert core.errors("editMessageText")[0].status == 400
    # Same text without the keyboard is a change: it removes the keyboard.
    await bot.edit_message_text("tally: 1", USER, sent.message_id)
    assert "reply_markup" not in core.last_message(USER)  # type: ignore[operator]


async def test_not_modified_text_is_telegrams_exact_wording(core: FakeTelegram) -> None:
    _, body = core.handle("sendMessage", {"chat_id": USER, "text": "x"})
    message_id = body["result"]["message_id"]
    status, body = core.handle(
        "editMessageText", {"chat_id": str(USER), "message_id": str(message_id), "text": "x"}
    )
    assert (status, body["description"]) == (400, NOT_MODIFIED)


async def test_unreachable_users_raise_forbidden(bot: Bot, core: FakeTelegram) -> None:
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(2002, "hi")
    core.push_update(updates.message("hello", user_id=2002))
    await bot.send_message(2002, "hi")  # writing to the bot counts as starting it

    core.block(USER)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(USER, "hi")
    assert core.messages_to(USER) == []


async def test_kicked_in_private_means_blocked(bot: Bot, core: FakeTelegram) -> None:
    core.push_update(updates.my_chat_member(user_id=3003, new_status="kicked"))
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(3003, "hi")


async def test_injected_429_raises_retry_after(bot: Bot, core: FakeTelegram) -> None:
    core.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7, chat_id=USER
    )
    await bot.send_message(GROUP, "not this chat")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "hi")
    assert retry_seconds(caught.value) == 7
    await bot.send_message(USER, "hi")  # times=1: the next one goes through
    assert core.count("sendMessage", status=429) == 1


async def test_migrated_group_raises_chat_migrated(bot: Bot, core: FakeTelegram) -> None:
    core.migrate(-4001, GROUP)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-4001, "hi")
    assert caught.value.new_chat_id == GROUP


async def test_chat_not_found_raises_bad_request(bot: Bot, core: FakeTelegram) -> None:
    core.chat_not_found(GROUP)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(GROUP, "hi")


async def test_delay_raises_timed_out_but_the_message_was_delivered(
    bot: Bot, core: FakeTelegram
) -> None:
    core.delay_next("sendMessage", 30)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "maybe")
    assert [p["text"] for p in core.messages_to(USER)] == ["maybe"]


async def test_network_drop_raises_network_error_and_delivers_nothing(
    bot: Bot, core: FakeTelegram
) -> None:
    core.fail_network_next(1)
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(USER, "lost")
    assert not isinstance(caught.value, TimedOut)
    assert core.messages_to(USER) == []
    assert core.count("sendMessage", status=0) == 1


async def test_unknown_method_is_404(bot: Bot, core: FakeTelegram) -> None:
    assert core.handle("sendTelepathy", {}) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("send_telepathy")


async def test_documents_and_photos_record_filename_and_size(bot: Bot, core: FakeTelegram) -> None:
    doc = await bot.send_document(USER, b"PK\x03\x04data", filename="register.xlsx", caption="Q1")
    photo = await bot.send_photo(USER, b"\x89PNG....")

    assert doc.document is not None
    assert doc.document.file_name == "register.xlsx"
    assert doc.document.file_size == 8
    assert doc.caption == "Q1"
    assert photo.photo
    assert photo.photo[-1].file_size == 8
    upload = core.sent("sendDocument")[0]["document"]
    assert isinstance(upload, UploadedFile)
    assert (upload.filename, upload.size, upload.content[:2]) == ("register.xlsx", 8, b"PK")
    assert [p["chat_id"] for p in core.messages_to(USER)] == [USER, USER]


async def test_commands_and_webhook_state(bot: Bot, core: FakeTelegram) -> None:
    await bot.set_my_commands([("start", "Start"), ("plan", "This month")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "plan"]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("Bad-Name", "x")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()

    core.push_update(updates.message("hi"))
    assert (await bot.get_webhook_info()).pending_update_count == 1
    await bot.set_webhook("https://example.org/hook", secret_token="s3cret")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


async def test_get_updates_offset_confirms_earlier_updates(bot: Bot, core: FakeTelegram) -> None:
    first = core.push_update(updates.command("start", user_id=5005))
    second = core.push_update(updates.callback_query("ci:9", user_id=5005))
    assert second["update_id"] == first["update_id"] + 1

    got = await bot.get_updates(timeout=10)  # in-process: returns at once
    assert [u.update_id for u in got] == [first["update_id"], second["update_id"]]
    assert got[1].callback_query is not None
    assert got[1].callback_query.data == "ci:9"

    assert len(await bot.get_updates(offset=second["update_id"])) == 1
    assert await bot.get_updates(offset=second["update_id"] + 1) == ()
    assert core.pending_updates == 0


async def test_group_chat_info_comes_from_updates(bot: Bot, core: FakeTelegram) -> None:
    core.push_update(updates.message("hi", user_id=USER, chat_id=GROUP, chat_title="Branch 7"))
    core.set_member(GROUP, USER, "administrator")
    sent = await bot.send_message(GROUP, "welcome")
    member = await bot.get_chat_member(GROUP, USER)
    chat = await bot.get_chat(GROUP)

    assert sent.chat.title == "Branch 7"
    assert chat.title == "Branch 7"
    assert member.status == "administrator"
    assert [m.user.id for m in await bot.get_chat_administrators(GROUP)] == [USER]
    assert await bot.leave_chat(GROUP)
    with pytest.raises(Forbidden, match="not a member"):
        await bot.send_message(GROUP, "still here?")


async def test_application_command_handler_reply_is_recorded(core: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        assert update.effective_user is not None
        await update.effective_message.reply_text(f"hello {update.effective_user.first_name}")

    app = (
        ApplicationBuilder()
        .token(core.token)
        .request(core.request())
        .get_updates_request(core.request())
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    payload = core.observe(updates.command("start", user_id=6006, first_name="Li"))
    await app.initialize()
    try:
        await app.process_update(Update.de_json(payload, app.bot))
    finally:
        await app.shutdown()

    replies = core.sent("sendMessage")
    assert [(r["chat_id"], r["text"]) for r in replies] == [(6006, "hello Li")]


# ---------------------------------------------------------------- flood limits


async def test_flood_limits_private_burst_of_one() -> None:
    clock = FrozenClock(T0)
    core = FakeTelegram(clock=clock.timestamp, limits=FloodLimits())
    core.started(USER)
    async with Bot(core.token, request=core.request(), get_updates_request=core.request()) as b:
        await b.send_message(USER, "1")
        with pytest.raises(RetryAfter) as caught:
            await b.send_message(USER, "2")
        with pytest.raises(RetryAfter):
            await b.send_message(USER, "3")
        assert retry_seconds(caught.value) == 1
        core.started(USER + 1)
        await b.send_message(USER + 1, "another chat has its own bucket")

        clock.advance(seconds=1)
        await b.send_message(USER, "4")
    assert [p["text"] for p in core.messages_to(USER)] == ["1", "4"]
    assert core.max_per_window("private", 1.0) == 1
    assert core.max_per_window("private", 1.0, per_chat=False) == 2


def test_flood_limits_twenty_per_minute_per_group() -> None:
    clock = FrozenClock(T0)
    core = FakeTelegram(clock=clock.timestamp, limits=FloodLimits())
    for i in range(20):
        core.handle("sendMessage", {"chat_id": GROUP, "text": str(i)})
        clock.advance(seconds=0.1)
    status, body = core.handle("sendMessage", {"chat_id": GROUP, "text": "21st"})
    assert status == 429
    assert body["parameters"]["retry_after"] >= 1
    assert core.max_per_window("group", 60.0) == 20
    clock.advance(seconds=3)
    assert core.handle("sendMessage", {"chat_id": GROUP, "text": "later"})[0] == 200


def test_scale_speeds_up_the_buckets() -> None:
    clock = FrozenClock(T0)
    core = FakeTelegram(clock=clock.timestamp, limits=FloodLimits(scale=10))
    core.started(USER)
    assert core.handle("sendMessage", {"chat_id": USER, "text": "a"})[0] == 200
    assert core.handle("sendMessage", {"chat_id": USER, "text": "b"})[0] == 429
    clock.advance(seconds=0.1)
    assert core.handle("sendMessage", {"chat_id": USER, "text": "c"})[0] == 200


# ---------------------------------------------------------------- decoding, clock, factories


@given(text=st.text(min_size=1), chat_id=st.integers(-(10**13), 10**13))
def test_form_fields_decode_to_what_ptb_meant(text: str, chat_id: int) -> None:
    data = RequestData(
        [
            RequestParameter.from_input("chat_id", chat_id),
            RequestParameter.from_input("text", text),
            RequestParameter.from_input("reply_markup", keyboard("x:1")),
            RequestParameter.from_input("disable_notification", True),
        ]
    )
    assert decode_params(data.json_parameters) == data.parameters
    assert decode_params(data.parameters) == data.parameters


def test_frozen_clock() -> None:
    with pytest.raises(ValueError, match="naive"):
        FrozenClock(dt.datetime.fromisoformat("2025-01-01T00:00"))
    clock = FrozenClock(dt.datetime(2025, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    assert clock.now() == dt.datetime(2025, 1, 1, 0, tzinfo=dt.UTC)
    assert clock.now().tzinfo == dt.UTC
    clock.advance(minutes=90)
    assert clock.now() == dt.datetime(2025, 1, 1, 1, 30, tzinfo=dt.UTC)
    assert clock.timestamp() == clock.now().timestamp()
    with pytest.raises(ValueError):
        clock.advance(seconds=-1)
    clock.set(T0)
    assert clock.now() == T0


def test_update_factories_parse_with_ptb() -> None:
    bot = Bot(FakeTelegram().token)
    cmd = Update.de_json(updates.command("plan", "2025", chat_id=GROUP, bot_username="x"), bot)
    tap = Update.de_json(updates.callback_query("ci:1", user_id=7, chat_id=GROUP), bot)
    joined = Update.de_json(updates.my_chat_member(new_status="administrator", chat_id=GROUP), bot)
    text = Update.de_json(updates.message("hi", date=T0), bot)

    assert cmd.message is not None
    assert cmd.message.text == "/plan@x 2025"
    assert cmd.message.parse_entities() == {cmd.message.entities[0]: "/plan@x"}
    assert cmd.effective_chat is not None
    assert cmd.effective_chat.type == "supergroup"
    assert tap.callback_query is not None
    assert tap.callback_query.data == "ci:1"
    assert tap.callback_query.chat_instance
    assert tap.callback_query.from_user.id == 7
    assert joined.my_chat_member is not None
    assert joined.my_chat_member.new_chat_member.status == "administrator"
    assert text.message is not None
    assert text.message.date == T0
    assert text.effective_chat is not None
    assert text.effective_chat.type == "private"


# ---------------------------------------------------------------- HTTP server


async def test_http_bot_round_trip(http_bot: Bot, server: FakeBotApiServer) -> None:
    core = server.core
    assert (await http_bot.get_me()).username == "branchbot_test"
    sent = await http_bot.send_message(USER, "123", reply_markup=keyboard("ci:1"))
    doc = await http_bot.send_document(USER, b"\x00\r\n--x\r\n" * 100, filename="党员名册.xlsx")

    assert sent.text == "123"
    assert sent.reply_markup == keyboard("ci:1")
    params = core.sent("sendMessage")[0]
    assert params == {"chat_id": USER, "text": "123", "reply_markup": keyboard("ci:1").to_dict()}
    upload = core.sent("sendDocument")[0]["document"]
    assert (upload.filename, upload.size) == ("党员名册.xlsx", 800)
    assert doc.document is not None
    assert doc.document.file_size == 800

    with pytest.raises(Forbidden, match="can't initiate"):
        await http_bot.send_message(9009, "hi")
    core.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await http_bot.send_message(USER, "hi")
    assert retry_seconds(caught.value) == 3


async def test_http_get_updates_long_poll(http_bot: Bot, server: FakeBotApiServer) -> None:
    pushed = server.core.push_update(updates.command("start", user_id=USER))
    got = await http_bot.get_updates(timeout=1)
    assert [u.update_id for u in got] == [pushed["update_id"]]

    started = time.monotonic()
    empty = await http_bot.get_updates(offset=pushed["update_id"] + 1, timeout=300)
    assert empty == ()
    # Held (at least most of the 1 s cap), but not for the 300 s asked: bounds no load can break.
    assert 0.8 <= time.monotonic() - started < 150


async def test_http_transport_faults(http_bot: Bot, server: FakeBotApiServer) -> None:
    server.core.fail_network_next(1, endpoint="sendMessage")
    with pytest.raises(NetworkError):
        await http_bot.send_message(USER, "dropped")
    server.core.delay_next("sendMessage", 5)
    with pytest.raises(TimedOut):
        await http_bot.send_message(USER, "late", read_timeout=0.2)
    assert [p["text"] for p in server.core.messages_to(USER)] == ["late"]


async def test_http_wrong_token_is_unauthorized(server: FakeBotApiServer) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=server.base_url):
            pass


def _raw_post(
    server: FakeBotApiServer,
    path: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float | None = 60,
) -> tuple[int, Any]:
    """POST raw bytes and return (status, parsed JSON body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_http_malformed_requests_get_400(server: FakeBotApiServer) -> None:
    path = f"/bot{server.core.token}/sendMessage"
    bad = [
        (b"{not json", {"Content-Type": "application/json"}),
        (b"[1, 2]", {"Content-Type": "application/json"}),
        (b"--x\r\nnope", {"Content-Type": "multipart/form-data; boundary=x"}),
        (b"a=1", {"Content-Type": "multipart/form-data"}),
        (b"\xff\xfe=\xff", {"Content-Type": "application/x-www-form-urlencoded"}),
        (b"<xml/>", {"Content-Type": "text/xml"}),
    ]
    for body, headers in bad:
        status, answer = _raw_post(server, path, body, headers)
        assert (status, answer["ok"]) == (400, False), body
    status, answer = _raw_post(
        server,
        path,
        json.dumps({"chat_id": USER, "text": "json works"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200
    assert answer["result"]["text"] == "json works"
    assert _raw_post(server, "/nothing", b"", {})[0] == 404


def test_http_stop_does_not_wait_for_a_held_long_poll() -> None:
    # The poll would be held for 10 minutes: stop() returning at all shows it did not wait.
    srv = FakeBotApiServer(long_poll_cap=600).start()
    outcome: list[object] = []

    def poll() -> None:
        try:
            outcome.append(
                _raw_post(
                    srv,
                    f"/bot{srv.core.token}/getUpdates",
                    b"timeout=600",
                    {"Content-Type": "application/x-www-form-urlencoded"},
                    timeout=None,
                )
            )
        except OSError as exc:  # the connection was cut before an answer started
            outcome.append(exc)

    poller = threading.Thread(target=poll)
    poller.start()
    assert srv.wait_until_polling(1, timeout=None)
    srv.stop()
    poller.join(timeout=120)  # generous: only a stop() that waited for the poll takes 600 s
    assert not poller.is_alive()
    # Either a whole answer or a connection closed without one: never half an answer (which
    # http.client reports as IncompleteRead/BadStatusLine, not OSError).
    assert len(outcome) == 1
    assert isinstance(outcome[0], OSError) or outcome[0] == (200, {"ok": True, "result": []})


async def test_in_process_long_poll_cap_stops_updater_spinning() -> None:
    core = FakeTelegram()
    request = core.request(long_poll_cap=0.3)
    async with Bot(core.token, request=core.request(), get_updates_request=request) as b:
        started = time.monotonic()
        assert await b.get_updates(timeout=300) == ()
        assert 0.25 <= time.monotonic() - started < 150  # held, but capped well below 300 s
        pushed = core.push_update(updates.message("hi"))
        assert [u.update_id for u in await b.get_updates(timeout=5)] == [pushed["update_id"]]


def test_text_limits_count_after_entity_parsing() -> None:
    """Telegram: 1-4096 characters after entities parsing; captions 0-1024."""
    from tests.fakes.bot_api import FakeTelegram

    api = FakeTelegram()
    api.started(1)
    bold = "<b>" + "x" * 4000 + "</b>" + "&lt;" * 96  # 4,096 shown, 4,479 sent
    assert api.handle("sendMessage", {"chat_id": 1, "text": bold, "parse_mode": "HTML"})[0] == 200
    status, body = api.handle(
        "sendMessage", {"chat_id": 1, "text": bold + "y", "parse_mode": "HTML"}
    )
    assert status == 400 and "message is too long" in body["description"]
    status, body = api.handle("sendMessage", {"chat_id": 1, "text": "x" * 4097})
    assert status == 400 and "message is too long" in body["description"]
    status, body = api.handle(
        "sendMessage", {"chat_id": 1, "text": "<b></b>", "parse_mode": "HTML"}
    )
    assert status == 400 and "empty" in body["description"]
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "x" * 65}]]}
    status, body = api.handle("sendMessage", {"chat_id": 1, "text": "a", "reply_markup": markup})
    assert status == 400 and "BUTTON_DATA_INVALID" in body["description"]


# ---------------------------------------------------------------- the simulated network


def test_round_trips_per_method_with_reproducible_jitter() -> None:
    core = FakeTelegram(network=Network(round_trip=0.15, per_method={"getMe": 0.0}))
    assert core.round_trip("sendMessage") == 0.15
    assert core.round_trip("getMe") == 0.0
    core.set_network(Network(round_trip=0.1, jitter=0.05, seed=1))
    draws = [core.round_trip("answerCallbackQuery") for _ in range(50)]
    assert all(0.1 <= d < 0.15 for d in draws) and len(set(draws)) > 1
    core.set_network(Network(round_trip=0.1, jitter=0.05, seed=1))
    assert [core.round_trip("answerCallbackQuery") for _ in range(50)] == draws
    assert FakeTelegram().round_trip("sendMessage") == 0.0  # the unit tests' 0 ms network
    with pytest.raises(ValueError):
        Network(round_trip=-1)


async def test_a_call_takes_at_least_its_round_trip_in_process_and_over_http() -> None:
    core = FakeTelegram(network=Network(round_trip=0.2))
    core.started(USER)
    async with Bot(core.token, request=core.request()) as in_process:
        started = time.monotonic()
        await in_process.send_message(USER, "far away")
        assert time.monotonic() - started >= 0.19  # a lower bound: no load can break it
    with FakeBotApiServer(core) as srv:
        async with Bot(core.token, base_url=srv.base_url) as over_http:
            started = time.monotonic()
            await over_http.send_message(USER, "far away")
            assert time.monotonic() - started >= 0.19
    assert len(core.messages_to(USER)) == 2
