"""A picture of the year so far: dues completion by month, attendance by month and party group.

Pure data first (`chart_data`, a constant number of queries), then PNG bytes (`render_png`,
matplotlib's Agg canvas, no pyplot and no global backend state). Labels are drawn only in a
font that has their glyphs: with a CJK font (found by family name or by file, see `cjk_font`)
everything is in the reader's language; without one (DejaVu has no Chinese), Chinese titles fall
back to English and party groups that cannot be drawn become "G1, G2, ..." with a legend the
caller sends as text. This also keeps matplotlib from warning about missing glyphs. Labels are
literal text, never mathtext, whatever `$` or `\\` a name contains.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from bot.i18n import Translator, translator
from bot.services.branch_year import audience_of, load_branch, members_and_groups
from bot.services.overdue import due_months
from bot.services.plan_report import answer_states
from scheduler.kinds import ItemKind
from scheduler.records import meeting_record, member_since
from scheduler.recurrence import to_local
from storage.db import Database
from storage.models import DuesPayment, Member, Occurrence, OccurrenceStatus
from storage.sorting import natural_key

# Family names, best first. Debian/Ubuntu's fonts-noto-cjk ships one .ttc whose first face
# matplotlib (< 3.11) registers as "Noto Sans CJK JP": its ideographs serve Chinese as well.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
             "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK JP", "Noto Sans CJK TC",
             "Noto Serif CJK SC", "Noto Serif CJK JP", "SimHei", "Microsoft YaHei", "PingFang SC",
             "Droid Sans Fallback", "AR PL UMing CN")  # fmt: skip
# File names, for fonts installed after matplotlib cached its font list (it does not look
# again), or whose family name is not in the list above.
CJK_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf",
             "SourceHanSansSC-Regular.otf", "SourceHanSansCN-Regular.otf", "wqy-microhei.ttc",
             "wqy-zenhei.ttc", "NotoSerifCJK-Regular.ttc", "simhei.ttf", "msyh.ttc",
             "DroidSansFallbackFull.ttf")  # fmt: skip
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
             "/Library/Fonts", "/System/Library/Fonts", "C:/Windows/Fonts")  # fmt: skip
FALLBACK_FONT = "DejaVu Sans"  # matplotlib's own, always there; no CJK glyphs


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
        held = [
            o for o in occs if (i := ctx.item(o.item_id)) and i.kind == ItemKind.MEETING and o.id
        ]
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


@dataclass(frozen=True)
class Font:
    """A font matplotlib can use by family name, and the file it comes from."""

    name: str
    path: str


@functools.cache
def cjk_font() -> Font | None:
    """An installed font with Chinese glyphs, found by family name or by file, if any."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    found = _by_name(manager.ttflist)
    if found:
        return found
    by_file = {Path(f.fname).name: f for f in manager.ttflist}
    for file_name in CJK_FILES:
        if file_name in by_file:
            return _font(by_file[file_name])
    added = []
    for path in _font_files():
        try:
            manager.addfont(str(path))  # registers its face(s) under their family names
        except (OSError, RuntimeError, ValueError):
            continue
        added += [f for f in manager.ttflist if f.fname == str(path)]
    return _by_name(added) or (_font(added[0]) if added else None)


def _by_name(entries: list[Any]) -> Font | None:
    by_name = {f.name: f for f in entries}
    return next((_font(by_name[name]) for name in CJK_FONTS if name in by_name), None)


def _font(entry: Any) -> Font:
    return Font(entry.name, entry.fname)


def _font_files() -> list[Path]:
    """The CJK_FILES present under the usual font folders, best first."""
    found: dict[str, Path] = {}
    for folder in FONT_DIRS:
        root = Path(folder).expanduser()
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(root):
            for file_name in set(files) & set(CJK_FILES):
                found.setdefault(file_name, Path(dirpath) / file_name)
    return [found[name] for name in CJK_FILES if name in found]


@functools.cache
def _charmap(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(path).get_charmap())


def _drawable(text: str, font: Font | None) -> bool:
    """Whether every character of `text` has a glyph in the fonts the chart uses."""
    from matplotlib import font_manager

    dejavu = _charmap(font_manager.findfont(FALLBACK_FONT))
    cjk = _charmap(font.path) if font else frozenset()
    return all(ord(ch) in dejavu or ord(ch) in cjk for ch in text if not ch.isspace())


def _literal(label: str) -> str:
    """A legend label shown as typed: matplotlib hides labels that start with '_'."""
    return " " + label if label.startswith("_") else label


