"""`branchbot run` against the fake Bot API over HTTP with a real round trip on every call."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import select

from bot.buttons import button
from scheduler.occurrences import sync_occurrences
from storage.db import Database
from storage.models import Attendance, Branch, Occurrence
from tests.e2e.process import BotProcess, bot_env
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram, Network
from tests.fakes.http_server import FakeBotApiServer
from tests.reminder_support import meeting_plan, seed

pytestmark = pytest.mark.e2e

MEMBERS = 40
FIRST = 10_001
DAY_BEFORE = dt.datetime(2026, 3, 4, 2, 0, tzinfo=dt.UTC)  # the meeting is on the 5th


def prepare(url: str) -> int:
    """A branch of MEMBERS members with its 2026 meetings; returns the March meeting's id."""
    db = Database(url)
    db.upgrade()
    ids = seed(db, members=MEMBERS, plan=meeting_plan())
    with db.transaction() as s:
        branch = s.get(Branch, ids["branch"])
        assert branch is not None
        sync_occurrences(s, branch, year=2026, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with db.read() as s:
        march = s.exec(select(Occurrence).where(Occurrence.key == "2026-03-05")).one()
    db.dispose()
    assert march.id is not None
    return march.id


def test_members_tapping_at_once_over_a_slow_network_are_all_answered(tmp_path: Path) -> None:
    core = FakeTelegram(network=Network(round_trip=0.15, jitter=0.05, seed=11))
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    meeting = prepare(url)
    for n in range(MEMBERS):
        core.started(FIRST + n)
    clock = tmp_path / "clock"
    clock.write_text(DAY_BEFORE.isoformat(), encoding="utf-8")
    # Telegram refuses the first answer with a long retry_after: only that answer is lost.
    core.fail_next("answerCallbackQuery", 429, "Too Many Requests: retry after 30", retry_after=30)
    with FakeBotApiServer(core) as fake:
        env = bot_env(fake, tmp_path, DATABASE_URL=url, BRANCHBOT_CLOCK_FILE=str(clock))
        with BotProcess("run", env=env, cwd=tmp_path) as bot:
            bot.wait_for(lambda: fake.polls_started >= 1, what="the first getUpdates")
            for _ in range(2):  # everyone taps Attend twice, all at once
                for n in range(MEMBERS):
                    core.push_update(
                        updates.callback_query(button("at", meeting), user_id=FIRST + n)
                    )
            bot.wait_for(
                lambda: core.count("answerCallbackQuery", status=200) == 2 * MEMBERS - 1,
                60,
                what="every answer but the refused one",
            )
            bot.terminate()
    assert "Error" not in bot.stderr, bot.tail()
    assert core.count("answerCallbackQuery", status=429) == 1
    assert "answer dropped" in bot.stderr
    db = Database(url)
    with db.read() as s:
        rows = s.exec(select(Attendance).where(Attendance.occurrence_id == meeting)).all()
    db.dispose()
    assert len(rows) == MEMBERS  # one record per member, double taps included
    assert {r.state for r in rows} == {"attending"}
