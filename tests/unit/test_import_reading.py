"""BoundedLines: lines of an import charged to their row, before any parser sees them."""

from __future__ import annotations

import csv
import io

import pytest

from advocacy.ingest.reading import BoundedLines, RowLimits, RowTooLarge, TooManyCells


def _rows(data: bytes, max_bytes: int = 10_000, max_cells: int = 10) -> list[list[str]]:
    lines = BoundedLines(io.BytesIO(data), RowLimits(max_bytes, max_cells), count_cells=True)
    rows = []
    for row in csv.reader(lines):
        lines.next_row()
        rows.append(row)
    return rows


def test_quoted_commas_newlines_and_escaped_quotes_are_read_as_csv_does():
    data = b'a,b\n"x,y","multi\nline, ""quoted"", here"\nc,d\n'

    assert _rows(data, max_cells=2) == [
        ["a", "b"],
        ["x,y", 'multi\nline, "quoted", here'],
        ["c", "d"],
    ]


def test_the_cell_limit_counts_cells_of_one_row_only():
    assert len(_rows(b"a,b,c\n" * 100, max_cells=3)) == 100
    with pytest.raises(TooManyCells):
        _rows(b"a,b,c\na,b,c,d\n", max_cells=3)


def test_the_byte_limit_is_per_row_not_per_file():
    assert len(_rows(b"abcdefgh\n" * 1000, max_bytes=9)) == 1000
    with pytest.raises(RowTooLarge):
        _rows(b"abcdefgh\nabcdefghi\n", max_bytes=9)


def test_an_endless_line_is_never_read_whole():
    class Endless(io.RawIOBase):
        served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            buffer[:] = b"x" * len(buffer)
            self.served += len(buffer)
            return len(buffer)

    stream = Endless()
    lines = BoundedLines(io.BufferedReader(stream), RowLimits(1000, 10), count_cells=True)

    with pytest.raises(RowTooLarge):
        next(lines)
    assert stream.served < 100_000


def test_a_byte_order_mark_is_dropped_once():
    assert _rows("\ufeffa,b\n\ufeffc,d\n".encode()) == [["a", "b"], ["\ufeffc", "d"]]
