"""Load and validate a branch's annual plan from TOML (format: docs/plan-format.md).

Every error is a `PlanError` naming the source file, the item and the field, so a branch
secretary can fix a hand-edited plan without reading code.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn, Protocol

import holidays

from scheduler.kinds import BY_KIND, ItemKind
from scheduler.kinds import ReminderRule as ReminderRule
from scheduler.problems import N_, Problem, problem

KINDS = tuple(kind.value for kind in ItemKind)
# leading_cadres resolves to the same roles as committee (committee members and the secretary).
AUDIENCES = ("all", "committee", "groups", "group_leaders", "leading_cadres")
LOCALES = ("zh_CN", "en")
EVERY = ("month", "quarter", "year", "once")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_PLAN_PATH = Path(__file__).with_name("default_plan.toml")

_ID = re.compile(r"[a-z0-9_-]{1,32}")
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_MONTH_NAMES = ("", "January", "February", "March", "April", "May", "June", "July",
                "August", "September", "October", "November", "December")  # fmt: skip
_RHYTHM_KEYS: Mapping[str, tuple[str, ...]] = {
    "month": ("every", "months", "day", "weekday", "nth"),
    "quarter": ("every", "month", "day", "weekday", "nth"),
    "year": ("every", "month", "day", "weekday", "nth"),
    "once": ("every", "date"),
}
_TOP_KEYS = ("version", "name", "country", "items")
_ITEM_KEYS = ("id", "kind", "audience", "title", "rhythm", "time", "duration_minutes",
              "reminders", "agenda", "agendas", "required", "recorded_by",
              "record_within_days")  # fmt: skip
# Who is asked to record that a meeting was held (docs/oversight.md).
RECORDERS = ("secretary", "committee", "group_leader")
RECORD_WITHIN_DAYS = 3  # a meeting's record is due this many days after it ends
_ITEM_REQUIRED = ("id", "kind", "audience", "title", "rhythm", "time")
_REMINDER_KEYS = ("days_before", "days_after", "at", "only_pending")


class PlanError(ValueError):
    """A plan file that cannot be used, with the file, item and field that are wrong."""

    def __init__(
        self,
        source: str,
        message: str | Problem,
        *,
        item: str | None = None,
        field: str | None = None,
    ) -> None:
        # `problem` says why for a translated answer; `message` is its English text.
        self.problem = message if isinstance(message, Problem) else Problem(message)
        message = self.problem.english()
        self.source, self.message, self.item, self.field = source, message, item, field
        parts = [f"item '{item}'"] if item is not None else []
        if field is not None:
            parts.append(f"field '{field}'")
        where = f"{source}: {', '.join(parts)}" if parts else source
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Localized:
    """A text in every supported locale."""

    zh_CN: str
    en: str

    def get(self, locale: str) -> str:
        """Return the text for `locale`; anything but "en" gets Chinese."""
        return self.en if locale == "en" else self.zh_CN


@dataclass(frozen=True)
class Rhythm:
    """Which days of a year an item falls on."""

    every: str
    months: tuple[int, ...] | None = None
    month: int | None = None
    day: int | None = None
    weekday: int | None = None
    nth: int | None = None
    date: dt.date | None = None

    def months_of_year(self) -> tuple[int, ...]:
        """Return the months (1..12) in which this rhythm has an occurrence."""
        if self.every == "month":
            return self.months or tuple(range(1, 13))
        if self.every == "quarter":
            return tuple(q * 3 + (self.month or 1) for q in range(4))
        if self.every == "year":
            return (self.month or 1,)
        return (self.date.month,) if self.date else ()


@dataclass(frozen=True)
class PlanItem:
    """One recurring duty of the branch: a meeting, dues day, talk round or paperwork."""

    id: str
    kind: ItemKind
    audience: str
    title: Localized
    rhythm: Rhythm
    time: dt.time
    duration_minutes: int = 0
    reminders: tuple[ReminderRule, ...] = ()
    agenda: Localized | None = None
    agendas: Mapping[str, Localized] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    # Meetings only: whether the committee above counts it (default: every meeting), who records
    # that it was held (default: the group leaders for party group meetings, else the
    # secretary), and within how many days of its end.
    required: bool | None = None
    recorded_by: str | None = None
    record_within_days: int = RECORD_WITHIN_DAYS

    @property
    def is_recorded(self) -> bool:
        """Whether each occurrence is recorded as held or not (every meeting-type item)."""
        return BY_KIND[self.kind].is_event

    @property
    def is_required(self) -> bool:
        """Whether cycle compliance counts this item (a meeting not marked `required = false`)."""
        return self.is_recorded and self.required is not False

    @property
    def per_group(self) -> bool:
        """Whether each party group holds (and records) its own meeting."""
        return self.is_recorded and self.audience == "groups"

    @property
    def recorder(self) -> str:
        """Who is asked to record it: one of RECORDERS."""
        if self.recorded_by is not None:
            return self.recorded_by
        return "group_leader" if self.per_group else "secretary"

    def agenda_for(self, day: dt.date) -> Localized | None:
        """Return the agenda for the occurrence on `day`: by month, then quarter, then default."""
        by_month = self.agendas.get(str(day.month))
        by_quarter = self.agendas.get(f"q{(day.month - 1) // 3 + 1}")
        return by_month or by_quarter or self.agenda


@dataclass(frozen=True)
class Plan:
    """A branch's annual plan."""

    name: Localized
    country: str | None
    items: tuple[PlanItem, ...]

    def item(self, item_id: str) -> PlanItem:
        """Return the item with `item_id`; KeyError if the plan has none."""
        for candidate in self.items:
            if candidate.id == item_id:
                return candidate
        raise KeyError(item_id)


