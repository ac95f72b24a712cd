"""Plain ASGI middleware (no BaseHTTPMiddleware: a client that disconnects must not cancel the
handler of a request already accepted): a request id bound to every log line, a body size
limit, and the request counters and latencies for /metrics."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
import structlog

from ledger.service.metrics import Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = structlog.get_logger()


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def json_bytes(document: Any) -> bytes:
    """JSON as ``ledger ... --json`` writes it (``ledger.cli.output.print_json``), unindented."""
    return orjson.dumps(document, default=_default, option=orjson.OPT_NON_STR_KEYS)


def problem_bytes(status: int, title: str, detail: str, request_id: str, instance: str,
                  kind: str) -> bytes:
    return orjson.dumps({"type": f"urn:movement-ledger:problem:{kind}", "title": title,
                         "status": status, "detail": detail, "instance": instance,
                         "request_id": request_id})


class TooLarge(Exception):  # noqa: N818 - a signal inside the middleware
    pass


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        path = scope.get("path", "")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise TooLarge
            return message

        async def send_unless_too_large(message: Message) -> None:
            if not too_large:  # the app answers a failed body read with a 400: ours replaces it
                await send_with_id(message)

        length = headers.get("content-length", "")
        too_large = length.isdigit() and int(length) > self.max_body_bytes
        try:
            if not too_large:
                await self.app(scope, limited_receive, send_unless_too_large)
        except TooLarge:
            pass
        except Exception:  # answered already (problem+json, 500); logged here with the request id
            log.exception("request_failed", method=scope["method"], path=path)
        finally:
            if too_large:
                await self._too_large(send_with_id, request_id, path)
            seconds = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, seconds)
            log.info("request_handled", method=scope["method"], route=template, status=status,
                     ms=round(seconds * 1000, 1))
            structlog.contextvars.unbind_contextvars("request_id")

    async def _too_large(self, send: Send, request_id: str, path: str) -> None:
        body = problem_bytes(413, "Request too large",
                             f"the request body is larger than {self.max_body_bytes:,} bytes "
                             "(LEDGER_MAX_REQUEST_BYTES); send fewer facts per request",
                             request_id, path, "too-large")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
