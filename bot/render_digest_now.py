"""/digest: the engine's weekly digest text, with the quorum warnings appended."""

from __future__ import annotations

from bot import render_digest
from bot.i18n import Translator
from bot.render_attendance import quorum_lines
from bot.render_development import development_lines
from bot.services.digest_now import DigestNow


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


def digest_text(view: DigestNow, tr: Translator) -> str:
    """The weekly digest for the reader, then the quorum warnings."""
    return "\n".join([render_digest.digest_text(view.digest, tr), *quorum_warning_lines(view, tr),
                      *development_lines(view.development, tr)])  # fmt: skip