DEFAULT_REMINDERS: Mapping[str, tuple[ReminderRule, ...]] = MappingProxyType(
    {kind.value: spec.default_reminders for kind, spec in BY_KIND.items()}
)


@dataclass(frozen=True)
class _Where:
    """Where in the plan we are reading, so every error names file and item."""

    source: str
    item: str | None = None

    def error(
        self, name: str | None, message: str, /, *, quoted: tuple[str, ...] = (), **fields: object
    ) -> PlanError:
        """Return the PlanError for field `name` here (`message` a msgid with `fields`)."""
        why = Problem(message, MappingProxyType(fields), quoted=frozenset(quoted))
        return PlanError(self.source, why, item=self.item, field=name)

    def fail(
        self, name: str | None, message: str, /, *, quoted: tuple[str, ...] = (), **fields: object
    ) -> NoReturn:
        """Raise the PlanError for field `name` here."""
        raise self.error(name, message, quoted=quoted, **fields)

    def table(
        self,
        raw: object,
        name: str | None,
        allowed: Sequence[str],
        required: Sequence[str],
        *,
        unknown: str = N_("unknown key (allowed: {allowed})"),
        context: Mapping[str, object] = MappingProxyType({}),
    ) -> Mapping[str, Any]:
        """Return `raw` as a table after rejecting unknown and missing keys.

        `unknown` is the msgid for a key not allowed, with the fields `{allowed}` and `context`.
        """
        if not isinstance(raw, dict):
            self.fail(name, N_("must be a table"))
        for key in raw:
            if key not in allowed:
                fields = {**context, "allowed": ", ".join(allowed)}
                why = Problem(unknown, MappingProxyType(fields))
                raise PlanError(self.source, why, item=self.item, field=_sub(name, key))
        for key in required:
            if key not in raw:
                self.fail(_sub(name, key), N_("is required"))
        return raw

    def integer(self, raw: object, name: str, low: int, high: int, *extra: int) -> int:
        """Return `raw` as an int in low..high (or one of `extra`)."""
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.fail(name, N_("must be a whole number, got {raw}"), quoted=("raw",), raw=raw)
        if not (low <= raw <= high or raw in extra):
            if not extra:
                self.fail(
                    name,
                    N_("must be between {low} and {high}, got {raw}"),
                    low=low,
                    high=high,
                    raw=raw,
                )
            self.fail(
                name,
                N_("must be between {low} and {high} or {extra}, got {raw}"),
                low=low,
                high=high,
                extra=" or ".join(map(str, extra)),
                raw=raw,
            )
        return raw

    def choice(self, raw: object, name: str, allowed: tuple[str, ...]) -> str:
        """Return `raw` if it is one of `allowed`."""
        if not isinstance(raw, str) or raw not in allowed:
            self.fail(
                name,
                N_("unknown value {raw} (allowed: {allowed})"),
                quoted=("raw",),
                raw=raw,
                allowed=", ".join(allowed),
            )
        return raw

    def text(self, raw: object, name: str) -> Localized:
        """Return a {zh_CN, en} table as a Localized."""
        table = self.table(raw, name, LOCALES, LOCALES)
        for locale in LOCALES:
            if not isinstance(table[locale], str) or not table[locale].strip():
                self.fail(f"{name}.{locale}", N_("must be a non-empty string"))
        return Localized(zh_CN=table["zh_CN"], en=table["en"])

    def clock_time(self, raw: object, name: str) -> dt.time:
        """Return "HH:MM" (or a TOML local time) as a time."""
        if isinstance(raw, dt.time):
            return raw
        match = _TIME.fullmatch(raw) if isinstance(raw, str) else None
        if match is None:
            self.fail(
                name,
                N_('must be a time "HH:MM" between 00:00 and 23:59, got {raw}'),
                quoted=("raw",),
                raw=raw,
            )
        return dt.time(int(match[1]), int(match[2]))


