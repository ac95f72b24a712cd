"""Text that a spreadsheet must show as text: the guard every CSV and XLSX file we write uses.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as
a formula, so a site named ``=HYPERLINK("http://...")`` typed into a form would become a live
link in every file that carries it (OWASP "CSV injection"). Files we write therefore store such
text with a leading ``'`` in CSV (the spreadsheet convention for "this is text"), and as a string
cell with Excel's quote prefix in XLSX (the value itself unchanged). The importer drops that one
``'`` again, so a rejects file corrected and imported again gives back the original text.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@")


def spreadsheet_text(value: str) -> str:
    """``value``, with a leading ``'`` when a spreadsheet would run it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def unescape_spreadsheet_text(value: str) -> str:
    """The inverse of :func:`spreadsheet_text`, for files that come back to be imported."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def safe_csv_row(row: list[Any]) -> list[Any]:
    """A row for ``csv.writer``: every text cell through :func:`spreadsheet_text`."""
    return [spreadsheet_text(v) if isinstance(v, str) else v for v in row]


def guard_xlsx_cell(cell: Any) -> Any:
    """Make an openpyxl cell holding formula-looking text a string cell (never a formula)."""
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell
