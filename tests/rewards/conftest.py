"""Fixtures of the rewards tests: fresh rate limits for the click path."""

from __future__ import annotations

from typing import Any

import pytest

from advocacy.extensions import limiter


@pytest.fixture(autouse=True)
def fresh_rate_limits(app: Any) -> Any:
    limiter.reset()
    yield
    limiter.reset()
