"""The product wired together for one store: the ledger (write side) and its views (read side).

The CLI, the demo, the benchmarks and the tests all open a store through ``Workspace``, so
there is one place that knows what ``ledger init`` creates and that the views are caught up
after every write.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING

import psycopg

from ledger.errors import LedgerError, StoreError
from ledger.store.db import Database
from ledger.store.schema import (
    create_functions,
    create_schema_if_missing,
    is_initialised,
    record_version,
    refresh_roles,
)
from ledger.store.settings import StoreSettings
from ledger.store.tokens import create_tokens_table
from ledger.store.vault_tables import create_vault_tables
from ledger.vault_keys import VaultSettings
from projections.references import References
from projections.sqlviews import create_analyst_views, drop_analyst_views
from projections.views import Views, ViewsBehindError

if TYPE_CHECKING:
    from ledger.application import Outcome
    from ledger.facts import FactInput
    from ledger.vault import Vault
    from ledger.writer import Writer

ProgressFn = Callable[[int], None]


class Workspace:
    def __init__(self, settings: StoreSettings, vault: VaultSettings | None = None, *,
                 views_wait_seconds: float | None = None) -> None:
        self.settings = settings
        self.db = Database(settings)
        self.views_wait_seconds = views_wait_seconds
        # No vault settings: no master key, so personal fields are refused (everything else works).
        self.vault_settings = vault or VaultSettings()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Workspace:
        """The store of LEDGER_DATABASE_URL, the vault's master key (LEDGER_VAULT_KEY or
        LEDGER_VAULT_KEY_FILE); LEDGER_VIEWS_WAIT: how many seconds a login that may not write
        the views waits for the projector after a write (default 30)."""
        env = os.environ if env is None else env
        wait = env.get("LEDGER_VIEWS_WAIT")
        try:
            seconds = float(wait) if wait else None
        except ValueError:
            raise StoreError(f"LEDGER_VIEWS_WAIT {wait!r}: expected a number of seconds") from None
        return cls(StoreSettings.from_env(env), VaultSettings.from_env(env),
                   views_wait_seconds=seconds)

    # ---- set-up ---------------------------------------------------------------------------
    def init(self, *, roles: bool = False) -> list[str]:
        """Create or upgrade everything; harmless when run again. Returns the PostgreSQL roles
        that exist (``roles``: create the missing ones first)."""
        try:
            create_schema_if_missing(self.settings)
            from ledger.store.sql import LedgerEvents  # noqa: PLC0415  (see Workspace.ledger)

            ledger = LedgerEvents(self.settings)
            try:
                ledger.recorder.create_table()  # type: ignore[attr-defined]  # both recorders have it
                record_version(self.db)
                drop_analyst_views(self.db)  # they pin the view tables create_tables may replace
                view_tables = self.views.create_tables()
                create_analyst_views(self.db)
                create_tokens_table(self.db)  # the HTTP service's API tokens (hashes only)
                create_vault_tables(self.db)  # personal data, encrypted (docs/personal-data.md)
                create_functions(self.db)
                return refresh_roles(self.db, [*view_tables, "analyst_rulebooks"], create=roles)
            finally:
                ledger.close()
        except psycopg.errors.InsufficientPrivilege:
            raise StoreError(f"{self.settings.user!r} may not create or change the store's tables: "
                             "run `ledger init` as the database owner") from None

    def check_initialised(self) -> None:
        if not is_initialised(self.db):
            raise StoreError(
                f"the store ({self.settings.describe()}) is not initialised: run `ledger init` first"
            )

    @cached_property
    def ledger(self) -> Writer:
        """The write side, loaded when a command first writes: the catalogue, the domain and
        the service are a fifth of a reading command's start-up, which needs none of them."""
        from ledger.writer import Writer  # noqa: PLC0415  (above)

        self.check_initialised()
        return Writer(self.settings)

    @cached_property
    def vault(self) -> Vault:
        """The personal data's vault, loaded when a command first records or reads them: it
        brings the ``cryptography`` package, which a command that only reads figures does not
        need (``ledger.vault_keys``)."""
        from ledger.vault import Vault  # noqa: PLC0415  (above)

        return Vault(self.db, self.vault_settings)

    @cached_property
    def references(self) -> References:
        """The rulebook versions and site facts every figure is read with, read again only when
        one was recorded since (kept for as long as the workspace: a command, or the service)."""
        return References(self.db)

    @cached_property
    def views(self) -> Views:
        if self.views_wait_seconds is None:
            return Views(self.db, references=self.references)
        return Views(self.db, wait_seconds=self.views_wait_seconds, references=self.references)

    # ---- writing ------------------------------------------------------------------------------
    def record(self, fact: FactInput) -> Outcome:
        """One fact through the service (and its personal fields into the vault); raises its
        ``LedgerError`` when it is rejected; the views brought up to date."""
        (outcome,) = list(self.vault.record_many(self.ledger.service.record_each, [fact]))
        if outcome.error is not None:
            raise outcome.error
        self._views_current_or_say_so()
        return outcome

    def record_many(
        self, facts: Iterable[FactInput | LedgerError], *, batch_size: int | None = None
    ) -> Iterator[Outcome]:
        yield from self.record_without_views(facts, batch_size=batch_size)
        self._views_current_or_say_so()

    def record_without_views(
        self, facts: Iterable[FactInput | LedgerError], *, batch_size: int | None = None
    ) -> Iterator[Outcome]:
        """Record facts; their personal fields (if any) go into the vault, never the ledger. The
        views are not brought up to date (the caller does: :meth:`catch_up_after_writing`)."""
        def record(items: Iterable[FactInput | LedgerError]) -> Iterator[Outcome]:
            return self.ledger.record_many(items, batch_size=batch_size)

        yield from self.vault.record_many(record, facts)

    def _views_current_or_say_so(self) -> None:
        problem = self.catch_up_after_writing()
        if problem is not None:
            raise StoreError(problem)

    def catch_up(self, progress: ProgressFn | None = None) -> int:
        """Bring the views up to the ledger's last fact; returns how many facts were applied.

        A read-only store (``StoreSettings.sqlite_read_only``) cannot be caught up: when its
        views are current every reading command works; when they are behind, saying so beats
        showing figures that miss facts."""
        if self.settings.sqlite_read_only() is not None:
            behind = self.views.ledger_head() - self.views.position()
            if behind > 0:
                raise StoreError(
                    f"the store ({self.settings.describe()}) is read-only and its views are "
                    f"{behind:,} facts behind the ledger, so they cannot be brought up to date: "
                    "run `ledger views catch-up` where the store can be written")
            return 0
        return int(self.views.catch_up(progress=progress))

    def catch_up_after_writing(self) -> str | None:
        """Bring the views up to date after facts were recorded: None, or why they are behind.

        The facts are recorded whatever happens here, so a lost connection or a missing
        projector is a one-line message for the caller to print after its report, not an error
        that would hide what was recorded.
        """
        try:
            self.catch_up()
        except ViewsBehindError as exc:
            return f"the facts are recorded, but {exc}"
        except (StoreError, psycopg.Error, sqlite3.Error) as exc:
            self.db.close()
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return (f"the facts are recorded, but the views are behind: bringing them up to date "
                    f"failed ({reason}); run `ledger views catch-up` once the store is reachable")
        return None

    def close(self) -> None:
        if "ledger" in self.__dict__:
            self.ledger.close()
        self.db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
