"""CSV downloads of what a console page shows.

Every console CSV goes through :func:`csv_download`. Text cells that a spreadsheet would
read as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) get a leading apostrophe (OWASP
"CSV injection"); numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import Response

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(rows: Iterable[Mapping[str, Any]], fieldnames: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[_inert(f) for f in fieldnames])
    writer.writeheader()
    for row in rows:
        writer.writerow({_inert(k): _inert(v) for k, v in row.items()})
    return buffer.getvalue()


def csv_download(
    rows: Iterable[Mapping[str, Any]], fieldnames: Sequence[str], filename: str
) -> Response:
    return Response(
        csv_text(rows, fieldnames),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
