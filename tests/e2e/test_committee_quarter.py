"""A committee's March, end to end: the real `python -m bot` CLI and `run` process over HTTP.

Three branches are set up with the CLI only (rosters, the Party committee and its general
branch, a seat for the committee's secretary); then the bot runs against the fake Bot API with
a real round trip on every call, and a clock file moves its time through March 2026:

* 内科一支部 (A) records every required meeting of March as held, on time, by tapping
  through the flow, and its members check in at the general members' meeting;
* 内科二支部 (B) records its committee meeting as not held (cancelled, with the reason) and
  its theme Party day as held after the follow-up;
* 外科支部 (C, with a party group and its leader) records nothing.

On Monday 2026-04-06 08:00 the committee's secretary gets the weekly digest naming B's and C's
gaps and A as fine, and `/branches year` shows the same, worst first.

Default plan times (Asia/Shanghai): 支委会 1st Tuesday 16:00-17:00 (03-03), 党小组会 2nd Thursday
16:00-17:00 (03-12), 党员大会 Q1 2nd Friday 15:00-17:00 (03-13), 党课 3rd Friday 15:00-16:30
(03-20), 主题党日 4th Friday 15:00-17:00 (03-27). A record is due by the end of the third day
after the meeting's local day.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from storage.db import Database
from storage.models import Branch, MeetingMinutes, Occurrence
from tests.e2e.process import BotProcess, bot_env, set_clock
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram, Network
from tests.fakes.http_server import FakeBotApiServer

pytestmark = pytest.mark.e2e

TZ = ZoneInfo("Asia/Shanghai")
SEAT = 3900  # 王书记, secretary of 医院党委
A, B, C = "内科一支部", "内科二支部", "外科支部"
HEADER = "name,telegram_id,role,group,dues_amount,status\n"
ROSTERS = {  # dues amount 0: every member is exempt from dues
    A: [("李书记", 3101, "secretary", ""), ("张委员", 3102, "committee", ""),
        ("王一", 3103, "member", ""), ("赵二", 3104, "member", "")],
    B: [("钱书记", 3201, "secretary", ""), ("冯委员", 3202, "committee", ""),
        ("陈三", 3203, "member", "")],
    C: [("孙书记", 3301, "secretary", ""), ("周组长", 3302, "group_leader", "一组"),
        ("吴四", 3303, "member", "一组"), ("郑五", 3304, "member", "一组")],
}  # fmt: skip
SEC_A, SEC_B, SEC_C, LEADER_C = 3101, 3201, 3301, 3302
REASON = "书记带队参加上级集中培训，改为下月合并召开"
LINK = re.compile(r"https://t\.me/branchbot_test\?start=([A-Za-z0-9_-]{32})")
WAIT = 60.0  # every wait is bounded; over a 0.15 s round trip a step takes well under a second


def local(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """An instant of 2026 given on the branches' wall clock (Asia/Shanghai)."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


class World:
    """The fake Telegram, the running bot, the clock file, and the taps made (for the count of
    answers)."""

    def __init__(self, core: FakeTelegram, bot: BotProcess, clock: Path) -> None:
        self.core, self.bot, self.clock = core, bot, clock
        self.taps = 0

    def set_clock(self, instant: dt.datetime) -> None:
        """Move the bot's time (it advances with real time from here)."""
        set_clock(self.clock, instant.astimezone(dt.UTC))

    def mark(self, chat: int) -> int:
        """The newest message id the bot has in `chat` (0: none): later messages are new."""
        return max(self.core.messages_in(chat), default=0)

    def wait_new(
        self, chat: int, after: int, *parts: str, button: str | None = None
    ) -> dict[str, Any]:
        """The first message the bot sent to `chat` after `after` holding every one of
        `parts` (and a button labelled `button`, if given); waits for it."""
        found: list[dict[str, Any]] = []

        def arrived() -> bool:
            found[:] = [
                m
                for mid, m in sorted(self.core.messages_in(chat).items())
                if mid > after
                and all(p in str(m.get("text", "")) for p in parts)
                and (button is None or button in labels(m))
            ]
            return bool(found)

        self.bot.wait_for(arrived, WAIT, what=f"a message to {chat} with {parts!r}")
        return found[0]

    def wait_text(self, chat: int, message_id: int, part: str) -> dict[str, Any]:
        """Wait until the bot's message `message_id` in `chat` (edited) holds `part`."""
        seen: list[dict[str, Any]] = []

        def edited() -> bool:
            msg = self.core.message(chat, message_id)
            seen[:] = [msg] if msg is not None else []
            return msg is not None and part in str(msg.get("text", ""))

        self.bot.wait_for(edited, WAIT, what=f"message {message_id} of {chat} to say {part!r}")
        return seen[0]

    def tap(self, chat: int, message: dict[str, Any], label: str) -> None:
        """Tap the button labelled `label` on `message` (as the person in `chat`)."""
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        data = [b["callback_data"] for row in rows for b in row if b["text"] == label]
        assert data, f"no button {label!r} on {message.get('text')!r}: {rows}"
        answered = self.core.count("answerCallbackQuery", status=200)
        self.taps += 1
        self.core.push_update(
            updates.callback_query(data[0], user_id=chat, message_id=message["message_id"])
        )
        self.bot.wait_for(
            lambda: self.core.count("answerCallbackQuery", status=200) > answered,
            WAIT,
            what=f"the answer to {label!r} tapped by {chat}",
        )

    def say(self, chat: int, text: str, *expected: str) -> dict[str, Any]:
        """Send `text` privately; return the bot's reply holding every one of `expected`."""
        before = self.mark(chat)
        self.core.push_update(updates.message(text, user_id=chat))
        return self.wait_new(chat, before, *expected)


