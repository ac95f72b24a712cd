"""Adding a rulebook to a store: a recorded, versioned ``rulebook_defined`` fact (docs/rulebooks.md),
then the views and the analysts' SQL views brought up to it."""

from __future__ import annotations

from collections.abc import Callable

from ledger.catalogue import parse_fact
from ledger.errors import RulebookError
from ledger.workspace import Workspace
from projections.queries import now
from projections.rulebook_versions import RulebookVersion, text_digest
from projections.rulebooks import BUILTIN_NAMES, parse_rulebook
from projections.sqlviews import refresh_analyst_rulebooks


def define_rulebook(ws: Workspace, text: str, source: str, *, new_version: bool,
                    recorded_by: str | None) -> RulebookVersion:
    """Record a ``rulebook_defined`` fact: version 1 of a new name, or (``new_version``) the
    next version of an existing one. Views are reprojected by the caller's catch-up."""
    book = parse_rulebook(text, source)
    if book.name in BUILTIN_NAMES:
        raise RulebookError(f"{source}: {book.name!r} is a built-in rulebook (version 1 ships "
                            "with the product); choose another name")
    versions = ws.views.references.versions().by_name.get(book.name, ())
    if versions and not new_version:
        raise RulebookError(
            f"{source}: rulebook {book.name!r} exists (version {versions[-1].version}); give "
            f"--new-version to record version {versions[-1].version + 1}, or choose another name")
    if versions and versions[-1].digest == text_digest(text):
        raise RulebookError(f"{source}: identical to version {versions[-1].version} of "
                            f"{book.name!r}; nothing to record")
    version = versions[-1].version + 1 if versions else 1
    ws.ledger.record(parse_fact({
        "type": "rulebook_defined", "source_id": f"rulebook/{book.name}/v{version}",
        "effective_on": now().date().isoformat(), "recorded_by": recorded_by,
        "source_document": source[-500:], "rulebook": book.name, "version": version,
        "definition": text, "digest": text_digest(text),
    }, internal=True))
    return ws.views.references.versions().get(book.name, version)


def add_rulebook(ws: Workspace, text: str, source: str, *, new_version: bool,
                 recorded_by: str | None,
                 progress: Callable[[int], None] | None = None) -> RulebookVersion:
    """Define the rulebook, project every household with it, and give the analysts' SQL views
    its parameters."""
    defined = define_rulebook(ws, text, source, new_version=new_version, recorded_by=recorded_by)
    ws.views.catch_up(progress=progress)
    refresh_analyst_rulebooks(ws.db)
    return defined
