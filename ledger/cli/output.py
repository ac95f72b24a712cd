"""How the command line speaks: one JSON document with ``--json``, tables for people, errors
on stderr with exit code 1 (bad input) — never a traceback for a user's mistake.

rich is imported when something is printed for people, not when a command starts: a command
that prints JSON never loads it."""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, Protocol, TypeVar

import orjson
import typer

from ledger import logs
from ledger.errors import LedgerError
from ledger.outputs import Kind, OutputPath, check_output, store_files
from ledger.store.failures import failures, store_failure
from ledger.store.settings import StoreSettings

if TYPE_CHECKING:
    from rich.console import Console

    from projections.bridge import Figure

P = ParamSpec("P")
R = TypeVar("R")


@cache
def console() -> Console:
    """stdout, for people."""
    from rich.console import Console  # noqa: PLC0415  (only when people are shown something)

    return Console()


@cache
def err_console() -> Console:
    """stderr: errors, warnings and progress bars."""
    from rich.console import Console  # noqa: PLC0415  (only when people are shown something)

    return Console(stderr=True)


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def print_json(document: Any) -> None:
    sys.stdout.write(orjson.dumps(document, default=_default,
                                  option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
    sys.stdout.write("\n")


def fail(message: str, code: int = 1) -> NoReturn:
    err_console().print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a LedgerError into a one-line message on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except LedgerError as exc:
            logs.info("command_failed", error=type(exc).__name__)
            message = str(exc)
            if exc.field and not message.startswith("field ") and f"'{exc.field}'" not in message:
                message = f"field '{exc.field}': {message}"
            fail(message)
        except failures() as exc:
            translated = store_failure(exc, _store_described())
            if translated is None:
                raise
            logs.info("command_failed", error=type(exc).__name__)
            fail(str(translated))

    return wrapper


def _store_described() -> str:
    try:
        return f"the store ({StoreSettings.from_env().describe()})"
    except LedgerError:
        return "the store"


Force = Annotated[bool, typer.Option(
    "--force", help="Replace an existing file the ledger did not write (or one edited since), and "
    "write through a symbolic link that leads out of the file's folder. The store and the "
    "command's input files are never overwritten.")]


def output_path(path: Path, kind: Kind, *, force: bool = False,
                inputs: Sequence[Path | None] = ()) -> OutputPath:
    """Check a file a command will write, before any work (see ``ledger.outputs``)."""
    store = StoreSettings.from_env()
    protected = [*store_files(store.sqlite_path), *(p for p in inputs if p is not None)]
    return check_output(path, kind, protected=protected, force=force)


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]],
          *, numeric: Sequence[str] = ()) -> None:
    from rich.table import Table  # noqa: PLC0415  (only when people are shown a table)

    t = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        t.add_column(column, justify="right" if column in numeric else "left")
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    console().print(t)


def say(text: str) -> None:
    """A line of rich markup for people on stdout (no highlighting of numbers or names)."""
    console().print(text, highlight=False)


def show_progress(quiet: bool) -> bool:
    return not quiet and err_console().is_terminal


@contextmanager
def progress_bar(description: str, total: int | None, *, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr, only for people at a terminal."""
    if not show_progress(quiet):
        yield lambda _n: None
        return
    from rich.progress import (  # noqa: PLC0415  (only at a terminal)
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console(), transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)


def pair(households: int | None, individuals: int, *, sign: bool = False) -> str:
    """A figure as every command prints it, households / individuals: ``3 / 14`` (with
    ``sign``, a contribution or a change: ``+3 / +14``; households not known: ``- / 14``)."""
    spec = "+," if sign else ","
    return f"{'-' if households is None else format(households, spec)} / {format(individuals, spec)}"


class Counted(Protocol):
    """A figure, a view's row or a total: anything counted in households and individuals."""

    @property
    def households(self) -> int: ...

    @property
    def individuals(self) -> int: ...


def figure_pair(figure: Counted) -> str:
    """A figure: ``3 / 14``."""
    return pair(figure.households, figure.individuals)


def signed(figure: Figure) -> str:
    """A contribution or a change: ``+3 / +14``."""
    return pair(figure.households, figure.individuals, sign=True)


def stamp(moment: dt.datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"
