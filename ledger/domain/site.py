"""A camp or informal site."""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.domain import event

from ledger.domain.base import DomainRuleError, FactAggregate, aggregate_id


class Site(FactAggregate):
    @staticmethod
    def create_id(site_id: str, **_: Any) -> Any:
        return aggregate_id("site", site_id)

    @event("Registered")
    def __init__(
        self,
        *,
        site_id: str,
        name: str,
        kind: str,
        location_pcode: str,
        authority_adm1: str | None,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._init_entries()
        self.site_id = site_id
        self._add(source_id, "site_registered", effective_on, name=name, kind=kind,
                  location_pcode=location_pcode, authority_adm1=authority_adm1)

    def register_again(self, **fields: Any) -> None:
        """A corrected registration, after the earlier one was voided."""
        if self.is_registered:
            raise DomainRuleError(
                f"site '{self.site_id}' is already registered; void that registration first",
                field="site_id",
            )
        self._reregistered(**fields)

    @event("Reregistered")
    def _reregistered(
        self,
        *,
        site_id: str,
        name: str,
        kind: str,
        location_pcode: str,
        authority_adm1: str | None,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "site_registered", effective_on, name=name, kind=kind,
                  location_pcode=location_pcode, authority_adm1=authority_adm1)

    @property
    def is_registered(self) -> bool:
        return bool(self.live("site_registered"))

    @property
    def is_closed(self) -> bool:
        return bool(self.live("site_closed"))

    def close(
        self, *, source_id: str, effective_on: dt.date, recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        if self.is_closed:
            raise DomainRuleError(f"site '{self.site_id}' is already closed", field="site_id")
        self._closed(
            source_id=source_id, effective_on=effective_on, recorded_by=recorded_by,
            source_document=source_document,
        )

    @event("Closed")
    def _closed(
        self, *, source_id: str, effective_on: dt.date, recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "site_closed", effective_on)
