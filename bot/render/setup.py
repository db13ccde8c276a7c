"""Pure texts for branch setup from the chat: /newbranch, roster and plan files, /settings."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import Translator
from bot.services.branches import BranchCreated, BranchProblem, BranchRefused
from bot.services.invites import InviteIssued
from bot.services.uploads import (
    MAX_FILE_BYTES,
    Applied,
    PlanPreview,
    RosterPreview,
    UploadRefusal,
)
from scheduler.plan import PlanError, ReminderRule
from scheduler.problems import Problem
from scheduler.recurrence import Occurrence

LISTED = 20  # bad lines, names or occurrences shown in a message; the rest are counted


def branch_refused(error: BranchRefused, tr: Translator) -> str:
    """Why /newbranch or /renamebranch did nothing."""
    _ = tr.gettext
    texts = {
        BranchProblem.USAGE: _(
            "Usage: /newbranch NAME [timezone] [language], e.g. /newbranch 第三党支部 "
            "Asia/Shanghai zh_CN; /renamebranch OLD NEW. Quote a name with spaces."
        ),
        BranchProblem.BAD_NAME: _("A branch name must be 1 to 200 visible characters."),
        BranchProblem.TAKEN: _("There is already a branch called {name}. Nothing was changed."),
        BranchProblem.UNKNOWN: _("There is no branch called {name}."),
        BranchProblem.BAD_TIMEZONE: _(
            "{name} is not a time zone I know: use a name like Asia/Shanghai."
        ),
        BranchProblem.BAD_LANGUAGE: _("{name} is not a language I speak: use zh_CN or en."),
    }
    return texts[error.problem].format(name=error.value)


def branch_created(created: BranchCreated, link: str, tr: Translator) -> str:
    """The admin's answer to /newbranch: the branch and its secretary's one-time link."""
    return tr.gettext(
        "Branch {branch} created ({timezone}, {language}), following the default plan.\n\n"
        "Send this one-time link to its secretary; whoever opens it becomes the branch "
        "secretary (valid until {expires}):\n{link}"
    ).format(
        branch=created.branch_name,
        timezone=created.timezone,
        language=created.locale,
        expires=tr.day(tr.local(created.invite.expires_at).date()),
        link=link,
    )


def branch_renamed(old: str, new: str, tr: Translator) -> str:
    """The admin's answer to /renamebranch."""
    return tr.gettext("Branch {old} is now called {new}.").format(old=old, new=new)


def upload_refused(reason: UploadRefusal, tr: Translator) -> str:
    """Why a file or a confirmation did nothing."""
    _ = tr.gettext
    if reason is UploadRefusal.TOO_LARGE:
        return _("This file is larger than {size} KB, so I did not read it.").format(
            size=MAX_FILE_BYTES // 1000
        )
    if reason is UploadRefusal.UNKNOWN_TYPE:
        return _(
            "I read roster files (.csv or .xlsx) and plan files (.toml) only. Nothing was changed."
        )
    if reason is UploadRefusal.EXPIRED:
        return _(
            "This preview is no longer valid (expired, replaced or done). Send the file again."
        )
    return _(
        "Only the branch secretary can send roster and plan files, in a private chat with me. "
        "Nothing was read."
    )


def file_problems(heading: str, problems: Sequence[str], tr: Translator) -> str:
    """A refused file: every problem (line numbers, items and fields), nothing imported."""
    lines = [heading, ""]
    lines += [f"• {p}" for p in problems[:LISTED]]
    if len(problems) > LISTED:
        lines.append(tr.gettext("… and {count} more.").format(count=len(problems) - LISTED))
    lines += ["", tr.gettext("Nothing was changed. Fix the file and send it again.")]
    return "\n".join(lines)


def problem_text(problem: Problem, tr: Translator) -> str:
    """One reason a file was refused, in the reader's language, with its line number if any.

    The fields (a cell as it was written, a name, an allowed value) are inserted as they are.
    """
    reason = tr.gettext(problem.msgid)
    if problem.fields:
        reason = reason.format(**problem.fields)
    if problem.line is None:
        return reason
    return tr.gettext("line {line}: {reason}").format(line=problem.line, reason=reason)


