"""``ledger serve``: the HTTP service (FastAPI on uvicorn), imported only when it runs."""

from __future__ import annotations

import signal
import socket
from types import FrameType
from typing import Annotated

import structlog
import typer

from ledger.cli.output import fail, reports_errors
from ledger.cli.state import workspace
from ledger.store.tokens import require_tokens_table


@reports_errors
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 8080,
) -> None:
    """Serve the HTTP API (/v1/..., /report, /healthz, /readyz, /metrics, /openapi.json) over
    the store of LEDGER_DATABASE_URL, keeping the views up to date. Callers need a token from
    `ledger tokens create`. SIGTERM or Ctrl-C stops it after the requests in progress are
    answered. See docs/service.md."""
    import uvicorn  # noqa: PLC0415  (kept out of `ledger --help`)

    from ledger.service.app import create_app  # noqa: PLC0415
    from ledger.service.logs import configure_service_logging  # noqa: PLC0415

    configure_service_logging()
    with workspace() as ws:  # a clear error now, not at the first request
        require_tokens_table(ws.db)
        settings = ws.settings
    app = create_app(settings)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                            timeout_graceful_shutdown=30, server_header=False)
    structlog.get_logger().info("service_starting", host=host, port=port, store=settings.describe())
    typer.echo(f"Serving {settings.describe()} on http://{host}:{port} (SIGTERM or Ctrl-C stops)",
               err=True)
    # uvicorn re-raises the SIGTERM it stopped on once it is done; by then every accepted
    # request is answered, so that is a clean stop (exit 0), not a death by signal.
    listening = _listen(host, port)
    signal.signal(signal.SIGTERM, _stopped_cleanly)
    uvicorn.Server(config).run(sockets=[listening])
    structlog.get_logger().info("service_stopped")


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a taken port is a one-line error (exit 1)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        listening = socket.socket(family, kind, proto)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    listening.set_inheritable(True)
    return listening


def _stopped_cleanly(_signum: int, _frame: FrameType | None) -> None:
    structlog.get_logger().info("service_stopped", signal="SIGTERM")
    raise SystemExit(0)
