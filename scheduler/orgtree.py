"""The shape of the Party organisation above branches, as pure functions over OrgUnit rows.

It lives in `scheduler` so the reminder engine (the committee's weekly digest) and the bot's
access rules (bot/services/org.py) read the same tree the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage.models import OrgUnit


def subtree(units: Iterable[OrgUnit], roots: Iterable[int]) -> frozenset[int]:
    """The ids of `roots` and of every unit below them (pure; a cycle cannot loop)."""
    children: dict[int, list[int]] = {}
    for unit in units:
        if unit.parent_id is not None and unit.id is not None:
            children.setdefault(unit.parent_id, []).append(unit.id)
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        unit_id = todo.pop()
        if unit_id in seen:
            continue
        seen.add(unit_id)
        todo.extend(children.get(unit_id, ()))
    return frozenset(seen)
