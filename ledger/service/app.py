"""The HTTP API: the CLI's commands as endpoints, under ``/v1``, with the CLI's JSON documents.

Query parameters are named as the CLI's options with underscores (``--as-of`` -> ``as_of``)
and parsed by the CLI's own parsers (``ledger.arguments``); the documents are built by the CLI's
own functions (``projections.documents``: ``view_document``, ``bridge_document``...). Writes and
reads go through ``Workspace`` (see ``ledger.service.runtime``), as every command does.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer
from fastapi import APIRouter, Body, Depends, FastAPI, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger.application import Outcome
from ledger.arguments import (
    kobo_mapping_option,
    parse_as_of,
    parse_known_at,
    parse_level,
    parse_status,
)
from ledger.bulk import BATCH_SIZE
from ledger.catalogue import CATALOGUE
from ledger.errors import InvalidFactError, LedgerError
from ledger.figures import publish
from ledger.kobo import FORMS as KOBO_FORMS
from ledger.kobo import builtin_mapping_path, load_mapping
from ledger.service import problems, recording, report_page
from ledger.service.auth import Forbidden, Principal, Unauthenticated
from ledger.service.metrics import Metrics
from ledger.service.middleware import ServiceMiddleware, json_bytes
from ledger.service.problems import PROBLEM, Problem
from ledger.service.runtime import Runtime
from ledger.store.settings import StoreSettings
from ledger.store.tokens import find_token
from projections.answers import bridge_answer
from projections.audit import audit_count, audit_diff, audit_figure
from projections.audit import household_history as read_history
from projections.documents import (
    bridge_document,
    diff_document,
    figure_document,
    history_document,
    lineage_document,
    nobody_counted_at,
    view_document,
)
from projections.queries import now, show
from projections.report import gather, render
from projections.rounds import round_report
from projections.verify import verify as verify_ledger

log = structlog.get_logger()
MAX_REQUEST_BYTES = 10 * 1024 * 1024
USER_ERRORS = (LedgerError, typer.BadParameter, Problem, Forbidden)
MAX_FACTS = BATCH_SIZE  # one request's facts are one atomic batch: all recorded, or none

RulebookQ = Annotated[str, Query(description="official, operational or one you added.")]
AsOfQ = Annotated[str | None, Query(description="YYYY-MM-DD (default: today).")]
KnownAtQ = Annotated[str | None, Query(description="ISO 8601 with a UTC offset (default: now).")]
ByQ = Annotated[str, Query(description="cell, adm2, adm1 or national.")]
StatusQ = Annotated[str, Query(description="idp_in_camp, idp_out_of_camp, returnee or "
                                           "locally_integrated.")]
PlaceQ = Annotated[str, Query(description="A site id or p-code at the `by` level.")]
PlacesQ = Annotated[list[str] | None, Query(description="Only this place (repeatable).")]
TypeQ = Annotated[str | None, Query(description="The fact type of every record (for a file "
                                                "without a type column).")]
KoboFormQ = Annotated[str | None, Query(description="Read a KoboToolbox export with this shipped "
                                                    "mapping (registration or departure).")]
FactsBody = Annotated[dict[str, Any] | list[Any], Body(
    description="One fact (a JSON object with `type`, `source_id`, `effective_on`...) or an "
    "array of them, as in a .jsonl import.")]
SubmissionBody = Annotated[dict[str, Any], Body(
    description="A KoboToolbox REST Services submission, as Kobo posts it (JSON).")]
UploadBody = Annotated[UploadFile, File(
    description="A .jsonl, .csv or .xlsx file of facts, or a KoboToolbox export.")]
DigestQ = Annotated[list[str] | None, Query(
    description="A digest kept outside the database (repeatable).")]
ReportPlaceQ = Annotated[str | None, Query(description="A site id: its figures first.")]
TokenQ = Annotated[str | None, Query(description="For a browser: the token, when no "
                                                 "Authorization header is sent.")]
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": problems.TITLES[code], "content": {PROBLEM: {}}}
    for code in (401, 403, 404, 422)
}


def create_app(settings: StoreSettings, *, max_request_bytes: int | None = None) -> Any:
    """The ASGI application (the FastAPI app inside the service's middleware)."""
    runtime = Runtime(settings, user_errors=USER_ERRORS)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(title="Movement Ledger", version="1", lifespan=lifespan,
                  description="Facts about displaced households in Iraq, counted by competing "
                  "rulebooks and reconciled household by household. See docs/service.md.",
                  responses=PROBLEM_RESPONSES)
    app.state.runtime = runtime
    app.state.metrics = metrics
    problems.install(app)
    app.include_router(router)
    return ServiceMiddleware(app, metrics, max_request_bytes or max_body_bytes())


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
bearer = HTTPBearer(auto_error=False, description="A token from `ledger tokens create`.")


def caller(request: Request, runtime: RuntimeDep,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    token = credentials.credentials if credentials is not None else None
    if token is None and request.url.path == "/report":
        token = request.query_params.get("token")  # a browser's link: the page's own form
    if not token:
        raise Unauthenticated("no token: send `Authorization: Bearer TOKEN` (create one "
                              "with `ledger tokens create`)")
    with runtime.reader() as ws:
        record = find_token(ws.db, token)
    if record is None:
        raise Unauthenticated("unknown or revoked token")
    return Principal(record)


CallerDep = Annotated[Principal, Depends(caller)]
router = APIRouter()
NOT_READY: dict[int | str, dict[str, Any]] = {503: {"description": "Not ready",
                                                    "content": {PROBLEM: {}}}}


def recorded(request: Request, metrics: Metrics, outcomes: list[Outcome],
             documents: list[Any]) -> Response:
    report = recording.facts_report(outcomes, documents)
    metrics.facts_counted(report["recorded"], report["already_recorded"], report["rejected"])
    return report_response(request, report)


# ---- health ---------------------------------------------------------------------------
@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], responses=NOT_READY)
def readyz(runtime: RuntimeDep) -> Response:
    """The store is reachable and the views have every recorded fact."""
    try:
        with runtime.reader() as ws:
            head, position = ws.views.ledger_head(), ws.views.position()
    except Exception as exc:  # an unreachable store is the answer, not a failure
        raise Problem(503, f"the store is not reachable ({type(exc).__name__})") from None
    document: dict[str, Any] = {"ledger_head": head, "views_position": position,
                                "behind": head - position, "following": runtime.following}
    if head > position:
        raise Problem(503, f"the views are {head - position:,} facts behind the ledger",
                      **document)
    return JSONResponse({"status": "ready", **document})


