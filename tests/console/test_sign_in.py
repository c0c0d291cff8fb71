"""Signing in and out of the console."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import PASSWORD, csrf_token_of


def test_signed_out_visitor_is_sent_to_login(console):
    response = console.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_login_page_has_labelled_fields_and_sign_in_button(console):
    html = console.get("/login").get_data(as_text=True)
    assert re.search(r'<label for="email">Email</label>', html)
    assert re.search(r'<label for="password">Password</label>', html)
    assert re.search(r'<button type="submit"[^>]*>Sign in</button>', html)


def test_owner_signs_in_and_sees_the_navigation(console):
    console.sign_in("owner")
    html = console.get("/").get_data(as_text=True)
    for name in ("Overview", "Advocates", "Campaigns", "Review", "Listening", "Settings"):
        assert f">{name}</a>" in html
    assert "Sign out" in html


@pytest.mark.parametrize(
    ("asked", "landing"),
    [("/campaigns/", "/campaigns/"), ("//evil.example/", "/"), ("https://evil.example/", "/")],
)
def test_sign_in_returns_to_the_page_asked_for_on_this_site_only(console, asked, landing):
    user = console.add_staff("viewer")
    token = csrf_token_of(console.get("/login"))
    response = console.open(
        "/login",
        method="POST",
        data={"email": user.email, "password": PASSWORD, "next": asked, "csrf_token": token},
    )
    assert response.headers["Location"] == landing


def test_wrong_password_and_unknown_email_get_the_same_message(console):
    user = console.add_staff("viewer")
    wrong_password = console.sign_in_as(user.email, "not the password at all")
    unknown_email = console.sign_in_as("nobody@staff.example", PASSWORD)
    for response in (wrong_password, unknown_email):
        assert response.status_code == 401
        assert "Wrong email or password." in response.get_data(as_text=True)
    assert console.get("/").status_code == 302


def test_sign_in_without_csrf_token_is_refused(console):
    user = console.add_staff("owner")
    console.get("/login")
    response = console.open(
        "/login", method="POST", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert console.get("/").status_code == 302  # not signed in


def test_sign_in_starts_a_new_session(console):
    user = console.add_staff("owner")
    before = csrf_token_of(console.get("/login"))
    console.open(
        "/login",
        method="POST",
        data={"email": user.email, "password": PASSWORD, "csrf_token": before},
    )
    after = csrf_token_of(console.get("/"))
    assert after != before  # nothing of the signed-out session (its CSRF token) carries over


def test_sign_out_ends_the_session_on_the_server(console):
    console.sign_in("owner")
    stolen = console.client.get_cookie("session").value
    assert console.post("/logout").status_code == 302
    assert console.get("/").status_code == 302
    # The cookie as it was before signing out no longer signs anyone in.
    console.client.set_cookie("session", stolen)
    assert console.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite_lax(console):
    user = console.add_staff("owner")
    response = console.sign_in_as(user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie  # outside development
