"""Files the ledger writes (exports, reports, audit CSVs, rejects files), written safely.

Every command that writes a file checks its path before any work, with ``check_output``:

* the folder must exist (one message, before anything is recorded or computed);
* the output may never be the store file (or its ``-wal``/``-shm``/``-journal`` files) or a file
  the same command reads, whatever ``--force`` says;
* a symbolic link is followed only to a file in the same folder; one that leads out of the
  folder is refused unless ``--force`` is given;
* an existing file is replaced only when it is a previous output of the same kind, unless
  ``--force`` is given.

*A previous output* is recognised by a manifest the ledger keeps beside its outputs: a hidden
file ``.ledger-outputs.json`` in each folder it writes to, holding for every file it wrote the
file's kind (``export``, ``report``, ``audit``, ``rejects``) and the SHA-256 of what it wrote.
A file whose name is listed with the same kind and whose content is still what the ledger wrote
is replaced without asking; a file the ledger did not write, or one edited since (a corrected
rejects file, a spreadsheet saved by Excel), is kept unless ``--force`` is given. Rejects files
not listed in the manifest (written before it existed) are recognised by their first bytes (a ``_line,_error``
header, or JSON lines with ``line``, ``error`` and ``record`` keys).

Writing goes through ``staged``: the writer writes into a fresh hidden folder beside the
target, and only when it has finished are its files renamed into place (``os.replace``, atomic
within one file system). A crash or an error leaves the previous file as it was and no partial
one; renaming never writes through a link onto another file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import orjson

from ledger.errors import LedgerError

Kind = Literal["export", "report", "audit", "rejects"]
MANIFEST = ".ledger-outputs.json"
STORE_SUFFIXES = ("", "-wal", "-shm", "-journal")
DESCRIBED: dict[str, str] = {
    "export": "an export", "report": "a report", "audit": "an audit CSV", "rejects": "a rejects file",
}


class OutputPathError(LedgerError):
    """An output path that would destroy data or cannot be written."""


@dataclass(frozen=True)
class OutputPath:
    """A checked output: the path as given, and the file that will be replaced."""

    requested: Path
    target: Path
    kind: Kind
    force: bool = False
    protected: tuple[Path, ...] = ()


def store_files(sqlite_path: Path | None) -> list[Path]:
    """The files of a SQLite store, none of which may be overwritten by an output."""
    if sqlite_path is None:
        return []
    return [sqlite_path.with_name(sqlite_path.name + suffix) for suffix in STORE_SUFFIXES]


def check_output(path: Path, kind: Kind, *, protected: Sequence[Path] = (),
                 force: bool = False) -> OutputPath:
    """Check an output path before any work; raises ``OutputPathError`` saying what to do."""
    requested = Path(os.path.abspath(path))  # the path as given is kept for messages
    folder = requested.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputPathError(f"cannot write {path}: the folder {folder} {what}; create it first "
                              "or choose another path")
    if requested.is_dir():
        raise OutputPathError(f"cannot write {path}: it is a folder; give a file name")
    if requested.name == MANIFEST:
        raise OutputPathError(f"cannot write {path}: the ledger keeps its list of outputs there")
    target = requested
    if requested.is_symlink():
        resolved = requested.resolve()
        if resolved.parent != folder.resolve() and not force:
            raise OutputPathError(
                f"cannot write {path}: it is a symbolic link to {resolved}, outside its folder; "
                "give that path itself, or --force to write through the link")
        target = resolved
    checked = tuple(Path(os.path.abspath(p)) for p in protected)
    _refuse_protected(path, target, checked)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {path}: no permission to write in {folder}")
    if target.exists() and not force and not is_previous_output(target, kind):
        raise OutputPathError(
            f"{path} exists and is not {DESCRIBED[kind]} the ledger wrote (or was changed since); "
            "choose another name, or --force to replace it")
    return OutputPath(path, target, kind, force, checked)


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _refuse_protected(path: Path, target: Path, protected: Iterable[Path]) -> None:
    for other in protected:
        if _same_file(target, other):
            raise OutputPathError(
                f"cannot write {path}: it is {other.name}, which this command reads (the store "
                "or an input); choose another name")


# ---- recognising previous outputs ------------------------------------------------------------
def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _read_manifest(folder: Path) -> dict[str, dict[str, str]]:
    try:
        data = orjson.loads((folder / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _listed(path: Path, kind: Kind) -> bool | None:
    """Whether the manifest lists ``path`` as ``kind`` with its current content; None when the
    manifest does not list it at all."""
    entry = _read_manifest(path.parent).get(path.name)
    if not isinstance(entry, dict):
        return None
    try:
        return entry.get("kind") == kind and entry.get("sha256") == _digest(path)
    except OSError:
        return False


def is_previous_output(path: Path, kind: Kind) -> bool:
    """Whether ``path`` is a file the ledger wrote as ``kind`` and nobody changed since."""
    listed = _listed(path, kind)
    if listed is not None:
        return listed
    # Not listed: a rejects file from before the manifest is still known by its first bytes.
    return kind == "rejects" and _looks_like_rejects(path)


def _looks_like_rejects(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    first = head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].strip()
    if path.suffix.lower() == ".jsonl":
        try:
            line = orjson.loads(first)
        except orjson.JSONDecodeError:
            return False
        return isinstance(line, dict) and {"line", "error", "record"} <= set(line)
    if path.suffix.lower() == ".csv":
        cells = first.replace(b";", b",").replace(b"\t", b",").split(b",")
        return cells[:2] == [b"_line", b"_error"]
    return False


@contextlib.contextmanager
def _locked_manifest(folder: Path) -> Iterator[dict[str, dict[str, str]]]:
    """The folder's manifest, locked against another ledger process writing beside us."""
    with (folder / MANIFEST).open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        try:
            manifest = orjson.loads(handle.read() or b"{}")
        except orjson.JSONDecodeError:
            manifest = {}
        if not isinstance(manifest, dict):
            manifest = {}
        yield manifest
        handle.seek(0)
        handle.truncate()
        handle.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def _remember(written: Iterable[tuple[Path, Kind]]) -> None:
    by_folder: dict[Path, list[tuple[Path, Kind]]] = {}
    for path, kind in written:
        by_folder.setdefault(path.parent, []).append((path, kind))
    for folder, files in by_folder.items():
        with _locked_manifest(folder) as manifest:
            for path, kind in files:
                manifest[path.name] = {"kind": kind, "sha256": _digest(path)}


