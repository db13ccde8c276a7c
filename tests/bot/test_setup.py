"""A branch brought onto the bot from the chat alone: the admin creates it, its secretary joins
through the link, uploads and fixes a roster, edits the roster from /roster and the plan from
/plan file, and changes a setting; a member's file is refused. Real Application, fake Bot API.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from bot.services import uploads
from storage.db import Database
from storage.models import AuditEntry, Branch, Member
from tests.fakes import updates
from tests.fakes.bot_api import FakeTelegram
from tests.fakes.clock import FrozenClock
from tests.harness import Harness, seed_branch, settings_for

ADMIN, SECRETARY, MEMBER, STRANGER = 777, 9100, 9200, 9300
NAME = "第三党支部"


@pytest.fixture
async def h(db: Database, clock: FrozenClock, api: FakeTelegram) -> AsyncIterator[Harness]:
    harness = Harness(db, clock, api, settings_for(api, admin_telegram_ids=(ADMIN,)))
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


def _document(h: Harness, user_id: int, data: bytes, filename: str, **kw: Any) -> dict[str, Any]:
    message = updates.message_dict(None, user_id=user_id, **kw)
    message["document"] = h.api.put_file(data, filename)
    return {"update_id": updates.next_update_id(), "message": message}


def _buttons(h: Harness, chat_id: int) -> list[dict[str, Any]]:
    last = h.api.messages_to(chat_id)[-1]
    markup = last.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def _tap(h: Harness, user_id: int, label: str) -> None:
    button = next(b for b in _buttons(h, user_id) if b["text"] == label)
    message = h.api.last_message(user_id)
    assert message is not None
    await h.feed(
        updates.callback_query(
            button["callback_data"], user_id=user_id, message_id=message["message_id"]
        )
    )


def _shown(h: Harness, chat_id: int) -> str:
    """The text of the bot's newest message in a chat, as it is now (after edits)."""
    message = h.api.last_message(chat_id)
    assert message is not None
    return str(message.get("text", ""))


def _audits(h: Harness) -> list[str]:
    with h.db.read() as s:
        return [a.action for a in s.exec(select(AuditEntry).order_by(AuditEntry.id))]  # type: ignore[arg-type]


def _members(h: Harness) -> dict[str, Member]:
    with h.db.read() as s:
        return {m.name: m for m in s.exec(select(Member))}


async def _create_and_join(h: Harness, language: str = "en") -> None:
    await h.feed(updates.command("newbranch", NAME, "Asia/Shanghai", language, user_id=ADMIN))
    answer = h.last_reply(ADMIN)
    assert f"Branch {NAME} created" in answer
    token = re.search(r"start=([A-Za-z0-9_-]+)", answer)
    assert token is not None
    code = "zh-hans" if language == "zh_CN" else language
    await h.feed(updates.command("start", token.group(1), user_id=SECRETARY, language_code=code))
    with h.db.read() as s:
        secretary = s.exec(select(Member).where(Member.telegram_id == SECRETARY)).one()
    assert secretary.role == "secretary"


GOOD = [
    "name,telegram_id,role,group,dues_amount,status",
    "Secretary,9100,secretary,第一党小组,20.00,full",
    "张三,9200,member,第一党小组,12.50,full",
    "李四,,member,第二党小组,8.00,probationary",
]


