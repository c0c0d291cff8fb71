"""The click path's access line, written without a LogRecord, is the line logging writes."""

from __future__ import annotations

import io
import json
import logging

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