def labels(message: dict[str, Any]) -> list[str]:
    """The labels of a message's inline buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [str(b["text"]) for row in rows for b in row]


def ask_of(w: World, chat: int, after: int, title: str) -> dict[str, Any]:
    """The ask to record `title`, sent to `chat` after message `after`."""
    return w.wait_new(chat, after, f"{title} (", "has ended. Please record it")


def record_held(
    w: World, chat: int, ask: dict[str, Any], *, host: str, recorder: str, summary: str
) -> str:
    """Follow the ask's buttons to a record of a meeting held: keep the plan's topic, tap the
    host, type the recorder, type the summary, no files, Save. Returns the review's text."""
    after = w.mark(chat)
    w.tap(chat, ask, "📝 Record the meeting")
    flow = w.wait_new(chat, after, "Was the meeting held?")
    w.tap(chat, flow, "✅ Held")
    flow = w.wait_text(chat, flow["message_id"], "Keep it, or send the topic discussed.")
    w.tap(chat, flow, "Keep this topic")
    flow = w.wait_text(chat, flow["message_id"], "Who chaired the meeting")
    w.tap(chat, flow, host)
    w.wait_text(chat, flow["message_id"], "Who took the minutes")
    w.say(chat, recorder, "Send a summary of the decisions")
    files = w.say(chat, summary, "Send photos or documents")
    w.tap(chat, files, "Done")
    review = w.wait_text(chat, files["message_id"], "Please check, then Save.")
    assert f"Chaired by: {host}" in review["text"] and f"Minutes by: {recorder}" in review["text"]
    w.tap(chat, review, "💾 Save")
    w.wait_text(chat, files["message_id"], "recorded as held. Thank you!")
    return str(review["text"])


def record_not_held(w: World, chat: int, ask: dict[str, Any], reason: str) -> None:
    """Follow the ask's buttons to a record of a meeting not held: cancelled, with `reason`."""
    after = w.mark(chat)
    w.tap(chat, ask, "📝 Record the meeting")
    flow = w.wait_new(chat, after, "Was the meeting held?")
    w.tap(chat, flow, "❌ Not held")
    flow = w.wait_text(chat, flow["message_id"], "postponed to a later time, or cancelled?")
    w.tap(chat, flow, "Cancelled")
    w.wait_text(chat, flow["message_id"], "Why was it not held?")
    w.say(chat, reason, "recorded as not held.")


def cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    """`python -m bot *args` as an admin runs it; returns its stdout (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def set_up(env: dict[str, str], cwd: Path) -> str:
    """The three branches, the committee and its general branch, and the seat; returns the
    seat's link token."""
    cli(env, cwd, "init")
    for branch, people in ROSTERS.items():
        rows = "".join(f"{n},{uid},{role},{group},0,full\n" for n, uid, role, group in people)
        path = cwd / f"{branch}.csv"
        path.write_text(HEADER + rows, encoding="utf-8")
        cli(env, cwd, "import", str(path), "--branch", branch, "--since", "2026-01-01")
    cli(env, cwd, "org", "add", "医院党委")
    cli(env, cwd, "org", "add", "内科总支", "--general-branch", "--under", "医院党委")
    cli(env, cwd, "org", "attach", A, "内科总支")
    cli(env, cwd, "org", "attach", B, "内科总支")
    cli(env, cwd, "org", "attach", C, "医院党委")
    out = cli(env, cwd, "org", "seat", "医院党委", "王书记", "--role", "secretary",
              "--bot", "branchbot_test")  # fmt: skip
    found = LINK.search(out)
    assert found, out
    shown = cli(env, cwd, "org", "show")
    assert "· 外科支部" in shown and "· 内科一支部" in shown, shown
    return found.group(1)


