"""SQL for BI tools: documented views over the materialised views, on both engines.

An analyst pointing Metabase, Superset or Power BI at the store reads these, never the interval
tables behind them (``docs/sql.md``):

``analyst_figures_today``        today's figures of every rulebook by cell, with the site, its
                                 district (``adm2``) and governorate (``adm1``, the rulebook's
                                 site attribution applied) and their names.
``analyst_bridge_today``         today's bridge between every pair of rulebooks, by cell:
                                 left, right and delta (left − right).
``analyst_bridge_reasons_today`` the reasons of every gap, by cell; per cell they add up to
                                 the delta exactly.
``analyst_places``               every p-code (country, governorates, districts) with its name.
``analyst_rulebooks``            the rulebooks and the parameters the views use (refreshed by
                                 :func:`refresh_analyst_rulebooks` when one is added).
``analyst_docs``                 what every view and column means (on PostgreSQL also as
                                 ``COMMENT ON VIEW/COLUMN``, which BI tools show).
``analyst_figures(rulebook, as_of, known_at)``  (PostgreSQL) the figures at any (D, K);
``analyst_bridge(as_of, known_at)``, ``analyst_bridge_reasons(as_of, known_at)`` the bridge.

"Today" is the UTC date and the current time, as the ``ledger`` command reads them. The views
read the projector's tables (``view_states``, ``view_pairs``, ``view_signatures``,
``view_sites``), so they are as current as the projector: the same figures as ``ledger views
show`` and ``ledger reconcile`` once the views have caught up. The bridge's reasons are the
rules of :func:`projections.bridge._reason`, written as one SQL ``CASE`` (:func:`reason_case`)
over the columns of ``view_signatures`` (status, place, individuals, cause, the packed flags,
prior_status/prior_place) and the rulebooks' registries: a reason depends on the two states
only, so the views stay current with the signatures the projector writes and need no table of
their own refreshed on each catch-up. The ``CASE`` is generated from
:data:`projections.views.FLAG_FIELDS` and the bridge's ``_FLAG_REASONS``/``_CAUSE_REASONS``, so
a new flag or cause cannot silently shift; a test compares it with the Python rules on every
pair of a few hundred states at every level, on both engines. Camps are grouped by
``view_sites``, the latest live registration: what ``ledger reconcile`` reads today (no fact is
effective in the future); the PostgreSQL functions at an earlier (D, K) group them the same way.

:func:`create_analyst_views` drops and re-creates everything; it is cheap (no scan of the view
tables) and safe to call again. It must run after anything that drops or replaces the tables
the views read (``ledger init``, a layout change, a rebuild that swaps tables in);
:func:`drop_analyst_views` must run before such a drop on PostgreSQL, where a view pins the
tables it reads.

One of the view-table modules, which alone hold the view tables' SQL (docs/sql.md, "Where the
SQL lives"): view definitions composed from fixed SQL fragments, so ruff's S608 is off here.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.pcodes import NATIONAL, admin_units
from ledger.store.db import Cursor, Database
from projections.bridge import _CAUSE_REASONS, _FLAG_REASONS, UNEXPLAINED
from projections.fold import IDP_IN_CAMP
from projections.views import FLAG_FIELDS, Views

VIEWS = ("analyst_bridge_reasons_today", "analyst_bridge_today", "analyst_bridge_parts_today",
         "analyst_figures_today")
TABLES = ("analyst_docs", "analyst_places", "analyst_rulebooks")
FUNCTIONS = ("analyst_figures(text, date, timestamptz)", "analyst_bridge(date, timestamptz)",
             "analyst_bridge_reasons(date, timestamptz)")

# (object, column or "", what it means)
FIGURE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rulebook", "The rulebook counting (official, operational or one you added)."),
    ("status", "idp_in_camp, idp_out_of_camp, returnee or locally_integrated."),
    ("place", "The cell: the camp's site id for idp_in_camp, else the p-code (district or "
              "sub-district) where the households are. The same as `ledger views show`."),
    ("place_name", "The camp's name, or the p-code's name."),
    ("site_id", "The camp's site id (idp_in_camp only; NULL otherwise)."),
    ("site_name", "The camp's name (idp_in_camp only)."),
    ("adm2", "District p-code: where the camp lies, or the district of the place."),
    ("adm2_name", "District name."),
    ("adm1", "Governorate p-code, the rulebook's site attribution applied: a camp run by "
             "another governorate's authority is under that governorate when the rulebook "
             "attributes by authority. GROUP BY adm1 gives `ledger views show --by adm1`."),
    ("adm1_name", "Governorate name."),
    ("households", "Number of households."),
    ("individuals", "Number of individuals."),
)
BRIDGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("left_rulebook", "The left rulebook: the first of the pair in alphabetical order "
                      "(official before operational)."),
    ("right_rulebook", "The right rulebook."),
    ("status", "The cell's status."),
    ("place", "The cell's place (site id or p-code), as in `ledger reconcile`."),
    ("place_name", "The camp's or p-code's name."),
    ("adm2", "District p-code of the cell (where the camp lies)."),
    ("adm1", "Governorate p-code where the cell lies (each rulebook's own attribution shows in "
             "`ledger reconcile --by adm1`)."),
)
DOCS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "analyst_figures_today": (
        "Today's figures (UTC date, current time) of every rulebook, by cell, as `ledger views "
        "show` gives them. Sum households or individuals over any grouping.", FIGURE_COLUMNS),
    "analyst_bridge_today": (
        "Today's bridge between every pair of rulebooks, by cell: left and right figures and "
        "their gap, delta = left - right. Each delta is explained exactly by the rows of "
        "analyst_bridge_reasons_today.", (*BRIDGE_COLUMNS,
        ("left_households", "Households the left rulebook counts in the cell."),
        ("left_individuals", "Individuals the left rulebook counts in the cell."),
        ("right_households", "Households the right rulebook counts in the cell."),
        ("right_individuals", "Individuals the right rulebook counts in the cell."),
        ("delta_households", "left_households - right_households."),
        ("delta_individuals", "left_individuals - right_individuals."))),
    "analyst_bridge_reasons_today": (
        "The reasons of today's gaps, by cell: per (rulebooks, status, place) the rows add up "
        "to the cell's delta in analyst_bridge_today. A household counted differently adds its "
        "left figure to its left cell and minus its right figure to its right cell.",
        (*BRIDGE_COLUMNS,
         ("reason", "Why the rulebooks differ (docs/sql.md lists the reasons)."),
         ("households", "Households this reason adds to the cell's delta (can be negative)."),
         ("individuals", "Individuals this reason adds to the cell's delta."))),
    "analyst_bridge_parts_today": (
        "The building block of the two bridge views: one row per (left state, right state) "
        "side of today's household pairs. Prefer analyst_bridge_today.", ()),
    "analyst_places": (
        "Every p-code the ledger knows (OCHA Iraq adm1/adm2, 2019-06-03) and the country, with "
        "names.", (
            ("pcode", "The p-code (IRQ for the country)."),
            ("level", "0 country, 1 governorate, 2 district."),
            ("name", "The English name."),
            ("adm1", "The governorate p-code of a district (its own code for a governorate)."),
            ("adm1_name", "The governorate's name."))),
    "analyst_rulebooks": (
        "The rulebooks and the parameters the analyst views use.", (
            ("name", "Rulebook name."),
            ("description", "What it counts."),
            ("registry", "The registry it reads: official or operational."),
            ("site_attribution", "authority: camps under the governorate whose authority runs "
                                 "them; location: under the governorate they lie in."))),
    "analyst_docs": ("What every analyst view and column means.", (
        ("object", "View or table."), ("column_name", "Column ('' for the object itself)."),
        ("comment", "The meaning."))),
}


def _today(pg: bool) -> tuple[str, str]:
    """SQL for today's UTC date and the current time, in the stored types of each engine."""
    if pg:
        return "(now() AT TIME ZONE 'UTC')::date", "now()"
    return "date('now')", "strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now')"


