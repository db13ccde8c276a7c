"""Pure text of the development pipeline: /develop answers, /pipeline, reminders, sections."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from bot.i18n import N_, Translator
from bot.services.development import AgendaItem, PipelineEntry, Recorded
from scheduler.development.rules import Deadline, Refusal, Stage

STAGES = {
    Stage.APPLICANT: N_("applicant (入党申请人)"),
    Stage.ACTIVIST: N_("activist (入党积极分子)"),
    Stage.CANDIDATE: N_("candidate (发展对象)"),
    Stage.PROBATIONARY: N_("probationary member (预备党员)"),
    Stage.FULL: N_("full member"),
}
STEPS = {
    "applied": N_("application received"),
    "talked": N_("talk held"),
    "activist": N_("made activist"),
    "examined": N_("examination"),
    "notice": N_("public notice began"),
    "candidate": N_("made candidate"),
    "prereview": N_("pre-review passed"),
    "vote": N_("members' meeting vote"),
    "approval_extended": N_("approval takes longer"),
    "approved": N_("admission approved"),
    "extended": N_("probation extended"),
    "converted": N_("conversion approved"),
}
DEADLINES = {
    "talk": N_("talk with the applicant due by {date}"),
    "exam": N_("half-yearly examination no. {n} due by {date}"),
    "ready": N_("a year as activist on {date}: ready to be considered as candidate"),
    "notice": N_("public notice ends {date}"),
    "vote": N_("pre-review passed on {date}: put the admission to a members' meeting vote"),
    "approval": N_("higher committee's approval due by {date}"),
    "conversion": N_("probation ends {date}: put conversion (转正) on a members' meeting agenda"),
}
REMINDERS = {
    ("talk", "ahead"): N_("{person}: the talk with the applicant is due by {date}."),
    ("talk", "due"): N_("{person}: today is the last day for the talk with the applicant."),
    ("talk", "overdue"): N_(
        "{person}: the talk with the applicant is overdue (due {date}, within one month)."
    ),
    ("exam", "ahead"): N_("{person}: the half-yearly examination is due by {date}."),
    ("exam", "due"): N_("{person}: the half-yearly examination is due today."),
    ("exam", "overdue"): N_("{person}: the half-yearly examination is overdue (due {date})."),
    ("ready", "due"): N_(
        "{person}: a year as activist today — ready to be considered as a candidate."
    ),
    ("notice", "due"): N_("{person}: the public notice ended on {date}."),
    ("vote", "due"): N_(
        "{person}: the pre-review passed; the members' meeting vote on the admission is due."
    ),
    ("approval", "due"): N_(
        "{person}: the higher committee's approval is due today (three months after the vote)."
    ),
    ("approval", "overdue"): N_(
        "{person}: the higher committee's approval is waiting past the time limit ({date})."
    ),
    ("conversion", "ahead"): N_(
        "{person}: probation ends in a month. Put 转正 on the agenda of a members' meeting "
        "before {date}."
    ),
    ("conversion", "due"): N_(
        "{person}: probation ends today. Discuss the conversion (转正) at a members' meeting."
    ),
    ("conversion", "overdue"): N_(
        "{person}: probation ended on {date} and the conversion has not been voted on."
    ),
}
REFUSALS = {
    "stage": N_("Refused: this step does not follow from the person's stage ({stage})."),
    "talk_by": N_("Refused: name who held the talk (by=NAME)."),
    "contacts": N_(
        "Refused: an activist needs {n} full members as contacts (培养联系人) (contacts=A,B)."
    ),
    "activist_year": N_(
        "Refused: a candidate must have been an activist for at least a year (not before {date})."
    ),
    "introducers": N_(
        "Refused: a candidate needs {n} full members as introducers (入党介绍人) "
        "(introducers=A,B)."
    ),
    "training": N_(
        "Refused: concentrated training of at least {days} days or {hours} class hours is "
        "required (hours=N or days=N)."
    ),
    "review": N_("Refused: the political review (政审) is not done (review=yes)."),
    "prereview": N_("Refused: the vote needs a candidate whose pre-review (预审) has passed."),
    "notice": N_(
        "Refused: the vote must come after the public notice (公示) of five working days ends "
        "({date})."
    ),
    "quorum": N_(
        "Refused: no quorum — more than half of the {entitled} full members entitled to vote "
        "must take part."
    ),
    "no_vote": N_("Refused: there is no passed members' meeting vote to approve."),
    "reason": N_('Refused: this exception needs a reason (reason="...").'),
    "approval_late": N_(
        "Refused: approval later than {months} months after the vote needs a reason."
    ),
    "extension": N_("Refused: probation may be extended by {low} to {high} months."),
    "full_members": N_("Refused: {name} is not a full member."),
}
ADMISSION = N_("{name}: admission as probationary member (pre-review passed {date})")
CONVERSION = N_("{name}: conversion to full membership (probation ends {date})")
USAGE = N_(
    "Usage: /develop NAME STEP YYYY-MM-DD [key=value ...]\n"
    "Steps: applied, talked (by=), activist (contacts=A,B), examined, notice, "
    "candidate (introducers=A,B hours=N review=yes), prereview, "
    "vote (for= against= abstain=), approval_extended (reason=), approved, "
    "extended (months= reason=), converted."
)


def _day(value: dt.date | None, tr: Translator) -> str:
    return tr.day(value) if value is not None else "-"


def stage_name(stage: Stage, tr: Translator) -> str:
    """A stage, in the reader's language."""
    return tr.gettext(STAGES[stage])


