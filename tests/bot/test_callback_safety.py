"""Forged callback data: never a crash, always one answer, never a write.

A modified client can send any callback data. Hypothesis sends random text, random bytes, and
well-formed buttons of every answer action carrying real ids of things the presser may not
touch: another branch's events, a cancelled event, an event outside their audience, someone
else's leave request or payment, a member's approved amount. The presser is a plain member
(whose dues amount is not set, so no "I paid" is legitimate) or a stranger.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import SQLModel, select

from bot.buttons import button
from bot.services import dues, leave
from storage.db import Database
from storage.models import (
    Attendance,
    AuditEntry,
    Conversation,
    DuesPayment,
    Member,
    TalkParticipant,
    TalkRecord,
)
from tests import harness as harness_module
from tests.bot.answers_fixtures import MEETING_START, cancel_occurrence, seed_started
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness

LI, STRANGER = 1001, 777
MINE = ("at", "lv", "ci", "pd", "pm", "pa", "tk", "la", "ld", "dc", "ds", "tm", "td", "mu")
OTHERS = ("lg1:", "pg1:", "ev1:", "mk1:", "nd1:")  # other features' buttons: not fuzzed here
NOW = MEETING_START - dt.timedelta(minutes=10)


class World:
    """A running harness with ids worth forging."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.db = Database("sqlite://")
        SQLModel.metadata.create_all(self.db.engine)
        self.clock = FrozenClock(NOW)
        api = FakeTelegram()
        self.h = Harness(self.db, self.clock, api, harness_module.settings_for(api))
        self.errors: list[BaseException] = []
        self.loop.run_until_complete(self._setup())

    async def _setup(self) -> None:
        await self.h.start()

        async def record(_update: object, context: Any) -> None:
            self.errors.append(context.error)

        self.h.app.add_error_handler(record)
        a = seed_started(self.h)
        b = seed_started(self.h, name="二支部", members=[("Other Ma", 3001, "secretary", "G")])
        with self.db.transaction() as s:
            li = s.get(Member, a.ids["Member Li"])
            assert li is not None
            li.dues_amount = Decimal("0.00")
            s.add(li)
        cancelled = a.occ("theme_party_day", "2026-03-27")
        cancel_occurrence(self.db, cancelled)
        before = MEETING_START - dt.timedelta(days=2)
        leave.start_leave_request(
            self.db,
            member_id=a.ids["Member Sun"],
            telegram_id=1002,
            occurrence_id=a.meeting,
            now=before,
        )
        asked = leave.request_leave(
            self.db, member_id=a.ids["Member Sun"], telegram_id=1002, reason="x", now=before
        )
        paid = dues.declare_for_occurrence(
            self.db, member_id=a.ids["Member Sun"], occurrence_id=a.dues, now=NOW
        )
        assert asked.attendance_id is not None and paid.recorded
        self.occurrences = [
            cancelled,
            a.committee_meeting,  # not Li's audience
            a.dues,  # wrong kind for at/lv/ci; no amount for pd
            a.talks,  # not Li's (group leaders)
            b.meeting,
            b.dues,
            10**12,
        ]
        self.records = [asked.attendance_id, paid.recorded[0].payment_id, 0, 10**9]
        self.members = [a.ids["Member Sun"], a.ids["Member Li"], b.ids["Other Ma"], 10**6]

    def snapshot(self) -> tuple[Any, ...]:
        with self.db.read() as s:
            counts = tuple(
                s.exec(select(func.count()).select_from(model)).one()
                for model in (
                    Attendance,
                    AuditEntry,
                    Conversation,
                    DuesPayment,
                    TalkRecord,
                    TalkParticipant,
                )
            )
            states = tuple(s.exec(select(Attendance.state, Attendance.decided_by)).all())
            confirmed = tuple(s.exec(select(DuesPayment.confirmed_at)).all())
            members = tuple(s.exec(select(Member.dues_amount, Member.locale)).all())
        return counts, states, confirmed, members

    def tap(self, data: str, user_id: int, chat_id: int | None) -> list[dict[str, Any]]:
        update = updates.callback_query(data, user_id=user_id, chat_id=chat_id)
        self.loop.run_until_complete(self.h.feed(update))
        query_id = update["callback_query"]["id"]
        return [a for a in self.h.answers() if a.get("callback_query_id") == query_id]

    def close(self) -> None:
        self.loop.run_until_complete(self.h.stop())
        self.loop.close()
        self.db.dispose()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = World()
    try:
        yield w
    finally:
        w.close()


def _forged(w: World) -> st.SearchStrategy[str]:
    ids = st.sampled_from(w.occurrences)
    records = st.sampled_from(w.records)
    members = st.sampled_from(w.members)
    anything = st.integers(min_value=0, max_value=10**18)
    return st.one_of(
        st.builds(lambda a, i: button(a, i), st.sampled_from(["at", "lv", "ci", "pd", "tk"]), ids),
        st.builds(lambda a, i: button(a, i), st.sampled_from(["la", "ld", "dc"]), records),
        st.builds(lambda m, f: button("ds", m, f), members, anything),
        st.builds(lambda o, m: button("mu", o, m), ids, members),
        st.builds(lambda m: button("tm", m), members),
        st.builds(lambda c: button("td", c), st.integers(0, 5)),
        st.builds(lambda y, m: button("pm", y, m), st.integers(0, 3000), st.integers(0, 99)),
        st.builds(lambda y: button("pa", y), st.integers(0, 3000)),
        st.builds(
            lambda a, n: f"{a}1:" + ":".join(str(x) for x in n),
            st.sampled_from(MINE),
            st.lists(anything, max_size=4),
        ),
    )


def _garbage() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=80),
        st.binary(min_size=1, max_size=64).map(lambda b: b.decode("latin-1")),
        st.sampled_from(MINE).flatmap(lambda a: st.text(max_size=20).map(lambda t: f"{a}1:{t}")),
    ).filter(lambda d: bool(d) and not d.startswith(OTHERS))


def test_forged_callback_data_is_answered_and_writes_nothing(world: World) -> None:
    before = world.snapshot()

    @settings(
        max_examples=400,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        data=st.one_of(_forged(world), _garbage()),
        user_id=st.sampled_from([LI, STRANGER]),
        chat_id=st.sampled_from([None, -1001234567890]),
    )
    def check(data: str, user_id: int, chat_id: int | None) -> None:
        answers = world.tap(data, user_id, chat_id)
        assert len(answers) == 1, f"{len(answers)} answers to {data!r}"
        assert answers[0].get("text"), f"a silent answer to {data!r}"
        assert world.errors == []
        assert world.snapshot() == before

    check()