def plan_problem_text(error: PlanError, tr: Translator) -> str:
    """A plan error naming the item and the field as the file spells them (TOML keys)."""
    _ = tr.gettext
    reason = problem_text(error.problem, tr)
    if error.item is not None and error.field is not None:
        where = _("item '{item}', field '{field}': {reason}")
    elif error.item is not None:
        where = _("item '{item}': {reason}")
    elif error.field is not None:
        where = _("field '{field}': {reason}")
    else:
        return reason
    return where.format(item=error.item, field=error.field, reason=reason)


def roster_refused(problems: Sequence[Problem], tr: Translator) -> str:
    """A roster file with bad lines."""
    reasons = [problem_text(p, tr) for p in problems]
    return file_problems(tr.gettext("This roster file cannot be imported:"), reasons, tr)


def plan_refused(error: PlanError, tr: Translator) -> str:
    """A plan file that does not validate."""
    reason = plan_problem_text(error, tr)
    return file_problems(tr.gettext("This plan file cannot be used:"), [reason], tr)


def _names(names: Sequence[str], tr: Translator) -> str:
    shown = "、".join(names[:LISTED])
    if len(names) > LISTED:
        shown += " " + tr.gettext("… and {count} more.").format(count=len(names) - LISTED)
    return shown


def roster_preview(preview: RosterPreview, tr: Translator) -> str:
    """What importing the roster would do, before anything is written."""
    _ = tr.gettext
    lines = [
        _("Roster for {branch}: {new} new, {updated} updated, {unchanged} unchanged.").format(
            branch=preview.branch_name,
            new=len(preview.created),
            updated=len(preview.updated),
            unchanged=len(preview.unchanged),
        )
    ]
    if preview.created:
        lines.append(_("New: {names}").format(names=_names(preview.created, tr)))
    if preview.updated:
        lines.append(_("Updated: {names}").format(names=_names(preview.updated, tr)))
    lines += ["", _("Nothing is written until you tap Import. It is all or nothing.")]
    return "\n".join(lines)


def roster_imported(applied: Applied, tr: Translator) -> str:
    """After Import."""
    assert applied.roster is not None
    result = applied.roster.result
    return tr.gettext(
        "Imported into {branch}: {new} new, {updated} updated, {unchanged} unchanged."
    ).format(
        branch=applied.branch_name,
        new=len(result.created),
        updated=len(result.updated),
        unchanged=len(result.unchanged),
    )


def invite_lines(invites: Sequence[InviteIssued], username: str) -> list[str]:
    """One line per new member: name and one-time link."""
    return [f"{i.member_name}: https://t.me/{username}?start={i.token}" for i in invites]


def invites_heading(count: int, tr: Translator) -> str:
    """Above the new members' invite links."""
    return tr.ngettext(
        "The one-time invite link for {count} new member; send it to them personally:",
        "One-time invite links for the {count} new members; send each to its member personally:",
        count,
    ).format(count=count)


def _occ(occ: Occurrence, tr: Translator) -> str:
    title = occ.title.zh_CN if tr.locale_name == "zh_CN" else occ.title.en
    return f"{tr.short_day(occ.local_date)} {occ.local_time:%H:%M} {title}"


def plan_preview(preview: PlanPreview, tr: Translator) -> str:
    """What the new plan changes over the next three months."""
    _ = tr.gettext
    if preview.to_default:
        head = _("Back to the default plan for {branch}.").format(branch=preview.branch_name)
    else:
        head = _("New plan for {branch}: {items} items, valid.").format(
            branch=preview.branch_name, items=preview.items
        )
    lines = [head, "", _("Over the next three months:")]
    if not (preview.added or preview.moved or preview.removed):
        lines.append(_("nothing changes."))
    for occ in preview.added[:LISTED]:
        lines.append(_("+ added: {event}").format(event=_occ(occ, tr)))
    for move in preview.moved[:LISTED]:
        lines.append(
            _("→ moved: {before} → {after}").format(
                before=_occ(move.before, tr), after=_occ(move.after, tr)
            )
        )
    for occ in preview.removed[:LISTED]:
        lines.append(_("− removed: {event}").format(event=_occ(occ, tr)))
    lines += [
        "",
        _(
            "Reminders already sent are not sent again; events you moved or cancelled by hand "
            "keep their time. Nothing changes until you tap Apply."
        ),
    ]
    return "\n".join(lines)


