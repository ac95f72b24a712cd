"""Logging for the modules below the command line (the views, the follower, the vault).

They log through :func:`info` and :func:`warning` here, not through structlog directly, so that
structlog (with the rich modules its console renderer loads: some 65 ms of a command's start-up)
is imported only when a line is actually logged. Whoever runs the process says how logs are
made with :func:`use`: the command line (``ledger.cli.logs``) gives its level and a function that
configures structlog the first time a line passes it; the service configures structlog itself at
start and gives only its level. Without a call to :func:`use` (a test, a library user), every
line goes to structlog as structlog is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class _Use:
    level: int = logging.NOTSET  # lines below it are dropped before structlog is imported
    configure: Callable[[], None] | None = None  # run once, before the first line that passes


_use = _Use()


def use(level: int, configure: Callable[[], None] | None = None) -> None:
    """Lines below ``level`` are dropped; ``configure`` (if given) runs before the first other."""
    _use.level = level
    _use.configure = configure


def info(event: str, **fields: Any) -> None:
    """One line at ``info`` (ids and counts only, never personal data)."""
    if _use.level <= logging.INFO:
        _logger().info(event, **fields)


def warning(event: str, **fields: Any) -> None:
    """One line at ``warning`` (ids and counts only, never personal data)."""
    if _use.level <= logging.WARNING:
        _logger().warning(event, **fields)


def _logger() -> Any:
    configure, _use.configure = _use.configure, None
    if configure is not None:
        configure()
    import structlog  # noqa: PLC0415  (only when a line is logged, see above)

    return structlog.get_logger()
