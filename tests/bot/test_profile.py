"""The bot's description and short description per language, set only when they differ."""

from __future__ import annotations

import re

from bot.handlers.onboarding import set_command_menus
from tests.fakes.bot_api import FakeTelegram
from tests.harness import Harness


def _writes(api: FakeTelegram) -> int:
    return len(api.sent("setMyDescription")) + len(api.sent("setMyShortDescription"))


async def test_descriptions_in_chinese_and_english_set_once(
    harness: Harness, api: FakeTelegram
) -> None:
    await set_command_menus(harness.app.bot, harness.services)
    zh = api.descriptions[("description", "zh")]
    en = api.descriptions[("description", "en")]
    assert re.search(r"[\u4e00-\u9fff]", zh) and "党支部" in zh
    assert en.startswith("This bot helps a Party branch")
    assert api.descriptions[("description", "")] == en  # the harness's default locale is en
    assert len(api.descriptions[("short_description", "zh")]) <= 120
    assert api.descriptions[("short_description", "en")].startswith("Reminders, attendance")
    assert _writes(api) == 6

    await set_command_menus(harness.app.bot, harness.services)  # a restart: nothing differs
    assert _writes(api) == 6
    assert len(api.sent("getMyDescription")) == 6

    api.descriptions[("description", "zh")] = "changed by hand in @BotFather"
    await set_command_menus(harness.app.bot, harness.services)
    assert _writes(api) == 7
    assert api.descriptions[("description", "zh")] == zh
