"""Charts in Chinese where a CJK font is installed; labels always literal text."""

from __future__ import annotations

import os
import warnings

import pytest

from bot.i18n import translator
from bot.services import charts
from bot.services.charts import ChartData, render_png

NAMES = [
    "第一党小组",
    "$x^2$",
    "a\\b",
    "$unbalanced",
    r"\frac{1}{0}",
    "_hidden",
    "50% 收",
    "Group 2",
]


def _data(groups: list[str]) -> ChartData:
    return ChartData(
        2026, [1, 2, 3], [50.0, None, 75.0], groups, {g: [100.0, None, 50.0] for g in groups}
    )


needs_cjk = pytest.mark.skipif(
    charts.cjk_font() is None and not os.environ.get("CI"),
    reason="no CJK font installed here (CI installs one: fonts-wqy-zenhei)",
)


@needs_cjk
def test_a_cjk_font_is_found_and_chinese_labels_render_without_missing_glyphs() -> None:
    font = charts.cjk_font()
    assert font is not None, "CI must install a CJK font (fonts-wqy-zenhei or fonts-noto-cjk)"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chart = render_png(_data(NAMES), translator("zh_CN", "Asia/Shanghai"))
    assert chart.png.startswith(b"\x89PNG")
    assert [str(w.message) for w in caught] == []  # e.g. "Glyph 20826 missing from font(s)"
    assert chart.legend == ""  # every group drawn under its own name


def test_labels_with_mathtext_syntax_render_as_typed_without_a_font(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chart = render_png(_data(NAMES), translator("zh_CN", "Asia/Shanghai"))
    assert chart.png.startswith(b"\x89PNG")
    assert [str(w.message) for w in caught] == []
    # only what DejaVu cannot draw is coded; "$x^2$", "a\\b" and the rest keep their names
    assert chart.legend == "G1 = 第一党小组; G7 = 50% 收"


def test_the_noto_cjk_ttc_is_recognised_by_its_face_names() -> None:
    assert "Noto Sans CJK JP" in charts.CJK_FONTS  # how matplotlib < 3.11 names its first face
    assert "NotoSansCJK-Regular.ttc" in charts.CJK_FILES
    assert "wqy-zenhei.ttc" in charts.CJK_FILES