def _cell_place(alias: str) -> str:
    """The state's cell place (NULL when not counted), as ``place_at`` at cell level."""
    return f"CASE WHEN {alias}.status <> 'not_counted' THEN {alias}.place END"


def _adm2(place: str, location: str, status: str) -> str:
    pcode = f"CASE WHEN {status} = 'idp_in_camp' THEN {location} ELSE {place} END"
    return f"CASE WHEN length({pcode}) >= 8 THEN substr({pcode}, 1, 8) ELSE {pcode} END"


def figures_select(pg: bool, rulebook: str | None, day: str, moment: str) -> str:
    """The figures by cell at (``day``, ``moment``) (SQL expressions), for one rulebook or all."""
    only = f" AND s.rulebook = {rulebook}" if rulebook else ""
    governorate = ("CASE WHEN g.status <> 'idp_in_camp' THEN substr(g.place, 1, 5) "
                   "WHEN r.site_attribution = 'authority' AND site.authority_adm1 IS NOT NULL "
                   "THEN site.authority_adm1 ELSE substr(site.location_pcode, 1, 5) END")
    district = _adm2("g.place", "site.location_pcode", "g.status")
    return f"""
SELECT c.rulebook, c.status, c.place,
       COALESCE(c.site_name, p.name, c.place) AS place_name,
       c.site_id, c.site_name, c.adm2, d.name AS adm2_name, c.adm1, a.name AS adm1_name,
       c.households, c.individuals
FROM (
    SELECT s.rulebook, g.status, g.place,
           CASE WHEN g.status = 'idp_in_camp' THEN g.place END AS site_id,
           CASE WHEN g.status = 'idp_in_camp' THEN site.name END AS site_name,
           {district} AS adm2, {governorate} AS adm1,
           count(*) AS households, sum(g.individuals) AS individuals
    FROM view_states s
    JOIN view_signatures g ON g.sig = s.sig
    JOIN analyst_rulebooks r ON r.name = s.rulebook
    LEFT JOIN view_sites site ON site.site_id = g.place AND g.status = 'idp_in_camp'
    WHERE s.valid_from <= {day} AND s.valid_to > {day}
      AND s.recorded_from <= {moment} AND s.recorded_to > {moment}
      AND g.status <> 'not_counted' AND g.place IS NOT NULL{only}
    GROUP BY s.rulebook, g.status, g.place, site.name, site.location_pcode, site.authority_adm1,
             r.site_attribution
) c
LEFT JOIN analyst_places p ON p.pcode = c.place
LEFT JOIN analyst_places d ON d.pcode = c.adm2
LEFT JOIN analyst_places a ON a.pcode = c.adm1"""


