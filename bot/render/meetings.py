"""Pure texts of the members' answers: toasts after a tap, the leave messages, make-up notes.

(facts, Translator) -> str. Keyboards are plain rows of (label, callback data); the handlers
turn them into Telegram markup. Toasts (answerCallbackQuery) are at most 200 characters.
"""

from __future__ import annotations

from bot.buttons import button
from bot.i18n import Translator
from bot.render.text import Keyboard, refusal_text
from bot.services.attendance import Answer
from bot.services.events import Event, Refusal
from bot.services.leave import Decision, LeaveRequest


def title(event: Event, tr: Translator) -> str:
    """The event's title in the reader's language."""
    return event.title.get(tr.locale_name)


def attend_toast(answer: Answer, tr: Translator) -> str:
    """The answer to an Attend tap."""
    _ = tr.gettext
    if answer.refusal is Refusal.ALREADY:
        return _("You have already said you will attend.")
    if answer.refusal is Refusal.CHECKED_IN and answer.checked_in_at:
        return _("You checked in at {time}.").format(time=tr.clock(answer.checked_in_at))
    if answer.refusal is not None:
        return refusal_text(answer.refusal, tr)
    return _("Noted: you will attend.")


def check_in_toast(answer: Answer, tr: Translator) -> str:
    """The answer to a Check in tap."""
    _ = tr.gettext
    if answer.refusal is Refusal.TOO_EARLY and answer.opens_at:
        return _("Check-in opens at {time}.").format(time=tr.clock(answer.opens_at))
    if answer.refusal is Refusal.TOO_LATE and answer.closes_at:
        return _("Check-in closed at {time}.").format(time=tr.clock(answer.closes_at))
    if answer.refusal is Refusal.ALREADY and answer.checked_in_at:
        return _("You checked in at {time}.").format(time=tr.clock(answer.checked_in_at))
    if answer.refusal is not None:
        return refusal_text(answer.refusal, tr)
    assert answer.checked_in_at is not None
    return _("✅ Checked in at {time}.").format(time=tr.clock(answer.checked_in_at))


def leave_toast(answer: Answer, tr: Translator, *, in_group: bool) -> str:
    """The answer to a Request leave tap."""
    _ = tr.gettext
    if answer.refusal is Refusal.LEAVE_PENDING and answer.state == "leave_approved":
        return _("Your leave from this event is already approved.")
    if answer.refusal is Refusal.CHECKED_IN and answer.checked_in_at:
        return _("You checked in at {time}: leave can no longer be requested.").format(
            time=tr.clock(answer.checked_in_at)
        )
    if answer.refusal is not None:
        return refusal_text(answer.refusal, tr)
    if in_group:
        return _("I have asked you for the reason in our private chat.")
    return _("Please send me the reason for your leave.")


def reason_question(event: Event, tr: Translator) -> str:
    """The private question asking for the reason of a leave request."""
    return tr.gettext(
        "Why can you not attend {title} on {when}? Send the reason as a message, or /cancel."
    ).format(title=title(event, tr), when=tr.when(event.starts_at))


def reason_retry(tr: Translator) -> str:
    """The answer to an empty or overlong reason."""
    return tr.gettext("Please send the reason in one message of up to 500 characters, or /cancel.")


def note_retry(tr: Translator) -> str:
    """The answer to an empty or overlong make-up note."""
    return tr.gettext("Please send the note in one message of up to 500 characters, or /cancel.")


def start_private_chat(tr: Translator) -> str:
    """The toast when the bot may not write to the member privately yet."""
    return tr.gettext("Please open a private chat with me and press Start first.")


def leave_sent(request: LeaveRequest, tr: Translator) -> str:
    """The member's confirmation once the reason is stored."""
    _ = tr.gettext
    if not request.approvers:
        return _("Your leave request is recorded, but no secretary can be reached by the bot yet.")
    if request.by_secretary:
        return _(
            "Your leave request has been sent to the branch committee. "
            "I will tell you the decision."
        )
    return _("Your leave request has been sent to the secretary. I will tell you the decision.")


def leave_request_text(request: LeaveRequest, tr: Translator) -> str:
    """What a secretary or committee member sees: who, which event, why."""
    event = request.answer.event
    assert event is not None
    return tr.gettext("Leave request from {name}\n{title}, {when}\nReason: {reason}").format(
        name=request.member_name,
        title=title(event, tr),
        when=tr.when(event.starts_at),
        reason=request.reason,
    )


def leave_request_keyboard(attendance_id: int, tr: Translator) -> Keyboard:
    """Approve / Decline."""
    _ = tr.gettext
    return [
        [
            (_("✅ Approve"), button("la", attendance_id)),
            (_("❌ Decline"), button("ld", attendance_id)),
        ]
    ]


def decision_line(decision: Decision, tr: Translator) -> str:
    """The line added to the request message once it is decided."""
    _ = tr.gettext
    text = _("✅ Approved by {name}") if decision.approved else _("❌ Declined by {name}")
    return text.format(name=decision.decider_name)


def decision_toast(decision: Decision, tr: Translator) -> str:
    """The answer to an Approve / Decline tap."""
    _ = tr.gettext
    if decision.refusal is Refusal.DECIDED:
        return decision_line(decision, tr)
    if decision.refusal is not None:
        return refusal_text(decision.refusal, tr)
    return _("Approved.") if decision.approved else _("Declined.")


def decision_for_member(decision: Decision, tr: Translator) -> str:
    """The decision as the member is told it."""
    event = decision.event
    assert event is not None
    if decision.approved:
        text = tr.gettext("Your leave from {title} on {when} was approved by {name}.")
    else:
        text = tr.gettext(
            "Your leave from {title} on {when} was declined by {name}. "
            "Please attend, or talk to the secretary."
        )
    return text.format(
        title=title(event, tr), when=tr.when(event.starts_at), name=decision.decider_name
    )


def make_up_question(member_name: str, event: Event, tr: Translator) -> str:
    """The private question asking the secretary for the make-up note."""
    return tr.gettext(
        "Make-up session (补课) of {name} for {title} on {when}: send a short note, or /cancel."
    ).format(name=member_name, title=title(event, tr), when=tr.day(event.local_date))


def make_up_done(member_name: str, event: Event, tr: Translator) -> str:
    """The confirmation once the make-up session is recorded."""
    return tr.gettext("Recorded: {name} made up {title} on {when}.").format(
        name=member_name, title=title(event, tr), when=tr.day(event.local_date)
    )


def not_expected(tr: Translator) -> str:
    """The answer to a file sent where the bot asked for something else."""
    return tr.gettext("I was not expecting a file now. Please answer the question, or /cancel.")


def cancelled_text(flow: str | None, tr: Translator) -> str:
    """The answer to /cancel."""
    _ = tr.gettext
    if flow is None:
        return _("There is nothing to cancel.")
    return _("Cancelled. Nothing more was saved.")


def stray_text_hint(tr: Translator) -> str:
    """The answer to a private message when no question is open."""
    return tr.gettext(
        "I did not ask anything just now, so I cannot use that message. I answer commands "
        "and the buttons on my messages: send /help to see what you can do, or /me for your "
        "overview."
    )


def make_up_asked(tr: Translator) -> str:
    """The toast after the make-up button: where the question went."""
    return tr.gettext("I asked you privately for the note of the make-up session.")
