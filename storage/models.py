"""Every table of branchbot, in one module (SQLModel's advice for related models).

Instants are aware UTC (`UTCDateTime`), money is `Decimal` yuan (`Money`), local calendar
facts (a dues month, a quarter) are plain integers. Unique constraints make double records
impossible at the database, not only in Python.
"""

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import Money, UTCDateTime


class Role(enum.StrEnum):
    """What a member may do in their branch."""

    MEMBER = "member"
    GROUP_LEADER = "group_leader"
    COMMITTEE = "committee"
    SECRETARY = "secretary"


class MemberStatus(enum.StrEnum):
    """Full members vote; probationary members do not count for a quorum."""

    FULL = "full"
    PROBATIONARY = "probationary"
    # Not yet members (发展党员): never counted in quorum or dues, never sent members' items.
    APPLICANT = "applicant"
    ACTIVIST = "activist"
    CANDIDATE = "candidate"


class DeliveryMode(enum.StrEnum):
    """Where a branch's reminders go."""

    DIRECT = "direct"
    GROUP = "group"
    BOTH = "both"


class OccurrenceStatus(enum.StrEnum):
    """An occurrence is scheduled (possibly moved) or cancelled."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class AttendanceState(enum.StrEnum):
    """A member's answer to, and presence at, one occurrence."""

    ATTENDING = "attending"
    LEAVE_REQUESTED = "leave_requested"
    LEAVE_APPROVED = "leave_approved"
    LEAVE_DECLINED = "leave_declined"
    PRESENT = "present"
    ABSENT = "absent"


class DeliveryStatus(enum.StrEnum):
    """Life of one ledger row: pending → sending → sent | failed | skipped | unknown."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"


class OrgLevel(enum.StrEnum):
    """A Party organisation above branches: a committee (党委) or a general branch (总支)."""

    COMMITTEE = "committee"
    GENERAL_BRANCH = "general_branch"


class OrgRole(enum.StrEnum):
    """A seat at committee or general-branch level; both see every branch below the unit."""

    SECRETARY = "secretary"
    ORGANISATION = "organisation"  # 组织委员


class OrgUnit(SQLModel, table=True):
    """A Party committee (党委) or general branch (总支) with the branches below it.

    A committee has no parent; a general branch's parent is its committee. A branch belongs to
    one unit (`Branch.org_unit_id`), directly to a committee or through a general branch.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=200)
    level: str = Field(default=OrgLevel.COMMITTEE.value, max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="orgunit.id", index=True)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    locale: str = Field(default="zh_CN", max_length=8)
    # The committee's scorecard weights (TOML, docs/oversight.md); None: the defaults.
    score_toml: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class OrgPerson(SQLModel, table=True):
    """Someone with a seat at a committee or general branch; not necessarily a branch member.

    One Telegram account may hold seats at several units (and be a branch member besides).
    """

    __table_args__ = (UniqueConstraint("unit_id", "name", name="uq_org_person_name"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="orgunit.id", index=True)
    name: str = Field(max_length=200)
    role: str = Field(default=OrgRole.SECRETARY.value, max_length=16)
    telegram_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True, index=True)
    )
    locale: str | None = Field(default=None, max_length=8)
    active: bool = Field(default=True)
    linked_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    unreachable_reason: str | None = Field(default=None, max_length=200)
    unreachable_since: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )


