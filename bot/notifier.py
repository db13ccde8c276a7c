"""TelegramNotifier: the only sender of reminders, digests, change notices and nudges.

It renders each ledger row in its recipient's language (member's /lang choice, else the
branch's) and zone, sends it through the BULK lane of `bot.ratelimit.BranchRateLimiter`, and
maps every Telegram answer to an `Outcome` for the dispatcher (Telegram's error texts,
https://core.telegram.org/api/errors):

* 403 (blocked, kicked, deactivated) and 400 "chat not found" -> BLOCKED, never retried;
* ChatMigrated -> MIGRATED with the supergroup's id (the dispatcher stores it and re-sends once);
* RetryAfter (only if the limiter gave up retrying) -> RETRY after `retry_after`;
* TimedOut: a pool timeout was never sent -> RETRY; a read timeout may have been delivered ->
  AMBIGUOUS (the dispatcher retries such a row at most once);
* other network errors and 5xx -> RETRY with back-off; any other 400 -> FAILED.

A text longer than 4096 characters (a big digest) is split, never truncated.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlmodel import Session, col, select
from telegram import InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot

from bot.i18n import Translator, translator
from bot.keyboards import markup as keyboard_markup
from bot.keyboards import reminder_keyboard
from bot.ratelimit import BULK, SendAborted, retry_seconds
from bot.render.development import agenda_lines
from bot.render.digest import digest_with_quorum
from bot.render.minutes import ask_keyboard, ask_text
from bot.render.nudges import nudge_text
from bot.render.oversight import digest_text as oversight_digest_text
from bot.render.reminders import reminder_text
from bot.render.text import split_message
from bot.services.development import AgendaItem, meeting_agenda, overdue_in
from bot.services.digest_now import DigestNow
from bot.services.oversight import BranchesView, unit_digest
from bot.services.quorum import quorum_warnings
from bot.services.reminders import ReminderView, ViewRequest, build_reminder_views
from scheduler.digest import build_digest, digest_facts
from scheduler.notify import Kind, Outcome, Outgoing
from scheduler.records import CHECK_IN_CLOSES
from storage.db import Database
from storage.models import Branch, MeetingMinutes, Member, OrgPerson, OrgUnit

log = logging.getLogger(__name__)
DIGEST_REUSE = dt.timedelta(minutes=1)
Rendered = tuple[list[str], InlineKeyboardMarkup | None]


class TelegramNotifier:
    """Renders and sends ledger rows through python-telegram-bot."""

    def __init__(self, bot: ExtBot[Any], db: Database, *, default_locale: str = "zh_CN") -> None:
        self.bot = bot
        self.db = db
        self.default_locale = default_locale
        self._views: dict[int, ReminderView] = {}
        self._agenda: dict[int, tuple[AgendaItem, ...]] = {}  # pipeline votes due at a meeting
        self._digests: dict[int, DigestNow] = {}
        # A committee's digest per unit (built at, view) and which unit each row is for.
        self._units: dict[int, tuple[dt.datetime, BranchesView | None]] = {}
        self._unit_of: dict[int, int] = {}
        self._readers: dict[int, Translator] = {}  # delivery id -> recipient's translator
        self._recorded: set[int] = set()  # asks to record a meeting recorded meanwhile
        self._rendered: dict[
            tuple[object, ...], tuple[list[str], InlineKeyboardMarkup | None]
        ] = {}

    def abort(self) -> None:
        """Release every bulk send still waiting for its turn (shutdown)."""
        limiter = getattr(self.bot, "rate_limiter", None)
        if limiter is not None and hasattr(limiter, "abort"):
            limiter.abort()

    # ------------------------------------------------------------------ prepare

    def prepare(self, items: Sequence[Outgoing]) -> None:
        """Load views, digests and recipients' languages for a batch (a few queries)."""
        requests = [
            ViewRequest(
                ref=i.delivery_id,
                occurrence_id=i.occurrence_id,
                member_id=i.member_id,
                due_at=i.due_at,
                kind=i.kind,
                old_starts_at=_instant(i.payload.get("old_starts_at")),
            )
            for i in items
            if i.kind in (Kind.REMIND, Kind.CHANGE) and i.occurrence_id is not None
        ]
        now = max((i.now for i in items), default=None)
        if now is None:
            return
        with self.db.read() as session:
            if requests:
                self._views.update(build_reminder_views(session, requests, now=now))
                self._agenda.update(meeting_agenda(session, [r.occurrence_id for r in requests]))
            self._prepare_oversight(session, [i for i in items if i.kind == Kind.OVERSIGHT], now)
            others = [i for i in items if i.kind in (Kind.DIGEST, Kind.NUDGE)]
            if not others:
                return
            self._recorded.update(_already_recorded(session, others))
            branches = {
                b.id: b
                for b in session.exec(
                    select(Branch).where(col(Branch.id).in_({i.branch_id for i in others}))
                )
            }
            members = {
                m.id: m
                for m in session.exec(
                    select(Member).where(col(Member.id).in_({i.member_id for i in others}))
                )
            }
            for i in others:
                branch = branches.get(i.branch_id)
                if branch is None:
                    continue
                member = members.get(i.member_id)
                locale = (member.locale if member else None) or branch.locale
                self._readers[i.delivery_id] = translator(
                    locale, branch.timezone, default_locale=self.default_locale
                )
                if i.kind == Kind.DIGEST and not self._fresh_digest(i.branch_id, now):
                    # The weekly digest carries the quorum warnings of the next 3 days, as /digest.
                    self._digests[i.branch_id] = DigestNow(
                        digest=build_digest(digest_facts(session, branch, now)),
                        quorum=quorum_warnings(session, i.branch_id, now),
                        development=overdue_in(session, branch_id=i.branch_id, now=now),
                    )

    def _prepare_oversight(
        self, session: Session, items: Sequence[Outgoing], now: dt.datetime
    ) -> None:
        """Each unit's digest once per fan-out, and each seat holder's language (their own, or
        the unit's)."""
        if not items:
            return
        ids = {int(i.payload.get("person") or 0) for i in items}
        people = {
            p.id: p for p in session.exec(select(OrgPerson).where(col(OrgPerson.id).in_(ids)))
        }
        units = {u.id: u for u in session.exec(select(OrgUnit))}
        for i in items:
            person = people.get(int(i.payload.get("person") or 0))
            unit = units.get(person.unit_id) if person is not None else None
            if person is None or unit is None or unit.id is None:
                continue
            self._readers[i.delivery_id] = translator(
                person.locale or unit.locale, unit.timezone, default_locale=self.default_locale
            )
            built = self._units.get(unit.id)
            if built is None or abs(now - built[0]) >= DIGEST_REUSE:
                self._units[unit.id] = (now, unit_digest(session, unit_id=unit.id, now=now))
            self._unit_of[i.delivery_id] = unit.id

    def _fresh_digest(self, branch_id: int, now: dt.datetime) -> bool:
        """Whether the branch's digest was built in the last minute (a fan-out reuses it)."""
        view = self._digests.get(branch_id)
        return view is not None and abs(now - view.digest.now) < DIGEST_REUSE

    # ------------------------------------------------------------------ deliver

    async def deliver(self, item: Outgoing) -> Outcome:
        """Render and send one row; map Telegram's answer to an Outcome."""
        rendered = self._render(item)
        if isinstance(rendered, Outcome):
            return rendered
        texts, markup = rendered
        sent: list[int] = []
        try:
            for n, text in enumerate(texts, start=1):
                message = await self.bot.send_message(
                    chat_id=item.chat_id,
                    text=text,
                    reply_markup=markup if n == len(texts) else None,
                    rate_limit_args=BULK,
                )
                sent.append(message.message_id)
        except (TelegramError, SendAborted) as exc:
            outcome = _outcome(exc)
            # Error texts go to the ledger and the logs: never with the bot token in them.
            outcome = replace(outcome, reason=scrub(outcome.reason, self.bot.token))
            if sent:  # some parts arrived: never resend them
                note = f"part {len(sent) + 1} of {len(texts)} not sent: {outcome.reason}"
                log.warning("%s: %s", item.key, note)
                return Outcome.sent(sent[-1], note=note)
            return outcome
        return Outcome.sent(sent[-1])

    def _render(self, item: Outgoing) -> Rendered | Outcome:
        if item.kind == Kind.OVERSIGHT:
            tr = self._readers.pop(item.delivery_id, None)
            unit_id = self._unit_of.pop(item.delivery_id, None)
            built = self._units.get(unit_id) if unit_id is not None else None
            if tr is None or built is None:
                return Outcome.skipped("seat or unit gone")
            if built[1] is None:
                return Outcome.skipped("no branch below the unit")
            return split_message(oversight_digest_text(built[1], tr)), None
        if item.kind == Kind.DIGEST:
            digest = self._digests.get(item.branch_id)
            tr = self._readers.pop(item.delivery_id, None)
            if digest is None or tr is None:
                return Outcome.skipped("branch gone")
            return split_message(digest_with_quorum(digest, tr)), None
        if item.kind == Kind.NUDGE:
            tr = self._readers.pop(item.delivery_id, None)
            if tr is None:
                return Outcome.skipped("branch gone")
            if item.payload.get("reason") == "minutes":
                if item.delivery_id in self._recorded:
                    self._recorded.discard(item.delivery_id)
                    return Outcome.skipped("the meeting was recorded meanwhile")
                keys = keyboard_markup(ask_keyboard(item.payload, tr))
                return split_message(ask_text(item.payload, tr)), keys
            return split_message(nudge_text(item.payload, tr)), None
        view = self._views.pop(item.delivery_id, None)
        if view is None:
            return Outcome.skipped("the event is no longer in the plan")
        view = replace(view, now=item.now)
        agenda = () if view.cancelled else self._agenda.get(view.occurrence_id, ())
        key = (*_render_key(view), agenda)
        cached = self._rendered.get(key)
        if cached is None:
            # Most members of a fan-out get the very same text: render it once per language.
            tr = translator(view.locale, view.timezone, default_locale=self.default_locale)
            text = "\n".join([reminder_text(view, tr), *agenda_lines(agenda, tr)])
            markup = reminder_keyboard(view, tr) if not view.cancelled else None
            if len(self._rendered) > 5000:
                self._rendered.clear()
            cached = self._rendered[key] = (split_message(text), markup)
        return cached


