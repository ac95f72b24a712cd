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
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
