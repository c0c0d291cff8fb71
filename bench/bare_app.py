"""The baseline of bench/click_path.py: a bare Flask app whose one route only redirects.

Served with the same gunicorn.conf.py as the service: ``gunicorn bench.bare_app:app``.
"""

from __future__ import annotations

from flask import Flask, Response

app = Flask(__name__)


@app.get("/r/<token>")
def follow(token: str) -> Response:
    """Redirect, and nothing else."""
    response = app.response_class(status=302)
    response.headers["Location"] = f"https://shop.example/welcome?ref={token}"
    return response


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """What the bench harness polls before it starts."""
    return {"status": "ok"}
