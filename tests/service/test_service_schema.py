"""schemathesis over /openapi.json against a live `ledger serve`: no input makes it fail (5xx).

Bounded (a few examples per operation, a fixed seed) so it stays a minute or so in CI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.service.conftest import Server, client, token
from tests.service.test_service_api import camp_facts

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.mark.slow
@pytest.mark.parametrize("store_settings", ["sqlite"], indirect=True)  # the schema is one
def test_no_generated_request_makes_the_service_fail(cli: Cli, server: Server, tmp_path: Path) -> None:
    admin = token(cli, "RWG", "admin")
    assert client(server, admin).post("/v1/facts", json=camp_facts("RWG")).status_code == 200
    run = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{server.url}/openapi.json", "-H", f"Authorization: Bearer {admin}",
         "--checks", "not_a_server_error", "--max-examples", "3", "--seed", "2014",
         "--phases", "examples,coverage,fuzzing", "--no-color"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "passed" in run.stdout
    assert "request_failed" not in server.log.read_text()
