"""Who a plan item is for: the one audience rule, for the reminder engine, the digest, the
handlers and the use cases alike. It lives in `scheduler` because the engine cannot import `bot`
(layers: bot -> scheduler -> storage).
"""

from __future__ import annotations

from scheduler.kinds import BY_KIND, ItemKind
from storage.models import MemberStatus, Role

# committee and leading_cadres are the same people: committee members and the secretary.
LEADERSHIP = frozenset({Role.COMMITTEE.value, Role.SECRETARY.value})
# Items for these audiences may go to the branch's group chat: everybody there may read them.
GROUP_CHAT_AUDIENCES = frozenset({"all", "groups"})
MEMBERS = frozenset({MemberStatus.FULL.value, MemberStatus.PROBATIONARY.value})
# Statuses of people who are not yet members that some kind is nonetheless owed by.
OWED_BEYOND_MEMBERS = frozenset(
    status for spec in BY_KIND.values() for status in spec.statuses or () if status not in MEMBERS
)


def in_audience(audience: str, role: str, group_id: int | None) -> bool:
    """Whether a member with `role` in party group `group_id` is in a plan item's audience.

    ``all`` is everyone; ``committee`` and ``leading_cadres`` are committee members and the
    secretary; ``groups`` is everyone who belongs to a party group (each group meets
    separately); ``group_leaders`` are the party group leaders. Anything else is nobody.
    """
    match audience:
        case "all":
            return True
        case "committee" | "leading_cadres":
            return role in LEADERSHIP
        case "groups":
            return group_id is not None
        case "group_leaders":
            return role == Role.GROUP_LEADER.value
    return False


def owes(kind: ItemKind, audience: str, role: str, group_id: int | None, status: str) -> bool:
    """Whether a member must act on an item of `kind` for `audience`: the plan's audience, and
    the member statuses the kind is for (members only, unless its spec names others)."""
    statuses = BY_KIND[kind].statuses
    return status in (MEMBERS if statuses is None else statuses) and in_audience(
        audience, role, group_id
    )
