"""The baselines of bench/click_path.py: a redirect and nothing else.

``app``: a bare Flask app whose one route only redirects. ``service()``: the service
itself (its request hooks: request id, access log, metrics, rate-limit bookkeeping) with
one extra route that only redirects, so the click path's own work can be told apart from
what every request of the service pays. Both are served with the service's
gunicorn.conf.py: ``gunicorn 'bench.bare_app:app'`` or ``gunicorn 'bench.bare_app:service()'``.
"""

from __future__ import annotations

from flask import Flask, Response

app = Flask(__name__)


def _redirect(token: str) -> Response:
    """Redirect, and nothing else."""
    response = Response(status=302)
    response.headers["Location"] = f"https://shop.example/welcome?ref={token}"
    return response


app.add_url_rule("/r/<token>", "follow", _redirect)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """What the bench harness polls before it starts."""
    return {"status": "ok"}


def service() -> Flask:
    """The service with ``/bare/<token>``, a route that only redirects."""
    from advocacy import create_app

    service_app = create_app()
    service_app.add_url_rule("/bare/<token>", "bare", _redirect)
    return service_app
