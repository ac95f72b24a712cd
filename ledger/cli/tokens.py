"""``ledger tokens create|list|revoke``: who may call the HTTP service, and as which organisation."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.options import Json
from ledger.cli.output import print_json, reports_errors, table
from ledger.cli.state import workspace
from ledger.store.tokens import ROLES, issue_token, list_tokens, revoke_token

app = typer.Typer(
    help="API tokens for `ledger serve`: each speaks for one organisation, with one role "
    "(recorder, reader, auditor, admin). Only a hash is stored; the token is shown once.",
    no_args_is_help=True,
)


@app.command("create")
@reports_errors
def create(
    org: Annotated[str, typer.Option("--org", help="The organisation the token speaks for; it "
                                                   "becomes recorded_by of every fact it records.")],
    role: Annotated[str, typer.Option(
        "--role", metavar="|".join(ROLES),
        help="recorder: record facts and read; reader: read figures and bridges; auditor: "
        "read, and audit trails; admin: everything, and publish figures.")],
    registry: Annotated[str | None, typer.Option(
        "--registry", metavar="official|operational",
        help="(recorder) the only registry whose registrations, composition changes and "
        "closures it may record.")] = None,
    json_output: Json = False,
) -> None:
    """Create a token and print it once (it cannot be shown again: only its hash is kept)."""
    with workspace() as ws:
        token, record = issue_token(ws.db, org, role, registry)
    if json_output:
        print_json({"token": token, "org": record.org, "role": record.role,
                    "registry": record.registry, "token_id": record.token_id})
        return
    typer.echo(token)
    scope = f" for the {record.registry} registry" if record.registry else ""
    typer.echo(f"token {record.token_id}: {record.role} of {record.org}{scope}. Keep it now: "
               "it is not shown again.", err=True)


@app.command("list")
@reports_errors
def list_(json_output: Json = False) -> None:
    """Every token's id, organisation, role, registry and whether it was revoked (never the token)."""
    with workspace() as ws:
        records = list_tokens(ws.db)
    if json_output:
        print_json([r.as_dict() for r in records])
        return
    table("API tokens", ["id", "org", "role", "registry", "created", "revoked"],
          [[r.token_id, r.org, r.role, r.registry or "", r.created_at, r.revoked_at or ""]
           for r in records])


@app.command("revoke")
@reports_errors
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id, as `ledger tokens list` shows it.")],
    json_output: Json = False,
) -> None:
    """Revoke a token: from now on the service answers 401 to it."""
    with workspace() as ws:
        record = revoke_token(ws.db, token_id)
    if json_output:
        print_json(record.as_dict())
    else:
        typer.echo(f"token {record.token_id} of {record.org} revoked at {record.revoked_at}")
