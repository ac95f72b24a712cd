"""The application service: get -> act -> save, one fact at a time or in batches.

Every fact becomes exactly one event on one aggregate (a household, a site or a departure
round). Idempotency is by ``source_id``: a look-up answers the common case ("already
recorded"), and the UNIQUE constraint on ``ledger_facts.source_id`` settles races. A version
conflict (another process changed the same household meanwhile) is retried from fresh state.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoder, Transcoding

from ledger.catalogue import CATALOGUE
from ledger.domain.base import DomainRuleError, FactAggregate, aggregate_id
from ledger.domain.departure_round import DepartureRound
from ledger.domain.household import Household
from ledger.domain.published_figure import PublishedFigure
from ledger.domain.reported_figure import AlreadyReportedError, ReportedFigure
from ledger.domain.rulebook import RulebookDefinition
from ledger.domain.site import Site
from ledger.errors import (
    ConcurrencyError,
    InvalidFactError,
    LedgerError,
    NotFoundError,
    RuleViolationError,
    SourceConflictError,
)
from ledger.facts import FactInput, reported_key
from ledger.pcodes import NATIONAL
from ledger.store.chain import FactMeta
from ledger.store.recorders import LedgerPostgresRecorder, LedgerSQLiteRecorder
from ledger.store.settings import APPLICATION_NAME, StoreSettings
from ledger.store.sources import KnownSource, SourceIndex
from ledger.store.transcoder import OrjsonTranscoder

Status = Literal["recorded", "already_recorded", "rejected"]
MAX_ATTEMPTS = 12
CACHE_SIZE = 20_000  # aggregates kept between the batches of one import (bounds its memory)
BATCH_SIZE = 2_000  # facts per atomic save: a quarter of the commits and round trips of 500


class DateAsISO(Transcoding):
    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


@dataclass(frozen=True)
class Outcome:
    """What happened to one input fact."""

    status: Status
    source_id: str | None
    position: int | None = None
    error: LedgerError | None = None


class MovementLedger(Application[UUID]):
    """The ledger of facts. ``name`` is pinned: it names the PostgreSQL events table."""

    name = APPLICATION_NAME

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        super().__init__(env=settings.eventsourcing_env())
        self.sources = SourceIndex(self.recorder)

    def construct_transcoder(self) -> Transcoder:
        transcoder = OrjsonTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # ---- one fact --------------------------------------------------------------------------
    def record(self, fact: FactInput) -> Outcome:
        """Record one fact; raises a ``LedgerError`` when it is rejected."""
        outcome = next(iter(self.record_many([fact], batch_size=1)))
        if outcome.error is not None:
            raise outcome.error
        return outcome

    # ---- many facts ------------------------------------------------------------------------
    def record_many(
        self, facts: Iterable[FactInput | LedgerError], *, batch_size: int = BATCH_SIZE
    ) -> Iterator[Outcome]:
        """Record facts in order, in batches saved atomically; yields one outcome per input.

        An input that is already a ``LedgerError`` (it failed validation upstream) is passed
        through as a rejection, so callers keep one outcome per input line.

        Batches are recorded one after another, each on the state its predecessor committed.
        While one is recorded (by a writer thread, mostly waiting on the database), the next
        is read from ``facts`` (parsing, for an import): the input is read one batch ahead.
        """
        inputs = iter(facts)
        cache: OrderedDict[tuple[str, str], FactAggregate | None] = OrderedDict()
        try:
            batch = list(islice(inputs, batch_size))
            if len(batch) < batch_size:  # all there is: no reading ahead, no writer thread
                with _collector_paused():
                    outcomes = self._record_batch(batch, cache) if batch else []
                yield from outcomes
                return
            with ThreadPoolExecutor(1, thread_name_prefix="ledger-writer") as writer:
                while batch:
                    failure: Exception | None = None
                    with _collector_paused():
                        recording = writer.submit(self._record_batch, batch, cache)
                        try:
                            batch = list(islice(inputs, batch_size))
                        except Exception as exc:  # the input failed: re-raised once the batch before is out
                            batch, failure = [], exc
                        outcomes = recording.result()
                    yield from outcomes
                    if failure is not None:
                        raise failure
        finally:
            gc.unfreeze()

    def _record_batch(self, batch: list[FactInput | LedgerError],
                      cache: OrderedDict[tuple[str, str], FactAggregate | None]) -> list[Outcome]:
        for attempt in range(MAX_ATTEMPTS):
            try:
                return _Batch(self, cache).run(batch)
            except IntegrityError:
                # A concurrent writer saved an event on one of our aggregates, or the same
                # source_id, between our read and our write. Retry from fresh state: duplicates
                # then show up as "already recorded" in the look-up.
                cache.clear()
                time.sleep(random.uniform(0.0, 0.05 * (attempt + 1)))  # noqa: S311
        if len(batch) > 1:
            return [o for fact in batch for o in self._record_batch([fact], cache)]
        raise ConcurrencyError("could not record the fact: other writers kept changing the same "
                               "household; try again")

    def load_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], FactAggregate | None]:
        """Several aggregates in one round trip (a batch needs dozens to hundreds)."""
        ids = {aggregate_id(kind, key): (kind, key) for kind, key in keys}
        found: dict[tuple[str, str], FactAggregate | None] = dict.fromkeys(ids.values())
        recorder = self.recorder
        assert isinstance(recorder, LedgerPostgresRecorder | LedgerSQLiteRecorder)
        aggregate: Any = None
        for stored in recorder.select_streams(list(ids)):
            event: Any = self.mapper.to_domain_event(stored)
            if event.originator_version == 1:
                aggregate = None
            aggregate = event.mutate(aggregate)
            found[ids[event.originator_id]] = aggregate
        return found

    def save_aggregates(self, aggregates: Iterable[FactAggregate],
                        metas: dict[tuple[UUID, int], FactMeta]) -> list[Any]:
        """Save pending events of many aggregates atomically, each with its fact's index entry.

        (``Application.save`` does the same plus snapshotting and in-process notification,
        neither of which the ledger uses, behind runtime protocol checks that cost more than
        the database write at import scale.)
        """
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        return self.events.put(events, fact_meta=metas)

    def load(self, kind: str, key: str) -> FactAggregate | None:
        try:
            aggregate: FactAggregate = self.repository.get(aggregate_id(kind, key))
        except AggregateNotFoundError:
            return None
        assert isinstance(aggregate, FactAggregate)
        return aggregate


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch allocates its thousands of small objects.

    A batch makes little cyclic garbage, but enough allocations to trigger collections that
    walk every live object, the cached aggregates included: a tenth of an import's time.
    Afterwards the batch's own cyclic garbage is collected (a young-generation pass over just
    what the batch allocated), and the survivors (the cache, mostly) are frozen out of later
    collections; ``record_many`` unfreezes them when it ends. Collecting before freezing keeps
    an import's memory flat: frozen garbage would otherwise live until the import ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect(0)
        if enabled:
            gc.enable()
        gc.freeze()


class _Batch:
    """One batch: aggregates loaded once, facts applied in order, one atomic save.

    ``cache`` carries the aggregates of earlier batches of the same import (up to date after
    their save); a concurrent writer that changed one makes the save fail on its version, and
    the batch is retried with an empty cache.
    """

    def __init__(self, ledger: MovementLedger,
                 cache: OrderedDict[tuple[str, str], FactAggregate | None]) -> None:
        self.ledger = ledger
        self.cache = cache
        self.aggregates: dict[tuple[str, str], FactAggregate | None] = {}
        self.by_id: dict[UUID, FactAggregate] = {}
        self.pending_sources: dict[str, KnownSource] = {}
        self.metas: dict[tuple[UUID, int], FactMeta] = {}

    def preload(self, facts: list[FactInput], known: dict[str, KnownSource]) -> None:
        """Load every aggregate the batch's facts name, in one query."""
        keys: set[tuple[str, str]] = set()
        for fact in facts:
            keys.update(_aggregates_named(fact, known))
        missing = set()
        for key in keys:
            if key in self.cache:
                self.aggregates[key] = self.cache[key]
            else:
                missing.add(key)
        self.aggregates.update(self.ledger.load_many(missing))

    def get(self, kind: str, key: str) -> FactAggregate | None:
        if (kind, key) not in self.aggregates:
            self.aggregates[(kind, key)] = self.ledger.load(kind, key)
        return self.aggregates[(kind, key)]

    def run(self, batch: list[FactInput | LedgerError]) -> list[Outcome]:
        facts = [f for f in batch if isinstance(f, FactInput)]
        known = self.ledger.sources.find([f.source_id for f in facts] + [
            f.voided_source_id for f in facts if f.type == "fact_voided"  # type: ignore[attr-defined]
        ])
        self.preload(facts, known)
        results: list[Outcome | int] = []
        for fact in batch:
            if isinstance(fact, LedgerError):
                results.append(Outcome("rejected", None, error=fact))
                continue
            if fact.personal_fields and fact.personal_data():
                # The write side never stores a personal field: ``ledger.vault`` splits them off.
                results.append(Outcome("rejected", fact.source_id, error=InvalidFactError(
                    "personal fields reach the ledger only through the vault", field="head_name")))
                continue
            previous = known.get(fact.source_id) or self.pending_sources.get(fact.source_id)
            aggregate: FactAggregate
            if previous is not None:
                results.append(_repeat_outcome(fact, previous))
                continue
            try:
                aggregate = self.apply(fact, known)
            except AlreadyReportedError:
                results.append(Outcome("already_recorded", fact.source_id))
                continue
            except DomainRuleError as exc:
                error_class = NotFoundError if exc.not_found else RuleViolationError
                results.append(Outcome("rejected", fact.source_id,
                                       error=error_class(str(exc), field=exc.field)))
                continue
            except LedgerError as exc:
                results.append(Outcome("rejected", fact.source_id, error=exc))
                continue
            event = aggregate.pending_events[-1]
            subject = self.subject_of(fact, known)
            household = _household_of(fact, subject, known, self.pending_sources)
            digest = fact.content_hash()
            meta = FactMeta(fact.source_id, fact.type, subject, household, fact.effective_on, digest)
            self.metas[(aggregate.id, event.originator_version)] = meta
            self.by_id[aggregate.id] = aggregate
            self.pending_sources[fact.source_id] = KnownSource(
                fact.source_id, digest, fact.type, subject, household, aggregate.id, None
            )
            results.append(event.originator_version)
        positions = self.save()
        for key, saved in self.aggregates.items():
            self.cache[key] = saved
            self.cache.move_to_end(key)
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)
        return [
            r if isinstance(r, Outcome) else Outcome("recorded", src, positions.get(src or ""))
            for r, src in zip(results, [getattr(f, "source_id", None) for f in batch], strict=True)
        ]

    def save(self) -> dict[str, int]:
        if not self.by_id:
            return {}
        recordings = self.ledger.save_aggregates(self.by_id.values(), self.metas)
        positions = {}
        for recording in recordings:
            meta = self.metas.get((recording.domain_event.originator_id,
                                   recording.domain_event.originator_version))
            if meta is not None:
                positions[meta.source_id] = recording.notification.id
        return positions

    def subject_of(self, fact: FactInput, known: dict[str, KnownSource]) -> str:
        if fact.type == "fact_voided":
            target = fact.voided_source_id  # type: ignore[attr-defined]
            voided = known.get(target) or self.pending_sources[target]
            return voided.subject_id
        return CATALOGUE[fact.type].subject_of(fact)

    # ---- the rules that need more than one aggregate --------------------------------------
    def apply(self, fact: FactInput, known: dict[str, KnownSource]) -> FactAggregate:
        fields = fact.fields()
        del fields["type"]
        return HANDLERS[fact.type](self, fields, known)

    def require(self, kind: str, key: str, field: str) -> FactAggregate:
        aggregate = self.get(kind, key)
        if aggregate is None or (isinstance(aggregate, Site) and not aggregate.is_registered):
            raise NotFoundError(f"unknown {kind} '{key}': no live {kind} is recorded with that id",
                                field=field)
        return aggregate

    def household(self, fields: dict[str, Any]) -> Household:
        household = self.require("household", fields["household_id"], "household_id")
        assert isinstance(household, Household)
        return household

    def site(self, site_id: str, field: str) -> Site:
        site = self.require("site", site_id, field)
        assert isinstance(site, Site)
        return site

    def round(self, round_id: str) -> DepartureRound:
        found = self.require("round", round_id, "round_id")
        assert isinstance(found, DepartureRound)
        found.check_planned()
        return found


