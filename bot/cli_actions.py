"""What each `branchbot` command does; `bot.cli` parses, these act."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bot.i18n import MissingCatalogError, Translator, translator
from bot.render import org as text
from bot.render.plan_year import holiday_warnings, plan_year_text
from bot.services.org_admin import (
    ADMIN,
    OrgRefused,
    add_unit,
    attach_branch,
    detach_branch,
    org_tree,
    remove_unit,
    rename_unit,
    score_settings,
    seat_person,
    set_score,
    unseat_person,
)
from bot.services.roster import RosterError, export_roster, import_roster, read_roster
from bot.services.uploads import set_plan
from bot.settings import Settings
from scheduler.clock import Clock
from scheduler.holidays import flag_holidays
from scheduler.ics import plan_to_ics
from scheduler.occurrences import changed_occurrences
from scheduler.plan import Plan, PlanError, branch_plan, default_plan, load_plan, parse_plan
from scheduler.records import branch_start
from scheduler.recurrence import occurrences, to_local, zone
from storage import repositories as repo
from storage.backup import BackupError, backup_sqlite, restore_sqlite, run_lock
from storage.db import Database, DatabaseError
from storage.models import Branch

log = logging.getLogger("branchbot")


class CommandError(RuntimeError):
    """A command cannot do what was asked; the message is one line for the user."""


USER_ERRORS: tuple[type[Exception], ...] = (
    CommandError,
    DatabaseError,
    PlanError,
    RosterError,
    MissingCatalogError,
    BackupError,
)


@dataclass
class Env:
    """What every command receives: the settings and the clock."""

    settings: Settings
    clock: Clock

    def database(self) -> Database:
        """The configured database, checked reachable."""
        db = Database(self.settings.database_url)
        db.check()
        return db

    def year(self, given: int | None) -> int:
        """The year asked for, or the current one in the default zone."""
        if given is not None:
            if not 1970 <= given <= 2200:
                raise CommandError(f"--year {given} is out of range (1970-2200)")
            return given
        return self.clock.now().astimezone(zone(self.settings.default_timezone)).year


Command = Callable[[argparse.Namespace, Env], int]


def init_command(args: argparse.Namespace, env: Env) -> int:
    """Create or upgrade the database schema."""
    db = env.database()
    db.upgrade()
    print(f"database ready ({db.dialect})")
    return 0


def import_command(args: argparse.Namespace, env: Env) -> int:
    """Import a roster (CSV or .xlsx) into a branch, all or nothing."""
    path: Path = args.roster
    rows = read_roster(_read(path), str(path))
    if args.timezone:
        zone(args.timezone)
    db = env.database()
    db.upgrade()
    result = import_roster(
        db,
        rows,
        branch_name=args.branch,
        now=env.clock.now(),
        timezone=args.timezone
        or (None if _exists(db, args.branch) else env.settings.default_timezone),
        locale=args.locale or (None if _exists(db, args.branch) else env.settings.default_locale),
        group_chat_id=args.group_chat,
        source=str(path),
        since=args.since,
        delivery=args.delivery,
    )
    verb = "created" if result.branch_created else "updated"
    print(
        f"branch {args.branch!r} {verb}: {len(result.created)} members added, "
        f"{len(result.updated)} updated, {len(result.unchanged)} unchanged"
    )
    return 0


def plan_check_command(args: argparse.Namespace, env: Env) -> int:
    """Validate a plan file and list its holiday clashes for the year."""
    plan = load_plan(args.file)
    year = env.year(args.year)
    tr = translator(env.settings.default_locale, env.settings.default_timezone)
    occs = occurrences(plan, year, tr.tz)
    print(f"{args.file}: OK — {len(plan.items)} items, {len(occs)} occurrences in {year}")
    for warning in holiday_warnings(
        occs, tr, holidays=flag_holidays(occs, plan.country, tr.locale_name)
    ):
        print(warning)
    return 0


def plan_set_command(args: argparse.Namespace, env: Env) -> int:
    """Give a branch its own plan; the stored plan changes only if the file is valid."""
    try:
        text = _read(args.file).decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{args.file}: not UTF-8 text") from None
    plan = parse_plan(text, source=str(args.file))
    db = env.database()
    db.upgrade()
    with db.transaction() as session:  # the same use case as a plan file sent in the chat
        set_plan(session, _branch(session, args.branch), text, str(args.file), now=env.clock.now())
    print(f"branch {args.branch!r} now follows {args.file} ({len(plan.items)} items)")
    return 0


def plan_show_command(args: argparse.Namespace, env: Env) -> int:
    """Print every occurrence of the year in the branch's zone and language."""
    plan, tr, _name = _plan_context(args, env)
    year = env.year(args.year)
    occs = occurrences(plan, year, tr.tz)
    flags = flag_holidays(occs, plan.country, tr.locale_name)
    print(plan_year_text(plan, occs, tr, year=year, holidays=flags))
    return 0


