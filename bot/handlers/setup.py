"""A branch set up from the chat: /newbranch and /renamebranch (admins), roster and plan files
sent by the secretary with a preview and [Import]/[Apply] [Cancel], /roster, /plan file,
/plan default and /settings. The use cases are in bot/services/branches.py and uploads.py.
"""

from __future__ import annotations

import io

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.ext import filters

from bot.access import Need
from bot.buttons import Button
from bot.context import BranchContext
from bot.handlers.gate import reply, requires, sender_of
from bot.handlers.taps import answer, edit, on_button, query_of
from bot.render import setup as text
from bot.services import conversation, settings_change, uploads
from bot.services.branches import (
    BranchRefused,
    create_branch,
    parse_new_branch,
    parse_rename,
    rename_branch,
)
from bot.services.roster import RosterError, export_roster
from bot.services.uploads import Refused, UploadRefusal
from scheduler.clock import Clock
from scheduler.plan import DEFAULT_REMINDERS, PlanError, branch_plan
from scheduler.problems import N_, problem
from storage.db import Database
from storage.models import Role

# `/plan file` and `/plan default` (the table tries this before /plan's month|quarter|year)
PLAN_WORDS = filters.Regex(r"^/plan(?:@\w+)?\s+(?:file|default|文件|默认)\s*$")

MANY_INVITES = 10  # more new members than this: their links come as a file
# The time zones /settings offers as buttons (a branch elsewhere is created with its own zone).
TIMEZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "Europe/London", "UTC")
LOCALES = ("zh_CN", "en")


def _arguments(message: Message | None) -> str:
    parts = ((message.text if message else None) or "").split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


# ---------------------------------------------------------------- branches (admins)


