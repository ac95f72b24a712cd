"""The application service: get -> act -> save, one fact at a time.

Every fact becomes exactly one event on one aggregate. What to get and what to call comes from
the catalogue (``ledger.catalogue``): the fact's subject (created when the fact starts a
stream), the other aggregates it names (which must exist and be live), and the domain method
that records it, which checks the rules. ``fact_voided`` is the one fact type about another
fact: its aggregate is the voided fact's.

Idempotency is by ``source_id``: a look-up answers the common case ("already recorded"), and
the store's unique index settles races. A conflict (another writer changed the same aggregate
meanwhile) is retried from fresh state.

The service is written against the store port (``ledger.store.port``), so every rule runs the
same on the in-memory store as on SQLite and PostgreSQL. The bulk path (``ledger.bulk``) runs
the same :func:`act` on batches.
"""

from __future__ import annotations

import random
import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from ledger.catalogue import CATALOGUE, FactType
from ledger.domain.base import DomainRuleError, FactAggregate, FactEvent
from ledger.domain.reported_figure import AlreadyReportedError
from ledger.errors import (
    ConcurrencyError,
    InvalidFactError,
    LedgerError,
    NotFoundError,
    RuleViolationError,
    SourceConflictError,
)
from ledger.facts import FactInput, FactVoided
from ledger.store.chain import FactMeta
from ledger.store.port import FactStore, KnownSource, StoreConflict

Status = Literal["recorded", "already_recorded", "rejected"]
MAX_ATTEMPTS = 12
A = TypeVar("A", bound=FactAggregate)


@dataclass(frozen=True)
class Outcome:
    """What happened to one input fact."""

    status: Status
    source_id: str | None
    position: int | None = None
    error: LedgerError | None = None


Named = tuple[type[FactAggregate], str]  # an aggregate's class and key: (Household, "H1")


class Unit(Protocol):
    """The aggregates and recorded facts one piece of work sees: the aggregates it loaded (and
    changed), and the facts recorded before it or earlier in it."""

    def get(self, cls: type[A], key: str) -> A | None: ...

    def created(self, cls: type[FactAggregate], key: str, aggregate: FactAggregate) -> None: ...

    def source(self, source_id: str) -> KnownSource | None: ...


# ---- what a fact names ------------------------------------------------------------------------
def sources_named(fact: FactInput) -> list[str]:
    """The ``source_id``\\ s a fact's recording looks up: its own, and a void's target."""
    if isinstance(fact, FactVoided):
        return [fact.source_id, fact.voided_source_id]
    return [fact.source_id]


def aggregates_named(fact: FactInput, void_target: KnownSource | None = None) -> set[Named]:
    """The aggregates a fact's recording reads (``void_target``: a void's target, when known)."""
    entry = CATALOGUE[fact.type]
    named: set[Named] = set()
    if entry.aggregate is not None:
        named.add((entry.aggregate, entry.subject_of(fact)))
    elif void_target is not None:
        target = CATALOGUE[void_target.fact_type].aggregate
        assert target is not None
        named.add((target, void_target.subject_id))
    for ref in entry.refs:
        named.update((ref.aggregate, key) for key in ref.keys(fact))
    return named


# ---- act: the rules, through the domain -------------------------------------------------------
def _missing(cls: type[FactAggregate], key: str, field: str) -> NotFoundError:
    kind = cls.KIND
    return NotFoundError(f"unknown {kind} '{key}': {cls.UNKNOWN.format(kind=kind)}", field=field)


def _require(unit: Unit, cls: type[A], key: str, field: str) -> A:
    found = unit.get(cls, key)
    if found is None:
        raise _missing(cls, key, field)
    found.check_live(key, field)
    return found


def act(unit: Unit, fact: FactInput) -> FactAggregate:
    """Record ``fact`` on its aggregate (a pending event): get what it names, then let the domain
    method the catalogue names check the rules. Raises ``LedgerError`` or ``DomainRuleError``."""
    entry = CATALOGUE[fact.type]
    if entry.aggregate is None:
        assert isinstance(fact, FactVoided)
        return _void(unit, fact)
    key = entry.subject_of(fact)
    subject = unit.get(entry.aggregate, key)
    if subject is None and not entry.creates:
        raise _missing(entry.aggregate, key, entry.subject)
    if subject is not None and not entry.creates:
        subject.check_live(key, entry.subject)
    given: dict[str, FactAggregate] = {}
    for ref in entry.refs:
        for ref_key in ref.keys(fact):
            found = _require(unit, ref.aggregate, ref_key, ref.field)
            if ref.param is not None:
                given[ref.param] = found
    if subject is None:
        subject = entry.aggregate.create(fact, **given)  # type: ignore[attr-defined]
        unit.created(entry.aggregate, key, subject)
    else:
        getattr(subject, entry.method)(fact, **given)
    return subject


def _void(unit: Unit, fact: FactVoided) -> FactAggregate:
    """A void is recorded on the voided fact's aggregate, which then keeps its rules."""
    target = unit.source(fact.voided_source_id)
    if target is None:
        raise NotFoundError(f"field 'voided_source_id': no fact with source_id "
                            f"'{fact.voided_source_id}' is recorded", field="voided_source_id")
    if target.fact_type == "fact_voided":
        raise RuleViolationError("field 'voided_source_id': a void cannot be voided; record the "
                                 "voided fact again under a new source_id", field="voided_source_id")
    cls = CATALOGUE[target.fact_type].aggregate
    assert cls is not None
    aggregate = unit.get(cls, target.subject_id)
    assert aggregate is not None, target
    aggregate.void(fact)
    return aggregate


