"""Pure texts for /invite, /members and /me: (view model, Translator) -> str.

Everything is sent as plain text (no parse_mode), so names such as "<b>Bold</b> & Co" are shown
exactly as written and can never inject markup.
"""

from __future__ import annotations

from decimal import Decimal

from bot.buttons import button
from bot.i18n import Translator
from bot.services.invites import Denial, InviteIssued, InviteUsageError, UsageProblem
from bot.services.me import DuesState, MeView, Tally
from bot.services.members import (
    BLOCKED_REASON,
    BindOutcome,
    BindStatus,
    RosterLine,
    RosterView,
)


def role_label(role: str | None, tr: Translator) -> str:
    """A role in the reader's language."""
    match role:
        case "group_leader":
            return tr.pgettext("role", "party group leader")
        case "committee":
            return tr.pgettext("role", "committee member")
        case "secretary":
            return tr.pgettext("role", "secretary")
    return tr.pgettext("role", "member")


def invite_usage(error: InviteUsageError, tr: Translator) -> str:
    """Why /invite was not understood, and how to use it."""
    _ = tr.gettext
    problem = {
        UsageProblem.EMPTY_NAME: _("Please give the member's name."),
        UsageProblem.UNBALANCED_QUOTES: _("A quotation mark is not closed."),
        UsageProblem.TOO_MANY: _("Too many words, starting at: {value}"),
        UsageProblem.UNKNOWN_ROLE: _("Unknown role: {value}"),
        UsageProblem.TOO_LONG: _("A name is too long (at most 200 characters): {value}…"),
    }[error.problem].format(value=error.value)
    usage = _(
        "Usage: /invite NAME [group] [role]\n"
        'Put a name with spaces in quotes: /invite "Zhang San" "Group 1" committee\n'
        "Roles: member, group_leader, committee, secretary (default: member)."
    )
    return f"{problem}\n\n{usage}"


def invite_denied(reason: Denial, tr: Translator, *, branch: str | None) -> str:
    """Why no invite was created."""
    _ = tr.gettext
    match reason:
        case Denial.OTHER_BRANCH:
            return _("You can only invite members into your own branch.")
        case Denial.UNKNOWN_BRANCH:
            return _("There is no branch called {branch}.").format(branch=branch or "")
        case Denial.NEED_BRANCH:
            return _(
                "You are not a member of a branch, so name one: "
                "/invite NAME [group] [role] branch=BRANCH"
            )
    return _("Sorry, this is not available to your role.")


def invite_issued(issued: InviteIssued, link: str, tr: Translator) -> str:
    """The one-time link, for whom it is and until when it works."""
    _ = tr.gettext
    fields = {
        "name": issued.member_name,
        "role": role_label(issued.role, tr),
        "group": issued.group_name or "",
        "branch": issued.branch_name,
        "when": tr.when(issued.expires_at),
    }
    if issued.group_name:
        head = _("Invite for {name} ({role}, {group}) in {branch}:")
    else:
        head = _("Invite for {name} ({role}) in {branch}:")
    note = _("Send this link to {name} only. It works once and expires on {when}.")
    lines = [head.format(**fields), link, "", note.format(**fields)]
    if issued.already_linked:
        lines.append(
            _(
                "{name} is already linked to a Telegram account; opening this link from "
                "another account moves the link to that account."
            ).format(**fields)
        )
    return "\n".join(lines)


def _reachability(line: RosterLine, tr: Translator) -> str | None:
    """Why the bot cannot reach this member, if it cannot."""
    _ = tr.gettext
    if not line.linked:
        return _("never linked")
    if line.unreachable_reason is None:
        return None
    since = tr.day(tr.local(line.unreachable_since).date()) if line.unreachable_since else "?"
    if line.unreachable_reason == BLOCKED_REASON or "blocked" in line.unreachable_reason:
        return _("blocked the bot since {date}").format(date=since)
    return _("cannot be reached since {date}").format(date=since)


def roster_text(view: RosterView, tr: Translator) -> str:
    """The branch's members by party group: role, link, dues amount, reachability."""
    _ = tr.gettext
    lines = view.lines
    unreachable = sum(1 for m in lines if not m.linked or m.unreachable_reason)
    out = [
        _("Members of {branch}: {total}, linked {linked}, not reachable {unreachable}").format(
            branch=view.branch_name,
            total=len(lines),
            linked=sum(1 for m in lines if m.linked),
            unreachable=unreachable,
        )
    ]
    for group in view.groups:
        out += ["", f"【{group.name}】" if group.name else _("【No party group】")]
        for m in group.members:
            parts = [
                m.name,
                role_label(m.role, tr),
                _("✓ linked") if m.linked else _("✗ not linked"),
                _("{amount} a month").format(amount=tr.money(m.dues_amount)),
            ]
            reach = _reachability(m, tr)
            out.append("• " + " — ".join([*parts, reach] if reach else parts))
    return "\n".join(out)


def _answer_label(answer: str, tr: Translator) -> str:
    match answer:
        case "attending":
            return tr.pgettext("answer", "attending")
        case "leave_requested":
            return tr.pgettext("answer", "leave requested")
        case "leave_approved":
            return tr.pgettext("answer", "on leave")
        case "leave_declined":
            return tr.pgettext("answer", "leave declined")
        case "present":
            return tr.pgettext("answer", "checked in")
    return tr.pgettext("answer", "absent")


def _months(view: MeView, state: DuesState, tr: Translator) -> tuple[str, Decimal]:
    chosen = [d for d in view.dues if d.state is state]
    names = ", ".join(tr.month_name(view.year, d.month) for d in chosen)
    return names, sum((d.amount for d in chosen), Decimal("0.00"))


