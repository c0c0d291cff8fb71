"""After DELETE /api/v1/customers/{id}, nothing in any column names the person.

Generic by construction: every table and every column of the SQLAlchemy metadata is read
and searched, so a column added later is covered without touching this test.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from advocacy.campaigns.models import Enrollment
from advocacy.extensions import db
from advocacy.links.cache import LinkCache
from advocacy.links.models import Click, ReferralLink
from advocacy.rewards.models import LedgerEntry, Reward
from advocacy.types import utcnow
from advocacy.web import views
from tests.privacy.conftest import CRM_ID, Person


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def findings(session: Any, traces: dict[str, str]) -> set[tuple[str, str, str]]:
    """(table, column, trace) for every stored value holding one of the traces."""
    found = set()
    for table in db.metadata.sorted_tables:
        for row in session.execute(select(table)):
            for column, value in zip(table.columns, row, strict=True):
                if value is None:
                    continue
                text = _text(value).lower()
                found |= {
                    (table.name, column.name, name)
                    for name, trace in traces.items()
                    if trace.lower() in text
                }
    return found


def test_every_trace_is_found_before_erasure(session, person: Person):
    """The scan is only as good as its reach: before erasure it finds the person in the
    places the issue named."""
    found = {(table, column) for table, column, _ in findings(session, person.traces())}

    assert {
        ("customers", "email"),
        ("customers", "first_name"),
        ("mentions", "text"),
        ("conversions", "email_normalized"),
        ("conversions", "user_agent"),
        ("conversions", "ip_hash"),
        ("conversions", "visitor_id"),
        ("clicks", "user_agent"),
        ("clicks", "visitor_id"),
        ("clicks", "ip_hash"),
        ("referral_links", "invitee_email_normalized"),
        ("outbox_events", "payload"),
        ("idempotency_keys", "response_body"),
    } <= found


def test_erasure_leaves_no_trace_in_any_column_of_any_table(api, session, person: Person):
    assert api.delete(f"/api/v1/customers/{CRM_ID}").status_code == 204

    assert findings(session, person.traces()) == set()


def test_erasure_withdraws_their_enrollments(api, session, person: Person):
    api.delete(f"/api/v1/customers/{CRM_ID}")

    withdrawn = session.scalars(
        select(Enrollment.withdrawn_at).where(Enrollment.customer_id == person.id)
    ).all()
    assert withdrawn and None not in withdrawn


def test_erasure_revokes_their_links_and_invitations_to_them(api, session, person: Person):
    api.delete(f"/api/v1/customers/{CRM_ID}")

    revoked = {
        link_id: session.get(ReferralLink, link_id).revoked_at is not None
        for link_id in (
            person.own_link["id"],
            person.invitation["id"],
            person.invitation_by_id["id"],
        )
    }
    assert set(revoked.values()) == {True}


def test_an_erased_advocates_link_stops_redirecting_and_collecting_clicks(
    api, client, session, person: Person
):
    api.delete(f"/api/v1/customers/{CRM_ID}")
    clicks_before = session.scalar(select(func.count()).select_from(Click))

    response = client.get(f"/r/{person.own_link['token']}")

    assert response.status_code == 410
    assert session.scalar(select(func.count()).select_from(Click)) == clicks_before


def test_revocation_by_erasure_reaches_this_processs_link_cache(
    api, app, client, monkeypatch, person: Person
):
    """With the click path's cache on, the link's cached state (live) must not outlive
    the erasure in the process that made it."""
    monkeypatch.setitem(app.config, "LINK_CACHE_SECONDS", 3600)
    monkeypatch.setitem(app.extensions, views.LINK_CACHE, LinkCache(3600, clock=lambda: 1000.0))
    assert client.get(f"/r/{person.own_link['token']}").status_code == 302  # now cached

    api.delete(f"/api/v1/customers/{CRM_ID}")

    assert client.get(f"/r/{person.own_link['token']}").status_code == 410


def _money(session: Any) -> dict[str, Any]:
    return {
        "rewards": session.execute(
            select(Reward.state, func.sum(Reward.amount)).group_by(Reward.state)
        ).all(),
        "ledger": session.scalar(select(func.sum(LedgerEntry.amount))),
        "entries": session.scalar(select(func.count()).select_from(LedgerEntry)),
    }


def test_money_and_kpis_still_add_up_after_erasure(api, session, person: Person):
    today = utcnow().date().isoformat()
    url = f"/api/v1/campaigns/{person.campaign_id}/kpis?from={today}&to={today}"
    kpis_before, money_before = api.get(url).json["totals"], _money(session)

    api.delete(f"/api/v1/customers/{CRM_ID}")

    assert _money(session) == money_before
    assert money_before["ledger"] == 0 and money_before["entries"] > 0
    kpis_after = api.get(url).json["totals"]
    # Reach counts people through their social ties, which erasure deletes; every count
    # and amount stays.
    derived_from_ties = {"reach", "program_score"}
    assert {k: v for k, v in kpis_after.items() if k not in derived_from_ties} == {
        k: v for k, v in kpis_before.items() if k not in derived_from_ties
    }
    assert (kpis_after["clicks"], kpis_after["unique_visitors"]) == (2, 2)
