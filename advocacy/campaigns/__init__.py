"""Campaigns: two-sided rewards, rules, status, audit trail, and enrolled advocates."""
