"""Settings from the environment.

Everything the service reads from its environment is read here, once, by
``load_settings``; nothing reads ``os.environ`` at import time.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from limits import parse_many

ENVIRONMENTS = ("development", "test", "production")
DEFAULT_MAX_CONTENT_LENGTH = 2 * 1024 * 1024
DEFAULT_IMPORT_MAX_CONTENT_LENGTH = 1024 * 1024 * 1024
# Ten times the largest valid item (a mention's 10,000 characters, 8 KiB of attributes).
DEFAULT_IMPORT_MAX_ROW_BYTES = 256 * 1024
DEFAULT_IMPORT_MAX_ROW_CELLS = 200
DEFAULT_LINK_MAX_AGE_DAYS = 400
DEFAULT_LINK_CACHE_SECONDS = 5
DEFAULT_CLICK_FLUSH_MS = 100
DEFAULT_ACCESS_LOG_FLUSH_MS = 250
DEFAULT_LINK_STALE_SECONDS = 900
DEFAULT_CLICK_ID_RESERVE_SECONDS = 120
DEFAULT_CLICK_RATE_LIMIT = "120 per minute"
DEFAULT_INVALID_LINK_RATE_LIMIT = "20 per minute"
DEFAULT_IMPORT_RATE_LIMIT = "10 per minute"
DEFAULT_BATCH_RATE_LIMIT = "120 per minute"
DEFAULT_VELOCITY_LIMIT_PER_DAY = 10
MIN_IDEMPOTENCY_TTL_HOURS = 24
DEFAULT_IDEMPOTENCY_WAIT_MS = 5000
DEFAULT_WEBHOOK_MAX_ATTEMPTS = 8
DEFAULT_WEBHOOK_RETRY_BASE_SECONDS = 30
DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 10
DEFAULT_STAFF_SIGN_IN_IP_LIMIT = "30 per 15 minutes"
DEFAULT_STAFF_SIGN_IN_ACCOUNT_LIMIT = "5 per 15 minutes"
STAFF_SESSION_HOURS = 12


class ConfigError(RuntimeError):
    """The environment does not describe a service that may start."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _int_or_zero(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number, 0 allowed (it means off)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < 0:
        raise ConfigError(f"{name} must be 0 or more, got {value}")
    return value


