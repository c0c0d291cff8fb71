"""Settings from the environment, and the refusals that keep a bad deployment from starting."""

from __future__ import annotations

import stat

import pytest

from advocacy import create_app
from advocacy.config import (
    DEFAULT_IMPORT_MAX_CONTENT_LENGTH,
    DEFAULT_MAX_CONTENT_LENGTH,
    ConfigError,
    check_worker_count,
    load_settings,
)

SECRET = "s" * 40
PRODUCTION = {
    "ADVOCACY_ENV": "production",
    "SECRET_KEY": SECRET,
    "REFERRAL_SIGNING_KEYS": "k1",
    "PUBLIC_BASE_URL": "https://go.shop.example",
}


def _load(tmp_path, **env):
    return load_settings(env, tmp_path)


# --- secrets and environments --------------------------------------------------


def test_production_settings_load(tmp_path):
    settings = _load(tmp_path, **PRODUCTION)

    assert settings["ADVOCACY_ENV"] == "production"
    assert settings["SECRET_KEY"] == SECRET


def test_production_without_secret_key_is_refused(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}

    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        _load(tmp_path, **env)


def test_production_with_blank_secret_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        _load(tmp_path, **{**PRODUCTION, "SECRET_KEY": "   "})


def test_production_with_short_secret_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="at least 32 characters"):
        _load(tmp_path, **{**PRODUCTION, "SECRET_KEY": "short"})


def test_production_without_public_base_url_is_refused(tmp_path):
    # Else the Host header, which any client chooses, decides the link URLs the API hands out.
    env = {k: v for k, v in PRODUCTION.items() if k != "PUBLIC_BASE_URL"}

    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL is required"):
        _load(tmp_path, **env)


def test_public_base_url_stays_optional_in_development(tmp_path):
    assert _load(tmp_path, ADVOCACY_ENV="development")["PUBLIC_BASE_URL"] is None


def test_trusted_proxy_hops_default_to_none(tmp_path):
    assert _load(tmp_path, **PRODUCTION)["TRUSTED_PROXY_HOPS"] == 0
    assert _load(tmp_path, **PRODUCTION, TRUSTED_PROXY_HOPS="2")["TRUSTED_PROXY_HOPS"] == 2


def test_negative_trusted_proxy_hops_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_HOPS"):
        _load(tmp_path, **PRODUCTION, TRUSTED_PROXY_HOPS="-1")


def test_environment_defaults_to_production(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        _load(tmp_path)


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="ADVOCACY_ENV"):
        _load(tmp_path, **{**PRODUCTION, "ADVOCACY_ENV": "staging"})


def test_environment_name_is_normalised(tmp_path):
    assert _load(tmp_path, **{**PRODUCTION, "ADVOCACY_ENV": " Production "})["ADVOCACY_ENV"] == (
        "production"
    )


def test_development_without_secret_key_keeps_one_in_instance(tmp_path):
    first = _load(tmp_path, ADVOCACY_ENV="development")["SECRET_KEY"]
    second = _load(tmp_path, ADVOCACY_ENV="development")["SECRET_KEY"]

    assert first == second
    assert len(first) >= 32
    kept = tmp_path / "dev-secret-key"
    assert kept.read_text().strip() == first
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_production_without_signing_keys_is_refused(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "REFERRAL_SIGNING_KEYS"}

    with pytest.raises(ConfigError, match="REFERRAL_SIGNING_KEYS"):
        _load(tmp_path, **env)


# --- referral signing keys ---------------------------------------------------------


def test_signing_keys_are_a_comma_separated_list(tmp_path):
    settings = _load(tmp_path, **{**PRODUCTION, "REFERRAL_SIGNING_KEYS": " new-key , old-key,,"})

    assert settings["REFERRAL_SIGNING_KEYS"] == ["new-key", "old-key"]


def test_development_signs_with_the_secret_key_by_default(tmp_path):
    settings = _load(tmp_path, ADVOCACY_ENV="development", SECRET_KEY=SECRET)

    assert settings["REFERRAL_SIGNING_KEYS"] == [SECRET]


# --- database URL ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        ("postgresql://u:p@db/app", "postgresql+psycopg://u:p@db/app"),
        ("postgresql+psycopg://u@db/app", "postgresql+psycopg://u@db/app"),
        ("  postgres://db/app  ", "postgresql+psycopg://db/app"),
        ("sqlite:////var/lib/advocacy.db", "sqlite:////var/lib/advocacy.db"),
    ],
)
def test_database_url_is_normalised(tmp_path, given, expected):
    settings = _load(tmp_path, **PRODUCTION, DATABASE_URL=given)

    assert settings["SQLALCHEMY_DATABASE_URI"] == expected


def test_database_defaults_to_sqlite_in_instance(tmp_path):
    settings = _load(tmp_path, **PRODUCTION)

    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'advocacy.sqlite3'}"


# --- numbers and the rest ------------------------------------------------------------


def test_content_length_limits_have_defaults(tmp_path):
    settings = _load(tmp_path, **PRODUCTION)

    assert settings["MAX_CONTENT_LENGTH"] == DEFAULT_MAX_CONTENT_LENGTH
    assert settings["IMPORT_MAX_CONTENT_LENGTH"] == DEFAULT_IMPORT_MAX_CONTENT_LENGTH


def test_content_length_limits_are_read(tmp_path):
    settings = _load(
        tmp_path, **PRODUCTION, MAX_CONTENT_LENGTH="1024", IMPORT_MAX_CONTENT_LENGTH="4096"
    )

    assert (settings["MAX_CONTENT_LENGTH"], settings["IMPORT_MAX_CONTENT_LENGTH"]) == (1024, 4096)


@pytest.mark.parametrize("value", ["lots", "1.5", "0", "-3"])
def test_malformed_content_length_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="MAX_CONTENT_LENGTH"):
        _load(tmp_path, **PRODUCTION, MAX_CONTENT_LENGTH=value)


def test_log_level_is_upper_cased_and_defaults_to_info(tmp_path):
    assert _load(tmp_path, **PRODUCTION)["LOG_LEVEL"] == "INFO"
    assert _load(tmp_path, **PRODUCTION, LOG_LEVEL="debug")["LOG_LEVEL"] == "DEBUG"


def test_redis_url_is_optional(tmp_path):
    assert _load(tmp_path, **PRODUCTION)["REDIS_URL"] is None
    assert _load(tmp_path, **PRODUCTION, REDIS_URL="redis://r:6379/0")["REDIS_URL"] == (
        "redis://r:6379/0"
    )


def test_create_app_refuses_production_without_secret_key(monkeypatch):
    monkeypatch.setenv("ADVOCACY_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)

    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_create_app_applies_config_over_environment(monkeypatch):
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "1000")

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "MAX_CONTENT_LENGTH": 2000})

    assert app.config["MAX_CONTENT_LENGTH"] == 2000


# --- worker count ----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["sqlite:///x.db", "sqlite://"])
def test_sqlite_with_several_workers_is_refused(url):
    with pytest.raises(ConfigError, match="one gunicorn worker"):
        check_worker_count(url, 2)


def test_sqlite_with_one_worker_is_allowed():
    check_worker_count("sqlite:///x.db", 1)


@pytest.mark.parametrize("workers", [1, 4, 32])
def test_postgresql_with_any_worker_count_is_allowed(workers):
    check_worker_count("postgresql+psycopg://u@db/app", workers)
