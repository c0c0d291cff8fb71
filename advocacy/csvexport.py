"""Every CSV the service writes goes through here, so no cell can run as a formula.

A spreadsheet reads a cell starting with ``=``, ``+``, ``-`` or ``@`` (and, in some, tab or
carriage return) as a formula: a customer id such as ``=HYPERLINK("https://evil.example")``
would become a live link, or worse, in the file staff open (OWASP "CSV injection"). Text
cells starting with one of those characters get a leading apostrophe, which spreadsheets
show as text and do not display; numbers the service computed (a negative ROI) are written
as numbers. The console's exports use the same helper.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """``value``, made inert if it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(rows: Iterable[Mapping[str, Any]], fieldnames: Sequence[str]) -> str:
    """The rows as CSV text with a header line, every cell neutralised."""
    buffer = io.StringIO()
    # CRLF line ends (RFC 4180), which also makes the writer quote any cell holding a CR.
    writer = csv.DictWriter(buffer, fieldnames=[neutralise_cell(f) for f in fieldnames])
    writer.writeheader()
    for row in rows:
        writer.writerow({neutralise_cell(k): neutralise_cell(v) for k, v in row.items()})
    return buffer.getvalue()
