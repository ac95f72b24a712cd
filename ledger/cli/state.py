"""The store a command works on, read once from the environment at the edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.workspace import Workspace


@contextmanager
def workspace(*, initialised: bool = True) -> Iterator[Workspace]:
    # The write side and the read side are loaded when a command opens the store, not when the
    # command line starts (`ledger --help` never opens it).
    from ledger.workspace import Workspace  # noqa: PLC0415

    ws = Workspace.from_env()
    try:
        if initialised:
            ws.check_initialised()
        yield ws
    finally:
        ws.close()