def deadline_text(d: Deadline, tr: Translator) -> str:
    """One deadline, in the reader's language."""
    return tr.gettext(DEADLINES[d.kind]).format(date=_day(d.due, tr), n=d.ordinal)


def refusal_text(refusal: Refusal, tr: Translator) -> str:
    """Why /develop refused, naming the rule."""
    facts: dict[str, Any] = dict(refusal.facts)
    if isinstance(facts.get("date"), dt.date) or facts.get("date") is None:
        facts["date"] = _day(facts.get("date"), tr)
    if "stage" in facts:
        facts["stage"] = stage_name(Stage(facts["stage"]), tr)
    return tr.gettext(REFUSALS[refusal.rule]).format(**facts)


def recorded_text(result: Recorded, tr: Translator) -> str:
    """The answer to /develop."""
    _ = tr.gettext
    if result.unknown:
        return _("Not found among the branch's members: {names}").format(
            names=", ".join(result.unknown)
        )
    if result.refusal is not None:
        return refusal_text(result.refusal, tr)
    assert result.stage is not None
    text = _("Recorded: {person}, {step}. Stage: {stage}.").format(
        person=result.person,
        step=tr.gettext(STEPS.get(result.step, result.step)),
        stage=stage_name(result.stage, tr),
    )
    if result.passed is False:
        text += "\n" + _(
            "The vote did not pass: more than half of the full members must vote for."
        )
    return text


def entry_line(e: PipelineEntry, tr: Translator) -> str:
    """One person of /pipeline."""
    line = "{mark}{name} — {stage}".format(
        mark="⚠ " if e.overdue else "", name=e.name, stage=stage_name(e.stage, tr)
    )
    if e.since is not None:
        line += " " + tr.gettext("(since {date})").format(date=_day(e.since, tr))
    if e.next is not None:
        line += "\n  " + deadline_text(e.next, tr)
    return line


def pipeline_text(entries: Sequence[PipelineEntry], tr: Translator) -> str:
    """/pipeline: everyone by stage with their next deadline, overdue ones first."""
    _ = tr.gettext
    if not entries:
        return _("Nobody is in the development pipeline.")
    return "\n".join([_("Development pipeline (发展党员)"), *(entry_line(e, tr) for e in entries)])


def development_lines(entries: Sequence[PipelineEntry], tr: Translator) -> list[str]:
    """The section of /overdue and the digest: missed development deadlines (empty: none)."""
    if not entries:
        return []
    return [
        "",
        tr.gettext("🌱 Development deadlines missed"),
        *("  " + entry_line(e, tr) for e in entries),
    ]


def me_lines(entry: PipelineEntry | None, tr: Translator) -> list[str]:
    """The section of /me for someone in the pipeline: their stage and next step."""
    if entry is None:
        return []
    lines = ["", tr.gettext("Your stage: {stage}").format(stage=stage_name(entry.stage, tr))]
    if entry.next is not None:
        lines.append(tr.gettext("Next: {step}").format(step=deadline_text(entry.next, tr)))
    return lines


def reminder_text(payload: Mapping[str, Any], tr: Translator) -> str:
    """A development deadline reminder (a ledger row's payload)."""
    message = REMINDERS.get((str(payload.get("deadline")), str(payload.get("phase"))))
    if message is None:
        return tr.gettext("A development deadline needs attention.")
    due = dt.date.fromisoformat(str(payload.get("due")))
    return "🌱 " + tr.gettext(message).format(person=payload.get("person", ""), date=tr.day(due))


def agenda_lines(items: Sequence[AgendaItem], tr: Translator) -> list[str]:
    """The pipeline votes due at a members' meeting, appended to its reminder."""
    if not items:
        return []
    _ = tr.gettext
    lines = ["", _("🌱 Member development on the agenda:")]
    for i in items:
        message = ADMISSION if i.kind == "admission" else CONVERSION
        lines.append("  " + _(message).format(name=i.name, date=_day(i.due, tr)))
    return lines
