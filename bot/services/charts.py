"""A picture of the year so far: dues completion by month, attendance by month and party group.

Pure data first (`chart_data`, a constant number of queries), then PNG bytes (`render_png`,
matplotlib's Agg canvas, no pyplot and no global backend state). Labels are drawn only in a
font that has their glyphs: without a CJK font (DejaVu has none), Chinese titles fall back to
English and party groups that DejaVu cannot draw become "G1, G2, ..." with a legend the caller
sends as text. This also keeps matplotlib from warning about missing glyphs.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from dataclasses import dataclass

from sqlmodel import col, select

from bot.i18n import Translator, translator
from bot.services.branch_year import audience_of, load_branch, members_and_groups
from bot.services.overdue import due_months
from bot.services.plan_report import answer_states
from scheduler.records import meeting_record, member_since
from scheduler.recurrence import to_local
from storage.db import Database
from storage.models import DuesPayment, Member, Occurrence, OccurrenceStatus
from storage.sorting import natural_key

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC")  # fmt: skip


@dataclass(frozen=True)
class ChartData:
    """Rates in percent; None where nothing was due or held."""

    year: int
    months: list[int]
    dues: list[float | None]
    groups: list[str]
    attendance: dict[str, list[float | None]]  # group name -> rate per month


@dataclass(frozen=True)
class Chart:
    """The PNG and, when group names were replaced by short codes, the legend as text."""

    png: bytes
    legend: str


def chart_data(db: Database, *, branch_id: int, now: dt.datetime) -> ChartData:
    """Dues completion and attendance rates of the year so far."""
    with db.read() as session:
        ctx = load_branch(session, branch_id, now=now)
        members, groups = members_and_groups(session, branch_id)
        due = [m for m in due_months(ctx) if m[0][0] == ctx.year]
        payments = session.exec(
            select(DuesPayment.member_id, DuesPayment.month)
            .join(Member, col(Member.id) == DuesPayment.member_id)
            .where(Member.branch_id == branch_id, DuesPayment.year == ctx.year)
        ).all()
        first = ctx.local_midnight(dt.date(ctx.year, 1, 1))
        occs = session.exec(
            select(Occurrence).where(
                Occurrence.branch_id == branch_id,
                col(Occurrence.starts_at) >= first,
                col(Occurrence.ends_at) <= now,
                Occurrence.status == OccurrenceStatus.SCHEDULED.value,
            )
        ).all()
        held = [o for o in occs if (i := ctx.item(o.item_id)) and i.kind == "meeting" and o.id]
        answers = answer_states(session, [o.id for o in held if o.id is not None])
    months = list(range(1, ctx.today.month + 1))
    payers = [m for m in members if m.dues_amount > 0]
    paid = {(member, month) for member, month in payments}
    due_set = {month for (_year, month), _at in due}
    dues = [
        100.0 * sum((p.id, month) in paid for p in payers) / len(payers)
        if payers and month in due_set
        else None
        for month in months
    ]
    names = {gid: g.name for gid, g in groups.items()}
    counts: dict[tuple[str, int], list[int]] = {}
    for occ in held:
        month = to_local(occ.starts_at, ctx.tz).month
        for member in audience_of(ctx, occ, members):
            record = meeting_record(
                answers[occ.id or 0].get(member.id or 0),
                member,
                starts_at=occ.starts_at,
                now=now,
                since=member_since(member, ctx.branch),
            )
            if not record.counted or record.on_leave:
                continue  # not expected, or excused (the shared rule, scheduler.records)
            cell = counts.setdefault((names.get(member.group_id or 0, ""), month), [0, 0])
            cell[0] += record.present
            cell[1] += 1
    group_names = sorted({g for g, _m in counts}, key=natural_key)
    attendance = {
        g: [100.0 * c[0] / c[1] if (c := counts.get((g, m))) else None for m in months]
        for g in group_names
    }
    return ChartData(ctx.year, months, dues, group_names, attendance)


@functools.cache
def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, if any."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _drawable(text: str) -> bool:
    return all(ord(ch) < 0x2000 for ch in text)


def render_png(data: ChartData, tr: Translator) -> Chart:
    """Draw the two panels and return the PNG (and a legend for coded group names)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font = cjk_font()
    if font is None and tr.locale_name != "en":
        tr = translator("en", str(tr.tz.zone))
    _ = tr.gettext
    labels = {
        g: g if (font or _drawable(g)) and g else f"G{i}" for i, g in enumerate(data.groups, 1)
    }
    legend = "; ".join(
        f"{code} = {g or _('(no party group)')}" for g, code in labels.items() if code != g
    )
    fig = Figure(figsize=(8, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    family = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    top, bottom = fig.subplots(2, 1, sharex=True)
    for axis in (top, bottom):
        axis.set_ylim(0, 105)
        axis.grid(axis="y", alpha=0.3)
    top.bar(data.months, [v or 0 for v in data.dues], color="#c0392b")
    top.set_title(_("Dues paid, % of members, {year}").format(year=data.year), family=family)
    for group in data.groups:
        values = data.attendance[group]
        points = [(m, v) for m, v in zip(data.months, values, strict=True) if v is not None]
        if points:
            xs, ys = zip(*points, strict=True)
            bottom.plot(xs, ys, marker="o", label=labels[group])
    bottom.set_title(_("Meeting attendance, % present, by party group"), family=family)
    bottom.set_xticks(data.months)
    bottom.set_xlabel(_("Month"), family=family)
    if data.groups:
        bottom.legend(prop={"family": family}, loc="lower left", fontsize="small")
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return Chart(png=out.getvalue(), legend=legend)
