"""The dispatcher: plan -> ledger -> Notifier, exactly once per (reminder, recipient) in the DB.

One `run_once(now)` call is a *sweep* followed by a bounded *send slice*:

1. Sweep (a worker thread, short transactions, a constant number of queries): give back rows a
   dead process left `sending` (lease expired; on SQLite at start-up, every such row, since
   SQLite runs one process), make each branch's occurrence rows match its plan (cached per plan
   text, zone and year), apply the pure due rules (scheduler.due) and insert one ledger row per
   due (reminder, recipient): `pending`, or `skipped` when it expired while the bot was down.
   Inserts are `ON CONFLICT (key) DO NOTHING`, so replicas and restarts cannot double a row.
2. Send slice (at most `slice_seconds`; rows still queued then are handed back and the caller
   runs again at once, so a JobQueue run stays shorter than its interval): claim due pending
   rows in batches (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas never share a row),
   hand each to the Notifier with `concurrency` sends in flight (the Notifier's rate limiter
   paces them), and settle the outcomes in small batched transactions. No transaction is ever
   held across a Telegram call.

"Never twice": claim (pending -> sending, attempts+1, claimed_at) -> send -> settle (sent +
message id). The one window for a duplicate is a crash after Telegram accepted a message and
before its settle was committed: at most `concurrency` sends in flight plus the outcomes of the
last `flush_interval` seconds. Such rows are still `sending` after the crash, together with
the claimed rows it had not attempted yet (one cannot tell them apart); once their lease
(`lease`, renewed every lease/3 while this process holds them) expires, they are retried ONCE,
marked `error = "ambiguous: ..."`, and a row that becomes ambiguous a second time (a second
crash, or a `TimedOut` whose request may have arrived) goes to `unknown` and is never sent
again. Rows claimed but not yet attempted are handed back (`pending`, attempts-1) on a graceful
stop, so SIGTERM causes neither misses nor duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col, select

from scheduler import ledger
from scheduler.due import SUPERSEDED, PlannedReminder, local_day
from scheduler.kinds import ItemKind
from scheduler.ledger import AMBIGUOUS, MIGRATED, Claimed, NewRow, Settle
from scheduler.notify import Kind, Notifier, Outcome, Outgoing, Status
from scheduler.occurrences import sync_occurrences
from scheduler.plan import PlanError, branch_plan
from scheduler.sweep import due_now, load_facts, rule_span
from storage.db import Database
from storage.models import (
    Branch,
    DeliveryStatus,
    Member,
    Occurrence,
    OccurrenceStatus,
    OrgPerson,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
# Before the one retry of a send that may have arrived.
AMBIGUOUS_PAUSE = dt.timedelta(seconds=5)
# A fan-out's continuation runs skip the sweep unless something falls due or this much passed.
SWEEP_AT_LEAST_EVERY = dt.timedelta(seconds=60)


@dataclass
class Report:
    """What one `run_once` did (also what the fan-out log line says)."""

    planned: int = 0  # new pending rows
    late_skipped: int = 0  # new rows recorded as skipped: they expired while the bot was down
    recovered: int = 0  # rows a dead sender left behind, put back for one retry
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    unreachable: int = 0
    retried: int = 0
    ambiguous: int = 0
    unknown: int = 0
    released: int = 0
    migrated: int = 0
    more: bool = False  # stopped because the slice was over; call again at once
    busy: bool = False  # another run_once was still running; nothing done
    error: str | None = None
    by_branch: dict[int, Counter[str]] = field(default_factory=dict)

    def count(self, branch_id: int, what: str) -> None:
        """Add one to a counter, in total and for the branch."""
        setattr(self, what, getattr(self, what) + 1)
        self.by_branch.setdefault(branch_id, Counter())[what] += 1


class Dispatcher:
    """Turns the plan and the ledger into sends; safe to run from several processes."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        *,
        batch: int = 200,
        concurrency: int = 16,
        lease: dt.timedelta = dt.timedelta(seconds=30),
        skip_lookback: dt.timedelta = dt.timedelta(days=3),
        horizon: dt.timedelta = dt.timedelta(hours=6),
        slice_seconds: float = 20.0,
        flush_interval: float = 0.25,
        max_attempts: int = 6,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.batch = batch
        self.concurrency = concurrency
        self.lease = lease
        self.skip_lookback = skip_lookback
        self.horizon = horizon
        self.slice_seconds = slice_seconds
        self.flush_interval = flush_interval
        self.max_attempts = max_attempts
        self._db_lock = asyncio.Lock()
        self._running = False
        self._stopping = False
        self._first_sweep = True
        self._since: dt.datetime | None = None
        self._next_due: dt.datetime | None = None
        self._continuing = False  # the last run stopped because its slice was over
        self._synced: set[tuple[int, int, str, str]] = set()
        self._names: dict[int, str] = {}
        self._blocked_chats: set[int] = set()
        self._broken: set[int | None] = set()
        self._tally: dict[int, Counter[str]] = {}
        self._drained = asyncio.Event()

    # ------------------------------------------------------------------ public

    @property
    def stopping(self) -> bool:
        """Whether `request_stop` was called."""
        return self._stopping

    def request_stop(self) -> None:
        """Stop claiming; hand unsent rows back; let in-flight sends finish (SIGTERM)."""
        self._stopping = True
        self.notifier.abort()
        self._drained.set()

    def next_due(self, now: dt.datetime) -> dt.datetime | None:
        """When something next becomes due, as far as the last sweep saw (None: nothing near)."""
        if self._next_due is None or self._next_due <= now:
            return None
        return self._next_due

    async def run_once(self, now: dt.datetime) -> Report:
        """Sweep, then send what is due for up to `slice_seconds`; never overlaps itself."""
        report = Report()
        if self._running or self._stopping:
            report.busy = True
            return report
        self._running = True
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            if self._needs_sweep(now):
                await self._in_thread(self._sweep, now, report)
            if not self._stopping:
                await self._send(now, started, report)
            self._continuing = report.more
        except SQLAlchemyError as exc:
            log.exception("reminder dispatch failed; retrying at the next tick")
            report.error = str(exc).splitlines()[0][:200]
        finally:
            self._running = False
        self._log(report)
        return report

    # ------------------------------------------------------------------ sweep

    def _needs_sweep(self, now: dt.datetime) -> bool:
        """Sweep every run, except a fan-out's continuations while nothing new falls due."""
        if not self._continuing or self._since is None:
            return True
        recent = abs(now - self._since) < SWEEP_AT_LEAST_EVERY
        return not (recent and (self._next_due is None or now < self._next_due))

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking DB work off the event loop, one piece at a time."""
        async with self._db_lock:
            return await asyncio.to_thread(fn, *args)

    def _sweep(self, now: dt.datetime, report: Report) -> None:
        with self.db.transaction() as session:
            everything = self._first_sweep and self.db.dialect == "sqlite"
            retried, gone = ledger.recover_stale(
                session, older_than=None if everything else now - self.lease
            )
        self._first_sweep = False
        report.recovered, report.unknown = retried, report.unknown + gone
        if retried or gone:
            log.warning(
                "%d interrupted sends will be retried once; %d marked unknown", retried, gone
            )
        with self.db.read() as session:
            branches = list(session.exec(select(Branch).order_by(col(Branch.id))).all())
        self._names = {b.id: b.name for b in branches if b.id is not None}
        branches = [b for b in branches if self._plan_ok(b)]
        for branch in branches:
            self._sync(branch, now)
        since = self._since or now - self.skip_lookback
        with self.db.read() as session:
            facts = load_facts(session, branches, start=since, end=now + self.horizon)
            due = due_now(session, facts, now=now, since=since)
            pending_next = ledger.next_pending(session, after=now)
        rows = [_new_row(p, DeliveryStatus.PENDING.value) for p in due.send]
        rows += [_new_row(p, DeliveryStatus.SKIPPED.value) for p in due.skip]
        if rows:
            with self.db.transaction() as session:
                ledger.insert_rows(session, rows)
        report.planned, report.late_skipped = len(due.send), len(due.skip)
        self._since = now
        candidates = [t for t in (due.next_at, pending_next) if t is not None]
        self._next_due = min(candidates, default=None)

    def _plan_ok(self, branch: Branch) -> bool:
        """Whether the branch's stored plan parses; a broken one must not stop the others."""
        try:
            branch_plan(branch)
        except PlanError as exc:
            if branch.id not in self._broken:
                log.error("branch %r: its plan cannot be used, no reminders: %s", branch.name, exc)
                self._broken.add(branch.id)
            return False
        self._broken.discard(branch.id)
        return True

    def _sync(self, branch: Branch, now: dt.datetime) -> None:
        """Materialise the occurrence rows of the years around `now`, once per plan version."""
        assert branch.id is not None
        today = local_day(now, branch.timezone)
        before, after = rule_span(branch_plan(branch))
        years = {today.year}
        if (dt.date(today.year, 12, 31) - today).days < max(40, before + 2):
            years.add(today.year + 1)  # reminders in December for January's events
        if (today - dt.date(today.year, 1, 1)).days < after + self.skip_lookback.days + 2:
            years.add(today.year - 1)  # follow-ups of December's dues and records
        digest = hashlib.sha1((branch.plan_toml or "").encode(), usedforsecurity=False).hexdigest()
        for year in sorted(years):
            key = (branch.id, year, digest, branch.timezone)
            if key in self._synced:
                continue
            try:
                with self.db.transaction() as session:
                    row = session.get(Branch, branch.id)
                    if row is None:
                        return
                    sync_occurrences(session, row, year=year, now=now, plan=branch_plan(row))
            except IntegrityError:  # another replica materialised the same rows just now
                log.info("occurrences of %s %d were written by another process", branch.name, year)
                continue
            self._synced.add(key)

    # ------------------------------------------------------------------ send

    async def _send(self, now: dt.datetime, started: float, report: Report) -> None:
        loop = asyncio.get_running_loop()

        def clock() -> dt.datetime:
            return now + dt.timedelta(seconds=loop.time() - started)

        queue: asyncio.Queue[tuple[Claimed, Outgoing] | None] = asyncio.Queue()
        results: list[tuple[Claimed, Outcome, dt.datetime]] = []
        held: dict[int, Claimed] = {}
        low = max(1, self.batch // 2)
        deadline = started + self.slice_seconds

        def over() -> bool:  # stopping, or the slice is used up: hand queued rows back
            return self._stopping or loop.time() >= deadline

        workers = [
            asyncio.create_task(self._worker(queue, results, clock, low, over))
            for _ in range(self.concurrency)
        ]
        done = asyncio.Event()
        keeper = asyncio.create_task(self._housekeeping(results, held, clock, report, done))
        exhausted = False
        try:
            while not over():
                batch = await self._in_thread(self._claim, clock(), self.batch)
                if not batch and not held:
                    exhausted = True
                    break
                if not batch:  # let the sends in flight settle: some may be due again at once
                    while held and not over():
                        await self._flush(results, held, report)
                        if held:
                            await asyncio.sleep(self.flush_interval)
                    continue
                for claimed, item in batch:
                    held[claimed.id] = claimed
                    if isinstance(item, Outcome):
                        results.append((claimed, item, clock()))
                    else:
                        queue.put_nowait((claimed, item))
                while queue.qsize() > low and not over():
                    self._drained.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._drained.wait(), max(0.0, deadline - loop.time())
                        )
        finally:
            for _ in workers:
                queue.put_nowait(None)
            await asyncio.gather(*workers)
            done.set()
            await asyncio.gather(keeper, return_exceptions=True)
            await self._flush(results, held, report)
        report.more = not exhausted and not self._stopping

    async def _worker(
        self,
        queue: asyncio.Queue[tuple[Claimed, Outgoing] | None],
        results: list[tuple[Claimed, Outcome, dt.datetime]],
        clock: Callable[[], dt.datetime],
        low: int,
        over: Callable[[], bool],
    ) -> None:
        while (entry := await queue.get()) is not None:
            if queue.qsize() <= low:
                self._drained.set()
            claimed, item = entry
            if over():
                outcome = Outcome.released()
            elif item.member_id is not None and item.chat_id in self._blocked_chats:
                outcome = Outcome.skipped("recipient unreachable")
            else:
                outcome = await self._deliver(replace(item, now=clock()))
            if outcome.status is Status.BLOCKED and item.member_id is not None:
                self._blocked_chats.add(item.chat_id)
            results.append((claimed, outcome, clock()))

    async def _deliver(self, item: Outgoing) -> Outcome:
        try:
            return await self.notifier.deliver(item)
        except Exception as exc:  # a bug in rendering must not stop the fan-out
            log.exception("could not deliver %s", item.key)
            return Outcome.failed(f"{type(exc).__name__}: {exc}")

    async def _housekeeping(
        self,
        results: list[tuple[Claimed, Outcome, dt.datetime]],
        held: dict[int, Claimed],
        clock: Callable[[], dt.datetime],
        report: Report,
        done: asyncio.Event,
    ) -> None:
        loop = asyncio.get_running_loop()
        beat = loop.time()
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=self.flush_interval)
            await self._flush(results, held, report)
            if held and loop.time() - beat > self.lease.total_seconds() / 3:
                beat = loop.time()
                await self._in_thread(self._heartbeat, list(held), clock())

    def _heartbeat(self, ids: Sequence[int], now: dt.datetime) -> None:
        with self.db.transaction() as session:
            ledger.heartbeat(session, ids, now=now)

    def _claim(self, now: dt.datetime, limit: int) -> list[tuple[Claimed, Outgoing | Outcome]]:
        """Claim due rows and decide, against the DB as it is now, which are still wanted."""
        with self.db.transaction() as session:
            claimed = ledger.claim(session, now=now, limit=limit)
        if not claimed:
            return []
        occ_ids = {c.occurrence_id for c in claimed if c.occurrence_id is not None}
        member_ids = {c.member_id for c in claimed if c.member_id is not None}
        with self.db.read() as session:
            occs = {
                row[0]: _Occ(*row[1:])
                for row in session.execute(
                    sa_select(
                        col(Occurrence.id), col(Occurrence.status), col(Occurrence.starts_at)
                    ).where(col(Occurrence.id).in_(occ_ids))
                )
            }
            members = {
                row[0]: _Who(*row[1:])
                for row in session.execute(
                    sa_select(
                        col(Member.id),
                        col(Member.active),
                        col(Member.unreachable_reason),
                        col(Member.telegram_id),
                    ).where(col(Member.id).in_(member_ids))
                )
            }
            # A committee digest goes to a seat holder (OrgPerson), named in its payload.
            person_ids = {_person_of(c) for c in claimed if c.kind == Kind.OVERSIGHT.value}
            people = {
                row[0]: _Who(*row[1:])
                for row in session.execute(
                    sa_select(
                        col(OrgPerson.id),
                        col(OrgPerson.active),
                        col(OrgPerson.unreachable_reason),
                        col(OrgPerson.telegram_id),
                    ).where(col(OrgPerson.id).in_(person_ids))
                )
            }
        batch: list[tuple[Claimed, Outgoing | Outcome]] = []
        for c in claimed:
            member = members.get(c.member_id) if c.member_id is not None else None
            if c.kind == Kind.OVERSIGHT.value:
                member = people.get(_person_of(c))
            reason = _unwanted(c, occs.get(c.occurrence_id or -1), member, now)
            if reason:
                batch.append((c, Outcome.skipped(reason)))
                continue
            chat_id = (
                member.telegram_id if member is not None and member.telegram_id else c.chat_id
            )
            item = Outgoing(
                delivery_id=c.id,
                key=c.key,
                kind=c.kind,
                branch_id=c.branch_id,
                chat_id=chat_id,
                member_id=c.member_id,
                occurrence_id=c.occurrence_id,
                due_at=c.due_at,
                now=now,
                payload=c.payload,
            )
            batch.append((c, item))
        self.notifier.prepare([i for _c, i in batch if isinstance(i, Outgoing)])
        return batch

    async def _flush(
        self,
        results: list[tuple[Claimed, Outcome, dt.datetime]],
        held: dict[int, Claimed],
        report: Report,
    ) -> None:
        """Settle the outcomes gathered so far in one transaction."""
        if not results:
            return
        async with self._db_lock:
            # Taken under the lock: a cancellation while waiting for it loses nothing, and a
            # write that has started finishes in its thread even if we are cancelled.
            taken = results[:]
            del results[:]
            settles: list[Settle] = []
            unreachable: dict[int, str] = {}
            org_unreachable: dict[int, str] = {}
            migrations: list[tuple[int, int, int]] = []
            for claimed, outcome, at in taken:
                held.pop(claimed.id, None)
                settles.append(self._settle(claimed, outcome, at, report))
                if outcome.status is Status.BLOCKED and claimed.member_id is not None:
                    unreachable[claimed.member_id] = outcome.reason
                if outcome.status is Status.BLOCKED and claimed.kind == Kind.OVERSIGHT.value:
                    org_unreachable[_person_of(claimed)] = outcome.reason
                if outcome.status is Status.MIGRATED and outcome.new_chat_id is not None:
                    migrations.append((claimed.branch_id, claimed.chat_id, outcome.new_chat_id))
            if settles:
                await asyncio.to_thread(
                    self._write, settles, unreachable, migrations, taken[-1][2], org_unreachable
                )

    def _write(
        self,
        settles: list[Settle],
        unreachable: dict[int, str],
        migrations: list[tuple[int, int, int]],
        now: dt.datetime,
        org_unreachable: dict[int, str] | None = None,
    ) -> None:
        with self.db.transaction() as session:
            ledger.settle(session, settles)
            ledger.mark_unreachable(session, unreachable, now=now)
            ledger.mark_org_unreachable(session, org_unreachable or {}, now=now)
            for branch_id, old, new in migrations:
                ledger.migrate_group(session, branch_id=branch_id, old=old, new=new)
        for branch_id, old, new in migrations:
            log.warning("branch %s: group chat %s became supergroup %s", branch_id, old, new)

    def _settle(self, c: Claimed, outcome: Outcome, at: dt.datetime, report: Report) -> Settle:
        """The row's next state after one attempt (the ledger's state machine)."""
        keep = Settle(c.id, DeliveryStatus.PENDING.value, c.attempts, c.chat_id, c.due_at, c.error)
        match outcome.status:
            case Status.SENT:
                report.count(c.branch_id, "sent")
                return replace(
                    keep,
                    status=DeliveryStatus.SENT.value,
                    sent_at=at,
                    message_id=outcome.message_id,
                    error=c.error if c.was_ambiguous else (outcome.reason or None),
                )
            case Status.SKIPPED:
                report.count(c.branch_id, "skipped")
                return replace(keep, status=DeliveryStatus.SKIPPED.value, error=outcome.reason)
            case Status.BLOCKED:
                report.count(c.branch_id, "unreachable")
                return replace(keep, status=DeliveryStatus.FAILED.value, error=outcome.reason)
            case Status.FAILED:
                report.count(c.branch_id, "failed")
                return replace(keep, status=DeliveryStatus.FAILED.value, error=outcome.reason)
            case Status.RELEASED:
                report.count(c.branch_id, "released")
                return replace(keep, attempts=max(0, c.attempts - 1))
            case Status.AMBIGUOUS if c.was_ambiguous:
                report.count(c.branch_id, "unknown")
                error = f"{AMBIGUOUS} twice: {outcome.reason}"
                return replace(keep, status=DeliveryStatus.UNKNOWN.value, error=error)
            case Status.AMBIGUOUS:
                report.count(c.branch_id, "ambiguous")
                retry_at = at + AMBIGUOUS_PAUSE
                self._next_due = min(filter(None, (self._next_due, retry_at)))
                return replace(keep, due_at=retry_at, error=f"{AMBIGUOUS}: {outcome.reason}")
            case Status.MIGRATED if c.error and c.error.startswith(MIGRATED):
                report.count(c.branch_id, "failed")
                return replace(keep, status=DeliveryStatus.FAILED.value, error="migrated twice")
            case Status.MIGRATED:
                report.count(c.branch_id, "migrated")
                new = outcome.new_chat_id or c.chat_id
                return replace(keep, chat_id=new, due_at=at, error=f"{MIGRATED} from {c.chat_id}")
            case _:  # RETRY
                if c.attempts >= self.max_attempts:
                    report.count(c.branch_id, "failed")
                    gave_up = f"gave up after {c.attempts} attempts: {outcome.reason}"
                    return replace(keep, status=DeliveryStatus.FAILED.value, error=gave_up)
                report.count(c.branch_id, "retried")
                wait = max(outcome.after, min(300.0, 2.0**c.attempts))
                note = c.error if c.was_ambiguous else outcome.reason
                retry_at = at + dt.timedelta(seconds=wait)
                self._next_due = min(filter(None, (self._next_due, retry_at)))
                return replace(keep, due_at=retry_at, error=note)

    # ------------------------------------------------------------------ logs

    def _log(self, report: Report) -> None:
        """One line per branch per fan-out (a fan-out ends when nothing due is left)."""
        for branch_id, counts in report.by_branch.items():
            self._tally.setdefault(branch_id, Counter()).update(counts)
        if report.more:
            return
        for branch_id, c in sorted(self._tally.items()):
            log.info(
                "reminders for branch %r: %d sent, %d failed, %d skipped, %d unreachable, "
                "%d retried, %d ambiguous, %d unknown",
                self._names.get(branch_id, branch_id),
                c["sent"], c["failed"], c["skipped"], c["unreachable"],
                c["retried"], c["ambiguous"], c["unknown"],
            )  # fmt: skip
        self._tally.clear()
        if report.late_skipped:
            log.info("%d reminders expired while the bot was offline: recorded as skipped",
                     report.late_skipped)  # fmt: skip


