"""POST /api/v1/imports bounds the work per row: bytes per row (IMPORT_MAX_ROW_BYTES) and
cells per CSV row (IMPORT_MAX_ROW_CELLS); a row over either stops the import, names the
limit, and nothing of the file is written."""

from __future__ import annotations

import json

import pytest

NDJSON = "application/x-ndjson"
CSV = "text/csv"


@pytest.fixture
def limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROW_BYTES", 1000)
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROW_CELLS", 10)


def _import(api, body, content_type, kind="customers"):
    return api.post(f"/api/v1/imports?kind={kind}", data=body.encode(), content_type=content_type)


def _customers(api):
    return [c["external_id"] for c in api.get("/api/v1/customers").json["items"]]


def test_an_ndjson_line_over_the_byte_limit_is_413_and_writes_nothing(api, limits):
    body = json.dumps({"external_id": "c-1"}) + "\n" + json.dumps({"external_id": "x" * 2000})

    response = _import(api, body + "\n", NDJSON)

    assert response.status_code == 413
    assert response.content_type == "application/problem+json"
    assert "IMPORT_MAX_ROW_BYTES (1000 bytes)" in response.json["detail"]
    assert "Line 2" in response.json["errors"]["file"][0]
    assert _customers(api) == []


def test_a_csv_row_over_the_byte_limit_is_413(api, limits):
    response = _import(api, "external_id,first_name\nc-1," + "a" * 2000 + "\n", CSV)

    assert response.status_code == 413
    assert "IMPORT_MAX_ROW_BYTES" in response.json["detail"]


def test_a_csv_row_spread_over_quoted_lines_counts_as_one_row(api, limits):
    quoted = '"' + "line\n" * 300 + '"'

    response = _import(api, f"external_id,first_name\nc-1,{quoted}\n", CSV)

    assert response.status_code == 413


def test_a_csv_row_with_too_many_cells_is_422_and_writes_nothing(api, limits):
    body = "external_id,first_name\nc-1,Ann\nc-2" + ",x" * 50 + "\n"

    response = _import(api, body, CSV)

    assert response.status_code == 422
    assert "IMPORT_MAX_ROW_CELLS (10)" in response.json["detail"]
    assert "Line 3" in response.json["errors"]["file"][0]
    assert _customers(api) == []


def test_a_header_with_too_many_cells_is_422(api, limits):
    response = _import(api, ",".join(f"h{i}" for i in range(11)) + "\nc-1\n", CSV)

    assert response.status_code == 422
    assert "IMPORT_MAX_ROW_CELLS" in response.json["detail"]


def test_commas_inside_quotes_are_not_cells(api, limits):
    body = 'external_id,first_name\nc-1,"a,b,c,d,e,f,g,h,i,j,k,l"\n'

    response = _import(api, body, CSV)

    assert response.status_code == 200, response.json
    assert api.get("/api/v1/customers/c-1").json["first_name"] == "a,b,c,d,e,f,g,h,i,j,k,l"


def test_rows_within_the_limits_are_imported(api, limits):
    body = "external_id,first_name\n" + "".join(f"c-{i},N{i}\n" for i in range(30))

    response = _import(api, body, CSV)

    assert response.status_code == 200
    assert response.json["created"] == 30
