"""A live server on committed data, for the tests that need real concurrency.

The server is a separate app (its own engine and connection pool) served by werkzeug's
threaded server on loopback; the program is created through the API and committed, and
everything of its workspace is deleted afterwards.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, func, select
from werkzeug.serving import make_server

from advocacy import create_app
from advocacy.extensions import Base, db
from advocacy.types import utcnow
from advocacy.web import views
from advocacy.workspaces import service
from advocacy.workspaces.models import Workspace


@dataclass
class Live:
    base: str
    app: Flask
    key: str
    workspace_id: int
    token: str = ""
    visitor_id: str = ""

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.key}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return (
                    response.status,
                    dict(response.headers),
                    json.loads(response.read() or b"null"),
                )
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read() or b"null")


def purchase(live: Live, event_id: str = "order-1") -> dict[str, Any]:
    """Zoe's purchase through Ann's link, as the site reports it."""
    return {
        "event": "purchase",
        "event_id": event_id,
        "invitee": {"external_id": "zoe", "email": "zoe@example.net"},
        "amount": 5000,
        "currency": "EUR",
        "occurred_at": utcnow().isoformat(),
        "ref": live.token,
        "visitor_id": live.visitor_id,
    }


def count_rows(database_url: str, model: Any, workspace_id: int, *where: Any) -> int:
    """Committed rows of the workspace in ``model``'s table (a connection of its own)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(model)
                    .where(model.workspace_id == workspace_id, *where)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def race(count: int, send: Any) -> list[Any]:
    """Run ``send(i)`` on ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait()
        return send(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _purge(database_url: str, workspace_id: int) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if "workspace_id" in table.c:
                conn.execute(table.delete().where(table.c.workspace_id == workspace_id))
        conn.execute(Workspace.__table__.delete().where(Workspace.__table__.c.id == workspace_id))
    engine.dispose()


@contextmanager
def live_program(
    database_url: str, config: dict[str, Any] | None = None, **campaign: Any
) -> Iterator[Live]:
    """A served app with a live campaign, Ann's link and one click on it, all committed.

    ``config`` adds to the app's settings (say, clicks written behind: CLICK_FLUSH_MS)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, **(config or {})})
    with app.app_context():
        workspace = service.create_workspace(db.session, name="Live " + uuid.uuid4().hex[:8])
        issued = service.create_api_key(
            db.session, workspace_id=workspace.id, name="live", scopes=["admin"]
        )
        db.session.commit()
        workspace_id = workspace.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    live = Live(f"http://127.0.0.1:{server.server_port}", app, issued.secret, workspace_id)
    try:
        _setup(live, campaign)
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            for name in (views.CACHE_REFRESHER, views.CLICK_RECORDER):
                worker = app.extensions.get(name)
                if worker is not None:  # stopped; the recorder writes what it holds
                    worker.stop() if name == views.CACHE_REFRESHER else worker.close()
            db.engine.dispose()
        _purge(database_url, workspace_id)


def _setup(live: Live, campaign: dict[str, Any]) -> None:
    def ok(status: int, body: Any) -> Any:
        assert status in (200, 201), body
        return body

    ok(*live.call("PUT", "/api/v1/workspace/allowed-domains", {"domains": ["shop.example"]})[::2])
    ok(
        *live.call(
            "PUT", "/api/v1/customers/ann", {"email": "ann@example.com", "consent": {"email": True}}
        )[::2]
    )
    created = ok(
        *live.call(
            "POST",
            "/api/v1/campaigns",
            {
                "name": "Live",
                "objective": "conversion",
                "inviter_reward": {"kind": "credit", "amount": 1000, "currency": "EUR"},
                "invitee_reward": {"kind": "coupon", "amount": 1500, "currency": "EUR"},
                "trigger": {"event": "purchase"},
                "landing_url": "https://shop.example/welcome",
                "disclosure": "Ann gets EUR 10 credit when you buy.",
                **campaign,
            },
        )[::2]
    )
    path = f"/api/v1/campaigns/{created['id']}"
    ok(*live.call("PATCH", path, {"status": "active"})[::2])
    ok(*live.call("POST", path + "/enrollments", {"customers": ["ann"]})[::2])
    link = ok(*live.call("POST", path + "/links", {"advocate": "ann", "channel": "email"})[::2])
    live.token = link["token"]
    client = live.app.test_client()  # the click is committed like any other request
    response = client.get(f"/r/{live.token}")
    assert response.status_code == 302
    live.visitor_id = str(client.get_cookie("adv_vid").value)  # type: ignore[union-attr]
