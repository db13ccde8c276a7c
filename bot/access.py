"""Who may do what: the one access check every command and button goes through."""

from __future__ import annotations

import enum

from storage.models import Role


class Need(enum.Enum):
    """The least a person must be to use a command or a button."""

    ANYONE = "anyone"
    # A linked person, a Party member or not yet one (an applicant, activist or candidate):
    # their own overview, language, conversation and thought report.
    PERSON = "person"
    MEMBER = "member"
    GROUP_LEADER = "group_leader"
    COMMITTEE = "committee"
    SECRETARY = "secretary"
    ADMIN = "admin"  # no role grants it: only ADMIN_TELEGRAM_IDS (commands marked admin)


# What each role may do, beyond what anyone may.
_GRANTS: dict[Role, frozenset[Need]] = {
    Role.MEMBER: frozenset({Need.MEMBER}),
    Role.GROUP_LEADER: frozenset({Need.MEMBER, Need.GROUP_LEADER}),
    Role.COMMITTEE: frozenset({Need.MEMBER, Need.COMMITTEE}),
    Role.SECRETARY: frozenset({Need.MEMBER, Need.COMMITTEE, Need.SECRETARY}),
}


def allowed(role: str | None, need: Need, *, member: bool = True) -> bool:
    """Whether someone with `role` (None: not linked) may do what needs `need`; `member=False`:
    a linked person who is not yet a Party member, who may do only what needs a PERSON."""
    if need is Need.ANYONE:
        return True
    if role is None:
        return False
    if need is Need.PERSON:
        return True
    return member and need in _GRANTS.get(Role(role), frozenset())
