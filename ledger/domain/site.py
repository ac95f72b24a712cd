"""A camp or informal site."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.domain.base import DomainRuleError, FactAggregate, FactCreated, FactEvent, payload

if TYPE_CHECKING:
    from ledger.facts import SiteClosed, SiteRegistered

_FORMER = "ledger.domain.site:Site."


class Site(FactAggregate):
    TOPIC = "ledger:Site"
    FORMER_TOPICS = ("ledger.domain.site:Site",)
    KIND = "site"
    if TYPE_CHECKING:  # set by the events' apply (a class annotation would be a dataclass field)
        site_id: str

    @classmethod
    def create(cls, fact: SiteRegistered) -> Site:
        return cls._start(Registered, fact.site_id, **payload(fact))

    @property
    def is_registered(self) -> bool:
        return bool(self.live("site_registered"))

    @property
    def is_closed(self) -> bool:
        return bool(self.live("site_closed"))

    def check_live(self, key: str, field: str) -> None:
        """A site whose registration was voided is not a site a fact may name."""
        if not self.is_registered:
            raise DomainRuleError(f"unknown site '{key}': no live site is recorded with that id",
                                  field=field, not_found=True)

    def register_again(self, fact: SiteRegistered) -> None:
        """A corrected registration, after the earlier one was voided."""
        if self.is_registered:
            raise DomainRuleError(
                f"site '{self.site_id}' is already registered; void that registration first",
                field="site_id",
            )
        self.trigger_event(Reregistered, **payload(fact))

    def close(self, fact: SiteClosed) -> None:
        if self.is_closed:
            raise DomainRuleError(f"site '{self.site_id}' is already closed", field="site_id")
        self.trigger_event(Closed, **payload(fact, "site_id"))  # the stream is the site


class _SiteRegistration(FactEvent):
    site_id: str
    name: str
    kind: str
    location_pcode: str
    authority_adm1: str | None

    def apply(self, site: Site) -> None:
        site.site_id = self.site_id
        site.add_entry(self, "site_registered", name=self.name, kind=self.kind,
                       location_pcode=self.location_pcode, authority_adm1=self.authority_adm1)


class Registered(_SiteRegistration, FactCreated):
    TOPIC = "ledger:Site.Registered"
    FORMER_TOPICS = (_FORMER + "Registered",)


class Reregistered(_SiteRegistration):
    TOPIC = "ledger:Site.Reregistered"
    FORMER_TOPICS = (_FORMER + "Reregistered",)


class Closed(FactEvent):
    TOPIC = "ledger:Site.Closed"
    FORMER_TOPICS = (_FORMER + "Closed",)

    def apply(self, site: Site) -> None:
        site.add_entry(self, "site_closed")