def _already_recorded(session: Any, items: Sequence[Outgoing]) -> set[int]:
    """The asks to record a meeting whose record was made since they were planned (1 query)."""
    asks = {
        i.delivery_id: (int(i.payload.get("occurrence") or 0), int(i.payload.get("scope") or 0))
        for i in items
        if i.payload.get("reason") == "minutes"
    }
    if not asks:
        return set()
    occs = {occ for occ, _scope in asks.values()}
    stmt = select(MeetingMinutes.occurrence_id, MeetingMinutes.scope).where(
        col(MeetingMinutes.occurrence_id).in_(occs)
    )
    done = {(int(o), int(s)) for o, s in session.exec(stmt).all()}
    return {delivery for delivery, slot in asks.items() if slot in done}


def scrub(text: str, token: str) -> str:
    """`text` without the bot token or its secret half (PTB may change their case)."""
    secret = token.split(":", 1)[-1]
    for part in (token, secret):
        text = re.sub(re.escape(part), "<token>", text, flags=re.IGNORECASE)
    return text


def _render_key(view: ReminderView) -> tuple[object, ...]:
    """Everything the text and buttons of a reminder depend on (the reader's name is not)."""
    left = int(view.until_start.total_seconds() // 60) if view.catching_up else None
    closed = view.now >= view.starts_at + CHECK_IN_CLOSES
    return (
        view.kind, view.item_kind, view.occurrence_id, view.title, view.agenda, view.starts_at,
        view.ends_at, view.planned_starts_at, view.cancelled, view.locale, view.timezone,
        view.dues_amount, view.state, view.counts, view.old_starts_at, left, closed,
        view.on_event_day,
    )  # fmt: skip


def _instant(raw: object) -> dt.datetime | None:
    if isinstance(raw, str):
        try:
            return dt.datetime.fromisoformat(raw)
        except ValueError:
            return None
    return None


def _outcome(exc: TelegramError | SendAborted) -> Outcome:
    """Map a Telegram error to what the dispatcher should do with the row."""
    if isinstance(exc, SendAborted):
        return Outcome.released()
    reason = str(exc.message)
    match exc:
        case RetryAfter():
            return Outcome.retry(retry_seconds(exc), reason)
        case Forbidden():  # blocked, kicked from the group, deactivated: permanent
            return Outcome.blocked(reason)
        case ChatMigrated():
            return Outcome.migrated(exc.new_chat_id)
        case BadRequest() if "chat not found" in reason.lower():  # never pressed /start
            return Outcome.blocked(reason)
        case BadRequest():
            return Outcome.failed(reason)
        case TimedOut() if "not* sent" in reason or "Pool timeout" in reason:
            return Outcome.retry(1.0, reason)  # never left this process: safe to resend
        case TimedOut():
            return Outcome.ambiguous(reason or "timed out")
        case NetworkError():  # connection errors and 5xx: not delivered
            return Outcome.retry(2.0, reason)
    return Outcome.failed(reason)
