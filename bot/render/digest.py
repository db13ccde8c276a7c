"""The weekly digest as text, in the reader's language and zone (pure; split under 4096)."""

from __future__ import annotations

from bot.i18n import Translator
from bot.render.attendance import quorum_lines
from bot.render.development import development_lines
from bot.render.text import split_message
from bot.services.digest_now import DigestNow
from scheduler.digest import Digest, HandInProgress, MeetingTally, Unreachable, UpcomingEvent


def digest_messages(digest: Digest, tr: Translator) -> list[str]:
    """The digest as one or more messages, each within Telegram's 4096 characters."""
    return split_message(digest_text(digest, tr))


def digest_text(digest: Digest, tr: Translator) -> str:
    """The whole digest as one text."""
    _ = tr.gettext
    lines = [
        _("Weekly digest of {branch}, {day}").format(
            branch=digest.branch_name, day=tr.day(tr.local(digest.now).date())
        ),
        "",
        _("Next 7 days:"),
    ]
    lines += [_event(e, tr) for e in digest.upcoming] or ["  " + _("nothing planned")]
    lines += ["", _("Attendance in the last 7 days:")]
    lines += [_tally(t, tr) for t in digest.attendance] or ["  " + _("no meetings")]
    d = digest.dues
    lines += [
        "",
        _(
            "Dues for {month}: {paid} of {members} members paid ({collected} of {expected})."
        ).format(
            month=tr.month_name(d.year, d.month),
            paid=d.paid,
            members=d.members,
            collected=tr.money(d.collected),
            expected=tr.money(d.expected),
        ),
    ]
    t = digest.talks
    if t.missing:
        lines.append(
            _("Talk records for Q{quarter} (due {day}) missing from {n} of {groups} groups: "
              "{names}").format(
                quarter=t.quarter, day=tr.day(t.deadline), n=len(t.missing), groups=t.groups,
                names=", ".join(t.missing),
            )
        )  # fmt: skip
    elif t.groups:
        lines.append(
            _("Talk records for Q{quarter}: every group has handed in.").format(quarter=t.quarter)
        )
    lines += [_handin(h, tr) for h in digest.handins]
    lines += _people(digest, tr)
    return "\n".join(lines)


def _handin(h: HandInProgress, tr: Translator) -> str:
    _ = tr.gettext
    title = h.title.get(tr.locale_name)
    if not h.missing:
        return _("{title} for Q{quarter}: everyone has handed in.").format(
            title=title, quarter=h.quarter
        )
    text = (
        _("{title} for Q{quarter} (due {day}): {n} of {owed} not handed in: {names}")
        if h.current
        else _(
            "{title} for Q{quarter} (was due {day}): {n} of {owed} still not handed in: {names}"
        )
    )
    return text.format(
        title=title, quarter=h.quarter, day=tr.day(h.deadline), n=len(h.missing), owed=h.owed,
        names=", ".join(h.missing),
    )  # fmt: skip


def _event(event: UpcomingEvent, tr: Translator) -> str:
    _ = tr.gettext
    line = "  " + _("{day} {time} {title}").format(
        day=tr.short_day(tr.local(event.starts_at).date()),
        time=tr.clock(event.starts_at),
        title=event.title.get(tr.locale_name),
    )
    if event.cancelled:
        line += " " + _("(cancelled)")
    elif event.moved:
        line += " " + _("(moved)")
    return line


def _tally(tally: MeetingTally, tr: Translator) -> str:
    _ = tr.gettext
    line = "  " + _(
        "{day} {title}: present {present}, on leave {leave}, absent {absent} (of {total})"
    ).format(
        day=tr.short_day(tr.local(tally.starts_at).date()),
        title=tally.title.get(tr.locale_name),
        present=tally.present,
        leave=tally.on_leave,
        absent=tally.absent,
        total=tally.audience,
    )
    extra = []
    if tally.attending:
        extra.append(_("{n} said they would come").format(n=tally.attending))
    if tally.no_answer:
        extra.append(_("{n} no answer yet").format(n=tally.no_answer))
    if tally.made_up:
        extra.append(_("{n} made up").format(n=tally.made_up))
    if tally.not_reachable:
        extra.append(_("{n} not reachable yet").format(n=tally.not_reachable))
    return line + ("; " + ", ".join(extra) if extra else "")


def reason_label(reason: str | None, tr: Translator) -> str:
    """A short, translated reason why a member cannot be messaged."""
    _ = tr.gettext
    text = (reason or "").lower()
    if not reason:
        return _("never linked")
    if "blocked" in text:
        return _("blocked the bot")
    if "chat not found" in text or "initiate" in text:
        return _("never started the bot")
    if "deactivated" in text:
        return _("account deleted")
    return reason


def _people(digest: Digest, tr: Translator) -> list[str]:
    _ = tr.gettext
    lines: list[str] = []
    if digest.blocked:
        lines += ["", _("Cannot be reached ({n}):").format(n=len(digest.blocked))]
        lines += [_person(p, tr) for p in digest.blocked]
    if digest.unlinked:
        lines += ["", _("Never linked to Telegram ({n}):").format(n=len(digest.unlinked))]
        lines.append("  " + ", ".join(p.name for p in digest.unlinked))
    return lines


def _person(person: Unreachable, tr: Translator) -> str:
    _ = tr.gettext
    if person.since is None:
        return "  " + _("{name}: {reason}").format(
            name=person.name, reason=reason_label(person.reason, tr)
        )
    return "  " + _("{name}: {reason} (since {day})").format(
        name=person.name,
        reason=reason_label(person.reason, tr),
        day=tr.short_day(tr.local(person.since).date()),
    )


def quorum_warning_lines(view: DigestNow, tr: Translator) -> list[str]:
    """One block per general members' meeting of the next three days short of its quorum."""
    _ = tr.gettext
    lines: list[str] = []
    for warning in view.quorum:
        lines += ["", _("⚠ Quorum at risk: {title} on {when} (#{id})").format(
            title=warning.title.get(tr.locale_name), when=tr.when(warning.starts_at),
            id=warning.occurrence_id)]  # fmt: skip
        lines += quorum_lines(warning.quorum, tr)
    return lines


def digest_with_quorum(view: DigestNow, tr: Translator) -> str:
    """The weekly digest for the reader, then the quorum warnings and missed development steps."""
    return "\n".join([digest_text(view.digest, tr), *quorum_warning_lines(view, tr),
                      *development_lines(view.development, tr)])  # fmt: skip
