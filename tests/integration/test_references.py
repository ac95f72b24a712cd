"""The rulebook versions and site facts kept between queries (projections.references): read
again exactly when a fact about no household was recorded since, on both engines."""

from __future__ import annotations

import datetime as dt

from ledger.catalogue import parse_fact
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from tests.conftest import init_store
from tests.factdicts import registration, site

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def test_references_are_kept_until_a_fact_about_no_household_is_recorded(
        store_settings: StoreSettings) -> None:
    init_store(store_settings)
    with Workspace(store_settings) as ws:
        ws.record(parse_fact(site("CHAMISHKU")))
        references = ws.views.references
        versions, sites = references.versions(), references.site_facts()

        ws.record(parse_fact(registration("H1")))  # about a household: nothing to read again
        kept = references.versions() is versions and references.site_facts() is sites
        ws.record(parse_fact(site("ESYAN")))

        assert kept
        assert set(ws.views.sites_at(dt.date(2026, 1, 1), NOW)) == {"CHAMISHKU", "ESYAN"}
        assert references.site_facts() is not sites
