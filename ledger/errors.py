"""One error hierarchy for everything a user can get wrong or the store can refuse.

Every error carries a message written for the person who supplied the input: which record,
which field, what is wrong and what is expected. The CLI prints ``str(error)`` and exits 1.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error the ledger reports to a user."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidFactError(LedgerError):
    """The input does not have the shape of a fact (unknown type, bad field, bad format)."""


class RuleViolationError(LedgerError):
    """The fact is well formed but breaks a rule of the domain (e.g. departs a site it is not in)."""


class NotFoundError(RuleViolationError):
    """The fact refers to a site, household, round or fact the ledger does not know."""


class SourceConflictError(LedgerError):
    """A ``source_id`` already recorded is re-used with different content."""


class ConcurrencyError(LedgerError):
    """Another writer kept changing the same aggregate; the fact could not be recorded."""


class StoreError(LedgerError):
    """The store is unreachable, not initialised, or refused the operation."""


class RulebookError(LedgerError):
    """A rulebook file or name is invalid."""
