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
