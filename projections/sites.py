"""Sites as every figure groups them: the registration valid at D as known at K.

A camp's location and the authority that runs it decide the district and governorate its
population is reported under. They can change: a wrong ``site_registered`` is voided and a new
one recorded (moving, say, its ``authority_adm1``). Every surface — views, reconcile, audit,
published figures and verify — reads a site the same way, here:

- the site facts known at K (recorded by K), without those voided by K;
- of its live registrations, the latest effective on or before D (ties: the later recorded);
- when none is effective yet by D, the earliest one (a household can only be placed in a camp
  the ledger knows, so a camp never drops out of a grouping for want of a date).

Sites are few (hundreds), so their facts are read at once and the rule is applied at query
time: nothing about a site is baked into the views' household rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ledger.fact_kinds import SITE_FACTS
from ledger.store.db import Cursor, Database
from ledger.store.reading import FactRecord, reference_facts
from projections.bridge import SiteInfo
from projections.fold import live_facts


def site_facts(cur: Cursor, db: Database) -> list[FactRecord]:
    """Every fact that can change a site's registration: few, so read at once."""
    facts = reference_facts(cur, db, (*SITE_FACTS, "fact_voided"))
    site_sources = {f.source_id for f in facts if f.type in SITE_FACTS}
    return [f for f in facts if f.type in SITE_FACTS
            or f.data.get("voided_source_id") in site_sources]


def sites_at(facts: Sequence[FactRecord], as_of: dt.date | None,
             known_at: dt.datetime | None) -> dict[str, SiteInfo]:
    """Each site's registration valid at ``as_of`` (None: the latest) as known at ``known_at``."""
    chosen: dict[str, FactRecord] = {}
    for fact in live_facts(facts, known_at):  # in (effective_on, position) order
        if fact.type != "site_registered":
            continue
        site_id = fact.subject_id
        if site_id not in chosen or as_of is None or fact.effective_on <= as_of:
            chosen[site_id] = fact
    return {
        site_id: SiteInfo(site_id, f.data["name"], f.data["kind"], f.data["location_pcode"],
                          f.data.get("authority_adm1"))
        for site_id, f in chosen.items()
    }
