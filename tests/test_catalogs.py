"""The translation catalogs are complete and current for zh_CN and en."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from bot.i18n import SUPPORTED, catalog, translator

ROOT = Path(__file__).resolve().parents[1]
FIELD = re.compile(r"\{(\w*)\}")


def _pipeline() -> ModuleType:
    spec = importlib.util.spec_from_file_location("i18n_pipeline", ROOT / "scripts" / "i18n.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_in_the_code_is_translated_and_nothing_is_stale(tmp_path: Path) -> None:
    """Extract from the code now and compare: a new or changed string without translation fails."""
    pipeline = _pipeline()
    template = pipeline.extract(tmp_path / "messages.pot")
    assert len(template) > 10  # extraction really found the code's strings
    assert pipeline.problems(template) == []


@pytest.mark.parametrize("locale", SUPPORTED)
def test_placeholders_survive_translation(locale: str) -> None:
    pipeline = _pipeline()
    merged = pipeline.merged(locale)
    for message in merged:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(FIELD.findall(ids[0]))
        assert all(set(FIELD.findall(s)) == expected for s in strings), ids[0]


def test_chinese_catalog_really_translates() -> None:
    tr = translator("zh_CN", "Asia/Shanghai")
    assert tr.gettext("all members") == "全体党员"
    assert catalog("en").gettext("all members") == "all members"


def test_missing_catalog_fails_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bot import i18n

    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.catalog.cache_clear()
    try:
        with pytest.raises(i18n.MissingCatalogError):
            i18n.catalog("zh_CN")
    finally:
        monkeypatch.undo()
        i18n.catalog.cache_clear()