@router.get("/metrics", tags=["health"], response_class=PlainTextResponse)
def metrics_text(runtime: RuntimeDep, metrics: MetricsDep) -> PlainTextResponse:
    """Prometheus text: requests, latencies, facts recorded, projection lag."""
    head: int | None
    position: int | None
    try:
        with runtime.reader() as ws:
            head, position = ws.views.ledger_head(), ws.views.position()
    except Exception:  # still expose the request counters
        head = position = None
    return PlainTextResponse(metrics.render(head, position),
                             media_type="text/plain; version=0.0.4")


# ---- writing --------------------------------------------------------------------------
@router.post("/v1/facts", tags=["record"])
def post_facts(request: Request, runtime: RuntimeDep, metrics: MetricsDep, who: CallerDep,
               facts: FactsBody) -> Response:
    """Record facts in order, atomically (up to 2,000 per request); the report of
    `ledger import --json`, with one result per record. 422 when any was rejected (the
    others are recorded)."""
    who.require("record")
    documents = facts if isinstance(facts, list) else [facts]
    if len(documents) > MAX_FACTS:
        raise Problem(413, f"{len(documents):,} facts in one request; send at most "
                      f"{MAX_FACTS:,} (each request is recorded atomically)")
    log.info("facts_received", facts=len(documents), org=who.org)
    inputs = recording.claimed_inputs(documents, who)
    with runtime.writer() as ws:
        recording.check_voids(ws, who, inputs)
        return recorded(request, metrics, list(ws.record_many(inputs)), documents)


@router.post("/v1/kobo/{mapping}", tags=["record"])
def post_kobo(request: Request, runtime: RuntimeDep, metrics: MetricsDep, mapping: str, who: CallerDep,
              submission: SubmissionBody) -> Response:
    """One KoboToolbox submission through a shipped mapping (`registration` or `departure`);
    `_uuid` is the fact's source_id, so Kobo's retries record it once."""
    who.require("record")
    if mapping not in KOBO_FORMS:
        raise Problem(404, f"unknown KoboToolbox mapping {mapping!r}; expected one of "
                      f"{', '.join(KOBO_FORMS)}")
    fact = recording.kobo_input(load_mapping(builtin_mapping_path(mapping)), submission, who)
    with runtime.writer() as ws:
        return recorded(request, metrics, list(ws.record_many([fact])), [submission])


