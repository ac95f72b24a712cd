"""``--public``: views and bridges with their small cells suppressed (:mod:`projections.disclosure`).

A public view publishes its cells, each status's total, each place's total and the grand total;
a public bridge publishes both sides' cells and totals, every row's delta and reasons, and the
reasons' totals. Each table is protected against every sum it publishes: no suppressed value can
be recovered from that table. Tables of different levels are protected each on its own, so
publish one level (``--by``) per release: set beside a district table, a governorate table could
narrow a suppressed district cell. A suppressed value is ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.pcodes import NATIONAL
from projections.bridge import Bridge, Figure, SiteInfo
from projections.disclosure import DEFAULT_MIN_HOUSEHOLDS, RULE, Line, suppress, suppress_grid
from projections.queries import ViewResult
from projections.rulebooks import Rulebook

ALL = "*"


@dataclass(frozen=True)
class Shown:
    """A published value: households and individuals, both None when suppressed."""

    households: int | None
    individuals: int | None

    @property
    def suppressed(self) -> bool:
        return self.households is None

    def as_dict(self) -> dict[str, int | bool | None]:
        return {"households": self.households, "individuals": self.individuals,
                "suppressed": self.suppressed}


def rule_text(min_households: int) -> str:
    return RULE.format(n=min_households)


def _shown(figure: Figure, hidden: bool) -> Shown:
    return Shown(None, None) if hidden else Shown(figure.households, figure.individuals)


class _Table:
    """Cells with household counts and the lines (published sums) they take part in."""

    def __init__(self) -> None:
        self.households: dict[object, int] = {}
        self.lines: list[Line] = []
        self.exempt: set[object] = set()

    def cell(self, key: object, figure: Figure) -> None:
        """A reason of 0 households but some individuals (composition) concerns a household too."""
        self.households[key] = abs(figure.households) or (1 if figure.individuals else 0)

    def line(self, total: object, parts: Sequence[tuple[object, int]]) -> None:
        coefficients: dict[object, int] = {}
        for key, weight in parts:
            coefficients[key] = coefficients.get(key, 0) + weight
        coefficients[total] = coefficients.get(total, 0) - 1
        self.lines.append(Line(coefficients))

    def solve(self, min_households: int) -> set[object]:
        """Inner cells are hidden before totals, and totals before the grand total.

        Deltas are never small on their own account: they are what two published sides differ
        by; the sides and the reasons are what is protected.
        """
        small = {k for k, v in self.households.items()
                 if 0 < v < min_households and not (isinstance(k, tuple) and k[0] == "delta")}
        return suppress(self.households, self.lines, min_households, exempt=self.exempt, small=small,
                        rank=lambda key: sum(part == ALL for part in key)
                        if isinstance(key, tuple) else 0)


def _grid(table: _Table, tag: str, cells: Mapping[tuple[str, str], Figure]) -> None:
    """One side's cells, and its status, place and grand totals with their lines."""
    by_status: dict[str, list[tuple[str, str]]] = {}
    by_place: dict[str, list[tuple[str, str]]] = {}
    for (status, place), figure in cells.items():
        table.cell((tag, status, place), figure)
        by_status.setdefault(status, []).append((status, place))
        by_place.setdefault(place, []).append((status, place))
    for status, keys in by_status.items():
        table.cell((tag, status, ALL), sum((cells[k] for k in keys), Figure()))
        table.line((tag, status, ALL), [((tag, *k), 1) for k in keys])
    for place, keys in by_place.items():
        table.cell((tag, ALL, place), sum((cells[k] for k in keys), Figure()))
        table.line((tag, ALL, place), [((tag, *k), 1) for k in keys])
    table.cell((tag, ALL, ALL), sum(cells.values(), Figure()))
    table.line((tag, ALL, ALL), [((tag, s, ALL), 1) for s in by_status])
    table.line((tag, ALL, ALL), [((tag, ALL, p), 1) for p in by_place])


@dataclass(frozen=True)
class PublicView:
    result: ViewResult
    min_households: int
    cells: dict[tuple[str, str], Shown]
    by_status: dict[str, Shown]
    by_place: dict[str, Shown]
    total: Shown

    @property
    def suppressed(self) -> int:
        values = [*self.cells.values(), *self.by_status.values(), *self.by_place.values(), self.total]
        return sum(v.suppressed for v in values)


