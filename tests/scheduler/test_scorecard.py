"""The score formula and a committee's score settings."""

from __future__ import annotations

import pytest

from scheduler.compliance import Tally
from scheduler.scorecard import (
    BranchCard,
    Measure,
    Measures,
    Rate,
    ScoreConfig,
    ScoreConfigError,
    parse_score_config,
    score,
    worst_first,
)


def measures(**changes: object) -> Measures:
    base: dict[str, object] = {
        "meetings": Tally(on_time=10),
        "attendance": Rate(18, 20),
        "dues": Rate(50, 50),
        "talks": Rate(4, 4),
        "reports": Rate(0, 0),
        "members": 20,
        "unreachable": 0,
        "development_missed": 0,
    }
    base.update(changes)
    return Measures(**base)  # type: ignore[arg-type]


def test_a_branch_that_did_everything_scores_100() -> None:
    perfect = measures(attendance=Rate(20, 20))
    assert score(perfect, ScoreConfig()).total == 100.0


def test_the_baseline_is_lost_by_one_missed_meeting_and_rates_are_weighted() -> None:
    result = score(measures(meetings=Tally(on_time=9, missed=1)), ScoreConfig())
    # no baseline (40); meetings 20 * 0.9; attendance 15 * 0.9; the rest full
    assert result.baseline == 0.0
    assert result.total == pytest.approx(18 + 13.5 + 10 + 10 + 5, abs=0.05)


def test_a_late_record_keeps_the_baseline_but_not_the_meeting_rate() -> None:
    result = score(measures(meetings=Tally(on_time=1, late=1)), ScoreConfig())
    assert result.baseline == 40.0 and result.parts[Measure.MEETINGS] == 10.0


def test_nothing_due_earns_the_full_weight_and_development_misses_cost_points_capped() -> None:
    card = measures(attendance=Rate(0, 0), development_missed=9)
    result = score(card, ScoreConfig())
    assert result.parts[Measure.ATTENDANCE] == 15.0
    assert result.penalty == 10.0 and result.total == 90.0


def test_unreachable_members_lower_the_reachable_rate() -> None:
    result = score(measures(unreachable=5, attendance=Rate(20, 20)), ScoreConfig())
    assert result.parts[Measure.REACHABLE] == pytest.approx(3.75)


def test_committee_settings_change_the_weights_and_bad_ones_are_refused() -> None:
    config = parse_score_config("baseline = 50\n[weights]\nmeetings = 50\nreachable = 0\n")
    assert config.baseline == 50 and config.weights[Measure.MEETINGS] == 50
    assert config.best == 50 + 50 + 15 + 10 + 10 + 0
    result = score(measures(attendance=Rate(20, 20)), config)
    assert result.out_of_100 == 100.0
    for bad, why in (
        ("baseline = 'x'", "baseline"),
        ("[weights]\nbeauty = 3", "beauty"),
        ("colour = 1", "colour"),
        ("baseline = ", "TOML"),
        ("baseline = -1", "baseline"),
    ):
        with pytest.raises(ScoreConfigError, match=why):
            parse_score_config(bad)
    assert parse_score_config(None) == ScoreConfig()


def test_worst_first() -> None:
    good = BranchCard(1, "b", None, measures(), score(measures(), ScoreConfig()))
    bad_measures = measures(meetings=Tally(not_recorded=1))
    bad = BranchCard(2, "a", None, bad_measures, score(bad_measures, ScoreConfig()))
    assert [c.branch_id for c in worst_first([good, bad])] == [2, 1]
