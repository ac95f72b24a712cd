"""``GET /report``: ``ledger report``'s page, live, with selectors that reload it.

The page is the CLI's (``projections.report.gather`` and ``render``) with a form under its
header: as-of date, known-at time, the two rulebooks and a place. Changing any of them reloads
the page with the new query. A chosen place adds a table of both rulebooks' figures there
(``views show --place``) above the charts; the rest of the page is unchanged.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence

from projections.bridge import SiteInfo
from projections.queries import ViewResult
from projections.report import ReportData

AUTOSUBMIT = "this.form.submit()"


def _options(values: Sequence[tuple[str, str]], chosen: str) -> str:
    return "".join(f"<option value='{html.escape(v)}'{' selected' if v == chosen else ''}>"
                   f"{html.escape(label)}</option>" for v, label in values)


def selectors(data: ReportData, books: Sequence[str], sites: Mapping[str, SiteInfo],
              place: str | None, token: str | None, known_at_given: str | None) -> str:
    left, right = data.books[0].name, data.books[1].name
    book_options = [(b, b) for b in books]
    place_options = [("", "(all places)")] + [(s, f"{info.name} ({s})")
                                              for s, info in sorted(sites.items())]
    hidden = (f"<input type='hidden' name='token' value='{html.escape(token)}'>" if token else "")
    return (
        "<form id='selectors' method='get' action='/report' style='display:flex;gap:16px;"
        "flex-wrap:wrap;align-items:end;padding:12px 32px;background:#e8edf3'>"
        f"{hidden}"
        "<label>As of<br><input type='date' id='as_of' name='as_of' "
        f"value='{data.as_of.isoformat()}' onchange='{AUTOSUBMIT}'></label>"
        "<label>Known at (ISO 8601, UTC offset; empty: now)<br><input type='text' id='known_at' "
        f"name='known_at' size='28' value='{html.escape(known_at_given or '')}' "
        f"onchange='{AUTOSUBMIT}'></label>"
        f"<label>Left<br><select id='left' name='left' onchange='{AUTOSUBMIT}'>"
        f"{_options(book_options, left)}</select></label>"
        f"<label>Right<br><select id='right' name='right' onchange='{AUTOSUBMIT}'>"
        f"{_options(book_options, right)}</select></label>"
        f"<label>Place<br><select id='place' name='place' onchange='{AUTOSUBMIT}'>"
        f"{_options(place_options, place or '')}</select></label>"
        "<noscript><button type='submit'>Show</button></noscript></form>"
    )


def headline(data: ReportData) -> str:
    """Both rulebooks' totals, with ids a reader (or a browser test) can find."""
    cells = "".join(
        f"<div><b>{html.escape(v.rulebook)}</b>: <span id='total-{i}-households'>"
        f"{v.total.households:,}</span> households / <span id='total-{i}-individuals'>"
        f"{v.total.individuals:,}</span> individuals</div>"
        for i, v in enumerate(data.views))
    return (f"<section id='headline' style='padding:8px 32px;display:flex;gap:32px'>{cells}"
            f"<div class='note'>as of {data.as_of.isoformat()}, known at "
            f"{data.known_at.astimezone(dt.UTC).isoformat(timespec='seconds')}</div></section>")


def place_table(results: Sequence[ViewResult], place: str, sites: Mapping[str, SiteInfo]) -> str:
    name = sites[place].name if place in sites else place
    rows = "".join(
        f"<tr><td>{html.escape(r.rulebook)}</td><td>{html.escape(row.status)}</td>"
        f"<td class='num'>{row.households:,}</td><td class='num'>{row.individuals:,}</td></tr>"
        for r in results for row in r.rows)
    return (f"<section id='place-figures' style='padding:0 32px'><h2>{html.escape(name)}</h2>"
            "<table><tr><th>rulebook</th><th>status</th><th>households</th><th>individuals</th></tr>"
            f"{rows or '<tr><td colspan=4>nothing counted here</td></tr>'}</table></section>")


def with_selectors(page: str, extra: str) -> str:
    marker = "</header>"
    at = page.find(marker)
    if at < 0:
        return page
    at += len(marker)
    return page[:at] + extra + page[at:]