def public_view(result: ViewResult, book: Rulebook, sites: Mapping[str, SiteInfo],
                min_households: int = DEFAULT_MIN_HOUSEHOLDS) -> PublicView:
    cells = {(r.status, r.place): Figure(r.households, r.individuals) for r in result.rows}
    statuses: dict[str, Figure] = {}
    places: dict[str, Figure] = {}
    for (status, place), figure in cells.items():
        statuses[status] = statuses.get(status, Figure()) + figure
        places[place] = places.get(place, Figure()) + figure
    grid = {(place, status): f.households for (status, place), f in cells.items()}
    grid |= {(ALL, status): f.households for status, f in statuses.items()}
    grid |= {(place, ALL): f.households for place, f in places.items()}
    grid[(ALL, ALL)] = sum(f.households for f in cells.values())
    hidden = suppress_grid(grid, min_households, ALL)

    def shown(status: str, place: str, figure: Figure) -> Shown:
        return _shown(figure, (place, status) in hidden)

    return PublicView(
        result, min_households,
        {k: shown(*k, f) for k, f in cells.items()},
        {s: shown(s, ALL, f) for s, f in statuses.items()},
        {p: shown(ALL, p, f) for p, f in places.items()},
        shown(ALL, ALL, sum(cells.values(), Figure())),
    )


@dataclass(frozen=True)
class PublicBridgeRow:
    status: str
    place: str
    left: Shown
    right: Shown
    delta: Shown
    reasons: dict[str, Shown] = field(default_factory=dict)


@dataclass(frozen=True)
class PublicBridge:
    bridge: Bridge
    min_households: int
    rows: tuple[PublicBridgeRow, ...]
    left_total: Shown
    right_total: Shown
    reason_totals: dict[str, Shown]

    @property
    def suppressed(self) -> int:
        values = [self.left_total, self.right_total, *self.reason_totals.values()]
        for row in self.rows:
            values += [row.left, row.right, row.delta, *row.reasons.values()]
        return sum(v.suppressed for v in values)


def public_bridge(bridge: Bridge, left: Rulebook, right: Rulebook, sites: Mapping[str, SiteInfo],
                  min_households: int = DEFAULT_MIN_HOUSEHOLDS) -> PublicBridge:
    """Both sides as public views, and every reason a cell of its row and of its total."""
    table = _Table()
    left_cells = {(r.status, r.place): r.left for r in bridge.rows if r.left != Figure()}
    right_cells = {(r.status, r.place): r.right for r in bridge.rows if r.right != Figure()}
    _grid(table, "left", left_cells)
    _grid(table, "right", right_cells)
    reason_keys: dict[str, list[object]] = {}
    reason_sums: dict[str, Figure] = {}
    for row in bridge.rows:
        parts: list[tuple[object, int]] = []
        for reason, figure in row.reasons.items():
            key = ("reason", reason, row.status, row.place)
            table.cell(key, figure)
            parts.append((key, 1))
            reason_keys.setdefault(reason, []).append(key)
            reason_sums[reason] = reason_sums.get(reason, Figure()) + figure
        # left − right = Σ reasons, with the delta itself published
        delta = ("delta", row.status, row.place)
        table.cell(delta, row.delta)
        sides = [(("left", row.status, row.place), 1)] if row.left != Figure() else []
        sides += [(("right", row.status, row.place), -1)] if row.right != Figure() else []
        table.line(delta, sides)
        table.line(delta, parts)
    for reason, keys in reason_keys.items():
        table.cell(("reason", reason, ALL, ALL), reason_sums[reason])
        table.line(("reason", reason, ALL, ALL), [(k, 1) for k in keys])
    hidden = table.solve(min_households)

    def side(tag: str, row_status: str, row_place: str, figure: Figure) -> Shown:
        if figure == Figure():
            return Shown(0, 0)
        return _shown(figure, (tag, row_status, row_place) in hidden)

    rows = tuple(
        PublicBridgeRow(
            r.status, r.place, side("left", r.status, r.place, r.left),
            side("right", r.status, r.place, r.right),
            _shown(r.delta, ("delta", r.status, r.place) in hidden),
            {reason: _shown(f, ("reason", reason, r.status, r.place) in hidden)
             for reason, f in r.reasons.items()})
        for r in bridge.rows)
    left_grand = sum(left_cells.values(), Figure())
    right_grand = sum(right_cells.values(), Figure())
    return PublicBridge(
        bridge, min_households, rows,
        _shown(left_grand, ("left", ALL, ALL) in hidden),
        _shown(right_grand, ("right", ALL, ALL) in hidden),
        {reason: _shown(f, ("reason", reason, ALL, ALL) in hidden) for reason, f in reason_sums.items()},
    )


__all__ = ["NATIONAL", "PublicBridge", "PublicView", "public_bridge", "public_view", "rule_text"]


