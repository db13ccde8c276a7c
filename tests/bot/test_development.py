"""A year and more of one applicant's way into the Party, through the real bot, clock moved."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from sqlmodel import col, select

from bot.ratelimit import BranchRateLimiter
from bot.services.roster import import_roster, read_roster
from storage.models import AuditEntry, Delivery, DevelopmentRecord, Member
from tests.fakes import updates
from tests.fakes.clock import FrozenClock
from tests.harness import Harness

SECRETARY, LI, ZHAO, ZHOU = 9001, 1001, 1002, 2001
ROSTER = """name,telegram_id,role,group,dues_amount,status,stage_since
Secretary Wang,9001,secretary,Group 1,12.50,full,
Member Li,1001,member,Group 1,12.50,full,
Member Zhao,1002,member,Group 1,12.50,full,
Applicant Zhou,2001,member,,0,applicant,2026-02-20
"""


def at(day: str, hour: int = 1) -> dt.datetime:
    """09:00 Shanghai of a day is 01:00 UTC."""
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


async def sweep(h: Harness, clock: FrozenClock, when: dt.datetime) -> None:
    clock.set(when)
    for chat in (SECRETARY, LI, ZHAO, ZHOU):
        h.api.started(chat)
    limiter = h.app.bot.rate_limiter
    assert isinstance(limiter, BranchRateLimiter)
    limiter.private_interval = 0.0
    dispatcher = h.services.dispatcher
    assert dispatcher is not None
    for _ in range(20):
        if not (await dispatcher.run_once(when)).more:
            return


def pipeline_notes(h: Harness, chat: int) -> list[str]:
    return [t for t in h.replies_to(chat) if t.startswith("🌱")]


async def export(h: Harness) -> bytes:
    await h.feed(updates.command("export", user_id=SECRETARY))
    docs = [d["document"] for d in h.api.sent("sendDocument")]
    return bytes([d for d in docs if d.filename.endswith(".xlsx")][-1].content)


async def develop(h: Harness, *words: str) -> str:
    await h.feed(updates.command("develop", *words, user_id=SECRETARY))
    return h.last_reply(SECRETARY)


async def test_an_applicant_becomes_a_full_member_with_every_deadline_reminded_once(
    harness: Harness, clock: FrozenClock
) -> None:
    h = harness
    clock.set(at("2026-03-02"))
    rows = read_roster(ROSTER.encode(), "roster.csv")
    import_roster(h.db, rows, branch_name="一支部", now=clock.now(), locale="en")

    # The talk is due a month after the application (Mar 20): a week ahead, then overdue.
    await sweep(h, clock, at("2026-03-12"))
    assert pipeline_notes(h, SECRETARY) == []
    await sweep(h, clock, at("2026-03-13"))
    await sweep(h, clock, at("2026-03-13", 3))  # again: nothing twice
    assert pipeline_notes(h, SECRETARY) == [
        "🌱 Applicant Zhou: the talk with the applicant is due by Fri, Mar 20, 2026."
    ]
    await sweep(h, clock, at("2026-03-21"))
    assert pipeline_notes(h, SECRETARY)[-1] == (
        "🌱 Applicant Zhou: the talk with the applicant is overdue "
        "(due Fri, Mar 20, 2026, within one month)."
    )
    await h.feed(updates.command("overdue", user_id=SECRETARY))
    assert "Development deadlines missed" in h.last_reply(SECRETARY)
    assert "⚠ Applicant Zhou" in h.last_reply(SECRETARY)
    await h.feed(updates.command("digest", user_id=SECRETARY))
    assert "🌱 Development deadlines missed\n  ⚠ Applicant Zhou" in h.last_reply(SECRETARY)
    # The applicant is not a member: no reminders of members' items, no dues, no attendance.
    assert h.replies_to(LI) and h.replies_to(ZHOU) == []  # members were reminded of the plan
    book = load_workbook(io.BytesIO(await export(h)))
    assert "Applicant Zhou" not in [c.value for c in book["Dues register"]["A"]]
    assert "Applicant Zhou" not in [c.value for c in book["Attendance"]["A"]]
    assert "Applicant Zhou" in [c.value for c in book["Member development"]["A"]]
    await h.feed(updates.command("me", user_id=ZHOU))
    assert "No events in the next 60 days." in h.last_reply(ZHOU)  # members' items are not shown
    assert "Your stage: applicant (入党申请人)" in h.last_reply(ZHOU)
    await h.feed(updates.command("me", user_id=LI))
    assert "Upcoming events (next 60 days):" in h.last_reply(LI)

    reply = await develop(h, '"Applicant Zhou"', "talked", "2026-03-23", 'by="Member Li"')
    assert reply.startswith("Recorded: Applicant Zhou, talk held.")
    reply = await develop(h, '"Applicant Zhou"', "activist", "2026-04-01", 'contacts="Member Li"')
    assert reply.startswith("Refused: an activist needs 2 full members as contacts")
    reply = await develop(h, '"Applicant Zhou"', "activist", "2026-04-01",
                          'contacts="Member Li,Member Zhao"')  # fmt: skip
    assert "Stage: activist" in reply

    # An activist hands in a thought report every quarter: reminded 14 days before its end.
    await sweep(h, clock, at("2026-06-16"))
    assert "Reminder: Thought report (Q2 2026)" in h.replies_to(ZHOU)[-1]
    clock.set(at("2026-06-20"))
    await h.feed(
        updates.command("report", "Studying", "the", "Party", "Constitution.", user_id=ZHOU)
    )
    assert "Your Thought report for Q2 2026 is handed in." in h.last_reply(ZHOU)
    assert "Applicant Zhou handed in their Thought report for Q2 2026." in h.last_reply(SECRETARY)

    # The first half-yearly examination (Oct 1): the contacts are told too.
    await sweep(h, clock, at("2026-09-17"))
    for chat in (SECRETARY, LI, ZHAO):
        assert pipeline_notes(h, chat)[-1] == (
            "🌱 Applicant Zhou: the half-yearly examination is due by Thu, Oct 1, 2026."
        )
    reply = await develop(h, '"Applicant Zhou"', "examined", "2026-09-25")
    await sweep(h, clock, at("2026-10-02"))  # met: no overdue reminder
    assert "overdue" not in pipeline_notes(h, SECRETARY)[-1]

    # A candidate before a year as activist is refused with the rule; then on time.
    reply = await develop(h, '"Applicant Zhou"', "candidate", "2027-03-15",
                          'introducers="Member Li,Member Zhao"', "hours=24", "review=yes")  # fmt: skip
    assert reply.startswith("Refused: a candidate must have been an activist for at least a year")
    assert "Thu, Apr 1, 2027" in reply
    await develop(h, '"Applicant Zhou"', "examined", "2027-03-28")
    await sweep(h, clock, at("2027-04-01"))
    assert pipeline_notes(h, SECRETARY)[-1] == (
        "🌱 Applicant Zhou: a year as activist today — ready to be considered as a candidate."
    )
    reply = await develop(h, '"Applicant Zhou"', "candidate", "2027-04-02",
                          'introducers="Member Li,Member Zhao"', "hours=24", "review=yes")  # fmt: skip
    assert "Stage: candidate" in reply

    # Public notice of five working days, pre-review, then the members' meeting vote.
    # Tuesday Apr 6 + five working days of China's calendar: Apr 6-9 and Monday Apr 12.
    await develop(h, '"Applicant Zhou"', "notice", "2027-04-06")
    await sweep(h, clock, at("2027-04-13"))
    assert pipeline_notes(h, SECRETARY)[-1] == (
        "🌱 Applicant Zhou: the public notice ended on Mon, Apr 12, 2027."
    )
    await develop(h, '"Applicant Zhou"', "prereview", "2027-04-20")
    await sweep(h, clock, at("2027-04-20"))
    assert pipeline_notes(h, SECRETARY)[-1] == (
        "🌱 Applicant Zhou: the pre-review passed; the members' meeting vote on the admission "
        "is due."
    )
    reply = await develop(h, '"Applicant Zhou"', "vote", "2027-04-26", "for=1")
    assert reply.startswith("Refused: no quorum")
    reply = await develop(h, '"Applicant Zhou"', "vote", "2027-04-26", "for=3")
    assert "Recorded" in reply
    reply = await develop(h, '"Applicant Zhou"', "approved", "2027-05-20")
    assert "Stage: probationary member" in reply
    assert "Thought reports handed in" in [
        c.value for c in load_workbook(io.BytesIO(await export(h)))["Member development"][1]
    ]

    # The probationary year's quarterly reports. /report first asks for the oldest missing
    # one (Q1, while still an activist), late; then Q2 on time; Q3 missed, then late.
    await sweep(h, clock, at("2027-06-16"))
    assert "Reminder: Thought report (Q2 2027)" in h.replies_to(ZHOU)[-1]
    clock.set(at("2027-06-21"))
    await h.feed(updates.command("report", "Catching", "up.", user_id=ZHOU))
    assert "Your Thought report for Q1 2027 is handed in, late." in h.last_reply(ZHOU)
    await h.feed(updates.command("report", user_id=ZHOU))
    await h.feed(updates.message("My first quarter on probation.", user_id=ZHOU))
    assert "Your Thought report for Q2 2027 is handed in." in h.last_reply(ZHOU)
    await sweep(h, clock, at("2027-09-30"))
    assert "Reminder: Thought report (Q3 2027)" in h.replies_to(ZHOU)[-1]
    clock.set(at("2027-10-02"))
    await h.feed(updates.command("overdue", user_id=SECRETARY))
    assert "Thought report, Q3: not handed in\n[(no party group)] Applicant Zhou" in h.last_reply(
        SECRETARY
    )
    await h.feed(updates.command("report", "Late,", "but", "written.", user_id=ZHOU))
    assert "Your Thought report for Q3 2027 is handed in, late." in h.last_reply(ZHOU)
    sheet = load_workbook(io.BytesIO(await export(h)))["Member development"]
    header, row = ([c.value for c in r] for r in sheet.iter_rows(min_row=1, max_row=2))
    reported = dict(zip(header, row, strict=True))["Thought reports handed in"]
    assert reported == "2027Q1 (late), 2027Q2, 2027Q3 (late)"

    # The register matches what happened.
    xlsx = await export(h)
    sheet = load_workbook(io.BytesIO(xlsx))["Member development"]
    header, row = ([c.value for c in r] for r in sheet.iter_rows(min_row=1, max_row=2))
    got = dict(zip(header, row, strict=True))
    dues = load_workbook(io.BytesIO(xlsx))["Dues register"]
    assert "Applicant Zhou" in [c.value for c in dues["A"]]  # a probationary member owes dues
    assert got["Name"] == "Applicant Zhou"
    assert got["Stage"] == "probationary member (预备党员)"
    assert got["Application received"] == dt.datetime(2026, 2, 20)
    assert got["Talk held"] == dt.datetime(2026, 3, 23)
    assert got["Contacts"] == got["Introducers"] == "Member Li, Member Zhao"
    assert got["Examinations"] == "2026-09-25, 2027-03-28"
    assert got["Votes: for/against/abstain (full members entitled)"] == "2027-04-26 3/0/0 (3)"
    assert got["Probation ends"] == dt.datetime(2028, 4, 26)

    # Probation ends a year after the vote: a month ahead, "put 转正 on the agenda".
    await sweep(h, clock, at("2028-03-26"))
    assert pipeline_notes(h, SECRETARY)[-1] == (
        "🌱 Applicant Zhou: probation ends in a month. Put 转正 on the agenda of a members' "
        "meeting before Wed, Apr 26, 2028."
    )
    await h.feed(updates.command("me", user_id=ZHOU))
    assert "Your stage: probationary member" in h.last_reply(ZHOU)
    await develop(h, '"Applicant Zhou"', "vote", "2028-04-26", "for=3")
    reply = await develop(h, '"Applicant Zhou"', "converted", "2028-05-10")
    assert "Stage: full member" in reply

    await h.feed(updates.command("pipeline", user_id=SECRETARY))
    assert h.last_reply(SECRETARY) == "Nobody is in the development pipeline."
    with h.db.read() as s:
        zhou = s.exec(select(Member).where(Member.name == "Applicant Zhou")).one()
        assert zhou.status == "full"
        keys = s.exec(select(Delivery.key).where(col(Delivery.key).startswith("dv:"))).all()
        actions = s.exec(
            select(AuditEntry.action).where(col(AuditEntry.action).startswith("develop."))
        ).all()
    assert len(keys) == len(set(keys))
    assert len(actions) == 11  # every recorded step audited
    # Every deadline reminded once; a phase passed between two sweeps is not sent late.
    assert [t.split(": ", 1)[1][:40] for t in pipeline_notes(h, SECRETARY)] == [
        "the talk with the applicant is due by Fr",
        "the talk with the applicant is overdue (",
        "the half-yearly examination is due by Th",
        "a year as activist today — ready to be c",
        "the public notice ended on Mon, Apr 12, ",
        "the pre-review passed; the members' meet",
        "probation ends in a month. Put 转正 on the",
    ]
    assert all("🌱" not in t for t in h.replies_to(ZHOU))


async def test_the_members_meeting_reminder_lists_the_admissions_due_at_it(
    harness: Harness, clock: FrozenClock
) -> None:
    h = harness
    clock.set(at("2026-01-20"))
    roster = ROSTER.replace("applicant,2026-02-20", "candidate,2026-01-10")
    import_roster(h.db, read_roster(roster.encode(), "r.csv"), branch_name="一支部",
                  now=clock.now(), locale="en")  # fmt: skip
    await develop(h, '"Applicant Zhou"', "notice", "2026-02-02")
    await develop(h, '"Applicant Zhou"', "prereview", "2026-02-20")
    # The Q1 general members' meeting is Friday Mar 13; its reminder goes out Mar 10, 09:00.
    await sweep(h, clock, at("2026-03-10"))
    [reminder] = [t for t in h.replies_to(LI) if "General members' meeting\nWhen" in t]
    assert reminder.endswith(
        "🌱 Member development on the agenda:\n"
        "  Applicant Zhou: admission as probationary member (pre-review passed Fri, Feb 20, 2026)"
    )
    assert not any("General members' meeting" in t for t in h.replies_to(ZHOU))


async def test_the_secretary_adds_an_applicant_by_recording_the_application(
    harness: Harness, clock: FrozenClock
) -> None:
    h = harness
    clock.set(at("2026-03-02"))
    import_roster(h.db, read_roster(ROSTER.encode(), "r.csv"), branch_name="一支部",
                  now=clock.now(), locale="en")  # fmt: skip
    reply = await develop(h, "孙小明", "applied", "2026-03-01")
    assert reply == "Recorded: 孙小明, application received. Stage: applicant (入党申请人)."
    assert (await develop(h, "孙小明", "examined", "2026-03-01")).startswith(
        "Refused: this step does not follow from the person's stage (applicant"
    )
    assert (await develop(h, "Nobody", "talked", "2026-03-01", "by=Nobody2")).startswith(
        "Not found among the branch's members"
    )
    await h.feed(updates.command("pipeline", user_id=SECRETARY))
    listing = h.last_reply(SECRETARY)
    assert "孙小明 — applicant (入党申请人) (since Sun, Mar 1, 2026)" in listing
    assert "talk with the applicant due by Wed, Apr 1, 2026" in listing
    with h.db.read() as s:
        sun = s.exec(select(Member).where(Member.name == "孙小明")).one()
    assert (sun.status, sun.telegram_id) == ("applicant", None)
    # Only the secretary records; a member is refused.
    await h.feed(updates.command("develop", "孙小明", "talked", "2026-03-05", user_id=LI))
    with h.db.read() as s:
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "develop.talked")).all() == []


def test_re_importing_a_roster_keeps_or_corrects_the_stage_date(harness: Harness) -> None:
    h = harness
    now = at("2026-03-02")
    import_roster(h.db, read_roster(ROSTER.encode(), "r.csv"), branch_name="一支部", now=now)
    without = ROSTER.replace("applicant,2026-02-20", "applicant,")
    import_roster(h.db, read_roster(without.encode(), "r.csv"), branch_name="一支部", now=now)
    import_roster(h.db, read_roster(ROSTER.encode(), "r.csv"), branch_name="一支部", now=now)
    corrected = ROSTER.replace("2026-02-20", "2026-02-18")
    import_roster(h.db, read_roster(corrected.encode(), "r.csv"), branch_name="一支部", now=now)
    with h.db.read() as s:
        days = s.exec(select(DevelopmentRecord.on).order_by(col(DevelopmentRecord.id))).all()
    assert days == [dt.date(2026, 2, 20), dt.date(2026, 2, 18)]
