"""Rulebook versions and figure retractions as facts (issue 9 items 4 and 5), without a store."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from ledger.catalogue import parse_fact
from ledger.domain.base import DomainRuleError
from ledger.domain.rulebook import RulebookDefinition
from ledger.errors import InvalidFactError

TOML = 'name = "iris"\n'


def defined(version: int, text: str = TOML, **kw: Any) -> Any:
    data = {"type": "rulebook_defined", "source_id": f"rulebook/iris/v{version}",
            "effective_on": "2026-05-01", "rulebook": "iris", "version": version,
            "definition": text, "digest": hashlib.sha256(text.encode()).hexdigest(), **kw}
    return parse_fact(data, internal=True)


def test_rulebook_versions_follow_each_other_without_gaps() -> None:
    book = RulebookDefinition.create(defined(1))
    book.define(defined(2, TOML + "# v2\n"))

    with pytest.raises(DomainRuleError, match="the next version is 3, not 4") as caught:
        book.define(defined(4, TOML + "# v4\n"))

    assert caught.value.field == "version"
    assert book.version_defined == 2


def test_a_built_in_rulebooks_stream_is_numbered_from_its_first_recorded_version() -> None:
    """The release before numbered a rulebook's stream from its first version (2 for a built-in
    rulebook): its streams went 1, 3, 4... and must still replay and take the next version."""
    book = RulebookDefinition.create(defined(2))
    book.define(defined(3, TOML + "# v3\n"))

    events = book.collect_events()
    assert [e.originator_version for e in events] == [1, 3]
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)
    assert isinstance(replayed, RulebookDefinition)
    assert replayed.version_defined == 3


def test_a_rulebook_version_cannot_be_voided() -> None:
    book = RulebookDefinition.create(defined(1))

    with pytest.raises(DomainRuleError, match="--new-version"):
        book.void(parse_fact({"type": "fact_voided", "source_id": "v", "effective_on": "2026-05-02",
                              "voided_source_id": "rulebook/iris/v1", "reason": "wrong"}))


def test_a_rulebook_definition_carries_the_digest_of_its_text() -> None:
    data = {"type": "rulebook_defined", "source_id": "rulebook/iris/v1",
            "effective_on": "2026-05-01", "rulebook": "iris", "version": 1,
            "definition": TOML, "digest": "0" * 64}

    with pytest.raises(InvalidFactError, match="digest"):
        parse_fact(data, internal=True)


@pytest.mark.parametrize("fact_type", ["rulebook_defined", "figure_retracted"])
def test_only_the_ledger_records_definitions_and_retractions(fact_type: str) -> None:
    with pytest.raises(InvalidFactError, match="recorded only by `ledger "):
        parse_fact({"type": fact_type, "source_id": "x", "effective_on": "2026-05-01"})
