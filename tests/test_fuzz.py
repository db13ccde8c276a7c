"""Fuzzing: arbitrary input never crashes the plan parser, the roster import, the CLI or a handler.

Each property is the contract of ISSUE 7 part 3: bad input gets a clear error (PlanError,
RosterError, a one-line CLI message, a bot answer), never another exception, and an input that
is refused writes nothing. Example counts are modest so that the file runs in well under a
minute; run with `--hypothesis-profile=fuzz-long` (or raise max_examples) to search longer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import SQLModel, select
from telegram import Bot as TgBot
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.buttons import ACTIONS, VERSION
from bot.cli import main
from bot.context import BranchApp, BranchContext
from bot.services.roster import HEADER, RosterError, import_roster, parse_roster
from bot.webhook import parse_update
from scheduler.occurrences import sync_occurrences
from scheduler.plan import AUDIENCES, EVERY, KINDS, WEEKDAYS, Plan, PlanError, parse_plan
from scheduler.recurrence import occurrences, zone
from storage.db import Database
from storage.models import Branch
from tests import harness as harness_module
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SECRETARY, MEMBER, STRANGER = 9001, 1001, 5555
NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)

# Text for files and argv: anything but lone surrogates.
typed = st.text(max_size=60)
# Text a person can send through Telegram: no control characters but newline and tab.
said = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n\t"), max_size=60
)
command_like = st.builds(
    lambda c, rest: f"/{c}{rest}", st.sampled_from(["start", "cancel", "x"]), said
)
small_ints = st.integers(min_value=-3, max_value=40)


# ===================================================================== the plan parser


def toml_value(value: Any) -> str:
    """Serialise a scalar, list or inline table as TOML (enough for the strategies below)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        # JSON string escapes are valid TOML basic-string escapes, except that TOML wants DEL
        # escaped too.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(pairs) + " }"
    raise TypeError(type(value))


def toml_document(top: Mapping[str, Any], items: list[Mapping[str, Any]]) -> str:
    """A plan file: top-level keys, then one [[items]] table per item."""
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in top.items()]
    for item in items:
        lines.append("[[items]]")
        lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def maybe(strategy: st.SearchStrategy[Any], *wrong: Any) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes a wrong one of another type."""
    return st.one_of(strategy, strategy, st.sampled_from(wrong or (0, "", [], {}, True)))


localized = st.one_of(
    st.fixed_dictionaries({"zh_CN": typed, "en": typed}),
    st.fixed_dictionaries({"zh_CN": typed}),
    st.dictionaries(st.sampled_from(["zh_CN", "en", "fr"]), typed, max_size=3),
    typed,
)
clock_text = st.one_of(
    st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 25), st.integers(0, 61)),
    typed,
)
rhythm = st.builds(
    lambda every, extra: {"every": every, **extra},
    maybe(st.sampled_from([*EVERY, "week"])),
    st.dictionaries(
        st.sampled_from(["month", "months", "day", "weekday", "nth", "date", "hour"]),
        st.one_of(
            small_ints,
            st.lists(st.integers(-1, 14), max_size=4),
            st.sampled_from([*WEEKDAYS, "someday"]),
            st.dates(dt.date(1999, 1, 1), dt.date(2101, 12, 31)),
            typed,
        ),
        max_size=4,
    ),
)
reminder = st.dictionaries(
    st.sampled_from(["days_before", "days_after", "at", "only_pending", "when"]),
    st.one_of(st.integers(-2, 400), clock_text, st.booleans()),
    max_size=4,
)
agendas = st.dictionaries(
    st.sampled_from(["q1", "q2", "q3", "q4", "q5", "1", "3", "12", "13"]), localized, max_size=3
)
_ITEM_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "id": maybe(st.from_regex(r"[a-z0-9_-]{1,34}", fullmatch=True), "", "Bad Id", 7),
    "kind": maybe(st.sampled_from([*KINDS, "party"])),
    "audience": maybe(st.sampled_from([*AUDIENCES, "nobody"])),
    "title": maybe(localized),
    "rhythm": maybe(rhythm, "monthly", []),
    "time": maybe(clock_text, 900),
    "duration_minutes": maybe(st.integers(-5, 2000), "60"),
    "reminders": maybe(st.lists(reminder, max_size=3), {}),
    "agenda": maybe(localized),
    "agendas": maybe(agendas, []),
    "colour": st.just("red"),
}
plan_item = st.fixed_dictionaries({}, optional=_ITEM_FIELDS)
plan_top = st.fixed_dictionaries(
    {"version": maybe(st.just(1), 2, "1")},
    optional={
        "name": maybe(localized),
        "country": maybe(st.sampled_from(["CN", "DE", "US", "XX"]), 86),
    },
)


def check_plan_outcome(text: str) -> None:
    """A plan parses or is refused with PlanError; a parsed plan yields its occurrences."""
    try:
        plan = parse_plan(text, source="fuzz.toml")
    except PlanError as exc:
        assert str(exc).startswith("fuzz.toml")
        return
    assert isinstance(plan, Plan)
    for year in (2024, 2025, 2100):
        occurrences(plan, year, zone("Asia/Shanghai"))


@FUZZ
@given(text=st.text(max_size=400))
def test_plan_parser_never_crashes_on_arbitrary_text(text: str) -> None:
    check_plan_outcome(text)


@settings(FUZZ, max_examples=150)
@given(top=plan_top, items=st.lists(plan_item, max_size=4))
def test_plan_parser_refuses_wrong_plans_with_plan_error_only(
    top: dict[str, Any], items: list[dict[str, Any]]
) -> None:
    check_plan_outcome(toml_document(top, items))


# ===================================================================== the roster importer


def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table."""
    with db.read() as session:
        return {
            table.name: int(session.exec(select(func.count()).select_from(table)).one())
            for table in SQLModel.metadata.sorted_tables
        }


