"""Plan loading and validation: the default plan, the TOML format and every refusal."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from scheduler.plan import (
    DEFAULT_PLAN_PATH,
    DEFAULT_REMINDERS,
    Localized,
    PlanError,
    ReminderRule,
    default_plan,
    load_plan,
    parse_plan,
)

DATA = Path(__file__).parent / "data"
DOCS = Path(__file__).parents[2] / "docs" / "plan-format.md"

HEADER = 'version = 1\nname = { zh_CN = "测试计划", en = "Test plan" }\ncountry = "CN"\n'
BASE_ITEM = {
    "id": '"lecture"',
    "kind": '"meeting"',
    "audience": '"all"',
    "title": '{ zh_CN = "党课", en = "Party lecture" }',
    "rhythm": '{ every = "month", weekday = "fri", nth = 3 }',
    "time": '"15:00"',
    "duration_minutes": "90",
}


def plan_text(extra: str = "", **fields: str | None) -> str:
    """Return a one-item plan; keyword fields replace (or with None, drop) the item's lines."""
    item = {**BASE_ITEM, **fields}
    lines = [f"{key} = {value}" for key, value in item.items() if value is not None]
    return HEADER + "[[items]]\n" + "\n".join(lines) + "\n" + extra


def test_default_plan_contains_every_item_of_the_spec() -> None:
    plan = default_plan()
    assert {(i.id, i.kind, i.audience, i.rhythm.every) for i in plan.items} == {
        ("general_meeting", "meeting", "all", "quarter"),
        ("committee_meeting", "meeting", "committee", "month"),
        ("group_meeting", "meeting", "groups", "month"),
        ("party_lecture", "meeting", "all", "month"),
        ("theme_party_day", "meeting", "all", "month"),
        ("dues", "dues", "all", "month"),
        ("talk_records", "talks", "group_leaders", "quarter"),
        ("admonition_records", "paperwork", "leading_cadres", "quarter"),
        ("thought_reports", "thought_reports", "all", "quarter"),
        ("integrity_meeting", "meeting", "committee", "year"),
    }
    assert plan.country == "CN"
    assert plan.item("party_lecture").rhythm.months == (3, 5, 7, 9, 11, 12)


def test_default_general_meeting_agendas_use_the_seed_wording() -> None:
    meeting = default_plan().item("general_meeting")
    assert meeting.title.zh_CN == "党员大会"
    q1, q2 = meeting.agendas["q1"].zh_CN, meeting.agendas["q2"].zh_CN
    assert q1.startswith("传达学习市委全会精神、市纪委全会精神等")
    assert q1.endswith("审议年度党建工作计划")
    assert q2.startswith("开展党支部换届选举工作")
    assert q2.endswith("研究七一表彰工作")
    assert meeting.agendas["q3"].zh_CN == "讨论和表决接收预备党员"
    assert "民主评议党员" in meeting.agendas["q4"].zh_CN
    assert all(agenda.en for agenda in meeting.agendas.values())


def test_default_theme_party_day_and_lecture_agendas_follow_the_months() -> None:
    plan = default_plan()
    theme, lecture = plan.item("theme_party_day"), plan.item("party_lecture")
    assert "疫情防控" in str(theme.agenda_for(dt.date(2020, 3, 27)))
    assert "不忘初心、牢记使命" in str(theme.agenda_for(dt.date(2020, 4, 24)))
    assert theme.agenda_for(dt.date(2020, 5, 22)) == theme.agenda
    assert "三会一课" in str(theme.agenda)
    assert lecture.agenda_for(dt.date(2020, 5, 15)) == lecture.agendas["5"]
    assert "党章党规党纪教育" in lecture.agendas["5"].zh_CN
    assert "每年至少讲1次党课" in str(lecture.agenda)


def test_default_plan_is_parsed_once() -> None:
    assert default_plan() is default_plan()
    assert DEFAULT_PLAN_PATH.name == "default_plan.toml"


def test_item_without_reminders_gets_the_defaults_for_its_kind() -> None:
    plan = default_plan()
    assert plan.item("dues").reminders == DEFAULT_REMINDERS["dues"]
    assert plan.item("talk_records").reminders == DEFAULT_REMINDERS["talks"]
    assert DEFAULT_REMINDERS["dues"][1] == ReminderRule(3, dt.time(9), only_pending=True)
    assert DEFAULT_REMINDERS["meeting"] == (
        ReminderRule(-3, dt.time(9), only_pending=False),
        ReminderRule(0, dt.time(8), only_pending=False),
    )


def test_days_before_and_days_after_become_signed_offsets() -> None:
    reminders = (
        "[{ days_before = 3, at = '09:00' },"
        " { days_after = 2, at = '18:30', only_pending = true }]"
    )
    item = parse_plan(plan_text(reminders=reminders)).item("lecture")
    assert item.reminders == (
        ReminderRule(-3, dt.time(9), only_pending=False),
        ReminderRule(2, dt.time(18, 30), only_pending=True),
    )


