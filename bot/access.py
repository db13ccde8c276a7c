"""Who may do what: the one access check every command and button goes through."""

from __future__ import annotations

import enum

from storage.models import Role


class Need(enum.Enum):
    """The least a person must be to use a command or a button."""

    ANYONE = "anyone"
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


def allowed(role: str | None, need: Need) -> bool:
    """Whether someone with `role` (None: not a linked member) may do what needs `need`."""
    if need is Need.ANYONE:
        return True
    if role is None:
        return False
    return need in _GRANTS.get(Role(role), frozenset())