def _repeat_outcome(fact: FactInput, previous: KnownSource) -> Outcome:
    if previous.content_hash == fact.content_hash():
        return Outcome("already_recorded", fact.source_id, previous.position)
    return Outcome("rejected", fact.source_id, error=SourceConflictError(
        f"field 'source_id': '{fact.source_id}' was already recorded with different content "
        f"(a {previous.fact_type} about '{previous.subject_id}'); a correction is a fact_voided "
        "followed by the right fact under a new source_id",
        field="source_id",
    ))


def _aggregates_named(fact: FactInput, known: dict[str, KnownSource]) -> set[tuple[str, str]]:
    data = fact.__dict__
    keys = set()
    for field, kind in (("household_id", "household"), ("site_id", "site"), ("from_site_id", "site"),
                        ("to_site_id", "site"), ("round_id", "round")):
        if data.get(field):
            keys.add((kind, data[field]))
    keys.update(("site", site) for site in data.get("from_site_ids") or ())
    if fact.type == "figure_reported":
        keys.add(("reported", fact.key))  # type: ignore[attr-defined]
    if fact.type == "fact_voided" and data["voided_source_id"] in known:
        target = known[data["voided_source_id"]]
        keys.add((_kind_of(target.fact_type), target.subject_id))
    return keys


