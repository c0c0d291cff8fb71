"""The click path's access line, written without a LogRecord, is the line logging writes."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest

from advocacy import observability
from advocacy.observability import access_fields, access_log, write_access_line

FIELDS = ("req-1", "GET", "/r/<token>", '/r/1.ab"c\u00e9', 302, 1.25)


@pytest.fixture
def sole_handler(monkeypatch: pytest.MonkeyPatch) -> logging.StreamHandler[io.StringIO]:
    observability._configure_logging("INFO")
    parent = logging.getLogger("advocacy")
    ours = next(h for h in parent.handlers if getattr(h, "_advocacy", False))
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(ours.formatter)
    handler._advocacy_formatter = ours.formatter  # type: ignore[attr-defined]
    monkeypatch.setattr(parent, "handlers", [handler])
    monkeypatch.setattr(access_log, "handlers", [])
    return handler


def _logged_line(handler: logging.StreamHandler[io.StringIO]) -> str:
    fields = access_fields(*FIELDS)
    record = access_log.makeRecord(
        access_log.name, logging.INFO, __file__, 1, "request", (), None, extra=fields
    )
    return handler.format(record)


def test_the_fast_line_is_the_formatters_line(sole_handler):
    write_access_line(*FIELDS)

    written = sole_handler.stream.getvalue()
    expected = _logged_line(sole_handler)
    assert written.endswith("\n") and written.count("\n") == 1
    assert list(json.loads(written)) == list(json.loads(expected))  # same keys, same order
    fast, logged = json.loads(written), json.loads(expected)
    assert fast.pop("time")[:16] == logged.pop("time")[:16]
    assert fast == logged
    assert written[written.index('"level"') :] == expected[expected.index('"level"') :] + "\n"


def test_another_listener_gets_a_log_record(sole_handler, monkeypatch):
    records: list[logging.LogRecord] = []
    listener = logging.Handler()
    listener.emit = records.append  # type: ignore[method-assign]
    monkeypatch.setattr(access_log, "handlers", [listener])

    write_access_line(*FIELDS)

    (record,) = records
    assert (record.request_id, record.status, record.duration_ms) == ("req-1", 302, 1.25)  # type: ignore[attr-defined]


class _Writes(io.StringIO):
    """A stream that keeps each write() apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def _buffered(flush_seconds: float) -> tuple[observability._AccessLines, logging.StreamHandler]:
    lines = observability._AccessLines()
    lines.flush_seconds = flush_seconds
    return lines, logging.StreamHandler(_Writes())


def test_buffered_lines_go_out_together_in_order_once_the_oldest_has_waited():
    lines, handler = _buffered(0.2)
    for n in range(3):
        lines.add(handler, f"line {n}\n")
    assert handler.stream.writes == []  # a request does not wait for the log
    deadline = time.monotonic() + 5
    while not handler.stream.writes and time.monotonic() < deadline:
        time.sleep(0.02)  # nothing else happens: the thread writes them
    assert handler.stream.writes == ["line 0\nline 1\nline 2\n"]


def test_lines_go_out_in_whole_line_chunks_within_pipe_buf():
    lines, handler = _buffered(0.05)
    line = "x" * 299 + "\n"
    for _ in range(14):  # 4,200 bytes: more than one chunk
        lines.add(handler, line)
    deadline = time.monotonic() + 5
    while len(handler.stream.writes) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert handler.stream.writes == [line * 13, line]  # whole lines, 3,900 bytes at most


def test_past_max_waiting_a_request_writes_them_itself():
    lines, handler = _buffered(60)  # the writer thread sleeps: as if the log were stuck
    for n in range(lines.MAX_WAITING + 1):
        lines.add(handler, f"{n}\n")
    written = "".join(handler.stream.writes)
    assert written == "".join(f"{n}\n" for n in range(lines.MAX_WAITING + 1))
    assert all(len(chunk) <= lines.CHUNK for chunk in handler.stream.writes)


def test_turned_off_the_waiting_lines_come_first():
    lines, handler = _buffered(60)
    lines.add(handler, "old\n")
    lines.flush_seconds = 0
    lines.add(handler, "new\n")
    assert handler.stream.writes == ["old\n", "new\n"]


def test_off_each_line_is_its_own_write():
    lines, handler = _buffered(0)
    lines.add(handler, "a\n")
    lines.add(handler, "b\n")
    assert handler.stream.writes == ["a\n", "b\n"]