def _sub(parent: str | None, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def parse_plan(text: str, *, source: str = "<plan>") -> Plan:
    """Parse and validate a plan from TOML text; raise PlanError naming what is wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(source, problem(N_("TOML syntax error: {detail}"), detail=exc)) from exc
    where = _Where(source)
    top = where.table(raw, None, _TOP_KEYS, ("version", "name", "items"))
    version = top["version"]
    if isinstance(version, bool) or version != 1:
        where.fail(
            "version",
            N_("unsupported version {version}; this branchbot reads version 1"),
            quoted=("version",),
            version=version,
        )
    name = where.text(top["name"], "name")
    country = top.get("country")
    if country is not None and (
        not isinstance(country, str) or country not in holidays.list_supported_countries()
    ):
        where.fail(
            "country",
            N_("no public-holiday calendar for country {country}"),
            quoted=("country",),
            country=country,
        )
    raw_items = top["items"]
    if not isinstance(raw_items, list) or not raw_items:
        where.fail("items", N_("must be a non-empty array of [[items]] tables"))
    items: list[PlanItem] = []
    seen: dict[str, int] = {}
    for number, raw_item in enumerate(raw_items, start=1):
        item = _item(source, number, raw_item)
        if item.id in seen:
            _Where(source, item.id).fail(
                "id", N_("duplicate id (first used by item #{number})"), number=seen[item.id]
            )
        seen[item.id] = number
        items.append(item)
    return Plan(name=name, country=country, items=tuple(items))


def _item(source: str, number: int, raw: object) -> PlanItem:
    """Validate one [[items]] table."""
    label = raw.get("id") if isinstance(raw, dict) else None
    where = _Where(source, label if isinstance(label, str) else f"#{number}")
    table = where.table(raw, None, _ITEM_KEYS, _ITEM_REQUIRED)
    if not isinstance(table["id"], str) or not _ID.fullmatch(table["id"]):
        where.fail("id", N_("must be 1-32 characters from a-z, 0-9, '_' and '-'"))
    kind = ItemKind(where.choice(table["kind"], "kind", KINDS))
    duration = where.integer(table.get("duration_minutes", 0), "duration_minutes", 0, 24 * 60)
    if BY_KIND[kind].is_event and duration == 0:
        where.fail("duration_minutes", N_("a meeting needs a duration of at least 1 minute"))
    rhythm = _rhythm(where, table["rhythm"])
    reminders = DEFAULT_REMINDERS[kind]
    if "reminders" in table:
        reminders = _reminders(where, table["reminders"])
    for key in ("required", "recorded_by", "record_within_days"):
        if key in table and not BY_KIND[kind].is_event:
            where.fail(key, N_("only meetings are recorded as held"))
    required = table.get("required")
    if required is not None and not isinstance(required, bool):
        where.fail(
            "required", N_("must be true or false, got {raw}"), quoted=("raw",), raw=required
        )
    recorded_by = table.get("recorded_by")
    if recorded_by is not None:
        recorded_by = where.choice(recorded_by, "recorded_by", RECORDERS)
    within = where.integer(
        table.get("record_within_days", RECORD_WITHIN_DAYS), "record_within_days", 0, 60
    )
    return PlanItem(
        id=table["id"],
        kind=kind,
        audience=where.choice(table["audience"], "audience", AUDIENCES),
        title=where.text(table["title"], "title"),
        rhythm=rhythm,
        time=where.clock_time(table["time"], "time"),
        duration_minutes=duration,
        reminders=reminders,
        agenda=where.text(table["agenda"], "agenda") if "agenda" in table else None,
        agendas=_agendas(where, table.get("agendas", {}), rhythm),
        required=required,
        recorded_by=recorded_by,
        record_within_days=within,
    )


def _rhythm(where: _Where, raw: object) -> Rhythm:
    """Validate a rhythm table: `every` and exactly one day selector."""
    if not isinstance(raw, dict):
        where.fail("rhythm", N_("must be a table"))
    if "every" not in raw:
        where.fail("rhythm.every", N_("is required"))
    every = where.choice(raw["every"], "rhythm.every", EVERY)
    required = ("date",) if every == "once" else ("month",) if every != "month" else ()
    unknown = N_('unknown key for every = "{every}" (allowed: {allowed})')
    table = where.table(
        raw, "rhythm", _RHYTHM_KEYS[every], required, unknown=unknown, context={"every": every}
    )
    if every == "once":
        return Rhythm(every, date=_date(where, table["date"]))
    month = None
    if every != "month":
        month = where.integer(table["month"], "rhythm.month", 1, 3 if every == "quarter" else 12)
    months = _months(where, table["months"]) if "months" in table else None
    day, weekday, nth = _day_selector(where, table)
    if every == "year" and day is not None and month is not None:
        longest = calendar.monthrange(2000, month)[1]  # 2000 is a leap year: 29 February exists
        if day > longest:
            where.fail(
                "rhythm.day",
                N_("{day} {month} does not exist"),
                day=day,
                month=_MONTH_NAMES[month],
            )
    return Rhythm(every, months=months, month=month, day=day, weekday=weekday, nth=nth)


def _day_selector(
    where: _Where, table: Mapping[str, Any]
) -> tuple[int | None, int | None, int | None]:
    """Return (day, weekday, nth): either a day of the month or the n-th weekday."""
    if "day" in table:
        if "weekday" in table or "nth" in table:
            where.fail("rhythm.day", N_("use either day or weekday + nth, not both"))
        return where.integer(table["day"], "rhythm.day", 1, 31, -1), None, None
    if "weekday" not in table or "nth" not in table:
        missing = "rhythm.nth" if "weekday" in table else "rhythm.weekday"
        where.fail(missing, N_("a rhythm needs either day, or weekday and nth"))
    weekday = where.choice(table["weekday"], "rhythm.weekday", WEEKDAYS)
    nth = where.integer(table["nth"], "rhythm.nth", 1, 4, -1)
    return None, WEEKDAYS.index(weekday), nth


def _months(where: _Where, raw: object) -> tuple[int, ...]:
    """Validate a non-empty list of distinct months."""
    if not isinstance(raw, list) or not raw:
        where.fail("rhythm.months", N_("must be a non-empty list of months 1..12"))
    months = [where.integer(m, "rhythm.months", 1, 12) for m in raw]
    if len(set(months)) != len(months):
        where.fail("rhythm.months", N_("lists a month twice: {months}"), months=months)
    return tuple(sorted(months))


def _date(where: _Where, raw: object) -> dt.date:
    """Return a TOML date or a "YYYY-MM-DD" string as a date."""
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise where.error(
        "rhythm.date", N_("must be a date YYYY-MM-DD, got {raw}"), quoted=("raw",), raw=raw
    )


def _reminders(where: _Where, raw: object) -> tuple[ReminderRule, ...]:
    """Validate the reminders array."""
    if not isinstance(raw, list):
        where.fail("reminders", N_("must be an array of tables"))
    rules = []
    for number, entry in enumerate(raw, start=1):
        name = f"reminders[{number}]"
        table = where.table(entry, name, _REMINDER_KEYS, ("at",))
        if ("days_before" in table) == ("days_after" in table):
            where.fail(name, N_("needs exactly one of days_before or days_after"))
        before = "days_before" in table
        key = "days_before" if before else "days_after"
        days = where.integer(table[key], f"{name}.{key}", 0, 366)
        pending = table.get("only_pending", False)
        if not isinstance(pending, bool):
            where.fail(f"{name}.only_pending", N_("must be true or false"))
        at = where.clock_time(table["at"], f"{name}.at")
        rules.append(ReminderRule(-days if before else days, at, pending))
    return tuple(rules)


def _agendas(where: _Where, raw: object, rhythm: Rhythm) -> Mapping[str, Localized]:
    """Validate per-period agendas: keys must name a month or quarter the item occurs in."""
    months = rhythm.months_of_year()
    allowed = [str(m) for m in months] + sorted({f"q{(m - 1) // 3 + 1}" for m in months})
    unknown = N_("the item has no occurrence in that period (allowed: {allowed})")
    table = where.table(raw, "agendas", allowed, (), unknown=unknown)
    return MappingProxyType({key: where.text(v, f"agendas.{key}") for key, v in table.items()})


def load_plan(path: str | Path) -> Plan:
    """Read and validate the plan file at `path`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = problem(N_("cannot read the plan file: {detail}"), detail=exc)
        raise PlanError(str(path), why) from exc
    return parse_plan(text, source=str(path))


@functools.cache
def default_plan() -> Plan:
    """Return the shipped default plan (parsed once)."""
    return load_plan(DEFAULT_PLAN_PATH)


@functools.lru_cache(maxsize=64)
def _branch_plan(text: str, branch_name: str) -> Plan:
    return parse_plan(text, source=f"plan of branch {branch_name!r}")


def plan_from(plan_toml: str | None, branch_name: str) -> Plan:
    """A branch's plan from its stored text (parsed once per distinct text), or the default.

    The one plan cache: the reminder engine, the occurrence sync and every tap use it.
    """
    return _branch_plan(plan_toml, branch_name) if plan_toml else default_plan()


class _HasPlan(Protocol):
    @property
    def plan_toml(self) -> str | None: ...

    @property
    def name(self) -> str: ...


def branch_plan(branch: _HasPlan) -> Plan:
    """A branch's own plan (parsed once per distinct text), or the default plan."""
    return plan_from(branch.plan_toml, branch.name)
