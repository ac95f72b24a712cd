"""ISSUE 2, end to end: recording facts with the `ledger` command as a user would.

One fact at a time (`ledger record`), in bulk (`ledger import` of .jsonl and .csv), again and
again (idempotent), and wrongly: every mistake gets a clear message naming the record and the
field, exit code 1 for bad input and 2 for a usage error, never a traceback, nothing half-written.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.cli.main import app
from tests.e2e.conftest import Cli, assert_no_traceback, write_jsonl
from tests.factdicts import departure, registration, site
from tests.inprocess import command_tree

TOMORROW = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()

SITE_ARGS = ("record", "site_registered", "--source-id", "site-khanke", "--effective-on",
             "2014-08-20", "--site-id", "KHANKE", "--name", "Khanke camp", "--kind", "camp",
             "--location-pcode", "IQG09Q03")
HOUSEHOLD_ARGS = ("record", "household_registered", "--source-id", "reg-k1", "--effective-on",
                  "2015-01-10", "--household-id", "K1", "--registry", "operational",
                  "--registration-ref", "OPS-K1", "--site-id", "KHANKE", "--members", "6",
                  "--displaced-on", "2014-08-03")


def ledger_head(cli: Cli) -> int:
    return int(cli.json("views", "status")["ledger_head"])


def camp_households(cli: Cli, rulebook: str, site_id: str) -> tuple[int, int]:
    rows = cli.json("views", "show", "--rulebook", rulebook)["rows"]
    found = [(r["households"], r["individuals"]) for r in rows
             if (r["status"], r["place"]) == ("idp_in_camp", site_id)]
    return found[0] if found else (0, 0)


def adds_up(report: dict[str, int]) -> bool:
    return report["total"] == report["recorded"] + report["already_recorded"] + report["rejected"]


# ---- init -------------------------------------------------------------------------------------
def test_running_init_twice_is_harmless_and_keeps_every_fact(bare_cli: Cli) -> None:
    bare_cli.ok("init")
    bare_cli.ok(*SITE_ARGS)

    again = bare_cli("init", "--json")

    assert again.code == 0, again.stderr
    assert again.json()["ok"] is True
    assert ledger_head(bare_cli) == 1
    assert bare_cli.json(*SITE_ARGS)["status"] == "already_recorded"


def test_a_store_never_initialised_gets_a_clear_message_not_a_traceback(
    bare_cli: Cli, tmp_path: Path
) -> None:
    facts = write_jsonl(tmp_path / "facts.jsonl", [site("CHAMISHKU")])

    results = [bare_cli("views", "show", "--rulebook", "official"), bare_cli(*SITE_ARGS),
               bare_cli("import", facts)]

    for result in results:
        assert result.code == 1, result.args
        assert "ledger init" in result.stderr
        assert_no_traceback(result)


# ---- record, one fact at a time -----------------------------------------------------------------
def test_a_recorded_household_is_counted_and_recording_it_again_changes_nothing(cli: Cli) -> None:
    assert cli.json(*SITE_ARGS)["status"] == "recorded"
    first = cli.json(*HOUSEHOLD_ARGS)

    again = cli.json(*HOUSEHOLD_ARGS)

    assert first["status"] == "recorded"
    assert isinstance(first["position"], int)
    assert again == {**first, "status": "already_recorded"}
    assert camp_households(cli, "operational", "KHANKE") == (1, 6)
    assert camp_households(cli, "official", "KHANKE") == (0, 0)
    assert ledger_head(cli) == 2


def test_a_departure_recorded_from_the_command_line_moves_the_household(cli: Cli) -> None:
    cli.ok(*SITE_ARGS)
    cli.ok(*HOUSEHOLD_ARGS)

    cli.ok("record", "household_departed", "--source-id", "dep-k1", "--effective-on", "2020-02-15",
           "--household-id", "K1", "--from-site-id", "KHANKE", "--pathway", "return",
           "--to-pcode", "IQG15Q07")

    rows = cli.json("views", "show", "--rulebook", "operational")["rows"]
    assert [(r["status"], r["place"], r["households"], r["individuals"]) for r in rows] == [
        ("returnee", "IQG15Q07", 1, 6)
    ]


def test_a_list_field_is_given_comma_separated(sqlite_cli: Cli) -> None:
    sqlite_cli.ok(*SITE_ARGS)
    sqlite_cli.ok(*HOUSEHOLD_ARGS)
    sqlite_cli.ok("record", "round_planned", "--source-id", "plan-r1", "--effective-on", "2020-01-15",
                  "--round-id", "R1", "--from-site-ids", "KHANKE", "--destination-pcodes",
                  "IQG15Q07,IQG15Q02", "--planned-on", "2020-02-01")
    sqlite_cli.ok("record", "household_manifested", "--source-id", "man-k1", "--effective-on",
                  "2020-01-20", "--round-id", "R1", "--household-id", "K1")

    departed = sqlite_cli.json(
        "record", "household_departed", "--source-id", "dep-k1", "--effective-on", "2020-02-15",
        "--household-id", "K1", "--from-site-id", "KHANKE", "--pathway", "return",
        "--to-pcode", "IQG15Q07", "--round-id", "R1", "--departure-letter-ref", "L-9")

    assert departed["status"] == "recorded"


def test_re_using_a_source_id_with_other_content_is_a_conflict(sqlite_cli: Cli) -> None:
    sqlite_cli.ok(*SITE_ARGS)
    changed = list(SITE_ARGS)
    changed[changed.index("Khanke camp")] = "Khanke camp (renamed)"

    result = sqlite_cli(*changed)

    assert result.code == 1
    assert "source_id" in result.stderr
    assert "site-khanke" in result.stderr
    assert_no_traceback(result)
    assert ledger_head(sqlite_cli) == 1


BAD_RECORDS = [
    pytest.param(("--effective-on", "15/01/2015"), "effective_on", id="bad-date"),
    pytest.param(("--effective-on", TOMORROW), "future", id="future-date"),
    pytest.param(("--members", "61"), "members", id="members-out-of-range"),
    pytest.param(("--members", "6", "--female", "4", "--male", "3"), "female", id="breakdown"),
    pytest.param(("--household-id", "K 1"), "household_id", id="bad-identifier"),
    pytest.param(("--site-id", "NOWHERE"), "NOWHERE", id="unknown-site"),
    pytest.param(("--effective-on", "2013-01-01", "--displaced-on", "2014-08-03"), "displaced_on",
                 id="displaced-after-registration"),
    pytest.param(("--site-id", None, "--location-pcode", "IQG99Q01"), "IQG99Q01",
                 id="unknown-pcode"),
]


def test_each_bad_registration_is_refused_naming_what_is_wrong_and_nothing_is_written(
    sqlite_cli: Cli,
) -> None:
    sqlite_cli.ok(*SITE_ARGS)
    wrong = {}
    for case in BAD_RECORDS:
        override, named = case.values
        args = list(HOUSEHOLD_ARGS)
        for option, value in zip(override[::2], override[1::2], strict=True):
            if option in args:
                at = args.index(option)
                del args[at:at + 2]
            if value is not None:
                args += [option, value]

        result = sqlite_cli(*args)

        if result.code != 1 or named not in result.stderr or "Traceback" in result.stderr:
            wrong[case.id] = (result.code, result.stderr[-400:])
    assert not wrong
    assert ledger_head(sqlite_cli) == 1


MOVEMENTS = [
    pytest.param(("household_departed", "--from-site-id", "CHAMISHKU", "--pathway", "return",
                  "--to-pcode", "IQG15Q07"), "CHAMISHKU", id="departs-a-site-it-is-not-in"),
    pytest.param(("household_departed", "--from-site-id", "KHANKE", "--pathway", "return",
                  "--to-pcode", "IQG15Q07", "--round-id", "R1"), "manifest",
                 id="round-departure-not-on-manifest"),
    pytest.param(("household_departed", "--from-site-id", "KHANKE", "--pathway", "return",
                  "--to-pcode", "IQG15Q07", "--round-id", "R404"), "R404", id="unknown-round"),
    pytest.param(("household_reentered", "--site-id", "KHANKE"), "departure",
                 id="reentry-without-departure"),
    pytest.param(("household_departed", "--from-site-id", "KHANKE", "--pathway", "return",
                  "--to-pcode", "IQG15Q07", "--effective-on", "2015-01-09"), "effective_on",
                 id="dated-before-registration"),
    pytest.param(("household_reentered", "--site-id", "KHANKE", "--household-id", "NOBODY"),
                 "NOBODY", id="unknown-household"),
]


def test_each_movement_that_breaks_a_rule_is_refused_and_nothing_is_written(sqlite_cli: Cli) -> None:
    given = [site("CHAMISHKU"), site("KHANKE", location_pcode="IQG09Q03", name="Khanke camp"),
             registration("K1", site_id="KHANKE"),
             {"type": "round_planned", "source_id": "plan-r1", "effective_on": "2020-01-15",
              "round_id": "R1", "from_site_ids": ["KHANKE"], "destination_pcodes": ["IQG15Q07"],
              "planned_on": "2020-02-01"}]
    sqlite_cli.ok("import", write_jsonl(sqlite_cli.cwd / "given.jsonl", given))
    wrong = {}
    for case in MOVEMENTS:
        (fact_type, *fields), named = case.values
        for option, value in {"--household-id": "K1", "--effective-on": "2020-02-15"}.items():
            if option not in fields:
                fields += [option, value]

        result = sqlite_cli("record", fact_type, "--source-id", "the-bad-one", *fields)

        if result.code != 1 or named not in result.stderr or "Traceback" in result.stderr:
            wrong[case.id] = (result.code, result.stderr[-400:])
    assert not wrong
    assert ledger_head(sqlite_cli) == len(given)


# ---- usage errors: exit code 2 ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def usage_cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """One initialised store for every usage error: none of them may write anything."""
    where = tmp_path_factory.mktemp("usage")
    (where / "x.jsonl").write_text("", encoding="utf-8")
    runner = Cli(f"sqlite:///{where / 'ledger.db'}", where)
    runner.ok("init")
    return runner


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("frobnicate",), id="unknown-command"),
        pytest.param(("record", "household_teleported", "--source-id", "x"), id="unknown-fact-type"),
        pytest.param(("record", "site_closed", "--source-id", "x", "--effective-on", "2020-01-01"),
                     id="missing-required-option"),
        pytest.param((*SITE_ARGS, "--colour", "blue"), id="unknown-option"),
        pytest.param(("views", "show"), id="views-show-without-rulebook"),
        pytest.param(("views", "show", "--rulebook", "official", "--as-of", "yesterday"),
                     id="bad-as-of"),
        pytest.param(("views", "show", "--rulebook", "official", "--known-at", "2026-01-01T00:00:00"),
                     id="known-at-without-offset"),
        pytest.param(("reconcile", "--by", "province"), id="bad-by"),
        pytest.param(("import", "no-such-file.jsonl"), id="import-missing-file"),
        pytest.param(("import", "x.jsonl", "--type", "nonsense"), id="import-unknown-type"),
    ],
)
def test_a_usage_error_exits_2_with_usage_on_stderr(usage_cli: Cli, args: tuple[str, ...]) -> None:
    result = usage_cli(*args)

    assert result.code == 2, (result.code, result.stderr)
    assert "Usage:" in result.stderr
    assert result.stdout == ""
    assert_no_traceback(result)


# ---- import -------------------------------------------------------------------------------------------
def good_facts() -> list[dict[str, object]]:
    return [
        site("CHAMISHKU", source_id="s-cham"),
        registration("H1", registry="official", source_id="r-h1-off"),
        registration("H1", registry="operational", source_id="r-h1-ops"),
        registration("H2", registry="operational", members=4, source_id="r-h2-ops"),
        departure("H1", source_id="d-h1"),
    ]


def test_importing_a_good_file_twice_records_once(cli: Cli, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "good.jsonl", good_facts())

    first = cli.json("import", path)
    second = cli.json("import", path)

    assert {k: first[k] for k in ("total", "recorded", "already_recorded", "rejected")} == {
        "total": 5, "recorded": 5, "already_recorded": 0, "rejected": 0}
    assert {k: second[k] for k in ("total", "recorded", "already_recorded", "rejected")} == {
        "total": 5, "recorded": 0, "already_recorded": 5, "rejected": 0}
    assert adds_up(first)
    assert adds_up(second)
    assert not (tmp_path / "good.rejects.jsonl").exists()
    assert ledger_head(cli) == 5
    assert camp_households(cli, "operational", "CHAMISHKU") == (1, 4)


def test_a_bad_file_records_the_good_lines_and_rejects_each_bad_one_with_its_line_and_reason(
    cli: Cli, tmp_path: Path
) -> None:
    lines = [
        json.dumps(site("CHAMISHKU", source_id="s-cham")),                               # 1 ok
        "{this is not json",                                                             # 2
        json.dumps({"type": "household_teleported", "source_id": "t-1",
                    "effective_on": "2020-01-01"}),                                       # 3
        "",                                                                              # 4 blank
        json.dumps(registration("H1", source_id="r-h1", members=0)),                     # 5
        json.dumps(registration("H1", source_id="r-h1b", effective_on=TOMORROW)),        # 6
        json.dumps(registration("H1", source_id="r-h1c")),                               # 7 ok
        json.dumps(departure("H1", source_id="d-h1", from_site_id="ESYAN")),             # 8
        json.dumps(registration("H1", source_id="r-h1c")),                               # 9 repeat
        json.dumps(registration("H1", source_id="r-h1c", members=7)),                    # 10 conflict
        json.dumps({**registration("H2", source_id="r-h2"), "colour": "blue"}),          # 11
        json.dumps(registration("H3", source_id="r-h3", origin_pcode="IQG77")),          # 12
        json.dumps({k: v for k, v in registration("H4", source_id="r-h4").items()
                    if k != "registry"}),                                                # 13
        json.dumps(departure("H1", source_id="d-h1-ok", departure_letter_ref="L-1")),    # 14 ok
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejects = tmp_path / "out" / "why.jsonl"
    rejects.parent.mkdir()

    result = cli("import", path, "--rejects", rejects, "--json")

    assert result.code == 1, "some records were rejected: the exit code says so"
    report = json.loads(result.stdout)
    assert (report["total"], report["recorded"], report["already_recorded"], report["rejected"]) == (
        13, 3, 1, 9)
    rejected = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in rejected] == [2, 3, 5, 6, 8, 10, 11, 12, 13]
    reasons = {r["line"]: r["error"] for r in rejected}
    assert "JSON" in reasons[2]
    assert "household_teleported" in reasons[3]
    assert "members" in reasons[5]
    assert "future" in reasons[6]
    assert "ESYAN" in reasons[8]
    assert "r-h1c" in reasons[10]
    assert "colour" in reasons[11]
    assert "IQG77" in reasons[12]
    assert "registry" in reasons[13]
    assert all(r["record"] for r in rejected), "each rejected record is kept as it was"
    assert ledger_head(cli) == 3
    rows = cli.json("views", "show", "--rulebook", "official")["rows"]
    assert [(r["status"], r["place"], r["households"]) for r in rows] == [("returnee", "IQG15Q07", 1)]


def test_the_rejections_are_listed_on_stderr_for_a_person(sqlite_cli: Cli, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "some.jsonl", [site("CHAMISHKU"), registration("H1", members=99)])

    result = sqlite_cli("import", path)

    assert "line 2" in result.stderr
    assert "members" in result.stderr
    assert str(tmp_path / "some.rejects.jsonl") in result.stderr or "some.rejects.jsonl" in result.stderr
    assert (tmp_path / "some.rejects.jsonl").exists()
    assert_no_traceback(result)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_csv_files_import_with_a_type_column_or_one_type_for_the_file(cli: Cli, tmp_path: Path) -> None:
    sites = write_csv(tmp_path / "sites.csv",
                      ["type", "source_id", "effective_on", "site_id", "name", "kind", "location_pcode"],
                      [["site_registered", "s-cham", "2014-08-20", "CHAMISHKU", "Chamishku", "camp",
                        "IQG09Q04"],
                       ["site_registered", "s-khan", "2014-08-20", "KHANKE", "Khanke", "camp",
                        "IQG09Q03"]])
    households = write_csv(tmp_path / "households.csv",
                           ["source_id", "effective_on", "household_id", "registry",
                            "registration_ref", "site_id", "members", "displaced_on"],
                           [["r-1", "2015-01-10", "H1", "official", "OFF-1", "CHAMISHKU", "6",
                             "2014-08-03"],
                            ["r-2", "2015-01-10", "H2", "official", "OFF-2", "KHANKE", "5",
                             "2014-08-03"]])
    rounds = write_csv(tmp_path / "rounds.csv",
                       ["type", "source_id", "effective_on", "round_id", "from_site_ids",
                        "destination_pcodes", "planned_on"],
                       [["round_planned", "p-1", "2020-01-15", "R1", "CHAMISHKU;KHANKE",
                         "IQG15Q07|IQG15Q02", "2020-02-01"]])

    reports = [cli.json("import", sites),
               cli.json("import", households, "--type", "household_registered"),
               cli.json("import", rounds)]

    assert [(r["total"], r["recorded"], r["rejected"]) for r in reports] == [(2, 2, 0), (2, 2, 0),
                                                                            (1, 1, 0)]
    rows = cli.json("views", "show", "--rulebook", "official")["rows"]
    assert sorted((r["place"], r["individuals"]) for r in rows) == [("CHAMISHKU", 6), ("KHANKE", 5)]
    again = cli.json("import", households, "--type", "household_registered")
    assert (again["already_recorded"], again["recorded"]) == (2, 0)


def test_a_bad_csv_writes_its_rejects_as_csv_with_line_and_reason(sqlite_cli: Cli, tmp_path: Path) -> None:
    header = ["type", "source_id", "effective_on", "household_id", "registry", "registration_ref",
              "site_id", "members"]
    path = write_csv(tmp_path / "regs.csv", header, [
        ["household_registered", "r-1", "2015-01-10", "H1", "official", "OFF-1", "CHAMISHKU", "6"],
        ["household_registered", "r-2", "2015-01-10", "H2", "official", "OFF-2", "NOWHERE", "6"],
        ["household_registered", "r-3", "10/01/2015", "H3", "official", "OFF-3", "CHAMISHKU", "6"],
        ["household_registered", "r-4", "2015-01-10", "H4", "unofficial", "OFF-4", "CHAMISHKU", "6"],
    ])
    sqlite_cli.ok("import", write_jsonl(tmp_path / "site.jsonl", [site("CHAMISHKU")]))

    result = sqlite_cli("import", path, "--json")

    assert result.code == 1
    report = json.loads(result.stdout)
    assert adds_up(report)
    assert (report["total"], report["recorded"], report["rejected"]) == (4, 1, 3)
    with (tmp_path / "regs.rejects.csv").open(newline="", encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [r["_line"] for r in rejects] == ["3", "4", "5"]
    assert "NOWHERE" in rejects[0]["_error"]
    assert "effective_on" in rejects[1]["_error"]
    assert "registry" in rejects[2]["_error"]
    assert [r["source_id"] for r in rejects] == ["r-2", "r-3", "r-4"], "the record is kept as it was"


def test_an_unsupported_file_type_is_bad_input(sqlite_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "facts.txt"
    path.write_text(json.dumps(site("CHAMISHKU")) + "\n", encoding="utf-8")

    result = sqlite_cli("import", path)

    assert result.code == 1
    assert ".txt" in result.stderr
    assert_no_traceback(result)


# ---- --help everywhere ------------------------------------------------------------------------------------
def all_command_paths() -> list[tuple[str, ...]]:
    return list(command_tree())


def test_every_command_has_help() -> None:
    paths = all_command_paths()
    runner = CliRunner()
    assert {("init",), ("import",), ("record", "household_departed"), ("views", "show"),
            ("reconcile",), ("rulebooks", "add"), ("demo",)} <= set(paths)

    failures = {}
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        if result.exit_code != 0 or "Usage:" not in result.output:
            failures[" ".join(path)] = (result.exit_code, result.output[-300:])

    assert not failures


@pytest.mark.parametrize("path", [(), ("record", "household_departed"), ("views", "show")],
                         ids=["ledger", "record", "views-show"])
def test_help_from_the_installed_command(tmp_path: Path, path: tuple[str, ...]) -> None:
    result = Cli(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)(*path, "--help")

    assert result.code == 0, result.stderr
    assert "Usage:" in result.stdout
    if path == ("record", "household_departed"):
        assert "--departure-letter-ref" in result.stdout