def me_text(view: MeView, tr: Translator) -> str:
    """/me: who I am, my next events, my dues and my attendance this year."""
    _ = tr.gettext
    role = role_label(view.role, tr)
    out = [
        _("{name} — {role}, {branch}").format(name=view.name, role=role, branch=view.branch_name)
    ]
    if view.group_name:
        out.append(_("Party group: {group}").format(group=view.group_name))
    heading = _("Upcoming events (next 60 days):")
    out += ["", heading if view.events else _("No events in the next 60 days.")]
    for event in view.events:
        line = "• " + _("{when}  {title}").format(
            when=tr.when(event.starts_at), title=event.title.get(tr.locale_name)
        )
        out.append(line + (f" — {_answer_label(event.answer, tr)}" if event.answer else ""))
    out += ["", *_dues_lines(view, tr), "", _attendance_line(view.year, view.attendance, tr)]
    out += _handin_lines(view, tr)
    return "\n".join(out)


def _handin_lines(view: MeView, tr: Translator) -> list[str]:
    """Each quarter of what they hand in themselves: when, late or not, or still owed."""
    _ = tr.gettext
    out: list[str] = []
    for owed in view.handins:
        title = owed.item.title.get(tr.locale_name)
        done = owed.handed_in
        if done is None:
            text = _("{title}, Q{quarter}: not handed in yet (due {day})")
        elif done.late:
            text = _("{title}, Q{quarter}: handed in late, {when}")
        else:
            text = _("{title}, Q{quarter}: handed in {when}")
        when = tr.day(tr.local(done.at).date()) if done else ""
        out.append(
            text.format(title=title, quarter=owed.quarter, day=tr.day(owed.deadline), when=when)
        )
    return ["", *out] if out else []


def _dues_lines(view: MeView, tr: Translator) -> list[str]:
    _ = tr.gettext
    if view.dues_amount <= 0 and all(d.state is DuesState.NONE_DUE for d in view.dues):
        return [_("Dues in {year}: no amount is set for you.").format(year=view.year)]
    out = [
        _("Dues in {year} ({amount} a month):").format(
            year=view.year, amount=tr.money(view.dues_amount)
        )
    ]
    paid, _total = _months(view, DuesState.PAID, tr)
    declared, _total = _months(view, DuesState.DECLARED, tr)
    owed, total = _months(view, DuesState.OWED, tr)
    if paid:
        out.append(_("Paid: {months}").format(months=paid))
    if declared:
        out.append(_("Declared, awaiting confirmation: {months}").format(months=declared))
    if owed:
        out.append(
            _("Owed: {months} ({total} in total)").format(months=owed, total=tr.money(total))
        )
    else:
        out.append(_("Nothing owed."))
    return out


def _attendance_line(year: int, tally: Tally, tr: Translator) -> str:
    line = tr.gettext(
        "Meetings in {year} so far: present {present}, on leave {leave}, absent {absent}"
    ).format(year=year, present=tally.present, leave=tally.leave, absent=tally.absent)
    if tally.made_up:
        line += tr.gettext(" ({n} made up)").format(n=tally.made_up)
    return line


def bind_text(outcome: BindOutcome, tr: Translator) -> str:
    """The answer to /bindgroup in the group: bound (and the question how reminders go)."""
    _ = tr.gettext
    if outcome.status is BindStatus.TAKEN:
        return _(
            "This group chat belongs to {other}. Only its secretary or an administrator can "
            "bind it to another branch; its secretary has been told."
        ).format(other=outcome.other_branch)
    if outcome.status is BindStatus.ALREADY:
        head = _("This group chat is already bound to {branch}.")
    elif outcome.status is BindStatus.MOVED:
        head = _("This group chat was moved from {other} to {branch}.")
    else:
        head = _("This group chat is now bound to {branch}.")
    lines = [head.format(branch=outcome.branch_name, other=outcome.other_branch)]
    if outcome.replaced_chat is not None:
        lines.append(_("It replaces the branch's earlier group chat."))
    lines += [
        delivery_text(outcome.delivery_mode, tr),
        _("How should reminders go? Secretary, choose below."),
    ]
    return "\n".join(lines)


def bind_notice(outcome: BindOutcome, chat_title: str, tr: Translator) -> str:
    """What the other branch's secretaries are told about their group chat."""
    _ = tr.gettext
    if outcome.status is BindStatus.MOVED:
        text = _(
            "Your branch's group chat {chat} was moved to {branch} by an administrator "
            "({name}). Send /bindgroup in another group chat to bind one again."
        )
    else:
        text = _(
            "{name} of {branch} tried to bind your branch's group chat {chat}; it stays yours."
        )
    return text.format(chat=chat_title, branch=outcome.branch_name, name=outcome.actor_name)


def delivery_text(mode: str, tr: Translator) -> str:
    """Where the branch's reminders go now."""
    _ = tr.gettext
    if mode == "group":
        return _("Reminders go to this group chat only (meetings, dues, talk records).")
    if mode == "both":
        return _("Reminders go to this group chat and to each member privately.")
    return _("Reminders go to each member privately; nothing is posted in the group chat.")


def delivery_keyboard(tr: Translator) -> list[list[tuple[str, str]]]:
    """Private only / group chat only / both."""
    _ = tr.gettext
    return [
        [(_("Private messages only"), button("bd", 0))],
        [(_("This group chat only"), button("bd", 1))],
        [(_("Both"), button("bd", 2))],
    ]