cell = st.one_of(
    st.sampled_from(["", " ", "张三", "李四", "王五", "member", "secretary", "committee"]),
    st.sampled_from(["group_leader", "full", "probationary", "12.50", "3", "-1", "1e3", "NaN"]),
    st.sampled_from(["1001", "1002", "9001", "0", "99999999999999999999", "第一党小组"]),
    typed,
)
roster_row = st.lists(cell, min_size=0, max_size=7)
header = st.one_of(
    st.just(list(HEADER)),
    st.permutations(list(HEADER)),
    st.lists(st.sampled_from([*HEADER, "email", ""]), max_size=7),
)


def csv_text(head: list[str], rows: list[list[str]]) -> bytes:
    """A CSV file (values quoted as the csv module would write them)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(head)
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def roster_db(db: Database) -> Database:
    """A database where 1001 already belongs to 张三 of another branch."""
    with db.transaction() as s:
        other = Branch(name="二支部", created_at=NOW)
        s.add(other)
    rows = parse_roster(
        csv_text(list(HEADER), [["张三", "1001", "member", "", "0", ""]]), source="x"
    )
    import_roster(db, rows, branch_name="二支部", now=NOW)
    return db


@FUZZ
@given(data=st.binary(max_size=300))
def test_roster_parser_never_crashes_on_arbitrary_bytes(data: bytes) -> None:
    try:
        parse_roster(data, source="fuzz.csv")
    except RosterError as exc:
        assert exc.problems and str(exc).startswith("fuzz.csv: ")


@settings(FUZZ, max_examples=40)
@given(
    head=header,
    rows=st.lists(roster_row, max_size=5),
    branch=st.sampled_from(["一支部", "二支部", "第三支部"]),
)
def test_roster_import_writes_everything_or_nothing(
    roster_db: Database, head: list[str], rows: list[list[str]], branch: str
) -> None:
    before = row_counts(roster_db)
    try:
        parsed = parse_roster(csv_text(head, rows), source="fuzz.csv")
        result = import_roster(roster_db, parsed, branch_name=branch, now=NOW)
    except RosterError:
        assert row_counts(roster_db) == before  # refused: nothing written, not even the branch
        return
    after = row_counts(roster_db)
    assert after["member"] - before["member"] == len(result.created)
    assert after["auditentry"] == before["auditentry"] + 1


# ===================================================================== the command line

WORDS = [
    "init",
    "import",
    "plan",
    "check",
    "set",
    "show",
    "ics",
    "run",
    "backup",
    "preview",
    "export",
    "--branch",
    "一支部",
    "--year",
    "2026",
    "0",
    "-1",
    "--from",
    "--to",
    "2026-03-01",
    "2026-02-30",
    "--timezone",
    "Mars/Olympus",
    "--locale",
    "--group-chat",
    "--force",
    "--out",
    "out.xlsx",
    "roster.csv",
    "plan.toml",
    "missing.toml",
    "--webhook",
    "-h",
    "",
]
# Arguments without "/" stay inside the test's working directory; NUL cannot be in argv.
argument = st.one_of(
    st.sampled_from(WORDS), st.text(st.characters(exclude_characters="/\\\x00"), max_size=12)
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with a roster, a plan and a database holding branch 一支部."""
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "WEBHOOK_URL", "WEBHOOK_SECRET", "BRANCHBOT_CLOCK_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bb.db'}")
    (tmp_path / "roster.csv").write_bytes(
        csv_text(list(HEADER), [["张三", "1001", "secretary", "第一党小组", "12.50", "full"]])
    )
    (tmp_path / "plan.toml").write_text("version = 1\n", encoding="utf-8")
    assert main(["import", "roster.csv", "--branch", "一支部"]) == 0
    return tmp_path


