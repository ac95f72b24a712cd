"""Load and faults over loopback: concurrent clients, a client that hangs up mid-request, a server
restarted (and stopped by SIGTERM) while clients retry. Nothing is lost, nothing is duplicated."""

from __future__ import annotations

import datetime as dt
import json
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.service.middleware import json_bytes
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from ledger.writer import Writer
from projections.documents import bridge_document
from projections.queries import reconcile
from tests.conftest import init_store
from tests.e2e.conftest import Cli
from tests.factdicts import parsed, registration, site
from tests.service.conftest import Server, client, token

ORG = "CCCM Duhok"
SQL = Any


def households(prefix: str, n: int) -> list[dict[str, Any]]:
    return [registration(f"{prefix}-{i:04d}", source_id=f"reg-{prefix}-{i:04d}", members=1 + i % 7,
                         recorded_by=ORG) for i in range(n)]


def fact_count(sql: SQL) -> int:
    return int(sql("SELECT count(*) FROM ledger_facts")[0][0])


def source_ids(sql: SQL) -> list[str]:
    return sorted(r[0] for r in sql("SELECT source_id FROM ledger_facts"))


def post_until_answered(url: str, bearer: str, facts: list[dict[str, Any]]) -> dict[str, Any]:
    """A client that retries until the service answers (through restarts and refusals)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            answer = httpx.post(url + "/v1/facts", json=facts, timeout=30,
                                headers={"Authorization": f"Bearer {bearer}"})
            if answer.status_code == 200:
                return dict(answer.json())
            assert answer.status_code >= 500, answer.text  # only a server in trouble is retried
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the service never answered"
        time.sleep(0.05)


@pytest.mark.slow
def test_sixteen_concurrent_clients_lose_nothing_and_duplicate_nothing(
        cli: Cli, server: Server, sql: SQL) -> None:
    bearer = token(cli, ORG, "recorder")
    assert client(server, bearer).post("/v1/facts", json=[site(recorded_by=ORG)]).status_code == 200
    shared = households("SHARED", 10)  # every client posts these too, all at once
    own = {c: households(f"C{c:02d}", 20) for c in range(16)}
    start = threading.Barrier(16)
    answers: dict[int, list[dict[str, Any]]] = {}

    def run(c: int) -> None:
        start.wait()
        mine = [post_until_answered(server.url, bearer, shared)]
        for batch in range(0, 20, 10):
            mine.append(post_until_answered(server.url, bearer, own[c][batch:batch + 10]))
        answers[c] = mine

    threads = [threading.Thread(target=run, args=(c,)) for c in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(answers) == 16
    results = [r for mine in answers.values() for report in mine for r in report["results"]]
    recorded = [r["source_id"] for r in results if r["status"] == "recorded"]
    expected = [f["source_id"] for f in shared] + [f["source_id"] for c in own for f in own[c]]
    assert sorted(recorded) == sorted(expected)
    assert all(r["status"] in ("recorded", "already_recorded") for r in results)
    assert fact_count(sql) == 1 + 10 + 16 * 20
    assert len(set(source_ids(sql))) == fact_count(sql)
    server.wait_ready()
    total = client(server, bearer).get("/v1/views", params={"rulebook": "official"}).json()["total"]
    assert total["households"] == 10 + 16 * 20


def send_raw(server: Server, bearer: str, body: bytes, *, send: int) -> None:
    """POST /v1/facts over a bare socket: send the first `send` bytes of the body, then hang up."""
    head = (f"POST /v1/facts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {bearer}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        raw.sendall(head + body[:send])
    # closed without reading any answer


def test_a_client_that_hangs_up_mid_request_leaves_the_whole_batch_or_none(
        cli: Cli, server: Server, sql: SQL) -> None:
    bearer = token(cli, ORG, "recorder")
    first = [site(source_id="site-chm", recorded_by=ORG)]
    assert client(server, bearer).post("/v1/facts", json=first).status_code == 200
    batch = households("CUT", 300)
    body = json.dumps(batch).encode()
    send_raw(server, bearer, body, send=len(body) // 2)
    time.sleep(0.5)
    assert fact_count(sql) == 1  # half a request: nothing of it
    send_raw(server, bearer, body, send=len(body))  # the whole request, then gone at once
    deadline = time.monotonic() + 60
    while fact_count(sql) < 301 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fact_count(sql) == 301
    assert source_ids(sql) == sorted(["site-chm"] + [f["source_id"] for f in batch])


@pytest.mark.slow
def test_a_server_restarted_while_clients_retry_converges_to_one_clean_run(
        cli: Cli, server: Server, sql: SQL, tmp_path: Path) -> None:
    bearer = token(cli, ORG, "recorder")
    facts = [site(source_id="site-chm", recorded_by=ORG), *households("RS", 160)]
    assert post_until_answered(server.url, bearer, facts[:1])["recorded"] == 1
    batches = [facts[i:i + 20] for i in range(1, len(facts), 20)]
    done: list[dict[str, Any]] = []

    def run(mine: list[list[dict[str, Any]]]) -> None:
        for batch in mine:
            done.append(post_until_answered(server.url, bearer, batch))

    threads = [threading.Thread(target=run, args=(batches[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    while len(done) < 3:
        time.sleep(0.02)
    server.restart()  # SIGTERM: requests in progress are answered, then it stops
    while len(done) < 7:
        time.sleep(0.02)
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)  # and a crash: a batch is all there, or not at all
    server.process.wait(timeout=30)
    server.process = None
    server.start()
    for t in threads:
        t.join(timeout=300)
    assert len(done) == len(batches)
    assert source_ids(sql) == sorted(f["source_id"] for f in facts)
    server.wait_ready()

    clean = StoreSettings.from_url(f"sqlite:///{tmp_path / 'clean.db'}")  # one clean run
    init_store(clean)
    with Workspace(clean) as ws:
        assert all(o.status == "recorded" for o in ws.record_many(parsed(*facts)))
        theirs = bridge_document(reconcile(ws.views, as_of=dt.date(2026, 5, 1)), ws.views.sites())
    ours = client(server, bearer).get("/v1/reconcile", params={"as_of": "2026-05-01"}).json()
    assert ours["rows"] == json.loads(json_bytes(theirs["rows"]))
    assert ours["totals"] == json.loads(json_bytes(theirs["totals"]))


def test_sigterm_answers_the_request_in_progress_before_stopping(
        cli: Cli, server: Server, sql: SQL) -> None:
    bearer = token(cli, ORG, "recorder")
    assert client(server, bearer).post("/v1/facts", json=[site(recorded_by=ORG)]).status_code == 200
    batch = households("TERM", 2000)
    answer: dict[str, Any] = {}

    def post() -> None:
        reply = httpx.post(server.url + "/v1/facts", json=batch, timeout=120,
                           headers={"Authorization": f"Bearer {bearer}"})
        answer.update(status=reply.status_code, body=reply.json())

    poster = threading.Thread(target=post)
    poster.start()
    deadline = time.monotonic() + 30
    log = server.log
    while '"facts": 2000' not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.01)  # until the service logs that it has the request's 2,000 facts
    assert server.process is not None
    assert server.stop(signal.SIGTERM) == 0
    poster.join(timeout=120)
    assert answer["status"] == 200
    assert answer["body"]["recorded"] == 2000
    assert fact_count(sql) == 2001


def test_facts_recorded_by_another_process_reach_the_views_through_the_follower(
        cli: Cli, server: Server) -> None:
    reader = client(server, token(cli, "RWG", "reader"))
    settings = StoreSettings.from_url(cli.url)
    ledger = Writer(settings)  # a writer that does not bring the views up to date
    try:
        for fact in parsed(site(recorded_by=ORG), *households("ELSEWHERE", 3)):
            ledger.record(fact)
    finally:
        ledger.close()
    ready = server.wait_ready()  # no request wrote through the service: its follower caught up
    assert ready["behind"] == 0
    assert ready["following"] is True
    total = reader.get("/v1/views", params={"rulebook": "official"}).json()["total"]
    assert total["households"] == 3
