"""Conversions, attribution, fraud checks, the two-sided reward ledger and refunds."""
