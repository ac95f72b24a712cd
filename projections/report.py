"""``ledger report --html``: one self-contained HTML page with the figures, the bridge and charts.

The page needs no network when it is viewed: plotly.js is embedded inline (``include_plotlyjs=
True`` on the first chart), and every chart after it uses that copy. It states the as-of date,
the known-at time, the rulebooks with their parameters and the ledger digest (the chain hash of
the last fact), so anyone can tell which ledger, rules and moment the figures come from.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from ledger.errors import NotFoundError
from ledger.pcodes import name_of
from ledger.store.db import Database
from ledger.store.reading import fact_count, subjects_of_type
from projections.bridge import Bridge, SiteInfo
from projections.compare import CoverageTable, coverage_tables
from projections.export import ledger_digest, place_name
from projections.fold import COUNTED_STATUSES
from projections.queries import ViewResult, now, reconcile, show, totals
from projections.rounds import RoundReport, round_report
from projections.rulebooks import Rulebook
from projections.views import Views

COLOURS = {"official": "#1f5fa8", "operational": "#e07b1a"}
STATUS_LABELS = {"idp_in_camp": "IDPs in camp", "idp_out_of_camp": "IDPs out of camp",
                 "returnee": "Returnees", "locally_integrated": "Locally integrated"}
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
# The toolbar stands upright in the right margin, clear of the left-aligned title.
MODEBAR = {"orientation": "v", "bgcolor": "rgba(255,255,255,0.6)"}
WATERFALL_PAD = 0.25  # of the span the steps cover, above and below them


@dataclass(frozen=True)
class ReportData:
    as_of: dt.date
    known_at: dt.datetime
    books: tuple[Rulebook, Rulebook]
    digest: str | None
    facts: int
    views: tuple[ViewResult, ViewResult]
    views_adm1: tuple[ViewResult, ViewResult]
    bridge: Bridge
    series: dict[str, dict[str, list[int]]]
    dates: list[dt.date]
    rounds: list[RoundReport]
    sites: dict[str, SiteInfo]
    reported: tuple[CoverageTable, ...] = ()  # figures others published, beside the views


def gather(views: Views, db: Database, *, as_of: dt.date | None = None,
           known_at: dt.datetime | None = None, left: str = "official",
           right: str = "operational", weeks: int = 26, bridge: Bridge | None = None) -> ReportData:
    """Everything the page shows, read from the views at one (D, K) (``bridge``: already made)."""
    as_of = as_of or now().date()
    known_at = known_at or now()
    if bridge is None:
        bridge = reconcile(views, left, right, as_of=as_of, known_at=known_at)
    versions = views.references.versions()  # each rulebook as it stood at K (docs/rulebooks.md)
    books = (versions.at(left, known_at).book, versions.at(right, known_at).book)
    pair = tuple(show(views, b.name, as_of=as_of, known_at=known_at) for b in books)
    pair_adm1 = tuple(show(views, b.name, as_of=as_of, known_at=known_at, level="adm1")
                      for b in books)
    # (the series starts no earlier than 0001-01-01: an as-of in year 1 has a shorter one)
    dates = [as_of - dt.timedelta(weeks=w) for w in range(weeks, -1, -1)
             if as_of.toordinal() > 7 * w]
    series: dict[str, dict[str, list[int]]] = {}
    for book in books:
        by_status: dict[str, list[int]] = {s: [] for s in COUNTED_STATUSES}
        for day in dates:
            result = show(views, book.name, as_of=day, known_at=known_at, level="national")
            found = {r.status: r.individuals for r in result.rows}
            for status in COUNTED_STATUSES:
                by_status[status].append(found.get(status, 0))
        series[book.name] = by_status
    with db.cursor() as cur:
        round_ids = subjects_of_type(cur, "round_planned")
        fact_total = fact_count(cur)
    rounds = []
    for round_id in round_ids:
        try:
            rounds.append(round_report(db, round_id, as_of=as_of, known_at=known_at))
        except NotFoundError:
            continue  # planned after D, or its plan voided: not a round as of D
    return ReportData(as_of, known_at, books, ledger_digest(db), fact_total,
                      (pair[0], pair[1]), (pair_adm1[0], pair_adm1[1]),
                      bridge, series, dates, rounds, views.sites(),
                      tuple(coverage_tables(views, [b.name for b in books], as_of, known_at)))


# ---- charts ------------------------------------------------------------------------------------
def _known(known_at: dt.datetime | None) -> str:
    return known_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if known_at else "now"


def moment_label(as_of: dt.date, known_at: dt.datetime | None) -> str:
    """'as of D · known at K': the two times every chart is read at (K in UTC)."""
    return f"as of {as_of.isoformat()} · known at {_known(known_at)}"


def _layout(fig: go.Figure, title: str, height: int = 420, moment: str | None = None,
            notes: Sequence[str] = ()) -> go.Figure:
    """A short title, then small lines under it: ``notes`` (how to read the chart), the moment.

    Titles stay short enough for a chart in half the page's width, clear of the toolbar in the
    right margin; whatever more a chart must say goes in a note line, and the top margin grows
    by a line for each note so the lines never run into the plot.
    """
    small = [*notes, *([moment] if moment else [])]
    text = "".join([title, *(f"<br><sup>{line}</sup>" for line in small)])
    fig.update_layout(title={"text": text, "x": 0.01, "xanchor": "left"}, height=height,
                      template="plotly_white", modebar=MODEBAR,
                      margin={"l": 60, "r": 48, "t": 80 + 24 * len(notes), "b": 60},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def _waterfall_range(values: Sequence[int], measures: Sequence[str]) -> list[float]:
    """A y range around the levels the waterfall walks through, so small reasons show.

    The axis starts near the figures instead of at zero: on a national bridge the totals are
    tens of thousands and each reason a few hundred, which would be slivers from zero.
    """
    level = 0
    levels: list[int] = []
    for value, measure in zip(values, measures, strict=True):
        if measure == "absolute":
            level = value
            levels.append(level)
        elif measure == "relative":
            levels += [level, level + value]
            level += value
        else:
            levels.append(level)
    low, high = min(levels), max(levels)
    pad = max((high - low) * WATERFALL_PAD, abs(high) * 0.02, 1)
    bottom = low - pad
    if low >= 0:
        bottom = max(bottom, 0)
    return [bottom, high + pad]


def waterfall(bridge: Bridge, unit: str) -> go.Figure:
    """From the left total to the right one by subtracting each reason's contribution.

    Contributions are left − right, as on every surface (terminal, JSON, CSV, XLSX): the text
    on each step is the contribution, the step itself goes down by it (``customdata`` holds the
    contributions), so left − Σ contributions = right. Reasons that move nothing in this unit
    are not drawn; the y axis starts near the figures.
    """
    left, right, reasons = totals(bridge.rows)

    def value(fig: Any) -> int:
        return int(fig.households if unit == "households" else fig.individuals)

    moving = {name: fig for name, fig in reasons.items() if value(fig) != 0}
    contributions = [value(f) for f in moving.values()]
    names = [bridge.left, *(f"− {r.replace('_', ' ')}" for r in moving), bridge.right]
    values = [value(left), *(-c for c in contributions), value(right)]
    measures = ["absolute", *["relative"] * len(moving), "total"]
    fig = go.Figure(go.Waterfall(
        x=names, y=values, customdata=[None, *contributions, None],
        measure=measures,
        text=[f"{value(left):,}", *(f"{c:+,}" for c in contributions), f"{value(right):,}"],
        textposition="outside", cliponaxis=False,
        hovertemplate="%{x}: %{text}<extra></extra>",
        connector={"line": {"color": "#999"}},
        increasing={"marker": {"color": "#e07b1a"}}, decreasing={"marker": {"color": "#6a8caf"}},
        totals={"marker": {"color": "#1f5fa8"}},
    ))
    fig.update_yaxes(title=unit, range=_waterfall_range(values, measures))
    fig.update_xaxes(tickangle=-30, automargin=True)
    # The title names the two figures; the sign convention is a note line under it (a title
    # that said it all ran past half the page's width and under the toolbar).
    sign = [f"each reason's contribution is {bridge.left} − {bridge.right}; each step subtracts it:",
            f"{bridge.left} − Σ contributions = {bridge.right}"]
    return _layout(fig, f"From {bridge.left} to {bridge.right}, in {unit}", 480,
                   moment=moment_label(bridge.as_of, bridge.known_at), notes=sign)


def by_governorate(views_adm1: Sequence[ViewResult]) -> go.Figure:
    fig = go.Figure()
    for result in views_adm1:
        fig.add_bar(
            name=result.rulebook, marker_color=COLOURS.get(result.rulebook),
            x=[[STATUS_LABELS[r.status] for r in result.rows], [name_of(r.place) for r in result.rows]],
            y=[r.individuals for r in result.rows],
            customdata=[r.households for r in result.rows],
            hovertemplate="%{x}<br>%{y:,} individuals, %{customdata:,} households",
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="individuals")
    first = views_adm1[0] if views_adm1 else None
    return _layout(fig, "Both views by governorate (camps reported under each rulebook's "
                        "site attribution)", 460,
                   moment_label(first.as_of, first.known_at) if first else None)


def by_camp(views: Sequence[ViewResult], sites: Mapping[str, SiteInfo]) -> go.Figure:
    fig = go.Figure()
    camps = sorted({r.place for v in views for r in v.rows if r.status == "idp_in_camp"},
                   key=lambda s: place_name(s, sites))
    for result in views:
        found = {r.place: r for r in result.rows if r.status == "idp_in_camp"}
        fig.add_bar(name=result.rulebook, marker_color=COLOURS.get(result.rulebook),
                    y=[place_name(c, sites) for c in camps], orientation="h",
                    x=[found[c].individuals if c in found else 0 for c in camps],
                    customdata=[found[c].households if c in found else 0 for c in camps],
                    hovertemplate="%{y}: %{x:,} individuals, %{customdata:,} households")
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="individuals in camp")
    first = views[0] if views else None
    return _layout(fig, "IDPs in camp, camp by camp", max(420, 60 * len(camps)),
                   moment_label(first.as_of, first.known_at) if first else None)


def over_time(data: ReportData) -> go.Figure:
    fig = go.Figure()
    for book, by_status in data.series.items():
        for status, values in by_status.items():
            if not any(values):
                continue
            fig.add_scatter(x=[d.isoformat() for d in data.dates], y=values, mode="lines+markers",
                            name=f"{book}: {STATUS_LABELS[status]}",
                            line={"color": _status_colour(status),
                                  "dash": "solid" if book == data.books[0].name else "dash"})
    fig.update_yaxes(title="individuals")
    return _layout(fig, f"Population by status over time (solid: {data.books[0].name}, dashed: "
                        f"{data.books[1].name})", 460,
                   f"weekly, as of each date to {data.as_of.isoformat()} · known at "
                   f"{_known(data.known_at)}")


def _status_colour(status: str) -> str:
    return {"idp_in_camp": "#1f5fa8", "idp_out_of_camp": "#7a4fa3", "returnee": "#2e9e5b",
            "locally_integrated": "#c0392b"}[status]


def round_funnel(rounds: Sequence[RoundReport], moment: str | None = None) -> go.Figure:
    moved = [r for r in rounds if r.departed or r.closed]
    stages = ["manifested", "departed", "re-entered"]
    fig = go.Figure(go.Funnel(
        y=stages, x=[sum(r.manifested for r in moved), sum(r.departed for r in moved),
                     sum(r.reentered for r in moved)],
        textinfo="value+percent initial", marker={"color": ["#1f5fa8", "#2e9e5b", "#c0392b"]},
    ))
    return _layout(fig, f"FVM rounds that moved ({len(moved)}): manifested → departed → "
                        "back in camp", 360, moment)


def rounds_chart(rounds: Sequence[RoundReport], moment: str | None = None) -> go.Figure:
    """One horizontal bar per round: its id on its own line, so no two labels can overlap."""
    fig = go.Figure()
    ids = [r.round_id for r in rounds]
    for label, key, colour in (("departed with letter", "departed_with_letter", "#2e9e5b"),
                               ("departed without letter", "departed_without_letter", "#f1c40f"),
                               ("withdrawn", "withdrawn", "#95a5a6"),
                               ("pending", "pending", "#6a8caf")):
        fig.add_bar(name=label, y=ids, x=[getattr(r, key) for r in rounds], marker_color=colour,
                    orientation="h")
    fig.add_scatter(name="back in camp", y=ids, x=[r.reentered for r in rounds], mode="markers",
                    marker={"color": "#c0392b", "size": 11, "symbol": "diamond"})
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title="households")
    fig.update_yaxes(type="category", autorange="reversed", automargin=True)
    return _layout(fig, "Every round: who departed, who withdrew, who is still waiting",
                   max(420, 150 + 26 * len(rounds)), moment)


# ---- page --------------------------------------------------------------------------------------
def _esc(value: Any) -> str:
    return html.escape(str(value))


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]], numeric: int = 0) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(
            f"<td class='num'>{v:,}</td>" if isinstance(v, int) and i >= len(columns) - numeric
            else f"<td>{_esc(v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(fig: go.Figure, first: bool, div_id: str) -> str:
    return str(fig.to_html(full_html=False, include_plotlyjs=first,
                           config=PLOTLY_CONFIG, div_id=div_id))


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2733;
background:#f5f7fa}header{background:#1f3a5f;color:#fff;padding:20px 32px}
header h1{margin:0 0 6px;font-size:24px}main{padding:16px 32px;max-width:1400px}
section{background:#fff;border-radius:6px;padding:16px 20px;margin:16px 0;
box-shadow:0 1px 3px rgba(0,0,0,.08)}h2{font-size:18px;margin:4px 0 12px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media(max-width:1000px){.grid{grid-template-columns:1fr}}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{padding:4px 10px;
border-bottom:1px solid #e3e7ed;text-align:left}td.num{text-align:right;font-variant-numeric:
tabular-nums}dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dt{font-weight:600}code{font-size:12px;word-break:break-all}.note{color:#5b6875;font-size:13px}
"""


