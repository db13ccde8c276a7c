"""The development pipeline's pure rules: dates, refusals, and deadlines under any record order."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.development.rules import (
    RULESET_2014,
    Record,
    Stage,
    Step,
    add_months,
    check,
    china_working_day,
    deadlines,
    notice_end,
    probation_end,
    quorum,
    stage_of,
)

D = dt.date


def rec(n: int, step: Step, on: D, people: tuple[int, ...] = (), **data: object) -> Record:
    return Record(id=n, step=step, on=on, people=people, data=data)


def kinds(records: list[Record], **kw: object) -> dict[str, D]:
    return {d.kind: d.due for d in deadlines(records, **kw)}  # type: ignore[arg-type]


# ------------------------------------------------------------------ calendar


def test_months_clamp_to_the_end_of_shorter_months_and_leap_years() -> None:
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert add_months(D(2028, 1, 31), 1) == D(2028, 2, 29)  # leap year
    assert add_months(D(2028, 2, 29), 12) == D(2029, 2, 28)  # a leap day's anniversary
    assert add_months(D(2026, 8, 31), 6) == D(2027, 2, 28)
    assert add_months(D(2026, 12, 15), 1) == D(2027, 1, 15)
    assert add_months(D(2027, 3, 31), -1) == D(2027, 2, 28)


def test_the_talk_is_due_one_month_after_the_application_even_at_a_month_end() -> None:
    found = deadlines([rec(1, Step.APPLIED, D(2026, 1, 31))])
    [talk] = found
    assert (talk.kind, talk.due) == ("talk", D(2026, 2, 28))
    assert dict(talk.phases) == {
        "ahead": D(2026, 2, 21),
        "due": D(2026, 2, 28),
        "overdue": D(2026, 3, 1),
    }
    assert (
        deadlines([rec(1, Step.APPLIED, D(2026, 1, 31)), rec(2, Step.TALKED, D(2026, 2, 3))]) == []
    )


def test_the_public_notice_counts_chinas_working_days_with_holidays_and_make_up_weekends() -> None:
    # 2024-02-04 (Sunday) was a make-up working day before the Spring Festival holiday
    # (Feb 10-17); a notice begun Friday Feb 2 counts Feb 2, 4, 5, 6, 7 -> ends Wednesday Feb 7.
    assert china_working_day(D(2024, 2, 4))
    assert not china_working_day(D(2024, 2, 12))
    assert notice_end(D(2024, 2, 2), 5, china_working_day) == D(2024, 2, 7)
    # Begun Thursday Feb 8: Feb 8, 9, then the holiday; Sunday Feb 18 was worked -> 18, 19, 20.
    assert notice_end(D(2024, 2, 8), 5, china_working_day) == D(2024, 2, 20)
    # An ordinary week: Monday to Friday.
    assert notice_end(D(2026, 3, 2), 5, china_working_day) == D(2026, 3, 6)


# ------------------------------------------------------------------ stages and checks


def _to_candidate() -> list[Record]:
    return [
        rec(1, Step.APPLIED, D(2025, 1, 10)),
        rec(2, Step.TALKED, D(2025, 2, 1), (7,)),
        rec(3, Step.ACTIVIST, D(2025, 3, 1), (7, 8)),
        rec(4, Step.EXAMINED, D(2025, 9, 1)),
        rec(5, Step.CANDIDATE, D(2026, 3, 2), (7, 8), hours=24, review=True),
    ]


def test_a_candidate_before_a_full_year_as_activist_is_refused_with_the_rule() -> None:
    records = _to_candidate()[:4]
    early = rec(9, Step.CANDIDATE, D(2026, 2, 28), (7, 8), hours=24, review=True)
    refusal = check(records, early)
    assert refusal is not None and refusal.rule == "activist_year"
    assert refusal.facts["date"] == D(2026, 3, 1)
    assert (
        check(records, rec(9, Step.CANDIDATE, D(2026, 3, 1), (7, 8), hours=24, review=True))
        is None
    )


def test_one_contact_one_introducer_short_training_are_refused() -> None:
    applied = [rec(1, Step.APPLIED, D(2025, 1, 10)), rec(2, Step.TALKED, D(2025, 2, 1), (7,))]
    refusal = check(applied, rec(3, Step.ACTIVIST, D(2025, 3, 1), (7,)))
    assert refusal is not None and refusal.rule == "contacts"
    records = _to_candidate()[:4]
    one = rec(9, Step.CANDIDATE, D(2026, 3, 2), (7,), hours=24, review=True)
    assert check(records, one).rule == "introducers"  # type: ignore[union-attr]
    short = rec(9, Step.CANDIDATE, D(2026, 3, 2), (7, 8), hours=20, review=True)
    assert check(records, short).rule == "training"  # type: ignore[union-attr]
    days = rec(9, Step.CANDIDATE, D(2026, 3, 2), (7, 8), days=3, review=True)
    assert check(records, days) is None
    unreviewed = rec(9, Step.CANDIDATE, D(2026, 3, 2), (7, 8), hours=24)
    assert check(records, unreviewed).rule == "review"  # type: ignore[union-attr]


def test_quorum_counts_the_full_members_entitled_not_those_present() -> None:
    assert quorum(10, 6, 0, 0) == (True, True)
    assert quorum(10, 5, 1, 0) == (True, False)  # 5 of 10 is not more than half
    assert quorum(10, 3, 1, 1) == (False, False)  # 5 present of 10: no quorum


def _admitted() -> list[Record]:
    return [
        *_to_candidate(),
        rec(6, Step.NOTICE, D(2026, 3, 9)),
        rec(7, Step.PREREVIEW, D(2026, 3, 20)),
        rec(8, Step.VOTE, D(2026, 4, 10), kind="admission", passed=True, **{"for": 8}),
        rec(9, Step.APPROVED, D(2026, 5, 15)),
    ]


def test_a_vote_needs_the_prereview_and_the_end_of_the_public_notice() -> None:
    records = _to_candidate()
    vote = rec(9, Step.VOTE, D(2026, 3, 20), **{"for": 8})
    assert check(records, vote, entitled=10).rule == "prereview"  # type: ignore[union-attr]
    records += [rec(6, Step.NOTICE, D(2026, 3, 16)), rec(7, Step.PREREVIEW, D(2026, 3, 18))]
    early = check(records, rec(9, Step.VOTE, D(2026, 3, 20), **{"for": 8}), entitled=10)
    assert early is not None and early.rule == "notice" and early.facts["date"] == D(2026, 3, 20)
    assert check(records, rec(9, Step.VOTE, D(2026, 3, 23), **{"for": 8}), entitled=10) is None


def test_probation_runs_a_year_from_the_vote_and_the_conversion_is_reminded() -> None:
    records = _admitted()
    assert stage_of(records) == Stage.PROBATIONARY
    assert probation_end(records) == D(2027, 4, 10)
    [conversion] = deadlines(records)
    assert conversion.kind == "conversion"
    assert dict(conversion.phases)["ahead"] == D(2027, 3, 10)


def test_an_extension_moves_the_end_of_probation_and_is_bounded() -> None:
    records = _admitted()
    short = Record(10, Step.EXTENDED, D(2027, 4, 1), data={"months": 3}, reason="needs time")
    assert check(records, short).rule == "extension"  # type: ignore[union-attr]
    unexplained = Record(10, Step.EXTENDED, D(2027, 4, 1), data={"months": 6})
    assert check(records, unexplained).rule == "reason"  # type: ignore[union-attr]
    ok = Record(10, Step.EXTENDED, D(2027, 4, 1), data={"months": 6}, reason="needs time")
    assert check(records, ok) is None
    extended = [*records, ok]
    assert probation_end(extended) == D(2027, 10, 10)
    [conversion] = deadlines(extended)
    assert (conversion.due, conversion.ordinal) == (D(2027, 10, 10), 2)


def test_a_conversion_vote_that_fails_quorum_is_refused_and_the_deadline_stays() -> None:
    records = _admitted()
    vote = rec(10, Step.VOTE, D(2027, 4, 12), **{"for": 3, "against": 1})
    refusal = check(records, vote, entitled=10)
    assert refusal is not None and refusal.rule == "quorum"
    late = [d.kind for d in deadlines(records)]
    assert late == ["conversion"]
    passed = rec(10, Step.VOTE, D(2027, 4, 12), kind="conversion", passed=True, **{"for": 7})
    assert check(records, passed, entitled=10) is None
    assert deadlines([*records, passed]) == []


def test_the_approval_waits_three_months_or_six_when_extended() -> None:
    records = _admitted()[:-1]
    assert kinds(records) == {"approval": D(2026, 7, 10)}
    longer = Record(20, Step.APPROVAL_EXTENDED, D(2026, 7, 1), reason="higher committee")
    assert kinds([*records, longer]) == {"approval": D(2026, 10, 10)}


def test_examinations_fall_every_half_year_until_the_person_is_a_candidate() -> None:
    base = _to_candidate()[:3]
    assert kinds(base)["exam"] == D(2025, 9, 1)
    assert kinds(base)["ready"] == D(2026, 3, 1)
    examined = [*base, rec(4, Step.EXAMINED, D(2025, 8, 20))]
    assert kinds(examined)["exam"] == D(2026, 3, 1)
    assert "exam" not in kinds(_to_candidate())


def test_an_imported_activist_is_examined_from_the_roster_date() -> None:
    found = kinds([], imported=Stage.ACTIVIST, since=D(2026, 2, 28))
    assert found == {"exam": D(2026, 8, 28), "ready": D(2027, 2, 28)}


# ------------------------------------------------------------------ properties

FULL_PATH = [
    *_admitted(),
    Record(10, Step.EXTENDED, D(2027, 4, 1), data={"months": 6}, reason="r"),
]


def _reminders(records: list[Record]) -> set[tuple[str, int, int, str, D]]:
    return {
        (d.kind, d.anchor, d.ordinal, phase, day)
        for d in deadlines(records, rules=RULESET_2014)
        for phase, day in d.phases
    }


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=len(FULL_PATH)), st.randoms(use_true_random=False))
def test_deadlines_do_not_depend_on_the_order_records_arrive(n: int, rnd: random.Random) -> None:
    records = FULL_PATH[:n]
    shuffled = records[:]
    rnd.shuffle(shuffled)
    assert deadlines(shuffled) == deadlines(records)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=len(FULL_PATH)), st.integers(-40, 40))
def test_a_corrected_date_moves_a_deadline_without_doubling_it(n: int, shift: int) -> None:
    """A one-off step recorded again (a correction) replaces the first: one deadline, moved."""
    records = FULL_PATH[:n]
    last = records[-1]
    corrected = Record(99, last.step, last.on + dt.timedelta(days=shift), last.people,
                       last.data, last.reason)  # fmt: skip
    if last.step in (Step.EXAMINED, Step.VOTE):
        return  # repeated steps: not corrections
    after = deadlines([*records, corrected])
    names = [(d.kind, d.ordinal) for d in after]
    assert len(names) == len(set(names))  # never two of the same deadline
    # The correction counts exactly as if it had been recorded in place of the first.
    assert after == deadlines([*records[:-1], corrected])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, len(FULL_PATH) - 1), min_size=1, max_size=len(FULL_PATH)))
def test_each_step_closes_only_the_deadlines_it_meets(picked: list[int]) -> None:
    """Whatever subset was recorded, every open deadline has one due date, and recording
    the rest of the path closes everything (nothing is left dangling)."""
    records = [FULL_PATH[i] for i in sorted(set(picked))]
    found = deadlines(records)
    assert len({(d.kind, d.ordinal) for d in found}) == len(found)
    done = [*FULL_PATH, rec(11, Step.VOTE, D(2027, 10, 1), kind="conversion", passed=True),
            rec(12, Step.CONVERTED, D(2027, 11, 1))]  # fmt: skip
    assert deadlines(done) == []
    assert stage_of(done) == Stage.FULL
