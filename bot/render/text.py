"""Small pure helpers shared by renderers: lengths Telegram accepts, keyboards, refusals."""

from __future__ import annotations

from bot.i18n import N_, Translator
from bot.services.events import Refusal
from bot.services.inert import visible

MAX_TEXT = 4096  # Telegram's limit on a message text, in characters
MAX_CAPTION = 1024  # Telegram's limit on a photo or document caption
MAX_LABEL = 64  # our cap on a button label: Telegram cuts longer ones off at the screen edge
ELLIPSIS = "…"


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split `text` into chunks of at most `limit` characters, on line boundaries.

    A line longer than `limit` is cut into pieces (never inside a surrogate pair), and chunks
    that would be blank are dropped, because Telegram refuses an empty message; otherwise
    joining the chunks with "\\n" gives back `text`.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2")
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        for piece in _cut(line, limit):
            extra = _units(piece) + (1 if current else 0)
            if current and size + extra > limit:
                chunks.append("\n".join(current))
                current, size = [], 0
                extra = _units(piece)
            current.append(piece)
            size += extra
    if current:
        chunks.append("\n".join(current))
    return [c for c in chunks if c.strip()]


def _cut(line: str, limit: int) -> list[str]:
    """Cut one line into pieces of at most `limit` UTF-16 units."""
    if _units(line) <= limit:
        return [line]
    pieces: list[str] = []
    piece = ""
    size = 0
    for char in line:
        width = _units(char)
        if size + width > limit:
            pieces.append(piece)
            piece, size = "", 0
        piece += char
        size += width
    pieces.append(piece)
    return pieces


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 units, with "…" when something was cut."""
    if _units(text) <= limit:
        return text
    return _cut(text, limit - 1)[0] + ELLIPSIS


def fit(text: str) -> str:
    """A message text Telegram accepts: at most 4096 characters (the last resort of a view)."""
    return clip(text, MAX_TEXT)


def label(text: str) -> str:
    """A button label: one visible line of at most 64 characters."""
    return clip(visible(text), MAX_LABEL)


# Rows of inline buttons as (label, callback data); `bot.keyboards.markup` makes Telegram
# markup of them, so renderers stay free of Telegram.
Keyboard = list[list[tuple[str, str]]]
MAX_TOAST = 200

REFUSALS: dict[Refusal, str] = {
    Refusal.NOT_LINKED: N_(
        "I don't know you yet. Ask your branch secretary for an invite link, "
        "then open it to link your account."
    ),
    Refusal.UNKNOWN: N_("This button is no longer valid."),
    Refusal.CANCELLED: N_("This event has been cancelled."),
    Refusal.WRONG_KIND: N_("This button does not fit this event."),
    Refusal.NOT_AUDIENCE: N_("This event is not one of yours, so nothing was recorded."),
    Refusal.STARTED: N_("The event has already started: answers are closed."),
    Refusal.ALREADY: N_("Already recorded."),
    Refusal.LEAVE_PENDING: N_("You have already asked for leave from this event."),
    Refusal.NOT_ALLOWED: N_("Sorry, this is not available to your role."),
    Refusal.OWN_REQUEST: N_("You cannot decide your own leave request."),
    Refusal.DECIDED: N_("This request has already been decided."),
    Refusal.BAD_INPUT: N_("That is not a valid answer."),
    Refusal.NO_AMOUNT: N_(
        "Your approved monthly dues amount has not been set yet. Please ask the secretary."
    ),
    Refusal.NOT_A_LEADER: N_("Only party group leaders hand in talk records."),
    Refusal.FUTURE: N_("That period has not begun yet."),
}


def toast(text: str) -> str:
    """Cut a toast to Telegram's 200 characters (it is never the only copy of anything)."""
    return text if len(text) <= MAX_TOAST else text[: MAX_TOAST - 1] + "…"


def refusal_text(refusal: Refusal, tr: Translator) -> str:
    """Why a tap wrote nothing."""
    return tr.gettext(REFUSALS.get(refusal, REFUSALS[Refusal.UNKNOWN]))
