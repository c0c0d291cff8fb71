"""Sign-in attempts are rate limited per client IP and per account; success is not counted."""

from __future__ import annotations

import pytest

from advocacy.console import tokens
from tests.console.conftest import PASSWORD
from tests.factories import make_workspace


@pytest.fixture
def limits(app):
    saved = {k: app.config[k] for k in ("STAFF_SIGN_IN_IP_LIMIT", "STAFF_SIGN_IN_ACCOUNT_LIMIT")}
    app.config.update(
        STAFF_SIGN_IN_IP_LIMIT="6 per minute", STAFF_SIGN_IN_ACCOUNT_LIMIT="3 per minute"
    )
    yield
    app.config.update(saved)


def test_an_account_is_locked_after_failed_attempts_even_with_the_right_password(console, limits):
    user = console.add_staff("owner")
    for _ in range(3):
        assert console.sign_in_as(user.email, "wrong password here").status_code == 401
    blocked = console.sign_in_as(user.email, PASSWORD)
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)


def test_an_ip_is_limited_across_accounts(console, limits):
    for n in range(6):
        assert console.sign_in_as(f"guess{n}@staff.example", "wrong password").status_code == 401
    assert console.sign_in_as("guess-last@staff.example", "wrong password").status_code == 429


def test_successful_sign_ins_use_no_budget(console, limits):
    user = console.add_staff("owner")
    for _ in range(5):
        assert console.sign_in_as(user.email).status_code == 302
        console.post("/logout")


def test_wrong_passwords_on_an_invitation_link_are_limited_too(console, limits, session):
    existing = console.add_staff("viewer", email="known@staff.example")
    second = make_workspace(session, "Second")
    issued = tokens.invite_staff(
        session, workspace_id=second.id, email=existing.email, role="viewer", invited_by=None
    )
    session.commit()
    path = f"/invitations/{issued.secret}"
    for _ in range(6):
        assert console.post(path, data={"password": "guessing wrong"}).status_code == 422
    assert console.post(path, data={"password": PASSWORD}).status_code == 429
