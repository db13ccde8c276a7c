"""Why a file was refused, as data: a message id and its fields, translated only when shown.

A plan or roster error is read by two kinds of people: whoever runs the command line (who
gets the English text, `str(problem)`) and a branch secretary in Telegram (who gets it in
their own language: the bot renders `msgid` through their catalog, then fills the fields).
Kept here, Telegram- and Babel-free, so the scheduler can use it without importing the bot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


def N_(message: str) -> str:
    """Mark a constant for extraction (`scripts/i18n.py` extracts `N_`); translated when shown."""
    return message


@dataclass(frozen=True)
class Problem:
    """One reason a file is refused: `msgid` (English, with named `{fields}`) and its values.

    `quoted` names the fields the English text shows as Python literals ('abc', [1, 2]), as
    the command line always has; a translation puts its own quotes around them. `line` is the
    file's line number, when the problem is about one line. A msgid that is not marked (text
    from code that does not yet say why in structured form) has no fields and is shown as is.
    """

    msgid: str
    fields: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    line: int | None = None
    quoted: frozenset[str] = frozenset()

    def english(self) -> str:
        """The reason in English, without the line number."""
        if not self.fields:
            return self.msgid
        return self.msgid.format(
            **{k: repr(v) if k in self.quoted else v for k, v in self.fields.items()}
        )

    def __str__(self) -> str:
        """The English text the command line prints, e.g. "line 3: name is empty"."""
        return self.english() if self.line is None else f"line {self.line}: {self.english()}"


def problem(
    msgid: str, /, *, line: int | None = None, quoted: tuple[str, ...] = (), **fields: object
) -> Problem:
    """A Problem with these fields; `line` and `quoted` as in Problem."""
    return Problem(msgid, MappingProxyType(dict(fields)), line=line, quoted=frozenset(quoted))
