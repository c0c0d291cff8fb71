"""POST /api/v1/imports: NDJSON or CSV files of any kind, rejected rows reported by line."""

from __future__ import annotations

import json

import pytest

from advocacy.ingest import imports
from tests.factories import put_customers

T = "2024-05-01T12:00:00Z"
NDJSON = "application/x-ndjson"
CSV = "text/csv"


def _import(api, kind, body, content_type):
    data = body.encode() if isinstance(body, str) else body
    return api.post(f"/api/v1/imports?kind={kind}", data=data, content_type=content_type)


def _report(api, kind, body, content_type):
    response = _import(api, kind, body, content_type)
    assert response.status_code == 200, response.json
    return response.json


def _ndjson(*rows):
    return "".join(json.dumps(row) + "\n" for row in rows)


def _counts(report):
    return {k: report[k] for k in ("rows", "created", "updated", "unchanged", "rejected")}


CUSTOMERS_CSV = (
    "external_id,email,first_name,followers,consent.email,consent.sms,attributes\n"
    'c-1,c1@example.com,Ann,10,true,no,"{""tier"": ""gold""}"\n'
    "c-2,c2@example.com,Bob,,false,0,\n"
)


def test_customers_csv_is_applied(api):
    report = _report(api, "customers", CUSTOMERS_CSV, CSV)

    assert _counts(report) == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert (report["kind"], report["format"], report["errors"]) == ("customers", "csv", [])
    ann = api.get("/api/v1/customers/c-1").json
    assert ann["followers"] == 10
    assert ann["consent"] == {"email": True, "sms": False, "social": False}
    assert ann["attributes"] == {"tier": "gold"}
    assert api.get("/api/v1/customers/c-2").json["followers"] is None


def test_customers_csv_rerun_is_all_unchanged(api):
    _report(api, "customers", CUSTOMERS_CSV, CSV)

    report = _report(api, "customers", CUSTOMERS_CSV, CSV)

    assert _counts(report) == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2, "rejected": 0}


def test_customers_ndjson_is_applied(api):
    body = _ndjson(
        {"external_id": "c-1", "email": "c1@example.com", "consent": {"social": True}},
        {"external_id": "c-2", "locale": "fr"},
    )

    report = _report(api, "customers", body, NDJSON)

    assert report["created"] == 2
    assert report["format"] == "ndjson"
    assert api.get("/api/v1/customers/c-1").json["consent"]["social"] is True


def test_csv_with_bad_rows_reports_line_field_and_message(api):
    body = (
        "external_id,email,followers\n"
        "c-1,c1@example.com,5\n"
        "c-2,not-an-email,5\n"
        "c-3,c3@example.com,many\n"
        "c-4,c4@example.com,7\n"
    )

    report = _report(api, "customers", body, CSV)

    assert _counts(report) == {"rows": 4, "created": 2, "updated": 0, "unchanged": 0, "rejected": 2}
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(3, "email"), (4, "followers")]
    assert all(e["message"] for e in report["errors"])
    assert api.get("/api/v1/customers/c-4").status_code == 200
    assert api.get("/api/v1/customers/c-2").status_code == 404


def test_ndjson_with_bad_lines_reports_them_by_line(api):
    body = (
        '{"external_id": "c-1"}\n'
        "\n"
        "{not json\n"
        '["a list"]\n'
        '{"external_id": "c-2", "shoe_size": 44}\n'
        '{"external_id": "c-3"}\n'
    )

    report = _report(api, "customers", body, NDJSON)

    assert _counts(report) == {"rows": 5, "created": 2, "updated": 0, "unchanged": 0, "rejected": 3}
    assert [(e["line"], e["field"], e["message"]) for e in report["errors"]] == [
        (3, "_line", "Not valid JSON."),
        (4, "_schema", "Not an object."),
        (5, "shoe_size", "Unknown field."),
    ]


def test_ndjson_rerun_with_bad_lines_is_unchanged_and_same_rejections(api):
    body = _ndjson({"external_id": "c-1"}, {"external_id": "c-2", "email": "x"})
    first = _report(api, "customers", body, NDJSON)

    again = _report(api, "customers", body, NDJSON)

    assert _counts(again) == {"rows": 2, "created": 0, "updated": 0, "unchanged": 1, "rejected": 1}
    assert again["errors"] == first["errors"]


def test_ndjson_line_too_deep_or_too_long_a_number_is_rejected(api):
    body = "[" * 100_000 + "\n" + '{"external_id": "c-1", "followers": ' + "9" * 5000 + "}\n"

    report = _report(api, "customers", body, NDJSON)

    assert [(e["line"], e["field"]) for e in report["errors"]] == [(1, "_line"), (2, "_line")]


def test_csv_with_more_cells_than_headers_rejects_the_row(api):
    report = _report(api, "customers", "external_id\nc-1\nc-2,extra\n", CSV)

    assert report["created"] == 1
    assert report["errors"] == [
        {"line": 3, "field": "_line", "message": "More cells than header columns."}
    ]


def test_csv_with_byte_order_mark_is_read(api):
    report = _report(api, "customers", "\ufeffexternal_id,first_name\nc-1,Ann\n".encode(), CSV)

    assert report["created"] == 1
    assert report["errors"] == []


