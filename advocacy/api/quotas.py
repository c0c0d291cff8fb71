"""Per-key limits on the endpoints that take bulk uploads (Flask-Limiter).

A file import holds a worker thread for as long as its file takes, and a batch for a
thousand items; without a limit one key could keep every thread busy with cheap files.
Imports and batches are each counted per API key (by the SHA-256 of the key, never the
key), over every process when ``REDIS_URL`` is set, with the limits ``IMPORT_RATE_LIMIT``
and ``BATCH_RATE_LIMIT``; past them the key gets 429 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, request
from flask_limiter.errors import RateLimitExceeded

from advocacy.api.auth import ApiBlueprint, current_principal
from advocacy.errors import DomainError
from advocacy.extensions import limiter

F = TypeVar("F", bound=Callable[..., Any])

IMPORTS, BATCHES = "IMPORT_RATE_LIMIT", "BATCH_RATE_LIMIT"


class TooManyUploads(DomainError):
    status = 429
    slug = "too-many-uploads"


def _caller() -> str:
    """The bucket of the calling key (authenticated before the limit is checked)."""
    principal = current_principal()
    if principal.api_key_id is None:
        return f"staff:{principal.staff_user_id}"
    secret = request.headers.get("Authorization", "").partition(" ")[2].strip()
    return "key:" + hashlib.sha256(secret.encode()).hexdigest()[:32]


def per_key_limit(blp: ApiBlueprint, setting: str) -> Callable[[F], F]:
    """Count the view against the limit the setting names, per API key; one budget is
    shared by every view with the same setting. Place it below ``@blp.requires``."""

    def limit_value() -> str:
        return str(current_app.config[setting])

    shared = limiter.shared_limit(limit_value, scope=setting.lower(), key_func=_caller)

    def decorator(view: F) -> F:
        limited = shared(view)

        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return limited(*args, **kwargs)
            except RateLimitExceeded as exc:
                error = TooManyUploads(
                    f"This API key is over {setting} ({exc.limit.limit}); retry later."
                )
                error.headers = {"Retry-After": str(exc.limit.limit.get_expiry())}
                raise error from exc

        return blp.problem_response(429, f"This API key is over {setting}")(wrapper)  # type: ignore[return-value]

    return decorator