def test_empty_reminders_list_means_no_reminders() -> None:
    assert parse_plan(plan_text(reminders="[]")).item("lecture").reminders == ()


def test_agenda_for_prefers_month_then_quarter_then_default() -> None:
    agendas = """
agenda = { zh_CN = "默认", en = "default" }
[items.agendas]
q2 = { zh_CN = "二季度", en = "Q2" }
5 = { zh_CN = "五月", en = "May" }
"""
    item = parse_plan(plan_text(extra=agendas)).item("lecture")
    assert item.agenda_for(dt.date(2020, 5, 15)) == Localized("五月", "May")
    assert item.agenda_for(dt.date(2020, 6, 19)) == Localized("二季度", "Q2")
    assert item.agenda_for(dt.date(2020, 7, 17)) == Localized("默认", "default")


def test_localized_get_gives_chinese_for_any_locale_but_english() -> None:
    text = Localized(zh_CN="党课", en="Party lecture")
    assert (text.get("en"), text.get("zh_CN"), text.get("fr")) == ("Party lecture", "党课", "党课")


def test_unknown_item_id_raises_key_error() -> None:
    with pytest.raises(KeyError):
        default_plan().item("picnic")


def test_plan_error_names_source_item_and_field() -> None:
    error = PlanError(
        "plan.toml", "30 February does not exist", item="party_lecture", field="rhythm.day"
    )
    assert str(error) == (
        "plan.toml: item 'party_lecture', field 'rhythm.day': 30 February does not exist"
    )
    assert (error.source, error.item, error.field) == ("plan.toml", "party_lecture", "rhythm.day")
    assert str(PlanError("plan.toml", "empty")) == "plan.toml: empty"
    assert str(PlanError("p", "m", field="version")) == "p: field 'version': m"


@pytest.mark.parametrize(
    ("fixture", "item", "field", "fragment"),
    [
        ("wrong_rhythm.toml", "study_day", "rhythm.every", "'fortnight'"),
        ("february_30.toml", "party_lecture", "rhythm.day", "30 February does not exist"),
        ("unknown_audience.toml", "theme_party_day", "audience", "'everyone'"),
        ("duplicate_id.toml", "general_meeting", "id", "duplicate id"),
        ("time_25_00.toml", "committee_meeting", "time", "'25:00'"),
        ("unknown_key.toml", "group_meeting", "colour", "unknown key"),
    ],
)
def test_bad_plan_file_is_refused_naming_file_item_and_field(
    fixture: str, item: str, field: str, fragment: str
) -> None:
    path = DATA / fixture
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: item '{item}', field '{field}': ")
    assert fragment in message
    assert (caught.value.source, caught.value.item, caught.value.field) == (str(path), item, field)


def test_toml_syntax_error_names_file_and_line() -> None:
    path = DATA / "syntax_error.toml"
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert str(caught.value).startswith(f"{path}: TOML syntax error")
    assert re.search(r"line 10\b", str(caught.value))


