"""The staff console: server-rendered pages over the same service functions as the API.

How to add a page
-----------------
1. A view module ``advocacy/console/<page>.py`` with its own blueprint,
   ``bp = Blueprint("<page>", __name__, url_prefix="/<page>")``, added to ``pages`` in
   ``register_console`` below (its endpoints are then ``console.<page>.<view>``, and the
   nav marks ``<page>`` current). A big page may nest blueprints of further modules in its
   own (as Settings does: ``console.settings.staff.invite``).
2. Every view says who may use it: ``@require_scope("campaigns")`` (after ``@bp.route``)
   takes a scope of the API (``read``, ``write``, ``campaigns``, ``rewards``,
   ``conversions``, ``admin``); a role is a set of scopes (``workspaces/roles.py``) and
   ``Principal.allows`` is the one rule for keys and people. ``@public`` is only for
   pages a signed-out visitor needs. A view with neither fails closed (500).
3. Scope every query with ``current_workspace().id`` and call the service the API calls:
   ``service.get_campaign(db.session, current_workspace().id, campaign_id)`` raises
   ``NotFound`` for another workspace's campaign, and the console shows its 404 page (any
   ``DomainError`` becomes an HTML error page with its status; the session is rolled back).
4. Writes: parse the form (a Flask-WTF form in ``forms.py``, or the API's marshmallow
   schema), call the service with ``**staff_actor()`` so the audit trail names the staff
   member, ``db.session.commit()`` once, then redirect (or render a fragment for htmx). A
   service's ``Unprocessable`` goes back onto the form's fields with
   ``form_with_errors(form, error)`` and the page is rendered again with status 422.
   A one-time secret is rendered in the answer (never flashed: the cookie is readable).
5. Template ``templates/console/<page>.html``: ``{% extends "console/base.html" %}``, fill
   ``{% block title %}`` and ``{% block content %}``. Parts that htmx replaces are blocks
   of the same template; the view answers with ``render_page(template, fragment="rows",
   **context)``: the whole page normally, only block ``rows`` for an htmx request. Never a
   second template for the fragment.
6. CSRF: every POST/PUT/PATCH/DELETE is checked before the view runs. Forms include
   ``{{ form.hidden_tag() }}`` (or ``<input type="hidden" name="csrf_token"
   value="{{ csrf_token() }}">``); htmx requests carry the token from the page's
   ``<meta name="csrf-token">`` in the ``X-CSRFToken`` header (static/console/console.js).
   A plain form that should ask first carries ``data-confirm="Question?"`` (console.js).
7. No inline ``<script>``, ``style=""`` or ``on...=`` attributes (the CSP refuses them):
   behaviour goes in ``static/console/*.js`` loaded from ``{% block scripts %}``, styles in
   ``static/console/console.css``; third-party assets under ``static/vendor/`` via
   ``scripts/vendor.py`` (lock file ``static/vendor/vendor.lock.json``).
8. Tests in ``tests/console/``: the ``console`` fixture signs in as any role through the
   real sign-in form (``console.sign_in("viewer")``) and posts with the CSRF token
   (``console.post(url, data={...})``); assert what each role may and may not do.
"""

from __future__ import annotations

from flask import Flask

from advocacy.extensions import csrf, login_manager


def register_console(app: Flask) -> None:
    """The console's blueprints, sign-in sessions and CSRF protection."""
    from advocacy.console import (
        access,
        advocates,
        auth,
        campaigns,
        formatting,
        invitations,
        listening,
        overview,
        review,
        selection,
        settings,
        site,
    )

    pages = (auth, invitations, overview, advocates, campaigns, review, listening, settings)
    assert selection.bp is advocates.bp  # Selection is a page under Advocates
    # CSRF is checked by the console's before_request (the API authenticates by key).
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # A token lives as long as the sign-in session, not one hour: a page left open over
    # lunch still submits.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.jinja_env.filters.update(formatting.FILTERS)
    # Not login_manager.init_app(app): it adds an app-wide after_request for remember-me
    # cookies (never used here) and a context processor, both of which open the session on
    # every request, so the public pages would answer "Vary: Cookie" and load the user.
    # The console's own context processor provides current_user.
    app.login_manager = login_manager  # type: ignore[attr-defined]
    login_manager.user_loader(access.load_user)
    login_manager.unauthorized_handler(site.unauthorized)
    login_manager.session_protection = "basic"

    console = site.make_blueprint()
    for page in pages:
        console.register_blueprint(page.bp)
    app.register_blueprint(console)