def reason_case(left_place: str | None = None, right_place: str | None = None) -> str:
    """:func:`projections.bridge._reason` as one SQL ``CASE`` over signature aliases ``l``/``r``
    and rulebook aliases ``lb``/``rb``, given the two places at the row's level (SQL
    expressions; default the cell places). Generated from the flag bits the projector stores and
    from the bridge's own rule tables, so a new flag or cause cannot silently shift; the reason
    reads only signature columns, so the views need no table of their own kept current."""
    bit = {name: 1 << i for i, name in enumerate(FLAG_FIELDS)}

    def differs(flag: str) -> str:
        return f"(l.flags & {bit[flag]}) <> (r.flags & {bit[flag]})"

    def has(alias: str, flag: str) -> str:
        return f"({alias}.flags & {bit[flag]}) <> 0"

    def caused(side: str, other: str) -> str:  # _caused_by_last_placement
        here_is_there = (f"{side}.status = {other}.status "
                         f"AND {side}.place IS NOT DISTINCT FROM {other}.place")
        return (f"NOT ({here_is_there}) AND {side}.prior_status IS NOT DISTINCT FROM "
                f"{other}.status AND {side}.prior_place IS NOT DISTINCT FROM {other}.place")

    lp = left_place or _cell_place("l")
    rp = right_place or _cell_place("r")
    flagged = "\n".join(f"    WHEN {differs(flag)} THEN '{reason}'" for flag, reason in _FLAG_REASONS)
    by_cause = "\n".join(
        f"    WHEN ({has(side, flag)} AND {caused(side, other)}) THEN '{reason}'"
        for flag, reason in _CAUSE_REASONS for side, other in (("l", "r"), ("r", "l")))
    any_cause = " OR ".join(f"{has(alias, flag)}" for alias in ("l", "r")
                            for flag, _ in _CAUSE_REASONS)
    return f"""CASE
    WHEN l.status = r.status AND ({lp}) IS NOT DISTINCT FROM ({rp})
         AND l.individuals = r.individuals THEN NULL
    WHEN {differs('registered')} THEN 'only_' || CASE WHEN {has('l', 'registered')}
         THEN lb.registry ELSE rb.registry END || '_registry'
{flagged}
{by_cause}
    WHEN l.status = r.status THEN CASE
        WHEN l.individuals <> r.individuals THEN 'composition_differs'
        WHEN l.status = '{IDP_IN_CAMP}' AND l.place IS NOT DISTINCT FROM r.place
             THEN 'site_attribution'
        ELSE 'location_differs' END
    WHEN {differs('return_kept_displaced')} THEN 'return_not_ending_displacement'
    WHEN ({has('l', 'skipped_departure')} AND r.cause = 'departure')
      OR ({has('r', 'skipped_departure')} AND l.cause = 'departure') THEN 'departure_rule_differs'
    WHEN l.cause = 'registration' OR r.cause = 'registration' THEN 'registration_differs'
    WHEN {any_cause} THEN 'combined_causes'
    ELSE '{UNEXPLAINED}'
END"""


