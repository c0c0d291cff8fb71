"""Invitations and password resets: single-use, expiring links that an owner passes on."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from advocacy.console import accounts, tokens
from advocacy.errors import Forbidden, NotFound
from advocacy.types import utcnow
from tests.console.conftest import PASSWORD, csrf_token_of, make_staff

NEW_PASSWORD = "a brand new passphrase"


def _link(html: str) -> str:
    found = re.search(r'id="one-time-link">https?://[^/]+(/[^<]+)<', html)
    assert found, "no one-time link on the page"
    return found.group(1)


def _submit(console, path, **fields):
    token = csrf_token_of(console.get(path))
    return console.open(path, method="POST", data={**fields, "csrf_token": token})


def _invite(console, email="newbie@staff.example", role="reviewer"):
    response = console.post("/settings/staff/invite", data={"email": email, "role": role})
    assert response.status_code == 201
    return _link(response.get_data(as_text=True))


def test_owner_invites_and_the_invitee_joins_with_the_role(console, app):
    console.sign_in("owner")
    path = _invite(console)
    console.post("/logout")
    page = console.get(path).get_data(as_text=True)
    assert "Join Acme" in page and "reviewer" in page
    joined = _submit(console, path, name="Newbie", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert joined.status_code == 302
    assert console.sign_in_as("newbie@staff.example", NEW_PASSWORD).status_code == 302
    assert "(reviewer)" in console.get("/").get_data(as_text=True)


def test_an_invitation_works_once(console):
    console.sign_in("owner")
    path = _invite(console)
    console.post("/logout")
    _submit(console, path, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert console.get(path).status_code == 404
    again = console.open(path, method="POST", data={"password": "x" * 20, "confirm": "x" * 20})
    assert again.status_code in (400, 404)


def test_an_expired_invitation_is_refused(session, workspace):
    issued = tokens.invite_staff(
        session,
        workspace_id=workspace.id,
        email="late@staff.example",
        role="viewer",
        invited_by=None,
        now=utcnow() - tokens.INVITATION_LIFETIME - timedelta(minutes=1),
    )
    with pytest.raises(NotFound):
        tokens.accept_invitation(session, secret=issued.secret, password=NEW_PASSWORD)


def test_a_new_invitation_retires_the_previous_one(session, workspace):
    first = tokens.invite_staff(
        session,
        workspace_id=workspace.id,
        email="twice@staff.example",
        role="viewer",
        invited_by=None,
    )
    tokens.invite_staff(
        session,
        workspace_id=workspace.id,
        email="twice@staff.example",
        role="manager",
        invited_by=None,
    )
    with pytest.raises(NotFound):
        tokens.accept_invitation(session, secret=first.secret, password=NEW_PASSWORD)


def test_a_short_password_is_refused_and_the_link_still_works(console):
    console.sign_in("owner")
    path = _invite(console)
    console.post("/logout")
    short = _submit(console, path, password="short", confirm="short")
    assert short.status_code == 400
    assert "password-error" in short.get_data(as_text=True)
    assert console.get(path).status_code == 200


def test_an_existing_account_joins_with_its_own_password(console, session, other_workspace):
    agency = console.add_staff(
        "manager", workspace_id=other_workspace.id, email="agency@staff.example"
    )
    console.sign_in("owner")
    path = _invite(console, email=agency.email, role="viewer")
    console.post("/logout")
    wrong = _submit(console, path, password="not my password at all")
    assert wrong.status_code == 422
    assert _submit(console, path, password=PASSWORD).status_code == 302
    names = {m.workspace_name for m in accounts.list_memberships(session, staff_user_id=agency.id)}
    assert names == {"Acme", "Rival"}


def test_inviting_a_member_again_is_refused(console):
    owner = console.sign_in("owner")
    response = console.post("/settings/staff/invite", data={"email": owner.email, "role": "viewer"})
    assert response.status_code == 409


def test_reset_link_sets_a_new_password_once_and_ends_sessions(console):
    console.sign_in("owner")
    member = console.add_staff("viewer")
    response = console.post(f"/settings/staff/{member.id}/reset")
    assert response.status_code == 201
    path = _link(response.get_data(as_text=True))
    console.post("/logout")
    # The member is signed in elsewhere: the reset ends that session.
    console.sign_in_as(member.email)
    other_browser = console.client.get_cookie("session").value
    console.post("/logout")
    assert _submit(console, path, password=NEW_PASSWORD, confirm=NEW_PASSWORD).status_code == 302
    assert console.get(path).status_code == 404  # used
    assert console.sign_in_as(member.email, PASSWORD).status_code == 401
    console.client.set_cookie("session", other_browser)
    assert console.get("/").status_code == 302
    assert console.sign_in_as(member.email, NEW_PASSWORD).status_code == 302


def test_an_expired_reset_link_is_refused(session, workspace):
    user = make_staff(session, "r@staff.example", workspace.id, "viewer")
    issued = tokens.start_password_reset(
        session, staff_user_id=user.id, now=utcnow() - tokens.RESET_LIFETIME - timedelta(seconds=1)
    )
    with pytest.raises(NotFound):
        tokens.reset_password(session, secret=issued.secret, password=NEW_PASSWORD)


def test_owner_cannot_reset_someone_who_works_where_they_do_not_own(
    session, workspace, other_workspace
):
    owner = make_staff(session, "o@staff.example", workspace.id, "owner")
    agency = make_staff(session, "a@staff.example", workspace.id, "viewer")
    accounts.add_membership(
        session, staff_user_id=agency.id, workspace_id=other_workspace.id, role="owner"
    )
    with pytest.raises(Forbidden):
        tokens.start_password_reset(
            session, staff_user_id=agency.id, started_by=owner.id, workspace_id=workspace.id
        )


def test_reset_of_another_workspaces_staff_is_a_404(console, other_workspace):
    stranger = console.add_staff("viewer", workspace_id=other_workspace.id)
    console.sign_in("owner")
    assert console.post(f"/settings/staff/{stranger.id}/reset").status_code == 404


def test_the_last_owner_cannot_leave(console):
    owner = console.sign_in("owner")
    assert (
        console.post(f"/settings/staff/{owner.id}/role", data={"role": "viewer"}).status_code == 409
    )
    assert console.post(f"/settings/staff/{owner.id}/remove").status_code == 409


def test_owner_changes_a_role_and_removes_a_member(console, session):
    console.sign_in("owner")
    member = console.add_staff("viewer")
    assert (
        console.post(f"/settings/staff/{member.id}/role", data={"role": "manager"}).status_code
        == 302
    )
    assert [m.role for m in accounts.list_memberships(session, staff_user_id=member.id)] == [
        "manager"
    ]
    assert console.post(f"/settings/staff/{member.id}/remove").status_code == 302
    assert accounts.list_memberships(session, staff_user_id=member.id) == []


def test_invitation_page_carries_the_brand(console, session, workspace):
    from advocacy.workspaces.settings import update_workspace_settings

    update_workspace_settings(
        session,
        workspace_id=workspace.id,
        changes={"brand_name": "Acme Shop", "brand_colour": "#117733"},
    )
    session.commit()
    issued = tokens.invite_staff(
        session, workspace_id=workspace.id, email="b@staff.example", role="viewer", invited_by=None
    )
    session.commit()
    html = console.get(f"/invitations/{issued.secret}").get_data(as_text=True)
    assert "Join Acme Shop" in html
    assert f"/brand/{workspace.id}.css" in html
