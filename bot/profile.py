"""The bot's description and short description, per language, as a stranger first sees them.

Telegram shows the description in an empty chat before Start is pressed, and the short one on
the bot's profile and in shared links. They are set at start only where Telegram's text differs
(getMyDescription), so restarts cost two reads per language and no writes.
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.i18n import N_, SUPPORTED, translator

log = logging.getLogger(__name__)

DESCRIPTION = N_(
    "This bot helps a Party branch carry out its annual plan: reminders of branch meetings, "
    "Party lectures, theme days and dues days; attendance and leave; dues and talk records.\n\n"
    "Members join through the invite link their branch secretary sends them."
)
SHORT_DESCRIPTION = N_("Reminders, attendance and dues for your Party branch.")

# Telegram's language codes for our locales ("" is the default for every other language).
LANGUAGE_CODES = {"zh_CN": "zh", "en": "en"}


async def publish_descriptions(bot: Bot, *, default_locale: str) -> int:
    """Set what differs from Telegram's current texts; return how many texts were set."""
    changed = 0
    targets = [(code, locale) for locale, code in LANGUAGE_CODES.items() if locale in SUPPORTED]
    targets.append(("", default_locale))
    for code, locale in targets:
        tr = translator(locale, "UTC")
        try:
            current = await bot.get_my_description(language_code=code or None)
            wanted = tr.gettext(DESCRIPTION)
            if current.description != wanted:
                await bot.set_my_description(wanted, language_code=code or None)
                changed += 1
            current_short = await bot.get_my_short_description(language_code=code or None)
            wanted_short = tr.gettext(SHORT_DESCRIPTION)
            if current_short.short_description != wanted_short:
                await bot.set_my_short_description(wanted_short, language_code=code or None)
                changed += 1
        except TelegramError as exc:  # a description must never stop the bot from starting
            log.warning("could not set the bot's description (%s): %s", code or "default", exc)
    return changed
