"""Inline keyboards built from the pure button specs of the renderers."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.render_reminder import ButtonSpec, reminder_buttons
from bot.render_util import label
from bot.services.reminders import ReminderView


def markup(rows: list[list[ButtonSpec]]) -> InlineKeyboardMarkup | None:
    """An inline keyboard, or None when there are no buttons."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label(b.label), callback_data=b.data) for b in row] for row in rows]
    )


def reminder_keyboard(view: ReminderView, tr: Translator) -> InlineKeyboardMarkup | None:
    """The buttons of a reminder: Attend / Request leave / Check in, I paid ¥X, Hand in."""
    return markup(reminder_buttons(view, tr))
