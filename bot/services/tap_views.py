"""Reminder views for the edit after a meeting tap, cheap during a burst (Telegram-free).

After each Attend or Check in, the tapped reminder is edited to show the member's new state.
Building a view from scratch takes several queries; in a burst (hundreds of members checking
in within a second) that would dominate each tap. A meeting reminder differs from member to
member only in the member's own fields and state, and the tap itself just told us that state.
So the view is built once per occurrence with the reminder engine's `build_reminder_view` and
then reused for a few seconds, with the presser's fields and state put in. The cache is
short-lived on purpose: a moved or cancelled event shows in edits within `TTL`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from bot.services.reminders import MemberState, ReminderView, build_reminder_view
from scheduler.kinds import ItemKind
from storage.db import Database

TTL = dt.timedelta(seconds=5)
MAX_ENTRIES = 64


@dataclass(frozen=True)
class Viewer:
    """The member whose reminder is re-rendered."""

    member_id: int
    name: str
    locale: str


class TapViews:
    """Per-occurrence meeting views, reused for `TTL` (one instance per running bot)."""

    def __init__(self, ttl: dt.timedelta = TTL) -> None:
        self.ttl = ttl
        self._views: dict[int, tuple[dt.datetime, ReminderView]] = {}

    def meeting_view(
        self,
        db: Database,
        *,
        occurrence_id: int,
        viewer: Viewer,
        state: MemberState,
        now: dt.datetime,
    ) -> ReminderView | None:
        """The member's view of a meeting reminder, in `state` as of `now`."""
        cached = self._views.get(occurrence_id)
        if cached is not None and cached[0] <= now < cached[0] + self.ttl:
            return replace(
                cached[1],
                now=now,
                due_at=now,
                member_id=viewer.member_id,
                member_name=viewer.name,
                locale=viewer.locale,
                dues_amount=None,
                counts=None,
                state=state,
            )
        with db.read() as session:
            view = build_reminder_view(
                session, occurrence_id=occurrence_id, member_id=viewer.member_id, now=now
            )
        if view is not None and view.item_kind == ItemKind.MEETING:
            if len(self._views) >= MAX_ENTRIES:
                self._views.clear()
            self._views[occurrence_id] = (now, view)
        return view