def reported_section(data: ReportData) -> str:
    """Figures others published (DTM, MoMD, ...) beside the ledger's, with coverage by governorate."""
    if not data.reported:
        return ""
    names = [b.name for b in data.books]
    parts = ["<section id='reported'><h2>Figures from outside, beside the ledger's</h2><p class='note'>"
             "Each published figure (status idp: in and out of camp) beside the ledger's under both "
             "rulebooks, individuals, and the coverage (ledger ÷ reported). A source's camps are "
             "grouped by governorate as each rulebook groups its own (authority or location). "
             "`ledger compare` explains each gap by reason, with an explicit remainder.</p>"]
    for found in data.reported:
        rows = []
        for row in found.rows:
            cells: list[Any] = [row.status, "Iraq" if row.place == "IRQ" else name_of(row.place)]
            for name in names:
                if name not in row.ledger:
                    cells += ["-", "-", "-"]
                    continue
                coverage = row.coverage(name)
                cells += [row.reported[name].individuals, row.ledger[name].individuals,
                          "-" if coverage is None else f"{coverage:.1%}"]
            rows.append(cells)
        columns = ["status", "place"]
        for name in names:
            columns += [f"reported ({name}'s grouping)", f"{name}", f"coverage ({name})"]
        parts.append(f"<h3>{_esc(found.source)}: {_esc(found.dataset)} (as of "
                     f"{found.as_of.isoformat()})</h3>" + _table(columns, rows))
    return "".join(parts) + "</section>"


