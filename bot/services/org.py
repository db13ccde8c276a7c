"""The Party organisation above branches: committees (党委), general branches (总支), seats.

Who sees what is decided here and only here: a seat at a unit sees the branches attached to
that unit and to every unit below it, and nothing else; a branch never sees another branch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, select

from bot.access import Seat
from scheduler.orgtree import subtree as subtree  # the one tree rule, shared with the engine
from storage.db import Database
from storage.models import Branch, OrgPerson, OrgUnit


def seats_of(session: Session, *, telegram_id: int) -> tuple[Seat, ...]:
    """The active seats linked to this Telegram account, by unit."""
    rows = session.exec(
        select(OrgPerson)
        .where(OrgPerson.telegram_id == telegram_id, col(OrgPerson.active).is_(True))
        .order_by(col(OrgPerson.unit_id))
    ).all()
    return tuple(Seat(p.unit_id, p.id, p.role) for p in rows if p.id is not None)


def branches_below(session: Session, roots: Iterable[int]) -> Sequence[Branch]:
    """The branches attached to `roots` or to any unit below them, by name (two queries)."""
    units = subtree(session.exec(select(OrgUnit)).all(), roots)
    if not units:
        return ()
    return session.exec(
        select(Branch).where(col(Branch.org_unit_id).in_(units)).order_by(col(Branch.name))
    ).all()


def visible_branch_ids(session: Session, seats: Sequence[Seat]) -> frozenset[int]:
    """The branches these seats may see."""
    return frozenset(
        b.id for b in branches_below(session, {s.unit_id for s in seats}) if b.id is not None
    )


def mark_seat_unreachable(
    db: Database, *, telegram_id: int, reason: str, now: dt.datetime
) -> bool:
    """Record that Telegram refused to deliver to this account (e.g. 403, the bot blocked) on
    each of its active seats, keeping the first date; True if anything changed. /start or any
    private message from them clears it again (`mark_seat_reachable`)."""
    changed = False
    with db.transaction() as session:
        for person in _active_seats(session, telegram_id):
            if person.unreachable_reason == reason:
                continue
            person.unreachable_reason = reason[:200]
            person.unreachable_since = person.unreachable_since or now
            session.add(person)
            changed = True
    return changed


def mark_seat_reachable(db: Database, *, telegram_id: int) -> bool:
    """Forget that this account's seats could not be reached; True if anything changed."""
    changed = False
    with db.transaction() as session:
        for person in _active_seats(session, telegram_id):
            if person.unreachable_reason is None:
                continue
            person.unreachable_reason = person.unreachable_since = None
            session.add(person)
            changed = True
    return changed


def _active_seats(session: Session, telegram_id: int) -> Sequence[OrgPerson]:
    return session.exec(
        select(OrgPerson).where(
            OrgPerson.telegram_id == telegram_id, col(OrgPerson.active).is_(True)
        )
    ).all()


def seat_unreachable(session: Session, *, telegram_id: int) -> bool:
    """Whether any active seat of this account is marked unreachable."""
    return any(p.unreachable_reason for p in _active_seats(session, telegram_id))