def test_unreadable_plan_file_is_a_plan_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(PlanError, match=re.escape(f"{missing}: cannot read the plan file")):
        load_plan(missing)


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"rhythm": '{ every = "month", month = 3, weekday = "fri", nth = 3 }'}, "rhythm.month",
         'unknown key for every = "month"'),
        ({"rhythm": '{ every = "year", month = 4, day = 31 }'}, "rhythm.day",
         "31 April does not exist"),
        ({"rhythm": '{ every = "year", month = 13, day = 1 }'}, "rhythm.month",
         "between 1 and 12"),
        ({"rhythm": '{ every = "quarter", month = 4, day = 1 }'}, "rhythm.month",
         "between 1 and 3"),
        ({"rhythm": '{ every = "quarter", day = 1 }'}, "rhythm.month", "is required"),
        ({"rhythm": '{ every = "month", weekday = "fri", nth = 5 }'}, "rhythm.nth", "got 5"),
        ({"rhythm": '{ every = "month", weekday = "friday", nth = 1 }'}, "rhythm.weekday",
         "'friday'"),
        ({"rhythm": '{ every = "month", weekday = "fri" }'}, "rhythm.nth", "weekday and nth"),
        ({"rhythm": '{ every = "month", day = 1, weekday = "fri", nth = 1 }'}, "rhythm.day",
         "not both"),
        ({"rhythm": '{ every = "month", day = 0 }'}, "rhythm.day", "got 0"),
        ({"rhythm": '{ every = "month" }'}, "rhythm.weekday", "needs either day"),
        ({"rhythm": '{ every = "month", months = [], day = 1 }'}, "rhythm.months", "non-empty"),
        ({"rhythm": '{ every = "month", months = [3, 13], day = 1 }'}, "rhythm.months", "got 13"),
        ({"rhythm": '{ every = "month", months = [3, 3], day = 1 }'}, "rhythm.months", "twice"),
        ({"rhythm": '{ every = "once", date = "2020-02-30" }'}, "rhythm.date", "YYYY-MM-DD"),
        ({"rhythm": '{ every = "once", date = 2020-07-01, day = 1 }'}, "rhythm.day", "unknown"),
        ({"time": '"9am"'}, "time", "'9am'"),
        ({"time": '"24:00"'}, "time", "HH:MM"),
        ({"kind": '"picnic"'}, "kind", "'picnic'"),
        ({"duration_minutes": "-30"}, "duration_minutes", "got -30"),
        ({"duration_minutes": None}, "duration_minutes", "meeting needs a duration"),
        ({"title": '{ zh_CN = "党课" }'}, "title.en", "is required"),
        ({"title": '{ zh_CN = "党课", en = "" }'}, "title.en", "non-empty"),
        ({"time": None}, "time", "is required"),
        ({"reminders": "[{ at = '09:00' }]"}, "reminders[1]", "exactly one of"),
        ({"reminders": "[{ days_before = 1, at = '9' }]"}, "reminders[1].at", "HH:MM"),
    ],
)  # fmt: skip
def test_invalid_item_field_is_refused_with_its_name(
    fields: dict[str, str | None], field: str, fragment: str
) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(plan_text("", **fields), source="plan.toml")
    assert caught.value.field == field
    assert str(caught.value).startswith(f"plan.toml: item 'lecture', field '{field}': ")
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("rhythm", "key"),
    [
        ('{ every = "quarter", month = 3, day = -1 }', "5"),
        ('{ every = "month", months = [3, 5], day = 1 }', "q3"),
        ('{ every = "month", day = 1 }', "q5"),
        ('{ every = "year", month = 11, day = 1 }', "12"),
    ],
)
def test_agenda_key_that_does_not_fit_the_rhythm_is_refused(rhythm: str, key: str) -> None:
    extra = f'[items.agendas]\n{key} = {{ zh_CN = "议程", en = "Agenda" }}\n'
    with pytest.raises(PlanError) as caught:
        parse_plan(plan_text(extra=extra, rhythm=rhythm))
    assert caught.value.field == f"agendas.{key}"


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        (HEADER.replace("version = 1", "version = 2") + "items = []", "version", "version 1"),
        (HEADER + "items = []", "items", "non-empty"),
        (HEADER.replace('country = "CN"', 'country = "XX"') + "items = []", "country", "'XX'"),
        (HEADER.replace('en = "Test plan"', 'english = "x"') + "items = []", "name.english",
         "unknown key"),
        (HEADER + "owner = 'me'\nitems = []", "owner", "unknown key"),
    ],
)  # fmt: skip
def test_invalid_top_level_field_is_refused(text: str, field: str, fragment: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, source="plan.toml")
    assert (caught.value.item, caught.value.field) == (None, field)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("bad_id", ["Party Lecture", "", "x" * 33, "讲座"])
def test_bad_id_is_refused_naming_it(bad_id: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(plan_text(id=f'"{bad_id}"'))
    assert (caught.value.item, caught.value.field) == (bad_id, "id")


def test_item_without_a_usable_id_is_named_by_position() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(plan_text(id=None))
    assert (caught.value.item, caught.value.field) == ("#1", "id")


@pytest.mark.parametrize(
    "rhythm",
    [
        '{ every = "month", day = 31 }',
        '{ every = "quarter", month = 2, day = 30 }',
        '{ every = "year", month = 2, day = 29 }',
        '{ every = "month", weekday = "sun", nth = -1 }',
        '{ every = "once", date = 2020-07-01 }',
        '{ every = "once", date = "2020-07-01" }',
    ],
)
def test_days_that_exist_in_some_year_are_accepted(rhythm: str) -> None:
    assert parse_plan(plan_text(rhythm=rhythm)).items[0].rhythm.every


def test_non_meeting_may_have_zero_duration() -> None:
    plan = parse_plan(plan_text(kind='"dues"', duration_minutes=None))
    assert plan.items[0].duration_minutes == 0


def test_plan_without_country_has_no_holiday_country() -> None:
    assert parse_plan(plan_text().replace('country = "CN"\n', "")).country is None


def test_documented_example_plan_parses() -> None:
    """docs/plan-format.md's full example must stay a valid plan."""
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    full = [block for block in blocks if block.startswith("version = 1")]
    assert full, "the docs lost their full example"
    assert parse_plan(full[0], source=str(DOCS)).items
