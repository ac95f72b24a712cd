"""The fact types the read side picks out by name: those about sites, rounds and rulebooks.

They are the catalogue's (``ledger.catalogue`` declares each fact type with the aggregate it is
recorded on), written here as plain names so that a command that only reads (``views show``,
``reconcile``) knows them without loading the catalogue, the domain and the input models: a
seventh of such a command's start-up. The catalogue checks when it loads that these are exactly
the fact types it records on each aggregate, and refuses to load otherwise; so a new fact type
about a site, a round or a rulebook is added here too (``docs/adding-a-fact-type.md``).
"""

from __future__ import annotations

SITE_FACTS = ("site_registered", "site_closed")  # recorded on a Site
ROUND_FACTS = ("round_planned", "household_manifested", "household_withdrawn", "round_closed")
RULEBOOK_FACTS = ("rulebook_defined",)  # recorded on a RulebookDefinition
# The facts about no household that every view query reads: rulebook versions and sites, and
# the voids that may strike them.
REFERENCE_FACTS = (*RULEBOOK_FACTS, *SITE_FACTS, "fact_voided")
