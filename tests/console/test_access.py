"""Who may open what: roles map onto API scopes; another workspace is out of reach."""

from __future__ import annotations

import pytest

from advocacy.workspaces.roles import ROLE_SCOPES, staff_principal

PAGES = ("/", "/advocates/", "/campaigns/", "/listening/", "/settings/")


@pytest.mark.parametrize("role", ["owner", "manager", "reviewer", "viewer"])
def test_every_role_opens_the_read_pages(console, role):
    console.sign_in(role)
    for page in PAGES:
        assert console.get(page).status_code == 200, page


@pytest.mark.parametrize(
    ("role", "status"), [("owner", 200), ("reviewer", 200), ("manager", 403), ("viewer", 403)]
)
def test_review_queue_needs_the_rewards_scope(console, role, status):
    console.sign_in(role)
    assert console.get("/review/").status_code == status


def test_roles_are_sets_of_api_scopes():
    assert staff_principal(staff_user_id=1, workspace_id=1, role="owner").allows("admin")
    reviewer = staff_principal(staff_user_id=1, workspace_id=1, role="reviewer")
    assert reviewer.allows("rewards") and not reviewer.allows("campaigns")
    manager = staff_principal(staff_user_id=1, workspace_id=1, role="manager")
    assert manager.allows("campaigns") and not manager.allows("rewards")
    assert ROLE_SCOPES["viewer"] == frozenset({"read"})


def test_console_pages_carry_a_strict_content_security_policy(console):
    console.sign_in("viewer")
    for url in ("/login", "/", "/settings/"):
        response = console.get(url)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_htmx_is_configured_safe_in_the_page(console):
    html = console.get("/login").get_data(as_text=True)
    assert '"selfRequestsOnly": true' in html
    assert '"allowEval": false' in html
    assert '"includeIndicatorStyles": false' in html
    assert "<script>" not in html and "style=" not in html


def test_switching_to_a_workspace_one_is_not_in_is_a_404(console, other_workspace):
    console.sign_in("owner")
    response = console.post("/workspace", data={"workspace_id": other_workspace.id})
    assert response.status_code == 404


def test_an_agency_person_switches_between_workspaces(console, other_workspace):
    user = console.sign_in("viewer", email="agency@staff.example")
    console.add_staff("manager", workspace_id=other_workspace.id, email=user.email)
    assert "Acme" in console.get("/").get_data(as_text=True)
    response = console.post("/workspace", data={"workspace_id": other_workspace.id})
    assert response.status_code == 302
    html = console.get("/").get_data(as_text=True)
    assert "<title>Overview · Rival</title>" in html


def test_a_console_view_that_declares_no_access_fails_closed(database_url):
    from advocacy import create_app
    from advocacy.extensions import db

    fresh = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    # An endpoint named console.* runs the console's hooks, as a page module's view would.
    fresh.add_url_rule("/undeclared", endpoint="console.undeclared", view_func=lambda: "secret")
    fresh.config["PROPAGATE_EXCEPTIONS"] = False
    response = fresh.test_client().get("/undeclared")
    with fresh.app_context():
        db.engine.dispose()
    assert response.status_code == 500
    assert b"secret" not in response.data


def test_public_pages_do_not_open_the_staff_session(console, client):
    console.sign_in("viewer")
    response = client.get("/i/unknown-token")  # a public page, with the staff cookie sent
    assert "Cookie" not in response.headers.get("Vary", "")