def _new_row(p: PlannedReminder, status: str) -> NewRow:
    payload: dict[str, Any] = {}
    if p.expires_at is not None:
        payload["expires_at"] = p.expires_at.isoformat()
    if p.rule_index is not None:
        payload["rule"] = p.rule_index
    if p.item_kind is not None:
        payload["item_kind"] = p.item_kind
    if p.payload:
        payload.update(p.payload)
    error = None
    if status == DeliveryStatus.SKIPPED.value and p.payload and SUPERSEDED in p.payload:
        error = "superseded: a later reminder of the same event went out instead"
    elif status == DeliveryStatus.SKIPPED.value:
        error = "too late: the bot was offline until after the event began or the deadline passed"
    return NewRow(
        key=p.key,
        kind=p.kind,
        branch_id=p.branch_id,
        chat_id=p.chat_id,
        due_at=p.at,
        member_id=p.member_id,
        occurrence_id=p.occurrence_id,
        status=status,
        error=error,
        payload=payload,
    )


@dataclass(frozen=True)
class _Occ:
    status: str
    starts_at: dt.datetime


@dataclass(frozen=True)
class _Who:
    active: bool
    unreachable_reason: str | None
    telegram_id: int | None


def _person_of(c: Claimed) -> int:
    """The seat holder (OrgPerson id) a committee digest row is for."""
    person = c.payload.get("person")
    return person if isinstance(person, int) else 0


def _unwanted(c: Claimed, occ: _Occ | None, member: _Who | None, now: dt.datetime) -> str | None:
    """Why a claimed row should not go out after all (None: send it)."""
    if c.kind == Kind.OVERSIGHT.value and (
        member is None or not member.active or member.unreachable_reason or not member.telegram_id
    ):
        return "seat holder unreachable or no longer seated"
    if c.member_id is not None and (
        member is None or not member.active or member.unreachable_reason or not member.telegram_id
    ):
        return "recipient unreachable or no longer a member"
    if c.kind != Kind.REMIND.value:
        return None
    if occ is None or occ.status == OccurrenceStatus.CANCELLED.value:
        return "the event was cancelled"
    # A meeting's reminders are worth sending until it starts, wherever it was moved to.
    if c.payload.get("item_kind") == ItemKind.MEETING:
        expires: dt.datetime | None = occ.starts_at
    else:
        raw = c.payload.get("expires_at")
        expires = dt.datetime.fromisoformat(raw) if isinstance(raw, str) else None
    if expires is not None and now >= expires:
        return "too late: the event began or the deadline passed"
    return None
