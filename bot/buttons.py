"""The callback-data codec: short, versioned, stateless strings such as ``at1:42``.

Callback data comes back from the client and a modified client can send anything, so
`Button.parse` is strict and everything it names is re-checked in the database by the use case.
Plain strings, not PTB's arbitrary callback data: its in-memory cache evicts after 1024
buttons and forgets everything on restart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# action code -> number of integer arguments it carries
ACTIONS: dict[str, int] = {
    "at": 1,  # attend: occurrence id
    "lv": 1,  # request leave: occurrence id
    "ci": 1,  # check in: occurrence id
    "pd": 1,  # I paid: dues occurrence id (the month is the occurrence's)
    "pm": 2,  # pay owed months from /dues: year, month
    "tk": 1,  # hand in talk records: talks occurrence id
    "hi": 1,  # hand in one's own quarterly report (a kind of ActedBy.HAND_IN): occurrence id
    "la": 1,  # approve leave: attendance id
    "ld": 1,  # decline leave: attendance id
    "dc": 1,  # confirm a dues payment received: payment id
    "lg": 1,  # language: 0 = zh_CN, 1 = en
    "pg": 2,  # page of a long answer: view code, page number
    "ev": 1,  # pick an event in /attendance: occurrence id
    "mk": 3,  # mark by hand: occurrence id, member id, state code
    "tm": 1,  # toggle a participant in /talks: member id
    "td": 1,  # /talks flow step done: step code
    "nd": 1,  # nudge a party group from /overdue: group id
    "pa": 1,  # pay every owed month from /dues: year
    "ds": 2,  # store an approved dues amount: member id, amount in fen
    "mu": 2,  # record a make-up session (补课): occurrence id, member id
    "rm": 2,  # a member leaves the branch: member id, 1 = transferred out, 2 = removed
    "da": 1,  # confirm every payment listed in /dues review: the highest payment id shown
    "bd": 1,  # how reminders go, asked by /bindgroup: 0 private, 1 group chat, 2 both
    "su": 3,  # a setup preview (roster, plan, settings): kind code, preview number, 1 apply 0 not
    "mr": 2,  # record (or correct) a meeting's record: occurrence id, scope (party group or 0)
    "mc": 2,  # a choice in the meeting-record flow: choice code, member id or 0
    "sg": 2,  # /settings: 1 time zone, 2 language; the index of the chosen value
    "ob": 4,  # open a branch from /branches: branch id, span 0-2, 0 meetings 1 overdue, page
}
VERSION = "1"
MAX_BYTES = 64  # Telegram's limit on callback_data, in UTF-8 bytes
_INT = re.compile(r"^(0|[1-9]\d{0,17})$")


class MalformedButton(ValueError):
    """The callback data is not something this bot produced."""


@dataclass(frozen=True)
class Button:
    """One button's action and its integer arguments."""

    action: str
    args: tuple[int, ...]

    def __post_init__(self) -> None:
        if ACTIONS.get(self.action) != len(self.args) or any(a < 0 for a in self.args):
            raise MalformedButton(f"{self.action}{self.args}")

    @property
    def id(self) -> int:
        """The first argument (the object the button acts on)."""
        return self.args[0]

    @staticmethod
    def pattern(*actions: str) -> str:
        """A regex matching the callback data of these actions (for CallbackQueryHandler)."""
        return rf"^(?:{'|'.join(actions)}){VERSION}:"

    def encode(self) -> str:
        """The callback data string, at most 64 bytes."""
        data = f"{self.action}{VERSION}:" + ":".join(str(a) for a in self.args)
        assert len(data.encode()) <= MAX_BYTES
        return data

    @classmethod
    def parse(cls, raw: str | None) -> Button:
        """Decode callback data; raise MalformedButton on anything we did not produce."""
        if not raw or len(raw.encode("utf-8", "surrogatepass")) > MAX_BYTES:
            raise MalformedButton(raw)
        tag, _, rest = raw.partition(":")
        action, version = tag[:-1], tag[-1:]
        parts = rest.split(":") if rest else []
        if version != VERSION or action not in ACTIONS or not all(_INT.match(p) for p in parts):
            raise MalformedButton(raw)
        return cls(action, tuple(int(p) for p in parts))


def button(action: str, *args: int) -> str:
    """Encode a button's callback data in one call."""
    return Button(action, args).encode()