def test_file_not_utf8_is_422(api):
    response = _import(api, "customers", b"external_id\nc-\xff\n", CSV)

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"


def test_events_ndjson_rerun_is_all_unchanged(api):
    put_customers(api, "ann")
    body = _ndjson(
        {"customer": "ann", "kind": "nps", "value": 8, "occurred_at": T, "event_id": "e-1"},
        {
            "customer": "ann",
            "kind": "purchase",
            "amount": 500,
            "currency": "USD",
            "occurred_at": T,
            "event_id": "e-2",
        },
    )
    assert _report(api, "events", body, NDJSON)["created"] == 2

    report = _report(api, "events", body, NDJSON)

    assert _counts(report) == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    assert len(api.get("/api/v1/customers/ann/export").json["events"]) == 2


def test_events_csv_reports_rule_violations_by_line(api):
    put_customers(api, "ann")
    body = (
        "customer,kind,value,occurred_at,event_id\n"
        f"ann,nps,11,{T},e-1\n"
        f"ann,nps,7,{T},e-2\n"
        f"bob,nps,7,{T},e-3\n"
    )

    report = _report(api, "events", body, CSV)

    assert report["created"] == 1
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(2, "value"), (4, "customer")]


def test_mentions_csv_scores_text_and_rerun_is_unchanged(api):
    put_customers(api, "ann")
    body = (
        "external_id,channel,customer,text,sentiment,occurred_at\n"
        f"m-1,x,ann,Love it so much!,,{T}\n"
        f"m-2,x,,,0.4,{T}\n"
        f"m-3,x,,,,{T}\n"
    )
    first = _report(api, "mentions", body, CSV)

    again = _report(api, "mentions", body, CSV)

    assert (first["created"], first["rejected"]) == (2, 1)
    assert first["errors"][0]["line"] == 4
    assert first["errors"][0]["field"] == "sentiment"
    assert _counts(again) == {"rows": 3, "created": 0, "updated": 0, "unchanged": 2, "rejected": 1}
    (mention,) = api.get("/api/v1/customers/ann/export").json["mentions"]
    assert mention["sentiment_source"] == "vader"
    assert mention["sentiment"] > 0


def test_connections_csv_rerun_is_all_unchanged(api):
    put_customers(api, "ann", "bob")
    body = (
        "source,target,channel,likes,follows,sentiment,last_interaction_at\n"
        f"ann,bob,x,4,true,0.5,{T}\n"
        f"bob,ann,x,1,false,,\n"
    )
    assert _report(api, "connections", body, CSV)["created"] == 2

    report = _report(api, "connections", body, CSV)

    assert _counts(report) == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2, "rejected": 0}


def test_connections_ndjson_rejects_unknown_customer_by_line(api):
    put_customers(api, "ann", "bob")
    body = _ndjson(
        {"source": "ann", "target": "bob", "channel": "x"},
        {"source": "ann", "target": "zed", "channel": "x"},
    )

    report = _report(api, "connections", body, NDJSON)

    assert report["errors"] == [{"line": 2, "field": "target", "message": "Unknown customer."}]


def test_rows_spread_over_several_chunks_are_all_applied(api, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    body = _ndjson(*[{"external_id": f"c-{n}"} for n in range(5)], {"external_id": "c-0"})

    report = _report(api, "customers", body, NDJSON)

    assert (report["created"], report["unchanged"]) == (5, 1)
    assert len(api.get("/api/v1/customers").json["items"]) == 5


def test_listed_errors_are_capped(api, monkeypatch):
    monkeypatch.setattr(imports, "MAX_LISTED_ERRORS", 2)
    body = _ndjson(*[{"external_id": f"c-{n}", "email": "bad"} for n in range(4)])

    report = _report(api, "customers", body, NDJSON)

    assert report["rejected"] == 4
    assert len(report["errors"]) == 2
    assert report["errors_truncated"] is True


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/xml"])
def test_other_content_types_are_415(api, content_type):
    response = _import(api, "customers", '{"external_id": "c-1"}', content_type)

    assert response.status_code == 415
    assert response.content_type == "application/problem+json"
    assert api.get("/api/v1/customers/c-1").status_code == 404


def test_content_type_with_charset_parameter_is_accepted(api):
    report = _report(api, "customers", "external_id\nc-1\n", "text/csv; charset=utf-8")

    assert report["created"] == 1


@pytest.mark.parametrize("query", ["", "?kind=orders"])
def test_missing_or_unknown_kind_is_422(api, query):
    response = api.post(f"/api/v1/imports{query}", data=b"external_id\n", content_type=CSV)

    assert response.status_code == 422
    assert "kind" in response.json["errors"]


def test_import_may_exceed_the_json_body_limit(api, app):
    rows = [{"external_id": f"c-{n}", "attributes": {"pad": "x" * 2000}} for n in range(1100)]
    body = _ndjson(*rows)
    assert len(body) > app.config["MAX_CONTENT_LENGTH"]

    assert _report(api, "customers", body, NDJSON)["created"] == 1100


def test_import_over_its_own_limit_is_413(api, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_CONTENT_LENGTH", 100)

    response = _import(api, "customers", "external_id\n" + "c-1\n" * 50, CSV)

    assert response.status_code == 413
    assert response.content_type == "application/problem+json"
