"""``ledger audit household|count|diff|figure``: audit trails for disputed counts."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.arguments import parse_as_of, parse_known_at, parse_level, parse_status
from ledger.cells import spreadsheet_text
from ledger.cli.options import AsOf, Json, KnownAt, Rulebook
from ledger.cli.output import (
    Force,
    output_path,
    print_json,
    reports_errors,
    say,
    signed,
    stamp,
    table,
)
from ledger.cli.public import NeverPublic, refuse_public
from ledger.cli.state import workspace
from ledger.outputs import OutputPath, staged
from projections.audit import (
    CountLineage,
    FigureAudit,
    FigureDiff,
    HouseholdHistory,
    audit_count,
    audit_diff,
    audit_figure,
    diff_rows,
    figure_audit_rows,
    history_rows,
    lineage_rows,
)
from projections.audit import household_history as read_history
from projections.bridge import Figure
from projections.documents import diff_document, figure_document, history_document, lineage_document
from projections.lineage import Explanation
from projections.queries import now

app = typer.Typer(
    help="Audit trails for disputed counts: a household's history, the households behind a "
    "figure, what changed a figure between two known-at times, and published figures re-derived.",
    no_args_is_help=True,
)

Status = Annotated[str, typer.Option(
    "--status", help="idp_in_camp, idp_out_of_camp, returnee or locally_integrated.")]
Place = Annotated[str, typer.Option(
    "--place", help="A site id or p-code at cell level; a district or governorate p-code with "
    "--by adm2/adm1; IRQ with --by national.")]
By = Annotated[str, typer.Option("--by", metavar="cell|adm2|adm1|national",
                                 help="The grouping the figure is at (default: cell).")]
Csv = Annotated[Path | None, typer.Option(
    "--csv", metavar="PATH", help="Also write the audit trail as CSV to PATH, for sharing.")]


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


# ---- audit household ------------------------------------------------------------------------
@app.command("household")
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
@app.command("count")
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
        lineage = audit_count(ws.views, rulebook, cell, level,
                               parse_as_of(as_of) or moment.date(), moment)
    write_csv(csv_out, lineage_rows(lineage))
    if json_output:
        print_json(lineage_document(lineage))
        return
    print_lineage(lineage)


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
@app.command("diff")
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
        result = audit_diff(ws.views, rulebook, cell, level, day, first, second)
    write_csv(csv_out, diff_rows(result))
    if json_output:
        print_json(diff_document(result))
        return
    print_diff(result)


def print_diff(d: FigureDiff) -> None:
    say(f"[bold]{d.rulebook}[/]: {d.status} at {d.place} (by {d.level}) as of {d.as_of}")
    first, second = (f" ({d.rulebook} v{v})" for v in d.versions) if d.versions else ("", "")
    say(f"  known at {stamp(d.known_at)}{first}: {d.before.households:,} households / "
        f"{d.before.individuals:,} individuals")
    say(f"  known at {stamp(d.vs_known_at)}{second}: {d.after.households:,} households"
        f" / {d.after.individuals:,} individuals")
    table(f"Facts recorded in between that changed it ({len(d.changes)} of "
          f"{d.facts_considered:,} recorded)",
          ["recorded (UTC)", "type", "source_id", "household", "effective", "by", "change"],
          [[stamp(c.fact.recorded_at), c.fact.type + (
              f" of {c.fact.details['voided_source_id']}" if c.fact.type == "fact_voided" else ""),
            c.fact.source_id, c.household_id or c.fact.subject_id, c.fact.effective_on,
            c.fact.recorded_by, signed(contribution)] for c, contribution in d.changes]
          + [["total", "", "", "", "", "", signed(d.explained)]])
    verdict = "adds up exactly" if d.adds_up else "DOES NOT ADD UP (run `ledger verify`)"
    say(f"  change {signed(d.after - d.before)}; explained {signed(d.explained)}: {verdict}")


# ---- audit figure ---------------------------------------------------------------------------
@app.command("figure")
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


def print_figure(a: FigureAudit) -> None:
    f = a.figure
    say(f"[bold]{f.figure_id}[/]: {f.rulebook} v{f.rulebook_version} by {f.level} "
        f"as of {f.as_of}, known at {stamp(f.known_at)} (published {stamp(f.recorded_at)})")
    verdict = "still matches" if a.still_matches else "NO LONGER MATCHES (run `ledger verify`)"
    say(f"  re-derived as known then: {verdict}; digest at position "
        f"{f.head_position}: {'matches' if a.digest_matches else 'DIFFERS'}"
        + ("; its rulebook was changed since" if a.rulebook_changed else ""))
    if a.retraction is not None:
        say(f"  [bold]RETRACTED[/] {stamp(a.retraction.recorded_at)}: {a.retraction.reason}")
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
