"""One template per page; an htmx request gets one of its blocks (the house rule).

A view calls ``render_page("console/x.html", fragment="rows", **context)``: a normal
request gets the whole page, an htmx request (``HX-Request``, not a boosted navigation)
gets only the block ``rows`` of the same template, rendered with the same context. So
there is never a second rendering path to keep in step.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from advocacy.errors import DomainError


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and (
        request.headers.get("HX-Boosted") != "true"
    )


def render_block(template_name: str, block: str, **context: Any) -> str:
    """Render one block of a template, with the context a whole-page render would have."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.get_or_select_template(template_name)
    app.update_template_context(context)
    render = template.blocks.get(block)
    if render is None:
        raise LookupError(f"{template_name} has no block {block!r}")
    return "".join(render(template.new_context(context)))


def render_page(
    template_name: str, *, fragment: str | None = None, status: int = 200, **context: Any
) -> ResponseReturnValue:
    """The page, or for an htmx request its ``fragment`` block."""
    from flask import render_template

    if fragment is not None and is_htmx():
        body = render_block(template_name, fragment, **context)
    else:
        body = render_template(template_name, **context)
    return body, status, {"Vary": "HX-Request"}


def form_with_errors(form: FlaskForm, error: DomainError) -> FlaskForm:
    """Show a service's field errors on the form's fields ("domains.2" on ``domains``);
    messages for fields the form lacks, or the error's detail, as form-wide errors."""
    placed = False
    for key, messages in (error.errors or {}).items():
        field = getattr(form, key.split(".")[0], None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *messages]
            placed = True
        else:
            form.form_errors.extend(messages)
            placed = True
    if not placed:
        form.form_errors.append(error.detail)
    return form
