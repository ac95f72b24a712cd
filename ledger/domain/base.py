"""What every fact-bearing aggregate shares: its events, its facts, its voids, and their rules.

Each fact recorded in the ledger is exactly one domain event. Every event class derives from
:class:`FactEvent` (or :class:`FactCreated` for the one that starts a stream), which carries the
four fields every fact has (``source_id``, ``effective_on``, ``recorded_by``,
``source_document``); its own fields are the fact's, as validated at the edge. Events are
triggered explicitly (``trigger_event``); their ``apply`` only changes state, so replaying a
stream never re-runs a rule.

*Stored names.* Every event class pins its topic (``TOPIC``) and its ``class_version``, and names
the topics a former release stored it under (``FORMER_TOPICS``): the release before the
catalogue stored events of the library's ``@event`` decorator, under topics made of the module
and method names. All are registered when the class is defined, so an old stream replays into
today's classes; a payload that changed has an ``upcast_vN_vM`` (the library calls them). The
aggregates pin theirs too (``TOPIC``, with former topics registered the same way), so the library
checks that every event class defined on an aggregate has an explicit topic.

Aggregates keep a compact list of their own live (not voided) entries, so that the rules can be
checked against the effective dates of facts, which may arrive late and out of order.
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Self, TypeVar
from uuid import UUID

from eventsourcing.domain import AggregateCreated, AggregateEvent, BaseAggregate
from eventsourcing.utils import get_topic, register_topic, resolve_topic

if TYPE_CHECKING:  # the domain takes the validated facts, and never imports the validation library
    from ledger.facts import FactInput
    from ledger.facts import FactVoided as FactVoidedInput

NAMESPACE = uuid.UUID("5d8f6a0e-8f0f-4d8a-9a57-5f2f1c0ad0b1")


class DomainRuleError(Exception):
    """A business rule of the domain was broken; ``field`` names the input field at fault.

    ``not_found``: the rule is that something named must exist (an unknown household, a round
    whose plan was voided): the service reports it as such.
    """

    def __init__(self, message: str, *, field: str | None = None, not_found: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.not_found = not_found


@lru_cache(maxsize=65_536)  # a batch asks for the same ids several times; uuid5 is not cheap
def aggregate_id(kind: str, key: str) -> UUID:
    """Stable aggregate id from a business key: the same household always maps to one stream."""
    return uuid.uuid5(NAMESPACE, f"{kind}:{key}")


def payload(fact: FactInput, *omit: str) -> dict[str, Any]:
    """A fact's fields as its event carries them: everything validated but the ``type`` (and
    ``omit``: fields an event has never stored, its stream saying them already)."""
    fields = fact.fields()
    del fields["type"]
    for name in omit:
        del fields[name]
    return fields


def _register(cls: type, topic: str, former: tuple[str, ...]) -> None:
    for name in (topic, *former):
        register_topic(name, cls)


class FactEvent(AggregateEvent):
    """An event that records one fact."""

    TOPIC: ClassVar[str]
    FORMER_TOPICS: ClassVar[tuple[str, ...]] = ()
    class_version: ClassVar[int] = 1

    source_id: str
    effective_on: dt.date
    recorded_by: str | None
    source_document: str | None

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "TOPIC" in cls.__dict__:
            _register(cls, cls.TOPIC, cls.__dict__.get("FORMER_TOPICS", ()))


class FactCreated(FactEvent, AggregateCreated):
    """The event that records the first fact of a stream, and so creates its aggregate."""

    def mutate(self, aggregate: Any) -> Any:
        """As the library's, but without offering the event's fields to the aggregate's
        ``__init__`` (twice filtered, per event): a fact aggregate sets itself up in
        ``__base_init__`` and the event's ``apply``."""
        assert aggregate is None
        cls = resolve_topic(self.originator_topic)
        created = cls.__new__(cls)
        created.__base_init__(self.originator_id, self.originator_version, self.timestamp)
        self.apply(created)
        return created


E = TypeVar("E", bound=FactEvent)


def built(event_class: type[E], fields: dict[str, Any]) -> E:
    """An event from all its fields, as the library's mapper rebuilds the events it reads.

    (The frozen dataclass's own ``__init__`` sets its twenty-odd fields one by one through
    ``object.__setattr__``: a tenth of recording a fact, for nothing a fact needs.
    ``tests/unit/test_catalogue.py`` checks that every event recorded carries exactly its
    class's fields.)
    """
    event = object.__new__(event_class)
    object.__setattr__(event, "__dict__", fields)
    return event


