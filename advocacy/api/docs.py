"""``/api/docs``: Swagger UI served from the vendored copy, so it works offline."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

blp = Blueprint("api_docs", __name__)

# Swagger UI sets element styles from script (allowed) and shows data: images; it needs
# no inline script: the page's one script is a file.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@blp.route("/api/docs")
def swagger_ui() -> Response:
    """The API's interactive documentation."""
    return Response(render_template("api/docs.html"), headers=_HEADERS)
