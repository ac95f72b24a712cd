"""Options shared by the reporting commands, parsed at the edge into typed values."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from projections.bridge import LEVELS, Level


def parse_as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; expected YYYY-MM-DD",
                                 param_hint="--as-of") from None


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
    return moment.astimezone(dt.UTC)


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
