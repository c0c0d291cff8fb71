"""CSV downloads of what a console page shows, written by the shared CSV helper
(:mod:`advocacy.csvexport`: no cell can run as a formula in a spreadsheet)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import Response

from advocacy.csvexport import csv_text


def csv_download(
    rows: Iterable[Mapping[str, Any]], fieldnames: Sequence[str], filename: str
) -> Response:
    return Response(
        csv_text(rows, fieldnames),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