def public_view_document(view: PublicView, place_name: Callable[[str], str]) -> dict[str, Any]:
    """The JSON of `views show --public`: the keys of `views show`, suppressed values null."""
    result = view.result
    return {
        "rulebook": result.rulebook, "as_of": result.as_of, "known_at": result.known_at,
        "by": result.level,
        "rows": [{"status": status, "place": place, "place_name": place_name(place), **shown.as_dict()}
                 for (status, place), shown in view.cells.items()],
        "total": view.total.as_dict(),
        "totals": {
            "by_status": [{"status": s, **v.as_dict()} for s, v in view.by_status.items()],
            "by_place": [{"place": p, "place_name": place_name(p), **v.as_dict()}
                         for p, v in view.by_place.items()],
        },
        "public": disclosure(view.min_households, view.suppressed),
        "disclosure": disclosure_record(view.min_households, view.suppressed),
    }


def public_bridge_document(bridge: PublicBridge, place_name: Callable[[str], str]) -> dict[str, Any]:
    raw = bridge.bridge
    return {
        "left": raw.left, "right": raw.right, "as_of": raw.as_of, "known_at": raw.known_at,
        "by": raw.level,
        "rows": [{"status": r.status, "place": r.place, "place_name": place_name(r.place),
                  "left": r.left.as_dict(), "right": r.right.as_dict(), "delta": r.delta.as_dict(),
                  "reasons": [{"reason": k, **v.as_dict()} for k, v in r.reasons.items()]}
                 for r in bridge.rows],
        "totals": {"left": bridge.left_total.as_dict(), "right": bridge.right_total.as_dict(),
                   "reasons": [{"reason": k, **v.as_dict()} for k, v in bridge.reason_totals.items()]},
        "public": disclosure(bridge.min_households, bridge.suppressed),
        "disclosure": disclosure_record(bridge.min_households, bridge.suppressed),
    }


def disclosure(min_households: int, suppressed: int) -> dict[str, object]:
    return {"min_households": min_households, "suppressed": suppressed,
            "rule": rule_text(min_households)}


def disclosure_record(min_households: int, suppressed: int) -> dict[str, object]:
    """The ``disclosure`` key of a public JSON document (beside ``public``, same facts)."""
    return {"public": True, "min_households": min_households, "rule": rule_text(min_households),
            "suppressed_cells": suppressed}


def public_view_export(view: PublicView, place_name: Any, about: list[tuple[str, Any]]) -> Any:
    """``export view --public``: the cells and totals as published, suppressed ones empty."""
    from projections.export import Export, Table  # noqa: PLC0415 - exports only

    result = view.result
    head = (result.rulebook, result.as_of.isoformat(), result.known_at.isoformat(timespec="seconds"))
    columns = ("rulebook", "as_of", "known_at", "status", "place", "place_name", "households",
               "individuals", "suppressed")
    rows = [(*head, status, place, place_name(place), v.households, v.individuals, int(v.suppressed))
            for (status, place), v in view.cells.items()]
    rows += [(*head, status, ALL, "total", v.households, v.individuals, int(v.suppressed))
             for status, v in view.by_status.items()]
    rows += [(*head, ALL, place, place_name(place), v.households, v.individuals, int(v.suppressed))
             for place, v in view.by_place.items()]
    rows.append((*head, ALL, ALL, "total", view.total.households, view.total.individuals,
                 int(view.total.suppressed)))
    about = [*about, ("public", rule_text(view.min_households))]
    return Export(f"{result.rulebook} view by {result.level} (public)",
                  [Table("view", columns, rows)], about)


def public_bridge_export(bridge: PublicBridge, place_name: Any, about: list[tuple[str, Any]]) -> Any:
    """``export reconcile --public``: one row per figure of the bridge, suppressed ones empty."""
    from projections.export import Export, Table  # noqa: PLC0415 - exports only

    raw = bridge.bridge
    head = (raw.left, raw.right, raw.as_of.isoformat(),
            raw.known_at.isoformat(timespec="seconds") if raw.known_at else "")
    columns = ("left_rulebook", "right_rulebook", "as_of", "known_at", "status", "place",
               "place_name", "figure", "households", "individuals", "suppressed")
    rows = []
    for r in bridge.rows:
        parts = [("left", r.left), ("right", r.right), ("delta", r.delta), *r.reasons.items()]
        rows += [(*head, r.status, r.place, place_name(r.place), name, v.households, v.individuals,
                  int(v.suppressed)) for name, v in parts]
    totals = [("left", bridge.left_total), ("right", bridge.right_total), *bridge.reason_totals.items()]
    rows += [(*head, ALL, ALL, "total", name, v.households, v.individuals, int(v.suppressed))
             for name, v in totals]
    about = [*about, ("public", rule_text(bridge.min_households))]
    return Export(f"{raw.left} vs {raw.right} by {raw.level} (public)",
                  [Table("bridge", columns, rows, ("#meta+rulebook+left", "#meta+rulebook+right",
                                                   "#date+asof", "#date+knownat", "#status",
                                                   "#loc+code", "#loc+name", "#meta+figure",
                                                   "#affected+hh", "#affected+ind",
                                                   "#meta+suppressed"))], about)