def _kind_of(fact_type: str) -> str:
    if fact_type in CATALOGUE.about(Household):
        return "household"
    if fact_type == "figure_reported":
        return "reported"
    if fact_type.startswith("figure_"):
        return "figure"
    if fact_type == "rulebook_defined":
        return "rulebook"
    return "site" if fact_type.startswith("site_") else "round"


def _household_of(fact: FactInput, subject_id: str, known: dict[str, KnownSource],
                  pending: dict[str, KnownSource]) -> str | None:
    """The household a fact is about, if any (a void is about its voided fact's household)."""
    if fact.type in CATALOGUE.about(Household):
        return subject_id
    if fact.type in {"household_manifested", "household_withdrawn"}:
        return str(fact.household_id)  # type: ignore[attr-defined]
    if fact.type == "fact_voided":
        target = known.get(fact.voided_source_id) or pending[fact.voided_source_id]  # type: ignore[attr-defined]
        return target.household_id
    return None


Handler = Callable[[_Batch, dict[str, Any], dict[str, KnownSource]], FactAggregate]


def _site_registered(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
    site = b.get("site", f["site_id"])
    if site is None:
        site = Site(**f)
        b.aggregates[("site", f["site_id"])] = site
    else:
        assert isinstance(site, Site)
        site.register_again(**f)
    return site


def _site_closed(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
    site = b.site(f["site_id"], "site_id")
    site.close(**{k: v for k, v in f.items() if k != "site_id"})
    return site


def _household_registered(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
    if f.get("site_id"):
        b.site(f["site_id"], "site_id")
    household = b.get("household", f["household_id"])
    if household is None:
        household = Household(**f)
        b.aggregates[("household", f["household_id"])] = household
        return household
    assert isinstance(household, Household)
    household.register(**f)
    return household


def _composition_changed(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
    household = b.household(f)
    household.change_composition(**f)
    return household


def _household_departed(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
    household = b.household(f)
    b.site(f["from_site_id"], "from_site_id")
    if f.get("to_site_id"):
        b.site(f["to_site_id"], "to_site_id")
    on_manifest = None
    if f.get("round_id"):
        departure_round = b.round(f["round_id"])
        if f["from_site_id"] not in departure_round.from_site_ids:
            raise RuleViolationError(
                f"round '{f['round_id']}' departs from {', '.join(sorted(departure_round.from_site_ids))}, "
                f"not from '{f['from_site_id']}'", field="from_site_id",
            )
        on_manifest = departure_round.is_on_manifest(f["household_id"], f["effective_on"])
    household.depart(on_round_manifest=on_manifest, **f)
    return household


def _household_reentered(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
    household = b.household(f)
    b.site(f["site_id"], "site_id")
    household.reenter(**f)
    return household


def _on_household(method: str) -> Handler:
    def handle(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
        household = b.household(f)
        getattr(household, method)(**f)
        return household

    return handle


def _round_planned(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
    for site_id in f["from_site_ids"]:
        b.site(site_id, "from_site_ids")
    departure_round = b.get("round", f["round_id"])
    if departure_round is None:
        departure_round = DepartureRound(**f)
        b.aggregates[("round", f["round_id"])] = departure_round
        return departure_round
    assert isinstance(departure_round, DepartureRound)
    departure_round.plan_again(**f)
    return departure_round


def _on_round(method: str, *, about_household: bool) -> Handler:
    def handle(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
        departure_round = b.round(f["round_id"])
        if about_household:
            b.household(f).check_dated_after_registration(f["effective_on"])
        getattr(departure_round, method)(**f)
        return departure_round

    return handle


def _fact_voided(b: _Batch, f: dict[str, Any], known: dict[str, KnownSource]) -> FactAggregate:
    target = f["voided_source_id"]
    voided = known.get(target) or b.pending_sources.get(target)
    if voided is None:
        raise NotFoundError(f"field 'voided_source_id': no fact with source_id '{target}' is "
                            "recorded", field="voided_source_id")
    if voided.fact_type == "fact_voided":
        raise RuleViolationError("field 'voided_source_id': a void cannot be voided; record the "
                                 "voided fact again under a new source_id", field="voided_source_id")
    aggregate = b.get(_kind_of(voided.fact_type), voided.subject_id)
    assert aggregate is not None
    try:
        aggregate.void(**f)
    except DomainRuleError as exc:
        raise RuleViolationError(str(exc), field="voided_source_id") from None
    return aggregate


def _figure_published(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
    if b.get("figure", f["figure_id"]) is not None:
        raise RuleViolationError(f"figure '{f['figure_id']}' is already published; a corrected "
                                 "figure is a new publication", field="figure_id")
    figure = PublishedFigure(**f)
    b.aggregates[("figure", f["figure_id"])] = figure
    return figure


def _figure_reported(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
    if not f["place"].startswith("IQG") and f["place"] != NATIONAL:
        b.site(f["place"], "place")
    key = reported_key(f["source"], f["dataset"], f["place"], f["status"], f.get("location"))
    figure = b.get("reported", key)
    if figure is None:
        figure = ReportedFigure(key=key, **f)
        b.aggregates[("reported", key)] = figure
        return figure
    assert isinstance(figure, ReportedFigure)
    figure.report_again(key=key, **f)
    return figure


def _figure_retracted(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
    figure = b.get("figure", f["figure_id"])
    if figure is None:
        raise NotFoundError(f"unknown figure '{f['figure_id']}': no published figure has that id",
                            field="figure_id")
    assert isinstance(figure, PublishedFigure)
    figure.retract(**f)
    return figure


def _rulebook_defined(b: _Batch, f: dict[str, Any], _: dict[str, KnownSource]) -> FactAggregate:
    book = b.get("rulebook", f["rulebook"])
    if book is None:
        book = RulebookDefinition(**f)
        b.aggregates[("rulebook", f["rulebook"])] = book
        return book
    assert isinstance(book, RulebookDefinition)
    book.define(**f)
    return book


HANDLERS: dict[str, Handler] = {
    "site_registered": _site_registered,
    "site_closed": _site_closed,
    "household_registered": _household_registered,
    "composition_changed": _composition_changed,
    "household_departed": _household_departed,
    "household_reentered": _household_reentered,
    "returnee_registered": _on_household("register_as_returnee"),
    "grant_disbursed": _on_household("disburse_grant"),
    "registration_closed": _on_household("close_registration"),
    "round_planned": _round_planned,
    "household_manifested": _on_round("manifest", about_household=True),
    "household_withdrawn": _on_round("withdraw", about_household=False),
    "round_closed": _on_round("close", about_household=False),
    "fact_voided": _fact_voided,
    "personal_data_erased": _on_household("erase_personal_data"),
    "figure_published": _figure_published,
    "figure_reported": _figure_reported,
    "figure_retracted": _figure_retracted,
    "rulebook_defined": _rulebook_defined,
}
