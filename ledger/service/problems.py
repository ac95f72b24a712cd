"""Errors as ``application/problem+json`` (RFC 9457), with the messages the CLI prints.

Every answer that is not a success is a problem document: ``type``, ``title``, ``status``,
``detail``, ``instance`` (the path) and ``request_id`` (also in the ``X-Request-ID`` header and
in every log line of the request). Nothing in it comes from a traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import (
    ConcurrencyError,
    InvalidFactError,
    LedgerError,
    NotFoundError,
    RulebookError,
    SourceConflictError,
    StoreError,
)
from ledger.service.auth import Forbidden, Unauthenticated

PROBLEM = "application/problem+json"
TITLES = {400: "Bad request", 401: "Unauthenticated", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 413: "Request too large",
          415: "Unsupported media type", 422: "Unprocessable content",
          500: "Internal server error", 503: "Service unavailable"}
KINDS = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
         405: "method-not-allowed", 409: "conflict", 413: "too-large", 415: "unsupported-media-type",
         422: "invalid-input", 500: "internal-error", 503: "unavailable"}


class Problem(Exception):  # noqa: N818 - an HTTP answer, raised to leave a handler
    def __init__(self, status: int, detail: str, *, kind: str | None = None,
                 title: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or KINDS.get(status, "error")
        self.title = title or TITLES.get(status, "Error")
        self.extra = extra


def problem_response(request: Request, problem: Problem,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": f"urn:movement-ledger:problem:{problem.kind}", "title": problem.title,
            "status": problem.status, "detail": problem.detail, "instance": request.url.path,
            "request_id": request.scope.get("state", {}).get("request_id"), **problem.extra}
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM, headers=headers)


def ledger_message(exc: LedgerError) -> str:
    """The CLI's one-line message (``reports_errors``): the field named when it is not yet."""
    message = str(exc)
    if exc.field and not message.startswith("field ") and f"'{exc.field}'" not in message:
        message = f"field '{exc.field}': {message}"
    return message


def status_of(exc: LedgerError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, SourceConflictError | ConcurrencyError):
        return 409
    if isinstance(exc, StoreError):
        return 503
    if isinstance(exc, InvalidFactError | RulebookError):
        return 422
    return 422


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(LedgerError)
    async def _ledger(request: Request, exc: LedgerError) -> JSONResponse:
        field = {"field": exc.field} if exc.field else {}
        return problem_response(request, Problem(status_of(exc), ledger_message(exc), **field))

    @app.exception_handler(typer.BadParameter)
    async def _bad_parameter(request: Request, exc: typer.BadParameter) -> JSONResponse:
        hint = (exc.param_hint if isinstance(exc.param_hint, str) else "") or ""
        name = hint.lstrip("-").replace("-", "_")
        detail = f"{name}: {exc.message}" if name else exc.message
        return problem_response(request, Problem(422, detail, **({"field": name} if name else {})))

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
        return problem_response(request, Problem(401, str(exc)),
                                headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return problem_response(request, Problem(403, str(exc)))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                  for e in exc.errors()]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "invalid request"
        return problem_response(request, Problem(422, detail, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint {request.url.path}; see /openapi.json"
        return problem_response(request, Problem(exc.status_code, detail))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(request, Problem(
            500, "the service failed to answer this request; the log line with this request_id "
            "says why"))