def render_public(views: tuple[PublicView, PublicView], bridge: PublicBridge, digest: str | None,
                  title: str) -> str:
    """``report --html --public``: the public tables only (no charts: a chart shows every value)."""
    import html  # noqa: PLC0415

    def esc(value: object) -> str:
        return html.escape(str(value))

    def cell(shown: Shown, key: str) -> str:
        value = getattr(shown, key)
        return "<td class='num'>suppressed</td>" if value is None else f"<td class='num'>{value:,}</td>"

    def view_table(view: PublicView) -> str:
        rows = "".join(f"<tr><td>{esc(s)}</td><td>{esc(p)}</td>{cell(v, 'households')}"
                       f"{cell(v, 'individuals')}</tr>" for (s, p), v in view.cells.items())
        rows += "".join(f"<tr><td>total {esc(s)}</td><td></td>{cell(v, 'households')}"
                        f"{cell(v, 'individuals')}</tr>" for s, v in view.by_status.items())
        rows += (f"<tr><td>total</td><td></td>{cell(view.total, 'households')}"
                 f"{cell(view.total, 'individuals')}</tr>")
        return (f"<h2>{esc(view.result.rulebook)} view by {esc(view.result.level)}</h2><table><thead>"
                "<tr><th>status</th><th>place</th><th>households</th><th>individuals</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>")

    raw = bridge.bridge
    reasons = "".join(f"<tr><td>{esc(r)}</td>{cell(v, 'households')}{cell(v, 'individuals')}</tr>"
                      for r, v in bridge.reason_totals.items())
    known = raw.known_at.isoformat(timespec="seconds") if raw.known_at else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>body{{font-family:system-ui,sans-serif;margin:24px}}"
        "table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid "
        "#ddd}td.num{text-align:right}</style></head><body>"
        f"<h1>{esc(title)}</h1><p id='public-rule'>Public figures: "
        f"{esc(rule_text(bridge.min_households))}.</p>"
        f"<p>As of {esc(raw.as_of.isoformat())}, known at {esc(known)}; {esc(raw.left)} vs "
        f"{esc(raw.right)}; ledger digest <code>{esc(digest or '(empty ledger)')}</code></p>"
        f"<h2>Bridge totals</h2><table><thead><tr><th></th><th>households</th><th>individuals</th>"
        f"</tr></thead><tbody><tr><td>{esc(raw.left)}</td>{cell(bridge.left_total, 'households')}"
        f"{cell(bridge.left_total, 'individuals')}</tr>{reasons}<tr><td>{esc(raw.right)}</td>"
        f"{cell(bridge.right_total, 'households')}{cell(bridge.right_total, 'individuals')}</tr>"
        f"</tbody></table>{view_table(views[0])}{view_table(views[1])}</body></html>"
    )


def suppressed_cells(result: ViewResult, book: Rulebook, sites: Mapping[str, SiteInfo],
                     min_households: int) -> set[tuple[str, str]]:
    """The (status, place) cells ``public_view`` hides (what ``publish --public`` records)."""
    view = public_view(result, book, sites, min_households)
    return {cell for cell, shown in view.cells.items() if shown.suppressed}


def recorded_suppression(ws: Any, figure_id: str) -> set[tuple[str, str]]:
    """The cells a published figure's stored fact records as suppressed."""
    from ledger.store.reading import fact_by_source  # noqa: PLC0415

    with ws.db.cursor() as cur:
        fact = fact_by_source(cur, ws.db, figure_id)
    data = fact.data if fact is not None else {}
    return {(str(c["status"]), str(c["place"])) for c in data.get("suppressed") or ()}


def public_figure(published: dict[str, Any], hidden: set[tuple[str, str]],
                  min_households: int) -> dict[str, Any]:
    """A published figure's document as the public saw it: the suppressed cells null."""
    values = []
    for v in published["values"]:
        secret = (v["status"], v["place"]) in hidden
        values.append({"status": v["status"], "place": v["place"],
                       "households": None if secret else v["households"],
                       "individuals": None if secret else v["individuals"], "suppressed": secret})
    return {**published, "values": values,
            "public": disclosure(min_households, len(hidden)),
            "disclosure": disclosure_record(min_households, len(hidden))}
