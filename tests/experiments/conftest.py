"""Fixtures of the experiment tests: fresh per-IP budgets of the public link pages."""

from __future__ import annotations

import pytest

from tests.conftest import reset_rate_limits

fresh_rate_limits = pytest.fixture(autouse=True)(reset_rate_limits)
