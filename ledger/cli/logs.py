"""The command line's logs: structlog, console lines on a terminal, JSON lines otherwise (stderr).

The level is LEDGER_LOG_LEVEL (default ``warning``). structlog is configured the first time a
line passes the level (:mod:`ledger.logs`): by default a command logs nothing, and structlog is
never imported. Commands log through :func:`ledger.logs.info`, never through structlog directly:
an unconfigured structlog would print to stdout. ``ledger serve`` configures its own
(``ledger.service.logs``).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from ledger import logs


def configure_logging() -> None:
    level = getattr(logging, os.environ.get("LEDGER_LOG_LEVEL", "WARNING").upper(), logging.WARNING)
    logs.use(level, lambda: _configure(level))


def _configure(level: int) -> None:
    import structlog  # noqa: PLC0415  (only when a line is logged)

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
        # process that swaps sys.stderr (tests running commands in-process) never writes to
        # a stream closed meanwhile. Logs are rare, so no cache.
        logger_factory=_current_stderr,
        cache_logger_on_first_use=False,
    )


def _current_stderr(*_: object) -> Any:
    import structlog  # noqa: PLC0415

    return structlog.PrintLogger(file=sys.stderr)