def _gbk(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


async def test_a_branch_set_up_from_the_chat(h: Harness) -> None:
    await _create_and_join(h)
    with h.db.read() as s:
        branch = s.exec(select(Branch).where(Branch.name == NAME)).one()
    assert branch.plan_toml is None  # the default plan

    # A GBK CSV with two bad lines: refused, each with its line number and reason.
    bad = [*GOOD, "王五,,member,第二党小组,abc,full", "赵六,,chief,第二党小组,5,full"]
    await h.feed(_document(h, SECRETARY, _gbk(bad), "roster.csv"))
    answer = h.last_reply(SECRETARY)
    assert "cannot be imported" in answer
    assert "line 5: dues_amount 'abc'" in answer and "line 6: role 'chief'" in answer
    assert "张三" not in _members(h)

    # Fixed: a preview with counts and [Import] / [Cancel]; nothing written before the tap.
    await h.feed(_document(h, SECRETARY, _gbk(GOOD), "roster.csv"))
    assert "2 new, 1 updated, 0 unchanged" in h.last_reply(SECRETARY)
    assert [b["text"] for b in _buttons(h, SECRETARY)] == ["Import", "Cancel"]
    assert "张三" not in _members(h)
    await _tap(h, SECRETARY, "Import")
    members = _members(h)
    assert members["张三"].telegram_id == MEMBER and members["李四"].status == "probationary"
    links = h.last_reply(SECRETARY)
    assert "李四: https://t.me/" in links and "张三:" not in links  # 张三 has an account already
    assert "roster.upload" in _audits(h) and "roster.import" in _audits(h)

    # /roster: the XLSX, edited and sent back.
    await h.feed(updates.command("roster", user_id=SECRETARY))
    sent = h.api.sent("sendDocument")[-1]["document"]
    assert sent.filename == "roster.xlsx"
    book = load_workbook(io.BytesIO(sent.content))
    sheet = book.worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == "李四":
            row[4].value = "10.00"
    out = io.BytesIO()
    book.save(out)
    await h.feed(_document(h, SECRETARY, out.getvalue(), "roster.xlsx"))
    assert "0 new, 1 updated, 2 unchanged" in h.last_reply(SECRETARY)
    await _tap(h, SECRETARY, "Import")
    assert _members(h)["李四"].dues_amount == Decimal("10.00")

    # The plan as a file: the committee meeting moves to the first Thursday.
    await h.feed(updates.command("plan", "file", user_id=SECRETARY))
    plan = h.api.sent("sendDocument")[-1]["document"]
    text = plan.content.decode("utf-8")
    assert text.startswith("#") and 'id = "committee_meeting"' in text
    edited = text.replace(
        'rhythm = { every = "month", weekday = "tue", nth = 1 }',
        'rhythm = { every = "month", weekday = "thu", nth = 1 }',
    )
    assert edited != text
    await h.feed(_document(h, SECRETARY, edited.encode("utf-8"), "plan.toml"))
    preview = h.last_reply(SECRETARY)
    assert "moved:" in preview and "Branch committee meeting" in preview
    assert "Tue, Mar 3 16:00 Branch committee meeting → Thu, Mar 5 16:00" in preview
    with h.db.read() as s:
        assert s.exec(select(Branch).where(Branch.name == NAME)).one().plan_toml is None
    await _tap(h, SECRETARY, "Apply")
    assert "in force" in _shown(h, SECRETARY)
    with h.db.read() as s:
        assert s.exec(select(Branch).where(Branch.name == NAME)).one().plan_toml == edited
    assert "plan.set" in _audits(h)

    # The first reminders follow the new plan: the committee meeting on Thursday the 5th.
    dispatcher = h.services.dispatcher
    assert dispatcher is not None
    await dispatcher.run_once(h.clock.now())  # 09:00 on Monday the 2nd: 3 days before
    reminder = h.last_reply(SECRETARY)
    assert "Branch committee meeting" in reminder and "Mar 5" in reminder

    # Back to the default plan: one command.
    await h.feed(updates.command("plan", "default", user_id=SECRETARY))
    assert "Back to the default plan" in h.last_reply(SECRETARY)
    await _tap(h, SECRETARY, "Apply")
    with h.db.read() as s:
        assert s.exec(select(Branch).where(Branch.name == NAME)).one().plan_toml is None

    # /plan month still works.
    await h.feed(updates.command("plan", "month", user_id=SECRETARY))
    assert "Usage" not in h.last_reply(SECRETARY)


async def test_a_plan_with_a_bad_field_names_the_item_and_the_field(h: Harness) -> None:
    await _create_and_join(h)
    await h.feed(updates.command("plan", "file", user_id=SECRETARY))
    text = h.api.sent("sendDocument")[-1]["document"].content.decode("utf-8")
    bad = text.replace('time = "16:00"', 'time = "25:00"', 1)
    assert bad != text
    await h.feed(_document(h, SECRETARY, bad.encode(), "plan.toml"))
    answer = h.last_reply(SECRETARY)
    assert "cannot be used" in answer
    assert "item 'committee_meeting'" in answer and "field 'time'" in answer


async def test_a_chinese_secretary_reads_why_each_roster_line_is_refused_in_chinese(
    h: Harness,
) -> None:
    await _create_and_join(h, "zh_CN")
    bad = [
        *GOOD,
        "王五,,member,第二党小组,十二元,full",
        "赵六,,组长,第二党小组,5,full",
        "张三,abc,member,,5,full",
        "张三,,member,,5,full",
        "孙七,9200,member,,5,full",
    ]
    await h.feed(_document(h, SECRETARY, _gbk(bad), "roster.csv", language_code="zh-hans"))
    answer = h.last_reply(SECRETARY)
    assert "第 5 行：党费（dues_amount）“十二元”不是以元为单位的数字（例如 12.50）" in answer
    assert "第 6 行：role“组长”不在可选值 member|group_leader|committee|secretary 之中" in answer
    assert "第 7 行：telegram_id“abc”不是 Telegram 用户 ID（应为正整数）" in answer
    assert "第 8 行：姓名“张三”与第 3 行重复" in answer
    assert "第 9 行：Telegram ID 9200 与第 3 行重复" in answer
    assert "line " not in answer and "is not" not in answer  # nothing left in English
    assert "张三" not in _members(h)

    # A file in no encoding the CLI accepts: the same refusal, in Chinese.
    shift_jis = "\n".join([GOOD[0], "鈴木花子,,member,営業部,1,full"]).encode("shift_jis")
    await h.feed(_document(h, SECRETARY, shift_jis, "roster.csv", language_code="zh-hans"))
    assert "无法可靠识别文件编码（已尝试 UTF-8, UTF-8 with BOM, GB18030/GBK）" in h.last_reply(
        SECRETARY
    )


async def test_a_chinese_secretary_reads_which_plan_item_and_field_are_wrong_in_chinese(
    h: Harness,
) -> None:
    await _create_and_join(h, "zh_CN")
    await h.feed(updates.command("plan", "file", user_id=SECRETARY, language_code="zh-hans"))
    text = h.api.sent("sendDocument")[-1]["document"].content.decode("utf-8")
    bad = text.replace('time = "16:00"', 'time = "25:00"', 1)
    assert bad != text
    await h.feed(_document(h, SECRETARY, bad.encode(), "plan.toml", language_code="zh-hans"))
    answer = h.last_reply(SECRETARY)
    # The item and the field are TOML keys, as the file spells them; the sentence is Chinese.
    assert (
        "事项“committee_meeting”的字段“time”：须为 00:00 至 23:59 之间的时间“HH:MM”，实际为“25:00”"
    ) in answer
    assert "item '" not in answer and "must be" not in answer

    wrong_kind = text.replace('kind = "meeting"', 'kind = "会议"', 1)
    assert wrong_kind != text
    await h.feed(
        _document(h, SECRETARY, wrong_kind.encode(), "plan.toml", language_code="zh-hans")
    )
    assert (
        "的字段“kind”：未知的取值“会议”（可用：meeting, dues, talks, paperwork, thought_reports）"
        in (h.last_reply(SECRETARY))
    )

    # Not UTF-8 at all: said in Chinese too, and nothing changes.
    await h.feed(
        _document(h, SECRETARY, bad.encode("utf-16"), "plan.toml", language_code="zh-hans")
    )
    assert "不是 UTF-8 编码的文本" in h.last_reply(SECRETARY)
    with h.db.read() as s:
        assert s.exec(select(Branch).where(Branch.name == NAME)).one().plan_toml is None


async def test_a_member_or_a_group_gets_a_refusal_and_nothing_is_read(h: Harness) -> None:
    await _create_and_join(h)
    await h.feed(_document(h, SECRETARY, _gbk(GOOD), "roster.csv"))
    await _tap(h, SECRETARY, "Import")
    downloads = h.api.count("getFile")
    await h.feed(_document(h, MEMBER, _gbk(GOOD), "roster.csv"))
    assert "Only the branch secretary" in h.last_reply(MEMBER)
    await h.feed(_document(h, SECRETARY, _gbk(GOOD), "roster.csv", chat_id=-100555))
    assert "Only the branch secretary" in h.last_reply(-100555)
    assert h.api.count("getFile") == downloads  # nothing was downloaded
    await h.feed(updates.command("roster", user_id=MEMBER))
    assert "not available to your role" in h.last_reply(MEMBER)
    await h.feed(updates.command("newbranch", "其他支部", user_id=SECRETARY))
    assert "not available to your role" in h.last_reply(SECRETARY)


async def test_previews_replace_expire_and_apply_once(h: Harness) -> None:
    await _create_and_join(h)
    await h.feed(_document(h, SECRETARY, _gbk(GOOD), "roster.csv"))
    first = _buttons(h, SECRETARY)
    await h.feed(_document(h, SECRETARY, _gbk(GOOD[:2]), "roster.csv"))
    # The first preview's Import is void now: the second upload replaced it.
    await h.feed(updates.callback_query(first[0]["callback_data"], user_id=SECRETARY))
    assert "no longer valid" in h.answers()[-1]["text"]
    assert "张三" not in _members(h)
    h.clock.advance(seconds=(uploads.PREVIEW_TTL + dt.timedelta(minutes=1)).total_seconds())
    await _tap(h, SECRETARY, "Import")
    assert "no longer valid" in h.answers()[-1]["text"]
    assert "张三" not in _members(h)


async def test_too_large_and_formula_cells(h: Harness) -> None:
    await _create_and_join(h)
    message = updates.message_dict(None, user_id=SECRETARY)
    message["document"] = h.api.put_file(b"x", "roster.csv") | {
        "file_size": uploads.MAX_FILE_BYTES + 1
    }
    await h.feed({"update_id": updates.next_update_id(), "message": message})
    assert "larger than" in h.last_reply(SECRETARY)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "telegram_id", "role", "group", "dues_amount", "status"])
    sheet.append(["Secretary", "9100", "secretary", "", "1", "full"])
    sheet.append(['=HYPERLINK("x")', "", "member", "", "1", "full"])
    sheet["A3"].data_type = "s"
    out = io.BytesIO()
    book.save(out)
    await h.feed(_document(h, SECRETARY, out.getvalue(), "roster.xlsx"))
    await _tap(h, SECRETARY, "Import")
    assert '=HYPERLINK("x")' in _members(h)  # the text, never evaluated


