"""Reading an import file a row at a time, with the work per row bounded.

Python's ``csv`` and ``json`` modules build a whole row before anyone can look at it: one
28 MB CSV row of short cells took about 28 times its size in worker memory, a 50 MB NDJSON
line about twice. Here the file is read from the request stream one physical line at a time
(``readline`` with a limit, so an endless line is never held whole), and each line is
charged to the row being read before the parser sees it: its bytes, and for CSV the cells
it opens (commas outside quotes, counted with a quote-parity scan in C-speed ``split`` and
``count``). A row over ``IMPORT_MAX_ROW_BYTES`` or ``IMPORT_MAX_ROW_CELLS`` stops the import
with 413 or 422 naming the limit; the request's transaction then writes nothing.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, cast

from advocacy.errors import DomainError, Unprocessable


class RowTooLarge(DomainError):
    status = 413
    slug = "row-too-large"


class TooManyCells(Unprocessable):
    slug = "too-many-cells"


@dataclass(frozen=True)
class RowLimits:
    max_bytes: int  # IMPORT_MAX_ROW_BYTES: an NDJSON line, a CSV row (quoted newlines too)
    max_cells: int  # IMPORT_MAX_ROW_CELLS: cells of a CSV row, the header included


class BoundedLines:
    """The file's lines as text, each charged to the current row; ``next_row()`` starts
    the next. Iterate it directly (NDJSON), or hand it to ``csv.reader`` (CSV)."""

    def __init__(self, stream: IO[bytes], limits: RowLimits, *, count_cells: bool) -> None:
        self._stream = stream
        self._limits = limits
        self._count_cells = count_cells
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.line = 0
        self._row_bytes = 0
        self._row_cells = 1
        self._quoted = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self._stream.readline(self._limits.max_bytes - self._row_bytes + 1)
        if not raw:
            raise StopIteration
        self.line += 1
        self._row_bytes += len(raw)
        if self._row_bytes > self._limits.max_bytes:
            raise RowTooLarge(
                f"The row ending at line {self.line} is larger than IMPORT_MAX_ROW_BYTES "
                f"({self._limits.max_bytes} bytes).",
                errors={"file": [f"Line {self.line}: over {self._limits.max_bytes} bytes."]},
            )
        # Whole lines end at a newline byte, which UTF-8 never splits: final=True is safe.
        text = self._decoder.decode(raw, final=True)
        if self._count_cells:
            self._charge_cells(text)
        return text

    def _charge_cells(self, text: str) -> None:
        if '"' in text:
            parts = text.split('"')
            # Even parts lie outside quotes when the line starts outside them; "" escapes
            # toggle twice and so change nothing.
            outside = parts[int(self._quoted) :: 2]
            commas = sum(part.count(",") for part in outside)
            self._quoted = self._quoted != (len(parts) % 2 == 0)
        else:
            commas = 0 if self._quoted else text.count(",")
        self._row_cells += commas
        if self._row_cells > self._limits.max_cells:
            raise TooManyCells(
                f"The row at line {self.line} has more than IMPORT_MAX_ROW_CELLS "
                f"({self._limits.max_cells}) cells.",
                errors={"file": [f"Line {self.line}: over {self._limits.max_cells} cells."]},
            )

    def next_row(self) -> None:
        """The row read so far is complete: the next line starts a new one."""
        self._row_bytes = 0
        self._row_cells = 1


def buffered(stream: IO[bytes]) -> IO[bytes]:
    """The request stream with a read buffer (werkzeug's stream is a RawIOBase)."""
    return io.BufferedReader(cast(io.RawIOBase, stream), 1 << 16)