def plan_ics_command(args: argparse.Namespace, env: Env) -> int:
    """Write the year's plan as an iCalendar file on stdout."""
    plan, tr, name = _plan_context(args, env)
    year = env.year(args.year)
    changes, since = {}, None
    if args.branch:  # the branch's moves and cancellations, from its start
        db = env.database()
        with db.read() as session:
            branch = _branch(session, args.branch)
            assert branch.id is not None
            changes = changed_occurrences(session, branch_id=branch.id, year=year)
            since = branch_start(branch)
    data = plan_to_ics(
        plan,
        year=year,
        tz_name=str(tr.tz.zone),
        locale=tr.locale_name,
        branch_name=name,
        changes=changes,
        since=since,
    )
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return 0


def _plan_context(args: argparse.Namespace, env: Env) -> tuple[Plan, Translator, str]:
    if not args.branch:
        tr = translator(env.settings.default_locale, env.settings.default_timezone)
        return default_plan(), tr, "branchbot"
    db = env.database()
    with db.read() as session:
        branch = _branch(session, args.branch)
        return branch_plan(branch), translator(branch.locale, branch.timezone), branch.name


def _branch(session: Session, name: str) -> Branch:
    branch = repo.branch_by_name(session, name=name)
    if branch is None:
        raise CommandError(
            f"no branch named {name!r} "
            f"(create it with: branchbot import ROSTER.csv --branch {name!r})"
        )
    return branch


def _exists(db: Database, name: str) -> bool:
    with db.read() as session:
        return repo.branch_by_name(session, name=name) is not None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None


def run_command(args: argparse.Namespace, env: Env) -> int:
    """Run the bot until SIGINT/SIGTERM: long polling, or a webhook server with --webhook."""
    # Held from before the first use of the database until exit, so that `branchbot restore`
    # refuses to swap the file under a running bot, and a bot never starts mid-restore.
    with run_lock(env.settings.database_url):
        return _run(args, env)


def _run(args: argparse.Namespace, env: Env) -> int:
    from telegram.error import TelegramError

    from bot import __version__
    from bot.app import build_application  # telegram is imported only for this command
    from bot.context import Services
    from bot.health import Health, serve_health
    from bot.logging_setup import REDACTOR, log_event

    token = env.settings.token()
    db = env.database()
    db.upgrade()
    webhook = args.webhook or env.settings.webhook_url
    health = Health(
        env.clock,
        mode="webhook" if webhook else "polling",
        db=db,
        dispatch_interval_s=env.settings.dispatch_interval_s,
    )
    request = None
    if not webhook:
        # Ask getMe first: a rejected token or an unreachable Bot API is one line, not PTB's
        # start-up traceback. Webhook mode reports the same through setWebhook below.
        me = _probe(env)
        log_event(log, "bot.start", mode="polling", version=__version__, bot=me)
        request = health.get_updates_request()
    services = Services(settings=env.settings, db=db, clock=env.clock, health=health)
    app = build_application(services, get_updates_request=request)
    port = args.health_port if args.health_port is not None else env.settings.health_port
    server = None
    if port:
        try:
            server = serve_health(health, env.settings.health_listen, port)
        except OSError as exc:
            listen = env.settings.health_listen
            raise CommandError(
                f"cannot listen on {listen}:{port}: {exc.strerror or exc}"
            ) from None
    try:
        if webhook:
            _run_webhook(app, webhook, token=token, env=env, db=db, health=health)
        else:
            app.run_polling(drop_pending_updates=False)
    except TelegramError as exc:  # e.g. InvalidToken, setWebhook refused: one line, no token
        reason = REDACTOR.redact(str(exc))
        raise CommandError(f"Telegram refused to start the bot: {reason}") from None
    finally:
        if server is not None:
            server.close()
    return 0


