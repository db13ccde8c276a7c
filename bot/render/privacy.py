"""Pure texts of the privacy features: refused files, /privacy, leaving members."""

from __future__ import annotations

from bot.i18n import Translator
from bot.services.files import MAX_FORM_BYTES, FileProblem

MB = 1024 * 1024


def file_refusal(problem: FileProblem, size: int | None, tr: Translator) -> str:
    """Why a talk-records file was not kept, and what to send instead."""
    _ = tr.gettext
    if problem is FileProblem.TOO_BIG:
        return _(
            "This file is too big ({size} MB). Please send a photo of the form, or a PDF or "
            "image of at most {limit} MB."
        ).format(size=f"{(size or 0) / MB:.1f}", limit=MAX_FORM_BYTES // MB)
    return _(
        "This kind of file cannot be kept as the talk-records form. Please send a photo of the "
        "form, or a PDF or image file."
    )


def privacy_text(retention_days: int | None, tr: Translator) -> str:
    """/privacy: what the bot stores about a member, who sees it, how long it is kept."""
    _ = tr.gettext
    if retention_days is None:
        kept = _("Your branch keeps them until a secretary changes this (/retention).")
    else:
        kept = _(
            'Your branch keeps them for {days} days; after that only "reason given" remains.'
        ).format(days=retention_days)
    lines = [
        _("What this bot stores about you"),
        "",
        _(
            "• From the roster: your name, party group, role, membership status and approved "
            "monthly dues amount."
        ),
        _(
            "• From Telegram: your numeric user id and the language you chose — not your "
            "username, phone number or profile."
        ),
        _(
            "• Your answers: attend, leave requested with its reason, check-in times, make-up "
            "sessions; the dues payments you declared and their confirmation; talk records "
            "that list you."
        ),
        _(
            "• Not stored: incomes typed into /dues set (the message is deleted), the files "
            "of talk records (only Telegram's file id), anything else you write to the bot."
        ),
        "",
        _("Who sees it"),
        _("• You: everything about you, with /me and /me export."),
        _(
            "• Your group leader: the talk records of your group; in group chats everyone "
            "sees counts only, never reasons or amounts."
        ),
        _(
            "• The branch committee and secretary: rosters with leave reasons (they decide "
            "on them), dues awaiting confirmation, the weekly digest."
        ),
        _("• The secretary: the registers (/export) with attendance, dues and talk records."),
        "",
        _("Leave reasons, make-up notes and talk summaries are personal."),
        kept,
        "",
        _(
            "If you leave the branch (transfer or removal by the secretary), your Telegram "
            "account is unlinked and you receive nothing more; your name stays only in the "
            "attendance and dues records of past meetings."
        ),
    ]
    return "\n".join(lines)


def removal_prompt(name: str, tr: Translator) -> str:
    """Before a member is removed: what will happen, and the choice of how they left."""
    return tr.gettext(
        "Remove {name} from the branch? Their Telegram account will be unlinked, they will "
        "receive nothing more, and their answers to future events are deleted. Their name stays "
        "in the attendance and dues records of past meetings. How did they leave?"
    ).format(name=name)


def removal_done(name: str, transferred: bool, tr: Translator) -> str:
    """After a removal."""
    _ = tr.gettext
    if transferred:
        return _("{name} has left the branch (transferred out). Recorded.").format(name=name)
    return _("{name} has been removed from the branch. Recorded.").format(name=name)


def remove_usage(tr: Translator) -> str:
    """How to use /remove."""
    return tr.gettext("Usage: /remove NAME — a member who transferred out or must be removed.")


def unknown_member(name: str, tr: Translator) -> str:
    """No such active member."""
    return tr.gettext("There is no member called {name} in your branch.").format(name=name)


def not_yourself(tr: Translator) -> str:
    """A secretary cannot remove themselves."""
    return tr.gettext("You cannot remove yourself; another secretary must do it.")


def retention_usage(tr: Translator) -> str:
    """How to use /retention."""
    return tr.gettext("Usage: /retention DAYS (1 to 3650), or /retention off to keep them.")


def retention_text(days: int | None, tr: Translator) -> str:
    """The branch's retention setting, and how to change it."""
    _ = tr.gettext
    if days is None:
        head = _("Leave reasons, make-up notes and talk summaries are kept for good.")
    else:
        head = _(
            "Leave reasons, make-up notes and talk summaries are kept for {days} days, then "
            'replaced by "reason given".'
        ).format(days=days)
    return head + "\n" + _("Change it with /retention DAYS, or /retention off to keep them.")