def index_entry(fact: FactInput, unit: Unit) -> FactMeta:
    """The fact index's entry of a fact just recorded (a void is about its target's subject)."""
    entry: FactType = CATALOGUE[fact.type]
    if isinstance(fact, FactVoided):
        target = unit.source(fact.voided_source_id)
        assert target is not None
        subject, household = target.subject_id, target.household_id
    else:
        subject, household = entry.subject_of(fact), entry.household_of(fact)
    return FactMeta(fact.source_id, fact.type, subject, household, fact.effective_on,
                    fact.content_hash())


def rejection(fact: FactInput, exc: Exception) -> Outcome:
    """The outcome of a fact a rule refused (or ``already_recorded``: the same reported figure)."""
    if isinstance(exc, AlreadyReportedError):
        return Outcome("already_recorded", fact.source_id)
    if isinstance(exc, DomainRuleError):
        error_class = NotFoundError if exc.not_found else RuleViolationError
        return Outcome("rejected", fact.source_id, error=error_class(str(exc), field=exc.field))
    assert isinstance(exc, LedgerError)
    return Outcome("rejected", fact.source_id, error=exc)


def repeat_outcome(fact: FactInput, previous: KnownSource) -> Outcome:
    """A ``source_id`` recorded before: the same content is a no-op, other content a conflict."""
    if previous.content_hash == fact.content_hash():
        return Outcome("already_recorded", fact.source_id, previous.position)
    return Outcome("rejected", fact.source_id, error=SourceConflictError(
        f"field 'source_id': '{fact.source_id}' was already recorded with different content "
        f"(a {previous.fact_type} about '{previous.subject_id}'); a correction is a fact_voided "
        "followed by the right fact under a new source_id",
        field="source_id",
    ))


def personal_refusal(fact: FactInput) -> Outcome | None:
    """The write side never stores a personal field: ``ledger.vault`` splits them off first."""
    if fact.has_personal_data():
        return Outcome("rejected", fact.source_id, error=InvalidFactError(
            "personal fields reach the ledger only through the vault", field="head_name"))
    return None


def backoff(attempt: int) -> None:
    time.sleep(random.uniform(0.0, 0.05 * (attempt + 1)))  # noqa: S311 - jitter, not a secret


# ---- the service --------------------------------------------------------------------------------
def load_named(store: FactStore, named: Iterable[Named]) -> dict[tuple[str, str], FactAggregate | None]:
    """The named aggregates (None: not recorded), in one call of the store, keyed by
    (kind, key): cheaper to hash than their stream ids, in a batch's many look-ups."""
    streams = {cls.stream_id(key): (cls.KIND, key) for cls, key in named}
    loaded = store.load(list(streams)) if streams else {}
    return {name: loaded.get(stream) for stream, name in streams.items()}


class _StoreUnit:
    """A unit over the store itself: aggregates loaded when first asked for."""

    def __init__(self, store: FactStore, known: dict[str, KnownSource]) -> None:
        self.store = store
        self.known = known
        self.aggregates: dict[tuple[str, str], FactAggregate | None] = {}

    def get(self, cls: type[A], key: str) -> A | None:
        name = (cls.KIND, key)
        if name not in self.aggregates:
            self.aggregates.update(load_named(self.store, [(cls, key)]))
        found = self.aggregates[name]
        assert found is None or isinstance(found, cls)
        return found

    def created(self, cls: type[FactAggregate], key: str, aggregate: FactAggregate) -> None:
        self.aggregates[(cls.KIND, key)] = aggregate

    def source(self, source_id: str) -> KnownSource | None:
        return self.known.get(source_id)


class LedgerService:
    """Records facts one at a time on a store (``ledger.store.port.FactStore``)."""

    def __init__(self, store: FactStore) -> None:
        self.store = store

    def record(self, fact: FactInput) -> Outcome:
        """Record one fact: its outcome (a rejection carries the error, nothing is raised)."""
        refused = personal_refusal(fact)
        if refused is not None:
            return refused
        for attempt in range(MAX_ATTEMPTS):
            try:
                return self._record(fact)
            except StoreConflict:
                backoff(attempt)  # another writer was first: read again
        raise ConcurrencyError("could not record the fact: other writers kept changing the same "
                               "household; try again")

    def _record(self, fact: FactInput) -> Outcome:
        known = self.store.find_sources(sources_named(fact))
        previous = known.get(fact.source_id)
        if previous is not None:
            return repeat_outcome(fact, previous)
        unit = _StoreUnit(self.store, known)
        try:
            aggregate = act(unit, fact)
        except (LedgerError, DomainRuleError) as exc:
            return rejection(fact, exc)
        (event,) = aggregate.collect_events()
        assert isinstance(event, FactEvent)
        (position,) = self.store.save([event], [index_entry(fact, unit)])
        return Outcome("recorded", fact.source_id, position)

    def record_each(self, facts: Iterable[FactInput | LedgerError]) -> Iterator[Outcome]:
        """One outcome per input, in order (an input that failed validation is a rejection)."""
        for fact in facts:
            if isinstance(fact, LedgerError):
                yield Outcome("rejected", None, error=fact)
            else:
                yield self.record(fact)

    def known(self, source_ids: Collection[str]) -> dict[str, KnownSource]:
        return self.store.find_sources(source_ids)
