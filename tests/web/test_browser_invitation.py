"""A real browser opens an invitation, reads it, and follows its call to action.

The app runs on a real local port (werkzeug in a thread) with its own engine on the test
database, so the per-test rolled-back connection is not shared across threads; its data is
committed through that app, in a workspace of its own, and deleted afterwards.

The landing page is on ``shop.example``, which the browser cannot resolve: Playwright
answers requests to that host with a small page. Everything before it is real: the
invitation page, the click on its button, ``/r/<token>`` recording the click and its 302.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from advocacy import create_app
from advocacy.extensions import db
from advocacy.links.models import Click
from tests.browser import chromium, serve
from tests.factories import committed_link

SHOP_PAGE = "<!doctype html><html lang='en'><title>Shop</title><h1>Welcome to the shop</h1></html>"


class LiveServer:
    def __init__(self, app: Any, base_url: str, token: str, link_id: int) -> None:
        self.app = app
        self.base_url = base_url
        self.token = token
        self.link_id = link_id

    def clicks(self) -> list[Any]:
        with self.app.app_context():
            return list(db.session.scalars(select(Click).where(Click.link_id == self.link_id)))


@pytest.fixture(scope="module")
def live_server(app: Any, database_url: str) -> Iterator[LiveServer]:
    # ``app`` has migrated the database; this one has its own engine and commits for real.
    server_app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    with committed_link(server_app, "browser", channel="copy") as link, serve(server_app) as base:
        yield LiveServer(server_app, base, link["token"], link["id"])
    with server_app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A phone-sized page; requests to shop.example get the shop's stand-in page."""
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="en-US")
    page = context.new_page()
    page.route(
        "https://shop.example/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=SHOP_PAGE),
    )
    try:
        yield page
    finally:
        context.close()


def test_invitation_shows_inviter_offers_and_disclosure(live_server, page):
    page.goto(f"{live_server.base_url}/i/{live_server.token}")

    assert page.get_by_role("heading", level=1).inner_text() == "Ann invited you"
    for text in (
        "€15.00 off",
        "Ann gets",
        "€10.00 credit",
        "Your friend gets EUR 10 credit when you place your first order.",
    ):
        assert page.get_by_text(text, exact=True).is_visible(), text
    assert page.locator("html").get_attribute("lang") == "en"


def test_invitation_fits_a_phone_screen(live_server, page):
    page.goto(f"{live_server.base_url}/i/{live_server.token}")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    button = page.get_by_role("link", name="Claim your offer").bounding_box()

    assert overflow <= 0
    assert button["height"] >= 44  # a comfortable touch target
    assert button["y"] + button["height"] <= 740  # visible without scrolling


def test_call_to_action_records_the_click_and_lands_with_ref(live_server, page):
    before = len(live_server.clicks())
    page.goto(f"{live_server.base_url}/i/{live_server.token}")

    page.get_by_role("link", name="Claim your offer").click()
    page.wait_for_url("https://shop.example/**")

    landed = urlsplit(page.url)
    assert (landed.netloc, landed.path) == ("shop.example", "/welcome")
    assert parse_qs(landed.query) == {"utm_source": ["referral"], "ref": [live_server.token]}
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome to the shop"
    clicks = live_server.clicks()
    assert len(clicks) == before + 1
    assert "Chrome" in (clicks[-1].user_agent or "")


def test_invitation_in_german(live_server, browser):
    context = browser.new_context(locale="de-DE")
    try:
        page = context.new_page()
        page.goto(f"{live_server.base_url}/i/{live_server.token}")

        assert page.get_by_role("heading", level=1).inner_text() == "Ann hat dich eingeladen"
        assert page.get_by_role("link", name="Angebot sichern").is_visible()
        assert page.locator("html").get_attribute("lang") == "de"
    finally:
        context.close()


def test_no_requests_leave_the_service(live_server, page):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server.base_url}/i/{live_server.token}")
    page.wait_for_load_state("networkidle")

    assert requested and all(url.startswith(live_server.base_url) for url in requested)
