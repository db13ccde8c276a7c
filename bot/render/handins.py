"""Texts of handing something in once a quarter (a thought report): the question, the
confirmation, the notice to the people told, and the refusals. They name the plan item by its
title, so any kind each member hands in uses them.
"""

from __future__ import annotations

import datetime as dt

from bot.i18n import Translator
from scheduler.plan import Localized

NOTICE_TEXT_LIMIT = 3000  # a text report quoted in a notice; a Telegram message holds 4096


def prompt(title: Localized, year: int, quarter: int, deadline: dt.date, tr: Translator) -> str:
    """Ask for the hand-in."""
    return tr.gettext(
        "Send your {title} for Q{quarter} {year} now: as text, a photo or a document (an image "
        "or a PDF). It is due on {day}. /cancel to stop."
    ).format(title=title.get(tr.locale_name), quarter=quarter, year=year, day=tr.day(deadline))


def saved(
    title: Localized,
    year: int,
    quarter: int,
    deadline: dt.date,
    tr: Translator,
    *,
    late: bool,
    amended: bool,
    command: str,
) -> str:
    """Confirm a hand-in; say until when it can still be changed."""
    _ = tr.gettext
    fields = {"title": title.get(tr.locale_name), "quarter": quarter, "year": year}
    if amended:
        head = _("Your {title} for Q{quarter} {year} is amended.").format(**fields)
    elif late:
        head = _("Your {title} for Q{quarter} {year} is handed in, late.").format(**fields)
    else:
        head = _("Your {title} for Q{quarter} {year} is handed in.").format(**fields)
    if late:
        return head
    more = _("Until {day} you can replace it: send /{command} again.").format(
        day=tr.day(deadline), command=command
    )
    return f"{head}\n{more}"


def notice(
    name: str,
    title: Localized,
    year: int,
    quarter: int,
    tr: Translator,
    *,
    late: bool,
    amended: bool,
    text: str | None,
) -> str:
    """Tell a group leader or the secretary of a hand-in (its text quoted, if it is a text)."""
    _ = tr.gettext
    fields = {"name": name, "title": title.get(tr.locale_name), "quarter": quarter, "year": year}
    if amended:
        head = _("{name} amended their {title} for Q{quarter} {year}.").format(**fields)
    elif late:
        head = _("{name} handed in their {title} for Q{quarter} {year}, late.").format(**fields)
    else:
        head = _("{name} handed in their {title} for Q{quarter} {year}.").format(**fields)
    if not text:
        return head
    quoted = text if len(text) <= NOTICE_TEXT_LIMIT else text[:NOTICE_TEXT_LIMIT] + "…"
    return f"{head}\n\n{quoted}"


def not_owed(tr: Translator) -> str:
    """Someone who hands nothing in asked to."""
    return tr.gettext("There is nothing for you to hand in.")


def closed(tr: Translator) -> str:
    """An amendment after its quarter's deadline."""
    return tr.gettext(
        "That quarter's deadline has passed: what you handed in can no longer be changed."
    )


def empty(tr: Translator) -> str:
    """An empty or overlong text."""
    return tr.gettext("Please send the report as text (at most 20,000 characters), a photo or "
                      "a document.")  # fmt: skip
