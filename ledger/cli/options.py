"""Options shared by the commands. Their values are parsed into typed ones by
:mod:`ledger.arguments` (docs/dates.md), which the HTTP API shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
Rulebook = Annotated[str, typer.Option("--rulebook", help="official, operational or one you added.")]
Left = Annotated[str, typer.Option("--left", help="Left rulebook.")]
Right = Annotated[str, typer.Option("--right", help="Right rulebook.")]
Output = Annotated[Path, typer.Option("--output", "-o", dir_okay=False,
                                      help="The file to write (.csv or .xlsx).")]
