"""Console fixtures: a client that signs in as any role through the real sign-in form.

    def test_viewer_cannot_create_keys(console):
        console.sign_in("viewer")
        assert console.post("/settings/keys", data={...}).status_code == 403

``console.post`` adds the CSRF token of the current session (as the page's forms do);
``htmx=True`` sends it in the X-CSRFToken header with HX-Request, as htmx does.
"""

from __future__ import annotations

import contextvars
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from advocacy.console import accounts
from advocacy.console.models import StaffUser
from tests.conftest import reset_rate_limits
from tests.factories import make_workspace

PASSWORD = "correct horse battery staple"
_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def make_staff(session: Any, email: str, workspace_id: int, role: str) -> StaffUser:
    """A staff member with the test password (flushed, not committed)."""
    return accounts.add_staff(
        session, email=email, password=PASSWORD, workspace_id=workspace_id, role=role
    )


def csrf_token_of(response: TestResponse) -> str:
    found = _META_TOKEN.search(response.get_data(as_text=True))
    assert found, "the page has no csrf-token meta tag"
    return found.group(1)


class ConsoleClient:
    """The Flask test client, signed in (or not) as a staff member.

    Each request runs in an empty context, so it pushes its own app context as in
    production: under the ``session`` fixture's long-lived app context, ``g`` (where
    Flask-Login keeps the user and Flask-WTF the CSRF token) would otherwise carry over
    from one request to the next and hide what the session cookie really holds.
    """

    def __init__(self, client: FlaskClient, session: Any, workspace: Any) -> None:
        self.client = client
        self.session = session
        self.workspace = workspace
        self.user: StaffUser | None = None
        self._token: str | None = None

    def add_staff(
        self, role: str, *, workspace_id: int | None = None, email: str | None = None
    ) -> StaffUser:
        """A staff member with ``role`` in the workspace (the fixture's by default)."""
        workspace_id = workspace_id or self.workspace.id
        user = make_staff(
            self.session, email or f"{role}-{workspace_id}@staff.example", workspace_id, role
        )
        self.session.commit()
        return user

    def sign_in(
        self, role: str = "owner", *, workspace_id: int | None = None, email: str | None = None
    ) -> StaffUser:
        """Create a staff member with ``role`` and sign in with the real form."""
        user = self.add_staff(role, workspace_id=workspace_id, email=email)
        response = self.sign_in_as(user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        self.user = user
        return user

    def sign_in_as(self, email: str, password: str = PASSWORD) -> TestResponse:
        token = csrf_token_of(self.get("/login"))
        self._token = None  # sign-in starts a new session, with a new CSRF token
        return self.open(
            "/login",
            method="POST",
            data={"email": email, "password": password, "csrf_token": token},
        )

    def open(self, url: str, **kw: Any) -> TestResponse:
        """A request in a fresh context (its own app context and ``g``)."""
        return contextvars.Context().run(self.client.open, url, **kw)

    def csrf_token(self) -> str:
        if self._token is None:
            self._token = csrf_token_of(self.get("/login"))
        return self._token

    def get(self, url: str, *, htmx: bool = False, **kw: Any) -> TestResponse:
        headers = {"HX-Request": "true"} if htmx else {}
        return self.open(url, headers={**headers, **kw.pop("headers", {})}, **kw)

    def post(
        self, url: str, data: dict[str, Any] | None = None, *, htmx: bool = False, **kw: Any
    ) -> TestResponse:
        data = dict(data or {})
        headers = dict(kw.pop("headers", {}))
        if htmx:
            headers.update({"HX-Request": "true", "X-CSRFToken": self.csrf_token()})
        else:
            data.setdefault("csrf_token", self.csrf_token())
        return self.open(url, method="POST", data=data, headers=headers, **kw)


fresh_rate_limits = pytest.fixture(autouse=True)(reset_rate_limits)


@pytest.fixture
def console(client: FlaskClient, session: Any, workspace: Any) -> ConsoleClient:
    return ConsoleClient(client, session, workspace)


@pytest.fixture
def other_workspace(session: Any) -> Any:
    return make_workspace(session, "Rival")
