"""``ledger``: the Movement Ledger command line, assembled from one module per noun.

The store is chosen by LEDGER_DATABASE_URL (sqlite:///path.db, the default being ledger.db in
the working directory, or postgresql://user:password@host:port/dbname?schema=NAME).

Each noun's module is imported when its command runs (:mod:`ledger.cli.lazy`), so `ledger
--help` loads typer and nothing of the product.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys

import typer

from ledger.cli.lazy import Lazy, LazyGroup

# In the order `ledger --help` lists them: each command's module and the first paragraph of its
# help (tests/e2e/test_cli_startup.py holds each to the command's own).
COMMANDS = {
    "serve": Lazy("ledger.cli.serve:serve_command",
                  "Serve the HTTP API (/v1/..., /report, /healthz, /readyz, /metrics, /openapi.json) "
                  "over\nthe store of LEDGER_DATABASE_URL, keeping the views up to date. Callers need "
                  "a token from\n`ledger tokens create`. SIGTERM or Ctrl-C stops it after the requests "
                  "in progress are\nanswered. See docs/service.md."),
    "publish": Lazy("ledger.cli.publish:publish_command",
                    "Record a published figure (rulebook, grouping, D, K = now, its values) with the "
                    "ledger's\ndigest at this moment, so anyone can later re-derive it and check it "
                    "matches."),
    "verify": Lazy("ledger.cli.verify:verify_command",
                   "Recompute the hash chain over every stored fact and every published figure; "
                   "report OK,\nor the first fact that no longer matches and the published figures "
                   "that depend on it; and\ncheck that the views were not edited behind the "
                   "projector's back. Exits 1 when the ledger\ndoes not verify."),
    "report": Lazy("ledger.cli.report:report_command",
                   "Write one HTML page: the reconciliation bridge as a waterfall, both views by "
                   "governorate\nand camp, population by status over time, the FVM round funnel, and "
                   "the as-of date,\nknown-at time, rulebooks and ledger digest they come from."),
    "reconcile": Lazy("ledger.cli.reconcile:reconcile_command",
                      "Put two rulebooks' figures side by side and explain every gap, household by "
                      "household."),
    "compare": Lazy("ledger.cli.compare:compare_command",
                    "Hold a figure someone else published against the ledger's, place by place."),
    "init": Lazy("ledger.cli.init:init_command",
                 "Create or upgrade the store (tables, immutability triggers, views). Safe to run "
                 "again."),
    "import": Lazy("ledger.cli.imports:import_command",
                   "Record every fact in a file, in order; bad records go to a rejects file with "
                   "reasons."),
    "demo": Lazy("ledger.cli.demo:demo_command",
                 "Record a realistic first quarter of 2026 (the Returns Working Group's FVM rounds, "
                 "camps and\nregistries), then show both views, the bridge, the rounds and one "
                 "household's audit story,\nand write the HTML report."),
    "record": Lazy("ledger.cli.record:app",
                   "Record one fact. Each fact type is a sub-command: `ledger record TYPE --help` "
                   "lists its fields."),
    "views": Lazy("ledger.cli.views:app",
                  "The population figures of one rulebook, and the views behind them."),
    "rulebooks": Lazy("ledger.cli.rulebooks:app",
                      "Rulebooks: how an organisation turns facts into figures, version by version."),
    "rounds": Lazy("ledger.cli.rounds:app", "FVM departure rounds."),
    "export": Lazy("ledger.cli.export:app",
                   "Write views, bridges and audit trails to CSV (with HXL hashtags) or XLSX."),
    "figures": Lazy("ledger.cli.figures:app",
                    "Published figures: list them, retract one published by mistake."),
    "tokens": Lazy("ledger.cli.tokens:app",
                   "API tokens for `ledger serve`: each speaks for one organisation, with one role "
                   "(recorder, reader, auditor, admin). Only a hash is stored; the token is shown "
                   "once."),
    "people": Lazy("ledger.cli.people:people_app",
                   "Personal data of a household (names, phone, ID document): read on record, "
                   "erase. They live in the encrypted vault, never in the ledger's facts; see "
                   "docs/personal-data.md."),
    "vault": Lazy("ledger.cli.people:vault_app", "The vault's master key."),
    "households": Lazy("ledger.cli.people:households_app", "Households across registries."),
    "audit": Lazy("ledger.cli.audit:app",
                  "Audit trails for disputed counts: a household's history, the households behind "
                  "a figure, what changed a figure between two known-at times, and published "
                  "figures re-derived."),
}


class LedgerGroup(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(
    name="ledger",
    cls=LedgerGroup,
    help=(
        "Movement Ledger: household departures, returns to camp and registrations stored once, "
        "immutably, and counted by competing rulebooks (official MoMD, operational IOM DTM / "
        "UNHCR, or your own), with every gap between two figures explained household by "
        "household.\n\nThe store is chosen by LEDGER_DATABASE_URL: sqlite:///path/to/ledger.db "
        "(default: ./ledger.db) or postgresql://user:password@host:port/dbname[?schema=NAME]. "
        "Start with `ledger init`, or `ledger demo` for a worked example."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help, quick to show (ledger.cli.lazy says why)
    suggest_commands=False,  # click itself says "Did you mean ...?" for a mistyped command
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _main() -> None:
    # Help needs no settings. The group's callback runs before the subcommand parses its options,
    # so `--help` is looked for on the command line itself.
    # (imported here: `ledger --help` runs no callback and loads none of them)
    from ledger.cli.logs import configure_logging  # noqa: PLC0415
    from ledger.cli.settings import check_settings  # noqa: PLC0415
    from ledger.errors import LedgerError  # noqa: PLC0415

    if not {"--help", "-h"} & set(sys.argv[1:]):
        try:
            check_settings(os.environ)
        except LedgerError as exc:
            from ledger.cli.output import fail  # noqa: PLC0415

            fail(str(exc), code=2)
    configure_logging()


def main() -> None:
    # `kill -USR1 PID` prints every thread's stack to stderr: what a stuck process is doing.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
