"""The view table ``view_rulebooks``: user rulebooks added before rulebooks had versions.

One of the view-table modules (docs/sql.md, "Where the SQL lives"): :mod:`projections.views`
creates the table and no longer writes it; :mod:`projections.rulebook_versions` reads it as
each such rulebook's version 1. The read lives here rather than in ``views.py`` because
``views.py`` imports ``rulebook_versions``: a table this small is not worth an import cycle.
"""

from __future__ import annotations

from ledger.store.db import Cursor


def stored_rulebooks(cur: Cursor) -> list[tuple[str, str, str]]:
    """(name, TOML definition, added at) of every rulebook stored before versions existed."""
    rows = cur.execute("SELECT name, definition, added_at FROM view_rulebooks").fetchall()
    return [(str(name), str(definition), str(added_at)) for name, definition, added_at in rows]