def _probe(env: Env) -> str:
    from bot.telegram_probe import ProbeError, probe

    try:
        return "@" + probe(env.settings).username
    except ProbeError as exc:
        raise CommandError(f"Telegram refused to start the bot: {exc}") from None


def _run_webhook(
    app: Any, url: str, *, token: str, env: Env, db: Database, health: Any = None
) -> None:
    """Serve `app` behind our webhook server (bot/webhook.py) until SIGTERM/SIGINT."""
    from bot.webhook import WebhookError, run_webhook, webhook_target

    secret = env.settings.webhook_secret
    if secret is None:
        raise CommandError("webhook mode needs WEBHOOK_SECRET (1-256 chars of A-Z a-z 0-9 _ -)")
    try:
        run_webhook(
            app,
            target=webhook_target(url, token=token),
            secret=secret.get_secret_value(),
            listen=env.settings.webhook_listen,
            port=env.settings.webhook_port,
            db=db,
            health=health,
        )
    except WebhookError as exc:
        raise CommandError(str(exc)) from None


def backup_command(args: argparse.Namespace, env: Env) -> int:
    """Copy the live SQLite database to a file (SQLite's online backup)."""
    result = backup_sqlite(env.settings.database_url, args.file, force=args.force)
    rows = ", ".join(f"{table} {count}" for table, count in result.rows.items())
    print(f"backup written to {result.path} ({result.size} bytes)")
    print(f"rows: {rows}")
    return 0


def restore_command(args: argparse.Namespace, env: Env) -> int:
    """Put an SQLite backup in place of the database (refused while a bot runs on it)."""
    stamp = env.clock.now().strftime("%Y%m%dT%H%M%SZ")
    result = restore_sqlite(env.settings.database_url, args.file, stamp=stamp)
    print(
        f"restored {result.database} from {result.source} "
        f"({result.size} bytes, schema revision {result.revision})"
    )
    for path in result.kept_aside:
        print(f"kept the previous file as {path}")
    for path in result.removed:
        print(f"removed stale {path}")
    rows = ", ".join(f"{table} {count}" for table, count in result.rows.items())
    print(f"rows: {rows}")
    print("the next `branchbot init` or `branchbot run` brings it to the current schema")
    return 0


def export_command(args: argparse.Namespace, env: Env) -> int:
    """Write a branch's registers of the year (dues, attendance, talks, plan) as XLSX."""
    from bot.services.export import export_branch

    out: Path = args.out
    if out.suffix.lower() != ".xlsx":
        raise CommandError(f"--out {out}: the file name must end in .xlsx")
    if out.exists() and not args.force:
        raise CommandError(f"{out} exists; add --force to overwrite it")
    if args.committee is not None:
        return _export_committee(args, env, out)
    year = env.year(args.year) if args.year is not None else None
    db = env.database()
    with db.read() as session:
        branch_id = _branch(session, args.branch).id
    assert branch_id is not None
    export = export_branch(db, branch_id=branch_id, now=env.clock.now(), year=year)
    partial = out.with_name(f".{out.name}.partial")
    try:  # write beside the target, then rename: never a half-written workbook
        partial.write_bytes(export.xlsx)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"{out}: registers of {args.branch!r} ({len(export.xlsx)} bytes)")
    return 0


