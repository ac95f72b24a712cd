"""Rulebooks are data: the built-in pair matches SPEC §3, user files get specific errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ledger.errors import RulebookError
from projections.rulebooks import Rulebook, builtin_rulebooks, parse_rulebook

ROOT = Path(__file__).resolve().parents[2]

IRIS_LIKE = """
name = "iris"
registry = "operational"
caseload_start = 2014-01-01
departures_move = "all"
reentry_counts = true
returnee_registration_counts = false
site_attribution = "location"
return_ends_displacement = false
"""


def test_official_rulebook_counts_momd_registrations_since_2006_moved_by_letters() -> None:
    official = builtin_rulebooks()["official"]
    assert (
        official.registry,
        official.caseload_start,
        official.departures_move,
        official.reentry_counts,
        official.returnee_registration_counts,
        official.site_attribution,
        official.return_ends_displacement,
    ) == ("official", dt.date(2006, 1, 1), "with_letter", False, True, "authority", True)


def test_operational_rulebook_counts_dtm_registrations_since_2014_and_every_movement() -> None:
    operational = builtin_rulebooks()["operational"]
    assert (
        operational.registry,
        operational.caseload_start,
        operational.departures_move,
        operational.reentry_counts,
        operational.returnee_registration_counts,
        operational.site_attribution,
        operational.return_ends_displacement,
    ) == ("operational", dt.date(2014, 1, 1), "all", True, False, "location", True)


def test_iris_example_keeps_returnees_displaced() -> None:
    iris = parse_rulebook((ROOT / "examples" / "iris.toml").read_text("utf-8"), "iris.toml")
    assert iris.name == "iris"
    assert iris.registry == "operational"
    assert iris.caseload_start == dt.date(2014, 1, 1)
    assert iris.departures_move == "all"
    assert iris.reentry_counts is True
    assert iris.returnee_registration_counts is False
    assert iris.site_attribution == "location"
    assert iris.return_ends_displacement is False


def test_return_ends_displacement_unless_a_rulebook_says_otherwise() -> None:
    text = IRIS_LIKE.replace("return_ends_displacement = false\n", "")
    assert parse_rulebook(text, "x.toml").return_ends_displacement is True


def test_caseload_start_may_be_written_as_text() -> None:
    text = IRIS_LIKE.replace("2014-01-01", '"2014-01-01"')
    assert parse_rulebook(text, "x.toml").caseload_start == dt.date(2014, 1, 1)


@pytest.mark.parametrize("book", ["official", "operational"])
def test_a_rulebook_written_out_reads_back_the_same(book: str) -> None:
    rulebook = builtin_rulebooks()[book]
    assert parse_rulebook(rulebook.to_toml(), "round trip") == rulebook


def test_a_description_with_quotes_survives_the_round_trip() -> None:
    rulebook = parse_rulebook(IRIS_LIKE + 'description = "the \\"IRIS\\" way"\n', "x.toml")
    assert parse_rulebook(rulebook.to_toml(), "again") == rulebook
    assert rulebook.description == 'the "IRIS" way'


def test_unknown_key_is_named_with_what_is_allowed() -> None:
    with pytest.raises(RulebookError, match=r"mine\.toml: unknown key 'reentry_count'.*expected"):
        parse_rulebook(IRIS_LIKE + "reentry_count = true\n", "mine.toml")


def test_missing_key_is_named() -> None:
    text = IRIS_LIKE.replace('site_attribution = "location"\n', "")
    with pytest.raises(RulebookError, match=r"mine\.toml: missing key 'site_attribution'"):
        parse_rulebook(text, "mine.toml")


@pytest.mark.parametrize(
    ("line", "replacement", "message"),
    [
        (
            'departures_move = "all"',
            'departures_move = "some"',
            r"departures_move is 'some'; expected one of 'with_letter', 'all', 'none'",
        ),
        (
            'registry = "operational"',
            'registry = "unhcr"',
            r"registry is 'unhcr'; expected one of 'official', 'operational'",
        ),
        (
            "reentry_counts = true",
            'reentry_counts = "yes"',
            r"reentry_counts is 'yes'; expected true or false",
        ),
        (
            "caseload_start = 2014-01-01",
            'caseload_start = "January 2014"',
            r"caseload_start is 'January 2014'; expected a date",
        ),
        (
            "caseload_start = 2014-01-01",
            "caseload_start = 2014-01-01T00:00:00",
            r"caseload_start is .*; expected a date such as 2014-01-01 \(no time\)",
        ),
        ('name = "iris"', 'name = "IRIS 2"', r"name is 'IRIS 2'; expected a lower-case name"),
        ('name = "iris"', f'name = "{"x" * 41}"', r"name is 'x+'; expected a lower-case name of 1–40"),
    ],
)
def test_bad_value_says_which_key_what_was_given_and_what_is_expected(
    line: str, replacement: str, message: str
) -> None:
    assert line in IRIS_LIKE
    with pytest.raises(RulebookError, match=message) as raised:
        parse_rulebook(IRIS_LIKE.replace(line, replacement), "mine.toml")
    assert str(raised.value).startswith("mine.toml: ")
    assert raised.value.field == replacement.split(" =", maxsplit=1)[0]


def test_text_that_is_not_toml_is_rejected_as_such() -> None:
    with pytest.raises(RulebookError, match=r"mine\.toml: not valid TOML"):
        parse_rulebook("name = ", "mine.toml")


def test_builtin_rulebooks_cannot_be_changed_through_the_returned_dict() -> None:
    books = builtin_rulebooks()
    books.pop("official")
    assert set(builtin_rulebooks()) == {"official", "operational"}
    assert isinstance(builtin_rulebooks()["official"], Rulebook)
