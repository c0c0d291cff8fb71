"""A staff member walks the console in a real browser, keyboard only: rank -> select ->
enroll -> issue a link, on the demo workspace; axe-core checks every page on the way.

The app runs on a real local port (werkzeug in a thread) over a SQLite file of its own,
migrated and filled by ``flask demo`` (300 customers), plus an active campaign: the demo's
own campaign has ended, and enrolling needs a live one. Nothing is shared with the other
tests' database. Screenshots go to a temporary folder the test prints (or to
``CONSOLE_SCREENSHOTS`` when set: ``docs/`` for the README's pictures).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from sqlalchemy import select

from advocacy import create_app
from advocacy.campaigns.models import Enrollment
from advocacy.console import accounts
from advocacy.demo.command import DEFAULT_NAME, find_workspace
from advocacy.demo.population import PLANTED
from advocacy.extensions import db
from advocacy.links.models import ReferralLink
from tests.browser import chromium, serve
from tests.factories import allow_domains, make_campaign

EMAIL, PASSWORD = "lead@staff.example", "correct horse battery staple"
CAMPAIGN = "Winter friends"
BAD = {"serious", "critical"}  # axe impacts


class Console:
    def __init__(self, app: Any, base_url: str, workspace_id: int, screens: Path) -> None:
        self.app = app
        self.base_url = base_url
        self.workspace_id = workspace_id
        self.screens = screens

    def scalars(self, query: Any) -> list[Any]:
        with self.app.app_context():
            return list(db.session.scalars(query))


@pytest.fixture(scope="module")
def live_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("console-browser")
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'demo.sqlite3'}", "TESTING": True}
    )
    app.instance_path = str(folder)  # the demo's key file
    with app.app_context():
        flask_migrate.upgrade()
    result = app.test_cli_runner().invoke(args=["demo", "--customers", "300", "--seed", "3"])
    assert result.exit_code == 0, (result.output, result.exception)
    with app.app_context():
        workspace = find_workspace(db.session, DEFAULT_NAME)
        assert workspace is not None
        workspace_id = workspace.id
        allow_domains(db.session, workspace_id, "shop.example", *workspace.allowed_domains)
        make_campaign(db.session, workspace_id, name=CAMPAIGN)
        accounts.add_staff(
            db.session, email=EMAIL, password=PASSWORD, workspace_id=workspace_id, role="owner"
        )
        db.session.commit()
        db.session.remove()
    screens = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    print(f"\nconsole screenshots: {screens}")
    try:
        with serve(app) as base:
            yield Console(app, base, workspace_id, screens)
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any, live_console: Console) -> Iterator[Any]:
    """A desktop page, signed in by keyboard; every request must stay on the service."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.requested, page.csp_errors = [], []
    page.on("request", lambda request: page.requested.append(request.url))
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and page.csp_errors.append(message.text)
        ),
    )
    page.goto(f"{live_console.base_url}/login")
    page.get_by_label("Email").focus()
    page.keyboard.type(EMAIL)
    page.get_by_label("Password").focus()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_console.base_url}/")
    try:
        yield page
    finally:
        assert all(url.startswith(live_console.base_url) for url in page.requested)
        assert page.csp_errors == []
        context.close()


def check_page(page: Any, console: Console, name: str) -> None:
    """No serious or critical axe violation; a screenshot of the page's top 1,500 pixels."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state("networkidle")
    violations = Axe().run(page).response["violations"]
    bad = [(v["id"], v["impact"], v["nodes"][0]["html"]) for v in violations if v["impact"] in BAD]
    assert not bad, (name, bad)
    height = min(page.evaluate("document.documentElement.scrollHeight"), 1500)
    clip = {"x": 0, "y": 0, "width": 1366, "height": height}
    page.screenshot(path=str(console.screens / f"console-{name}.png"), full_page=True, clip=clip)


def press(page: Any, locator: Any, key: str = "Enter") -> None:
    """Keyboard only: focus the control, press a key."""
    locator.focus()
    page.keyboard.press(key)


def test_overview_shows_its_chart_and_the_table_behind_it(page: Any, live_console: Console) -> None:
    page.goto(f"{live_console.base_url}/?days=90")
    canvas = page.get_by_role("img", name=re.compile("Line chart of daily clicks"))
    assert canvas.is_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart('overview-chart')")
    table = page.get_by_role("table", name=re.compile("Daily clicks"))
    assert table.get_by_role("row").count() == 91  # a header and 90 days
    assert page.get_by_role("link", name=re.compile("held rewards? to review")).is_visible()
    check_page(page, live_console, "overview")


def test_rank_select_enroll_and_issue_a_link_by_keyboard(page: Any, live_console: Console) -> None:
    base = live_console.base_url
    press(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Advocates"))
    page.wait_for_url(f"{base}/advocates/")
    ranking = page.get_by_role("table", name=re.compile("Advocates in rank order"))
    first_rows = ranking.locator("tbody tr").all_inner_texts()[:20]
    assert first_rows and not any(PLANTED["loud_detractor"] in row for row in first_rows)
    check_page(page, live_console, "advocates")

    # Re-rank with my weights: the table is replaced in place (htmx), the page stays.
    press(page, page.get_by_label(re.compile("Re-rank with my weights")), "Space")
    with page.expect_response(re.compile(r"/advocates/\?.*custom=on")):
        press(page, page.get_by_role("slider", name="Reach"), "End")
    page.get_by_text("your weights").wait_for()
    assert page.url.startswith(f"{base}/advocates/?")

    press(page, page.get_by_role("link", name="Select advocates for a campaign"))
    page.wait_for_url(re.compile(r"/advocates/selection"))
    page.get_by_label("How many (k)").fill("5")
    press(page, page.get_by_role("button", name="Show the selection"))
    enroll = page.get_by_role("button", name=re.compile(f"Enroll these 5 into “{CAMPAIGN}”"))
    enroll.wait_for()
    check_page(page, live_console, "selection")
    picks = page.get_by_role("table", name=re.compile("The picks")).locator("tbody .id")
    chosen = picks.all_inner_texts()
    press(page, enroll)
    page.get_by_text("Enrolled 5 advocates by coverage").wait_for()
    enrolled = live_console.scalars(
        select(Enrollment.position).where(Enrollment.workspace_id == live_console.workspace_id)
    )
    assert sorted(p for p in enrolled if p) == [1, 2, 3, 4, 5]

    page.goto(f"{base}/advocates/{chosen[0]}")
    check_page(page, live_console, "advocate")
    page.get_by_label("Campaign", exact=True).select_option(label=CAMPAIGN)
    press(page, page.get_by_role("button", name="Issue link"))
    issued = page.get_by_text(re.compile(r"Issued: http://127\.0\.0\.1:\d+/r/"))
    issued.wait_for()
    links = live_console.scalars(
        select(ReferralLink.token).where(ReferralLink.workspace_id == live_console.workspace_id)
    )
    assert any(token in issued.inner_text() for token in links)
