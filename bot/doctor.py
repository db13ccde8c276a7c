"""`branchbot doctor`: check a deployment before starting it, one line per finding.

Each finding is `ok`, `warn` (works, but worth fixing) or `FAIL` (the bot would not start or
not work). The exit code is 1 when anything FAILs. `--offline` skips the checks that ask
Telegram (the token with getMe, the webhook state with getWebhookInfo).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import col, select

from bot.i18n import catalog_problems
from bot.settings import Settings
from scheduler.recurrence import zone
from storage import repositories as repo
from storage.db import Database, DatabaseError, alembic_config
from storage.models import OrgLevel, OrgPerson, OrgUnit

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Finding:
    """One line of the report."""

    level: str
    area: str
    text: str

    def line(self) -> str:
        """The finding as printed: level, area, what was found."""
        return f"{self.level:<4}  {self.area}: {self.text}"


def diagnose(settings: Settings, *, offline: bool) -> Iterator[Finding]:
    """Every finding, in the order an operator fixes things."""
    yield from _config(settings)
    db = yield from _database(settings)
    yield from _catalogs()
    yield from _time_zones(settings, db)
    if db is not None:
        yield from _organisation(db)
    yield from _font()
    if offline:
        yield Finding(OK, "telegram", "not asked (--offline)")
    elif settings.bot_token is not None:
        yield from _telegram(settings)
    if db is not None:
        db.dispose()


def _config(settings: Settings) -> Iterator[Finding]:
    if settings.bot_token is None:
        yield Finding(FAIL, "config", "BOT_TOKEN is not set (get one from @BotFather)")
    else:
        yield Finding(OK, "config", "settings valid, BOT_TOKEN set")
    if settings.webhook_url:
        if settings.webhook_secret is None:
            yield Finding(FAIL, "config", "WEBHOOK_URL is set but WEBHOOK_SECRET is not")
        else:
            yield Finding(OK, "config", f"webhook mode: {settings.webhook_url}")
    else:
        yield Finding(OK, "config", "long-polling mode (WEBHOOK_URL not set)")
    if settings.health_port:
        where = f"{settings.health_listen}:{settings.health_port}"
        yield Finding(OK, "config", f"/healthz and /metrics on {where}")


def _database(settings: Settings) -> Generator[Finding, None, Database | None]:
    try:
        db = Database(settings.database_url)
        db.check()
    except DatabaseError as exc:
        yield Finding(FAIL, "database", str(exc))
        return None
    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        yield Finding(WARN, "database", f"{db.dialect} reachable but empty: run branchbot init")
    elif current == head:
        with db.read() as session:
            branches = repo.list_branches(session)
        names = ", ".join(b.name for b in branches) or "none yet"
        yield Finding(OK, "database", f"{db.dialect} at migration {head}; branches: {names}")
    elif _known(settings, current):
        yield Finding(
            WARN,
            "database",
            f"at migration {current}, this version needs {head}: "
            "branchbot init (or run) upgrades it",
        )
    else:
        yield Finding(
            FAIL,
            "database",
            f"at migration {current}, unknown to this version (head {head}): "
            "a newer branchbot wrote it",
        )
    return db


def _known(settings: Settings, revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config(settings.database_url))
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises its own errors for unknown revisions
        return False


def _catalogs() -> Iterator[Finding]:
    problems = catalog_problems()
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        yield Finding(FAIL, "catalogs", problems[0] + more)
    else:
        yield Finding(OK, "catalogs", "zh_CN and en complete")


def _time_zones(settings: Settings, db: Database | None) -> Iterator[Finding]:
    names = {settings.default_timezone}
    if db is not None:
        try:
            with db.read() as session:
                names |= {b.timezone for b in repo.list_branches(session)}
        except Exception:  # an empty database has no branch table yet
            pass
    bad = []
    for name in sorted(names):
        try:
            zone(name)
        except ValueError:
            bad.append(name)
    if bad:
        yield Finding(FAIL, "time zones", f"no tz data for {', '.join(bad)} (install tzdata)")
    else:
        yield Finding(OK, "time zones", f"tz data for {', '.join(sorted(names))}")


def _organisation(db: Database) -> Iterator[Finding]:
    """The units above branches: valid zones, general branches under a committee, and seats
    whose invite was never opened (a warning: nobody sees those branches yet)."""
    try:
        with db.read() as session:
            units = session.exec(select(OrgUnit)).all()
            seats = session.exec(select(OrgPerson).where(col(OrgPerson.active).is_(True))).all()
    except Exception:  # an empty or older database has no organisation tables yet
        return
    if not units:
        yield Finding(OK, "organisation", "no committee or general branch")
        return
    by_id = {u.id: u for u in units}
    failed = False
    for unit in sorted(units, key=lambda u: u.name):
        try:
            zone(unit.timezone)
        except ValueError:
            failed = True
            yield Finding(
                FAIL, "organisation", f"{unit.name}: unknown time zone {unit.timezone!r}"
            )
        parent = by_id.get(unit.parent_id)
        if unit.level == OrgLevel.GENERAL_BRANCH.value and (
            parent is None or parent.level != OrgLevel.COMMITTEE.value
        ):
            failed = True
            yield Finding(
                FAIL, "organisation", f"{unit.name}: a general branch not under a committee"
            )
        elif unit.level == OrgLevel.COMMITTEE.value and unit.parent_id is not None:
            failed = True
            yield Finding(FAIL, "organisation", f"{unit.name}: a committee under another unit")
    never = sorted(
        f"{by_id[p.unit_id].name}/{p.name}"
        for p in seats
        if p.linked_at is None and p.unit_id in by_id
    )
    if never:
        yield Finding(
            WARN,
            "organisation",
            f"seats whose invite link was never opened: {', '.join(never)} "
            "(branchbot org seat UNIT NAME --again makes a new one)",
        )
    if not failed:
        yield Finding(OK, "organisation", f"{len(units)} units, {len(seats)} seats")


def _font() -> Iterator[Finding]:
    from bot.services.charts import cjk_font

    font = cjk_font()
    if font is None:
        yield Finding(
            WARN,
            "charts",
            "no CJK font: charts get English titles and coded group names "
            "(apt-get install fonts-noto-cjk or fonts-wqy-zenhei)",
        )
    else:
        yield Finding(OK, "charts", f"CJK font {font.name} ({font.path})")


def _telegram(settings: Settings) -> Iterator[Finding]:
    from bot.telegram_probe import ProbeError, probe

    try:
        found = probe(settings)
    except ProbeError as exc:
        yield Finding(FAIL, "telegram", str(exc))
        return
    yield Finding(OK, "telegram", f"token valid: @{found.username}")
    if settings.webhook_url:
        if found.webhook_url != settings.webhook_url:
            now = found.webhook_url or "none"
            yield Finding(WARN, "webhook", f"Telegram has {now}; run sets {settings.webhook_url}")
        else:
            yield Finding(OK, "webhook", f"set to {found.webhook_url}")
        if found.last_webhook_error:
            yield Finding(WARN, "webhook", f"Telegram's last error: {found.last_webhook_error}")
    elif found.webhook_url:
        yield Finding(
            FAIL,
            "webhook",
            f"a webhook is set ({found.webhook_url}) but this deployment polls: another server "
            "may be receiving the updates; remove it or set WEBHOOK_URL",
        )
    else:
        pending = found.pending_updates
        yield Finding(OK, "webhook", f"none set, as polling needs ({pending} updates waiting)")
