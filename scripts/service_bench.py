"""scripts/bench's service section: `ledger serve` over loopback, beside the same calls in process.

* facts per second through ``POST /v1/facts`` with 16 concurrent clients (new households at
  one camp, 25 facts per request), beside ``Workspace.record_many`` of as many facts in process;
* p50 / p99 of ``GET /v1/reconcile?by=adm1`` and of a one-camp ``GET /v1/views`` at random
  (D, K), beside ``projections.queries.reconcile`` / ``show`` at the same points in process.

Imported by scripts/bench (nothing else imports scripts/).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import structlog

from ledger.catalogue import parse_fact
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.queries import reconcile, show

Call = Callable[[dt.date, dt.datetime], Any]
CLIENTS = 16
BATCH = 25


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _household_facts(prefix: str, count: int, camp: str, org: str) -> list[dict[str, Any]]:
    return [{"type": "household_registered", "source_id": f"bench-svc-{prefix}-{i}",
             "effective_on": "2026-01-15", "household_id": f"BENCH-{prefix}-{i}",
             "registry": "official", "registration_ref": f"BSV-{prefix}-{i}", "site_id": camp,
             "members": 1 + i % 8, "recorded_by": org} for i in range(count)]


def _percentiles(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    at = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(at(0.5) * 1000, 2), "p99_ms": round(at(0.99) * 1000, 2),
            "samples": len(ordered)}


class _Server:
    def __init__(self, ledger: str, env: dict[str, str], log_path: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log_path.open("wb") as out:
            self.process = subprocess.Popen([ledger, "serve", "--port", str(self.port)],  # noqa: S603
                                            env={**env, "LEDGER_LOG_LEVEL": "warning"},
                                            stdout=out, stderr=out)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("ledger serve did not become ready: " + log_path.read_text()[-2000:])

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


def _post_facts(url: str, bearer: str, per_client: int, camp: str, org: str) -> dict[str, Any]:
    batches = {c: _household_facts(f"http{c}", per_client, camp, org) for c in range(CLIENTS)}
    start = threading.Barrier(CLIENTS + 1)
    failures: list[str] = []
    recorded = [0] * CLIENTS

    def run(c: int) -> None:
        with httpx.Client(base_url=url, timeout=120,
                          headers={"Authorization": f"Bearer {bearer}"}) as http:
            start.wait()
            for i in range(0, per_client, BATCH):
                answer = http.post("/v1/facts", json=batches[c][i:i + BATCH])
                if answer.status_code != 200:
                    failures.append(answer.text[:300])
                    return
                recorded[c] += answer.json()["recorded"]

    threads = [threading.Thread(target=run, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    start.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"POST /v1/facts failed: {failures[0]}")
    total = sum(recorded)
    return {"facts": total, "seconds": round(seconds, 3), "clients": CLIENTS, "batch": BATCH,
            "facts_per_second": total / seconds}


def _in_process_record(settings: StoreSettings, count: int, camp: str, org: str) -> dict[str, Any]:
    facts = [parse_fact(f) for f in _household_facts("proc", count, camp, org)]
    with Workspace(settings) as ws:
        started = time.perf_counter()
        for i in range(0, count, BATCH):
            list(ws.record_many(facts[i:i + BATCH]))
        seconds = time.perf_counter() - started
    return {"facts": count, "seconds": round(seconds, 3), "batch": BATCH,
            "facts_per_second": count / seconds,
            "note": "Workspace.record_many, one batch after another (what one request runs)"}


def _latencies(url: str, bearer: str, settings: StoreSettings, points: list[tuple[dt.date, dt.datetime]],
               camp: str) -> dict[str, Any]:
    http_times: dict[str, list[float]] = {"reconcile_adm1": [], "views_show_camp": []}
    local_times: dict[str, list[float]] = {"reconcile_adm1": [], "views_show_camp": []}
    with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {bearer}"}) as http, \
            Workspace(settings) as ws:
        calls: dict[str, tuple[Call, Call]] = {
            "reconcile_adm1": (
                lambda d, k: http.get("/v1/reconcile", params={"by": "adm1", "as_of": d.isoformat(),
                                                               "known_at": k.isoformat()}),
                lambda d, k: reconcile(ws.views, as_of=d, known_at=k, level="adm1")),
            "views_show_camp": (
                lambda d, k: http.get("/v1/views", params={"rulebook": "official", "place": camp,
                                                           "as_of": d.isoformat(),
                                                           "known_at": k.isoformat()}),
                lambda d, k: show(ws.views, "official", as_of=d, known_at=k, places=[camp])),
        }
        for remote, local in calls.values():  # warm both once
            remote(*points[0])
            local(*points[0])
        for as_of, known_at in points:
            for name, (remote, local) in calls.items():
                started = time.perf_counter()
                answer = remote(as_of, known_at)
                http_times[name].append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise RuntimeError(f"{name} over HTTP: {answer.status_code} {answer.text[:300]}")
                started = time.perf_counter()
                local(as_of, known_at)
                local_times[name].append(time.perf_counter() - started)
    return {name: {"http": _percentiles(http_times[name]), "in_process": _percentiles(local_times[name])}
            for name in http_times}


def service_section(ledger: str, env: dict[str, str], url: str, tmp: Path, rng: random.Random,
                    samples: int, facts_per_client: int, camp: str,
                    log: Callable[[str], None]) -> dict[str, Any]:
    settings = StoreSettings.from_url(url)
    # the in-process calls log a catch-up per batch at info; the bench prints only its table
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    created = subprocess.run([ledger, "tokens", "create", "--org", "Bench", "--role", "admin",  # noqa: S603
                              "--json"], env=env, capture_output=True, text=True, check=True)
    bearer = json.loads(created.stdout)["token"]
    with Workspace(settings) as ws, ws.db.cursor() as cur:
        first, last = cur.execute("SELECT min(recorded_at), max(recorded_at) FROM ledger_facts").fetchone()
    first, last = (v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(v) for v in (first, last))
    points = [(dt.date(2014, 6, 1) + dt.timedelta(days=rng.randrange(4000)),
               first + (last - first) * rng.random()) for _ in range(samples)]
    log("service: ledger serve")
    server = _Server(ledger, env, tmp / "serve.log")
    try:
        log(f"service: POST /v1/facts, {CLIENTS} clients")
        posted = _post_facts(server.url, bearer, facts_per_client, camp, "Bench")
        log("service: GET /v1/reconcile and /v1/views beside the in-process calls")
        latencies = _latencies(server.url, bearer, settings, points, camp)
    finally:
        server.stop()
    log("service: the same facts recorded in process")
    local = _in_process_record(settings, facts_per_client * CLIENTS, camp, "Bench")
    return {"post_facts_16_clients": posted, "record_in_process": local, **latencies}