async def newbranch_command(update: Update, context: BranchContext) -> None:
    """/newbranch NAME [timezone] [language]: the branch and its secretary's one-time link."""
    assert update.effective_message is not None
    settings = context.services.settings
    try:
        created = create_branch(
            context.db,
            parse_new_branch(_arguments(update.effective_message)),
            admin_telegram_id=sender_of(context).telegram_id,
            default_timezone=settings.default_timezone,
            default_locale=settings.default_locale,
            now=context.clock.now(),
            ttl_days=settings.invite_ttl_days,
        )
    except BranchRefused as error:
        await reply(update, context, text.branch_refused(error, context.tr))
        return
    link = f"https://t.me/{context.bot.username}?start={created.invite.token}"
    await update.effective_message.reply_text(
        text.branch_created(created, link, context.tr),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


async def renamebranch_command(update: Update, context: BranchContext) -> None:
    """/renamebranch OLD NEW."""
    try:
        old, new = parse_rename(_arguments(update.effective_message))
        rename_branch(
            context.db,
            old,
            new,
            admin_telegram_id=sender_of(context).telegram_id,
            now=context.clock.now(),
        )
    except BranchRefused as error:
        await reply(update, context, text.branch_refused(error, context.tr))
        return
    await reply(update, context, text.branch_renamed(old, new, context.tr))


# ---------------------------------------------------------------- files


class SetupFile(filters.MessageFilter):
    """A document that is not the answer to another flow's question (the talk-records form)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__(name="SetupFile")
        self.db, self.clock = db, clock

    def filter(self, message: Message) -> bool:
        """Whether this document is for the setup feature."""
        user, document = message.from_user, message.document
        if user is None or document is None:
            return False
        flow = conversation.active(self.db, user.id, now=self.clock.now())
        return flow is None or flow.flow == uploads.FLOW


def _keyboard(kind: str, nonce: int, tr_yes: str, tr_no: str) -> InlineKeyboardMarkup:
    code = uploads.KIND_CODES[kind]
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    tr_yes, callback_data=Button("su", (code, nonce, 1)).encode()
                ),
                InlineKeyboardButton(tr_no, callback_data=Button("su", (code, nonce, 0)).encode()),
            ]
        ]
    )


@requires(Need.MEMBER)
async def on_document(update: Update, context: BranchContext) -> None:
    """A roster or plan file: refused unless from the branch's secretary in a private chat."""
    message = update.effective_message
    assert message is not None and message.document is not None
    tr, sender = context.tr, sender_of(context)
    chat = update.effective_chat
    document = message.document
    filename = document.file_name or ""
    secretary = sender.role == Role.SECRETARY.value
    setup_file = uploads.file_kind(filename) is not None
    if chat is None or chat.type != ChatType.PRIVATE:
        if secretary and setup_file:  # nothing is read from a file sent in a group
            await message.reply_text(text.upload_refused(UploadRefusal.NOT_SECRETARY, tr))
        return
    if not setup_file and not secretary:
        return  # any other file a member sends is none of this feature's business
    try:
        kind = uploads.check_upload(
            context.db,
            telegram_id=sender.telegram_id,
            filename=filename,
            size=document.file_size,
        )
    except Refused as refused:
        await message.reply_text(text.upload_refused(refused.reason, tr))
        return
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    if len(data) > uploads.MAX_FILE_BYTES:  # the message did not say its size
        await message.reply_text(text.upload_refused(UploadRefusal.TOO_LARGE, tr))
        return
    now = context.clock.now()
    try:
        if kind == uploads.ROSTER:
            roster = uploads.preview_roster(
                context.db, telegram_id=sender.telegram_id, data=data, filename=filename, now=now
            )
            await message.reply_text(
                text.roster_preview(roster, tr),
                reply_markup=_keyboard(
                    uploads.ROSTER, roster.nonce, tr.gettext("Import"), tr.gettext("Cancel")
                ),
            )
            return
        try:
            plan_text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            not_text = PlanError(filename, problem(N_("not UTF-8 text")))
            await message.reply_text(text.plan_refused(not_text, tr))
            return
        plan = uploads.preview_plan(
            context.db, telegram_id=sender.telegram_id, text=plan_text, filename=filename, now=now
        )
        await message.reply_text(
            text.plan_preview(plan, tr),
            reply_markup=_keyboard(
                uploads.PLAN, plan.nonce, tr.gettext("Apply"), tr.gettext("Cancel")
            ),
        )
    except RosterError as error:
        await message.reply_text(text.roster_refused(error.problems, tr))
    except PlanError as error:
        await message.reply_text(text.plan_refused(error, tr))
    except Refused as refused:
        await message.reply_text(text.upload_refused(refused.reason, tr))


async def roster_command(update: Update, context: BranchContext) -> None:
    """/roster: the current roster as XLSX, in the format a roster file is read in."""
    assert update.effective_message is not None
    sender = sender_of(context)
    assert sender.branch_id is not None
    chinese = context.tr.locale_name == "zh_CN"
    data = export_roster(
        context.db, branch_id=sender.branch_id, filename="roster.xlsx", chinese=chinese
    )
    await update.effective_message.reply_document(
        io.BytesIO(data),
        filename="roster.xlsx",
        caption=text.roster_file_caption(context.tr),
    )


async def plan_file_command(update: Update, context: BranchContext) -> None:
    """/plan file: the plan as TOML; /plan default: preview going back to the default plan."""
    message = update.effective_message
    assert message is not None
    sender, tr = sender_of(context), context.tr
    word = _arguments(message).strip().lower()
    if word in ("file", "文件"):
        plan_text, filename = uploads.plan_template(context.db, telegram_id=sender.telegram_id)
        await message.reply_document(
            io.BytesIO(plan_text.encode("utf-8")),
            filename=filename,
            caption=text.plan_file_caption(tr),
        )
        return
    preview = uploads.preview_plan(
        context.db,
        telegram_id=sender.telegram_id,
        text=None,
        filename="default",
        now=context.clock.now(),
    )
    await message.reply_text(
        text.plan_preview(preview, tr),
        reply_markup=_keyboard(
            uploads.PLAN, preview.nonce, tr.gettext("Apply"), tr.gettext("Cancel")
        ),
    )


# ---------------------------------------------------------------- /settings

# /settings button codes: what the second number of an "sg" button indexes.
TIMEZONE, LANGUAGE, DUES_DAY, LEAD = 1, 2, 3, 4


def _button(label: str, code: int, index: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=Button("sg", (code, index)).encode())


async def settings_command(update: Update, context: BranchContext) -> None:
    """/settings: the branch's settings, with a button for each value it can change to."""
    assert update.effective_message is not None
    tr = context.tr
    sender = sender_of(context)
    with context.db.read() as session:
        branch = uploads.secretary_branch(session, sender.telegram_id)
    plan = branch_plan(branch)
    dues = [i for i in plan.items if i.kind == "dues"]
    dues_day = ", ".join(
        text.dues_rule(i.rhythm.day, i.rhythm.weekday, i.rhythm.nth, tr) for i in dues
    )
    leads = []
    for item in plan.items:
        rules = item.reminders or DEFAULT_REMINDERS.get(item.kind, ())
        title = item.title.zh_CN if tr.locale_name == "zh_CN" else item.title.en
        leads.append(f"{title} {text.reminder_rules(rules, tr)}")
    rows = [
        [_button(z, TIMEZONE, n) for n, z in enumerate(TIMEZONES) if z != branch.timezone][:3],
        [
            _button(text.language_name(loc), LANGUAGE, n)
            for n, loc in enumerate(LOCALES)
            if loc != branch.locale
        ],
        [
            _button(text.dues_rule(day, _WEEKDAYS.get(wd or ""), nth, tr), DUES_DAY, n)
            for n, (day, wd, nth) in enumerate(settings_change.DUES_DAYS)
        ],
        [
            _button(text.lead_label(d, tr), LEAD, n)
            for n, d in enumerate(settings_change.LEAD_DAYS)
        ],
    ]
    await update.effective_message.reply_text(
        text.settings_text(
            branch=branch.name,
            timezone=branch.timezone,
            locale=branch.locale,
            dues_day=dues_day or "—",
            leads=leads,
            tr=tr,
        ),
        reply_markup=InlineKeyboardMarkup(rows),
    )


_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


@on_button("sg", need=Need.SECRETARY)
async def on_setting(update: Update, context: BranchContext, tapped: Button) -> None:
    """A /settings button: preview the change with [Apply] / [Cancel]."""
    query = query_of(update)
    tr = context.tr
    code, index = tapped.args
    choices: tuple[object, ...] = {
        TIMEZONE: TIMEZONES,
        LANGUAGE: LOCALES,
        DUES_DAY: settings_change.DUES_DAYS,
        LEAD: settings_change.LEAD_DAYS,
    }.get(code, ())
    if index >= len(choices) or query.message is None:
        await answer(query, text.upload_refused(UploadRefusal.EXPIRED, tr))
        return
    telegram_id, now = sender_of(context).telegram_id, context.clock.now()
    chat_id = query.message.chat.id
    try:
        if code in (DUES_DAY, LEAD):
            with context.db.read() as session:
                branch = uploads.secretary_branch(session, telegram_id)
            current = settings_change.plan_text(branch)
            if code == DUES_DAY:
                changed = settings_change.with_dues_day(current, index)
                source = "settings: dues day"
            else:
                changed = settings_change.with_meeting_lead(current, index)
                source = "settings: meeting reminders"
            preview = uploads.preview_plan(
                context.db, telegram_id=telegram_id, text=changed, filename=source, now=now
            )
            await answer(query, None)
            await context.bot.send_message(
                chat_id,
                text.plan_preview(preview, tr),
                reply_markup=_keyboard(
                    uploads.PLAN, preview.nonce, tr.gettext("Apply"), tr.gettext("Cancel")
                ),
            )
            return
        name = "timezone" if code == TIMEZONE else "locale"
        value = str(choices[index])
        nonce, branch = uploads.keep_setting(
            context.db, telegram_id=telegram_id, name=name, value=value, now=now
        )
    except Refused as refused:
        await answer(query, text.upload_refused(refused.reason, tr))
        return
    except PlanError as error:  # the branch's own plan has no such field to change
        await answer(query, None)
        await context.bot.send_message(chat_id, text.plan_refused(error, tr))
        return
    await answer(query, None)
    old = branch.timezone if name == "timezone" else branch.locale
    await context.bot.send_message(
        chat_id,
        text.setting_preview(name, old, value, tr),
        reply_markup=_keyboard(uploads.SETTINGS, nonce, tr.gettext("Apply"), tr.gettext("Cancel")),
    )


# ---------------------------------------------------------------- confirm / cancel


@on_button("su", need=Need.SECRETARY)
async def on_confirm(update: Update, context: BranchContext, tapped: Button) -> None:
    """[Import] / [Apply] or [Cancel] on a preview."""
    query = query_of(update)
    tr = context.tr
    _code, nonce, yes = tapped.args
    sender = sender_of(context)
    now = context.clock.now()
    if not yes:
        uploads.discard(context.db, telegram_id=sender.telegram_id, nonce=nonce, now=now)
        await answer(query, None)
        await edit(query, text.cancelled(tr))
        return
    try:
        applied = uploads.confirm(
            context.db,
            telegram_id=sender.telegram_id,
            nonce=nonce,
            now=now,
            ttl_days=context.services.settings.invite_ttl_days,
        )
    except Refused as refused:
        await answer(query, text.upload_refused(refused.reason, tr))
        return
    except RosterError as error:  # the branch changed since the preview
        await answer(query, None)
        await edit(query, text.roster_refused(error.problems, tr))
        return
    await answer(query, None)
    if applied.kind == uploads.PLAN:
        await edit(query, text.plan_applied(applied, tr))
    elif applied.kind == uploads.SETTINGS:
        await edit(query, text.setting_applied(applied, tr))
    else:
        await edit(query, text.roster_imported(applied, tr))
        await _send_invites(update, context, applied)


async def _send_invites(update: Update, context: BranchContext, applied: uploads.Applied) -> None:
    assert applied.roster is not None
    invites = applied.roster.invites
    chat = update.effective_chat
    if not invites or chat is None:
        return
    tr = context.tr
    lines = text.invite_lines(invites, context.bot.username)
    heading = text.invites_heading(len(invites), tr)
    if len(invites) > MANY_INVITES:
        await context.bot.send_document(
            chat.id,
            io.BytesIO(("\n".join(lines) + "\n").encode("utf-8")),
            filename="invites.txt",
            caption=heading,
        )
        return
    await context.bot.send_message(
        chat.id,
        "\n".join([heading, "", *lines]),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