@router.post("/v1/imports", tags=["record"])
def post_import(request: Request, runtime: RuntimeDep, metrics: MetricsDep, who: CallerDep, file: UploadBody,
                type: TypeQ = None, kobo_form: KoboFormQ = None) -> Response:
    """`ledger import --json` of an uploaded file: the same reading, validation and report."""
    who.require("record")
    if type is not None and type not in CATALOGUE.recordable:
        raise Problem(422, f"type: unknown fact type; expected one of {', '.join(CATALOGUE.recordable)}",
                      field="type")
    name = Path(file.filename or "upload").name
    with tempfile.TemporaryDirectory(prefix="ledger-upload-") as folder:
        path = Path(folder) / name  # its own name: the CLI's messages name the file
        with path.open("wb") as out:
            while chunk := file.file.read(1 << 20):
                out.write(chunk)
        kobo = kobo_mapping_option(path, kobo_form, None)
        with runtime.writer() as ws:
            report = recording.import_upload(ws, path, who, name=name, fact_type=type, kobo=kobo)
    metrics.facts_counted(report.recorded, report.already_recorded, report.rejected)
    return report_response(request, report.as_dict())


# ---- reading --------------------------------------------------------------------------
@router.get("/v1/views", tags=["read"])
def get_views(runtime: RuntimeDep, who: CallerDep, rulebook: RulebookQ, as_of: AsOfQ = None,
              known_at: KnownAtQ = None, by: ByQ = "cell", place: PlacesQ = None) -> Response:
    """`ledger views show --json`."""
    who.require("read")
    level = parse_level(by)
    with runtime.reader() as ws:
        result = show(ws.views, rulebook, as_of=parse_as_of(as_of),
                      known_at=parse_known_at(known_at), level=level, places=place)
        return document({**view_document(result, ws.views.sites()),
                         "nobody_counted_at": nobody_counted_at(result, place)})


@router.get("/v1/reconcile", tags=["read"])
def get_reconcile(runtime: RuntimeDep, who: CallerDep, left: str = "official", right: str = "operational",
                  as_of: AsOfQ = None, known_at: KnownAtQ = None, by: ByQ = "cell"
                  ) -> Response:
    """`ledger reconcile --json`: the bridge; the reasons add up to every difference."""
    who.require("read")
    level = parse_level(by)
    with runtime.reader() as ws:
        answer = bridge_answer(ws.views, left, right, as_of=parse_as_of(as_of),
                               known_at=parse_known_at(known_at), level=level, place=None)
        return document(bridge_document(answer.bridge, answer.sites, answer.versions))


@router.get("/v1/rounds/{round_id}", tags=["read"])
def get_round(runtime: RuntimeDep, round_id: str, who: CallerDep, as_of: AsOfQ = None,
              known_at: KnownAtQ = None) -> Response:
    """`ledger rounds report ROUND_ID --json`."""
    who.require("read")
    with runtime.reader() as ws:
        report = round_report(ws.db, round_id, as_of=parse_as_of(as_of),
                              known_at=parse_known_at(known_at))
    return document(asdict(report))


@router.get("/v1/audit/household/{household_id}", tags=["audit"])
def get_household(runtime: RuntimeDep, household_id: str, who: CallerDep,
                  known_at: KnownAtQ = None) -> Response:
    """`ledger audit household ID --json` (auditor or admin)."""
    who.require("audit")
    with runtime.reader() as ws:
        history = read_history(ws.db, ws.views.rulebooks(), household_id, parse_known_at(known_at))
    return document(history_document(history))


@router.get("/v1/audit/count", tags=["audit"])
def get_count(runtime: RuntimeDep, who: CallerDep, rulebook: RulebookQ, status: StatusQ,
              place: PlaceQ, by: ByQ = "cell", as_of: AsOfQ = None,
              known_at: KnownAtQ = None) -> Response:
    """`ledger audit count --json` (auditor or admin); an unknown place is a 404 naming the
    closest known ones, as the command's exit 1."""
    who.require("audit")
    level, cell = parse_level(by), (parse_status(status), place)
    moment = parse_known_at(known_at) or now()
    with runtime.reader() as ws:
        lineage = audit_count(ws.views, rulebook, cell, level, parse_as_of(as_of) or moment.date(),
                              moment)
    return document(lineage_document(lineage))