def bridge_parts_select(day: str, moment: str) -> str:
    lp, rp = _cell_place("l"), _cell_place("r")
    return f"""
WITH pairs AS (
    SELECT left_rulebook, right_rulebook, left_sig, right_sig, count(*) AS n
    FROM view_pairs
    WHERE valid_from <= {day} AND valid_to > {day}
      AND recorded_from <= {moment} AND recorded_to > {moment}
    GROUP BY left_rulebook, right_rulebook, left_sig, right_sig
), judged AS (
    SELECT p.left_rulebook, p.right_rulebook, p.n,
           l.status AS left_status, {lp} AS left_place, l.individuals AS left_individuals,
           r.status AS right_status, {rp} AS right_place, r.individuals AS right_individuals,
           {reason_case()} AS reason
    FROM pairs p
    JOIN view_signatures l ON l.sig = p.left_sig
    JOIN view_signatures r ON r.sig = p.right_sig
    JOIN analyst_rulebooks lb ON lb.name = p.left_rulebook
    JOIN analyst_rulebooks rb ON rb.name = p.right_rulebook
)
SELECT left_rulebook, right_rulebook, left_status AS status, left_place AS place,
       n AS left_households, n * left_individuals AS left_individuals,
       0 AS right_households, 0 AS right_individuals,
       reason, n AS reason_households, n * left_individuals AS reason_individuals
FROM judged WHERE left_place IS NOT NULL
UNION ALL
SELECT left_rulebook, right_rulebook, right_status, right_place,
       0, 0, n, n * right_individuals,
       reason, -n, -n * right_individuals
FROM judged WHERE right_place IS NOT NULL"""


def _bridge_place_columns() -> str:
    district = _adm2("b.place", "site.location_pcode", "b.status")
    return (f"COALESCE(site.name, pl.name, b.place) AS place_name, {district} AS adm2, "
            f"substr({district}, 1, 5) AS adm1")


BRIDGE_JOINS = ("LEFT JOIN view_sites site ON site.site_id = b.place AND b.status = 'idp_in_camp'\n"
                "LEFT JOIN analyst_places pl ON pl.pcode = b.place")


def _total(expression: str) -> str:
    """A sum as a BIGINT on both engines (PostgreSQL's sum of bigints is numeric)."""
    return f"CAST(sum({expression}) AS BIGINT)"


