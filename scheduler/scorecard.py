"""A branch's scorecard for a period, and its score out of 100: pure functions and data.

The committee above a branch judges it by a few measures (docs/oversight.md): required meetings
held and recorded on time (scheduler/compliance.py), members' meeting attendance, dues paid on
time, talk records and thought reports handed in, members the bot can reach, and development
deadlines missed. The score has a baseline part (底线达标: every required meeting held and
recorded, late or not) and a part per rate (高线倡导), each weighted; missed development
deadlines take points off. The weights are the committee's own (`ScoreConfig`, a TOML text).

A measure with nothing due in the period is not held against the branch: it earns its full
weight, and shows as "—" rather than as a percentage.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from scheduler.compliance import Finding, Tally
from scheduler.problems import N_, Problem


class Measure(enum.StrEnum):
    """The rates a scorecard shows, each with a weight in the score."""

    MEETINGS = "meetings"  # required meetings held and recorded on time
    ATTENDANCE = "attendance"  # members' meeting (党员大会) attendance
    DUES = "dues"  # member-months paid on time
    HANDINS = "handins"  # talk records and thought reports handed in
    REACHABLE = "reachable"  # members the bot can reach


@dataclass(frozen=True)
class Rate:
    """`done` out of `due`; no value when nothing was due."""

    done: int = 0
    due: int = 0

    @property
    def value(self) -> float | None:
        """done / due, or None when nothing was due."""
        return self.done / self.due if self.due else None

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.done + other.done, self.due + other.due)


DEFAULT_WEIGHTS: Mapping[Measure, float] = MappingProxyType({
    Measure.MEETINGS: 20.0,
    Measure.ATTENDANCE: 15.0,
    Measure.DUES: 10.0,
    Measure.HANDINS: 10.0,
    Measure.REACHABLE: 5.0,
})  # fmt: skip


@dataclass(frozen=True)
class ScoreConfig:
    """A committee's weights: the baseline part, one weight per rate, and the development
    penalty (points per missed deadline, at most `development_cap`). Baseline plus the weights
    is the best score (100 by default)."""

    baseline: float = 40.0
    weights: Mapping[Measure, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    development_penalty: float = 2.0
    development_cap: float = 10.0

    @property
    def best(self) -> float:
        """The score of a branch that did everything."""
        return self.baseline + sum(self.weights.values())


class ScoreConfigError(ValueError):
    """A committee's score settings that cannot be used; `problem` says why, translatably."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(problem.english())


_KEYS = ("baseline", "weights", "development_penalty", "development_cap")


def parse_score_config(text: str | None) -> ScoreConfig:
    """Read a committee's score settings (TOML); None or empty: the defaults.

    Example (the defaults)::

        baseline = 40
        development_penalty = 2
        development_cap = 10
        [weights]
        meetings = 20
        attendance = 15
        dues = 10
        handins = 10
        reachable = 5
    """
    if not text or not text.strip():
        return ScoreConfig()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = Problem(N_("not valid TOML: {error}"), {"error": str(exc)})
        raise ScoreConfigError(problem) from exc
    for key in raw:
        if key not in _KEYS:
            raise ScoreConfigError(
                Problem(N_("unknown key {key} (allowed: {allowed})"),
                        {"key": key, "allowed": ", ".join(_KEYS)})
            )  # fmt: skip
    weights = dict(DEFAULT_WEIGHTS)
    table = raw.get("weights", {})
    if not isinstance(table, dict):
        raise ScoreConfigError(Problem(N_("weights must be a table")))
    for key, value in table.items():
        if key not in Measure.__members__.values():
            allowed = ", ".join(m.value for m in Measure)
            raise ScoreConfigError(
                Problem(N_("unknown weight {key} (allowed: {allowed})"),
                        {"key": key, "allowed": allowed})
            )  # fmt: skip
        weights[Measure(key)] = _points(key, value)
    config = ScoreConfig(
        baseline=_points("baseline", raw.get("baseline", 40)),
        weights=MappingProxyType(weights),
        development_penalty=_points("development_penalty", raw.get("development_penalty", 2)),
        development_cap=_points("development_cap", raw.get("development_cap", 10)),
    )
    if config.best <= 0:
        raise ScoreConfigError(Problem(N_("the baseline and the weights add up to nothing")))
    return config


def _points(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1000:
        raise ScoreConfigError(
            Problem(N_("{name} must be a number from 0 to 1000"), {"name": name})
        )
    return float(value)


@dataclass(frozen=True)
class Measures:
    """What one branch did in one period."""

    meetings: Tally
    attendance: Rate
    dues: Rate
    talks: Rate  # party group talk records (谈话记录表) handed in
    reports: Rate  # thought reports (思想汇报) handed in
    members: int  # active members on the roster
    unreachable: int  # of them: never linked, or Telegram refuses to deliver
    development_missed: int  # development deadlines passed without the step recorded

    @property
    def handins(self) -> Rate:
        """Talk records and thought reports together."""
        return self.talks + self.reports

    @property
    def reachable(self) -> Rate:
        """Members the bot can reach."""
        return Rate(self.members - self.unreachable, self.members)

    def rate(self, measure: Measure) -> float | None:
        """The rate of one measure (None: nothing was due)."""
        match measure:
            case Measure.MEETINGS:
                return self.meetings.rate
            case Measure.ATTENDANCE:
                return self.attendance.value
            case Measure.DUES:
                return self.dues.value
            case Measure.HANDINS:
                return self.handins.value
            case Measure.REACHABLE:
                return self.reachable.value


@dataclass(frozen=True)
class Score:
    """A score out of `best` and the points of each part."""

    total: float
    best: float
    baseline: float
    parts: Mapping[Measure, float]
    penalty: float

    @property
    def out_of_100(self) -> float:
        """The score scaled to 100 (the same as `total` with the default weights)."""
        return 100.0 * self.total / self.best if self.best else 0.0


def score(measures: Measures, config: ScoreConfig) -> Score:
    """The score: the baseline if met, each weight times its rate (full when nothing was due),
    less the development penalty (capped); never below 0."""
    baseline = config.baseline if measures.meetings.baseline_met else 0.0
    parts = {}
    for measure, weight in config.weights.items():
        rate = measures.rate(measure)
        parts[measure] = weight * (1.0 if rate is None else rate)
    penalty = min(config.development_cap, config.development_penalty * measures.development_missed)
    total = max(0.0, baseline + sum(parts.values()) - penalty)
    return Score(round(total, 1), config.best, baseline, MappingProxyType(parts), penalty)


@dataclass(frozen=True)
class BranchCard:
    """One branch's scorecard for a period: its measures, score and the findings behind them."""

    branch_id: int
    name: str
    unit_id: int | None
    measures: Measures
    score: Score
    findings: tuple[Finding, ...] = ()


def worst_first(cards: list[BranchCard]) -> list[BranchCard]:
    """Lowest score first; ties by name (code point order, stable in every language)."""
    return sorted(cards, key=lambda c: (c.score.out_of_100, c.name))
