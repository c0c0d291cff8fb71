"""Batch and bulk ingestion: validate each item on its own, apply the good ones."""
