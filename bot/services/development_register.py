"""The 发展党员 register sheet: everyone in the pipeline, their dates, people and votes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

from bot.i18n import Translator
from bot.render.development import deadline_text, stage_name
from bot.services.development import PipelineEntry
from bot.services.registers import DATE, _sheet
from scheduler.development.rules import Record, Step
from scheduler.handins import Owed
from scheduler.kinds import ItemKind


def _first(records: Sequence[Record], step: Step) -> Record | None:
    found = [r for r in records if r.step == step]
    return max(found, key=lambda r: r.id) if found else None


def _on(records: Sequence[Record], step: Step) -> Any:
    found = _first(records, step)
    return found.on if found else None


def development_sheet(
    wb: Workbook,
    entries: Sequence[PipelineEntry],
    tr: Translator,
    handins: Sequence[Owed] = (),
) -> None:
    """发展党员: one row per person; a vote lists for/against/abstain; reasons are shown; the
    quarters whose thought report they handed in (`handins`: the year's hand-in book)."""
    _ = tr.gettext
    header = [
        _("Name"),
        _("Stage"),
        _("Application received"),
        _("Talk held"),
        _("Activist since"),
        _("Contacts"),
        _("Examinations"),
        _("Candidate since"),
        _("Introducers"),
        _("Training hours"),
        _("Public notice from"),
        _("Pre-review"),
        _("Votes: for/against/abstain (full members entitled)"),
        _("Approved"),
        _("Probation ends"),
        _("Converted"),
        _("Next deadline"),
        _("Reasons"),
        _("Thought reports handed in"),
    ]
    formats: list[str | None] = [None, None, DATE, DATE, DATE, None, None, DATE, None, None,
                                 DATE, DATE, None, DATE, DATE, DATE, None, None, None]  # fmt: skip
    sep = "、" if tr.locale_name == "zh_CN" else ", "
    reported: dict[int, list[str]] = {}
    for owed in handins:
        if owed.handed_in is not None and owed.item.kind == ItemKind.THOUGHT_REPORTS:
            late = " " + _("(late)") if owed.handed_in.late else ""
            reported.setdefault(owed.member_id, []).append(f"{owed.year}Q{owed.quarter}{late}")
    rows: list[list[Any]] = []
    for e in entries:
        r = e.records
        exams = sep.join(x.on.isoformat() for x in r if x.step == Step.EXAMINED)
        votes = sep.join(
            f"{x.on.isoformat()} {x.data.get('for', 0)}/{x.data.get('against', 0)}/"
            f"{x.data.get('abstain', 0)} ({x.data.get('entitled', '?')})"
            for x in r
            if x.step == Step.VOTE
        )
        candidate = _first(r, Step.CANDIDATE)
        hours = candidate.data.get("hours") if candidate else None
        reasons = sep.join(f"{x.step.value}: {x.reason}" for x in r if x.reason)
        rows.append(
            [
                e.name,
                stage_name(e.stage, tr),
                _on(r, Step.APPLIED),
                _on(r, Step.TALKED),
                _on(r, Step.ACTIVIST),
                sep.join(e.contacts),
                exams,
                _on(r, Step.CANDIDATE),
                sep.join(e.introducers),
                hours,
                _on(r, Step.NOTICE),
                _on(r, Step.PREREVIEW),
                votes,
                _on(r, Step.APPROVED),
                e.probation_ends,
                _on(r, Step.CONVERTED),
                deadline_text(e.next, tr) if e.next else "",
                reasons,
                sep.join(reported.get(e.member_id, [])),
            ]
        )
    _sheet(wb, _("Member development"), header, formats, rows)