def _export_committee(args: argparse.Namespace, env: Env, out: Path) -> int:
    """The committee's workbook (the same as a seat holder's /export) for UNIT's branches."""
    from bot.services.committee_export import export_committee, unit_scope

    db = env.database()
    found = unit_scope(db, args.committee)
    if found is None:
        raise CommandError(f"no committee or general branch named {args.committee!r}")
    scope, unit = found
    if not scope.branch_ids:
        raise CommandError(f"no branch is attached to {args.committee!r} or below it")
    now = env.clock.now()
    year = to_local(now, zone(unit.timezone)).year if args.year is None else env.year(args.year)
    export = export_committee(
        db,
        scope.branch_ids,
        unit_name=unit.name,
        year=year,
        now=now,
        locale=unit.locale,
        tz_name=unit.timezone,
    )
    _write_atomically(out, export.xlsx)
    count = len(scope.branch_ids)
    print(f"{out}: the year {year} of {args.committee!r}, {count} "
          f"{'branch' if count == 1 else 'branches'} ({len(export.xlsx)} bytes)")  # fmt: skip
    return 0


def export_roster_command(args: argparse.Namespace, env: Env) -> int:
    """Write a branch's current roster as CSV or .xlsx, ready to edit and import again."""
    out: Path = args.out
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise CommandError(f"--out {out}: the file name must end in .csv or .xlsx")
    if out.exists() and not args.force:
        raise CommandError(f"{out} exists; add --force to overwrite it")
    db = env.database()
    with db.read() as session:
        branch = _branch(session, args.branch)
    assert branch.id is not None
    data = export_roster(
        db, branch_id=branch.id, filename=out.name, chinese=branch.locale == "zh_CN"
    )
    _write_atomically(out, data)
    print(f"{out}: roster of {args.branch!r} ({len(data)} bytes)")
    return 0


def _write_atomically(out: Path, data: bytes) -> None:
    partial = out.with_name(f".{out.name}.partial")
    try:  # write beside the target, then rename: never a half-written file
        partial.write_bytes(data)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None


def doctor_command(args: argparse.Namespace, env: Env) -> int:
    """Check the deployment: one line per finding, exit 1 if anything would stop the bot."""
    from bot.doctor import FAIL, diagnose

    failed = 0
    for finding in diagnose(env.settings, offline=args.offline):
        print(finding.line(), flush=True)
        failed += finding.level == FAIL
    print(f"{failed} problem(s) that would stop the bot" if failed else "ready to run")
    return 1 if failed else 0


def preview_command(args: argparse.Namespace, env: Env) -> int:
    """Print every reminder and digest the window would bring; send and store nothing."""
    from bot.preview import PreviewError, preview_report

    try:
        text = preview_report(
            env.database(),
            branch_name=args.branch,
            first=args.first,
            last=args.last,
            now=env.clock.now(),
        )
    except PreviewError as exc:
        raise CommandError(str(exc)) from None
    print(text)
    return 0


TOP: dict[str, Command] = {
    "init": init_command,
    "preview": preview_command,
    "run": run_command,
    "import": import_command,
    "backup": backup_command,
    "restore": restore_command,
    "doctor": doctor_command,
    "export": export_command,
    "export-roster": export_roster_command,
}

PLAN: dict[str, Command] = {
    "check": plan_check_command,
    "set": plan_set_command,
    "show": plan_show_command,
    "ics": plan_ics_command,
}


# -- `branchbot org …`: the organisation above branches ----------------------------------------


def _org_text(env: Env) -> Translator:
    """The language of `org` answers: the deployment's default, as /org speaks to admins."""
    return translator(env.settings.default_locale, env.settings.default_timezone)


def _org_run(env: Env, act: Callable[[Database, Translator], str]) -> int:

    tr = _org_text(env)
    db = env.database()
    db.upgrade()
    try:
        print(act(db, tr))
    except OrgRefused as error:
        raise CommandError(text.refused(error, tr).replace("\n", " ")) from None
    return 0


def org_show_command(args: argparse.Namespace, env: Env) -> int:
    """Print the tree: committees, their general branches, branches and seats."""
    return _org_run(env, lambda db, tr: text.tree_text(org_tree(db, actor=ADMIN), tr))


