"""A polite nudge to everyone behind in one party group, tapped from /overdue.

The nudges are `nudge` rows of the delivery ledger (key ``n:<group>:<local date>:m<member>``):
the dispatcher sends them rate-limited like every reminder, and the key makes a second tap on
the same day a no-op. Payload: ``{"reason": <first reason>, "reasons": [...], "months":
["2026-01", ...], "quarters": [1, 2], "absences": n, "no_talk": n}`` with reasons among
"dues", "talks" (the group's talk records, for its leaders) and "absence".
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from bot.services.branch_year import BranchYear, load_branch
from bot.services.overdue import OverdueReport, overdue_in
from bot.services.upsert import insert_ignore
from storage import repositories as repo
from storage.db import Database
from storage.models import Delivery, DeliveryStatus, Member, PartyGroup, Role


class NudgeError(LookupError):
    """The group is not one of the asker's branch."""


@dataclass(frozen=True)
class NudgeResult:
    """What a nudge tap did."""

    group_name: str
    queued: int  # new nudges, sent shortly
    already: int  # nudged earlier today
    unreachable: tuple[str, ...]  # behind, but the bot cannot write to them


def nudge_group(
    db: Database, *, branch_id: int, group_id: int, actor_id: int | None, now: dt.datetime
) -> NudgeResult:
    """Queue one nudge per laggard of the group, once per local day; audited."""
    with db.transaction() as session:
        ctx = load_branch(session, branch_id, now=now)
        group = session.get(PartyGroup, group_id)
        if group is None or group.branch_id != branch_id:
            raise NudgeError(group_id)
        report = overdue_in(session, ctx)
        members = {m.id: m for m in repo.list_members(session, branch_id=branch_id)}
        reasons = laggards(report, group_id, members)
        prefix = f"n:{group_id}:{ctx.today.isoformat()}:m"
        queued, already, unreachable = 0, 0, []
        existing = _existing(session, prefix)
        for member_id, payload in reasons.items():
            member = members[member_id]
            if member.telegram_id is None or member.unreachable_reason:
                unreachable.append(member.name)
            elif f"{prefix}{member_id}" in existing:
                already += 1
            else:
                queued += _queue(session, ctx, member, key=f"{prefix}{member_id}", payload=payload)
        if queued:
            detail = {"group": group_id, "queued": queued, "day": ctx.today.isoformat()}
            repo.add_audit(
                session,
                branch_id=branch_id,
                action="overdue.nudge",
                at=now,
                actor_id=actor_id,
                detail=json.dumps(detail),
            )
    return NudgeResult(group.name, queued, already, tuple(unreachable))


def laggards(
    report: OverdueReport, group_id: int, members: dict[int | None, Member]
) -> dict[int, dict[str, Any]]:
    """Each member of the group who is behind, with the nudge payload saying why."""
    out: dict[int, dict[str, Any]] = {}

    def note(member_id: int, reason: str, **facts: Any) -> None:
        payload = out.setdefault(member_id, {"reason": reason, "reasons": []})
        payload["reasons"].append(reason)
        payload.update(facts)

    for lag in report.dues:
        if lag.group_id == group_id and lag.unpaid:
            note(lag.member_id, "dues", months=[f"{y:04d}-{m:02d}" for y, m in lag.unpaid])
    gap = next((g for g in report.talks if g.group_id == group_id), None)
    no_talk = sum(1 for p in report.no_talk if p.group_id == group_id)
    if gap is not None:
        for member in members.values():
            if member.group_id == group_id and member.role == Role.GROUP_LEADER.value:
                note(member.id or 0, "talks", quarters=list(gap.quarters), no_talk=no_talk)
    for absence in (a for a in report.absences if a.open):
        if absence.group_id == group_id:
            note(absence.member_id, "absence", absences=len(absence.open))
    return out


def _existing(session: Session, prefix: str) -> set[str]:
    stmt = select(Delivery.key).where(col(Delivery.key).startswith(prefix, autoescape=True))
    return set(session.exec(stmt).all())


def _queue(
    session: Session, ctx: BranchYear, member: Member, *, key: str, payload: dict[str, Any]
) -> int:
    assert member.telegram_id is not None
    values = {
        "key": key,
        "branch_id": ctx.branch_id,
        "kind": "nudge",
        "member_id": member.id,
        "chat_id": member.telegram_id,
        "due_at": ctx.now,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "payload": json.dumps(payload, ensure_ascii=False),
    }
    return int(insert_ignore(session, Delivery, values, keys=["key"]))