def render(data: ReportData, title: str = "Movement Ledger report") -> str:
    left_book, right_book = data.books
    left, right, reasons = totals(data.bridge.rows)
    moment = moment_label(data.as_of, data.known_at)
    charts = [
        ("Reconciliation bridge", [waterfall(data.bridge, "individuals"),
                                   waterfall(data.bridge, "households")],
         f"Every gap between the {left_book.name} and {right_book.name} figures is explained "
         "household by household; the reasons add up exactly to the difference."),
        ("Both views by governorate and camp", [by_governorate(data.views_adm1),
                                                by_camp(data.views, data.sites)], ""),
        ("Population by status over time", [over_time(data)],
         "Weekly, as of each date, with what the ledger knew at the known-at time."),
        ("FVM departure rounds", [round_funnel(data.rounds, moment),
                                  rounds_chart(data.rounds, moment)], ""),
    ]
    parts = []
    n = 0
    for heading, figures, note in charts:
        inner = []
        for fig in figures:
            inner.append(f"<div class='chart'>{_chart(fig, n == 0, f'chart-{n}')}</div>")
            n += 1
        grid = "grid" if len(figures) > 1 and heading != "Both views by governorate and camp" else ""
        parts.append(f"<section><h2>{_esc(heading)}</h2>"
                     + (f"<p class='note'>{_esc(note)}</p>" if note else "")
                     + f"<div class='{grid}'>{''.join(inner)}</div></section>")
    bridge_rows = [[left_book.name, left.households, left.individuals]]
    bridge_rows += [["− " + reason.replace("_", " "), fig.households, fig.individuals]
                    for reason, fig in reasons.items()]
    bridge_rows.append([right_book.name, right.households, right.individuals])
    books_rows = [[b.name, b.description, b.registry, b.caseload_start.isoformat(),
                   b.departures_move, str(b.reentry_counts).lower(),
                   str(b.returnee_registration_counts).lower(), b.site_attribution]
                  for b in data.books]
    rounds_rows = [[r.round_id, ", ".join(r.from_site_ids),
                    ", ".join(name_of(p) for p in r.destination_pcodes),
                    r.planned_on.isoformat() if r.planned_on else "", r.manifested, r.withdrawn,
                    r.departed, r.departed_without_letter, r.reentered, r.pending]
                   for r in data.rounds]
    view_rows = []
    for result in data.views_adm1:
        view_rows += [[result.rulebook, STATUS_LABELS[r.status], name_of(r.place), r.households,
                       r.individuals] for r in result.rows]
    known = data.known_at.astimezone(dt.UTC).isoformat(timespec="seconds")
    about = (
        "<dl>"
        f"<dt>As of</dt><dd>{_esc(data.as_of.isoformat())} (facts that had happened by then)</dd>"
        f"<dt>Known at</dt><dd>{_esc(known)} (facts the ledger had recorded by then)</dd>"
        f"<dt>Rulebooks</dt><dd>{_esc(left_book.name)} version {data.views[0].version} vs "
        f"{_esc(right_book.name)} version {data.views[1].version}</dd>"
        f"<dt>Ledger digest</dt><dd><code id='ledger-digest'>{_esc(data.digest or '(empty ledger)')}"
        f"</code> over {data.facts:,} facts</dd></dl>"
    )
    tables = (
        "<section><h2>The figures</h2><div class='grid'><div><h3>Bridge totals</h3>"
        + _table(["", "households", "individuals"], bridge_rows, 2)
        + "</div><div><h3>Both views by governorate</h3>"
        + _table(["rulebook", "status", "governorate", "households", "individuals"], view_rows, 2)
        + "</div></div><h3>Rulebooks</h3>"
        + _table(["name", "description", "registry", "caseload since", "departures move",
                  "re-entry counts", "returnee registration counts", "camps reported under"],
                 books_rows)
        + "<h3>FVM rounds</h3>"
        + _table(["round", "from", "to", "departure date", "manifested", "withdrawn", "departed",
                  "of which without letter", "back in camp", "pending"], rounds_rows, 6)
        + "</section>"
        + reported_section(data)
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_esc(title)}"
        f"</title><style>{CSS}</style></head><body><header><h1>{_esc(title)}</h1>{about}</header>"
        f"<main>{''.join(parts[:1])}{tables}{''.join(parts[1:])}"
        "<p class='note'>Made by the Movement Ledger (`ledger report --html`). Charts by plotly, "
        "embedded in this file: no network is needed to view it.</p></main></body></html>"
    )


def place_bridge_section(bridge: Bridge, place: str, name: str) -> str:
    """The bridge of one place (``ledger report --place``): each row with its reasons.

    The national bridge hides the largest per-camp reasons (they offset across camps), so the
    page can show one camp's, district's or governorate's rows and totals. Contributions are
    left − right, as everywhere.
    """
    rows = []
    for row in bridge.rows:
        rows.append([row.status, row.place, row.left.households, row.left.individuals,
                     row.right.households, row.right.individuals, row.delta.households,
                     row.delta.individuals])
        rows += [["", "− " + reason.replace("_", " "), "", "", "", "", fig.households,
                  fig.individuals] for reason, fig in row.reasons.items()]
    return (f"<section id='place-bridge'><h2>Bridge for {_esc(name)} ({_esc(place)})</h2>"
            f"<p class='note'>{_esc(bridge.left)} vs {_esc(bridge.right)} by {bridge.level}; "
            f"each reason's contribution is {_esc(bridge.left)} − {_esc(bridge.right)}.</p>"
            + _table(["status", "place / reason", f"{bridge.left} households",
                      f"{bridge.left} individuals", f"{bridge.right} households",
                      f"{bridge.right} individuals", "delta households", "delta individuals"],
                     rows, 6)
            + "</section>")
