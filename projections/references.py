"""The facts about no household that every figure is read with: rulebook versions and sites.

A figure needs the rulebook versions (which one counted at K) and the site facts (which site
registration held at D as known at K): a few hundred facts, read, decoded and (rulebooks are
TOML) parsed by every query. :class:`References` keeps them, and reads them again only when a
fact about no household was recorded since: one look-up of the highest position of such a fact
tells (:func:`ledger.store.reading.reference_head`). The composition root (``ledger.workspace``)
gives its views one; a long-running process (``ledger serve``) keeps it between requests.
"""

from __future__ import annotations

from ledger.store.db import Database
from ledger.store.reading import FactRecord, reference_head
from projections.rulebook_versions import RulebookVersions, load_versions
from projections.sites import site_facts


class References:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._head: int | None = None
        self._versions: RulebookVersions | None = None
        self._sites: list[FactRecord] | None = None

    def _current(self) -> None:
        """Forget what was read when a fact about no household was recorded since."""
        with self.db.cursor() as cur:
            head = reference_head(cur, self.db)
        if head != self._head:
            self._head, self._versions, self._sites = head, None, None

    def versions(self) -> RulebookVersions:
        """Every version of every rulebook (``projections.rulebook_versions``)."""
        self._current()
        if self._versions is None:
            self._versions = load_versions(self.db)
        return self._versions

    def site_facts(self) -> list[FactRecord]:
        """Every fact that can change a site's registration (``projections.sites``)."""
        self._current()
        if self._sites is None:
            with self.db.cursor() as cur:
                self._sites = site_facts(cur, self.db)
        return self._sites
