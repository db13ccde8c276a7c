"""Translation and locale-aware formatting, with an explicit translator per recipient.

Catalogs live under ``locales/<locale>/LC_MESSAGES/*.po`` (one file per feature, merged on load;
installed as ``bot/locales``).
They are compiled in memory when first used, so no binaries live in git; ``scripts/i18n.py``
extracts, stubs, checks and compiles them.
Reminders go to many people in their own languages from a job with no "current user", so
renderers take a `Translator` argument instead of reading ambient state.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytz
from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import Translations

from scheduler.recurrence import to_local


def _locales_dir() -> Path:
    """Where the .po files are: inside the installed package, else the checkout's `locales/`.

    A wheel installs the repository's top-level `locales/` as `bot/locales` (see setup.py); a
    checkout or an editable install has it next to `bot/`.
    """
    packaged = Path(__file__).resolve().parent / "locales"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[1] / "locales"


LOCALES_DIR = _locales_dir()
SUPPORTED = ("zh_CN", "en")
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a constant for extraction; it is translated when rendered."""
    return message


class MissingCatalogError(RuntimeError):
    """A supported locale has no catalog: refuse to run half-translated."""


@functools.cache
def catalog(locale: str) -> Translations:
    """The catalog of `locale`, merged from its .po files and compiled in memory once."""
    parts = sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po"))
    if not parts:
        raise MissingCatalogError(f"no translation catalog for {locale} under {LOCALES_DIR}")
    merged = Catalog(locale=locale, domain=DOMAIN)
    for po in parts:
        with po.open("rb") as f:
            for message in read_po(f, locale=locale):
                if message.id:
                    merged[message.id] = message
    buffer = io.BytesIO()
    write_mo(buffer, merged, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def catalog_problems() -> list[str]:
    """What keeps the installed catalogs from being complete (for `branchbot doctor`).

    Every supported locale needs .po files, every message translated (not fuzzy), and the same
    messages in every locale.
    """
    problems: list[str] = []
    ids: dict[str, set[object]] = {}
    for locale in SUPPORTED:
        parts = sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po"))
        if not parts:
            problems.append(f"{locale}: no catalog under {LOCALES_DIR}")
            continue
        ids[locale] = set()
        for po in parts:
            with po.open("rb") as f:
                for message in read_po(f, locale=locale):
                    if not message.id:
                        continue
                    ids[locale].add(message.id)
                    strings = (
                        message.string if isinstance(message.string, tuple) else (message.string,)
                    )
                    if message.fuzzy or not all(strings):
                        problems.append(f"{locale}: untranslated {message.id!r} in {po.name}")
    if len(ids) == len(SUPPORTED):
        everything = set().union(*ids.values())
        for locale, found in ids.items():
            problems += [f"{locale}: missing {m!r}" for m in sorted(everything - found, key=str)]
    return problems


@functools.cache
def _babel_locale(name: str) -> Locale:
    """Parse a locale once; renderers ask for it thousands of times per long answer."""
    return Locale.parse(name)


def normalize_locale(value: str | None, default: str = "zh_CN") -> str:
    """Map a Telegram language code or a setting to one of the supported locales."""
    if not value:
        return default
    value = value.replace("-", "_")
    if value in SUPPORTED:
        return value
    if value.lower().startswith("zh"):
        return "zh_CN"
    if value.lower().startswith("en"):
        return "en"
    return default


@dataclass(frozen=True)
class Translator:
    """Everything needed to speak to one person: language, zone, formats."""

    locale_name: str
    tz: pytz.BaseTzInfo

    @property
    def locale(self) -> Locale:
        """The Babel locale."""
        return _babel_locale(self.locale_name)

    def gettext(self, message: str) -> str:
        """Translate one message."""
        return catalog(self.locale_name).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Translate a message whose form depends on `n`."""
        return catalog(self.locale_name).ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        """Translate a message in a context (for ambiguous short words)."""
        return str(catalog(self.locale_name).pgettext(context, message))

    def local(self, instant: dt.datetime) -> dt.datetime:
        """The instant in this person's zone (zoneinfo rules: pytz stops DST after 2037)."""
        return to_local(instant, self.tz)

    def when(self, instant: dt.datetime) -> str:
        """Date, weekday and time, e.g. '2020年3月27日 星期五 15:00'."""
        local = self.local(instant)
        return f"{self.day(local.date())} {self.clock(instant)}"

    def day(self, day: dt.date) -> str:
        """A date with its weekday, e.g. '2020年3月27日 星期五' / 'Fri, Mar 27, 2020'."""
        if self.locale_name == "zh_CN":
            return format_date(day, "yyyy年M月d日 EEEE", locale=self.locale)
        return format_date(day, "EEE, MMM d, yyyy", locale=self.locale)

    def short_day(self, day: dt.date) -> str:
        """A short date without the year, e.g. '3月27日 周五' / 'Fri, Mar 27'."""
        if self.locale_name == "zh_CN":
            return format_date(day, "M月d日 EEE", locale=self.locale)
        return format_date(day, "EEE, MMM d", locale=self.locale)

    def clock(self, instant: dt.datetime) -> str:
        """The local wall time, e.g. '15:00'."""
        return format_time(self.local(instant), "HH:mm", locale=self.locale)

    def stamp(self, instant: dt.datetime) -> str:
        """A compact local date and time for logs and registers, e.g. '2020-03-27 15:00'."""
        return format_datetime(self.local(instant), "yyyy-MM-dd HH:mm", locale=self.locale)

    def month_name(self, year: int, month: int) -> str:
        """A month heading, e.g. '2020年3月' / 'March 2020'."""
        first = dt.date(year, month, 1)
        pattern = "yyyy年M月" if self.locale_name == "zh_CN" else "MMMM yyyy"
        return format_date(first, pattern, locale=self.locale)

    def money(self, amount: Decimal) -> str:
        """Yuan, e.g. '¥12.50'."""
        return format_currency(amount, "CNY", locale=self.locale)


def translator(locale: str | None, tz_name: str, *, default_locale: str = "zh_CN") -> Translator:
    """A translator for a locale name (or Telegram language code) and a zone name."""
    return Translator(normalize_locale(locale, default_locale), pytz.timezone(tz_name))
