"""Campaign experiments: variants with their incentives, sticky assignment of advocates or
invitees, and significance tests."""
