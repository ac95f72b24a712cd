"""The site aggregate's rules (no store)."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.catalogue import parse_fact
from ledger.domain.base import DomainRuleError
from ledger.domain.site import Site
from tests.factdicts import fact, site, voided


def fields(data: dict[str, Any]) -> dict[str, Any]:
    found = parse_fact(data).fields()
    del found["type"]
    return found


def closing(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in fields(fact("site_closed", site_id="CHAMISHKU", **kw)).items()
            if k != "site_id"}


def test_a_site_cannot_be_closed_twice() -> None:
    camp = Site(**fields(site("CHAMISHKU")))
    camp.close(**closing())

    with pytest.raises(DomainRuleError) as caught:
        camp.close(**closing())

    assert caught.value.field == "site_id"
    assert camp.is_closed


def test_a_registered_site_cannot_be_registered_again_until_voided() -> None:
    camp = Site(**fields(site("CHAMISHKU", source_id="site-1")))
    with pytest.raises(DomainRuleError, match="already registered"):
        camp.register_again(**fields(site("CHAMISHKU")))

    camp.void(**fields(voided("site-1")))
    assert not camp.is_registered
    camp.register_again(**fields(site("CHAMISHKU", name="Chamishku camp")))

    assert camp.is_registered
