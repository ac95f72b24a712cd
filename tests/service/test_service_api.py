"""Every endpoint of `ledger serve`, over a real uvicorn process, answering what the CLI answers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.store.db import Database
from ledger.store.settings import StoreSettings
from ledger.store.tokens import list_tokens, revoke_token
from tests.e2e.conftest import Cli, write_jsonl
from tests.factdicts import departure, manifested, registration, round_planned, site, voided
from tests.service.conftest import Server, client, token

KOBO = Path(__file__).resolve().parents[1] / "fixtures" / "kobo_rest" / "registration_submission.json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


def camp_facts(org: str) -> list[dict[str, Any]]:
    """Two camps, three households in both registries, a round, one departure in it."""
    facts = [site("CHAMISHKU", recorded_by=org), site("ESYAN", recorded_by=org)]
    for n, (camp, members) in enumerate((("CHAMISHKU", 6), ("CHAMISHKU", 4), ("ESYAN", 5)), 1):
        facts.append(registration(f"H{n}", site_id=camp, members=members))
        facts.append(registration(f"H{n}", site_id=camp, members=members + 1, registry="operational",
                                  registration_ref=f"OPS-H{n}"))
    facts += [round_planned("R1", from_site_ids=["CHAMISHKU"], destination_pcodes=["IQG15Q07"],
                            planned_on="2026-02-01", effective_on="2026-01-20"),
              manifested("H1", "R1", effective_on="2026-01-25"),
              departure("H1", round_id="R1", effective_on="2026-02-15")]
    return facts


def assert_problem(answer: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["request_id"] == answer.headers["x-request-id"]
    assert "Traceback" not in answer.text
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


def test_every_endpoint_answers_with_the_documents_of_the_cli(cli: Cli, server: Server,
                                                                tmp_path: Path) -> None:
    admin = client(server, token(cli, "RWG", "admin"))
    posted = admin.post("/v1/facts", json=camp_facts("RWG"))
    assert posted.status_code == 200, posted.text
    report = posted.json()
    assert (report["total"], report["recorded"], report["rejected"]) == (11, 11, 0)
    assert [r["status"] for r in report["results"]] == ["recorded"] * 11
    k1 = dt.datetime.now(dt.UTC).isoformat()
    late = departure("H3", from_site_id="ESYAN", effective_on="2026-03-01", departure_letter_ref="L-7")
    assert admin.post("/v1/facts", json=late).json()["recorded"] == 1
    server.wait_ready()
    k2 = dt.datetime.now(dt.UTC).isoformat()

    at = {"as_of": "2026-05-01", "known_at": k2}
    pairs: list[tuple[str, dict[str, Any], list[str]]] = [
        ("/v1/views", {"rulebook": "official", **at, "by": "adm1"},
         ["views", "show", "--rulebook", "official", "--as-of", "2026-05-01", "--known-at", k2,
          "--by", "adm1"]),
        ("/v1/views", {"rulebook": "operational", **at, "place": "CHAMISHKU"},
         ["views", "show", "--rulebook", "operational", "--as-of", "2026-05-01", "--known-at", k2,
          "--place", "CHAMISHKU"]),
        ("/v1/reconcile", {**at}, ["reconcile", "--as-of", "2026-05-01", "--known-at", k2]),
        ("/v1/rounds/R1", {**at}, ["rounds", "report", "R1", "--as-of", "2026-05-01",
                                   "--known-at", k2]),
        ("/v1/audit/household/H1", {"known_at": k2}, ["audit", "household", "H1", "--known-at", k2]),
        ("/v1/audit/count", {"rulebook": "official", "status": "idp_in_camp", "place": "ESYAN", **at},
         ["audit", "count", "--rulebook", "official", "--status", "idp_in_camp", "--place", "ESYAN",
          "--as-of", "2026-05-01", "--known-at", k2]),
        ("/v1/audit/diff", {"rulebook": "official", "status": "idp_in_camp", "place": "ESYAN",
                            "as_of": "2026-05-01", "known_at": k1, "vs_known_at": k2},
         ["audit", "diff", "--rulebook", "official", "--status", "idp_in_camp", "--place", "ESYAN",
          "--as-of", "2026-05-01", "--known-at", k1, "--vs-known-at", k2]),
    ]
    same_as_cli = cli.url.startswith("sqlite")  # the documents are built once, whatever the engine
    for path, params, argv in pairs:
        answer = admin.get(path, params=params)
        assert answer.status_code == 200, (path, answer.text)
        if same_as_cli:
            assert answer.json() == cli.json(*argv), path
    diff = admin.get("/v1/audit/diff", params=pairs[-1][1]).json()
    assert diff["change"] == {"households": -1, "individuals": -5}
    assert diff["adds_up"] is True
    # A misspelt camp is refused as the command refuses it (exit 1, the closest known named),
    # not answered with an empty audit trail.
    for path, params, argv in pairs[-2:]:
        misspelt = {**params, "place": "ESYANN"}
        refused = cli(*[("ESYANN" if a == "ESYAN" else a) for a in argv])
        assert refused.code == 1, refused.stderr
        assert "closest known: ESYAN" in refused.stderr
        assert_problem(admin.get(path, params=misspelt), 404, "unknown place 'ESYANN'",
                       "closest known: ESYAN")

    published = admin.post("/v1/figures", params={"rulebook": "official", "as_of": "2026-05-01",
                                                  "by": "adm1"})
    assert published.status_code == 200, published.text
    figure_id = published.json()["figure_id"]
    again = admin.get(f"/v1/figures/{figure_id}").json()
    assert again["still_matches"] is True
    verified = admin.get("/v1/verify").json()
    assert verified["ok"] is True
    assert verified["facts"] == 13
    if same_as_cli:
        assert {**again, "now": None} == {**cli.json("audit", "figure", figure_id), "now": None}
        assert verified == cli.json("verify")

    jsonl = write_jsonl(tmp_path / "more.jsonl", [registration("H9", members=3),
                                                  registration("H10", members=0)])
    with jsonl.open("rb") as upload:
        imported = admin.post("/v1/imports", files={"file": ("more.jsonl", upload)})
    assert imported.status_code == 422  # one record rejected, as `ledger import` exits 1
    body = imported.json()
    assert (body["total"], body["recorded"], body["already_recorded"], body["rejected"]) == (2, 1, 0, 1)
    assert body["file"] == "more.jsonl"
    assert body["first_rejections"] == [{"line": 2, "field": "members",
                                         "error": body["first_rejections"][0]["error"]}]
    if same_as_cli:
        again = json.loads(cli("import", jsonl, "--json").stdout)  # the CLI reads it the same way...
        assert again["first_rejections"][1:] == body["first_rejections"]
        assert "already recorded with different content" in again["first_rejections"][0]["error"]
        # ...but line 1 was recorded by the service as RWG's (recorded_by): not the same fact

    page = admin.get("/report", params={"as_of": "2026-05-01", "place": "ESYAN"})
    assert page.status_code == 200
    assert "id='selectors'" in page.text
    assert "id='place-figures'" in page.text
    metrics = httpx.get(server.url + "/metrics").text
    assert 'ledger_facts_total{outcome="recorded"} 13' in metrics
    assert "ledger_projection_lag_facts 0" in metrics
    assert 'route="/v1/reconcile",status="200"' in metrics
    assert httpx.get(server.url + "/readyz").json()["behind"] == 0
    spec = httpx.get(server.url + "/openapi.json").json()
    assert {"/v1/facts", "/v1/imports", "/v1/kobo/{mapping}", "/v1/views", "/v1/reconcile",
            "/v1/rounds/{round_id}", "/v1/audit/household/{household_id}", "/v1/audit/count",
            "/v1/audit/diff", "/v1/figures", "/v1/figures/{figure_id}", "/v1/verify",
            "/report"} <= spec["paths"].keys()


def test_a_kobo_rest_submission_replayed_twice_is_recorded_once(cli: Cli, server: Server) -> None:
    recorder = client(server, token(cli, "CCCM Duhok", "recorder", "operational"))
    assert recorder.post("/v1/facts", json=camp_facts("CCCM Duhok")[:1]).status_code == 200
    submission = json.loads(KOBO.read_text())
    first = recorder.post("/v1/kobo/registration", json=submission)
    second = recorder.post("/v1/kobo/registration", json=submission)  # Kobo's retry
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["results"][0]["status"] == "recorded"
    assert second.json()["results"][0]["status"] == "already_recorded"
    assert first.json()["results"][0]["source_id"] == submission["_uuid"]
    history = cli.json("audit", "household", "KBR-0001")
    assert len(history["facts"]) == 1
    fact = history["facts"][0]
    assert fact["recorded_by"] == "CCCM Duhok"
    assert fact["details"]["members"] == 3  # the member roster, counted by the mapping
    assert fact["details"]["female"] == 2
    assert_problem(recorder.post("/v1/kobo/nonsense", json=submission), 404, "nonsense")
    without_uuid = {k: v for k, v in submission.items() if k != "_uuid"}
    body = assert_problem(recorder.post("/v1/kobo/registration", json=without_uuid), 422)
    assert "_uuid" in body["first_rejections"][0]["error"]


def test_every_scope_is_enforced_with_clear_refusals(cli: Cli, server: Server) -> None:
    facts = camp_facts("MoMD")
    admin = client(server, token(cli, "MoMD", "admin"))
    assert admin.post("/v1/facts", json=facts[:2]).status_code == 200
    official = client(server, token(cli, "MoMD", "recorder", "official"))
    reader = client(server, token(cli, "RWG", "reader"))
    auditor = client(server, token(cli, "Auditors", "auditor"))

    operational = registration("H7", registry="operational", registration_ref="OPS-H7")
    body = assert_problem(official.post("/v1/facts", json=[registration("H6"), operational]), 403,
                          "only for the official registry", "record 2")
    assert body["type"].endswith("forbidden")
    assert_problem(admin.get("/v1/audit/household/H7"), 404)  # nothing of the refused request
    assert official.post("/v1/facts", json=registration("H6")).status_code == 200
    assert_problem(official.post("/v1/facts", json=registration("H8", recorded_by="UNHCR")), 403,
                   "recorded_by 'UNHCR'", "'MoMD'")
    assert official.post("/v1/facts", json=registration("H8", recorded_by="MoMD")).status_code == 200
    theirs = registration("H8", registry="operational", registration_ref="OPS-H8", source_id="ops-h8")
    assert admin.post("/v1/facts", json=theirs).status_code == 200
    assert_problem(official.post("/v1/facts", json=voided("ops-h8")), 403,
                   "may void household_registered facts only of the official registry")
    ours = official.post("/v1/facts", json=registration("H13", source_id="momd-h13"))
    assert ours.status_code == 200
    assert official.post("/v1/facts", json=voided("momd-h13")).json()["recorded"] == 1

    assert_problem(reader.post("/v1/facts", json=registration("H10")), 403, "cannot record facts")
    assert_problem(reader.post("/v1/kobo/registration", json={}), 403, "cannot record facts")
    assert_problem(reader.post("/v1/imports", files={"file": ("x.jsonl", b"{}\n")}), 403)
    assert_problem(reader.post("/v1/figures", params={"rulebook": "official"}), 403,
                   "cannot publish")
    assert_problem(reader.get("/v1/audit/household/H6"), 403, "cannot read audit trails")
    assert_problem(official.get("/v1/audit/count", params={
        "rulebook": "official", "status": "idp_in_camp", "place": "CHAMISHKU"}), 403)
    assert reader.get("/v1/reconcile").status_code == 200
    assert auditor.get("/v1/audit/household/H6").status_code == 200
    assert_problem(auditor.post("/v1/facts", json=registration("H11")), 403)

    assert_problem(client(server, None).get("/v1/reconcile"), 401, "no token")
    assert_problem(client(server, "mlt_not-a-token").get("/v1/reconcile"), 401, "unknown or revoked")
    with Database(StoreSettings.from_url(cli.url)) as db:
        reader_id = next(t.token_id for t in list_tokens(db) if t.org == "RWG")
        revoke_token(db, reader_id)  # as `ledger tokens revoke` does (tested below)
    assert_problem(reader.get("/v1/reconcile"), 401, "unknown or revoked")

    assert_problem(auditor.get("/v1/views", params={"rulebook": "official", "as_of": "May"}), 422,
                   "as_of: 'May' is not a date")
    assert_problem(auditor.get("/v1/views", params={"rulebook": "nope"}), 422,
                   "unknown rulebook 'nope'")
    assert_problem(auditor.get("/v1/views"), 422, "rulebook")  # missing parameter
    assert_problem(auditor.get("/v1/audit/household/NOBODY"), 404, "NOBODY")
    assert_problem(admin.post("/v1/facts", content=b"{not json",
                              headers={"content-type": "application/json"}), 422)
    assert_problem(admin.get("/v1/nothing-here"), 404, "no such endpoint")
    rejected = assert_problem(admin.post("/v1/facts", json=[registration("H12", members=0)]), 422)
    assert rejected["rejected"] == 1
    assert rejected["first_rejections"][0]["field"] == "members"
    too_many = [registration(f"M{i}") for i in range(2001)]
    assert_problem(admin.post("/v1/facts", json=too_many), 413, "at most 2,000")
    big = httpx.post(server.url + "/v1/facts", content=b"[" + b" " * (11 * 1024 * 1024) + b"]",
                     headers={"content-type": "application/json", **admin.headers})
    assert_problem(big, 413, "larger than")


@pytest.mark.parametrize("store_settings", ["sqlite"], indirect=True)  # PG: every test's tokens
def test_tokens_are_shown_once_and_only_their_hash_is_stored(cli: Cli, sql: Any) -> None:
    created = cli.json("tokens", "create", "--org", "IOM FVM", "--role", "recorder")
    listed = cli.json("tokens", "list")
    assert [(t["org"], t["role"], t["revoked_at"]) for t in listed] == [("IOM FVM", "recorder", None)]
    assert cli.json("tokens", "revoke", listed[0]["token_id"])["revoked_at"] is not None
    assert set(created) >= {"token", "org", "role", "registry"}
    assert (created["org"], created["role"], created["registry"]) == ("IOM FVM", "recorder", None)
    stored = sql("SELECT * FROM ledger_tokens")
    assert len(stored) == 1
    assert created["token"] not in repr(stored)
    bad = cli("tokens", "create", "--org", "X", "--role", "reader", "--registry", "official")
    assert bad.code == 1
    assert "scopes a recorder" in bad.stderr
    assert cli("tokens", "revoke", "nope").code == 1
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        refused = cli("serve", "--port", str(taken.getsockname()[1]), timeout=60)
    assert refused.code == 1
    assert "cannot listen on 127.0.0.1" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert "tokens list" in cli("tokens", "revoke", "nope").stderr


def test_the_command_line_loads_without_the_http_stack() -> None:
    import subprocess
    import sys

    probe = ("import sys, ledger.cli.main; "
             "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'ledger.service') "
             "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"  # `ledger --help` stays fast: only `serve` imports them


@pytest.mark.parametrize("store_settings", ["sqlite"], indirect=True)
def test_the_compose_healthcheck_passes_against_a_ready_service(server: Server) -> None:
    import subprocess
    import sys

    import yaml

    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "compose.yaml").read_text())
    service = compose["services"]["ledger"]
    assert "ledger serve --host 0.0.0.0 --port 8080" in " ".join(service["command"])
    kind, program, *args = service["healthcheck"]["test"]
    assert (kind, program) == ("CMD", "python")
    args = [a.replace("127.0.0.1:8080", f"127.0.0.1:{server.port}") for a in args]
    server.wait_ready()
    assert subprocess.run([sys.executable, *args], check=False, timeout=30).returncode == 0
    server.stop()
    assert subprocess.run([sys.executable, *args], check=False, capture_output=True,
                          timeout=30).returncode != 0  # and fails once it is down
