"""Which buttons a reminder carries, as a pure function of the view and `now`."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from bot.i18n import translator
from bot.render.reminders import reminder_buttons
from bot.services.reminders import MemberState, ReminderView
from scheduler.plan import Localized

DUES_DAY = dt.datetime(2026, 3, 27, 1, 0, tzinfo=dt.UTC)  # Friday 09:00 Shanghai
TR = translator("en", "Asia/Shanghai")


def _view(item_kind: str, now: dt.datetime, **kw: object) -> ReminderView:
    view = ReminderView(
        kind="remind",
        item_kind=item_kind,
        occurrence_id=7,
        title=Localized("党费缴纳日", "Dues day"),
        agenda=None,
        starts_at=DUES_DAY,
        ends_at=DUES_DAY,
        planned_starts_at=DUES_DAY,
        cancelled=False,
        due_at=now,
        now=now,
        locale="en",
        timezone="Asia/Shanghai",
        member_id=3,
        dues_amount=Decimal("12.50"),
        state=MemberState(attendance=None, checked_in_at=None, paid=False, talks_done=False),
    )
    return replace(view, **kw)  # type: ignore[arg-type]


def _data(view: ReminderView) -> list[str]:
    return [data for row in reminder_buttons(view, TR) for _label, data in row]


def test_dues_follow_up_three_days_later_still_has_the_pay_button() -> None:
    """People pay late: the follow-up to the unpaid must let them say they paid."""
    follow_up = _view("dues", DUES_DAY + dt.timedelta(days=3))
    assert _data(follow_up) == ["pd1:7"]
    assert "12.50" in reminder_buttons(follow_up, TR)[0][0][0]


def test_paid_member_gets_no_pay_button() -> None:
    state = MemberState(attendance=None, checked_in_at=None, paid=True, talks_done=False)
    assert _data(_view("dues", DUES_DAY, state=state)) == []


def test_meeting_buttons_go_once_check_in_has_closed() -> None:
    assert _data(_view("meeting", DUES_DAY - dt.timedelta(days=3))) == ["at1:7", "lv1:7"]
    assert _data(_view("meeting", DUES_DAY + dt.timedelta(hours=2))) == []


def test_talks_reminder_on_the_last_evening_keeps_its_button() -> None:
    late = _view("talks", DUES_DAY + dt.timedelta(hours=10))
    assert _data(late) == ["tk1:7"]


def test_cancelled_event_has_no_buttons() -> None:
    assert _data(_view("dues", DUES_DAY, cancelled=True)) == []
