"""The SQL an analyst writes against the analyst views gives what `ledger views show --json` and
`ledger reconcile --json` give, on both engines (the demo's store, queried behind the command's
back with the engine's own client library)."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest

from projections.bridge import LEVELS, REASON_NAMES, UNEXPLAINED, SiteInfo, classify, place_at
from projections.fold import HouseholdState
from projections.rulebooks import Rulebook
from projections.sqlviews import reason_case
from projections.views import FLAG_FIELDS, pack_flags
from tests.conftest import PG_DSN
from tests.e2e.conftest import Cli
from tests.e2e.demo_store import demo_store  # noqa: F401  (the module's store)

MEETING = "2026-05-06"
Rows = list[tuple[Any, ...]]


class Analyst:
    """Plain SQL on the store, as a BI tool sends it."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.pg = parsed.scheme.startswith("postgres")
        if self.pg:
            schema = parse_qs(parsed.query)["schema"][0]
            self.conn: Any = psycopg.connect(**PG_DSN, autocommit=True,
                                             options=f"-c search_path={schema}")
        else:
            self.conn = sqlite3.connect(parsed.path)

    def __call__(self, query: str, *params: Any) -> Rows:
        if not self.pg:
            query = query.replace("%s", "?")
        return [tuple(r) for r in self.conn.execute(query, params).fetchall()]

    def columns(self, relation: str) -> list[str]:
        cur = self.conn.execute(f"SELECT * FROM {relation} LIMIT 0")
        return [d[0] for d in cur.description]


@pytest.fixture(scope="module")
def analyst(demo_store: Cli) -> Iterator[Analyst]:  # noqa: F811  (the fixture imported above)
    connection = Analyst(demo_store.url)
    yield connection
    connection.conn.close()


def test_todays_figures_are_the_views_by_cell_and_by_governorate(demo_store: Cli,  # noqa: F811
                                                                 analyst: Analyst) -> None:
    for rulebook in ("official", "operational"):
        shown = demo_store.json("views", "show", "--rulebook", rulebook)
        cells = analyst("SELECT status, place, place_name, households, individuals "
                        "FROM analyst_figures_today WHERE rulebook = %s", rulebook)
        assert sorted(cells) == sorted((r["status"], r["place"], r["place_name"], r["households"],
                                        r["individuals"]) for r in shown["rows"])
        # The question that went wrong before: households by governorate, attribution applied.
        by_adm1 = analyst("SELECT status, adm1, sum(households), sum(individuals) "
                          "FROM analyst_figures_today WHERE rulebook = %s GROUP BY status, adm1",
                          rulebook)
        shown = demo_store.json("views", "show", "--rulebook", rulebook, "--by", "adm1")
        assert sorted(by_adm1) == sorted((r["status"], r["place"], r["households"],
                                          r["individuals"]) for r in shown["rows"])
        assert not analyst("SELECT 1 FROM analyst_figures_today WHERE adm1 IS NULL "
                           "OR adm1_name IS NULL OR adm2_name IS NULL")
        by_adm2 = analyst("SELECT status, adm2, sum(individuals) FROM analyst_figures_today "
                          "WHERE rulebook = %s GROUP BY status, adm2", rulebook)
        shown = demo_store.json("views", "show", "--rulebook", rulebook, "--by", "adm2")
        assert sorted(by_adm2) == sorted((r["status"], r["place"], r["individuals"])
                                         for r in shown["rows"])


