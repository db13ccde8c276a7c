"""Flag plan occurrences that fall on public holidays (PyPI `holidays`), in the reader's locale.

China's Spring Festival Eve (除夕) matters to a branch even in years when it is a working day,
so for CN the day before the first Spring Festival day is always named, whatever the library
calls it (or does not).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import holidays

from scheduler.recurrence import Occurrence

_LANGUAGES = {"zh_CN": "zh_CN", "en": "en_US"}
_SPRING_FESTIVAL_ZH = "春节"  # the CN calendar's own (default-language) name for the festival
_EVE = {"zh_CN": "除夕", "en": "Spring Festival Eve"}
# Full-width brackets as in the library's own names ("春节\uff08补假\uff09"); escaped for ruff.
_EVE_OFF = {"zh_CN": "除夕\uff08休息日\uff09", "en": "Spring Festival Eve (day off)"}


@functools.cache
def _calendar(country: str, year: int, language: str) -> Mapping[dt.date, str]:
    """Return {date: name} of the country's public holidays in `year` (cached)."""
    try:
        table = holidays.country_holidays(country, years=year)
    except NotImplementedError:
        raise ValueError(f"no public-holiday calendar for country {country!r}") from None
    # Without an explicit language the library follows the process locale; never rely on it.
    chosen = language if language in table.supported_languages else table.default_language
    if chosen is not None:
        table = holidays.country_holidays(country, years=year, language=chosen)
    return MappingProxyType(dict(table.items()))


def _spring_festival_eve(year: int) -> dt.date | None:
    """Return the day before the first Spring Festival day of `year` in China."""
    festival = [
        day for day, name in _calendar("CN", year, "zh_CN").items() if name == _SPRING_FESTIVAL_ZH
    ]
    return min(festival) - dt.timedelta(days=1) if festival else None


def holiday_name(day: dt.date, country: str | None, locale: str) -> str | None:
    """Return the public holiday on `day` in `country`, named in `locale`, or None."""
    if country is None:
        return None
    language = _LANGUAGES.get(locale, "zh_CN")
    name = _calendar(country, day.year, language).get(day)
    if country == "CN" and day == _spring_festival_eve(day.year):
        return (_EVE_OFF if name else _EVE)["en" if locale == "en" else "zh_CN"]
    return name


def flag_holidays(
    occs: Iterable[Occurrence], country: str | None, locale: str
) -> dict[tuple[str, str], str]:
    """Return {(item_id, key): holiday name} for the occurrences that fall on a holiday."""
    flags = {}
    for occ in occs:
        name = holiday_name(occ.local_date, country, locale)
        if name is not None:
            flags[(occ.item_id, occ.key)] = name
    return flags
