"""Places a user names on the command line: known ones, and the closest names for the others.

A place is a site id (as registered in the ledger), an OCHA p-code of Iraq (a governorate, a
district, or a sub-district of a known district) or ``IRQ`` (the country). A name that is none
of these is an error naming the closest known site ids and p-codes (by ``difflib``), never a
silent zero.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping, Sequence

from ledger.errors import LedgerError, NotFoundError
from ledger.pcodes import NATIONAL, admin_units, check_pcode, level, name_of
from projections.bridge import Bridge, SiteInfo


class UsageError(LedgerError):
    """A place that exists but does not fit the grouping asked for."""


def is_known(place: str, site_ids: Iterable[str]) -> bool:
    if place == NATIONAL or place in set(site_ids):
        return True
    return check_pcode(place) is None


def closest(place: str, site_ids: Iterable[str], n: int = 3) -> list[str]:
    """The known site ids and p-codes nearest to ``place`` (also by a p-code's name)."""
    sites = sorted(set(site_ids))
    by_name = {unit.name.upper(): code for code, unit in admin_units().items()}
    candidates = [*sites, *admin_units(), NATIONAL]
    found = difflib.get_close_matches(place.upper(), [c.upper() for c in candidates], n, 0.5)
    upper = {c.upper(): c for c in candidates}
    names = [by_name[m] for m in difflib.get_close_matches(place.upper(), list(by_name), n, 0.6)]
    return list(dict.fromkeys([*(upper[m] for m in found), *names]))[:n]


def check_places(places: Sequence[str], site_ids: Iterable[str]) -> None:
    """Raise :class:`NotFoundError` for the first place that is neither a site nor a p-code."""
    sites = set(site_ids)
    for place in places:
        if is_known(place, sites):
            continue
        near = closest(place, sites)
        hint = ("; closest known: " + ", ".join(
            f"{p} ({name_of(p)})" if p not in sites and name_of(p) != p else p for p in near)
            if near else "; `ledger views show --by cell` lists the places counted")
        raise NotFoundError(f"unknown place {place!r}: no site has that id and it is not an "
                            f"Iraqi p-code{hint}")


def contains(place: str, row_place: str, sites: Mapping[str, SiteInfo]) -> bool:
    """Whether a bridge row's place lies in ``place`` (a site id, a p-code or ``IRQ``).

    P-codes nest by prefix (IQG09 ⊃ IQG09Q04 ⊃ IQG09Q04N01). A camp lies in the district and
    governorate of its location, and also in the governorate whose authority runs it (so a
    per-governorate bridge shows the camps either rulebook reports there).
    """
    if place in (NATIONAL, row_place):
        return True
    site = sites.get(row_place)
    if site is not None:
        return site.location_pcode.startswith(place) or site.authority == place
    return row_place.startswith(place) and place not in sites


def bridge_in(bridge: Bridge, place: str, sites: Mapping[str, SiteInfo]) -> Bridge:
    """The bridge's rows that lie in ``place`` (their totals are then the place's)."""
    check_grouping(place, bridge.level, sites)
    rows = tuple(row for row in bridge.rows if contains(place, row.place, sites))
    differences = tuple(d for d in bridge.differences
                        if any(p is not None and contains(place, p, sites)
                               for p in (d.left_place, d.right_place)))
    return dataclasses.replace(bridge, rows=rows, differences=differences)


def check_grouping(place: str, grouping: str, sites: Mapping[str, SiteInfo]) -> None:
    """Raise :class:`UsageError` when rows at ``grouping`` cannot lie in ``place``."""
    if place in sites:
        if grouping != "cell":
            raise UsageError(f"{place} is a site: its bridge is by cell (drop --by)")
        return
    if place == NATIONAL:
        return
    if grouping == "national":
        raise UsageError(f"{place}: nationally every row is the country; use --by cell, adm2 "
                         "or adm1")
    finest = {"adm1": 1, "adm2": 2}.get(grouping, 3)
    if level(place) > finest:
        raise UsageError(f"{place} is finer than the --by {grouping} rows; use --by cell")


def check_view_place(place: str, grouping: str, sites: Mapping[str, SiteInfo]) -> None:
    """Raise :class:`UsageError` unless ``place`` can be a row of ``views show --by grouping``:
    a site id or a district/sub-district p-code by cell, a district p-code by adm2, a
    governorate p-code by adm1, ``IRQ`` nationally (else its figure would be a false zero)."""
    if grouping == "cell":
        fits = place in sites or level(place) >= 2
    elif grouping == "national":
        fits = place == NATIONAL
    else:
        fits = place not in sites and level(place) == (1 if grouping == "adm1" else 2)
    if not fits:
        raise UsageError(f"{place} is not a place of the --by {grouping} rows (a site id or a "
                         "district p-code by cell, a district by adm2, a governorate by adm1, "
                         "IRQ by national)")