class Entry(NamedTuple):
    """A live fact as the rules see it (a tuple: an import makes one per fact it records)."""

    source_id: str
    kind: str
    effective_on: dt.date
    data: dict[str, Any]


class FactAggregate(BaseAggregate[UUID]):
    """An aggregate whose every event is a recorded fact, and which facts can void.

    ``KIND`` keys its streams (``aggregate_id(KIND, key)``); ``UNKNOWN`` ends the message when a
    fact names one that is not recorded. The first fact of a stream is recorded by the
    classmethod ``create``; later ones by the method the catalogue names.

    Its state is set up in ``__base_init__``, which the library calls on every aggregate it
    creates or replays, before the created event's ``apply``. (No instance annotations at class
    level: the library would turn them into dataclass fields.)
    """

    TOPIC: ClassVar[str]
    FORMER_TOPICS: ClassVar[tuple[str, ...]] = ()
    KIND: ClassVar[str]
    UNKNOWN: ClassVar[str] = "no live {kind} is recorded with that id"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "TOPIC" in cls.__dict__:
            _register(cls, cls.TOPIC, cls.__dict__.get("FORMER_TOPICS", ()))

    def __base_init__(self, originator_id: UUID, originator_version: int,
                      timestamp: dt.datetime) -> None:
        super().__base_init__(originator_id, originator_version, timestamp)
        self.entries: list[Entry] = []
        self.voided: dict[str, str] = {}

    @classmethod
    def stream_id(cls, key: str) -> UUID:
        return aggregate_id(cls.KIND, key)

    @classmethod
    def _start(cls, event_class: type[FactCreated], stream_key: str, **fields: Any) -> Self:
        """A new aggregate from the event that records its first fact (as ``_create``)."""
        event = built(event_class, {
            "originator_id": cls.stream_id(stream_key), "originator_version": cls.INITIAL_VERSION,
            "timestamp": event_class.create_timestamp(), "originator_topic": get_topic(cls),
            **fields})
        aggregate: Self = event.mutate(None)
        aggregate._pending_events.append(event)
        return aggregate

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        """The library's ``trigger_event`` (the aggregate's next event, applied, then pending),
        the event built by :func:`built`."""
        event = built(event_class, {
            "originator_id": self.id, "originator_version": self.version + 1,
            "timestamp": event_class.create_timestamp(), **kwargs})
        event.mutate(self)
        self._pending_events.append(event)

    def check_live(self, key: str, field: str) -> None:
        """Raise (not found) when the aggregate exists but may not be named by a new fact."""

    def add_entry(self, event: FactEvent, fact_type: str, /, **data: Any) -> None:
        self.entries.append(Entry(event.source_id, fact_type, event.effective_on, data))

    def live(self, *kinds: str) -> list[Entry]:
        """Live entries of the given kinds (all when none given), in effective order."""
        found = [
            e for e in self.entries
            if e.source_id not in self.voided and (not kinds or e.kind in kinds)
        ]
        return sorted(found, key=lambda e: e.effective_on)

    def owns(self, source_id: str) -> bool:
        return any(e.source_id == source_id for e in self.entries)

    def void(self, fact: FactVoidedInput) -> None:
        """Void one of this aggregate's facts: it stops counting, and stays in every trail."""
        target = fact.voided_source_id
        if not self.owns(target):
            raise DomainRuleError(f"fact '{target}' does not belong here", field="voided_source_id")
        if target in self.voided:
            raise DomainRuleError(f"fact '{target}' is already voided (by '{self.voided[target]}')",
                                  field="voided_source_id")
        self.trigger_event(FactVoided, **payload(fact))


class FactVoided(FactEvent):
    """An earlier fact of this aggregate was wrong: it stops counting from now on."""

    TOPIC = "ledger:FactVoided"
    FORMER_TOPICS = ("ledger.domain.base:FactAggregate.FactVoided",)
    voided_source_id: str
    reason: str

    def apply(self, aggregate: FactAggregate) -> None:
        aggregate.voided[self.voided_source_id] = self.source_id
