"""Small pure helpers shared by renderers."""

from __future__ import annotations

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
