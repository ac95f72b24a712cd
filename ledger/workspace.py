"""The product wired together for one store: the ledger (write side) and its views (read side).

The CLI, the demo, the benchmarks and the tests all open a store through ``Workspace``, so
there is one place that knows what ``ledger init`` creates and that the views are caught up
after every write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import cached_property

from ledger.application import BATCH_SIZE, MovementLedger, Outcome
from ledger.errors import LedgerError, StoreError
from ledger.facts import FactInput
from ledger.store.db import Database
from ledger.store.schema import (
    create_schema_if_missing,
    grant_writer_role,
    is_initialised,
    record_version,
)
from ledger.store.settings import StoreSettings
from ledger.store.vault_tables import create_vault_tables
from ledger.vault import Vault, VaultSettings

ProgressFn = Callable[[int], None]


class Workspace:
    def __init__(self, settings: StoreSettings, vault: VaultSettings | None = None) -> None:
        self.settings = settings
        self.db = Database(settings)
        # No vault settings: no master key, so personal fields are refused (everything else works).
        self.vault = Vault(self.db, vault or VaultSettings())

    @classmethod
    def from_env(cls) -> Workspace:
        return cls(StoreSettings.from_env(), VaultSettings.from_env())

    # ---- set-up ---------------------------------------------------------------------------
    def init(self) -> None:
        """Create or upgrade everything; harmless when run again."""
        create_schema_if_missing(self.settings)
        ledger = MovementLedger(self.settings)
        ledger.recorder.create_table()  # type: ignore[attr-defined]  # both SQL recorders have it
        record_version(self.db)
        view_tables = self.views.create_tables()
        create_vault_tables(self.db)
        grant_writer_role(self.db, view_tables)
        ledger.close()

    def check_initialised(self) -> None:
        if not is_initialised(self.db):
            raise StoreError(
                f"the store ({self.settings.describe()}) is not initialised: run `ledger init` first"
            )

    @cached_property
    def ledger(self) -> MovementLedger:
        self.check_initialised()
        return MovementLedger(self.settings)

    @cached_property
    def views(self):  # type: ignore[no-untyped-def]
        from projections.views import Views  # noqa: PLC0415  (read side wired lazily)

        return Views(self.db)

    # ---- writing ------------------------------------------------------------------------------
    def record(self, fact: FactInput) -> Outcome:
        (outcome,) = list(self.record_many([fact], batch_size=1))
        if outcome.error is not None:
            raise outcome.error
        return outcome

    def record_many(
        self, facts: Iterable[FactInput | LedgerError], *, batch_size: int = BATCH_SIZE
    ) -> Iterator[Outcome]:
        """Record facts; their personal fields (if any) go into the vault, never the ledger."""
        def record(items: Iterable[FactInput | LedgerError]) -> Iterator[Outcome]:
            return self.ledger.record_many(items, batch_size=batch_size)

        yield from self.vault.record_many(record, facts)
        self.catch_up()

    def catch_up(self, progress: ProgressFn | None = None) -> int:
        """Bring the views up to the ledger's last fact; returns how many facts were applied."""
        return int(self.views.catch_up(progress=progress))

    def close(self) -> None:
        if "ledger" in self.__dict__:
            self.ledger.close()
        self.db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
