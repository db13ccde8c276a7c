"""Talk-record files: too big or of an unexpected type is refused clearly; only the id is kept."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from bot.services.files import MAX_FORM_BYTES, SentFile, check_form_file
from storage.models import TalkRecord
from tests.bot.answers_fixtures import seed_started
from tests.bot.test_talks import LEADER, NOW, _skip_to_file
from tests.fakes import updates
from tests.harness import Harness


def _document(**fields: Any) -> dict[str, Any]:
    message = updates.message_dict(None, user_id=LEADER)
    message["document"] = {"file_id": "doc-id", "file_unique_id": "d1", **fields}
    return {"update_id": updates.next_update_id(), "message": message}


def _photo(size: int) -> dict[str, Any]:
    message = updates.message_dict(None, user_id=LEADER)
    message["photo"] = [
        {"file_id": "big-photo", "file_unique_id": "p1", "width": 9000, "height": 9000,
         "file_size": size},
    ]  # fmt: skip
    return {"update_id": updates.next_update_id(), "message": message}


def _record(h: Harness) -> TalkRecord | None:
    with h.db.read() as s:
        return s.exec(select(TalkRecord)).first()


@pytest.mark.parametrize(
    ("update", "says"),
    [
        (_document(file_name="setup.exe", mime_type="application/x-msdownload"), "cannot be kept"),
        (_document(file_name="form.pdf", mime_type="text/html"), "cannot be kept"),
        (_document(file_name="form.docm"), "cannot be kept"),
        (_document(file_name="scan.pdf", mime_type="application/pdf", file_size=MAX_FORM_BYTES + 1),
         "too big (20.0 MB)"),
        (_photo(MAX_FORM_BYTES * 2), "too big (40.0 MB)"),
    ],
)  # fmt: skip
async def test_unexpected_files_are_refused_and_the_flow_waits(
    harness: Harness, update: dict[str, Any], says: str
) -> None:
    w = seed_started(harness)
    harness.clock.set(NOW)
    await _skip_to_file(harness, w)
    await harness.feed(update)
    assert says in harness.last_reply(LEADER)
    assert _record(harness) is None  # nothing saved; the form may still be sent
    await harness.feed(_document(file_name="scan.PDF", mime_type="application/pdf", file_size=9))
    record = _record(harness)
    assert record is not None and record.file_id == "doc-id"


@pytest.mark.parametrize(
    ("sent", "ok"),
    [
        (SentFile("x", photo=True), True),
        (SentFile("x", photo=False, name="form.jpeg"), True),
        (SentFile("x", photo=False, mime_type="IMAGE/PNG", name="noext"), True),
        (SentFile("x", photo=False), False),
        (SentFile("x", photo=False, mime_type="application/zip", name="form.pdf"), False),
        (SentFile("x", photo=False, name="form.pdf", size=MAX_FORM_BYTES), True),
    ],
)
def test_form_file_rules(sent: SentFile, ok: bool) -> None:
    assert (check_form_file(sent) is None) is ok
