"""The notifier's rendering and its mapping of Telegram's answers to ledger outcomes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.i18n import translator
from bot.notifier import _outcome
from bot.ratelimit import SendAborted
from bot.render.digest import digest_messages, digest_text
from bot.render.nudges import nudge_text
from bot.render.reminders import reminder_buttons, reminder_text
from bot.services.reminders import GroupCounts, MemberState, ReminderView
from scheduler.digest import Digest, DuesProgress, TalksProgress, Unreachable
from scheduler.notify import Status
from scheduler.plan import Localized
from storage.models import Member
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness
from tests.reminder_support import UTC, meeting_plan, seed

START = dt.datetime(2026, 3, 5, 7, 0, tzinfo=UTC)  # 15:00 Shanghai


def view(**kw: object) -> ReminderView:
    values: dict[str, object] = {
        "kind": "remind",
        "item_kind": "meeting",
        "occurrence_id": 42,
        "title": Localized(zh_CN="党员大会", en="General meeting"),
        "agenda": Localized(zh_CN="审议年度计划", en="Review the plan"),
        "starts_at": START,
        "ends_at": START + dt.timedelta(hours=2),
        "planned_starts_at": START,
        "cancelled": False,
        "due_at": START - dt.timedelta(days=3, hours=6),
        "now": START - dt.timedelta(days=3, hours=6),
        "locale": "zh_CN",
        "timezone": "Asia/Shanghai",
        "member_id": 1,
        "member_name": "李明",
        "dues_amount": Decimal("12.50"),
        "state": MemberState(),
    }
    values.update(kw)
    return ReminderView(**values)  # type: ignore[arg-type]


# ----------------------------------------------------------------- outcomes


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), Status.BLOCKED),
        (Forbidden("Forbidden: user is deactivated"), Status.BLOCKED),
        (BadRequest("Bad Request: chat not found"), Status.BLOCKED),
        (BadRequest("Bad Request: message is too long"), Status.FAILED),
        (ChatMigrated(-100123), Status.MIGRATED),
        (RetryAfter(5), Status.RETRY),
        (
            TimedOut(
                "Pool timeout: All connections in the connection pool are occupied. "
                "Request was *not* sent to Telegram."
            ),
            Status.RETRY,
        ),
        (TimedOut(), Status.AMBIGUOUS),
        (NetworkError("Bad Gateway"), Status.RETRY),
        (SendAborted(), Status.RELEASED),
    ],
)
def test_telegram_errors_map_to_what_the_ledger_should_do(
    error: Exception, status: Status
) -> None:
    outcome = _outcome(error)  # type: ignore[arg-type]
    assert outcome.status is status
    if status is Status.MIGRATED:
        assert outcome.new_chat_id == -100123
    if isinstance(error, RetryAfter):
        assert outcome.after == 5


# ----------------------------------------------------------------- reminder texts


def test_meeting_reminder_in_chinese_shows_shanghai_local_time() -> None:
    tr = translator("zh_CN", "Asia/Shanghai")
    text = reminder_text(view(), tr)
    assert text.startswith("提醒：党员大会")
    assert "15:00–17:00" in text and "2026年3月5日" in text
    assert "审议年度计划" in text and "请告知是否参加" in text


def test_berlin_reminder_shows_local_time_on_both_sides_of_dst() -> None:
    tr = translator("en", "Europe/Berlin")
    winter = dt.datetime(2026, 3, 27, 8, 0, tzinfo=UTC)  # 09:00 CET
    summer = dt.datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST
    for start in (winter, summer):
        text = reminder_text(view(starts_at=start, ends_at=start + dt.timedelta(hours=1),
                                  locale="en", timezone="Europe/Berlin"), tr)  # fmt: skip
        assert "09:00–10:00" in text


def test_catch_up_reminder_says_how_soon_the_meeting_starts() -> None:
    tr = translator("en", "Asia/Shanghai")
    late = view(locale="en", now=START - dt.timedelta(hours=2, minutes=1))
    assert "starts in 2 hours" in reminder_text(late, tr)
    zh = reminder_text(
        view(now=START - dt.timedelta(minutes=45)), translator("zh_CN", "Asia/Shanghai")
    )
    assert "45 分钟后开始" in zh
    on_time = view(locale="en")
    assert "late" not in reminder_text(on_time, tr)


def test_member_state_is_shown_after_an_answer() -> None:
    tr = translator("en", "Asia/Shanghai")
    checked = view(locale="en", state=MemberState(attendance="present",
                                                  checked_in_at=START + dt.timedelta(minutes=2)))  # fmt: skip
    assert "You checked in at 15:02." in reminder_text(checked, tr)
    leave = view(locale="en", state=MemberState(attendance="leave_requested"))
    assert "leave requested" in reminder_text(leave, tr)


def test_dues_reminder_shows_the_amount_and_offers_i_paid() -> None:
    tr = translator("zh_CN", "Asia/Shanghai")
    dues = view(item_kind="dues", title=Localized("党费缴纳日", "Dues day"))
    assert "¥12.50" in reminder_text(dues, tr)
    [[button]] = reminder_buttons(dues, tr)
    assert button == ("我已缴纳 ¥12.50", "pd1:42")
    paid = view(item_kind="dues", state=MemberState(paid=True))
    assert reminder_buttons(paid, tr) == []
    group = view(item_kind="dues", member_id=None, state=None,
                 counts=GroupCounts(audience=10, attending=0, on_leave=0, checked_in=0, paid=4))  # fmt: skip
    assert "已缴纳：4/10 人" in reminder_text(group, tr)
    [[(generic, _data)]] = reminder_buttons(group, tr)
    assert generic == "我已缴纳"


def test_change_notice_says_moved_or_cancelled() -> None:
    tr = translator("en", "Asia/Shanghai")
    moved = view(kind="change", locale="en", starts_at=START + dt.timedelta(days=1),
                 old_starts_at=START)  # fmt: skip
    text = reminder_text(moved, tr)
    assert text.startswith("Moved: General meeting") and "Mar 6" in text and "Mar 5" in text
    cancelled = view(kind="change", locale="en", cancelled=True, old_starts_at=START)
    assert reminder_text(cancelled, tr).startswith("Cancelled: General meeting")
    assert reminder_buttons(cancelled, tr) == []


def test_every_button_fits_in_64_bytes_even_with_huge_ids() -> None:
    tr = translator("zh_CN", "Asia/Shanghai")
    huge = 10**17
    for kind in ("meeting", "dues", "talks"):
        v = view(item_kind=kind, occurrence_id=huge, now=START - dt.timedelta(minutes=10))
        for row in reminder_buttons(v, tr):
            for _label, data in row:
                assert 1 <= len(data.encode()) <= 64


def test_no_buttons_once_check_in_has_closed() -> None:
    tr = translator("en", "Asia/Shanghai")
    assert reminder_buttons(view(now=START + dt.timedelta(hours=2)), tr) == []


def test_nudge_lists_what_the_member_is_behind_on() -> None:
    tr = translator("en", "Asia/Shanghai")
    text = nudge_text({"reasons": ["dues", "absence"], "months": ["2026-01", "2026-02"],
                       "absences": 2}, tr)  # fmt: skip
    assert "January 2026, February 2026" in text and "2 meetings without leave" in text


# ----------------------------------------------------------------- digest


def big_digest(n: int) -> Digest:
    now = dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    return Digest(
        branch_name="一支部",
        now=now,
        upcoming=(),
        attendance=(),
        dues=DuesProgress(2026, 3, n, 0, Decimal("0.00"), Decimal("100.00")),
        talks=TalksProgress(2026, 1, dt.date(2026, 3, 31), 2, ("第一党小组",)),
        blocked=tuple(
            Unreachable(f"Blocked {i:04d}", "Forbidden: bot was blocked by the user", now)
            for i in range(n)
        ),
        unlinked=tuple(
            Unreachable(f"Unlinked member with a long name {i:04d}", None, None) for i in range(n)
        ),
    )


def test_long_digest_is_split_under_4096_and_loses_nothing() -> None:
    tr = translator("en", "Asia/Shanghai")
    digest = big_digest(400)
    parts = digest_messages(digest, tr)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    joined = "\n".join(parts)
    assert all(f"Blocked {i:04d}" in joined for i in range(400))
    assert joined.replace("\n", "") == digest_text(digest, tr).replace("\n", "")


async def test_a_big_digest_arrives_in_several_messages(
    harness: Harness, api: FakeTelegram, clock: FrozenClock
) -> None:
    seed(harness.db, members=1, plan=meeting_plan(day=20), roles=["secretary"])
    with harness.db.transaction() as s:
        for i in range(300):
            s.add(Member(branch_id=1, name=f"Someone not linked yet, number {i:04d}"))
    api.started(10001)
    dispatcher = harness.services.dispatcher
    assert dispatcher is not None
    limiter = harness.app.bot.rate_limiter
    assert limiter is not None
    limiter.private_interval = 0.01  # type: ignore[attr-defined]
    report = await dispatcher.run_once(clock.now())
    assert report.sent == 1
    parts = api.messages_to(10001)
    assert len(parts) >= 2 and all(len(p["text"]) <= 4096 for p in parts)
    assert "number 0299" in parts[-1]["text"]
