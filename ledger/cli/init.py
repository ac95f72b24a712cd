"""``ledger init``: create or upgrade the store."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger import logs
from ledger.cli.options import Json
from ledger.cli.output import print_json, reports_errors
from ledger.cli.state import workspace


@reports_errors
def init_command(
    roles: Annotated[bool, typer.Option(
        "--roles", help="PostgreSQL: also create the roles ledger_writer, ledger_reader, "
        "ledger_auditor, ledger_protection and ledger_projector (needs CREATEROLE), to grant to "
        "login roles (docs/deployment.md). Without it, existing roles get their rights refreshed.",
    )] = False,
    json_output: Json = False,
) -> None:
    """Create or upgrade the store (tables, immutability triggers, views). Safe to run again."""
    with workspace(initialised=False) as ws:
        existing = ws.init(roles=roles)
        described = ws.settings.describe()
    logs.info("store_initialised", store=described, roles=len(existing))
    if json_output:
        print_json({"ok": True, "store": described, "roles": existing})
    else:
        typer.echo(f"Store ready: {described}")
        if existing:
            typer.echo(f"Roles: {', '.join(existing)}")
