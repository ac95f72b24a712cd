"""Facts in over HTTP, through the CLI's own paths: ``parse_fact`` and ``Workspace.record_many``
(``POST /v1/facts``, ``/v1/kobo/{mapping}``), ``import_file`` (``POST /v1/imports``).

Every fact is checked against the caller's token before anything is recorded: a request with
one fact the token may not record is refused whole (403), so a refusal never leaves half a
batch behind.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ledger.application import Outcome
from ledger.catalogue import parse_fact
from ledger.errors import InvalidFactError, LedgerError
from ledger.facts import FactInput, FactVoided
from ledger.importing import ImportReport, import_file
from ledger.kobo import KoboMapping, KoboTable
from ledger.readers import read_records
from ledger.service.auth import REGISTRY_FACTS, Forbidden, Principal
from ledger.workspace import Workspace
from projections.audit import household_history

FIRST_REJECTIONS = 20  # as many as `ledger import --json` lists


def claimed_inputs(documents: Sequence[Any], who: Principal) -> list[FactInput | LedgerError]:
    """Each JSON document as a fact this token records, or the error that rejects it."""
    inputs: list[FactInput | LedgerError] = []
    for line, document in enumerate(documents, start=1):
        if not isinstance(document, dict):
            inputs.append(InvalidFactError(
                f"a fact is a JSON object with a 'type' field, not {type(document).__name__}"))
            continue
        try:
            fact = parse_fact(document)
        except LedgerError as exc:
            inputs.append(exc)
            continue
        inputs.append(who.claim(fact, f"record {line}"))
    return inputs


def facts_report(outcomes: Iterable[Outcome], documents: Sequence[Any] = ()) -> dict[str, Any]:
    """``import --json``'s totals and first rejections, plus one result per posted record
    (a rejected record's source_id is the one it gave, if any)."""
    report: dict[str, Any] = {"total": 0, "recorded": 0, "already_recorded": 0, "rejected": 0,
                              "first_rejections": [], "results": []}
    for line, outcome in enumerate(outcomes, start=1):
        report["total"] += 1
        report[outcome.status] += 1
        source_id = outcome.source_id
        if source_id is None and line <= len(documents) and isinstance(documents[line - 1], dict):
            given = documents[line - 1].get("source_id")
            source_id = given if isinstance(given, str) else None
        result: dict[str, Any] = {"line": line, "status": outcome.status,
                                  "source_id": source_id, "position": outcome.position}
        if outcome.error is not None:
            result |= {"field": outcome.error.field, "error": str(outcome.error)}
            if len(report["first_rejections"]) < FIRST_REJECTIONS:
                report["first_rejections"].append(
                    {"line": line, "field": outcome.error.field, "error": str(outcome.error)})
        report["results"].append(result)
    return report


def check_voids(ws: Workspace, who: Principal, facts: Iterable[FactInput | LedgerError]) -> None:
    """A registry-scoped recorder voids a registration, composition change or closure only of
    its own registry (Forbidden otherwise); the voided fact is read from the ledger."""
    scope = who.token.registry
    voids = [f for f in facts if isinstance(f, FactVoided)]
    if scope is None or not voids:
        return
    known = ws.ledger.service.known([v.voided_source_id for v in voids])
    for void in voids:
        target = known.get(void.voided_source_id)
        if target is None or target.fact_type not in REGISTRY_FACTS or target.household_id is None:
            continue  # an unknown fact is the ledger's to reject; other types have no registry
        history = household_history(ws.db, ws.views.rulebooks(), target.household_id)
        registry = next((line.details.get("registry") for line in history.facts
                         if line.source_id == void.voided_source_id), None)
        if registry != scope:
            raise Forbidden(f"{void.source_id}: this recorder token of {who.org} may void "
                            f"{target.fact_type} facts only of the {scope} registry, not {registry}")


# ---- KoboToolbox REST Services ------------------------------------------------------------------
def submission_table(submission: Mapping[str, Any]) -> tuple[list[str], list[Any]]:
    """A Kobo submission as one export row: its keys are the columns (group paths such as
    ``household/members``); a repeat group (a list of objects) becomes the numbered columns an
    export has (``household/member_roster[1]/sex``), so the mapping's summaries count it."""
    header: list[str] = []
    row: list[Any] = []
    for key, value in submission.items():
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for index, entry in enumerate(value, start=1):
                for child, child_value in entry.items():
                    header.append(f"{key}[{index}]/{child.rsplit('/', 1)[-1]}")
                    row.append(_cell(child_value))
            continue
        header.append(str(key))
        row.append(_cell(value))
    return header, row


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float):
        return value
    return json.dumps(value)  # attachments, geolocation, tags: kept as text, mapped by no field


def kobo_input(mapping: KoboMapping, submission: Mapping[str, Any], who: Principal
               ) -> FactInput | LedgerError:
    if not submission.get("_uuid"):
        return InvalidFactError("a KoboToolbox submission has a '_uuid'; this one has none",
                                field="_uuid")
    header, row = submission_table(submission)
    try:
        fields = KoboTable(as_recorded_by(mapping, who), header).fields(row)
        fact = parse_fact(fields)
    except LedgerError as exc:
        return exc
    return who.claim(fact, f"submission {submission.get('_uuid')}")


def as_recorded_by(mapping: KoboMapping, who: Principal) -> KoboMapping:
    """The mapping with the token's organisation as ``recorded_by``: a mapping's constant says
    who runs the form for file imports; over HTTP the token says who is recording."""
    return dataclasses.replace(mapping, constants={**mapping.constants, "recorded_by": who.org})


# ---- file uploads --------------------------------------------------------------------------------
def check_file(path: Path, who: Principal, *, fact_type: str | None,
               kobo: KoboMapping | None) -> list[FactInput]:
    """Refuse (Forbidden) before anything is recorded if any record is not this token's to write.

    Records that do not parse are left to the import itself, which rejects them with reasons.
    Returns the voids, for ``check_voids``.
    """
    voids: list[FactInput] = []
    for record in read_records(path, fact_type=fact_type, kobo=kobo):
        if record.error is not None:
            continue
        try:
            fact = parse_fact(record.fields)
        except LedgerError:
            continue
        who.claim(fact, f"line {record.line}")
        if isinstance(fact, FactVoided):
            voids.append(fact)
    return voids


def import_upload(ws: Workspace, path: Path, who: Principal, *, name: str,
                  fact_type: str | None, kobo: KoboMapping | None) -> ImportReport:
    kobo = as_recorded_by(kobo, who) if kobo is not None else None
    check_voids(ws, who, check_file(path, who, fact_type=fact_type, kobo=kobo))

    def record_many(facts: Iterator[FactInput | LedgerError]) -> Iterator[Outcome]:
        claimed = (f if isinstance(f, LedgerError) else who.claim(f, "record") for f in facts)
        return ws.record_many(claimed)

    report = import_file(record_many, path, rejects_path=path.with_name("rejects" + path.suffix),
                         fact_type=fact_type, kobo=kobo)
    report.file = name
    report.rejects_file = None  # the upload's rejects are in first_rejections; nothing is kept
    return report