def test_todays_bridge_and_its_reasons_are_reconcile(demo_store: Cli,  # noqa: F811
                                                     analyst: Analyst) -> None:
    bridge = demo_store.json("reconcile", "--left", "official", "--right", "operational")
    rows = analyst("SELECT status, place, left_households, left_individuals, right_households, "
                   "right_individuals, delta_households, delta_individuals "
                   "FROM analyst_bridge_today WHERE left_rulebook = 'official' "
                   "AND right_rulebook = 'operational'")
    assert sorted(rows) == sorted(
        (r["status"], r["place"], r["left"]["households"], r["left"]["individuals"],
         r["right"]["households"], r["right"]["individuals"], r["delta"]["households"],
         r["delta"]["individuals"]) for r in bridge["rows"])
    reasons = analyst("SELECT status, place, reason, households, individuals "
                      "FROM analyst_bridge_reasons_today WHERE left_rulebook = 'official' "
                      "AND right_rulebook = 'operational'")
    assert sorted(reasons) == sorted(
        (r["status"], r["place"], x["reason"], x["households"], x["individuals"])
        for r in bridge["rows"] for x in r["reasons"])
    assert len({x[2] for x in reasons}) >= 5  # the demo's story has many reasons
    # Camps grouped into districts by the site registration reconcile reads today.
    by_adm2 = demo_store.json("reconcile", "--left", "official", "--right", "operational",
                              "--by", "adm2")
    grouped = analyst("SELECT status, adm2, sum(left_individuals), sum(right_individuals), "
                      "sum(delta_households) FROM analyst_bridge_today WHERE left_rulebook = "
                      "'official' AND right_rulebook = 'operational' GROUP BY status, adm2")
    assert sorted(grouped) == sorted(
        (r["status"], r["place"], r["left"]["individuals"], r["right"]["individuals"],
         r["delta"]["households"]) for r in by_adm2["rows"])
    # Every gap is explained: per cell the reasons add up to the delta.
    unexplained = analyst(
        "SELECT b.status, b.place FROM analyst_bridge_today b LEFT JOIN ("
        " SELECT left_rulebook, right_rulebook, status, place, sum(individuals) AS individuals"
        " FROM analyst_bridge_reasons_today GROUP BY left_rulebook, right_rulebook, status, place"
        ") r ON r.left_rulebook = b.left_rulebook AND r.right_rulebook = b.right_rulebook"
        " AND r.status = b.status AND r.place = b.place"
        " WHERE b.delta_individuals <> COALESCE(r.individuals, 0)")
    assert unexplained == []


def test_places_rulebooks_and_docs_describe_every_column(analyst: Analyst) -> None:
    assert analyst("SELECT name, adm1, adm1_name FROM analyst_places WHERE pcode = 'IQG09Q04'") \
        == [("Zakho", "IQG09", "Duhok")]
    assert analyst("SELECT level, name FROM analyst_places WHERE pcode = 'IRQ'") == [(0, "Iraq")]
    assert ("official", "official", "authority") in analyst(
        "SELECT name, registry, site_attribution FROM analyst_rulebooks")
    documented = set(analyst("SELECT object, column_name FROM analyst_docs"))
    for relation in ("analyst_figures_today", "analyst_bridge_today",
                     "analyst_bridge_reasons_today", "analyst_places", "analyst_rulebooks"):
        assert (relation, "") in documented
        for column in analyst.columns(relation):
            assert (relation, column) in documented, (relation, column)
    if analyst.pg:
        comments = analyst(
            "SELECT a.attname, col_description(c.oid, a.attnum) FROM pg_class c "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
            "WHERE c.relname = 'analyst_figures_today' AND c.relnamespace = "
            "current_schema()::regnamespace")
        assert all(text for _, text in comments)
        assert "attribution" in dict(comments)["adm1"]
        assert analyst("SELECT obj_description('analyst_bridge_today'::regclass, 'pg_class')")[0][0]


