"""The text arguments both edges take (the command line and the HTTP API), parsed into typed values.

Every date and time they accept answers or is refused (docs/dates.md):

- ``--as-of D``: any ISO date from 0001-01-01 to 9999-12-31. A date after today is allowed (the
  figures for a planning date: the facts recorded so far, as they stand on D) and says so on
  stderr.
- ``--known-at K`` / ``--vs-known-at K``: an ISO 8601 timestamp with a UTC offset. A K after now
  (up to the end of 9999 in any offset, even one whose UTC instant falls in year 10000) is read
  as now, and says so on stderr: the ledger cannot know at K what it has not recorded yet. A K
  whose UTC instant falls before year 1 is refused.

A value that is refused raises ``typer.BadParameter`` naming the option: the command line shows
it as a usage error (exit code 2), the HTTP API as a 422 naming the query parameter.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from projections.bridge import LEVELS, Level
from projections.fold import COUNTED_STATUSES

if TYPE_CHECKING:
    from ledger.kobo import KoboMapping


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


def parse_status(value: str) -> str:
    if value not in COUNTED_STATUSES:
        raise typer.BadParameter(f"{value!r}; expected one of {', '.join(COUNTED_STATUSES)}",
                                 param_hint="--status")
    return value


def kobo_mapping_option(file: Path, form: str | None, mapping: Path | None) -> KoboMapping | None:
    """The KoboToolbox mapping a file is read through: a shipped form's, a file's, or none."""
    from ledger.kobo import FORMS, builtin_mapping_path, load_mapping  # noqa: PLC0415

    if form is not None and mapping is not None:
        raise typer.BadParameter("give --kobo-form or --kobo-mapping, not both", param_hint="--kobo-form")
    if form is None and mapping is None:
        return None
    if file.suffix.lower() not in (".csv", ".xlsx"):
        raise typer.BadParameter("a KoboToolbox export is a .csv or .xlsx file", param_hint="FILE")
    if form is not None and form not in FORMS:
        raise typer.BadParameter(f"{form!r}; expected one of {', '.join(FORMS)}",
                                 param_hint="--kobo-form")
    return load_mapping(mapping if mapping is not None else builtin_mapping_path(form or ""))
