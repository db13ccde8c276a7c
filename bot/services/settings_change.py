"""/settings changes that live in the plan: the dues day rule and the meeting reminder lead.

They are edits of the branch's plan TOML (its own file, else the default one), made with
tomlkit so every comment and every other line stays as the secretary wrote it. The result goes
through the plan preview and apply path, so it is validated with the CLI's rules, previewed
(what moves over the next three months) and audited like an uploaded plan file.
"""

from __future__ import annotations

from typing import Any

import tomlkit

from scheduler.plan import DEFAULT_PLAN_PATH
from storage.models import Branch

# The dues day choices: a day of the month, or (weekday, nth) as the default plan has.
DUES_DAYS: tuple[tuple[int | None, str | None, int | None], ...] = (
    (1, None, None),
    (5, None, None),
    (10, None, None),
    (15, None, None),
    (None, "fri", 4),
)
LEAD_DAYS = (1, 3, 7)  # a meeting's first reminder, days before (the second is on the day)
_DAY_KEYS = ("day", "weekday", "nth")


def plan_text(branch: Branch) -> str:
    """The branch's plan as TOML text."""
    return branch.plan_toml or DEFAULT_PLAN_PATH.read_text(encoding="utf-8")


def with_dues_day(text: str, choice: int) -> str:
    """The plan with every dues item on DUES_DAYS[choice]."""
    day, weekday, nth = DUES_DAYS[choice]
    doc = tomlkit.parse(text)
    for item in _items(doc, "dues"):
        rhythm = tomlkit.inline_table()
        for key, value in item["rhythm"].items():
            if key not in _DAY_KEYS:
                rhythm[key] = value
        if day is not None:
            rhythm["day"] = day
        else:
            rhythm["weekday"], rhythm["nth"] = weekday, nth
        item["rhythm"] = rhythm
    return tomlkit.dumps(doc)


def with_meeting_lead(text: str, choice: int) -> str:
    """The plan with every meeting reminded LEAD_DAYS[choice] days before and on the day."""
    days = LEAD_DAYS[choice]
    doc = tomlkit.parse(text)
    for item in _items(doc, "meeting"):
        rules = tomlkit.array()
        for before, at in ((days, "09:00"), (0, "08:00")):
            rule = tomlkit.inline_table()
            rule["days_before"], rule["at"] = before, at
            rules.append(rule)
        item["reminders"] = rules
    return tomlkit.dumps(doc)


def dues_day_label(choice: int) -> tuple[int | None, str | None, int | None]:
    """The chosen rule: (day, weekday, nth)."""
    return DUES_DAYS[choice]


def _items(doc: Any, kind: str) -> list[Any]:
    return [item for item in doc.get("items", []) if item.get("kind") == kind]
