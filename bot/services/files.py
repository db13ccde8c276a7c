"""Files members send (the photo or scan of a talk-records form): checked before they are kept.

Only the Telegram file id is stored, never the file: Telegram keeps it, and the bot can fetch
it again by id. A file is refused when it is bigger than a bot may download (Bot API getFile:
20 MB) or not an image or a PDF (the forms are photographed or scanned).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import PurePosixPath

MAX_FORM_BYTES = 20 * 1024 * 1024
FORM_TYPES = frozenset(
    {
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/heic",
        "image/heif",
        "image/tiff",
    }
)
FORM_EXTENSIONS = frozenset(
    {".pdf", ".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".tif", ".tiff"}
)


class FileProblem(enum.Enum):
    """Why a file is not kept."""

    TOO_BIG = "too_big"
    WRONG_TYPE = "wrong_type"


@dataclass(frozen=True)
class SentFile:
    """What Telegram tells us about a file: its id and basic metadata (all optional)."""

    file_id: str
    photo: bool
    mime_type: str | None = None
    size: int | None = None
    name: str | None = None


def check_form_file(sent: SentFile) -> FileProblem | None:
    """None if the file may be kept as a talk-records form, else why not."""
    if sent.size is not None and sent.size > MAX_FORM_BYTES:
        return FileProblem.TOO_BIG
    if sent.photo:
        return None  # Telegram re-encodes photos as JPEG
    if sent.mime_type:
        return None if sent.mime_type.lower() in FORM_TYPES else FileProblem.WRONG_TYPE
    suffix = PurePosixPath(sent.name or "").suffix.lower()
    return None if suffix in FORM_EXTENSIONS else FileProblem.WRONG_TYPE
