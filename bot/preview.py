"""`branchbot preview`: every reminder and digest a window would bring, sending nothing.

It runs the dispatcher's own rules (scheduler.sweep) over the branch's occurrences, members
and answers as they are now, without the ledger, so what it prints is what the dispatcher
would send if nothing had been sent yet. Occurrence rows that do not exist yet are made in a
transaction that is rolled back: the command writes nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from bot.i18n import translator
from scheduler.due import PlannedReminder
from scheduler.minutes import all_asks
from scheduler.occurrences import sync_occurrences
from scheduler.plan import branch_plan
from scheduler.recurrence import local_to_utc, zone
from scheduler.sweep import PreviewLine, load_facts, preview_lines
from storage import repositories as repo
from storage.db import Database


class PreviewError(ValueError):
    """The preview cannot be made (unknown branch, bad window)."""


def preview_report(
    db: Database, *, branch_name: str, first: dt.date, last: dt.date, now: dt.datetime
) -> str:
    """The lines `branchbot preview` prints, in order, in the branch's local time."""
    if last < first:
        raise PreviewError(f"--to {last} is before --from {first}")
    if (last - first).days > 400:
        raise PreviewError("the window is longer than 400 days")
    with Session(db.engine, expire_on_commit=False) as session:
        try:
            branch = repo.branch_by_name(session, name=branch_name)
            if branch is None:
                raise PreviewError(f"no branch named {branch_name!r}")
            tz = zone(branch.timezone)
            plan = branch_plan(branch)
            start = local_to_utc(first, dt.time(0, 0), tz)
            end = local_to_utc(last + dt.timedelta(days=1), dt.time(0, 0), tz)
            for year in range(first.year - 1, last.year + 2):
                sync_occurrences(session, branch, year=year, now=now, plan=plan)
            facts = load_facts(session, [branch], start=start, end=end)
            lines = preview_lines(facts, start=start, end=end)
            lines += _minutes_lines(all_asks(session, [branch], start=start, end=end))
            lines.sort(key=lambda line: (line.at, line.kind != "digest", line.occurrence_id or 0))
            header = (
                f"Preview for branch {branch.name!r} ({branch.timezone}, "
                f"delivery {branch.delivery_mode}), {first} to {last}: nothing is sent."
            )
            titles = {item.id: item.title.get(branch.locale) for item in plan.items}
            tr = translator("en", branch.timezone)
        finally:
            session.rollback()  # nothing of the preview is ever stored
    out = [header]
    for line in lines:
        local = tr.stamp(line.at)
        if line.kind == "digest":
            what = "digest    Weekly digest"
        elif line.kind == "minutes":
            item = titles.get(line.item_id or "", line.item_id)
            what = f"record    ask to record {item} [{line.item_id}] #{line.occurrence_id}"
        elif line.kind == "oversight":
            what = "oversight Committee digest to the seat holders above the branch"
        else:
            what = f"reminder  {titles.get(line.item_id or '', line.item_id)} [{line.item_id}]"
        who = f"{line.direct} recipient{'s' if line.direct != 1 else ''}"
        if line.group_chat:
            who += " + group chat"
        out.append(f"{local}  {what}  -> {who}")
    if not lines:
        out.append("nothing would be sent")
    return "\n".join(out)


def _minutes_lines(asks: list[PlannedReminder]) -> list[PreviewLine]:
    """The asks to record a meeting (scheduler.minutes), one line per meeting, phase and time."""
    grouped: dict[tuple[dt.datetime, int | None, str | None], int] = {}
    for ask in asks:
        key = (ask.at, ask.occurrence_id, ask.item_id)
        grouped[key] = grouped.get(key, 0) + 1
    return [
        PreviewLine(at, "minutes", item_id, occurrence_id, direct, group_chat=False)
        for (at, occurrence_id, item_id), direct in grouped.items()
    ]