class Branch(SQLModel, table=True):
    """A branch: its zone, language, group chat and (optionally) its own plan."""

    # A group chat belongs to one branch (NULLs are distinct on SQLite and PostgreSQL).
    __table_args__ = (Index("uq_branch_group_chat", "group_chat_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=200)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    locale: str = Field(default="zh_CN", max_length=8)
    group_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    delivery_mode: str = Field(default=DeliveryMode.DIRECT.value, max_length=8)
    plan_toml: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # Days leave reasons, make-up notes and talk summaries are kept; None keeps them for good.
    retention_days: int | None = Field(default=None)
    # The branch's first local day: nothing before it is owed, counted, listed or exported.
    # Set on the first import (that day, or `import --since DATE`); None reads as created_at.
    starts_on: dt.date | None = Field(default=None)
    # The committee or general branch above the branch (None: not attached to one).
    org_unit_id: int | None = Field(default=None, foreign_key="orgunit.id", index=True)


class PartyGroup(SQLModel, table=True):
    """A party group (党小组) inside a branch."""

    __table_args__ = (UniqueConstraint("branch_id", "name", name="uq_party_group_name"),)

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    name: str = Field(max_length=200)


class Member(SQLModel, table=True):
    """A person on a branch's roster, linked to a Telegram account or not yet."""

    __table_args__ = (UniqueConstraint("branch_id", "name", name="uq_member_name"),)

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    name: str = Field(max_length=200)
    # Linked by numeric user id, never by username (usernames change hands).
    telegram_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True, unique=True, index=True)
    )
    role: str = Field(default=Role.MEMBER.value, max_length=16)
    group_id: int | None = Field(default=None, foreign_key="partygroup.id", index=True)
    dues_amount: Decimal = Field(default=Decimal("0.00"), sa_column=Column(Money, nullable=False))
    status: str = Field(default=MemberStatus.FULL.value, max_length=16)
    locale: str | None = Field(default=None, max_length=8)
    active: bool = Field(default=True)
    linked_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    # Set when Telegram answered 403/400 for this chat; cleared when they /start again.
    unreachable_reason: str | None = Field(default=None, max_length=200)
    unreachable_since: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    # When and how the member left (transfer | removed); their Telegram account is unlinked.
    left_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    left_how: str | None = Field(default=None, max_length=16)
    # The local day the member joined the branch's roster after its start (None: from the start).
    joined_on: dt.date | None = Field(default=None)


