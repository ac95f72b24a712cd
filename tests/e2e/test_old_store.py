"""ISSUE 12 item 3: a store written by the release before the write-side redesign keeps working.

``tests/fixtures/old_store/`` holds a small ledger written by that release (every fact type, the
vault, published, reported and retracted figures, two rulebook versions, voids, an erasure) as
a SQLite file and as a PostgreSQL dump, the script that made them, and that release's ``--json``
answer to every question asked here. The store must open, verify, and give the same views,
bridges, audit trails, rounds and comparisons; after ``ledger init`` (the upgrade a user runs)
still the same; and facts recorded now about the old aggregates (a household, a round, a
published figure) must land on them, with the whole chain still verifying.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from tests.conftest import PG_DSN
from tests.inprocess import Ledger

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "old_store"
VAULT_KEY = "b2xkLXJlbGVhc2UtZml4dHVyZS10ZXN0LWtleS0zMmI="  # the fixture's own test key
VOLATILE = {"now"}  # `audit figure` says when it re-derived


def _restore_postgres() -> Iterator[str]:
    database = f"old_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**PG_DSN, autocommit=True) as conn:
        conn.execute(SQL("CREATE DATABASE {}").format(Identifier(database)))
    try:
        subprocess.run(["psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "--dbname",
                        f"postgresql://postgres@127.0.0.1:5432/{database}",
                        "--file", str(FIXTURES / "ledger-postgres.sql")],
                       check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:5432/{database}?schema=old_release"
    finally:
        with psycopg.connect(**PG_DSN, autocommit=True) as conn:
            conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(database)))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Ledger, dict[str, Any]]]:
    expected = json.loads((FIXTURES / f"expected-{request.param}.json").read_text(encoding="utf-8"))
    if request.param == "sqlite":
        shutil.copy(FIXTURES / "ledger.db", tmp_path / "ledger.db")
        yield Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"), expected
        return
    for url in _restore_postgres():
        yield Ledger(url), expected


def ask(ledger: Ledger, argv: list[str]) -> Any:
    ran = ledger(*argv, "--json", env={"LEDGER_VAULT_KEY": VAULT_KEY})
    assert ran.code == 0, f"`ledger {' '.join(argv)}` exited {ran.code}: {ran.stderr}"
    answer = ran.json()
    if isinstance(answer, dict):
        answer = {k: v for k, v in answer.items() if k not in VOLATILE}
    return answer


def assert_same_answers(ledger: Ledger, expected: dict[str, Any]) -> None:
    differing = []
    for name, argv in expected["questions"].items():
        then = expected["answers"][name]
        if isinstance(then, dict):
            then = {k: v for k, v in then.items() if k not in VOLATILE}
        if ask(ledger, argv) != then:
            differing.append(name)
    assert not differing, f"answers that changed: {differing}"


def test_an_old_store_opens_verifies_and_answers_as_it_did(old_store: tuple[Ledger, dict[str, Any]]) -> None:
    ledger, expected = old_store
    verified = ask(ledger, ["verify"])
    assert verified["ok"] is True
    assert verified["broken_links"] == 0
    assert_same_answers(ledger, expected)


def test_after_init_an_old_store_takes_new_facts_on_its_old_aggregates(
        old_store: tuple[Ledger, dict[str, Any]], tmp_path: Path) -> None:
    ledger, expected = old_store
    ledger.ok("init")
    assert_same_answers(ledger, expected)
    # Old streams loaded into today's classes and extended: a household (H9: withdrawn from R1,
    # manifested again on R2, departs with it), a round (R2 closed), a reported figure voided
    # and reported again, a published figure retracted.
    facts = [
        {"type": "household_manifested", "source_id": "new-man-R2-H9", "round_id": "R2",
         "household_id": "H9", "effective_on": "2026-02-15"},
        {"type": "household_departed", "source_id": "new-dep-H9", "household_id": "H9",
         "from_site_id": "CHAMISHKU", "pathway": "return", "to_pcode": "IQG15Q02",
         "round_id": "R2", "departure_letter_ref": "L-9", "effective_on": "2026-03-01"},
        {"type": "round_closed", "source_id": "new-round-R2-closed", "round_id": "R2",
         "effective_on": "2026-03-31"},
        {"type": "fact_voided", "source_id": "new-void-dtm", "voided_source_id": "dtm-r13-chamishku",
         "reason": "superseded", "effective_on": "2026-05-03"},
        {"type": "figure_reported", "source_id": "new-dtm-r13-chamishku", "source": "DTM",
         "dataset": "DTM Master List Round 13", "as_of": "2026-04-30", "place": "CHAMISHKU",
         "households": 3, "individuals": 20},
    ]
    path = tmp_path / "new.jsonl"
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    report = ask(ledger, ["import", str(path)])
    assert (report["recorded"], report["rejected"]) == (5, 0), report
    figure = expected["times"]["figure"]
    ledger.ok("figures", "retract", figure, "--reason", "superseded by the May figure")

    history = ask(ledger, ["audit", "household", "H9"])
    assert [f["source_id"] for f in history["facts"]][-2:] == ["new-man-R2-H9", "new-dep-H9"]
    rounds = ask(ledger, ["rounds", "report", "R2"])
    assert (rounds["manifested"], rounds["departed"], rounds["departed_with_letter"]) == (2, 2, 2)
    operational = ask(ledger, ["views", "show", "--rulebook", "operational", "--as-of", "2026-05-01",
                               "--place", "IQG15Q02", "--by", "adm2"])
    assert {(r["status"], r["households"]) for r in operational["rows"]} >= {("returnee", 2)}
    verified = ask(ledger, ["verify"])
    assert verified["ok"] is True
    assert verified["broken_links"] == 0
    assert figure in verified["figures_retracted"]
    # Re-importing the old release's own facts again changes nothing.
    again = ask(ledger, ["import", str(path)])
    assert (again["already_recorded"], again["recorded"]) == (5, 0)