def section(text: str, name: str) -> str:
    """One branch's lines of /branches: from its name to the next blank line."""
    start = text.index(f" {name} — ")
    end = text.find("\n\n", start)
    return text[start : end if end >= 0 else len(text)]


def test_a_committee_quarter_through_the_real_bot(tmp_path: Path) -> None:
    core = FakeTelegram(network=Network(round_trip=0.15, jitter=0.02, seed=7))
    for people in ROSTERS.values():
        for _name, uid, _role, _group in people:
            core.started(uid)  # every member has pressed Start: all reachable
    clock = tmp_path / "clock"
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with FakeBotApiServer(core) as fake:
        env = bot_env(fake, tmp_path, DATABASE_URL=url, BRANCHBOT_CLOCK_FILE=str(clock),
                      DISPATCH_INTERVAL_S="1")  # fmt: skip
        # The admin sets everything up the day before March's committee meeting.
        set_clock(clock, local(3, 2, 10).astimezone(dt.UTC))
        token = set_up(env, tmp_path)
        with BotProcess("run", env=env, cwd=tmp_path) as bot:
            w = World(core, bot, clock)
            bot.wait_for(lambda: fake.polls_started >= 1, WAIT, what="the first getUpdates")
            run_the_quarter(w, token)
            bot.terminate()
    assert "Traceback" not in bot.stderr, bot.stderr
    assert " ERROR " not in bot.stderr, bot.tail()
    # Every tap was answered (the spinner stops), and nothing was refused by Telegram.
    assert core.count("answerCallbackQuery", status=200) == w.taps
    assert core.count("answerCallbackQuery") == w.taps
    assert_records(url)


def run_the_quarter(w: World, token: str) -> None:
    core = w.core
    # The committee's secretary links their seat.
    after = w.mark(SEAT)
    core.push_update(updates.command("start", token, user_id=SEAT))
    welcome = w.wait_new(SEAT, after, "Your Telegram account now holds the seat of")
    assert "secretary" in welcome["text"] and "医院党委" in welcome["text"], welcome["text"]

    # 03-03 17:05: the committee meeting has ended; each secretary is asked.
    marks = {chat: w.mark(chat) for chat in (SEC_A, SEC_B, SEC_C)}
    w.set_clock(local(3, 3, 17, 5))
    title = "Branch committee meeting"
    asks = {chat: ask_of(w, chat, marks[chat], title) for chat in marks}
    assert "Record it by Fri, Mar 6, 2026" in asks[SEC_A]["text"], asks[SEC_A]["text"]
    record_held(w, SEC_A, asks[SEC_A], host="李书记", recorder="张委员",
                summary="研究三月份党员发展和主题党日安排。")  # fmt: skip
    record_not_held(w, SEC_B, asks[SEC_B], REASON)
    # C does nothing.

    # 03-12 17:05: C's party group meeting has ended; its leader is asked (for the group).
    mark = w.mark(LEADER_C)
    w.set_clock(local(3, 12, 17, 5))
    group_ask = ask_of(w, LEADER_C, mark, "Party group meeting — 一组")
    assert group_ask["text"].startswith("Party group meeting — 一组 ("), group_ask["text"]

    # 03-13: A's members check in at the general members' meeting, then it is recorded.
    people_a = [uid for _n, uid, _r, _g in ROSTERS[A]]
    marks = {uid: w.mark(uid) for uid in people_a}
    w.set_clock(local(3, 13, 8, 5))  # the reminder on the day, with Check in
    reminders = {
        uid: w.wait_new(uid, marks[uid], "General members' meeting", button="Check in")
        for uid in people_a
    }
    w.set_clock(local(3, 13, 15, 5))  # the meeting is on
    for uid, reminder in reminders.items():
        w.tap(uid, reminder, "Check in")
    mark = w.mark(SEC_A)
    w.set_clock(local(3, 13, 17, 5))
    review = record_held(w, SEC_A, ask_of(w, SEC_A, mark, "General members' meeting"),
                         host="李书记", recorder="张委员", summary="审议年度党建工作计划。")  # fmt: skip
    assert "Present (4)" in review and "Absent (0)" in review, review

    # 03-20 16:35: the party lecture has ended.
    mark = w.mark(SEC_A)
    w.set_clock(local(3, 20, 16, 35))
    record_held(w, SEC_A, ask_of(w, SEC_A, mark, "Party lecture"), host="李书记",
                recorder="张委员", summary="书记讲党课。")  # fmt: skip

    # 03-27 17:05: the theme Party day has ended; A records it at once.
    marks = {chat: w.mark(chat) for chat in (SEC_A, SEC_B, SEC_C)}
    w.set_clock(local(3, 27, 17, 5))
    title = "Theme Party day"
    asks = {chat: ask_of(w, chat, marks[chat], title) for chat in marks}
    record_held(w, SEC_A, asks[SEC_A], host="张委员", recorder="李书记",
                summary="参观学习先进事迹展览。")  # fmt: skip
    # 03-30 09:05: the follow-up on the record's last day goes to B and C, not to A; B records.
    marks = {chat: w.mark(chat) for chat in (SEC_A, SEC_B, SEC_C)}
    w.set_clock(local(3, 30, 9, 5))
    follow = "Reminder: the record of Theme Party day ("
    follow_b = w.wait_new(SEC_B, marks[SEC_B], follow, "is due today")
    w.wait_new(SEC_C, marks[SEC_C], follow, "is due today")
    record_held(w, SEC_B, follow_b, host="钱书记", recorder="冯委员", summary="开展志愿服务。")

    # Monday 04-06 08:05: the committee's weekly digest (last month and this month).
    mark = w.mark(SEAT)
    w.set_clock(local(4, 6, 8, 5))
    digest = str(w.wait_new(SEAT, mark, "📊 医院党委: the branches this week")["text"])
    assert follow not in "".join(str(m.get("text")) for m in
                                 w.core.messages_in(SEC_A).values())  # fmt: skip
    assert_digest(digest)

    # /branches year: the March gaps with their reasons, worst first.
    mark = w.mark(SEAT)
    core.push_update(updates.command("branches", "year", user_id=SEAT))
    text = str(w.wait_new(SEAT, mark, "Branches — 2026 (year), worst first")["text"])
    assert_year(text)


