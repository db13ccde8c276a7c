"""A small branch with a year of occurrences, for the answer tests (attendance, dues, talks)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func
from sqlmodel import SQLModel, select

from scheduler.occurrences import sync_occurrences
from storage.db import Database
from storage.models import Branch, Occurrence
from tests.fakes import updates
from tests.harness import Harness, seed_branch

UTC = dt.UTC
MEETING_START = dt.datetime(2026, 3, 13, 7, 0, tzinfo=UTC)  # general meeting, 15:00 Shanghai
COMMITTEE_START = dt.datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # committee meeting, 16:00 Shanghai

MEMBERS: list[tuple[str, int | None, str, str | None]] = [
    ("Secretary Wang", 9001, "secretary", "Group 1"),
    ("Committee Zhao", 9002, "committee", "Group 1"),
    ("Leader Chen", 2001, "group_leader", "Group 1"),
    ("Member Li", 1001, "member", "Group 1"),
    ("Member Sun", 1002, "member", "Group 2"),
    ("Leader Qian", 2002, "group_leader", "Group 2"),
    ("Unlinked Zhou", None, "member", "Group 2"),
]


@dataclass
class World:
    """Ids of the seeded branch: members by name, occurrences by (item, planned date)."""

    db: Database
    ids: dict[str, int]
    occurrences: dict[tuple[str, str], int]

    @property
    def branch_id(self) -> int:
        """The branch's id."""
        return self.ids["branch"]

    def occ(self, item_id: str, key: str) -> int:
        """The occurrence id of `item_id` planned on local date `key`."""
        return self.occurrences[(item_id, key)]

    @property
    def meeting(self) -> int:
        """The general members' meeting of 2026-03-13."""
        return self.occ("general_meeting", "2026-03-13")

    @property
    def committee_meeting(self) -> int:
        """The committee meeting of 2026-03-03."""
        return self.occ("committee_meeting", "2026-03-03")

    @property
    def dues(self) -> int:
        """The dues day of March 2026."""
        return self.occ("dues", "2026-03-27")

    @property
    def talks(self) -> int:
        """The talk records deadline of Q1 2026."""
        return self.occ("talk_records", "2026-03-31")


def seed(db: Database, *, name: str = "一支部", locale: str = "en", **kwargs: Any) -> World:
    """Seed a branch with MEMBERS and its 2026 occurrences."""
    members = kwargs.pop("members", MEMBERS)
    ids = seed_branch(db, name=name, locale=locale, members=members, **kwargs)
    with db.transaction() as s:
        branch = s.get(Branch, ids["branch"])
        assert branch is not None
        rows = sync_occurrences(s, branch, year=2026, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
        occs = {(o.item_id, o.key): o.id for o in rows if o.id is not None}
    return World(db, ids, occs)


def count(db: Database, model: type[SQLModel], **where: Any) -> int:
    """Rows of `model` matching the equality filters."""
    stmt = select(func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    with db.read() as s:
        return int(s.exec(stmt).one())


def cancel_occurrence(db: Database, occurrence_id: int) -> None:
    """Cancel an occurrence the way /cancelevent does."""
    with db.transaction() as s:
        occ = s.get(Occurrence, occurrence_id)
        assert occ is not None
        occ.status = "cancelled"
        occ.changed_at = dt.datetime(2026, 3, 1, tzinfo=UTC)
        s.add(occ)


class QueryCounter:
    """Counts SQL statements executed on a database while active."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.count = 0

    def _on(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> QueryCounter:
        event.listen(self.db.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.db.engine, "before_cursor_execute", self._on)


async def send_reminder(
    h: Harness, chat_id: int, occurrence_id: int, member_id: int | None
) -> int:
    """Send the real reminder message (engine's renderer) to a chat; return its message id."""
    from bot import keyboards
    from bot.i18n import translator
    from bot.render import reminders as reminders_text
    from bot.services.reminders import build_reminder_view

    with h.db.read() as s:
        view = build_reminder_view(
            s, occurrence_id=occurrence_id, member_id=member_id, now=h.clock.now()
        )
    assert view is not None
    tr = translator(view.locale, view.timezone)
    message = await h.app.bot.send_message(
        chat_id,
        reminders_text.reminder_text(view, tr),
        reply_markup=keyboards.reminder_keyboard(view, tr),
    )
    return message.message_id


async def tap(
    h: Harness, data: str, *, user_id: int, message_id: int = 1, chat_id: int | None = None
) -> dict[str, Any]:
    """Tap a button; return the answerCallbackQuery the bot made for it."""
    update = updates.callback_query(data, user_id=user_id, chat_id=chat_id, message_id=message_id)
    await h.feed(update)
    query_id = update["callback_query"]["id"]
    answers = [a for a in h.answers() if a.get("callback_query_id") == query_id]
    assert len(answers) == 1, f"{len(answers)} answers to one tap"
    return answers[0]


def edits_of(h: Harness, chat_id: int, message_id: int) -> list[str]:
    """Texts of the edits the bot made to one message."""
    return [
        str(p["text"])
        for p in h.api.sent("editMessageText")
        if p.get("chat_id") == chat_id and p.get("message_id") == message_id
    ]


def seed_started(h: Harness, **kwargs: Any) -> World:
    """Seed the branch; every linked member has started the bot (so it may write to them)."""
    world = seed(h.db, **kwargs)
    for _name, telegram_id, _role, _group in kwargs.get("members", MEMBERS):
        if telegram_id is not None:
            h.api.started(telegram_id)
    return world
