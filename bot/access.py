"""Who may do what: the one access check every command and button goes through."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from storage.models import Role


class Need(enum.Enum):
    """The least a person must be to use a command or a button."""

    ANYONE = "anyone"
    # A linked person, a Party member or not yet one (an applicant, activist or candidate):
    # their own overview, language, conversation and thought report.
    PERSON = "person"
    MEMBER = "member"
    GROUP_LEADER = "group_leader"
    # Records meetings (会议记录): group leaders their groups' meetings, the committee and the
    # secretary every meeting (bot/services/minutes.py decides per meeting).
    RECORDER = "recorder"
    COMMITTEE = "committee"
    SECRETARY = "secretary"
    ADMIN = "admin"  # no role grants it: only ADMIN_TELEGRAM_IDS (commands marked admin)
    # A seat at a Party committee or general branch above branches (secretary or organisation
    # member): the branches below it, read-only. No branch role grants it.
    ORG = "org"


# What each role may do, beyond what anyone may.
_GRANTS: dict[Role, frozenset[Need]] = {
    Role.MEMBER: frozenset({Need.MEMBER}),
    Role.GROUP_LEADER: frozenset({Need.MEMBER, Need.GROUP_LEADER, Need.RECORDER}),
    Role.COMMITTEE: frozenset({Need.MEMBER, Need.RECORDER, Need.COMMITTEE}),
    Role.SECRETARY: frozenset({Need.MEMBER, Need.RECORDER, Need.COMMITTEE, Need.SECRETARY}),
}


def allowed(role: str | None, need: Need, *, member: bool = True, org: bool = False) -> bool:
    """Whether someone with `role` (None: not linked) may do what needs `need`; `member=False`:
    a linked person who is not yet a Party member, who may do only what needs a PERSON;
    `org`: the person holds a seat above branches, the only thing that allows ORG."""
    if need is Need.ANYONE:
        return True
    if need is Need.ORG:
        return org
    if role is None:
        return False
    if need is Need.PERSON:
        return True
    return member and need in _GRANTS.get(Role(role), frozenset())


@dataclass(frozen=True)
class Seat:
    """A seat at a committee or general branch: the unit and the person holding it there."""

    unit_id: int
    person_id: int
    role: str  # storage.models.OrgRole value