async def test_rename_and_unique_names(h: Harness) -> None:
    await _create_and_join(h)
    await h.feed(updates.command("newbranch", NAME, user_id=ADMIN))
    assert "already a branch" in h.last_reply(ADMIN)
    await h.feed(updates.command("renamebranch", NAME, "第四党支部", user_id=ADMIN))
    assert "is now called 第四党支部" in h.last_reply(ADMIN)
    assert "branch.create" in _audits(h) and "branch.rename" in _audits(h)
    await h.feed(updates.command("newbranch", "X", "Mars/Base", user_id=ADMIN))
    assert "not a time zone" in h.last_reply(ADMIN)


async def test_settings_change_is_previewed_and_audited(h: Harness) -> None:
    await _create_and_join(h)
    await h.feed(updates.command("settings", user_id=SECRETARY))
    answer = h.last_reply(SECRETARY)
    assert "Time zone: Asia/Shanghai" in answer and "Dues day" in answer
    await _tap(h, SECRETARY, "简体中文")
    assert "→ 简体中文" in h.last_reply(SECRETARY)
    with h.db.read() as s:
        assert s.exec(select(Branch).where(Branch.name == NAME)).one().locale == "en"
    await _tap(h, SECRETARY, "Apply")
    with h.db.read() as s:
        assert s.exec(select(Branch).where(Branch.name == NAME)).one().locale == "zh_CN"
    assert "settings.change" in _audits(h)


