"""Audit trails for disputed counts: ``ledger audit ...``, ``ledger publish``, ``ledger verify``."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.application import Outcome
from ledger.catalogue import parse_fact
from ledger.cells import spreadsheet_text
from ledger.cli.options import AsOf, Json, KnownAt, parse_as_of, parse_known_at, parse_level
from ledger.cli.output import Force, console, output_path, print_json, reports_errors, table
from ledger.cli.public import MinHouseholds, NeverPublic, Public, refuse_public
from ledger.cli.state import workspace
from ledger.errors import StoreError
from ledger.outputs import OutputPath, staged
from ledger.workspace import Workspace
from projections.audit import (
    CountLineage,
    FactLine,
    FigureAudit,
    FigureDiff,
    HouseholdHistory,
    audit_figure,
    chain_head,
    diff_rows,
    figure_audit_rows,
    figure_values,
    history_rows,
    lineage_rows,
    load_figure,
    rulebook_digest,
    site_facts,
    sites_known_at,
    versioned_count,
    versioned_diff,
)
from projections.audit import household_history as read_history
from projections.bridge import Figure, Level
from projections.disclosure import DEFAULT_MIN_HOUSEHOLDS
from projections.fold import COUNTED_STATUSES
from projections.lineage import Explained, Explanation
from projections.places import check_places
from projections.public import public_figure, recorded_suppression, suppressed_cells
from projections.queries import ViewResult, now
from projections.rulebook_versions import load_versions
from projections.verify import FigureCheck, Verification
from projections.verify import verify as verify_ledger

audit_app = typer.Typer(
    help="Audit trails for disputed counts: a household's history, the households behind a "
    "figure, what changed a figure between two known-at times, and published figures re-derived.",
    no_args_is_help=True,
)

Rulebook = Annotated[str, typer.Option("--rulebook", help="official, operational or one you added.")]
Status = Annotated[str, typer.Option(
    "--status", help="idp_in_camp, idp_out_of_camp, returnee or locally_integrated.")]
Place = Annotated[str, typer.Option(
    "--place", help="A site id or p-code at cell level; a district or governorate p-code with "
    "--by adm2/adm1; IRQ with --by national.")]
By = Annotated[str, typer.Option("--by", metavar="cell|adm2|adm1|national",
                                 help="The grouping the figure is at (default: cell).")]
Csv = Annotated[Path | None, typer.Option(
    "--csv", metavar="PATH", help="Also write the audit trail as CSV to PATH, for sharing.")]


def parse_status(value: str) -> str:
    if value not in COUNTED_STATUSES:
        raise typer.BadParameter(f"{value!r}; expected one of {', '.join(COUNTED_STATUSES)}",
                                 param_hint="--status")
    return value


def csv_output(path: Path | None, force: bool) -> OutputPath | None:
    """The checked --csv path, before any work."""
    return None if path is None else output_path(path, "audit", force=force)


def write_csv(output: OutputPath | None, rows: Sequence[dict[str, Any]]) -> None:
    if output is None:
        return
    columns = list(rows[0]) if rows else ["empty"]
    with staged(output) as stage, stage.path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: v.isoformat() if isinstance(v, dt.date)
                             else spreadsheet_text(v) if isinstance(v, str) else v
                             for k, v in row.items()})


def fig(figure: Figure) -> dict[str, int]:
    return {"households": figure.households, "individuals": figure.individuals}


def signed(figure: Figure) -> str:
    return f"{figure.households:+,} / {figure.individuals:+,}"


def stamp(moment: dt.datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


# ---- audit household ------------------------------------------------------------------------
@audit_app.command("household")
@reports_errors
def household(
    household_id: Annotated[str, typer.Argument(help="The household's id.")],
    known_at: KnownAt = None, csv_path: Csv = None, force: Force = False,
    public: NeverPublic = False, json_output: Json = False,
) -> None:
    """Every fact of a household across registries (both times, who, paper trail, voids) and
    its status, place and individuals under each rulebook over time."""
    refuse_public(public, "`audit household`")
    csv_out = csv_output(csv_path, force)
    with workspace() as ws:
        history = read_history(ws.db, ws.views.rulebooks(), household_id, parse_known_at(known_at))
    write_csv(csv_out, history_rows(history))
    if json_output:
        print_json(history_document(history))
        return
    print_history(history)


def history_document(history: HouseholdHistory) -> dict[str, Any]:
    return {
        "household_id": history.household_id, "known_at": history.known_at,
        "facts": [line.as_dict() for line in history.facts],
        "states": [s.as_dict() for s in history.states],
        "revisions": [s.as_dict() for s in history.revisions],
    }


def print_history(history: HouseholdHistory) -> None:
    table(f"Household {history.household_id}: facts in effective order",
          ["effective", "recorded (UTC)", "type", "source_id", "by", "document", "what", "voided by"],
          [[f.effective_on, stamp(f.recorded_at), f.type, f.source_id, f.recorded_by,
            f.source_document, _what(f.details),
            f"{f.voided_by} ({stamp(f.voided_at)})" if f.voided_by else ""]
           for f in history.facts])
    table(f"Household {history.household_id}: status by rulebook over time (as known "
          f"{'now' if history.known_at is None else 'at ' + stamp(history.known_at)})",
          ["rulebook", "from", "until", "status", "place", "individuals"],
          [[s.rulebook, s.valid_from, s.valid_to or "", s.status, s.place, s.individuals]
           for s in history.states], numeric=["individuals"])


def _what(details: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in details.items()
                     if v is not None and k != "household_id")


# ---- audit count -----------------------------------------------------------------------------
@audit_app.command("count")
@reports_errors
def count(
    rulebook: Rulebook, status: Status, place: Place, by: By = "cell", as_of: AsOf = None,
    known_at: KnownAt = None, csv_path: Csv = None, force: Force = False,
    public: NeverPublic = False, json_output: Json = False,
) -> None:
    """The households behind a figure, each with the facts that put it there; they add up to
    the figure exactly. It counts with the rulebook version known at --known-at."""
    refuse_public(public, "`audit count`")
    level, cell = parse_level(by), (parse_status(status), place)
    moment = parse_known_at(known_at) or now()
    csv_out = csv_output(csv_path, force)
    with workspace() as ws:
        ws.catch_up()
        check_places([place], ws.views.sites())
        lineage = versioned_count(ws.views, load_versions(ws.db), rulebook, cell, level,
                                  parse_as_of(as_of) or moment.date(), moment)
    write_csv(csv_out, lineage_rows(lineage))
    if json_output:
        print_json(lineage_document(lineage))
        return
    print_lineage(lineage)


def lineage_document(lineage: CountLineage) -> dict[str, Any]:
    return {
        "rulebook": lineage.rulebook, "rulebook_version": lineage.rulebook_version,
        "status": lineage.status, "place": lineage.place, "by": lineage.level,
        "as_of": lineage.as_of, "known_at": lineage.known_at,
        "figure": fig(lineage.figure),
        "rows": [{"household_id": h.household_id, "status": h.status, "cell_place": h.place,
                  "individuals": h.individuals,
                  "facts": [{k: v for k, v in f.as_dict().items() if k != "details"}
                            for f in h.facts],
                  **explanation_document(h.explanation)}
                 for h in lineage.households],
    }


def _explained(item: Explained) -> dict[str, Any]:
    line = {k: v for k, v in FactLine.of(item.fact).as_dict().items()
            if k not in {"voided_by", "voided_at"}}
    return {**line, "why": item.why, "applied_by": list(item.applied_by)}


def explanation_document(explanation: Explanation | None) -> dict[str, Any]:
    """``cause`` (the fact that placed the household in its cell under this rulebook, with
    ``why``), ``not_applied`` (facts this rulebook did not act on that another built-in one did,
    each with ``why`` and ``applied_by``) and ``other_rulebooks`` (how each other built-in
    rulebook counts it: ``status``, ``place``, ``individuals``, the bridge ``reason``, ``why``)."""
    if explanation is None:
        return {}
    return {
        "cause": _explained(explanation.cause) if explanation.cause else None,
        "not_applied": [_explained(item) for item in explanation.not_applied],
        "other_rulebooks": [other.as_dict() for other in explanation.others],
    }


def print_lineage(lineage: CountLineage) -> None:
    total = lineage.figure
    version = f" v{lineage.rulebook_version}" if lineage.rulebook_version is not None else ""
    table(f"{lineage.rulebook}{version}: {lineage.status} at {lineage.place} (by {lineage.level}) as of "
          f"{lineage.as_of}, known at {stamp(lineage.known_at)}",
          ["household", "place", "individuals", "facts that put it there", "cause",
           "not applied here (why)", "elsewhere"],
          [[h.household_id, h.place, h.individuals,
            "\n".join(f"{f.effective_on} {f.type} {f.source_id}" for f in h.facts),
            *_explanation_cells(h.explanation)]
           for h in lineage.households]
          + [["total", f"{total.households:,} households", f"{total.individuals:,}", "", "", "",
              ""]],
          numeric=["individuals"])


def _explanation_cells(explanation: Explanation | None) -> list[str]:
    if explanation is None:
        return ["", "", ""]
    cause = explanation.cause
    return [
        f"{cause.fact.effective_on} {cause.fact.source_id}: {cause.why}" if cause else "",
        "\n".join(f"{i.fact.effective_on} {i.fact.type} {i.fact.source_id}: {i.why} "
                  f"(applied by {', '.join(i.applied_by)})" for i in explanation.not_applied),
        "\n".join(f"{o.rulebook}: {o.why}" + (f" [{o.reason}]" if o.reason else "")
                  for o in explanation.others),
    ]


# ---- audit diff -------------------------------------------------------------------------------
@audit_app.command("diff")
@reports_errors
def diff(
    rulebook: Rulebook, status: Status, place: Place,
    as_of: Annotated[str, typer.Option("--as-of", metavar="YYYY-MM-DD",
                                       help="The as-of date of the figure.")],
    known_at: Annotated[str, typer.Option(
        "--known-at", metavar="TIMESTAMP",
        help="The earlier known-at time (e.g. when the figure was published), with a UTC offset.")],
    vs_known_at: Annotated[str | None, typer.Option(
        "--vs-known-at", metavar="TIMESTAMP", help="The later known-at time (default: now).")] = None,
    by: By = "cell", csv_path: Csv = None, force: Force = False, json_output: Json = False,
) -> None:
    """The same figure known at two times, and every fact recorded in between that changed it,
    with its contribution; the contributions add up to the change exactly. Each time counts
    with the rulebook version known then: a version recorded in between is one of the changes."""
    level, cell = parse_level(by), (parse_status(status), place)
    first = parse_known_at(known_at)
    second = parse_known_at(vs_known_at, "--vs-known-at") or now()
    day = parse_as_of(as_of)
    assert first is not None
    assert day is not None
    if second < first:
        raise typer.BadParameter("must be after --known-at", param_hint="--vs-known-at")
    csv_out = csv_output(csv_path, force)
    with workspace() as ws:
        ws.catch_up()
        check_places([place], ws.views.sites())
        result = versioned_diff(ws.views, load_versions(ws.db), rulebook, cell, level, day,
                                first, second)
    write_csv(csv_out, diff_rows(result))
    if json_output:
        print_json(diff_document(result))
        return
    print_diff(result)


def diff_document(d: FigureDiff) -> dict[str, Any]:
    return {
        "rulebook": d.rulebook, "status": d.status, "place": d.place, "by": d.level,
        "as_of": d.as_of, "known_at": d.known_at, "vs_known_at": d.vs_known_at,
        "versions": ({"known_at": d.versions[0], "vs_known_at": d.versions[1]}
                     if d.versions else None),
        "before": fig(d.before), "after": fig(d.after), "change": fig(d.after - d.before),
        "explained": fig(d.explained), "adds_up": d.adds_up,
        "facts_considered": d.facts_considered, "rows": diff_rows(d),
    }


def print_diff(d: FigureDiff) -> None:
    console.print(f"[bold]{d.rulebook}[/]: {d.status} at {d.place} (by {d.level}) as of {d.as_of}",
                  highlight=False)
    first, second = (f" ({d.rulebook} v{v})" for v in d.versions) if d.versions else ("", "")
    console.print(f"  known at {stamp(d.known_at)}{first}: {d.before.households:,} households / "
                  f"{d.before.individuals:,} individuals", highlight=False)
    console.print(f"  known at {stamp(d.vs_known_at)}{second}: {d.after.households:,} households"
                  f" / {d.after.individuals:,} individuals", highlight=False)
    table(f"Facts recorded in between that changed it ({len(d.changes)} of "
          f"{d.facts_considered:,} recorded)",
          ["recorded (UTC)", "type", "source_id", "household", "effective", "by", "change"],
          [[stamp(c.fact.recorded_at), c.fact.type + (
              f" of {c.fact.details['voided_source_id']}" if c.fact.type == "fact_voided" else ""),
            c.fact.source_id, c.household_id or c.fact.subject_id, c.fact.effective_on,
            c.fact.recorded_by, signed(contribution)] for c, contribution in d.changes]
          + [["total", "", "", "", "", "", signed(d.explained)]])
    verdict = "adds up exactly" if d.adds_up else "DOES NOT ADD UP (run `ledger verify`)"
    console.print(f"  change {signed(d.after - d.before)}; explained {signed(d.explained)}: "
                  f"{verdict}", highlight=False)


# ---- publish and audit figure ---------------------------------------------------------------------
def publish_figure(ws: Workspace, rulebook: str, level: Level, as_of: dt.date,
                   recorded_by: str | None, source_document: str | None,
                   public: int | None = None) -> tuple[str, str, Outcome]:
    """Record the figure the views give now, at K = the chain head's recorded time; ``public``:
    the threshold of its public version, whose suppressed cells are recorded with it."""
    head = chain_head(ws.db)  # read before catching up: the views then cover at least the head
    if head is None:
        raise StoreError("nothing to publish: the ledger holds no fact yet")
    ws.catch_up()
    used = load_versions(ws.db).at(rulebook, head.recorded_at)
    book = used.book
    with ws.db.cursor() as cur:
        sites = sites_known_at(site_facts(cur, ws.db), head.recorded_at, as_of)
    rows = figure_values(ws.views, book, level, as_of, head.recorded_at, sites)
    today = now().date()
    key = f"{head.digest}|{book.name}|{level}|{as_of.isoformat()}".encode()
    if public is not None:
        key += f"|public>={public}".encode()
    hidden = suppressed_cells(ViewResult(book.name, as_of, head.recorded_at, level, tuple(rows)),
                              book, sites, public) if public is not None else set()
    figure_id = f"FIG-{today:%Y%m%d}-{hashlib.sha256(key).hexdigest()[:10]}"
    fact = parse_fact({
        "type": "figure_published", "source_id": figure_id, "effective_on": today.isoformat(),
        "recorded_by": recorded_by, "source_document": source_document,
        "figure_id": figure_id, "rulebook": book.name, "level": level, "as_of": as_of.isoformat(),
        "known_at": head.recorded_at.isoformat(), "ledger_digest": head.digest,
        "head_position": head.position, "rulebook_digest": rulebook_digest(book),
        "rulebook_version": used.version,
        "values": [{"status": r.status, "place": r.place, "households": r.households,
                    "individuals": r.individuals} for r in rows],
        **({"public_min_households": public,
            "suppressed": [{"status": c[0], "place": c[1]} for c in sorted(hidden)]}
           if public is not None else {}),
    }, internal=True)
    return figure_id, head.digest, ws.record(fact)


@reports_errors
def publish_command(
    rulebook: Rulebook, as_of: AsOf = None,
    by: Annotated[str, typer.Option("--by", metavar="cell|adm2|adm1|national",
                                    help="The grouping of the published figure.")] = "cell",
    recorded_by: Annotated[str | None, typer.Option(
        "--recorded-by", help="Who publishes it (organisation or user).")] = None,
    source_document: Annotated[str | None, typer.Option(
        "--source-document", help="Where it is published (report, dashboard, letter).")] = None,
    planning: Annotated[bool, typer.Option(
        "--planning", help="Allow an --as-of after today: figures for a planning date (the facts "
        "recorded so far, as they stand on that date).")] = False,
    json_output: Json = False,
    public: Public = False, min_households: MinHouseholds = DEFAULT_MIN_HOUSEHOLDS,
) -> None:
    """Record a published figure (rulebook, grouping, D, K = now, its values) with the ledger's
    digest at this moment, so anyone can later re-derive it and check it matches.

    An --as-of after today is refused unless --planning is given (a typo such as 9999-12-31
    would otherwise be published for ever); a figure published by mistake can be withdrawn with
    `ledger figures retract`.

    With --public the figure is published with small cells suppressed (as `views show
    --public`): the fact records the exact values (so it re-derives), the threshold and the
    suppressed cells; the output shows the public figure."""
    level = parse_level(by)
    day = parse_as_of(as_of, announce=planning) or now().date()
    if day > now().date() and not planning:
        raise typer.BadParameter(
            f"{day} is after today ({now().date()}); give --planning to publish figures for a "
            "planning date", param_hint="--as-of")
    with workspace() as ws:
        figure_id, digest, outcome = publish_figure(
            ws, rulebook, level, day, recorded_by, source_document,
            min_households if public else None)
        published = read_published(ws, figure_id)
        if public:
            published = public_figure(published, recorded_suppression(ws, figure_id),
                                      min_households)
    if json_output:
        print_json({"figure_id": figure_id, "digest": digest, "status": outcome.status,
                    "position": outcome.position, **published})
        return
    console.print(f"Published [bold]{figure_id}[/] ({outcome.status}); ledger digest {digest}",
                  highlight=False)
    table(None, ["status", "place", "households", "individuals"],
          [[v["status"], v["place"], _shown(v, "households"), _shown(v, "individuals")]
           for v in published["values"]], numeric=["households", "individuals"])
    if public:
        console.print(published["disclosure"]["rule"].capitalize() + ".", highlight=False)
    console.print(f"Check it any time: ledger audit figure {figure_id}", highlight=False)


def _shown(value: dict[str, Any], key: str) -> str:
    return "suppressed" if value[key] is None else f"{value[key]:,}"


def read_published(ws: Workspace, figure_id: str) -> dict[str, Any]:
    record = load_figure(ws.db, figure_id)
    return {"rulebook": record.rulebook, "rulebook_version": record.rulebook_version,
            "by": record.level, "as_of": record.as_of,
            "known_at": record.known_at, "head_position": record.head_position,
            "values": [{"status": v.status, "place": v.place, "households": v.households,
                        "individuals": v.individuals} for v in record.values]}


@audit_app.command("figure")
@reports_errors
def figure(
    figure_id: Annotated[str, typer.Argument(help="The id `ledger publish` printed.")],
    csv_path: Csv = None, force: Force = False, json_output: Json = False,
) -> None:
    """Re-derive a published figure as known then and as known now: does it still match, and
    which facts recorded since changed it?"""
    csv_out = csv_output(csv_path, force)
    with workspace() as ws:
        ws.catch_up()
        audit = audit_figure(ws.views, ws.views.rulebooks(), figure_id, now())
    write_csv(csv_out, figure_audit_rows(audit))
    if json_output:
        print_json(figure_document(audit))
        return
    print_figure(audit)


def figure_document(a: FigureAudit) -> dict[str, Any]:
    f = a.figure
    return {
        "figure_id": f.figure_id, "rulebook": f.rulebook, "rulebook_version": f.rulebook_version,
        "by": f.level, "as_of": f.as_of,
        "known_at": f.known_at, "published_at": f.recorded_at, "digest": f.ledger_digest,
        "head_position": f.head_position, "digest_matches": a.digest_matches,
        "still_matches": a.still_matches, "rulebook_changed": a.rulebook_changed, "now": a.now,
        "retracted": a.retraction is not None,
        "retraction": a.retraction.as_dict() if a.retraction is not None else None,
        "cells": [
            {"status": c.status, "place": c.place, "published": fig(c.published),
             "known_then": fig(c.known_then), "known_now": fig(c.known_now),
             "change": fig(c.known_now - c.known_then),
             "facts": [{"source_id": ch.fact.source_id, "type": ch.fact.type,
                        "recorded_at": ch.fact.recorded_at, "household_id": ch.household_id,
                        **fig(contribution)} for ch, contribution in c.changes]}
            for c in a.cells
        ],
    }


def print_figure(a: FigureAudit) -> None:
    f = a.figure
    console.print(f"[bold]{f.figure_id}[/]: {f.rulebook} v{f.rulebook_version} by {f.level} "
                  f"as of {f.as_of}, known at "
                  f"{stamp(f.known_at)} (published {stamp(f.recorded_at)})", highlight=False)
    verdict = "still matches" if a.still_matches else "NO LONGER MATCHES (run `ledger verify`)"
    console.print(f"  re-derived as known then: {verdict}; digest at position "
                  f"{f.head_position}: {'matches' if a.digest_matches else 'DIFFERS'}"
                  + ("; its rulebook was changed since" if a.rulebook_changed else ""),
                  highlight=False)
    if a.retraction is not None:
        console.print(f"  [bold]RETRACTED[/] {stamp(a.retraction.recorded_at)}: "
                      f"{a.retraction.reason}", highlight=False)
    table("Published, re-derived then, and now", ["status", "place", "published", "then", "now",
                                                   "change since"],
          [[c.status, c.place, _hi(c.published), _hi(c.known_then), _hi(c.known_now),
            signed(c.known_now - c.known_then) if c.known_now != c.known_then else ""]
           for c in a.cells])
    for c in a.cells:
        if c.changes:
            table(f"What changed {c.status} at {c.place} since it was published",
                  ["recorded (UTC)", "type", "source_id", "household", "change"],
                  [[stamp(ch.fact.recorded_at), ch.fact.type, ch.fact.source_id,
                    ch.household_id or ch.fact.subject_id, signed(contribution)]
                   for ch, contribution in c.changes])


def _hi(figure: Figure) -> str:
    return f"{figure.households:,} / {figure.individuals:,}"


# ---- verify ----------------------------------------------------------------------------------
@reports_errors
def verify_command(
    digest: Annotated[list[str] | None, typer.Option(
        "--digest", metavar="HEX",
        help="A digest kept outside the database (e.g. printed by `publish`); it must appear in "
        "the recomputed chain. Repeatable.")] = None,
    figures: Annotated[bool, typer.Option(
        "--figures/--no-figures", help="Re-derive every published figure from the stored facts "
        "(default) or only check their digests.")] = True,
    views: Annotated[bool, typer.Option(
        "--views", help="Also recompute every view row from the log (household page by page) "
        "and report every cell that differs from the stored views. Without it, the views are "
        "checked against the digest kept with their position, which notices most edits.")] = False,
    json_output: Json = False,
) -> None:
    """Recompute the hash chain over every stored fact and every published figure; report OK,
    or the first fact that no longer matches and the published figures that depend on it; and
    check that the views were not edited behind the projector's back. Exits 1 when the ledger
    does not verify."""
    with workspace() as ws:
        result = verify_ledger(ws.db, ws.views.rulebooks(), anchors=digest or (), figures=figures,
                               views=ws.views if views else None)
    if json_output:
        print_json(result.as_dict())
    else:
        print_verification(result)
    if not result.ok:
        raise typer.Exit(1)


MAX_CELLS_SHOWN = 50


def print_view_problems(views: dict[str, Any]) -> None:
    if views.get("tables_changed"):
        console.print(f"[bold red]VIEWS CHANGED[/]: {', '.join(views['tables_changed'])} no longer "
                      f"match the digest kept at position {views['digest_position']}: edited "
                      "behind the projector's back (`ledger verify --views` lists the cells, "
                      "`ledger views rebuild` repairs them)", highlight=False)
    check = views.get("check")
    if check and check["differences"]:
        cells = check["cells"]
        table(f"View cells that differ from the log ({check['differences']:,})",
              ["table", "key", "column", "stored", "expected"],
              [[c["table"], " ".join(str(v) for v in c["key"].values()), c["column"], c["stored"],
                c["expected"]] for c in cells[:MAX_CELLS_SHOWN]])
        if len(cells) > MAX_CELLS_SHOWN:
            console.print(f"  ... and {len(cells) - MAX_CELLS_SHOWN:,} more (all of them with --json)")


def print_verification(r: Verification) -> None:
    first = r.first_break
    retracted = [f for f in r.figures if f.retracted]
    if not r.views["ok"]:
        print_view_problems(r.views)
    if r.ok:
        console.print(f"[bold green]OK[/]: {r.facts:,} facts chained, head {r.head_position} "
                      f"digest {r.head_digest}; {len(r.figures) - len(retracted)} published "
                      f"figures re-derive" + (f", {len(retracted)} retracted" if retracted else ""),
                      highlight=False)
        print_retracted(retracted)
        return
    if first is not None:
        console.print(f"[bold red]TAMPERED[/]: fact at position {first.position} "
                      f"(source_id {first.source_id}, {first.fact_type}): {first.problem}",
                      highlight=False)
        console.print(f"  {r.broken_links} broken link(s) in {r.facts:,} facts", highlight=False)
    else:
        console.print("[bold red]DOES NOT VERIFY[/]", highlight=False)
    for d, position in r.anchors.items():
        if position is None:
            console.print(f"  digest {d} does not appear in the chain", highlight=False)
    print_retracted(retracted)
    bad = [f for f in r.figures if not f.ok and not f.retracted]
    if bad:
        table("Published figures affected", ["figure", "head position", "depends on the break",
                                             "digest", "re-derives"],
              [[f.figure_id, f.head_position, "yes" if f.depends_on_break else "no",
                "matches" if f.digest_matches else "differs",
                {True: "yes", False: "no", None: "not checked"}[f.rederives]] for f in bad])


def print_retracted(figures: Sequence[FigureCheck]) -> None:
    if figures:
        table("Retracted figures (re-derived, not failing the run)",
              ["figure", "retracted (UTC)", "reason", "re-derives"],
              [[f.figure_id, stamp(f.retraction.recorded_at) if f.retraction else "",
                f.retraction.reason if f.retraction else "",
                {True: "yes", False: "no", None: "not checked"}[f.rederives]] for f in figures])
