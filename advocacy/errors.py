"""Domain errors and their one mapping to ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

import http
import logging
from collections.abc import Mapping
from typing import Any, TypeVar

import marshmallow as ma
from flask import Response, current_app, json, request
from flask_smorest import Api
from flask_smorest.spec import prepare_response
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://advocacy.dev/problems/"
# What a client told "the database is unreachable" waits before retrying, in seconds.
DATABASE_RETRY_AFTER_SECONDS = 5

log = logging.getLogger("advocacy.errors")

T = TypeVar("T")


class DomainError(Exception):
    """Base of the errors services raise; each maps to one HTTP status."""

    status = 400
    slug = "bad-request"
    headers: dict[str, str] = {}

    def __init__(self, detail: str, *, errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors) if errors else None


class NotFound(DomainError):
    status = 404
    slug = "not-found"


def found(row: T | None, detail: str) -> T:
    """``row``, or ``NotFound(detail)`` when the lookup found nothing."""
    if row is None:
        raise NotFound(detail)
    return row


class Conflict(DomainError):
    status = 409
    slug = "conflict"


class Unprocessable(DomainError):
    status = 422
    slug = "unprocessable"


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="advocacy"'}


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem document."""

    type = ma.fields.String(metadata={"description": "URI naming the kind of problem"})
    title = ma.fields.String(metadata={"description": "Short summary of the kind of problem"})
    status = ma.fields.Integer(metadata={"description": "HTTP status code"})
    detail = ma.fields.String(metadata={"description": "What went wrong this time"})
    instance = ma.fields.String(metadata={"description": "The request path"})
    request_id = ma.fields.String(metadata={"description": "X-Request-ID of the request"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Messages per field at fault, dotted paths for nested fields"},
    )


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested messages into ``{"field.sub": [msgs]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, path))
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            out[prefix or "_schema"] = [str(m) for m in messages]
        else:
            for item in messages:
                out.update(flatten_errors(item, prefix))
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


def _strip_location(messages: Mapping[str, Any]) -> Any:
    """webargs nests errors under their location ("json", "query"); drop a lone level."""
    locations = {"json", "query", "querystring", "headers", "form", "view_args", "files"}
    if messages and set(messages) <= locations:
        merged: dict[str, Any] = {}
        for value in messages.values():
            if isinstance(value, Mapping):
                merged.update(value)
        return merged
    return messages


def problem(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    phrase = http.HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (slug or phrase.lower().replace(" ", "-").replace("'", "")),
        "title": phrase,
        "status": status,
        "detail": detail or phrase,
        "instance": request.path,
    }
    request_id = request.environ.get("advocacy.request_id")
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = {k: list(v) for k, v in errors.items()}
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def handle_domain_error(error: DomainError) -> Response:
    return problem(
        error.status, error.detail, slug=error.slug, errors=error.errors, headers=error.headers
    )


def handle_integrity_error(error: IntegrityError) -> Response:
    # Never echo the database's message: it names tables and values.
    log.info("integrity error mapped to 409: %s", type(error.orig).__name__)
    return problem(409, "The request conflicts with the current state of the resource.")


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached now (down, restarting, out of
    connections, a dropped connection), rather than that the statement was wrong."""
    if isinstance(error, OperationalError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def handle_database_error(error: DBAPIError | PoolTimeout) -> Response:
    if not database_unavailable(error):
        return handle_unexpected_error(error)
    # The class only: the message names hosts, ports and users.
    cause = type(getattr(error, "orig", None) or error).__name__
    log.warning("database unavailable: %s", cause)
    return problem(
        503,
        "The database is unavailable; retry later.",
        slug="database-unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def handle_unexpected_error(error: Exception) -> Response:
    log.exception("unhandled error")
    return problem(500, "An unexpected error occurred; it has been logged.")


class ProblemApi(Api):
    """flask-smorest Api whose errors, and their documentation, are problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        errors = None
        raw = data.get("errors") or data.get("messages")
        if raw:
            errors = flatten_errors(_strip_location(raw))
        detail = data.get("message")
        if not detail:
            detail = (
                "The request did not validate; see errors."
                if errors
                else (error.description or http.HTTPStatus(status).phrase)
            )
        headers = dict(data.get("headers") or {})
        valid_methods = getattr(error, "valid_methods", None)
        if status == 405 and valid_methods:
            headers["Allow"] = ", ".join(valid_methods)
        if status >= 500:
            original = getattr(error, "original_exception", None)
            if original is not None:
                log.error("unhandled error", exc_info=original)
            detail = "An unexpected error occurred; it has been logged."
        return problem(status, detail, errors=errors, headers=headers)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                content_type = PROBLEM_JSON
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def register_error_handlers(app: Any) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(PoolTimeout, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected_error)
