"""Shared pieces of the browser tests: Debian's Chromium under Playwright, and an app served
on a free local port (werkzeug in a thread) for it to visit."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(.ci/run does this)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 and a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


SERIOUS = ("serious", "critical")  # the axe-core impacts a page must not have


@contextlib.contextmanager
def watched_page(browser: Any, **context_options: Any) -> Iterator[Any]:
    """A page in a context of its own that notes every Content-Security-Policy refusal
    (``page.csp_errors``) and every URL it requests (``page.requested``)."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.csp_errors = []
    page.requested = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and page.csp_errors.append(f"{message.text} at {message.location}")
        ),
    )
    page.on("request", lambda request: page.requested.append(request.url))
    try:
        yield page
    finally:
        context.close()


def assert_accessible(page: Any, base_url: str, screenshot: Any) -> None:
    """Once the page is idle: a full-page screenshot to ``screenshot``, no serious or
    critical axe-core violation, no CSP refusal, and nothing requested from elsewhere."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshot), full_page=True)
    bad = [v for v in Axe().run(page).response["violations"] if v["impact"] in SERIOUS]
    assert not bad, "\n".join(
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes) {v['nodes'][:2]}" for v in bad
    )
    assert page.csp_errors == []
    assert all(url.startswith(base_url) for url in page.requested)
