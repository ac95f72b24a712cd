"""The `ledger` command run in-process (typer's CliRunner): the same app as the script, without a
Python start-up per call, for tests that run it many times.

typer's runner rebuilds the click command from the app on every call (nine tenths of a call's
time); the command is built once here and invoked through the same runner."""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import typer
import typer.testing
from typer.testing import CliRunner

from ledger.cli.main import app


@cache
def _command() -> Any:
    return typer.main.get_command(app)


def command_tree() -> dict[tuple[str, ...], Any]:
    """Every command and group of the app by its path (``()``: ``ledger`` itself), looked up as
    click does (``list_commands``/``get_command``: the groups load their commands lazily)."""
    root = _command()
    found: dict[tuple[str, ...], Any] = {}

    def walk(command: Any, path: tuple[str, ...], parent: Any) -> None:
        found[path] = command
        if not hasattr(command, "list_commands"):
            return
        ctx = typer.Context(command, info_name=path[-1] if path else "ledger", parent=parent)
        for name in command.list_commands(ctx):
            walk(command.get_command(ctx, name), (*path, name), ctx)

    walk(root, (), None)
    return found


@dataclass(frozen=True)
class Ran:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_ledger(url: str, *args: str | Path, env: dict[str, str] | None = None) -> Ran:
    """Run `ledger ARGS` on the store at ``url``; an exception that escaped the app is kept."""
    argv = tuple(str(a) for a in args)
    with mock.patch.object(typer.testing, "_get_command", return_value=_command()):
        result = CliRunner().invoke(app, list(argv),
                                    env={"LEDGER_DATABASE_URL": url, **(env or {})},
                                    catch_exceptions=True)
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    stderr = result.stderr
    if escaped is not None and result.exc_info is not None:
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return Ran(argv, result.exit_code, result.stdout, stderr, escaped)


class Ledger:
    """`ledger ...` on one store, checked for escaped exceptions on every call."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, *args: str | Path, env: dict[str, str] | None = None) -> Ran:
        ran = run_ledger(self.url, *args, env=env)
        assert ran.exception is None, f"`ledger {' '.join(ran.args)}` raised:\n{ran.stderr}"
        assert "Traceback" not in ran.stderr + ran.stdout, ran.stderr
        return ran

    def ok(self, *args: str | Path) -> Ran:
        ran = self(*args)
        assert ran.code == 0, f"`ledger {' '.join(ran.args)}` exited {ran.code}: {ran.stderr}"
        return ran
