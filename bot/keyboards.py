"""The one place renderer keyboards become Telegram inline keyboards."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.render.reminders import reminder_buttons
from bot.render.text import Keyboard, label
from bot.services.reminders import ReminderView


def markup(rows: Keyboard) -> InlineKeyboardMarkup | None:
    """The inline keyboard for rows of (label, callback data); None when there are none."""
    buttons = [
        [InlineKeyboardButton(label(text), callback_data=data) for text, data in row]
        for row in rows
    ]
    buttons = [row for row in buttons if row]
    return InlineKeyboardMarkup(buttons) if buttons else None


def reminder_keyboard(view: ReminderView, tr: Translator) -> InlineKeyboardMarkup | None:
    """The buttons of a reminder: Attend / Request leave / Check in, I paid ¥X, Hand in."""
    return markup(reminder_buttons(view, tr))