# ---- writing -----------------------------------------------------------------------------------
@dataclass
class Stage:
    """Where a writer writes: ``path`` in a hidden folder beside the target. Files the writer
    puts beside ``path`` (an export's other tables) are published with it."""

    output: OutputPath
    path: Path
    published: list[Path] = field(default_factory=list)
    discarded: bool = False  # set by a writer that gives up: nothing is published

    def discard(self) -> None:
        self.discarded = True


@contextlib.contextmanager
def staged(output: OutputPath) -> Iterator[Stage]:
    """Write an output into a temporary folder beside it, then rename every file into place."""
    folder = output.target.parent
    try:
        scratch = Path(tempfile.mkdtemp(prefix=".ledger-writing-", dir=folder))
    except OSError as exc:
        raise OutputPathError(f"cannot write {output.requested}: {exc.strerror}") from None
    stage = Stage(output, scratch / output.target.name)
    try:
        yield stage
        if not stage.discarded:
            stage.published = _publish(output, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _publish(output: OutputPath, scratch: Path) -> list[Path]:
    moves: list[tuple[Path, Path]] = []
    for written in sorted(scratch.iterdir()):
        if written.name == output.target.name:
            moves.insert(0, (written, output.target))
            continue
        # A file beside the main one: checked like it, now that its name is known.
        beside = check_output(output.requested.with_name(written.name), output.kind,
                              protected=output.protected, force=output.force)
        moves.append((written, beside.target))
    for source, destination in moves:
        os.replace(source, destination)
    _remember((destination, output.kind) for _, destination in moves)
    return [destination for _, destination in moves]


def remove_stale(output: OutputPath) -> bool:
    """Remove a previous output that a re-run no longer produces (a rejects file when no record
    was rejected this time). Only a file the manifest proves the ledger wrote, unchanged since,
    is removed: one merely shaped like a rejects file may be a person's corrected copy."""
    target = output.target
    if not target.exists() or not _listed(target, output.kind):
        return False
    target.unlink()
    with contextlib.suppress(OSError), _locked_manifest(target.parent) as manifest:
        manifest.pop(target.name, None)
    return True