def assert_digest(digest: str) -> None:
    lines = digest.splitlines()
    assert lines[0] == "📊 医院党委: the branches this week (2026-03 – 2026-04)", digest
    behind = {line.split(" (")[0].removeprefix("🔻 "): line for line in lines
              if line.startswith("🔻 ")}  # fmt: skip
    assert set(behind) == {B, C}, digest
    assert list(behind) == [C, B], digest  # worst first: C recorded nothing
    assert f"Branch committee meeting 2026-03 missed — reason: {REASON}" in behind[B]
    assert "Theme Party day" not in behind[B]  # recorded (after the follow-up), on time
    assert (
        "Branch committee meeting 2026-03 not recorded — record due by Fri, Mar 6" in (behind[C])
    )
    assert "Theme Party day 2026-03 not recorded — record due by Mon, Mar 30" in behind[C]
    assert "Party group meeting 2026-03 (一组) not recorded" in behind[C]
    assert f"✅ Fine: {A}" in lines, digest


def assert_year(text: str) -> None:
    order = [text.index(f" {name} — ") for name in (C, B, A)]
    assert order == sorted(order), text  # worst first
    assert f"• Branch committee meeting 2026-03: missed — reason: {REASON}" in section(text, B)
    # January and February were owed too (the branches started on 2026-01-01), never
    # recorded by anyone; A's March is all on time.
    a = section(text, A)
    assert "2026-03" not in a and "Branch committee meeting 2026-01: not recorded" in a, a
    assert "baseline not met" in a


def assert_records(url: str) -> None:
    """What the database holds: A's four records held on time, B's two, none of C's."""
    db = Database(url)
    try:
        with db.read() as s:
            rows = s.exec(select(MeetingMinutes, Occurrence).join(Occurrence)).all()
            names = {b.id: b.name for b in s.exec(select(Branch)).all()}
    finally:
        db.dispose()
    kept = sorted((names[o.branch_id], o.item_id, o.key, r.held, r.reason) for r, o in rows)
    assert kept == [
        (A, "committee_meeting", "2026-03-03", True, None),
        (A, "general_meeting", "2026-03-13", True, None),
        (A, "party_lecture", "2026-03-20", True, None),
        (A, "theme_party_day", "2026-03-27", True, None),
        (B, "committee_meeting", "2026-03-03", False, REASON),
        (B, "theme_party_day", "2026-03-27", True, None),
    ], kept