async def test_dues_day_and_meeting_reminders_change_the_plan_keeping_its_comments(
    h: Harness,
) -> None:
    await _create_and_join(h)
    await h.feed(updates.command("settings", user_id=SECRETARY))
    assert "Friday of week 4" in h.last_reply(SECRETARY)
    await _tap(h, SECRETARY, "day 5 of the month")
    preview = h.last_reply(SECRETARY)
    assert "moved: Fri, Mar 27 09:00 Membership dues day → Thu, Mar 5 09:00" in preview
    await _tap(h, SECRETARY, "Apply")
    with h.db.read() as s:
        plan = s.exec(select(Branch).where(Branch.name == NAME)).one().plan_toml
    assert plan is not None and "day = 5" in plan
    assert "# 支委会" in plan  # the comments stay
    await h.feed(updates.command("settings", user_id=SECRETARY))
    await _tap(h, SECRETARY, "meetings: 7 days before")
    await _tap(h, SECRETARY, "Apply")
    with h.db.read() as s:
        plan = s.exec(select(Branch).where(Branch.name == NAME)).one().plan_toml
    assert plan is not None and "days_before = 7" in plan and "day = 5" in plan
    await h.feed(updates.command("settings", user_id=SECRETARY))
    assert "-7 d 09:00" in h.last_reply(SECRETARY)
    assert [a for a in _audits(h) if a == "plan.set"] == ["plan.set", "plan.set"]