def bridge_select(parts: str) -> str:
    """The bridge by cell from ``parts`` (the parts view, or its select in parentheses)."""
    return f"""
SELECT b.left_rulebook, b.right_rulebook, b.status, b.place, {_bridge_place_columns()},
       {_total("b.left_households")} AS left_households,
       {_total("b.left_individuals")} AS left_individuals,
       {_total("b.right_households")} AS right_households,
       {_total("b.right_individuals")} AS right_individuals,
       {_total("b.left_households - b.right_households")} AS delta_households,
       {_total("b.left_individuals - b.right_individuals")} AS delta_individuals
FROM {parts} b
{BRIDGE_JOINS}
GROUP BY b.left_rulebook, b.right_rulebook, b.status, b.place, site.name, site.location_pcode,
         pl.name"""


def reasons_select(parts: str) -> str:
    return f"""
SELECT b.left_rulebook, b.right_rulebook, b.status, b.place, {_bridge_place_columns()}, b.reason,
       {_total("b.reason_households")} AS households,
       {_total("b.reason_individuals")} AS individuals
FROM {parts} b
{BRIDGE_JOINS}
WHERE b.reason IS NOT NULL
GROUP BY b.left_rulebook, b.right_rulebook, b.status, b.place, site.name, site.location_pcode,
         pl.name, b.reason"""


def _statements(pg: bool) -> list[str]:
    day, moment = _today(pg)
    statements = [
        "CREATE TABLE analyst_rulebooks (name TEXT PRIMARY KEY, description TEXT NOT NULL, "
        "registry TEXT NOT NULL, site_attribution TEXT NOT NULL)",
        "CREATE TABLE analyst_places (pcode TEXT PRIMARY KEY, level INTEGER NOT NULL, "
        "name TEXT NOT NULL, adm1 TEXT, adm1_name TEXT)",
        "CREATE TABLE analyst_docs (object TEXT NOT NULL, column_name TEXT NOT NULL, "
        "comment TEXT NOT NULL, PRIMARY KEY (object, column_name))",
        "CREATE VIEW analyst_figures_today AS" + figures_select(pg, None, day, moment),
        "CREATE VIEW analyst_bridge_parts_today AS" + bridge_parts_select(day, moment),
        "CREATE VIEW analyst_bridge_today AS" + bridge_select("analyst_bridge_parts_today"),
        "CREATE VIEW analyst_bridge_reasons_today AS"
        + reasons_select("analyst_bridge_parts_today"),
    ]
    if pg:
        statements.append(
            "CREATE FUNCTION analyst_figures(rulebook text, as_of date, known_at timestamptz) "
            "RETURNS TABLE (rulebook text, status text, place text, place_name text, "
            "site_id text, site_name text, adm2 text, adm2_name text, adm1 text, adm1_name text, "
            "households bigint, individuals bigint) LANGUAGE sql STABLE AS $body$"
            + figures_select(pg, "$1", "$2", "$3") + "\n$body$")
        parts = f"({bridge_parts_select('$1', '$2')})"
        place_types = "status text, place text, place_name text, adm2 text, adm1 text"
        statements.append(
            "CREATE FUNCTION analyst_bridge(as_of date, known_at timestamptz) "
            f"RETURNS TABLE (left_rulebook text, right_rulebook text, {place_types}, "
            "left_households bigint, left_individuals bigint, right_households bigint, "
            "right_individuals bigint, delta_households bigint, delta_individuals bigint) "
            "LANGUAGE sql STABLE AS $body$" + bridge_select(parts) + "\n$body$")
        statements.append(
            "CREATE FUNCTION analyst_bridge_reasons(as_of date, known_at timestamptz) "
            f"RETURNS TABLE (left_rulebook text, right_rulebook text, {place_types}, "
            "reason text, households bigint, individuals bigint) "
            "LANGUAGE sql STABLE AS $body$" + reasons_select(parts) + "\n$body$")
    return statements


def drop_analyst_views(db: Database) -> None:
    """Drop every analyst object (before the tables they read are dropped or replaced)."""
    with db.transaction() as cur:
        _drop(cur, db.is_postgres)


