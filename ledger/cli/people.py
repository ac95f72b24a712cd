"""``ledger people``, ``ledger vault`` and ``ledger households``: the personal data of issue 13.

Reading and erasing are privileged, logged acts (docs/personal-data.md). The master key comes
from LEDGER_VAULT_KEY or LEDGER_VAULT_KEY_FILE; who reads is LEDGER_USER (or the OS user).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger import logs, people
from ledger.cli.options import Json
from ledger.cli.output import print_json, reports_errors, table
from ledger.cli.state import workspace
from ledger.vault_keys import new_key

HouseholdId = Annotated[str, typer.Argument(help="The household's id, as in its facts.")]

people_app = typer.Typer(
    help="Personal data of a household (names, phone, ID document): read on record, erase. "
    "They live in the encrypted vault, never in the ledger's facts; see docs/personal-data.md.",
    no_args_is_help=True,
)
vault_app = typer.Typer(help="The vault's master key.", no_args_is_help=True)
households_app = typer.Typer(help="Households across registries.", no_args_is_help=True)


@people_app.command("show")
@reports_errors
def show_command(
    household_id: HouseholdId,
    purpose: Annotated[str, typer.Option("--purpose", help="Why you read them (recorded in the "
                                         "access log with who and when).")],
    json_output: Json = False,
) -> None:
    """Decrypt and print a household's personal data; the read is recorded in the access log.

    Needs the master key (LEDGER_VAULT_KEY or LEDGER_VAULT_KEY_FILE). After an erasure it says
    when and why the data were erased.
    """
    with workspace() as ws:
        shown = people.show(ws, household_id, purpose)
    logs.info("personal_data_read", household_id=household_id)
    if json_output:
        print_json(shown)
        return
    if shown["erased"]:
        erased = shown["erased"]
        typer.echo(f"The personal data of household {household_id} were erased on {erased['on']} "
                   f"(recorded {erased['recorded_at']}): {erased['reason']}")
        return
    if not shown["records"]:
        typer.echo(f"No personal data are stored for household {household_id}.")
        return
    for record in shown["records"]:
        rows = [[name, _text(value)] for name, value in sorted(record["fields"].items())]
        table(f"Household {household_id}, {record['registry']} registry "
              f"(fact {record['source_id']}, stored {record['recorded_at']})", ["field", "value"], rows)


def _text(value: Any) -> str:
    return "; ".join(value) if isinstance(value, list) else str(value)


@people_app.command("erase")
@reports_errors
def erase_command(
    household_id: HouseholdId,
    reason: Annotated[str, typer.Option("--reason", help="Why (the request, its reference); "
                                        "recorded in the ledger and the access log.")],
    json_output: Json = False,
) -> None:
    """Erase a household's personal data by destroying its data key (crypto-shredding).

    Records a personal_data_erased fact (it shows in `ledger audit household`). Figures,
    bridges, audit trails, published figures and the hash chain are unchanged; the ciphertext
    stays in the vault, and no key left in the store can open it. Running it again is harmless.
    """
    with workspace() as ws:
        erased = people.erase(ws, household_id, reason)
    logs.info("personal_data_erased", household_id=household_id,
              keys_destroyed=erased["keys_destroyed"])
    if json_output:
        print_json(erased)
    elif erased["already_erased"]:
        typer.echo(f"Household {household_id}: personal data already erased on {erased['erased']['on']}.")
    else:
        typer.echo(f"Household {household_id}: personal data erased ({erased['keys_destroyed']} key "
                   f"destroyed); fact recorded at position {erased['position']}.")


@people_app.command("access-log")
@reports_errors
def access_log_command(
    household_id: Annotated[str | None, typer.Option("--household", help="Only this household.")] = None,
    json_output: Json = False,
) -> None:
    """Every read and erasure of personal data: when, who, the database user, why."""
    with workspace() as ws:
        entries = ws.vault.access_log(household_id)
    if json_output:
        print_json({"entries": entries})
        return
    table("Access log of personal data", ["at", "who", "db user", "action", "household", "purpose"],
          [[e["at"], e["who"], e["db_user"], e["action"], e["household_id"], e["purpose"]]
           for e in entries])


@vault_app.command("new-key")
def new_key_command() -> None:
    """Print a fresh master key (32 random bytes, base64) for LEDGER_VAULT_KEY.

    Keep it in a secret store; whoever holds it and the database can read the vault, and a
    lost key makes every personal record unreadable.
    """
    typer.echo(new_key())


@households_app.command("matches")
@reports_errors
def matches_command(json_output: Json = False) -> None:
    """Households of one registry whose ID document hash equals another household's in the
    other registry: candidates for a person to confirm (no number is read or shown)."""
    with workspace() as ws:
        found = ws.vault.matches()
    if json_output:
        print_json({"matches": found})
        return
    table("Same ID document in both registries", ["official household", "operational household",
                                                  "document hash"],
          [[m["official_household_id"], m["operational_household_id"], m["document_hash"][:16]]
           for m in found])
