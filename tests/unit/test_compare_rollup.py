"""Rolling reported figures up to a level: nothing added twice, parts summed, camps grouped right."""

from __future__ import annotations

import datetime as dt

from projections.bridge import SiteInfo
from projections.compare import _roll_up
from projections.reported import ReportedFigure
from projections.rulebooks import builtin_rulebooks

SITES = {
    "CHAMISHKU": SiteInfo("CHAMISHKU", "Chamishku camp", "camp", "IQG09Q04"),
    "ESYAN": SiteInfo("ESYAN", "Esyan camp", "camp", "IQG15Q06", "IQG09"),
}
BOOKS = builtin_rulebooks()
DAY = dt.date(2026, 4, 30)
NOW = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def reported(place: str, individuals: int, status: str = "idp",
             location: str | None = None) -> ReportedFigure:
    return ReportedFigure("CCCM", "list", DAY, place, status, location, None, individuals,
                          f"src-{place}-{location}", NOW)


def totals(level: str, book: str, *figures: ReportedFigure) -> dict[tuple[str, str], int]:
    rolled = _roll_up(list(figures), level, BOOKS[book], SITES)  # type: ignore[arg-type]
    return {key: sum(f.individuals for f in members) for key, (_, members) in rolled.items()}


def test_a_district_total_covers_the_camps_inside_it() -> None:
    figures = (reported("IQG09Q04", 100, "idp_in_camp"), reported("CHAMISHKU", 60, "idp_in_camp"))
    assert totals("adm1", "operational", *figures) == {("idp_in_camp", "IQG09"): 100}
    assert totals("cell", "operational", *figures) == {("idp_in_camp", "IQG09Q04"): 100,
                                                       ("idp_in_camp", "CHAMISHKU"): 60}


def test_locations_inside_a_district_are_parts_that_add_up() -> None:
    figures = (reported("IQG15Q07", 70, location="Sinun"), reported("IQG15Q07", 30, location="Snuny"))
    assert totals("cell", "official", *figures) == {("idp", "IQG15Q07"): 100}
    # ... and a whole-district figure of the same status covers them
    whole = reported("IQG15Q07", 120)
    assert totals("adm2", "official", *figures, whole) == {("idp", "IQG15Q07"): 120}


def test_camps_run_by_another_governorate_follow_the_rulebook_grouping() -> None:
    figures = (reported("ESYAN", 6, "idp_in_camp"), reported("CHAMISHKU", 25, "idp_in_camp"))
    assert totals("adm1", "official", *figures) == {("idp_in_camp", "IQG09"): 31}
    assert totals("adm1", "operational", *figures) == {("idp_in_camp", "IQG09"): 25,
                                                       ("idp_in_camp", "IQG15"): 6}


def test_a_national_figure_is_not_the_sum_of_governorates_and_is_left_out_below() -> None:
    figures = (reported("IRQ", 500), reported("IQG09", 200), reported("IQG15", 100))
    assert totals("national", "official", *figures) == {("idp", "IRQ"): 500}
    assert totals("adm1", "official", *figures) == {("idp", "IQG09"): 200, ("idp", "IQG15"): 100}
    assert totals("adm2", "official", *figures) == {}
