"""Reading and erasing a household's personal data: privileged acts, each one logged.

``show`` and ``erase`` write the access log entry first, so an attempt that fails later is
logged too. ``erase`` records the ``personal_data_erased`` fact before it destroys the key: if
the deletion fails, running ``erase`` again finishes it (the fact is then already recorded).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledger.catalogue import parse_fact
from ledger.domain.household import Household
from ledger.errors import InvalidFactError, NotFoundError
from ledger.store import vault_tables as tables
from ledger.workspace import Workspace


def _household(ws: Workspace, household_id: str) -> Household:
    stream = Household.stream_id(household_id)
    household = ws.ledger.store.load([stream]).get(stream)
    if not isinstance(household, Household):
        raise NotFoundError(f"unknown household '{household_id}': no household is recorded with that id",
                            field="household_id")
    return household


def _erasure(ws: Workspace, household: Household) -> dict[str, Any] | None:
    entries = household.live("personal_data_erased")
    if not entries:
        return None
    entry = entries[-1]
    recorded = tables.erasures(ws.db, [household.household_id]).get(household.household_id)
    return {"on": entry.effective_on.isoformat(), "recorded_at": recorded,
            "reason": entry.data["reason"], "source_id": entry.source_id}


def _purpose(text: str, option: str) -> str:
    value = " ".join(text.split())
    if not value:
        raise InvalidFactError(f"{option} is required: say why (e.g. 'case follow-up, protection "
                               "referral')", field=option)
    if len(value) > 300:
        raise InvalidFactError(f"{option}: at most 300 characters", field=option)
    return value


def show(ws: Workspace, household_id: str, purpose: str) -> dict[str, Any]:
    """Decrypt a household's personal data for ``purpose``; the read is logged first."""
    purpose = _purpose(purpose, "--purpose")
    household = _household(ws, household_id)
    ws.vault.log_access("read", household_id, purpose)
    erased = _erasure(ws, household)
    records = [] if erased else ws.vault.read(household_id)
    return {"household_id": household_id, "erased": erased, "records": records}


def erase(ws: Workspace, household_id: str, reason: str) -> dict[str, Any]:
    """Crypto-shred a household's personal data and record the erasure as a fact."""
    reason = _purpose(reason, "--reason")
    household = _household(ws, household_id)
    ws.vault.log_access("erase", household_id, reason)
    already = _erasure(ws, household)
    position = None
    if already is None:
        fact = parse_fact({
            "type": "personal_data_erased", "household_id": household_id, "reason": reason,
            "source_id": f"erasure:{household_id}",
            "effective_on": dt.datetime.now(dt.UTC).date().isoformat(),
        }, internal=True)
        position = ws.record(fact).position
    keys = ws.vault.destroy_keys(household_id)
    erased = _erasure(ws, _household(ws, household_id))
    return {"household_id": household_id, "erased": erased, "already_erased": already is not None,
            "keys_destroyed": keys, "position": position}
