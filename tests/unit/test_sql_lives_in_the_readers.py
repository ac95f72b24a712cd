"""All SQL sits behind the two readers (issue 12, docs/sql.md "Where the SQL lives"): the store
(``ledger/store/``) and the view-table modules of ``projections``. Every other module of the
read side, and the CLI, asks them in Python; ruff's S608 catches SQL built from strings, this
test also catches SQL written out whole (a literal ``"SELECT ... FROM ledger_facts"``) and a
cursor driven directly."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VIEW_TABLE_MODULES = {"views.py", "viewrows.py", "rebuild.py", "sqlviews.py", "digest.py", "viewcheck.py",
                      "stored_rulebooks.py"}
# SQL as this code base writes it, keywords in capitals (so English help text never matches).
SQL_TEXT = re.compile(r"(?s)\bSELECT\b.+\bFROM\b|\bINSERT\s+INTO\b|\bDELETE\s+FROM\b|"
                      r"\bUPDATE\s+\w+\s+SET\b|^\s*(LISTEN|NOTIFY|CREATE|DROP|ALTER)\s")


def modules_without_sql() -> list[Path]:
    projections = [p for p in sorted((ROOT / "projections").glob("*.py"))
                   if p.name not in VIEW_TABLE_MODULES]
    return projections + sorted((ROOT / "ledger" / "cli").rglob("*.py"))


def docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def sql_in(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in skip and SQL_TEXT.search(node.value)):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value[:60]!r}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"execute", "executemany"}):
            found.append(f"{path.relative_to(root)}:{node.lineno}: .{node.func.attr}(...)")
    return found


def test_no_module_outside_the_readers_holds_sql() -> None:
    offending = [line for path in modules_without_sql() for line in sql_in(path)]
    assert offending == []


def test_the_check_finds_sql_written_out_whole(tmp_path: Path) -> None:
    module = tmp_path / "leaky.py"
    module.write_text('"""Counts facts (SELECT them FROM the index, says the docstring)."""\n\n'
                      'def count(cur):\n'
                      '    return cur.execute("SELECT count(*) FROM ledger_facts")\n')

    assert [line.split(": ", 1)[1] for line in sql_in(module, tmp_path)] == [
        ".execute(...)", "'SELECT count(*) FROM ledger_facts'"]
