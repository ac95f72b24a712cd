"""The site aggregate's rules (no store)."""

from __future__ import annotations

import pytest

from ledger.catalogue import parse_fact
from ledger.domain.base import DomainRuleError
from ledger.domain.site import Site
from tests.factdicts import fact, site, voided


def test_a_site_cannot_be_closed_twice() -> None:
    camp = Site.create(parse_fact(site("CHAMISHKU")))
    camp.close(parse_fact(fact("site_closed", site_id="CHAMISHKU")))

    with pytest.raises(DomainRuleError) as caught:
        camp.close(parse_fact(fact("site_closed", site_id="CHAMISHKU")))

    assert caught.value.field == "site_id"
    assert camp.is_closed


def test_a_registered_site_cannot_be_registered_again_until_voided() -> None:
    camp = Site.create(parse_fact(site("CHAMISHKU", source_id="site-1")))
    with pytest.raises(DomainRuleError, match="already registered"):
        camp.register_again(parse_fact(site("CHAMISHKU")))

    camp.void(parse_fact(voided("site-1")))
    assert not camp.is_registered
    with pytest.raises(DomainRuleError) as caught:
        camp.check_live("CHAMISHKU", "site_id")
    assert caught.value.not_found
    camp.register_again(parse_fact(site("CHAMISHKU", name="Chamishku camp")))

    assert camp.is_registered