def test_figures_at_any_as_of_and_known_at_on_postgresql(demo_store: Cli,  # noqa: F811
                                                         analyst: Analyst) -> None:
    if not analyst.pg:
        pytest.skip("set-returning functions are PostgreSQL's; SQLite has the today views")
    shown = demo_store.json("views", "show", "--rulebook", "official", "--as-of", MEETING)
    known_at = shown["known_at"]
    rows = analyst("SELECT status, place, households, individuals "
                   "FROM analyst_figures('official', %s, %s)", MEETING, known_at)
    assert sorted(rows) == sorted((r["status"], r["place"], r["households"], r["individuals"])
                                  for r in shown["rows"])
    early = demo_store.json("views", "show", "--rulebook", "operational", "--as-of", "2026-01-01",
                            "--by", "adm1")
    rows = analyst("SELECT status, adm1, sum(individuals) FROM analyst_figures('operational', "
                   "%s, %s) GROUP BY status, adm1", "2026-01-01", known_at)
    assert sorted(rows) == sorted((r["status"], r["place"], r["individuals"])
                                  for r in early["rows"])
    assert early["rows"] != shown["rows"]


def test_init_again_recreates_the_views_without_losing_them(demo_store: Cli,  # noqa: F811
                                                            analyst: Analyst) -> None:
    before = analyst("SELECT sum(individuals) FROM analyst_figures_today")
    demo_store.ok("init")
    assert analyst("SELECT sum(individuals) FROM analyst_figures_today") == before


def test_a_rulebook_added_is_in_the_views_with_its_attribution(demo_store: Cli,  # noqa: F811
                                                               analyst: Analyst) -> None:
    book = demo_store.cwd / "by_location.toml"
    book.write_text('name = "official_by_location"\ndescription = "official, camps where they lie"\n'
                    'registry = "official"\ncaseload_start = 2006-01-01\n'
                    'departures_move = "with_letter"\nreentry_counts = false\n'
                    'returnee_registration_counts = true\nsite_attribution = "location"\n',
                    encoding="utf-8")
    if not analyst("SELECT 1 FROM analyst_rulebooks WHERE name = 'official_by_location'"):
        demo_store.ok("rulebooks", "add", book)
    assert analyst("SELECT site_attribution FROM analyst_rulebooks "
                   "WHERE name = 'official_by_location'") == [("location",)]
    for rulebook in ("official_by_location", "official"):
        rows = analyst("SELECT status, adm1, sum(individuals) FROM analyst_figures_today "
                       "WHERE rulebook = %s GROUP BY status, adm1", rulebook)
        shown = demo_store.json("views", "show", "--rulebook", rulebook, "--by", "adm1")
        assert sorted(rows) == sorted((r["status"], r["place"], r["individuals"])
                                      for r in shown["rows"])


def test_the_bridge_at_any_as_of_and_known_at_on_postgresql(demo_store: Cli,  # noqa: F811
                                                            analyst: Analyst) -> None:
    if not analyst.pg:
        pytest.skip("set-returning functions are PostgreSQL's; SQLite has the today views")
    bridge = demo_store.json("reconcile", "--as-of", "2026-01-01")
    known_at = bridge["known_at"]
    rows = analyst("SELECT status, place, left_individuals, right_individuals, delta_households, "
                   "delta_individuals FROM analyst_bridge(%s, %s) WHERE left_rulebook = "
                   "'official' AND right_rulebook = 'operational'", "2026-01-01", known_at)
    assert sorted(rows) == sorted(
        (r["status"], r["place"], r["left"]["individuals"], r["right"]["individuals"],
         r["delta"]["households"], r["delta"]["individuals"]) for r in bridge["rows"])
    reasons = analyst("SELECT status, place, reason, households, individuals FROM "
                      "analyst_bridge_reasons(%s, %s) WHERE left_rulebook = 'official' "
                      "AND right_rulebook = 'operational'", "2026-01-01", known_at)
    assert sorted(reasons) == sorted(
        (r["status"], r["place"], x["reason"], x["households"], x["individuals"])
        for r in bridge["rows"] for x in r["reasons"])


SITES = {"CAMP_A": SiteInfo("CAMP_A", "Camp A", "camp", "IQG09Q04", "IQG11"),
         "CAMP_B": SiteInfo("CAMP_B", "Camp B", "camp", "IQG09Q04"),
         "CAMP_C": SiteInfo("CAMP_C", "Camp C", "camp", "IQG11Q01")}


