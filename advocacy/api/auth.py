"""Bearer API keys with scopes; every view declares the scope it needs."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, g, request
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser

from advocacy.errors import (
    PROBLEM_JSON,
    Forbidden,
    NotFound,
    ProblemSchema,
    Unauthorized,
    Unprocessable,
)
from advocacy.extensions import db
from advocacy.fields import has_control_characters
from advocacy.statements import prepare_repeating_statements
from advocacy.workspaces.service import Principal, authenticate

F = TypeVar("F", bound=Callable[..., Any])


def current_principal() -> Principal:
    principal: Principal | None = g.get("principal")
    if principal is None:  # a view without @requires is a programming error
        raise RuntimeError("view did not declare an auth requirement")
    return principal


def _authenticate_request(scope: str) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
    principal = authenticate(db.session, secret=secret.strip())
    if principal is None:
        raise Unauthorized("The API key is unknown or revoked.")
    g.principal = principal
    if not principal.allows(scope):
        raise Forbidden(f"This API key lacks the '{scope}' scope.")
    return principal


def _check_path_identifiers(view_args: dict[str, Any]) -> None:
    """No identifier holds a control character: a path naming one names nothing (404), and
    a PUT that would create it is refused (422). Checked before any query (PostgreSQL
    refuses NUL in a statement)."""
    bad = sorted(
        name
        for name, value in view_args.items()
        if isinstance(value, str) and has_control_characters(value)
    )
    if not bad:
        return
    if request.method == "PUT":
        message = "Must not contain control characters (tab, CR, LF, ...)."
        raise Unprocessable(
            "An identifier in the path is not valid.", errors={name: [message] for name in bad}
        )
    raise NotFound("Nothing here: identifiers never contain control characters.")


class JsonParser(FlaskParser):
    """webargs' parser, also answering 400 to JSON that Python's decoder cannot take:
    nesting deeper than the recursion limit, integers longer than 4,300 digits."""

    def load_json(self, req: Any, schema: Any) -> Any:
        try:
            return super().load_json(req, schema)
        except (RecursionError, ValueError) as exc:
            return self._handle_invalid_json_error(exc, req)  # type: ignore[arg-type]


def _private_response_headers(response: Response) -> Response:
    """API answers carry personal data: no cache (browser, proxy) may keep them, and no
    browser may guess another type than the declared one."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class ApiBlueprint(Blueprint):
    """A flask-smorest Blueprint whose views say which key scope they need."""

    ARGUMENTS_PARSER = JsonParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.after_request(_private_response_headers)

    def problem_response(self, status: int, description: str) -> Callable[[F], F]:
        """Document an error answer, with its problem+json body."""
        return self.alt_response(  # type: ignore[no-any-return]
            status, schema=ProblemSchema, content_type=PROBLEM_JSON, description=description
        )

    def requires(self, scope: str, *, prepared: bool = False) -> Callable[[F], F]:
        """The key scope a view needs. ``prepared``: a hot path whose statements all
        repeat with every request, sent as server-side prepared statements from the
        key's lookup on (``statements.prepare_repeating_statements``)."""

        def decorator(view: F) -> F:
            @wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if prepared:
                    prepare_repeating_statements(db.session)
                _authenticate_request(scope)
                _check_path_identifiers(kwargs)
                return view(*args, **kwargs)

            documented = self.doc(security=[{"bearerAuth": []}])(wrapper)
            documented = self.problem_response(401, "Missing, unknown or revoked key")(documented)
            documented = self.problem_response(403, f"Key lacks the '{scope}' scope")(documented)
            return documented  # type: ignore[no-any-return]

        return decorator

    def endpoint(
        self,
        scope: str,
        schema: Any = None,
        *,
        status: int = 200,
        query: Any = None,
        body: Any = None,
        problems: dict[int, str] | None = None,
    ) -> Callable[[F], F]:
        """A view's usual stack in one decorator: the scope it requires, its query or body
        arguments, its answer and the problems it documents; the same as writing
        ``requires``, ``arguments``, ``response`` and each ``problem_response`` in turn."""

        def decorator(view: F) -> F:
            for code, description in reversed(list((problems or {}).items())):
                view = self.problem_response(code, description)(view)
            view = self.response(status, schema)(view)
            if body is not None:
                view = self.arguments(body)(view)
            if query is not None:
                view = self.arguments(query, location="query")(view)
            return self.requires(scope)(view)

        return decorator