def _drop(cur: Cursor, pg: bool) -> None:
    if pg:
        for function in FUNCTIONS:
            cur.execute(f"DROP FUNCTION IF EXISTS {function}")
    for view in VIEWS:
        cur.execute(f"DROP VIEW IF EXISTS {view}")
    for table in TABLES:
        cur.execute(f"DROP TABLE IF EXISTS {table}")


def create_analyst_views(db: Database) -> list[str]:
    """Drop and re-create the analyst views, tables and docs in one transaction; idempotent.

    Cheap (a few hundred rows written, no scan of the view tables): call it in ``ledger init``
    and after anything that replaces the tables the views read. Returns the names created.
    """
    pg = db.is_postgres
    with db.transaction() as cur:
        if pg:  # two `ledger init` at once: one re-creates, then the other
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('ledger_analyst_views'))")
        _drop(cur, pg)
        for statement in _statements(pg):
            cur.execute(statement)
        _insert_rulebooks(cur, db)
        units = admin_units()
        cur.executemany("INSERT INTO analyst_places VALUES (%s, %s, %s, %s, %s)", [
            (NATIONAL, 0, "Iraq", None, None),
            *((u.pcode, u.level, u.name, u.pcode[:5], units[u.pcode[:5]].name
               if u.pcode[:5] in units else None) for u in units.values()),
        ])
        docs = [(name, "", text) for name, (text, _) in DOCS.items()]
        docs += [(name, column, text) for name, (_, columns) in DOCS.items()
                 for column, text in columns]
        cur.executemany("INSERT INTO analyst_docs VALUES (%s, %s, %s)", docs)
        if pg:
            _comment(cur, docs)
    return [*TABLES, *VIEWS, *(FUNCTIONS if pg else ())]


def _insert_rulebooks(cur: Cursor, db: Database) -> None:
    cur.executemany("INSERT INTO analyst_rulebooks VALUES (%s, %s, %s, %s)",
                    [(b.name, b.description, b.registry, b.site_attribution)
                     for b in Views(db).rulebooks().values()])


def refresh_analyst_rulebooks(db: Database) -> None:
    """Bring ``analyst_rulebooks`` up to the stored rulebooks (after ``ledger rulebooks add``).

    Only rows change, so the role that adds rulebooks (``ledger_writer`` on PostgreSQL, which
    may not drop what ``ledger init`` created) can run it; a store initialised before the
    analyst views existed has no such table until ``ledger init`` runs again.
    """
    probe = ("SELECT to_regclass('analyst_rulebooks') IS NOT NULL" if db.is_postgres else
             "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'analyst_rulebooks'")
    with db.transaction() as cur:
        row = cur.execute(probe).fetchone()
        if not (row and row[0]):
            return
        cur.execute("DELETE FROM analyst_rulebooks")
        _insert_rulebooks(cur, db)


def _comment(cur: Cursor, docs: Sequence[tuple[str, str, str]]) -> None:
    """COMMENT ON VIEW/TABLE/COLUMN, which BI tools show beside the names."""
    from psycopg import sql  # noqa: PLC0415  (PostgreSQL only)

    for name, column, text in docs:
        kind = sql.SQL("VIEW" if name in VIEWS else "TABLE")
        target = sql.Identifier(name) if not column else \
            sql.SQL("{}.{}").format(sql.Identifier(name), sql.Identifier(column))
        statement = sql.SQL("COMMENT ON {} {} IS {}").format(
            sql.SQL("COLUMN") if column else kind, target, sql.Literal(text))
        cur.raw.execute(statement)
    for function, text in (
            ("analyst_figures(text, date, timestamptz)",
             "The figures by cell of one rulebook at any as-of date and known-at time: the "
             "columns of analyst_figures_today."),
            ("analyst_bridge(date, timestamptz)",
             "The bridge by cell at any as-of date and known-at time: the columns of "
             "analyst_bridge_today."),
            ("analyst_bridge_reasons(date, timestamptz)",
             "The reasons by cell at any as-of date and known-at time: the columns of "
             "analyst_bridge_reasons_today.")):
        cur.raw.execute(sql.SQL("COMMENT ON FUNCTION " + function + " IS {}")
                        .format(sql.Literal(text)))
