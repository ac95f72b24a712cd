"""OCHA p-codes for Iraq: governorates (adm1) and districts (adm2), shipped with the package.

The reference list is the OCHA Iraq administrative boundaries table (valid from 2019-06-03). A
sub-district code (``IQGnnQmmNkk``) is accepted when its district is known: the list does not
carry adm3, and rejecting valid sub-districts would lose real records.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

NATIONAL = "IRQ"
PCODE_PATTERN = re.compile(r"^IQG\d{2}(Q\d{2}(N\d{2})?)?$")


@dataclass(frozen=True, slots=True)
class AdminUnit:
    level: int
    pcode: str
    name: str
    parent_pcode: str


@cache
def admin_units() -> dict[str, AdminUnit]:
    """Every governorate and district, by p-code."""
    text = resources.files("ledger.data").joinpath("iraq_pcodes_adm1_adm2.csv").read_text("utf-8")
    units = {}
    for row in csv.DictReader(text.splitlines()):
        unit = AdminUnit(int(row["level"]), row["pcode"], row["name"], row["parent_pcode"])
        units[unit.pcode] = unit
    return units


def level(pcode: str) -> int:
    """1 for a governorate, 2 for a district, 3 for a sub-district (format only)."""
    return {5: 1, 8: 2, 11: 3}.get(len(pcode), 0)


def adm1_of(pcode: str) -> str:
    return pcode[:5]


def adm2_of(pcode: str) -> str:
    """The district of a district or sub-district code; a governorate code is its own answer."""
    return pcode[:8] if len(pcode) >= 8 else pcode


def name_of(pcode: str) -> str:
    unit = admin_units().get(pcode)
    return unit.name if unit else pcode


def check_pcode(pcode: str, *, min_level: int = 1) -> str | None:
    """Return what is wrong with ``pcode`` (None when it is a known code of a fitting level)."""
    if not PCODE_PATTERN.match(pcode):
        return (
            f"'{pcode}' is not an OCHA Iraq p-code; expected IQGnn (governorate), "
            "IQGnnQmm (district) or IQGnnQmmNkk (sub-district)"
        )
    if level(pcode) < min_level:
        wanted = "a district (IQGnnQmm) or sub-district (IQGnnQmmNkk)"
        return f"'{pcode}' is a governorate code; expected {wanted}"
    known = admin_units()
    district = adm2_of(pcode)
    if level(pcode) == 1 and pcode not in known:
        return f"'{pcode}' is not a known Iraqi governorate p-code"
    if level(pcode) >= 2 and district not in known:
        return f"'{pcode}' is not in a known Iraqi district (no district {district})"
    return None