def run_cli(argv: list[str]) -> int:
    """`branchbot ARGV` as the console script runs it: argparse's exits become codes."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


@settings(FUZZ, max_examples=80)
@given(argv=st.lists(argument, max_size=6))
def test_cli_never_raises_and_exits_0_1_or_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = run_cli(argv)
    _, err = capsys.readouterr()
    assert code in (0, 1, 2), (argv, err)
    assert "Traceback" not in err, (argv, err)
    if code == 1:
        assert err.strip().splitlines()[-1].startswith("branchbot: "), (argv, err)


# ===================================================================== the bot's handlers


def registered_commands(app: BranchApp) -> list[str]:
    """Every command some handler is registered for, right now."""
    names: set[str] = set()
    for handlers in app.handlers.values():
        for handler in handlers:
            if isinstance(handler, CommandHandler):
                names |= set(handler.commands)
    return sorted(names)


def has_callback_handlers(app: BranchApp) -> bool:
    """Whether any button handler is registered."""
    return any(
        isinstance(handler, CallbackQueryHandler)
        for handlers in app.handlers.values()
        for handler in handlers
    )


class Bot:
    """The real Application on a fresh SQLite database with a seeded branch.

    Every exception that reaches the error handlers is recorded: a fuzzed update must never
    produce one.
    """

    def __init__(self, harness: harness_module.Harness) -> None:
        self.harness = harness
        self.errors: list[BaseException] = []

        async def record(update: object, context: BranchContext) -> None:
            if context.error is not None:
                self.errors.append(context.error)

        harness.app.add_error_handler(record)

    @property
    def api(self) -> FakeTelegram:
        """The fake Bot API."""
        return self.harness.api

    async def feed(self, update: dict[str, Any]) -> None:
        """Process one update and fail on any exception that reached the error handlers."""
        await self.harness.feed(update)
        assert not self.errors, f"{type(self.errors[0]).__name__}: {self.errors[0]}"
        assert not any(
            "something went wrong" in str(m.get("text", "")).lower()
            for m in self.api.sent("sendMessage")
        )


@contextlib.asynccontextmanager
async def fresh_bot() -> AsyncIterator[Bot]:
    """A bot with its own database: secretary 9001, member 1001, leader 1002, the 2026 plan."""
    db = Database("sqlite://")
    SQLModel.metadata.create_all(db.engine)
    clock = FrozenClock(NOW)
    api = FakeTelegram()
    harness_module.seed_branch(
        db,
        members=[
            ("Secretary Wang", SECRETARY, "secretary", "Group 1"),
            ("Member Li", MEMBER, "member", "Group 1"),
            ("Leader Zhao", 1002, "group_leader", "Group 2"),
        ],
    )
    with db.transaction() as s:
        sync_occurrences(s, s.exec(select(Branch)).one(), year=2026, now=NOW)
    h = harness_module.Harness(db, clock, api, harness_module.settings_for(api))
    await h.start()
    try:
        yield Bot(h)
    finally:
        await h.stop()
        db.dispose()


@pytest.fixture(scope="module")
def commands() -> list[str]:
    """The commands registered at the time the tests run (the app grows feature by feature)."""
    h = harness_module.Harness(
        Database("sqlite://"),
        FrozenClock(NOW),
        FakeTelegram(),
        harness_module.settings_for(FakeTelegram()),
    )
    return registered_commands(h.app)


@pytest.fixture(scope="module")
def buttons_registered() -> bool:
    """Whether any button handler is registered yet."""
    h = harness_module.Harness(
        Database("sqlite://"),
        FrozenClock(NOW),
        FakeTelegram(),
        harness_module.settings_for(FakeTelegram()),
    )
    return has_callback_handlers(h.app)


def sent_to(api: FakeTelegram, chat: int) -> int:
    """How many messages the bot has sent to a chat."""
    return len(api.messages_to(chat))


senders = st.sampled_from([SECRETARY, MEMBER, 1002, STRANGER])


@settings(FUZZ, max_examples=50)
@given(data=st.data())
async def test_every_command_with_arbitrary_arguments_gets_an_answer(
    commands: list[str], data: st.DataObject
) -> None:
    steps = data.draw(
        st.lists(st.tuples(st.sampled_from(commands), said, senders), min_size=1, max_size=5),
        label="steps",
    )
    async with fresh_bot() as bot:
        for name, args, user in steps:
            before = sent_to(bot.api, user)
            words = [args] if args else []
            await bot.feed(updates.command(name, *words, user_id=user))
            assert sent_to(bot.api, user) > before, f"/{name} {args!r} from {user}: no answer"


@settings(FUZZ, max_examples=30)
@given(steps=st.lists(st.tuples(st.one_of(said, command_like), senders), min_size=1, max_size=5))
async def test_arbitrary_text_messages_never_crash(steps: list[tuple[str, int]]) -> None:
    async with fresh_bot() as bot:
        for text, user in steps:
            if text.strip():
                await bot.feed(updates.message(text, user_id=user))


def near_miss_callback_data() -> st.SearchStrategy[str]:
    """Callback data shaped like ours: a known action, odd versions and arguments."""
    parts = st.lists(
        st.one_of(
            st.integers(0, 10**6).map(str), st.sampled_from(["", "-1", "01", "x", "9" * 20])
        ),
        max_size=4,
    )
    return st.builds(
        lambda action, version, args: f"{action}{version}:" + ":".join(args),
        st.sampled_from([*ACTIONS, "zz"]),
        st.sampled_from([VERSION, "0", "2", ""]),
        parts,
    )


callback_data = st.one_of(near_miss_callback_data(), st.text(max_size=64)).filter(
    lambda d: 0 < len(d.encode()) <= 64
)


@settings(FUZZ, max_examples=50)
@given(taps=st.lists(st.tuples(callback_data, senders), min_size=1, max_size=4))
async def test_every_button_tap_with_forged_data_is_answered_once(
    buttons_registered: bool, taps: list[tuple[str, int]]
) -> None:
    if not buttons_registered:
        pytest.skip("no button handlers registered yet")
    async with fresh_bot() as bot:
        for data, user in taps:
            before = len(bot.harness.answers())
            await bot.feed(updates.callback_query(data, user_id=user))
            answered = len(bot.harness.answers()) - before
            assert answered == 1, f"callback data {data!r} from {user} answered {answered} times"


# ===================================================================== the webhook body


@pytest.fixture(scope="module")
def tg_bot() -> TgBot:
    """A Bot object for de_json (never initialised: parsing makes no request)."""
    return TgBot(FakeTelegram().token)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | typed,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "update_id",
                    "message",
                    "callback_query",
                    "from",
                    "chat",
                    "id",
                    "text",
                    "date",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@FUZZ
@given(body=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())))
def test_webhook_body_parser_never_raises(tg_bot: TgBot, body: bytes) -> None:
    update = parse_update(body, tg_bot)
    assert update is None or isinstance(update, Update)


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(["message", "edited_message", "callback_query", "my_chat_member"]),
        json_values,
        max_size=2,
    ),
    update_id=st.integers(1, 2**31),
)
def test_webhook_updates_with_garbage_fields_never_raise(
    tg_bot: TgBot, fields: dict[str, Any], update_id: int
) -> None:
    update = parse_update(json.dumps({"update_id": update_id, **fields}).encode(), tg_bot)
    assert update is None or isinstance(update, Update)