def _rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    try:
        parse_many(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a rate limit such as '120 per minute'") from exc
    return value


def _base_url(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip().rstrip("/")
    if not value:
        return None
    scheme, _, rest = value.partition("://")
    if scheme not in ("http", "https") or not rest or any(c in rest for c in "?#"):
        raise ConfigError(f"{name} must be an http(s) URL such as https://go.example.com")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def _dev_secret(instance_path: Path) -> str:
    """A development secret kept in instance/, so links survive restarts."""
    path = instance_path / "dev-secret-key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _log_level(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, default).strip().upper() or default


def _optional(env: Mapping[str, str], name: str, default: None) -> str | None:
    return env.get(name, "").strip() or default


def _int_if_set(env: Mapping[str, str], name: str, default: None) -> int | None:
    """An optional whole number: unset means "derive it" (the default, None)."""
    return _int_or_zero(env, name, 0) if env.get(name, "").strip() else default


def _off_in_test(default: int) -> Callable[[str], int]:
    """A default that is 0 (off) under ADVOCACY_ENV=test."""
    return lambda environment: 0 if environment == "test" else default


# The plain settings: (name, reader, default). A default may be a function of the
# environment name. Settings with rules across several variables are read by the
# named steps of ``load_settings`` below.
SETTINGS_TABLE: tuple[tuple[str, Callable[..., Any], Any], ...] = (
    ("REDIS_URL", _optional, None),
    ("MAX_CONTENT_LENGTH", _int, DEFAULT_MAX_CONTENT_LENGTH),
    ("IMPORT_MAX_ROW_BYTES", _int, DEFAULT_IMPORT_MAX_ROW_BYTES),
    ("IMPORT_MAX_ROW_CELLS", _int, DEFAULT_IMPORT_MAX_ROW_CELLS),
    ("IMPORT_MAX_CONTENT_LENGTH", _int, DEFAULT_IMPORT_MAX_CONTENT_LENGTH),
    ("LOG_LEVEL", _log_level, "INFO"),
    # The click path's access lines are written in chunks, at most this many ms late
    # (0 = each at once). Tests read a line right after its request.
    ("ACCESS_LOG_FLUSH_MS", _int_or_zero, _off_in_test(DEFAULT_ACCESS_LOG_FLUSH_MS)),
    ("LINK_MAX_AGE_DAYS", _int, DEFAULT_LINK_MAX_AGE_DAYS),
    # Tests change links and campaigns between clicks and expect to see it at once.
    ("LINK_CACHE_SECONDS", _int_or_zero, _off_in_test(DEFAULT_LINK_CACHE_SECONDS)),
    # Clicks written behind the redirect, every this many ms (PostgreSQL; 0 = inline).
    # Tests read a click right after following a link.
    ("CLICK_FLUSH_MS", _int_or_zero, _off_in_test(DEFAULT_CLICK_FLUSH_MS)),
    # How long a conversion's ref waits for its click still being written behind;
    # unset: 2 x CLICK_FLUSH_MS + 250 ms (see click_wait_seconds).
    ("CLICK_WAIT_MS", _int_if_set, None),
    # While the database is away: how old a cached link state may be served, and for
    # how many seconds of clicks (at the recent rate) ids are reserved ahead.
    ("LINK_STALE_SECONDS", _int, DEFAULT_LINK_STALE_SECONDS),
    ("CLICK_ID_RESERVE_SECONDS", _int, DEFAULT_CLICK_ID_RESERVE_SECONDS),
    ("TRUSTED_PROXY_HOPS", _int_or_zero, 0),
    ("CLICK_RATE_LIMIT", _rate_limit, DEFAULT_CLICK_RATE_LIMIT),
    ("IMPORT_RATE_LIMIT", _rate_limit, DEFAULT_IMPORT_RATE_LIMIT),
    ("BATCH_RATE_LIMIT", _rate_limit, DEFAULT_BATCH_RATE_LIMIT),
    ("INVALID_LINK_RATE_LIMIT", _rate_limit, DEFAULT_INVALID_LINK_RATE_LIMIT),
    ("VELOCITY_LIMIT_PER_DAY", _int, DEFAULT_VELOCITY_LIMIT_PER_DAY),
    ("IDEMPOTENCY_WAIT_MS", _int, DEFAULT_IDEMPOTENCY_WAIT_MS),
    ("WEBHOOK_MAX_ATTEMPTS", _int, DEFAULT_WEBHOOK_MAX_ATTEMPTS),
    ("WEBHOOK_RETRY_BASE_SECONDS", _int, DEFAULT_WEBHOOK_RETRY_BASE_SECONDS),
    ("WEBHOOK_TIMEOUT_SECONDS", _int, DEFAULT_WEBHOOK_TIMEOUT_SECONDS),
    # Failed console sign-ins, per client IP and per email address.
    ("STAFF_SIGN_IN_IP_LIMIT", _rate_limit, DEFAULT_STAFF_SIGN_IN_IP_LIMIT),
    ("STAFF_SIGN_IN_ACCOUNT_LIMIT", _rate_limit, DEFAULT_STAFF_SIGN_IN_ACCOUNT_LIMIT),
)


def _environment(env: Mapping[str, str]) -> str:
    environment = env.get("ADVOCACY_ENV", "production").strip().lower()
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"ADVOCACY_ENV must be one of {', '.join(ENVIRONMENTS)}")
    return environment


def _secret_key(env: Mapping[str, str], environment: str, instance_path: Path) -> str:
    secret_key = env.get("SECRET_KEY", "").strip()
    if not secret_key:
        if environment == "production":
            raise ConfigError(
                "SECRET_KEY is required outside development "
                "(set ADVOCACY_ENV=development for a local secret)"
            )
        return _dev_secret(instance_path)
    if environment == "production" and len(secret_key) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters in production")
    return secret_key


def _database_url(env: Mapping[str, str], instance_path: Path) -> str:
    database_url = env.get("DATABASE_URL", "").strip()
    if not database_url:
        return f"sqlite:///{instance_path / 'advocacy.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def _signing_keys(env: Mapping[str, str], environment: str, secret_key: str) -> list[str]:
    signing_keys = [k.strip() for k in env.get("REFERRAL_SIGNING_KEYS", "").split(",") if k.strip()]
    if not signing_keys:
        if environment == "production":
            raise ConfigError("REFERRAL_SIGNING_KEYS is required outside development")
        signing_keys = [secret_key]
    return signing_keys


def _guarded_settings(env: Mapping[str, str], environment: str) -> dict[str, Any]:
    """The settings with a minimum or a production-only rule."""
    idempotency_ttl = _int(env, "IDEMPOTENCY_TTL_HOURS", MIN_IDEMPOTENCY_TTL_HOURS)
    if idempotency_ttl < MIN_IDEMPOTENCY_TTL_HOURS:
        raise ConfigError(f"IDEMPOTENCY_TTL_HOURS must be at least {MIN_IDEMPOTENCY_TTL_HOURS}")
    public_base_url = _base_url(env, "PUBLIC_BASE_URL")
    if public_base_url is None and environment == "production":
        # Otherwise the request's Host header (anyone's to choose) decides the link URLs.
        raise ConfigError("PUBLIC_BASE_URL is required in production, e.g. https://go.example.com")
    allow_private_webhooks = _flag(env, "WEBHOOK_ALLOW_PRIVATE_TARGETS")
    if allow_private_webhooks and environment == "production":
        raise ConfigError("WEBHOOK_ALLOW_PRIVATE_TARGETS is for tests; never in production")
    return {
        "IDEMPOTENCY_TTL_HOURS": idempotency_ttl,
        "PUBLIC_BASE_URL": public_base_url,
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": allow_private_webhooks,
    }


def _session_settings(environment: str) -> dict[str, Any]:
    """Staff console sessions: the cookie only over HTTPS outside development, never
    readable by scripts, not sent on cross-site subrequests. The cookie is set at
    sign-in and lives as long as the server-side session (an absolute 12 hours); not
    re-sent with every response, public pages included."""
    return {
        "SESSION_COOKIE_SECURE": environment != "development",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=STAFF_SESSION_HOURS),
        "SESSION_REFRESH_EACH_REQUEST": False,
    }


