"""Fixtures of the experiment tests: fresh per-IP budgets of the public link pages."""

from tests.web.conftest import fresh_rate_limits  # noqa: F401  (autouse)
