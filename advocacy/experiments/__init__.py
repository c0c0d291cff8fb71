"""Campaign experiments: variants, sticky assignment of advocates, and significance tests."""