class Invite(SQLModel, table=True):
    """A one-time invite deep link; only the token's hash is stored.

    It links a roster member (`member_id`) or a committee-level seat (`org_person_id`).
    """

    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    org_person_id: int | None = Field(default=None, foreign_key="orgperson.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_by: int | None = Field(default=None, foreign_key="member.id")


class Occurrence(SQLModel, table=True):
    """One occurrence of a plan item, materialised so it can be moved, cancelled and answered."""

    __table_args__ = (
        UniqueConstraint("branch_id", "item_id", "key", name="uq_occurrence_key"),
        Index("ix_occurrence_branch_starts", "branch_id", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    item_id: str = Field(max_length=32)
    key: str = Field(max_length=16)  # the planned local date, ISO; stable across moves
    starts_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    ends_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    planned_starts_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(default=OccurrenceStatus.SCHEDULED.value, max_length=16)
    changed_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )


class Attendance(SQLModel, table=True):
    """A member's answer to one occurrence; one row per member per occurrence."""

    __table_args__ = (UniqueConstraint("occurrence_id", "member_id", name="uq_attendance"),)

    id: int | None = Field(default=None, primary_key=True)
    occurrence_id: int = Field(foreign_key="occurrence.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    state: str = Field(max_length=16)
    leave_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    checked_in_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    decided_by: int | None = Field(default=None, foreign_key="member.id")
    made_up_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    made_up_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class DuesPayment(SQLModel, table=True):
    """One month's dues of one member: declared by the member, confirmed by the treasurer."""

    __table_args__ = (UniqueConstraint("member_id", "year", "month", name="uq_dues_month"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    year: int
    month: int
    amount: Decimal = Field(sa_column=Column(Money, nullable=False))
    declared_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    confirmed_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    confirmed_by: int | None = Field(default=None, foreign_key="member.id")


class TalkRecord(SQLModel, table=True):
    """A party group's heart-to-heart talk records for one quarter (谈话记录表)."""

    __table_args__ = (UniqueConstraint("group_id", "year", "quarter", name="uq_talk_quarter"),)

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    group_id: int = Field(foreign_key="partygroup.id", index=True)
    submitted_by: int = Field(foreign_key="member.id")
    year: int
    quarter: int
    talks: int
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    file_id: str | None = Field(default=None, max_length=256)
    submitted_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    late: bool = Field(default=False)


class TalkParticipant(SQLModel, table=True):
    """A member who took part in a quarter's talks."""

    __table_args__ = (UniqueConstraint("record_id", "member_id", name="uq_talk_participant"),)

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="talkrecord.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)


class Delivery(SQLModel, table=True):
    """The delivery ledger: one row per reminder per recipient, claimed before sending."""

    __table_args__ = (Index("ix_delivery_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # The idempotency key; one row per reminder per recipient. Kinds and keys:
    #   remind  r:<occurrence>:<rule>:m<member> | r:<occurrence>:<rule>:g (the group chat)
    #   digest  d:<branch>:<iso year>-W<week>:m<member>
    #   change  c:<occurrence>:<n-th change>:m<member>   (moved or cancelled)
    #   nudge   n:<group>:<local date>:m<member>
    #   minutes m:<occurrence>:<scope>:<ask|follow>@<UTC yyyymmddHHMM>:m<member>
    #           (the ask to record a meeting, and its follow-up: scheduler/minutes.py)
    #   oversight  o:<unit>:<iso year>-W<week>:p<org person>   (a committee's weekly digest to
    #           one seat holder; member_id is None, payload names the person and the unit, and
    #           branch_id is the first branch below the unit, as the column is NOT NULL)
    key: str = Field(max_length=120, unique=True, index=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    kind: str = Field(max_length=16)
    occurrence_id: int | None = Field(default=None, foreign_key="occurrence.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    due_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(default=DeliveryStatus.PENDING.value, max_length=16)
    attempts: int = Field(default=0)
    claimed_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    sent_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    error: str | None = Field(default=None, max_length=300)
    # Extra facts the message needs (JSON), e.g. the old start time of a moved event.
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class AuditEntry(SQLModel, table=True):
    """Who changed what, when: every secretary action and every manual mark."""

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="member.id")
    action: str = Field(max_length=40)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Conversation(SQLModel, table=True):
    """The step a person is at in a multi-step flow, kept so it survives a restart."""

    __table_args__ = (UniqueConstraint("telegram_id", name="uq_conversation_user"),)

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    updated_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class DevelopmentRecord(SQLModel, table=True):
    """One recorded step of a person's way into the Party (发展党员), with its date and people.

    Append-only: a one-off step recorded again is a correction (the latest counts); `reason`
    is the required reason of an exception the rules allow, shown in the register.
    """

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    step: str = Field(max_length=24)
    on: dt.date
    people: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # member ids
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_by: int | None = Field(default=None, foreign_key="member.id")
    recorded_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ThoughtReport(SQLModel, table=True):
    """A member's written thought report (思想汇报) for one quarter: its text or the Telegram
    file id of a photo or document (the file stays with Telegram)."""

    __table_args__ = (
        UniqueConstraint("member_id", "year", "quarter", name="uq_thought_report_quarter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    year: int
    quarter: int
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    file_id: str | None = Field(default=None, max_length=256)
    photo: bool = Field(default=False)  # the file is a photo, else a document
    handed_in_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    amended_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    late: bool = Field(default=False)  # first handed in after the quarter's deadline


class MeetingMinutes(SQLModel, table=True):
    """The record that a meeting was held (or not): topic, host, recorder, decisions.

    One per occurrence and scope: a party group meeting is recorded by each group on its own
    (`scope` is the group's id), every other meeting once (`scope` 0). Who was present is not
    copied here: it is the meeting's attendance (check-ins, leave, hand marks), read through
    scheduler/records.py like every other view.
    """

    __table_args__ = (
        UniqueConstraint("occurrence_id", "scope", name="uq_minutes_scope"),
        Index("ix_minutes_branch_recorded", "branch_id", "recorded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    occurrence_id: int = Field(foreign_key="occurrence.id", index=True)
    scope: int = Field(default=0)
    group_id: int | None = Field(default=None, foreign_key="partygroup.id")
    held: bool = Field(default=True)
    # Why it was not held (held=False).
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    topic: str = Field(default="", sa_column=Column(Text, nullable=False))
    host_id: int | None = Field(default=None, foreign_key="member.id")
    recorder_id: int | None = Field(default=None, foreign_key="member.id")
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    recorded_by: int | None = Field(default=None, foreign_key="member.id")
    recorded_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    amended_at: dt.datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    amended_by: int | None = Field(default=None, foreign_key="member.id")


class MinutesAttachment(SQLModel, table=True):
    """A photo or document kept with a meeting's record (the file stays with Telegram)."""

    id: int | None = Field(default=None, primary_key=True)
    minutes_id: int = Field(foreign_key="meetingminutes.id", index=True)
    file_id: str = Field(max_length=256)
    photo: bool = Field(default=False)  # a photo, else a document
    # What it shows: "minutes" (会议记录), "sign_in" (签到表) or "other".
    what: str = Field(default="minutes", max_length=16)
    added_by: int | None = Field(default=None, foreign_key="member.id")
    added_at: dt.datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