@router.get("/v1/audit/diff", tags=["audit"])
def get_diff(runtime: RuntimeDep, who: CallerDep, rulebook: RulebookQ, status: StatusQ,
             place: PlaceQ,
             as_of: Annotated[str, Query(description="YYYY-MM-DD.")],
             known_at: Annotated[str, Query(description="The earlier known-at time.")],
             vs_known_at: Annotated[str | None, Query(
                 description="The later known-at time (default: now).")] = None,
             by: ByQ = "cell") -> Response:
    """`ledger audit diff --json` (auditor or admin); an unknown place is a 404, as for count."""
    who.require("audit")
    level, cell = parse_level(by), (parse_status(status), place)
    first = parse_known_at(known_at)
    second = parse_known_at(vs_known_at, "--vs-known-at") or now()
    day = parse_as_of(as_of)
    assert first is not None
    assert day is not None
    if second < first:
        raise Problem(422, "vs_known_at: must be after known_at", field="vs_known_at")
    with runtime.reader() as ws:
        result = audit_diff(ws.views, rulebook, cell, level, day, first, second)
    return document(diff_document(result))


@router.post("/v1/figures", tags=["figures"])
def post_figure(
        runtime: RuntimeDep, who: CallerDep, rulebook: RulebookQ, as_of: AsOfQ = None, by: ByQ = "cell",
                source_document: Annotated[str | None, Query(
                    description="Where it is published.")] = None) -> Response:
    """`ledger publish --json` (admin): the figure with the ledger's digest; recorded_by is
    the token's organisation."""
    who.require("publish")
    level = parse_level(by)
    day = parse_as_of(as_of) or now().date()
    with runtime.writer() as ws:
        published = publish(ws, rulebook, level, day, who.org, source_document)
    return document({"figure_id": published.figure_id, "digest": published.digest,
                     "status": published.outcome.status, "position": published.outcome.position,
                     **published.document})


@router.get("/v1/figures/{figure_id}", tags=["figures"])
def get_figure(runtime: RuntimeDep, figure_id: str, who: CallerDep) -> Response:
    """`ledger audit figure FIGURE_ID --json`: re-derived as known then and now."""
    who.require("read")
    with runtime.reader() as ws:
        audit = audit_figure(ws.views, ws.views.rulebooks(), figure_id, now())
    return document(figure_document(audit))


@router.get("/v1/verify", tags=["figures"])
def get_verify(runtime: RuntimeDep, who: CallerDep, digest: DigestQ = None,
               figures: bool = True) -> Response:
    """`ledger verify --json`; `ok` is false when the ledger does not verify."""
    who.require("read")
    with runtime.reader() as ws:
        result = verify_ledger(ws.db, ws.views.rulebooks(), anchors=digest or (), figures=figures)
    return document(result.as_dict())


@router.get("/report", tags=["read"], response_class=HTMLResponse)
def get_report(runtime: RuntimeDep, who: CallerDep, as_of: AsOfQ = None,
               known_at: KnownAtQ = None, left: str = "official", right: str = "operational",
               place: ReportPlaceQ = None, token: TokenQ = None) -> HTMLResponse:
    """`ledger report`'s page, with as-of, known-at, rulebook and place selectors."""
    who.require("read")
    as_of, known_at, place = as_of or None, known_at or None, place or None  # a form's empty fields
    with runtime.reader() as ws:
        data = gather(ws.views, ws.db, as_of=parse_as_of(as_of),
                      known_at=parse_known_at(known_at), left=left, right=right)
        sites = ws.views.sites()
        books = sorted(ws.views.rulebooks())
        extra = report_page.selectors(data, books, sites, place or None, token, known_at)
        extra += report_page.headline(data)
        if place:
            extra += report_page.place_table(
                [show(ws.views, b.name, as_of=data.as_of, known_at=data.known_at,
                      places=[place]) for b in data.books], place, sites)
    return HTMLResponse(report_page.with_selectors(render(data), extra))


def document(body: Any) -> Response:
    """A JSON document exactly as the CLI's ``--json`` prints it (same dates, same keys)."""
    return Response(json_bytes(body), media_type="application/json")


def report_response(request: Request, report: dict[str, Any]) -> Response:
    if not report["rejected"]:
        return document(report)
    kept = report["total"] - report["rejected"]
    others = "the others are recorded" if kept else "nothing was recorded"
    body = {"type": "urn:movement-ledger:problem:rejected-records", "title": "Records rejected",
            "status": 422, "detail": f"{report['rejected']:,} of {report['total']:,} records were "
            f"rejected ({others}); see first_rejections", "instance": request.url.path,
            "request_id": request.scope.get("state", {}).get("request_id"), **report}
    return Response(json_bytes(body), status_code=422, media_type=PROBLEM)


def max_body_bytes() -> int:
    value = os.environ.get("LEDGER_MAX_REQUEST_BYTES", "")
    if not value:
        return MAX_REQUEST_BYTES
    if not value.isdigit() or int(value) <= 0:
        raise InvalidFactError(f"LEDGER_MAX_REQUEST_BYTES {value!r}: expected a number of bytes")
    return int(value)

