"""Every ``LEDGER_*`` setting the command reads, checked once at start, before any work.

A setting that is set but wrong is a usage mistake: one line naming the variable, its value and
what is expected, exit code 2 (an unset or empty one takes its default):

* ``LEDGER_DATABASE_URL``: ``sqlite:///path`` or ``postgresql://user@host/db[?schema=NAME]``
  (:mod:`ledger.store.settings`; default ``sqlite:///ledger.db``);
* ``LEDGER_LOG_LEVEL``: ``debug``, ``info``, ``warning`` (the default), ``error`` or
  ``critical``, in any case.

A setting added later is checked by adding it to :data:`CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import parse_qs, urlparse

from ledger.errors import LedgerError, StoreError
from ledger.store.settings import SCHEMA_PATTERN, StoreSettings

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class SettingError(LedgerError):
    """An environment setting the ledger reads has a value it cannot use."""


def _database_url(value: str) -> None:
    """A malformed URL or schema name is a usage error (exit 2). A well-formed schema name that
    cannot hold a ledger (``pg_catalog``, ``information_schema``, a reserved word) is a store
    problem: the command itself says so when it opens the store (exit 1, issue 11 item 7)."""
    try:
        StoreSettings.from_url(value)
    except StoreError:
        schema = parse_qs(urlparse(value).query).get("schema", [""])[0]
        if not (schema and SCHEMA_PATTERN.match(schema)):
            raise


def _log_level(value: str) -> None:
    if value.strip().lower() not in LOG_LEVELS:
        raise SettingError(f"LEDGER_LOG_LEVEL {value!r}: expected one of {', '.join(LOG_LEVELS)}")


CHECKS: dict[str, Callable[[str], None]] = {
    "LEDGER_DATABASE_URL": _database_url,
    "LEDGER_LOG_LEVEL": _log_level,
}


def check_settings(env: Mapping[str, str]) -> None:
    """Raise one ``LedgerError`` for the first setting that is set and wrong."""
    for name, check in CHECKS.items():
        value = env.get(name)
        if not value:
            continue
        try:
            check(value)
        except LedgerError as exc:
            if name in str(exc):
                raise
            raise SettingError(f"{name} {value!r}: {exc}") from None
