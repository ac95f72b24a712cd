"""Options shared by the reporting commands, parsed at the edge into typed values.

Every date and time the command line accepts answers or is refused (docs/dates.md):

- ``--as-of D``: any ISO date from 0001-01-01 to 9999-12-31. A date after today is allowed (the
  figures for a planning date: the facts recorded so far, as they stand on D) and says so on
  stderr.
- ``--known-at K`` / ``--vs-known-at K``: an ISO 8601 timestamp with a UTC offset. A K after now
  (up to the end of 9999 in any offset, even one whose UTC instant falls in year 10000) is read
  as now, and says so on stderr: the ledger cannot know at K what it has not recorded yet. A K
  whose UTC instant falls before year 1 is refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from projections.bridge import LEVELS, Level


def note(message: str) -> None:
    """A remark about how an option was read: stderr, so ``--json`` output stays one document."""
    typer.echo(f"note: {message}", err=True)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_as_of(value: str | None, hint: str = "--as-of", *, announce: bool = True) -> dt.date | None:
    """The date; ``announce`` false: no planning-date note (the caller refuses such a date)."""
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; expected YYYY-MM-DD",
                                 param_hint=hint) from None
    today = utc_now().date()
    if day > today and announce:
        note(f"{hint} {day} is after today ({today}): figures for a planning date, from the "
             "facts recorded so far")
    return day


def parse_known_at(value: str | None, hint: str = "--known-at") -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 timestamp with a UTC offset; expected e.g. "
            "2026-04-01T12:00:00+00:00", param_hint=hint)
    try:
        utc: dt.datetime | None = moment.astimezone(dt.UTC)
    except OverflowError:
        if moment.year == 1:
            raise typer.BadParameter(f"{value!r} is before 0001-01-01T00:00:00 UTC, the "
                                     "earliest time there is", param_hint=hint) from None
        utc = None  # after the end of 9999 in UTC: in the future like any other
    current = utc_now()
    if utc is None or utc > current:
        note(f"{hint} {value} is in the future; read as now ({current:%Y-%m-%dT%H:%M:%S}+00:00):"
             " the ledger cannot know what it has not recorded yet")
        return current
    return utc


def parse_level(value: str) -> Level:
    if value not in LEVELS:
        raise typer.BadParameter(f"{value!r}; expected one of {', '.join(LEVELS)}", param_hint="--by")
    return value


AsOf = Annotated[str | None, typer.Option(
    "--as-of", metavar="YYYY-MM-DD",
    help="Count the facts that had happened by this date (default: today).")]
KnownAt = Annotated[str | None, typer.Option(
    "--known-at", metavar="TIMESTAMP",
    help="Count only what the ledger knew at this moment, ISO 8601 with a UTC offset "
    "(default: now). Use it to reproduce a figure as it was published.")]
By = Annotated[str, typer.Option(
    "--by", metavar="cell|adm2|adm1|national",
    help="Group by cell (status and site or p-code), district, governorate or nationally.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
