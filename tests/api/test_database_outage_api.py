"""While the database is unreachable the API says "come back later" (503), never 500.

The app's engine points at a closed loopback port: every connection is refused, as when
PostgreSQL is stopped or restarting.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import own_app
from tests.servers import free_port

KEY = "adv_" + "x" * 43


@pytest.fixture(scope="module")
def unreachable() -> Iterator[Any]:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/advocacy"
    with own_app(url) as app:
        yield app.test_client()


def _assert_come_back_later(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert response.json["type"].endswith("/database-unavailable")
    assert response.json["status"] == 503
    assert int(response.headers["Retry-After"]) > 0


def test_a_read_during_an_outage_is_503_with_retry_after(unreachable):
    response = unreachable.get("/api/v1/customers", headers={"Authorization": f"Bearer {KEY}"})

    _assert_come_back_later(response)


def test_a_conversion_during_an_outage_is_503_with_retry_after(unreachable):
    response = unreachable.post(
        "/api/v1/conversions",
        json={"event": "signup", "event_id": "s-1", "invitee": {"external_id": "bob"}},
        headers={"Authorization": f"Bearer {KEY}", "Idempotency-Key": "k-1"},
    )

    _assert_come_back_later(response)


def test_the_answer_does_not_leak_the_connection_details(unreachable):
    response = unreachable.get("/api/v1/customers", headers={"Authorization": f"Bearer {KEY}"})

    body = response.get_data(as_text=True)
    assert "127.0.0.1" not in body
    assert "postgres" not in body


def test_readiness_reports_the_outage(unreachable):
    assert unreachable.get("/readyz").status_code == 503