def _states(count: int) -> list[HouseholdState]:
    """Distinct states drawn from small domains, so that equal places, statuses, member counts
    and a prior placement equal to the other side's state are all frequent."""
    rng = random.Random(20261201)  # noqa: S311  (test data, not a secret)
    statuses: list[Any] = ["idp_in_camp", "idp_out_of_camp", "returnee", "locally_integrated"]
    places = {"idp_in_camp": [*SITES], "idp_out_of_camp": ["IQG09Q04", "IQG09Q03", "IQG11Q01"],
              "returnee": ["IQG09Q04", "IQG15Q01"], "locally_integrated": ["IQG09Q03"]}
    flags = [f for f in FLAG_FIELDS if f != "registered"]
    causes: list[Any] = [None, "registration", "departure", "return", "reentry"]
    found: dict[HouseholdState, None] = {HouseholdState(): None}
    while len(found) < count:
        status = rng.choice(statuses)
        prior: Any = rng.choice([None, *statuses])
        state = HouseholdState(
            status=status, place=rng.choice(places[status]), individuals=rng.choice([3, 5]),
            cause=rng.choice(causes), members=None, registered=rng.random() < 0.9,
            **{f: rng.random() < 0.25 for f in flags},
            prior_status=prior, prior_place=None if prior is None else rng.choice(places[prior]))
        found[state] = None
    return list(found)


@pytest.mark.parametrize("engine", [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
])
def test_the_sql_reason_is_the_python_reason_for_every_pair_at_every_level(engine: str) -> None:
    """The CASE of the SQL bridge against :func:`projections.bridge.classify` on every
    (left state, right state) of a few hundred states, at every level, on both engines."""
    states = _states(160)
    common: Any = {"caseload_start": dt.date(2014, 1, 1), "departures_move": "with_letter",
                   "reentry_counts": True, "returnee_registration_counts": True}
    books = (Rulebook("left_book", "official", site_attribution="authority", **common),
             Rulebook("right_book", "operational", site_attribution="location", **common))
    columns = ", ".join(f"{side}_{level} TEXT" for level in LEVELS for side in ("left", "right"))
    rows = [(sig, s.status, s.place, s.individuals, s.cause, pack_flags(s), s.prior_status,
             s.prior_place, *(place_at(s, book, level, SITES) for level in LEVELS for book in books))
            for sig, s in enumerate(states)]
    conn: Any = psycopg.connect(**PG_DSN) if engine == "postgres" else sqlite3.connect(":memory:")
    mark = "%s" if engine == "postgres" else "?"
    try:
        conn.execute("CREATE TEMP TABLE sigs (sig INTEGER, status TEXT, place TEXT, "
                     "individuals INTEGER, cause TEXT, flags INTEGER, prior_status TEXT, "
                     f"prior_place TEXT, {columns})")
        conn.execute("CREATE TEMP TABLE books (side TEXT, registry TEXT)")
        conn.cursor().executemany(f"INSERT INTO sigs VALUES ({', '.join([mark] * len(rows[0]))})",
                                  rows)
        conn.execute("INSERT INTO books VALUES ('left', 'official'), ('right', 'operational')")
        seen: set[str | None] = set()
        for level in LEVELS:  # the places at the level: as the SQL reads them, per side
            case = reason_case(f"l.left_{level}", f"r.right_{level}")
            got = {(a, b): why for a, b, why in conn.execute(
                f"SELECT l.sig, r.sig, {case} FROM sigs l CROSS JOIN sigs r "
                "JOIN books lb ON lb.side = 'left' JOIN books rb ON rb.side = 'right'").fetchall()}
            expected = {(a, b): classify(left, right, *books, level, SITES)
                        for a, left in enumerate(states) for b, right in enumerate(states)}
            assert got == expected, level
            seen |= {*expected.values()}
        assert seen >= {*REASON_NAMES} - {UNEXPLAINED}  # every rule was exercised
    finally:
        conn.close()
