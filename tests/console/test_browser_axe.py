"""A real browser signs in to the console and axe-core checks the pages it sees.

The app is served on a local port with its own engine (see tests/browser.py); its
workspace and owner are committed for real and deleted afterwards. Screenshots of each
page go to a temporary folder whose path is printed (run with -s to see it).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from advocacy import create_app
from advocacy.console.models import StaffUser
from advocacy.extensions import db
from tests.browser import assert_accessible, chromium, serve, watched_page
from tests.console.conftest import PASSWORD, make_staff
from tests.factories import delete_workspace, make_workspace


class Console:
    def __init__(self, base_url: str, email: str, shots: Path) -> None:
        self.base_url = base_url
        self.email = email
        self.shots = shots


@pytest.fixture(scope="module")
def live_console(app: Any, database_url: str) -> Iterator[Console]:
    server_app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    email = f"axe-{uuid.uuid4().hex[:8]}@staff.example"
    with server_app.app_context():
        workspace = make_workspace(db.session, f"axe-{uuid.uuid4().hex[:8]}")
        make_staff(db.session, email, workspace.id, "owner")
        db.session.commit()
        db.session.remove()
    shots = Path(tempfile.mkdtemp(prefix="console-screenshots-"))
    print(f"\nconsole screenshots: {shots}")
    try:
        with serve(server_app) as base:
            yield Console(base, email, shots)
    finally:
        with server_app.app_context():
            db.session.execute(delete(StaffUser).where(StaffUser.email == email))
            delete_workspace(db.session, workspace.id)
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def page(live_console: Console) -> Iterator[Any]:
    """One desktop-sized page for the module, watching for CSP refusals and requests."""
    with (
        chromium() as browser,
        watched_page(browser, viewport={"width": 1280, "height": 900}, locale="en-US") as page,
    ):
        yield page


def _check(page: Any, console: Console, name: str) -> None:
    assert_accessible(page, console.base_url, console.shots / f"{name}.png")


def test_login_page_passes_axe(live_console, page):
    page.goto(f"{live_console.base_url}/login")
    _check(page, live_console, "login")


def test_sign_in_then_every_page_passes_axe(live_console, page):
    page.goto(f"{live_console.base_url}/login")
    page.get_by_label("Email").fill(live_console.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_console.base_url}/")
    for name, label in [
        ("overview", "Overview"),
        ("advocates", "Advocates"),
        ("campaigns", "Campaigns"),
        ("review", "Review"),
        ("listening", "Listening"),
        ("settings", "Settings"),
    ]:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()
        page.wait_for_load_state("domcontentloaded")
        assert page.get_by_role("heading", level=1).inner_text() == label
        _check(page, live_console, name)


def test_api_docs_work_offline_with_their_csp(live_console, page):
    page.goto(f"{live_console.base_url}/api/docs")
    page.get_by_text("advocacy", exact=False).first.wait_for(timeout=15000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(live_console.shots / "api-docs.png"))
    assert page.csp_errors == []
    assert all(url.startswith(live_console.base_url) for url in page.requested)


def test_owner_creates_a_key_and_revoking_asks_first(live_console, page):
    page.goto(f"{live_console.base_url}/settings/")
    if "/login" in page.url:
        page.get_by_label("Email").fill(live_console.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_console.base_url}/")
        page.goto(f"{live_console.base_url}/settings/")
    page.get_by_label("Key name").fill("browser key")
    page.get_by_label("read", exact=True).check()
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#one-time-secret").inner_text()
    assert secret.startswith("adv_")
    _check(page, live_console, "settings-new-key")

    page.goto(f"{live_console.base_url}/settings/")
    revoke = page.get_by_role("button", name="Revoke browser key")
    page.once("dialog", lambda dialog: dialog.dismiss())
    revoke.click()
    assert page.get_by_role("button", name="Revoke browser key").is_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke browser key").click()
    page.wait_for_load_state("domcontentloaded")
    assert page.get_by_text("API key revoked.").is_visible()
    assert not page.get_by_role("button", name="Revoke browser key").is_visible()