async def test_a_pending_preview_survives_a_restart(
    h: Harness, db: Database, clock: FrozenClock, api: FakeTelegram
) -> None:
    await _create_and_join(h)
    await h.feed(_document(h, SECRETARY, _gbk(GOOD), "roster.csv"))
    await h.stop()
    restarted = Harness(db, clock, api, h.settings)
    await restarted.start()
    try:
        await _tap(restarted, SECRETARY, "Import")
        assert "张三" in _members(restarted)
    finally:
        await restarted.stop()
        await h.start()  # the fixture stops it again


async def test_a_secretary_changes_only_their_own_branch(h: Harness) -> None:
    await _create_and_join(h)
    seed_branch(h.db, name="一支部", members=[("Wang", 9001, "secretary", None)])
    await h.feed(
        _document(
            h,
            9001,
            _gbk(
                ["name,telegram_id,role,group,dues_amount,status", "Wang,9001,secretary,,1,full"]
            ),
            "roster.csv",
        )
    )
    assert "Roster for 一支部" in h.last_reply(9001)
    await h.feed(updates.command("roster", user_id=9001))
    sent = h.api.sent("sendDocument")[-1]["document"]
    names = [r[0].value for r in load_workbook(io.BytesIO(sent.content)).worksheets[0].iter_rows()]
    assert names == ["name", "Wang"]


async def test_a_text_while_a_preview_is_pending_gets_the_usual_hint(h: Harness) -> None:
    await _create_and_join(h)
    await h.feed(_document(h, SECRETARY, _gbk(GOOD), "roster.csv"))
    import_button = _buttons(h, SECRETARY)[0]["callback_data"]
    await h.feed(updates.message("hello", user_id=SECRETARY))
    assert "I did not ask anything" in h.last_reply(SECRETARY)
    await h.feed(updates.command("cancel", user_id=SECRETARY))
    await h.feed(updates.callback_query(import_button, user_id=SECRETARY))
    assert "no longer valid" in h.answers()[-1]["text"]


async def test_a_plan_change_does_not_send_a_reminder_again(db: Database) -> None:
    """The meeting keeps its date; its lead time changes: the reminder already sent stays sent."""
    from scheduler.dispatch import Dispatcher
    from tests.reminder_support import ScriptedNotifier, meeting_plan, seed

    t0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 3 days before the 5th, 09:00 Shanghai
    ids = seed(db, members=2, plan=meeting_plan())
    first = await Dispatcher(db, ScriptedNotifier(), flush_interval=0.01).run_once(t0)  # type: ignore[arg-type]
    assert first.sent == 2
    changed = meeting_plan(
        reminders='[{ days_before = 7, at = "09:00" }, { days_before = 0, at = "08:00" }]'
    )
    with db.transaction() as s:
        branch = s.get(Branch, ids["branch"])
        assert branch is not None
        uploads.set_plan(s, branch, changed, "plan.toml", now=t0)
    notifier = ScriptedNotifier()
    await Dispatcher(db, notifier, flush_interval=0.01).run_once(t0 + dt.timedelta(hours=1))  # type: ignore[arg-type]
    assert notifier.delivered == []