def org_add_command(args: argparse.Namespace, env: Env) -> int:
    """Add a committee, or a general branch under a committee."""

    def act(db: Database, tr: Translator) -> str:
        added = add_unit(
            db,
            args.name,
            general_branch=args.general_branch,
            under=args.under,
            timezone=args.timezone,
            language=args.language,
            default_timezone=env.settings.default_timezone,
            default_locale=env.settings.default_locale,
            now=env.clock.now(),
        )
        return text.unit_added(added, tr)

    return _org_run(env, act)


def org_attach_command(args: argparse.Namespace, env: Env) -> int:
    """Put a branch under a unit."""
    return _org_run(
        env,
        lambda db, tr: text.attached(
            args.branch, args.unit, attach_branch(db, args.branch, args.unit), tr
        ),
    )


def org_detach_command(args: argparse.Namespace, env: Env) -> int:
    """Take a branch out from under its unit."""
    return _org_run(
        env, lambda db, tr: text.detached(args.branch, detach_branch(db, args.branch), tr)
    )


def org_seat_command(args: argparse.Namespace, env: Env) -> int:
    """Add a seat (or, with --again, a new link for one) and print the one-time invite link."""
    username = _bot_username(args.bot, env)  # before anything is written

    def act(db: Database, tr: Translator) -> str:
        issued = seat_person(
            db,
            args.unit,
            args.name,
            role=args.role,
            again=args.again,
            actor=ADMIN,
            now=env.clock.now(),
            ttl_days=env.settings.invite_ttl_days,
        )
        return text.seat_issued(issued, f"https://t.me/{username}?start={issued.token}", tr)

    return _org_run(env, act)


def _bot_username(given: str | None, env: Env) -> str:
    """The bot's @username for deep links: --bot, else getMe with BOT_TOKEN."""
    if given:
        name = given.removeprefix("@")
        if not name.replace("_", "").isalnum():
            raise CommandError(f"--bot {given!r} is not a Telegram bot username")
        return name
    from bot.settings import SettingsError
    from bot.telegram_probe import ProbeError, probe

    try:
        return probe(env.settings).username
    except (ProbeError, SettingsError) as exc:
        raise CommandError(
            f"cannot make the invite link without the bot's username: {exc} "
            "(or name the bot with --bot USERNAME)"
        ) from None


def org_unseat_command(args: argparse.Namespace, env: Env) -> int:
    """End a seat: it is unlinked and its unused links stop working."""
    return _org_run(
        env, lambda db, tr: text.unseated(unseat_person(db, args.unit, args.name, actor=ADMIN), tr)
    )


def org_rename_command(args: argparse.Namespace, env: Env) -> int:
    """Rename a committee or general branch."""

    def act(db: Database, tr: Translator) -> str:
        rename_unit(db, args.old, args.new)
        return text.renamed(args.old, args.new, tr)

    return _org_run(env, act)


def org_remove_command(args: argparse.Namespace, env: Env) -> int:
    """Remove an empty unit and its seats."""

    def act(db: Database, tr: Translator) -> str:
        remove_unit(db, args.unit)
        return text.removed(args.unit, tr)

    return _org_run(env, act)


def org_score_command(args: argparse.Namespace, env: Env) -> int:
    """Show a committee's score weights, set them from a TOML file, or go back to the defaults."""
    if args.file is not None and args.reset:
        raise CommandError("give either FILE or --reset, not both")

    def act(db: Database, tr: Translator) -> str:
        if args.reset:
            return text.score_text(set_score(db, args.unit, None), tr)
        if args.file is not None:
            raw = _read(Path(args.file))
            try:
                toml_text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CommandError(f"{args.file}: not UTF-8 text") from None
            return text.score_text(set_score(db, args.unit, toml_text), tr)
        return text.score_text(score_settings(db, args.unit), tr)

    return _org_run(env, act)


ORG: dict[str, Command] = {
    "show": org_show_command,
    "add": org_add_command,
    "attach": org_attach_command,
    "detach": org_detach_command,
    "seat": org_seat_command,
    "unseat": org_unseat_command,
    "rename": org_rename_command,
    "remove": org_remove_command,
    "score": org_score_command,
}
