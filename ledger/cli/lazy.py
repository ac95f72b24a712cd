"""A command group whose sub-commands are imported when one of them runs, not when it starts.

click builds the whole command tree before it parses a word: every module of every command,
and what they import (the write side, the read side, pydantic, psycopg, rich...), would load
for `ledger --help`. Here the group knows each sub-command by name, with the first paragraph of
its help for the group's own help page, and imports its module (``module:attribute``, a
``typer.Typer`` or a command function) the first time it is looked up to run or to show its own
help. A test holds each summary to the command's help.

Help is click's plain text, not typer's rich panels (``rich_markup_mode=None`` on the ``ledger``
app, handed down to every group loaded here): rendering rich panels imported some 90 ms of rich
and markdown and took 70 ms more, over half of `ledger --help`, and squeezed each option's text into a
narrow boxed column. Plain help wraps to the terminal and reads the same in a pipe or a screen
reader. A group lists each command with its help's whole first paragraph
(:func:`whole_summaries`), where click would cut it at 45 characters.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandInfo, TyperInfo


@dataclass(frozen=True)
class Lazy:
    target: str  # "module:attribute": a typer.Typer (a group) or a command function
    summary: str  # the first paragraph of its help, as the group's help lists it


class _Summary(TyperCommand):
    """A sub-command not loaded yet: its name and summary, for the group's help page."""


class LazyGroup(TyperGroup):
    lazy: ClassVar[Mapping[str, Lazy]] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._summarising = False
        for name, entry in self.lazy.items():
            self.commands.setdefault(name, _Summary(name=name, help=entry.summary))
        whole_summaries(self)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = self.commands.get(cmd_name)
        if isinstance(command, _Summary) and not self._summarising:
            command = self.commands[cmd_name] = self._load(cmd_name)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._summarising = True  # the help page lists the summaries; nothing is imported
        try:
            super().format_help(ctx, formatter)
        finally:
            self._summarising = False

    def _load(self, name: str) -> Any:
        module, _, attribute = self.lazy[name].target.partition(":")
        found = getattr(importlib.import_module(module), attribute)
        # As `Typer.add_typer(found, name=...)` and `Typer.command(name)(found)` build them.
        command: Any
        if isinstance(found, typer.Typer):
            command = typer.main.get_group_from_info(
                TyperInfo(found, name=name), pretty_exceptions_short=True,
                rich_markup_mode=self.rich_markup_mode, suggest_commands=self.suggest_commands)
        else:
            command = typer.main.get_command_from_info(
                CommandInfo(name=name, callback=found), pretty_exceptions_short=True,
                rich_markup_mode=self.rich_markup_mode)
        return whole_summaries(command)


def _first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


def whole_summaries(command: Any) -> Any:
    """``command``, and every command under it, listed in its group's help by the whole first
    paragraph of its help rather than the first 45 characters (the listing wraps it)."""
    if not command.short_help and command.help:
        command.short_help = _first_paragraph(command.help)
    for sub in getattr(command, "commands", {}).values():
        whole_summaries(sub)
    return command
