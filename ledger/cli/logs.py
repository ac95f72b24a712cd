"""structlog, configured once: console lines on a terminal, JSON lines otherwise (stderr)."""

from __future__ import annotations

import logging
import os
import sys

import structlog


def configure_logging() -> None:
    level = getattr(logging, os.environ.get("LEDGER_LOG_LEVEL", "WARNING").upper(), logging.WARNING)
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer() if sys.stderr.isatty() else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # The stream is looked up when a logger is made, not when logging is configured: a
        # process that swaps sys.stderr (the service's workers, tests running commands
        # in-process) never writes to a stream closed meanwhile. Logs are rare, so no cache.
        logger_factory=_current_stderr,
        cache_logger_on_first_use=False,
    )


def _current_stderr(*_: object) -> structlog.PrintLogger:
    return structlog.PrintLogger(file=sys.stderr)
