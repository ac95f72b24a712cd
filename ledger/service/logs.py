"""The service's logs: the CLI's structlog set-up, with the request id of every request bound
(``structlog.contextvars``) into every line logged while it is answered. Level: LEDGER_LOG_LEVEL
(default ``info`` for the service: one ``request_handled`` line per request)."""

from __future__ import annotations

import logging
import os
import sys

import structlog

from ledger import logs


def configure_service_logging() -> None:
    level = getattr(logging, os.environ.get("LEDGER_LOG_LEVEL", "INFO").upper(), logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer() if sys.stderr.isatty() else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logs.use(level)  # the read side's lines go to this configuration, filtered at its level
