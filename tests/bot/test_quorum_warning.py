"""The secretary is warned 3 days before a general members' meeting whose quorum is at risk."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from bot.ratelimit import BranchRateLimiter
from storage.models import Delivery, Occurrence
from tests.bot.secretary_data import (
    COMMITTEE,
    LEADER,
    LI,
    QIAN,
    SECRETARY,
    ZHAO,
    answer,
    branch,
    occ,
)
from tests.fakes.clock import FrozenClock
from tests.harness import Harness

START = dt.datetime(2026, 3, 13, 7, 0, tzinfo=dt.UTC)  # the Q1 general meeting, 15:00 Shanghai
WARN_AT = START - dt.timedelta(days=3)


async def _run(h: Harness, now: dt.datetime) -> None:
    for chat in (SECRETARY, COMMITTEE, LEADER, LI, ZHAO, QIAN):
        h.api.started(chat)
    dispatcher = h.services.dispatcher
    assert dispatcher is not None
    limiter = h.app.bot.rate_limiter
    assert isinstance(limiter, BranchRateLimiter)
    limiter.private_interval = 0.0
    for _ in range(5):
        report = await dispatcher.run_once(now)
        if not report.more:
            return


def _warnings(h: Harness) -> list[str]:
    return [t for t in h.replies_to(SECRETARY) if t.startswith("Quorum at risk")]


async def test_secretary_is_warned_once_when_answers_fall_short(
    harness: Harness, clock: FrozenClock
) -> None:
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    answer(harness.db, meeting.id, ids["Member Li"], "attending")
    await _run(harness, WARN_AT - dt.timedelta(minutes=1))
    assert _warnings(harness) == []  # not yet
    await _run(harness, WARN_AT)
    await _run(harness, WARN_AT + dt.timedelta(hours=1))
    [warning] = _warnings(harness)
    assert "1 of the 4 full members needed" in warning
    assert "Fri, Mar 13, 2026 15:00" in warning
    with harness.db.read() as s:
        rows = s.exec(select(Delivery).where(Delivery.key.startswith("qw:"))).all()  # type: ignore[attr-defined]
    assert sorted((r.member_id, r.status) for r in rows) == sorted(
        [(ids["Secretary Wang"], "sent"), (ids["Committee Sun"], "sent")]
    )  # the committee is told too
    assert any(t.startswith("Quorum at risk") for t in harness.replies_to(COMMITTEE))
    assert all("Quorum" not in t for chat in (LI, ZHAO, QIAN) for t in harness.replies_to(chat))


async def test_no_warning_when_enough_have_said_they_will_attend(
    harness: Harness, clock: FrozenClock
) -> None:
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    for name in ("Secretary Wang", "Committee Sun", "Member Li", "Member Zhao"):
        answer(harness.db, meeting.id, ids[name], "attending")
    await _run(harness, WARN_AT + dt.timedelta(minutes=5))
    assert _warnings(harness) == []


async def test_weekly_digest_warns_of_a_meeting_within_three_days(
    harness: Harness, clock: FrozenClock
) -> None:
    """The Monday digest carries the same quorum warning as /digest."""
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    monday = dt.datetime(2026, 3, 9, 0, 0, tzinfo=dt.UTC)  # 08:00 Shanghai
    with harness.db.transaction() as s:  # moved to Wednesday 15:00: two days after the digest
        row = s.get(Occurrence, meeting.id)
        assert row is not None
        row.starts_at = dt.datetime(2026, 3, 11, 7, 0, tzinfo=dt.UTC)
        row.ends_at = row.starts_at + dt.timedelta(hours=2)
        row.changed_at = monday - dt.timedelta(days=7)
        s.add(row)
    await _run(harness, monday)
    digests = [t for t in harness.replies_to(SECRETARY) if t.startswith("Weekly digest")]
    assert len(digests) == 1
    assert (
        f"⚠ Quorum at risk: General members' meeting on Wed, Mar 11, 2026 15:00 (#{meeting.id})"
        in (digests[0])
    )


async def test_the_warning_says_when_the_quorum_is_impossible(
    harness: Harness, clock: FrozenClock
) -> None:
    """With most full members on approved leave, "may be short" would understate it."""
    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    for name in ("Committee Sun", "Member Li", "Member Zhao", "Member Qian"):
        answer(harness.db, meeting.id, ids[name], "leave_approved")
    await _run(harness, WARN_AT)
    [warning] = [t for t in harness.replies_to(SECRETARY) if t.startswith("Quorum impossible")]
    assert "4 of the 7 full members are on leave" in warning
    assert any(t.startswith("Quorum impossible") for t in harness.replies_to(COMMITTEE))


async def test_digest_counts_whole_days_of_the_branch_calendar(
    harness: Harness, clock: FrozenClock
) -> None:
    """On Monday 08:00 a Thursday 14:00 meeting is 3 days away, though 78 hours off."""
    from tests.fakes import updates

    ids = branch(harness.db)
    meeting = occ(harness.db, ids["branch"], "general_meeting", "2026-03-13")
    monday = dt.datetime(2026, 3, 9, 0, 0, tzinfo=dt.UTC)  # 08:00 Shanghai
    with harness.db.transaction() as s:
        row = s.get(Occurrence, meeting.id)
        assert row is not None
        row.starts_at = dt.datetime(2026, 3, 12, 6, 0, tzinfo=dt.UTC)  # Thursday 14:00
        row.ends_at = row.starts_at + dt.timedelta(hours=2)
        row.changed_at = monday - dt.timedelta(days=7)
        s.add(row)
    clock.set(monday)
    await harness.feed(updates.command("digest", user_id=SECRETARY))
    assert f"(#{meeting.id})" in harness.last_reply(SECRETARY)
