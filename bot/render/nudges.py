"""Messages the secretary's tools send to members: a nudge, and the quorum warning."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from bot.i18n import Translator
from bot.render.development import reminder_text as development_reminder_text


def nudge_text(payload: Mapping[str, Any], tr: Translator) -> str:
    """A nudge from the secretary, listing what the member is behind on."""
    _ = tr.gettext
    lines = [_("A reminder from your branch secretary:")]
    reasons = payload.get("reasons") or [payload.get("reason") or payload.get("text_kind")]
    for reason in reasons:
        if reason == "dues":
            months = [_month(m, tr) for m in payload.get("months", [])]
            lines.append(_("Dues still unpaid: {months}.").format(months=", ".join(months) or "-"))
        elif reason == "talks":
            quarters = ", ".join(f"Q{q}" for q in payload.get("quarters", []))
            lines.append(
                _("Your party group's talk records are missing: {quarters}.").format(
                    quarters=quarters or "-"
                )
            )
        elif reason == "quorum":
            return quorum_warning_text(payload, tr)
        elif reason == "development":
            return development_reminder_text(payload, tr)
        elif reason == "absence":
            n = int(payload.get("absences", 1))
            lines.append(
                tr.ngettext(
                    "You missed {n} meeting without leave.",
                    "You missed {n} meetings without leave.",
                    n,
                ).format(n=n)
            )
    lines.append(_("Send /me to see what is outstanding."))
    return "\n".join(lines)


def quorum_warning_text(payload: Mapping[str, Any], tr: Translator) -> str:
    """The secretary's warning that a general members' meeting may lack its quorum."""
    _ = tr.gettext
    title = payload.get("title_en") if tr.locale_name == "en" else payload.get("title_zh_CN")
    starts_at = dt.datetime.fromisoformat(str(payload["starts_at"]))
    if payload.get("impossible"):
        entitled, on_leave = int(payload.get("entitled", 0)), int(payload.get("on_leave", 0))
        return _(
            "Quorum impossible: {title} on {when}. {on_leave} of the {entitled} full members "
            "are on leave, so at most {possible} can come and {needed} are needed. "
            "Consider moving the meeting (/reschedule)."
        ).format(
            title=title,
            when=tr.when(starts_at),
            on_leave=on_leave,
            entitled=entitled,
            possible=entitled - on_leave,
            needed=payload.get("needed", 0),
        )
    return _(
        "Quorum at risk: {title} on {when}. So far {counted} of the {needed} full members "
        "needed have said they will attend ({entitled} full members may vote). "
        "Send /attendance to see who has not answered."
    ).format(
        title=title,
        when=tr.when(starts_at),
        counted=payload.get("counted", 0),
        needed=payload.get("needed", 0),
        entitled=payload.get("entitled", 0),
    )


def _month(raw: object, tr: Translator) -> str:
    try:
        year, month = (int(p) for p in str(raw).split("-"))
        return tr.month_name(year, month)
    except ValueError:
        return str(raw)
