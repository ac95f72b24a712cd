"""`ledger views follow` stops cleanly on SIGTERM and on Ctrl-C: the views are left at a batch
boundary and up to date with what was recorded before, the exit code is 0, and nothing is
printed but the logs."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest

from ledger.catalogue import parse_fact
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from tests.e2e.conftest import Cli, start_follower, stop_process
from tests.factdicts import registration, site


def record_without_catching_up(cli: Cli, facts: list[dict[str, Any]]) -> None:
    """Through the write side alone (`ledger import` would bring the views up to date itself):
    only the follower can."""
    with Workspace(StoreSettings.from_url(cli.url)) as writer:
        outcomes = list(writer.ledger.record_many(parse_fact(f) for f in facts))
    assert all(o.status == "recorded" for o in outcomes)


def wait_until_current(cli: Cli, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cli.json("views", "status")["behind"] == 0:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_follower_cleanly_with_the_views_current(cli: Cli, sig: int) -> None:
    follower = start_follower(cli.env(), cli.cwd)
    facts = [site(), *(registration(f"H{i}", source_id=f"reg-H{i}") for i in range(50))]
    try:
        record_without_catching_up(cli, facts)
        assert wait_until_current(cli), "the follower applied the facts"
    finally:
        out, err = stop_process(follower, sig)
    assert follower.returncode == 0, err
    assert "Traceback" not in err + out, err
    assert cli.json("views", "status")["behind"] == 0
    assert cli.json("verify", "--views")["ok"] is True

