"""Revision eb1bcc069959 on a database with experiments in it (its own SQLite file).

Existing variants paid the campaign's rewards, so they get them; existing experiments
assigned advocates; assignments keep their rows under the new column name, and the
downgrade restores the old shape.
"""

from __future__ import annotations

from pathlib import Path

import flask_migrate
import pytest
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from advocacy import create_app
from advocacy.extensions import db

BEFORE, REVISION = "e732feb64238", "eb1bcc069959"
SEED = [
    "INSERT INTO workspaces (id, name, allowed_domains, created_at) "
    "VALUES (1, 'W', '[]', '2026-01-01 00:00:00')",
    "INSERT INTO customers (id, workspace_id, external_id, consent_email, consent_sms, "
    "consent_social, attributes, created_at, updated_at) "
    "VALUES (1, 1, 'ann', 1, 0, 0, '{}', '2026-01-01', '2026-01-01')",
    "INSERT INTO campaigns (id, workspace_id, name, objective, status, invitee_reward_kind, "
    "invitee_reward_amount, invitee_reward_currency, one_sided, trigger_event, "
    "min_order_amount, first_purchase_only, attribution_window_days, attribution_model, "
    "hold_days, landing_url, translations, created_at, updated_at) VALUES (1, 1, 'c', "
    "'conversion', 'active', 'coupon', 1500, 'EUR', 1, 'purchase', 0, 0, 30, 'last_click', "
    "0, 'https://shop.example/', '{}', '2026-01-01', '2026-01-01')",
    "INSERT INTO experiments (id, workspace_id, campaign_id, min_sample, created_at) "
    "VALUES (1, 1, 1, 10, '2026-01-01')",
    "INSERT INTO experiment_variants (id, workspace_id, experiment_id, name, weight, control, "
    "position) VALUES (1, 1, 1, 'a', 1, 1, 0), (2, 1, 1, 'b', 1, 0, 1)",
    "INSERT INTO experiment_assignments (id, workspace_id, experiment_id, variant_id, "
    "advocate_id, assigned_at) VALUES (1, 1, 1, 2, 1, '2026-01-01')",
]


@pytest.fixture
def old_database(app: Flask, tmp_path: Path) -> Flask:
    """A second app on its own SQLite file, migrated to the revision before, with data."""
    other = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite3'}"})
    with other.app_context():
        flask_migrate.upgrade(revision=BEFORE)
        with db.engine.begin() as connection:
            for statement in SEED:
                connection.execute(text(statement))
    return other


def _rows(sql: str) -> list[tuple[object, ...]]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def test_upgrade_gives_old_variants_the_campaigns_rewards(old_database: Flask) -> None:
    with old_database.app_context():
        flask_migrate.upgrade(revision=REVISION)
        assert _rows(
            "SELECT name, inviter_reward_kind, invitee_reward_kind, invitee_reward_amount, "
            "invitee_reward_currency FROM experiment_variants ORDER BY id"
        ) == [("a", None, "coupon", 1500, "EUR"), ("b", None, "coupon", 1500, "EUR")]
        assert _rows("SELECT unit FROM experiments") == [("advocate",)]
        assert _rows("SELECT customer_id, variant_id FROM experiment_assignments") == [(1, 2)]
        db.engine.dispose()


def test_upgrade_refuses_negative_variant_amounts(old_database: Flask) -> None:
    with old_database.app_context():
        flask_migrate.upgrade(revision=REVISION)
        with pytest.raises(IntegrityError, match="CHECK constraint failed"):
            with db.engine.begin() as connection:
                connection.execute(
                    text("UPDATE experiment_variants SET inviter_reward_amount = -1")
                )
        db.engine.dispose()


def test_downgrade_restores_the_advocate_column(old_database: Flask) -> None:
    with old_database.app_context():
        flask_migrate.upgrade(revision=REVISION)
        flask_migrate.downgrade(revision=BEFORE)
        columns = {c["name"] for c in inspect(db.engine).get_columns("experiment_assignments")}
        assert "advocate_id" in columns and "customer_id" not in columns
        assert _rows("SELECT advocate_id, variant_id FROM experiment_assignments") == [(1, 2)]
        db.engine.dispose()
