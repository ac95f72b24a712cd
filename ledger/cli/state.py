"""The store a command works on, read once from the environment at the edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ledger.store.settings import StoreSettings
from ledger.vault import VaultSettings
from ledger.workspace import Workspace


@contextmanager
def workspace(*, initialised: bool = True) -> Iterator[Workspace]:
    ws = Workspace(StoreSettings.from_env(), VaultSettings.from_env())
    try:
        if initialised:
            ws.check_initialised()
        yield ws
    finally:
        ws.close()
