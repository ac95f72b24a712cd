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
from ledger.store.tokens import create_tokens_table

ProgressFn = Callable[[int], None]


class Workspace:
    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self.db = Database(settings)

    @classmethod
    def from_env(cls) -> Workspace:
        return cls(StoreSettings.from_env())

    # ---- set-up ---------------------------------------------------------------------------
    def init(self) -> None:
        """Create or upgrade everything; harmless when run again."""
        create_schema_if_missing(self.settings)
        ledger = MovementLedger(self.settings)
        ledger.recorder.create_table()  # type: ignore[attr-defined]  # both SQL recorders have it
        record_version(self.db)
        from projections.sqlviews import create_analyst_views, drop_analyst_views  # noqa: PLC0415

        drop_analyst_views(self.db)  # they pin the view tables create_tables may replace
        view_tables = self.views.create_tables()
        create_analyst_views(self.db)
        create_tokens_table(self.db)  # the HTTP service's API tokens (hashes only)
        # the writer refreshes analyst_rulebooks when it adds a rulebook
        grant_writer_role(self.db, [*view_tables, "analyst_rulebooks"])
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
        outcome = self.ledger.record(fact)
        self.catch_up()
        return outcome

    def record_many(
        self, facts: Iterable[FactInput | LedgerError], *, batch_size: int = BATCH_SIZE
    ) -> Iterator[Outcome]:
        yield from self.ledger.record_many(facts, batch_size=batch_size)
        self.catch_up()

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

    def close(self) -> None:
        if "ledger" in self.__dict__:
            self.ledger.close()
        self.db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
