"""A refused plan's English text (what `branchbot plan set` prints) is word for word as it was
before its reasons became structured; the reason keeps its fields for a translated answer."""

from __future__ import annotations

import pytest

from scheduler.plan import PlanError, parse_plan
from tests.scheduler.test_plan import plan_text


def _refusal(text: str) -> PlanError:
    with pytest.raises(PlanError) as info:
        parse_plan(text, source="plan.toml")
    return info.value


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"time": '"25:00"'},
         """item 'lecture', field 'time': must be a time "HH:MM" between 00:00 and 23:59, """
         "got '25:00'"),
        ({"kind": '"party"'},
         "item 'lecture', field 'kind': unknown value 'party' "
         "(allowed: meeting, dues, talks, paperwork, thought_reports)"),
        ({"rhythm": '{ every = "month", day = 32 }'},
         "item 'lecture', field 'rhythm.day': must be between 1 and 31 or -1, got 32"),
        ({"rhythm": '{ every = "month", day = 1, month = 2 }'},
         """item 'lecture', field 'rhythm.month': unknown key for every = "month" """
         "(allowed: every, months, day, weekday, nth)"),
        ({"rhythm": '{ every = "year", month = 2, day = 30 }'},
         "item 'lecture', field 'rhythm.day': 30 February does not exist"),
        ({"duration_minutes": "0"},
         "item 'lecture', field 'duration_minutes': "
         "a meeting needs a duration of at least 1 minute"),
    ],
)  # fmt: skip
def test_plan_errors_read_as_they_always_have(fields: dict[str, str], expected: str) -> None:
    error = _refusal(plan_text("", **fields))
    assert str(error) == f"plan.toml: {expected}"


def test_a_plan_error_keeps_the_raw_value_for_a_translation() -> None:
    error = _refusal(plan_text("", time='"25:00"'))
    assert (error.item, error.field) == ("lecture", "time")
    assert error.problem.fields == {"raw": "25:00"}
    assert error.message == """must be a time "HH:MM" between 00:00 and 23:59, got '25:00'"""


def test_a_toml_syntax_error_names_the_file() -> None:
    error = _refusal("version = \n")
    assert str(error).startswith("plan.toml: TOML syntax error: ")
    assert error.item is None and error.field is None
