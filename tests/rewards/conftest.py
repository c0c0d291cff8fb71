"""Fixtures of the rewards tests: fresh rate limits for the click path."""

from __future__ import annotations

import pytest

from tests.conftest import reset_rate_limits

fresh_rate_limits = pytest.fixture(autouse=True)(reset_rate_limits)