def render_png(data: ChartData, tr: Translator) -> Chart:
    """Draw the two panels and return the PNG (and a legend for coded group names)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # findfont logs a warning on every title when a font lacks the exact weight asked for
    # (WenQuanYi Zen Hei has only 500): the nearest weight is what we want anyway.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    font = cjk_font()
    if font is None and tr.locale_name != "en":
        tr = translator("en", str(tr.tz.zone))
    _ = tr.gettext
    labels = {g: g if g and _drawable(g, font) else f"G{i}" for i, g in enumerate(data.groups, 1)}
    legend = "; ".join(
        f"{code} = {g or _('(no party group)')}" for g, code in labels.items() if code != g
    )
    fig = Figure(figsize=(8, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    family = [font.name, FALLBACK_FONT] if font else [FALLBACK_FONT]
    # Every text is literal: a group called "$x$" or "a\\b" must not be read as mathtext.
    prop = {"family": family}
    literal = {**prop, "parse_math": False}
    top, bottom = fig.subplots(2, 1, sharex=True)
    for axis in (top, bottom):
        axis.set_ylim(0, 105)
        axis.grid(axis="y", alpha=0.3)
    top.bar(data.months, [v or 0 for v in data.dues], color="#c0392b")
    top.set_title(_("Dues paid, % of members, {year}").format(year=data.year), **literal)
    for group in data.groups:
        values = data.attendance[group]
        points = [(m, v) for m, v in zip(data.months, values, strict=True) if v is not None]
        if points:
            xs, ys = zip(*points, strict=True)
            bottom.plot(xs, ys, marker="o", label=_literal(labels[group]))
    bottom.set_title(_("Meeting attendance, % present, by party group"), **literal)
    bottom.set_xticks(data.months)
    bottom.set_xlabel(_("Month"), **literal)
    if data.groups:
        box = bottom.legend(prop=prop, loc="lower left", fontsize="small")
        for text in box.get_texts():
            text.set_parse_math(False)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return Chart(png=out.getvalue(), legend=legend)


MAX_BARS = 40  # more branches than this: the worst ones drawn, and "N more" said below


@dataclass(frozen=True)
class ScoreBar:
    """One branch's bar: its name, score out of 100 and whether the baseline (底线) was met."""

    name: str
    score: float
    baseline_met: bool


def render_scores(
    bars: list[ScoreBar], tr: Translator, *, period: str, limit: int = MAX_BARS
) -> Chart:
    """Horizontal bars of each branch's score, worst first (at the top), coloured by whether
    the baseline was met. Beyond `limit` branches only the worst are drawn and the chart says
    how many more there are, so 200 branches still give a readable picture. A name the fonts
    cannot draw becomes "B1, B2, ..." with a legend the caller sends as text; every name is drawn
    literally, never as mathtext.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    font = cjk_font()
    if font is None and tr.locale_name != "en":
        tr = translator("en", str(tr.tz.zone))
    _ = tr.gettext
    ordered = sorted(bars, key=lambda b: (b.score, b.name))
    shown, hidden = ordered[:limit], len(ordered) - min(len(ordered), limit)
    labels = [
        b.name if b.name.strip() and _drawable(b.name, font) else f"B{i}"
        for i, b in enumerate(shown, 1)
    ]
    legend = "; ".join(
        f"{code} = {b.name}" for code, b in zip(labels, shown, strict=True) if code != b.name
    )
    # The height grows with the bars (0.3 inch each), within what Telegram shows as a photo.
    fig = Figure(figsize=(8, 1.6 + 0.3 * max(len(shown), 1)), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    family = [font.name, FALLBACK_FONT] if font else [FALLBACK_FONT]
    prop = {"family": family}
    literal: dict[str, Any] = {**prop, "parse_math": False}
    axis = fig.subplots()
    met, unmet = "#27ae60", "#c0392b"
    ys = list(range(len(shown)))
    colours = [met if b.baseline_met else unmet for b in shown]
    axis.barh(ys, [b.score for b in shown], color=colours)
    axis.set_yticks(ys)
    # Long names are cut for the axis (the legend and the workbook have them whole).
    axis.set_yticklabels([_short(label) for label in labels], **literal)
    axis.invert_yaxis()  # the worst at the top
    axis.set_xlim(0, 105)
    axis.grid(axis="x", alpha=0.3)
    for y, bar in zip(ys, shown, strict=True):
        axis.text(bar.score + 1, y, f"{bar.score:.1f}", va="center", fontsize="small",
                  **literal)  # fmt: skip
    axis.set_title(_("Branch scores, {period}").format(period=period), **literal)
    axis.set_xlabel(_("Score out of 100"), **literal)
    handles = [
        Patch(color=met, label=_("baseline met")),
        Patch(color=unmet, label=_("baseline not met")),
    ]
    box = axis.legend(handles=handles, prop=prop, loc="upper right", fontsize="small")
    for text in box.get_texts():
        text.set_parse_math(False)
    if hidden:
        more = tr.ngettext("{n} more branch not shown", "{n} more branches not shown", hidden)
        fig.supxlabel(more.format(n=hidden), **literal)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return Chart(png=out.getvalue(), legend=legend)


def _short(label: str, width: int = 24) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"
