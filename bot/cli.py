"""The `branchbot` command line: every error is one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot import __version__, cli_actions
from bot.logging_setup import configure_logging, redact
from bot.settings import SettingsError, load_settings
from scheduler.clock import clock_from_env

log = logging.getLogger("branchbot")


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-03-27") from None


def _chat_id(value: str) -> int:
    if not value.lstrip("-").isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a Telegram chat id")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree: run, the database, rosters, plans and backups."""
    parser = argparse.ArgumentParser(prog="branchbot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"branchbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init", help="create or upgrade the database; safe to repeat")

    imp = sub.add_parser(
        "import", help="import a roster, CSV or .xlsx (creates the branch if new)"
    )
    imp.add_argument("roster", type=Path, metavar="ROSTER.csv|ROSTER.xlsx")
    imp.add_argument("--branch", required=True, metavar="NAME")
    imp.add_argument("--timezone", metavar="TZ")
    imp.add_argument("--locale", choices=("zh_CN", "en"))
    imp.add_argument("--group-chat", type=_chat_id, metavar="ID")
    imp.add_argument(
        "--since",
        type=_date,
        metavar="DATE",
        help="the branch's first day (default: the day of its first import)",
    )
    imp.add_argument(
        "--delivery",
        choices=("direct", "group", "both"),
        help="reminders by private message, in the group chat, or both",
    )

    plan = sub.add_parser("plan", help="check, set, show or export an annual plan")
    plan_sub = plan.add_subparsers(dest="plan_command", required=True, metavar="ACTION")
    check = plan_sub.add_parser("check", help="validate a plan file")
    check.add_argument("file", type=Path, metavar="FILE.toml")
    check.add_argument("--year", type=int)
    set_ = plan_sub.add_parser("set", help="give a branch its own plan")
    set_.add_argument("file", type=Path, metavar="FILE.toml")
    set_.add_argument("--branch", required=True, metavar="NAME")
    for name, text in (("show", "every occurrence of the year"), ("ics", "the year as .ics")):
        p = plan_sub.add_parser(name, help=text)
        p.add_argument("--branch", metavar="NAME")
        p.add_argument("--year", type=int)

    preview = sub.add_parser("preview", help="every reminder and digest due in a window")
    preview.add_argument("--branch", required=True, metavar="NAME")
    preview.add_argument("--from", dest="first", type=_date, required=True, metavar="DATE")
    preview.add_argument("--to", dest="last", type=_date, required=True, metavar="DATE")

    run = sub.add_parser("run", help="run the bot (long polling unless --webhook)")
    run.add_argument("--webhook", metavar="URL")
    run.add_argument(
        "--health-port",
        type=int,
        metavar="PORT",
        help="serve /healthz and /metrics on this port (default: HEALTH_PORT, else none)",
    )

    export = sub.add_parser("export", help="the registers of a year as an XLSX workbook")
    whose = export.add_mutually_exclusive_group(required=True)
    whose.add_argument("--branch", metavar="NAME")
    whose.add_argument(
        "--committee",
        metavar="UNIT",
        help="a committee's or general branch's year: measures, verdicts, each branch's registers",
    )
    export.add_argument("--out", required=True, type=Path, metavar="FILE.xlsx")
    export.add_argument("--year", type=int)
    export.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    roster = sub.add_parser("export-roster", help="the current roster as CSV or .xlsx")
    roster.add_argument("--branch", required=True, metavar="NAME")
    roster.add_argument("--out", required=True, type=Path, metavar="FILE.csv|FILE.xlsx")
    roster.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    backup = sub.add_parser("backup", help="copy the live SQLite database to FILE (online)")
    backup.add_argument("file", type=Path, metavar="FILE")
    backup.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    doctor = sub.add_parser("doctor", help="check the deployment before starting the bot")
    doctor.add_argument("--offline", action="store_true", help="do not ask Telegram")

    _org_parser(sub)

    restore = sub.add_parser(
        "restore", help="put an SQLite backup in place of the database (bot stopped)"
    )
    restore.add_argument("file", type=Path, metavar="BACKUP.db")
    return parser


def _org_parser(sub: Any) -> None:
    """`branchbot org …`: committees (党委), general branches (党总支), their seats."""
    org = sub.add_parser(
        "org",
        help="the Party organisation above branches: units, seats and their invite links",
        description="Keep the Party committee and general branches above the branches, the "
        "branches attached to them, and their seats (secretary, organisation member). Texts "
        "are in DEFAULT_LOCALE, the same as the /org command in Telegram.",
    )
    org_sub = org.add_subparsers(dest="org_command", required=True, metavar="ACTION")
    org_sub.add_parser("show", help="the tree: committee → general branches → branches, seats")
    add = org_sub.add_parser("add", help="add a Party committee, or a general branch under one")
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "--general-branch",
        action="store_true",
        help="a general branch (党总支); needs --under COMMITTEE (default: a committee, 党委)",
    )
    add.add_argument("--under", metavar="COMMITTEE", help="the committee above a general branch")
    add.add_argument("--timezone", metavar="TZ", help="default: DEFAULT_TIMEZONE")
    add.add_argument("--language", choices=("zh_CN", "en"), help="default: DEFAULT_LOCALE")
    attach = org_sub.add_parser("attach", help="put a branch under a unit (it leaves any other)")
    attach.add_argument("branch", metavar="BRANCH")
    attach.add_argument("unit", metavar="UNIT")
    detach = org_sub.add_parser("detach", help="take a branch out from under its unit")
    detach.add_argument("branch", metavar="BRANCH")
    seat = org_sub.add_parser(
        "seat", help="give someone a seat at a unit and print their one-time invite link"
    )
    seat.add_argument("unit", metavar="UNIT")
    seat.add_argument("name", metavar="NAME")
    seat.add_argument(
        "--role",
        choices=("secretary", "organisation"),
        help="书记 or 组织委员 (required for a new seat)",
    )
    seat.add_argument(
        "--again",
        action="store_true",
        help="a new link for an existing seat; its earlier links stop working",
    )
    seat.add_argument(
        "--bot",
        metavar="USERNAME",
        help="the bot's username for the link (default: ask Telegram with BOT_TOKEN)",
    )
    unseat = org_sub.add_parser("unseat", help="end a seat: unlinked, its links void, at once")
    unseat.add_argument("unit", metavar="UNIT")
    unseat.add_argument("name", metavar="NAME")
    rename = org_sub.add_parser("rename", help="rename a committee or general branch")
    rename.add_argument("old", metavar="OLD")
    rename.add_argument("new", metavar="NEW")
    remove = org_sub.add_parser(
        "remove",
        help="remove a unit with its seats (refused while branches or units are under it)",
    )
    remove.add_argument("unit", metavar="UNIT")
    score = org_sub.add_parser(
        "score",
        help="a committee's score weights: show them, set them from a TOML file, or --reset",
        description="The weights of the branch scorecards (docs/oversight.md). Without FILE: "
        "print the weights in use (a general branch's are its committee's).",
    )
    score.add_argument("unit", metavar="UNIT")
    score.add_argument("file", metavar="FILE", nargs="?", help="score settings (TOML)")
    score.add_argument("--reset", action="store_true", help="back to the default weights")


def _handler(args: argparse.Namespace) -> Callable[[argparse.Namespace, cli_actions.Env], int]:
    if args.command == "plan":
        return cli_actions.PLAN[args.plan_command]
    if args.command == "org":
        return cli_actions.ORG[args.org_command]
    return cli_actions.TOP[args.command]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        # key=value lines; the token, webhook secret and database password redacted everywhere.
        secrets = settings.secret_values()
        configure_logging(settings.log_level, fmt=settings.log_format, secrets=secrets)
        env = cli_actions.Env(settings=settings, clock=clock_from_env())
        return _handler(args)(args, env)
    except cli_actions.USER_ERRORS as exc:
        print(f"branchbot: {redact(exc)}", file=sys.stderr)
        return 1
    except SettingsError as exc:
        if args.command == "doctor":  # a finding like the others
            print(f"FAIL  config: {redact(exc)}")
            return 1
        print(f"branchbot: configuration: {redact(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `branchbot plan show | head`: the reader left. Point stdout at /dev/null so the
        # interpreter's final flush does not raise again, as the Python docs advise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
