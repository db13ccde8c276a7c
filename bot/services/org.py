"""The Party organisation above branches: committees (党委), general branches (总支), seats.

Who sees what is decided here and only here: a seat at a unit sees the branches attached to
that unit and to every unit below it, and nothing else; a branch never sees another branch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, select

from bot.access import Seat
from scheduler.orgtree import subtree as subtree  # the one tree rule, shared with the engine
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
