"""``ledger views show|rebuild|catch-up|follow|status``: a rulebook's figures, and the views behind them."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer

from ledger.arguments import parse_as_of, parse_known_at, parse_level
from ledger.cli.options import AsOf, By, Json, KnownAt, Rulebook
from ledger.cli.output import print_json, progress_bar, reports_errors, say, table
from ledger.cli.public import DEFAULT as PUBLIC_MIN
from ledger.cli.public import MinHouseholds, Public, print_public_view
from ledger.cli.state import workspace
from projections.answers import ViewAnswer, public_view_answer, view_answer
from projections.documents import place_label, view_document
from projections.places import UsageError

app = typer.Typer(help="The population figures of one rulebook, and the views behind them.",
                  no_args_is_help=True)


@app.command("show")
@reports_errors
def views_show(
    rulebook: Rulebook,
    as_of: AsOf = None, known_at: KnownAt = None, by: By = "cell",
    place: Annotated[list[str] | None, typer.Option(
        "--place", help="Only this place (a site id, or a p-code at the --by level); repeatable. "
        "An unknown place is an error naming the closest known ones; a known place where "
        "nobody is counted shows 0 and says so (JSON: nobody_counted_at).",
    )] = None,
    public: Public = False, min_households: MinHouseholds = PUBLIC_MIN,
    json_output: Json = False,
) -> None:
    """Population figures under one rulebook, by cell, district, governorate or nationally."""
    level = parse_level(by)
    with workspace() as ws:
        ws.catch_up()
        if public:
            document = public_view_answer(
                ws.views, rulebook, as_of=parse_as_of(as_of), known_at=parse_known_at(known_at),
                level=level, places=place, min_households=min_households)
        else:
            try:
                answer = view_answer(ws.views, rulebook, as_of=parse_as_of(as_of),
                                     known_at=parse_known_at(known_at), level=level, places=place)
            except UsageError as exc:
                raise typer.BadParameter(str(exc), param_hint="--place") from None
    if public:
        print_json(document) if json_output else print_public_view(document)
    elif json_output:
        print_json({**view_document(answer.result, answer.sites),
                    "nobody_counted_at": answer.nobody_counted_at})
    else:
        print_view(answer)


def print_view(answer: ViewAnswer) -> None:
    result, sites = answer.result, answer.sites
    for where in answer.nobody_counted_at:
        say(f"Nobody is counted at {where} ({place_label(where, sites)}) under {result.rulebook} "
            f"as of {result.as_of} by {result.level}: 0 / 0")
    table(f"{result.rulebook} v{result.version} view as of {result.as_of}, known at "
          f"{result.known_at:%Y-%m-%d %H:%M:%S} UTC, by {result.level}",
          ["status", "place", "name", "households", "individuals"],
          [[r.status, r.place, place_label(r.place, sites), f"{r.households:,}", f"{r.individuals:,}"]
           for r in result.rows]
          + [["total", "", "", f"{result.total.households:,}", f"{result.total.individuals:,}"]],
          numeric=["households", "individuals"])


@app.command("rebuild")
@reports_errors
def views_rebuild(json_output: Json = False) -> None:
    """Rebuild every view from the ledger, from the first fact (safe to interrupt: run again)."""
    with workspace() as ws:
        head = ws.views.ledger_head()
        started = time.perf_counter()
        with progress_bar("rebuilding views", head, quiet=json_output) as tick:
            applied = ws.views.rebuild(progress=tick)
        seconds = time.perf_counter() - started
    if json_output:
        print_json({"facts": applied, "seconds": round(seconds, 3)})
    else:
        typer.echo(f"Rebuilt the views from {applied:,} facts in {seconds:.1f} s")


@app.command("catch-up")
@reports_errors
def views_catch_up(json_output: Json = False) -> None:
    """Apply facts recorded since the views were last brought up to date."""
    with workspace() as ws:
        behind = ws.views.ledger_head() - ws.views.position()
        with progress_bar("catching up", max(behind, 0), quiet=json_output) as tick:
            applied = ws.catch_up(progress=tick)
        position = ws.views.position()
    if json_output:
        print_json({"applied": applied, "position": position})
    else:
        typer.echo(f"Applied {applied:,} facts; views at position {position:,}")


@app.command("follow")
@reports_errors
def views_follow(
    poll: Annotated[float, typer.Option(help="Seconds between polls when no notification comes.")] = 1.0,
    max_seconds: Annotated[float | None, typer.Option(help="Stop after this long (default: never).")] = None,
) -> None:
    """Keep the views up to date as facts arrive (PostgreSQL: LISTEN/NOTIFY plus polling).

    SIGTERM or Ctrl-C stops it cleanly (exit 0): the batch in hand is applied, then it stops
    within --poll seconds. A second Ctrl-C interrupts at once (the batch rolls back whole).
    """
    from projections.follow import follow  # noqa: PLC0415

    stop = threading.Event()
    with workspace() as ws, stopped_by_signals(stop):
        follow(ws.views, ws.db, poll_seconds=poll, max_seconds=max_seconds, stop=stop)


@contextmanager
def stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` instead of interrupting whatever statement is running.

    A KeyboardInterrupt can land anywhere, inside the database driver's or the connection
    pool's own bookkeeping too; a long-running follower stops at a point of its own choosing
    instead. A second SIGINT raises KeyboardInterrupt as usual. A signal the parent ignores
    (SIGINT for a background job) stays ignored.
    """

    def stopping(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGINT and stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(signum, stopping)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@app.command("status")
@reports_errors
def views_status(json_output: Json = False) -> None:
    """How far the views are behind the ledger."""
    with workspace() as ws:
        head, position = ws.views.ledger_head(), ws.views.position()
    if json_output:
        print_json({"ledger_head": head, "views_position": position, "behind": head - position})
    else:
        typer.echo(f"ledger head {head:,}, views at {position:,} ({head - position:,} behind)")