def plan_applied(applied: Applied, tr: Translator) -> str:
    """After Apply."""
    return tr.gettext("The new plan of {branch} is in force.").format(branch=applied.branch_name)


def plan_file_caption(tr: Translator) -> str:
    """With the plan file sent by /plan file."""
    return tr.gettext(
        "Your branch's plan. Edit it (the comments explain each field) and send the .toml "
        "file back to me; /plan default goes back to the default plan."
    )


def roster_file_caption(tr: Translator) -> str:
    """With the roster file sent by /roster."""
    return tr.gettext(
        "The current roster. Edit it and send it back to me: I show what changes before "
        "anything is imported."
    )


def cancelled(tr: Translator) -> str:
    """After Cancel on a preview."""
    return tr.gettext("Cancelled. Nothing was changed.")


def language_name(locale: str) -> str:
    """A language named in itself."""
    return {"zh_CN": "简体中文", "en": "English"}.get(locale, locale)


def settings_text(
    *, branch: str, timezone: str, locale: str, dues_day: str, leads: Sequence[str], tr: Translator
) -> str:
    """/settings: the branch's settings and what the buttons change."""
    _ = tr.gettext
    lines = [
        _("Settings of {branch}:").format(branch=branch),
        _("Time zone: {value}").format(value=timezone),
        _("Default language: {value}").format(value=language_name(locale)),
        _("Dues day: {value}").format(value=dues_day),
        _("Reminder lead times: {value}").format(value="; ".join(leads)),
        "",
        _(
            "Tap a button to change a setting; you see what changes before it is applied. "
            "Other reminder times are in the plan: /plan file, edit it, send it back."
        ),
    ]
    return "\n".join(lines)


def dues_rule(day: int | None, weekday: int | None, nth: int | None, tr: Translator) -> str:
    """A dues day rule: a day of the month, or the n-th weekday."""
    _ = tr.gettext
    if day is not None:
        return _("day {day} of the month").format(day=day)
    if weekday is None or nth is None:
        return "—"
    name = tr.locale.days["format"]["wide"][weekday]
    return _("{weekday} of week {nth}").format(weekday=name, nth=nth)


def lead_label(days: int, tr: Translator) -> str:
    """A meeting reminder lead time."""
    return tr.ngettext("meetings: {days} day before", "meetings: {days} days before", days).format(
        days=days
    )


def reminder_rules(rules: Sequence[ReminderRule], tr: Translator) -> str:
    """An item's reminders, e.g. "-3 d 09:00, +0 d 08:00" (days from the event)."""
    return ", ".join(
        tr.gettext("{days} d {time}").format(days=f"{r.offset_days:+d}", time=f"{r.at:%H:%M}")
        for r in rules
    )


def setting_preview(name: str, old: str, new: str, tr: Translator) -> str:
    """A settings change, before it is applied."""
    _ = tr.gettext
    label = _("Time zone") if name == "timezone" else _("Default language")
    if name == "locale":
        old, new = language_name(old), language_name(new)
    return _(
        "{setting}: {old} → {new}. Event times stay the same branch-local times; reminders "
        "follow. Nothing changes until you tap Apply."
    ).format(setting=label, old=old, new=new)


def setting_applied(applied: Applied, tr: Translator) -> str:
    """After Apply on a settings change."""
    assert applied.setting is not None
    name, value = applied.setting
    if name == "locale":
        value = language_name(value)
    return tr.gettext("Saved: {value}.").format(value=value)