def load_settings(env: Mapping[str, str], instance_path: Path) -> dict[str, Any]:
    """Turn environment variables into Flask configuration.

    Raises ``ConfigError`` when the service must not start (no SECRET_KEY
    outside development, an unknown environment, a malformed number).
    """
    environment = _environment(env)
    secret_key = _secret_key(env, environment, instance_path)
    settings: dict[str, Any] = {
        "ADVOCACY_ENV": environment,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": _database_url(env, instance_path),
        "REFERRAL_SIGNING_KEYS": _signing_keys(env, environment, secret_key),
    }
    settings.update(_guarded_settings(env, environment))
    for name, read, default in SETTINGS_TABLE:
        settings[name] = read(env, name, default(environment) if callable(default) else default)
    settings.update(_session_settings(environment))
    return settings


def is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite")


def check_worker_count(database_url: str, workers: int) -> None:
    """SQLite has one writer: refuse to run it under several worker processes."""
    if is_sqlite(database_url) and workers > 1:
        raise ConfigError(
            f"SQLite allows one writer: run one gunicorn worker (got {workers}); "
            "use threads for concurrency, or PostgreSQL via DATABASE_URL to scale out"
        )


def settings_from_environ(instance_path: Path) -> dict[str, Any]:
    return load_settings(os.environ, instance_path)
