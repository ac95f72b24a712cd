"""The hash chain over every stored fact, in recorded order (SPEC §5 "Tamper evidence").

A fact's link digest covers its position (notification id), its recorded time, its index
entry (source id, type, subject, effective date, content hash), its stored event (originator,
version, topic, state bytes) and the previous link's digest. Changing any stored byte of any
fact, or removing or reordering one, changes every link from there on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from uuid import UUID

GENESIS = "0" * 64
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def format_time(moment: dt.datetime) -> str:
    """Recorded times are stored and hashed in one fixed UTC format (text-sortable).

    (``TIME_FORMAT``; ``isoformat`` with microseconds writes the same text, several times
    faster than ``strftime``, for every year from 1000 on.)
    """
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def parse_time(value: str | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class FactMeta:
    """The ledger's index entry for one fact, passed to the recorder with its event."""

    source_id: str
    fact_type: str
    subject_id: str
    household_id: str | None
    effective_on: dt.date
    content_hash: str


def link_digest(
    previous: str,
    position: int,
    recorded_at: str,
    meta: FactMeta | None,
    originator_id: UUID | str,
    originator_version: int,
    topic: str,
    state: bytes,
) -> str:
    # previous, then each part after a unit separator, then a record separator and the
    # state's digest: hashed as one buffer (the same bytes as feeding them one by one).
    parts = [previous, str(position), recorded_at, str(originator_id), str(originator_version), topic]
    if meta is not None:
        parts += [meta.source_id, meta.fact_type, meta.subject_id, meta.household_id or "",
                  meta.effective_on.isoformat(), meta.content_hash]
    head = ("\x1f".join(parts) + "\x1e").encode()
    return hashlib.sha256(head + hashlib.sha256(state).digest()).hexdigest()
