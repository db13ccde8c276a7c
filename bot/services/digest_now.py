"""/digest: the weekly digest now, plus the quorum warning for a general members' meeting soon."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.services.branch_year import NoSuchBranch
from bot.services.development import PipelineEntry, overdue_in
from bot.services.quorum import QuorumWarning, quorum_warnings
from scheduler.digest import Digest, build_digest, digest_facts
from storage import repositories as repo
from storage.db import Database


@dataclass(frozen=True)
class DigestNow:
    """The engine's digest and the quorum warnings of the next three days."""

    digest: Digest
    quorum: list[QuorumWarning]
    development: list[PipelineEntry] = field(default_factory=list)  # missed deadlines


def digest_now(db: Database, *, branch_id: int, now: dt.datetime) -> DigestNow:
    """Build the branch's digest at `now` (a constant number of queries)."""
    with db.read() as session:
        branch = repo.get_branch(session, branch_id)
        if branch is None:
            raise NoSuchBranch(branch_id)
        digest = build_digest(digest_facts(session, branch, now))
        late = overdue_in(session, branch_id=branch_id, now=now)
        return DigestNow(
            digest=digest, quorum=quorum_warnings(session, branch_id, now), development=late
        )
